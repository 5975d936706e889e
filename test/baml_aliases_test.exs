defmodule Switchboard.BamlAliasesTest do
  @moduledoc """
  The design seeds' other spellings, as documented aliases: each builds the
  client its canonical (BAML) form builds, shown by what the mock receives
  from both over real HTTP. Not async: the Bedrock cases clear the AWS
  variables of the emulator's environment.
  """
  use Switchboard.Case, async: false

  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    session_token: "FwoGZXIvYXdzEXAMPLE//session+token=="
  }
  @signature ~r"^AWS4-HMAC-SHA256 Credential=(?<key>[A-Z0-9]+)/\d{8}/(?<region>[a-z0-9-]+)/bedrock/aws4_request, SignedHeaders=(?<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"

  # What a provider received, without what differs between any two
  # requests (arrival time, connection, SigV4's date and signature).
  defp seen(req) do
    %{
      method: req["method"],
      path: req["path"],
      query: req["query"],
      json: req["json"],
      api_key: header(req, "api-key"),
      authorization: header(req, "authorization") && signed_by(req),
      security_token: header(req, "x-amz-security-token")
    }
  end

  defp signed_by(req) do
    case Regex.named_captures(@signature, header(req, "authorization")) do
      nil -> header(req, "authorization")
      captures -> captures
    end
  end

  describe "retry policy initial_delay / max_delay" do
    defp retry_registry(sc, strategy) do
      registry!(%{
        clients: [openai("A", sc, %{}, "P")],
        retry_policies: %{"P" => %{max_retries: 2, strategy: strategy}}
      })
    end

    @canonical %{type: "exponential_backoff", delay_ms: 300, multiplier: 1, max_delay_ms: 500}
    @aliased %{type: "exponential_backoff", initial_delay: 300, multiplier: 1, max_delay: 500}

    test "initial_delay is delay_ms: the first retry waits at least that long" do
      for strategy <- [@canonical, @aliased] do
        sc = scripted([%{status: 500}, %{status: 500}, %{content: "third"}])
        reg = retry_registry(sc, strategy)

        assert {:ok, %Response{content: "third", attempts: attempts}} =
                 Switchboard.call(reg, "hi")

        assert Enum.map(attempts, & &1.status) == [500, 500, 200]
        # The default delay (200 ms) would come in under 300.
        assert Enum.all?(gaps_ms(requests(sc)), &(&1 >= 300)), inspect(strategy)
      end
    end

    test "max_delay is max_delay_ms: a longer Retry-After gives up at once" do
      for strategy <- [@canonical, @aliased] do
        sc = scripted([%{status: 429, headers: %{"retry-after" => "2"}}, %{content: "late"}])
        reg = retry_registry(sc, strategy)

        # With the default maximum (10 s) the client would wait 2 s and
        # answer "late"; 500 ms makes it give up on the first attempt.
        assert {:error, %Error{kind: :rate_limited, retry_after_ms: 2000, attempts: [_]}} =
                 Switchboard.call(reg, "hi")

        assert length(requests(sc)) == 1
      end
    end

    test "the same value twice under both names is refused" do
      for {key, alias_key} <- [delay_ms: :initial_delay, max_delay_ms: :max_delay] do
        policy = %{
          max_retries: 1,
          strategy: %{:type => "exponential_backoff", key => 1, alias_key => 1}
        }

        assert {:error, %Error{kind: :config, message: message}} =
                 Registry.new(%{
                   clients: [openai("A", scenario())],
                   retry_policies: %{"P" => policy}
                 })

        assert message =~ ~s(retry policy "P")
        assert message =~ "not both"
      end
    end
  end

  describe "provider openai/azure with endpoint" do
    test "sends what azure-openai with the deployment's base_url sends" do
      sc = scenario()

      canonical = %{
        name: "Az",
        provider: "azure-openai",
        options: %{
          base_url: Mock.base_url(mock(), sc) <> "/openai/deployments/gpt4o",
          api_version: "2024-10-21",
          api_key: "az-test-key",
          temperature: 0.25
        }
      }

      aliased = %{
        name: "Az",
        provider: "openai/azure",
        options: %{
          endpoint: Mock.base_url(mock(), sc),
          deployment_id: "gpt4o",
          api_version: "2024-10-21",
          api_key: "az-test-key",
          temperature: 0.25
        }
      }

      for client <- [canonical, aliased] do
        reg = registry!(%{clients: [client]})

        assert {:ok, %Response{provider: "azure-openai", client: "Az"}} =
                 Switchboard.call(reg, "hi")
      end

      assert [first, second] = requests(sc)
      assert seen(first) == seen(second)
      assert first["path"] == "/openai/deployments/gpt4o/chat/completions"
      assert first["query"] == "api-version=2024-10-21"
      assert header(first, "api-key") == "az-test-key"
      # `endpoint` and `deployment_id` route the request; neither is sent.
      refute Map.has_key?(second["json"], "endpoint")
      refute Map.has_key?(second["json"], "deployment_id")
      assert second["json"]["temperature"] == 0.25
    end

    test "an endpoint that already names the deployment is the base_url" do
      sc = scenario()
      endpoint = Mock.base_url(mock(), sc, "azure-openai")

      reg =
        registry!(%{
          clients: [
            %{
              name: "Az",
              provider: "openai/azure",
              options: %{endpoint: endpoint, api_version: "v1", api_key: "az-test-key"}
            }
          ]
        })

      assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
      assert [%{"path" => "/openai/deployments/mock/chat/completions"}] = requests(sc)
    end

    test "an endpoint beside base_url or resource_name, or without a deployment, is refused" do
      base = %{endpoint: "https://r.openai.azure.com", api_version: "v1", api_key: "k"}

      for {options, expected} <- [
            {base, ~s(needs "deployment_id")},
            {Map.merge(base, %{deployment_id: "d", base_url: "https://x"}), "not both"},
            {Map.merge(base, %{deployment_id: "d", resource_name: "r"}), "not both"},
            {%{base | endpoint: "not a url"} |> Map.put(:deployment_id, "d"), "not a valid URL"}
          ] do
        assert {:error, %Error{kind: :config, message: message}} =
                 Registry.new(%{
                   clients: [%{name: "Az", provider: "openai/azure", options: options}]
                 })

        assert message =~ ~s(client "Az") and message =~ expected
      end
    end
  end

  describe "Bedrock credentials map" do
    setup do
      %{dir: Switchboard.AwsEnv.isolate!()}
    end

    defp bedrock(sc, credential_options) do
      %{
        name: "B",
        provider: "aws-bedrock",
        options:
          Map.merge(
            %{
              model: "anthropic.claude-3-5-haiku-20241022-v1:0",
              region: "us-east-1",
              endpoint_url: Mock.base_url(mock(), sc)
            },
            credential_options
          )
      }
    end

    test "signs with its keys and session token exactly as the flat options do" do
      sc = scripted([%{content: "flat"}, %{content: "nested"}])
      :ok = Mock.configure_aws(mock(), sc, %{credentials: [@keys], region: "us-east-1"})

      flat = registry!(%{clients: [bedrock(sc, @keys)]})
      nested = registry!(%{clients: [bedrock(sc, %{credentials: @keys})]})

      assert {:ok, %Response{content: "flat"}} = Switchboard.call(flat, "hi")
      assert {:ok, %Response{content: "nested"}} = Switchboard.call(nested, "hi")

      assert [first, second] = requests(sc)
      assert seen(first) == seen(second)
      assert header(second, "x-amz-security-token") == @keys.session_token

      assert %{
               "key" => "AKIDEXAMPLE",
               "signed" => "content-type;host;x-amz-date;x-amz-security-token"
             } = signed_by(second)

      # The mock checked both signatures against these keys.
      assert %{"verified" => 2, "rejected" => 0} = Mock.aws_report(mock(), sc)
      refute inspect(nested) =~ "wJalrXUtnFEMI"
    end

    test "a wrong secret in the map is what signs: the request is rejected as :auth" do
      sc = scripted([%{content: "never"}])
      :ok = Mock.configure_aws(mock(), sc, %{credentials: [@keys], region: "us-east-1"})
      wrong = %{@keys | secret_access_key: "not-the-right-secret-key-123"}
      reg = registry!(%{clients: [bedrock(sc, %{credentials: wrong})]})

      assert {:error, %Error{kind: :auth, status: 403} = err} = Switchboard.call(reg, "hi")
      refute inspect(err) =~ "not-the-right-secret"
      assert %{"rejected" => 1, "verified" => 0} = Mock.aws_report(mock(), sc)
    end

    test "a bad map is a :config error that never shows a secret" do
      sc = scenario()

      for {credentials, expected} <- [
            {"wJalrXUtnFEMI-secret", "must be a map"},
            {%{secret_key: "wJalrXUtnFEMI-secret"}, ~s(unknown key "secret_key")},
            {%{access_key_id: "AKID", secret_access_key: 42}, "must be a string"}
          ] do
        assert {:error, %Error{kind: :config, message: message}} =
                 Registry.new(%{clients: [bedrock(sc, %{credentials: credentials})]})

        assert message =~ ~s(client "B") and message =~ expected
        refute message =~ "wJalrXUtnFEMI"
      end

      assert {:error, %Error{kind: :config, message: message}} =
               Registry.new(%{
                 clients: [bedrock(sc, Map.put(@keys, :credentials, %{access_key_id: "OTHER"}))]
               })

      assert message =~ "set both"
    end
  end
end
