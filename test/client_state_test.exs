defmodule Switchboard.ClientStateTest do
  @moduledoc """
  Client state that outlives a rebuild, end to end against the mock: OAuth
  tokens and AWS credentials shared by the clients that have the same
  credential, kept by `add_client/5` and a reload for the clients whose
  config is unchanged, as are round-robin positions; shorthand clients
  kept per registry; Bedrock's endpoint variables.

  Not async: the Bedrock tests set AWS variables of the emulator's
  environment.
  """
  use Switchboard.Case, async: false
  import Switchboard.GoogleHelpers

  alias Switchboard.Native

  @email "client-state@test-proj.iam.gserviceaccount.com"
  @model "anthropic.claude-3-5-haiku-20241022-v1:0"

  setup_all do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    @email = Mock.add_google_key(mock(), %{"client_email" => @email, "private_key" => pem})
    %{pem: pem}
  end

  defp service_account(ctx, token_sc) do
    %{
      "type" => "service_account",
      "project_id" => "sa-proj",
      "private_key" => ctx.pem,
      "client_email" => @email,
      "token_uri" => base(token_sc) <> "/token"
    }
  end

  defp authorizations(sc), do: sc |> requests() |> Enum.map(&header(&1, "authorization"))

  defp round_robin(start),
    do: %{
      name: "RR",
      provider: "round-robin",
      options: %{strategy: ["A", "B", "C"], start: start}
    }

  # What `Switchboard.Registry` makes of the NIF's answer.
  defp reload!(%Registry{handle: handle}, config) do
    assert {:ok, {handle, primary, clients}} = Native.registry_reload(handle, config)
    %Registry{handle: handle, primary: primary, clients: clients}
  end

  describe "credentials shared by identity" do
    test "two vertex-ai clients with one service account fetch one token under 1,000 cold calls",
         ctx do
      token_sc = scripted([%{delay_ms: 300}], "tok")
      [api1, api2] = [scenario(), scenario()]
      sa = service_account(ctx, token_sc)

      reg =
        registry!(%{
          clients: [
            vertex("V1", api1, %{credentials: sa}),
            vertex("V2", api2, %{credentials: sa, model: "gemini-2.5-pro", location: "global"})
          ]
        })

      calls = for i <- 1..1_000, do: Switchboard.async(reg, "hi", client: "V#{rem(i, 2) + 1}")
      assert Enum.all?(calls, &match?({:ok, %Response{}}, Switchboard.await(&1, 60_000)))

      assert [%{"status" => 200}] = requests(token_sc)
      assert length(requests(api1)) == 500 and length(requests(api2)) == 500
      assert Enum.uniq(authorizations(api1) ++ authorizations(api2)) == ["Bearer ya29.mock-1"]
    end

    test "a token one client saw rejected is fetched again once, for both", ctx do
      token_sc = scenario("tok")
      expired = ~s({"error": {"code": 401, "message": "expired", "status": "UNAUTHENTICATED"}})
      api1 = scripted([%{content: "a"}, %{status: 401, body: expired}])
      api2 = scenario()
      sa = service_account(ctx, token_sc)

      reg =
        registry!(%{
          clients: [
            vertex("V1", api1, %{credentials: sa}),
            vertex("V2", api2, %{credentials: sa})
          ]
        })

      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V1")
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V2")

      assert {:error, %Error{kind: :auth, status: 401}} =
               Switchboard.call(reg, "hi", client: "V1")

      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V2")
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V1")

      assert length(requests(token_sc)) == 2

      assert authorizations(api2) == ["Bearer ya29.mock-1", "Bearer ya29.mock-2"]
      assert List.last(authorizations(api1)) == "Bearer ya29.mock-2"
    end
  end

  describe "rebuilds and reloads" do
    setup ctx do
      token_sc = scenario("tok")
      [api, a, b, c] = for _ <- 1..4, do: scenario()

      config = %{
        primary: "RR",
        clients: [
          vertex("V", api, %{credentials: service_account(ctx, token_sc)}),
          openai("A", a),
          openai("B", b),
          openai("C", c),
          round_robin(1)
        ]
      }

      %{config: config, token_sc: token_sc, api: api}
    end

    defp next_client(reg), do: Switchboard.call!(reg, "hi").client

    test "add_client/5 and a reload keep an unchanged client's token and round-robin position",
         %{config: config, token_sc: token_sc, api: api} do
      name = :"client_state_#{System.unique_integer([:positive])}"
      start_supervised!({Registry, name: name, client_registry: config})
      assert {:ok, _} = Switchboard.call(name, "hi", client: "V")
      assert next_client(name) == "B"

      assert {:ok, _} = Registry.add_client(name, "X", "openai", %{model: "m"})
      assert {:ok, _} = Switchboard.call(name, "hi", client: "V")
      # The next child, not `start` again.
      assert next_client(name) == "C"

      # A whole new config in which V and RR are unchanged (X is gone).
      assert :ok = Registry.reload(name, config)
      assert Registry.whereis(name).clients == ["V", "A", "B", "C", "RR"]
      assert {:ok, _} = Switchboard.call(name, "hi", client: "V")
      assert next_client(name) == "A"

      assert [_] = requests(token_sc)
      assert Enum.uniq(authorizations(api)) == ["Bearer ya29.mock-1"]
    end

    test "a changed config gets a fresh state; credentials stay shared by identity",
         %{config: config, token_sc: token_sc} = ctx do
      reg = registry!(config)
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V")
      assert next_client(reg) == "B"

      # RR's start changed: its position starts over from the new start.
      # V's model changed, not its credential: the token is kept.
      [v | rest] = config.clients
      v = put_in(v.options[:model], "gemini-2.5-pro")
      changed = %{config | clients: [v | List.replace_at(rest, 3, round_robin(0))]}
      reg = reload!(reg, changed)
      assert next_client(reg) == "A"
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V")
      assert [_] = requests(token_sc)

      # Another credential (another token endpoint) is fetched for.
      other_sc = scenario("tok")
      v = put_in(v.options[:credentials], service_account(ctx, other_sc))
      reg = reload!(reg, %{changed | clients: [v | tl(changed.clients)]})
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "V")
      assert [%{"status" => 200}] = requests(other_sc)
      assert [_] = requests(token_sc)
    end

    test "an invalid reload is the :config error registry_new gives", %{config: config} do
      reg = registry!(config)
      bad = %{config | primary: "Nobody"}

      assert {:error, %Error{kind: :config, message: message}} =
               Native.registry_reload(reg.handle, bad)

      assert {:error, %Error{kind: :config, message: ^message}} = Native.registry_new(bad)
      assert message =~ "Nobody"
      # The handle is untouched.
      assert next_client(reg) == "B"
    end
  end

  describe "a shorthand Bedrock client" do
    setup do
      Switchboard.AwsEnv.isolate!()
      System.put_env("AWS_REGION", "us-east-1")

      # Credentials from the mock's container endpoint; Bedrock at the mock.
      cs = scenario("creds")
      :ok = Mock.configure_aws(mock(), cs, %{container_authorization: "container-auth-token"})
      System.put_env("AWS_CONTAINER_CREDENTIALS_FULL_URI", base(cs) <> "/v2/credentials/task-1")
      System.put_env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
      sc = scripted([%{content: "ok", repeat: -1}])
      :ok = Mock.configure_aws(mock(), sc, %{region: "us-east-1"})
      System.put_env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", base(sc))

      %{cs: cs, sc: sc, reg: registry!(%{clients: [openai("A", scenario())]})}
    end

    test "1,000 calls run the credential chain once", %{cs: cs, sc: sc, reg: reg} do
      calls = for _ <- 1..1_000, do: Switchboard.async(reg, "hi", client: "aws-bedrock/#{@model}")
      results = Enum.map(calls, &Switchboard.await(&1, 60_000))

      assert Enum.all?(
               results,
               &match?({:ok, %Response{content: "ok", client: "aws-bedrock/" <> _}}, &1)
             )

      assert %{"credential_fetches" => 1, "fetches" => %{"container" => 1}} =
               Mock.aws_report(mock(), cs)

      assert %{"verified" => 1_000, "rejected" => 0} = Mock.aws_report(mock(), sc)

      # Another model, and a registry rebuilt from this one: same credentials.
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "aws-bedrock/amazon.nova-lite-v1:0")
      assert {:ok, reg} = Registry.set_primary(reg, "A")
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "aws-bedrock/#{@model}")
      assert %{"credential_fetches" => 1} = Mock.aws_report(mock(), cs)
      assert %{"verified" => 1_002} = Mock.aws_report(mock(), sc)
    end

    test "the endpoint_url option wins over the variables; a bad variable is a :config error",
         %{sc: sc, reg: reg} do
      other = scripted([%{content: "from the option"}])
      :ok = Mock.configure_aws(mock(), other, %{region: "us-east-1"})

      assert {:ok, reg} =
               Registry.add_client(reg, "B", "aws-bedrock", %{
                 model: @model,
                 endpoint_url: base(other)
               })

      assert {:ok, %Response{content: "from the option"}} =
               Switchboard.call(reg, "hi", client: "B")

      assert requests(sc) == []

      System.put_env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://user:hunter22@")

      assert {:error, %Error{kind: :config, message: message}} =
               Switchboard.call(reg, "hi", client: "aws-bedrock/#{@model}")

      assert message =~ "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
      refute message =~ "hunter22"
    end
  end
end
