defmodule Switchboard.RegistryTest do
  use Switchboard.Case, async: true

  doctest Switchboard.Registry
  doctest Switchboard.Error

  defp leaf(name, extra \\ %{}),
    do: Map.merge(%{name: name, provider: "openai", options: %{model: "gpt-4o-mini"}}, extra)

  defp config_error(config) do
    assert {:error, %Error{kind: :config, message: message}} = Registry.new(config)
    message
  end

  describe "validation names the client and the option" do
    test "unknown provider" do
      msg = config_error(%{clients: [%{name: "A", provider: "gpt-magic", options: %{}}]})
      assert msg =~ ~s(client "A") and msg =~ ~s(unknown provider "gpt-magic")
    end

    test "missing required option" do
      msg =
        config_error(%{
          clients: [%{name: "G", provider: "openai-generic", options: %{model: "m"}}]
        })

      assert msg =~ ~s(client "G") and msg =~ ~s(missing required option "base_url")

      msg = config_error(%{clients: [%{name: "C", provider: "anthropic", options: %{}}]})
      assert msg =~ ~s(client "C") and msg =~ ~s("model")
    end

    test "wrong option type" do
      msg = config_error(%{clients: [leaf("A", %{options: %{model: "m", temperature: "hot"}})]})
      assert msg =~ ~s(client "A") and msg =~ ~s(option "temperature" must be a number)

      msg =
        config_error(%{clients: [leaf("A", %{options: %{model: "m", headers: %{"x-a" => 1}}})]})

      assert msg =~ ~s(option "headers" entry "x-a" must be a string)

      msg =
        config_error(%{
          clients: [leaf("A", %{options: %{model: "m", http: %{connect_timeout_ms: "10"}}})]
        })

      assert msg =~ ~s(client "A" http) and msg =~ ~s("connect_timeout_ms")
    end

    test "duplicate client names" do
      assert config_error(%{clients: [leaf("A"), leaf("A")]}) =~ ~s(duplicate client name "A")
    end

    test "unknown client in a strategy" do
      msg =
        config_error(%{
          clients: [
            leaf("A"),
            %{name: "F", provider: "fallback", options: %{strategy: ["A", "Z"]}}
          ]
        })

      assert msg =~ ~s(client "F") and msg =~ ~s(unknown client "Z")
    end

    test "empty strategy" do
      msg =
        config_error(%{clients: [%{name: "F", provider: "round-robin", options: %{strategy: []}}]})

      assert msg =~ ~s(client "F") and msg =~ ~s(option "strategy" is empty)
    end

    test "cycle through fallback and round-robin edges" do
      msg =
        config_error(%{
          clients: [
            leaf("A"),
            %{name: "F", provider: "fallback", options: %{strategy: ["A", "R"]}},
            %{name: "R", provider: "round-robin", options: %{strategy: ["A", "F"]}}
          ]
        })

      assert msg =~ "strategy cycle" and msg =~ "F -> R -> F"
    end

    test "unknown retry policy" do
      msg = config_error(%{clients: [leaf("A", %{retry_policy: "Nope"})]})
      assert msg =~ ~s(client "A") and msg =~ ~s(unknown retry_policy "Nope")
    end

    test "retry policy without max_retries" do
      msg = config_error(%{clients: [leaf("A")], retry_policies: %{"P" => %{strategy: %{}}}})
      assert msg =~ ~s(retry policy "P" is missing max_retries)
    end

    test "retry policy with an unknown strategy type" do
      msg =
        config_error(%{
          clients: [leaf("A")],
          retry_policies: %{"P" => %{max_retries: 1, strategy: %{type: "linear"}}}
        })

      assert msg =~ ~s(retry policy "P") and msg =~ ~s(unknown type "linear")
    end

    test "unknown primary" do
      assert config_error(%{primary: "Z", clients: [leaf("A")]}) =~ ~s(primary client "Z")
    end
  end

  test "accepts the Beamlens config shape with atom or string keys" do
    config = %{
      primary: "PrimaryWithFallback",
      clients: [
        %{
          name: "Primary",
          provider: "anthropic",
          options: %{model: "claude-haiku-4-5-20251001"},
          retry_policy: "DefaultRetry"
        },
        %{name: "Backup", provider: "openai", options: %{model: "gpt-4o-mini"}},
        %{
          name: "PrimaryWithFallback",
          provider: "fallback",
          options: %{strategy: ["Primary", "Backup"]}
        }
      ],
      retry_policies: %{
        "Patient" => %{max_retries: 5, strategy: %{type: "exponential_backoff", delay_ms: 500}}
      }
    }

    assert {:ok, reg} = Registry.new(config)
    assert reg.primary == "PrimaryWithFallback"
    assert reg.clients == ["Primary", "Backup", "PrimaryWithFallback"]

    stringly = %{
      "primary" => "A",
      "clients" => %{"A" => %{"provider" => "ollama", "options" => %{"model" => "llama3"}}}
    }

    assert {:ok, %Registry{primary: "A"}} = Registry.new(stringly)
  end

  test "provider/model names in strategies become clients" do
    reg =
      registry!(%{
        primary: "F",
        clients: [
          %{
            name: "F",
            provider: "fallback",
            options: %{strategy: ["openai/gpt-4o", "anthropic/claude-haiku-4-5-20251001"]}
          }
        ]
      })

    assert "openai/gpt-4o" in reg.clients
    assert "anthropic/claude-haiku-4-5-20251001" in reg.clients
  end

  test "inspect never shows a secret" do
    reg =
      registry!(%{clients: [leaf("A", %{options: %{model: "m", api_key: "sk-very-secret-123"}})]})

    refute inspect(reg) =~ "sk-very-secret"
    assert inspect(reg) == ~s(#Switchboard.Registry<[primary: "A", clients: ["A"]]>)
  end

  test "add_client/5, set_primary/2 and add_retry_policy/3 rebuild and validate" do
    reg = registry!(%{clients: [leaf("A")]})
    assert {:ok, reg} = Registry.add_retry_policy(reg, "Twice", %{max_retries: 2})
    assert {:ok, reg} = Registry.add_client(reg, "B", "openai", %{model: "m"}, "Twice")
    assert {:ok, reg} = Registry.set_primary(reg, "B")
    assert %Registry{primary: "B", clients: ["A", "B"]} = reg

    assert {:error, %Error{kind: :config, message: msg}} =
             Registry.add_client(reg, "C", "openai", %{model: "m"}, "Nope")

    assert msg =~ ~s(unknown retry_policy "Nope")
    assert {:error, %Error{kind: :config}} = Registry.set_primary(reg, "Nobody")
    assert {:error, %Error{kind: :config}} = Registry.add_retry_policy(reg, "Bad", %{})
    # Replacing a client keeps one entry of that name.
    assert {:ok, %Registry{clients: ["A", "B"]}} =
             Registry.add_client(reg, "A", "ollama", %{model: "x"})
  end

  test "new!/1 raises Switchboard.Error" do
    assert_raise Error, ~r/unknown provider/, fn ->
      Registry.new!(%{clients: [%{name: "A", provider: "nope"}]})
    end
  end
end
