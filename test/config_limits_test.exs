defmodule Switchboard.ConfigLimitsTest do
  @moduledoc """
  Configs that could never make a successful call are `:config` errors at
  build, naming the client and the option, never echoing a credential; the
  numbers README's "Limits" section gives are the ones enforced (each is
  checked at the limit and one past it).
  """
  use Switchboard.Case, async: true

  @readme File.read!(Path.expand("../README.md", __DIR__))

  # The number in README's Limits row whose first cell mentions `label`.
  defp documented(label) do
    [_, limits] = String.split(@readme, "### Limits\n", parts: 2)

    row =
      limits
      |> String.split("\n")
      |> Enum.find(&(String.starts_with?(&1, "| ") and &1 =~ label)) ||
        flunk("README's Limits table has no row for #{label}")

    [_label, value | _] = String.split(row, " | ")
    [digits] = Regex.run(~r/\d[\d ]*\d|\d/, value)
    digits |> String.replace(" ", "") |> String.to_integer()
  end

  defp leaf(options, extra \\ %{}) do
    Map.merge(
      %{
        name: "A",
        provider: "openai",
        options: Map.merge(%{model: "m", api_key: "sk-t"}, options)
      },
      extra
    )
  end

  defp build(clients, extra \\ %{}), do: Registry.new(Map.merge(%{clients: clients}, extra))

  defp config_error!(clients, extra \\ %{}) do
    assert {:error, %Error{kind: :config, message: message}} = build(clients, extra)
    message
  end

  describe "timeouts and delays" do
    test "every one is bounded by the documented maximum; 2^63 is refused" do
      max = documented("any timeout or delay")
      assert max == 86_400_000

      for key <-
            ~w(connect_timeout_ms request_timeout_ms time_to_first_token_timeout_ms idle_timeout_ms)a do
        assert {:ok, _} = build([leaf(%{http: %{key => max}})])

        for over <- [max + 1, Bitwise.bsl(1, 63)] do
          msg = config_error!([leaf(%{http: %{key => over}})])
          assert msg =~ ~s|client "A" http: option "#{key}" must be at most #{max} ms (24 h)|
          assert msg =~ "got #{over}"
        end
      end

      fallback = fn ms ->
        [
          leaf(%{}),
          %{
            name: "F",
            provider: "fallback",
            options: %{strategy: ["A"], http: %{total_timeout_ms: ms}}
          }
        ]
      end

      assert {:ok, _} = build(fallback.(max))
      assert config_error!(fallback.(max + 1)) =~ ~s(client "F" http: option "total_timeout_ms")

      policy = fn ms ->
        %{
          retry_policies: %{
            "P" => %{max_retries: 1, strategy: %{type: "exponential_backoff", delay_ms: ms}}
          }
        }
      end

      assert {:ok, _} = build([leaf(%{})], policy.(max))

      assert config_error!([leaf(%{})], policy.(max + 1)) =~
               ~s(retry policy "P" strategy: option "delay_ms")

      breaker = fn ms -> leaf(%{circuit_breaker: %{cooldown_ms: ms}}) end
      assert {:ok, _} = build([breaker.(max)])
      assert config_error!([breaker.(max + 1)]) =~ "cooldown_ms"
    end
  end

  describe "headers" do
    test "one value: up to the documented bytes; a 1 MB value is refused" do
      max = documented("one `headers:` value")
      assert max == 8192
      assert {:ok, _} = build([leaf(%{headers: %{"x-big" => String.duplicate("v", max)}})])

      for size <- [max + 1, 1_000_000] do
        msg = config_error!([leaf(%{headers: %{"x-big" => String.duplicate("v", size)}})])
        assert msg =~ ~s(client "A": option "headers" entry "x-big" is #{size} bytes long)
        assert msg =~ "the limit is #{max}"
      end
    end

    test "entries: up to the documented count; 10,000 headers are refused" do
      max = documented("`headers:` entries")
      assert max == 100
      headers = fn n -> Map.new(1..n, &{"x-h#{&1}", "v"}) end
      assert {:ok, _} = build([leaf(%{headers: headers.(max)})])

      for n <- [max + 1, 10_000] do
        assert config_error!([leaf(%{headers: headers.(n)})]) =~
                 ~s(option "headers" has #{n} entries; the limit is #{max})
      end
    end

    test "all names and values together: up to the documented bytes" do
      max = documented("all `headers:` names and values")
      assert max == 65_536
      # Eight values of 8,000 bytes and names of 4 bytes: 64,032 bytes.
      headers = fn extra ->
        Map.new(1..8, &{"x-h#{&1}", String.duplicate("v", 8_000)})
        |> Map.put("x-last", String.duplicate("v", extra))
      end

      # 64,032 + 6 + 1,498 = 65,536.
      assert {:ok, _} = build([leaf(%{headers: headers.(1_498)})])
      msg = config_error!([leaf(%{headers: headers.(1_499)})])
      assert msg =~ "holds 65537 bytes of names and values; the limit is #{max}"
    end

    test "names and values HTTP cannot carry are refused; the value is never shown" do
      for name <- ["bad name", "x-é", "", "x:y"] do
        assert config_error!([leaf(%{headers: %{name => "v"}})]) =~
                 ~s(option "headers" has an invalid header name)
      end

      for value <- ["line\r\nx-injected: sk-hidden-1", "nul\0sk-hidden-1", "café-sk-hidden-1"] do
        msg = config_error!([leaf(%{headers: %{"x-key" => value}})])
        assert msg =~ ~s(client "A": option "headers" entry "x-key": its value holds a character)
        refute msg =~ "sk-hidden-1"
      end

      assert {:ok, _} = build([leaf(%{headers: %{"x-ok" => "tab\tand space ~!"}})])
    end
  end

  describe "credentials that cannot travel in a header" do
    test "api_key: non-ASCII, control characters or spaces are refused without echoing the key" do
      for key <- [
            "sk-ünïcode-REST-OF-KEY",
            "sk-REST-OF-KEY\n",
            "sk REST-OF-KEY",
            "sk-\tREST-OF-KEY"
          ] do
        msg = config_error!([leaf(%{api_key: key})])
        assert msg =~ ~s(client "A": option "api_key" holds a character that cannot travel)
        assert msg =~ "the value is not shown"
        refute msg =~ "REST-OF-KEY"
      end
    end

    test "AWS keys and session tokens are checked the same way" do
      base = %{
        model: "m",
        region: "us-east-1",
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: "secret/EXAMPLE+key"
      }

      bedrock = &%{name: "B", provider: "aws-bedrock", options: Map.merge(base, &1)}
      assert {:ok, _} = build([bedrock.(%{})])

      for {key, value} <- [
            secret_access_key: "séc-REST-OF-KEY",
            access_key_id: "AKID REST-OF-KEY",
            session_token: "tok\r\nREST-OF-KEY",
            api_key: "bedrock-ключ-REST-OF-KEY"
          ] do
        msg = config_error!([bedrock.(%{key => value})])
        assert msg =~ ~s(client "B": option "#{key}" holds a character)
        refute msg =~ "REST-OF-KEY"
      end
    end

    test "nothing is sent with a key that was refused; a good key still works" do
      sc = scenario()
      assert {:error, %Error{kind: :config}} = build([openai("A", sc, %{api_key: "sk-ключ"})])
      assert {:ok, reg} = build([openai("A", sc, %{api_key: "sk-plain-ascii"})])
      assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)
      assert header(req, "authorization") == "Bearer sk-plain-ascii"
    end
  end

  describe "round-robin weights" do
    test "a weight and a cycle are bounded by the documented maxima" do
      max = documented("round-robin entry's `weight`")
      cycle = documented("round-robin's weights together")
      assert {max, cycle} == {1_000, 100_000}
      names = for i <- 1..101, do: "C#{i}"
      leaves = for name <- names, do: leaf(%{}, %{name: name})

      rr = fn entries ->
        build(
          leaves ++ [%{name: "RR", provider: "round-robin", options: %{strategy: entries}}],
          %{primary: "RR"}
        )
      end

      assert {:ok, _} = rr.([%{client: "C1", weight: max}, "C2"])
      assert {:error, %Error{kind: :config}} = rr.([%{client: "C1", weight: max + 1}, "C2"])

      # 100 weights of 999 and one of 1,000 have no common divisor: a cycle
      # of 100,900 turns.
      over =
        for {name, i} <- Enum.with_index(names),
            do: %{client: name, weight: if(i == 0, do: max, else: max - 1)}

      assert {:error, %Error{kind: :config, message: msg}} = rr.(over)
      assert msg =~ ~s(client "RR")
      # 100 weights of 1,000: divided by their divisor, a cycle of 100 turns.
      assert {:ok, _} = rr.(for name <- Enum.take(names, 100), do: %{client: name, weight: max})
    end
  end

  describe "a registry with several clients and no primary" do
    test "is valid; a call must name its client, and one that does not gets a :config error listing them" do
      a = scenario()
      reg = registry!(%{clients: [openai("A", a), openai("B", scenario())]})

      assert {:error, %Error{kind: :config, message: msg, attempts: []}} =
               Switchboard.call(reg, "hi")

      assert msg ==
               "the registry has 2 clients and no primary: pass client: in the call, or set primary: (clients: A, B)"

      assert requests(a) == []

      assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi", client: "A")
    end
  end
end
