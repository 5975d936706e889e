defmodule Switchboard.ChaosCredentialsTest do
  @moduledoc """
  Fault injection on the credential endpoints: Google's token endpoint
  (a service account's assertion grant) and the AWS credential chain's
  container endpoint and IMDSv2 fail, stall, drop the connection or answer
  garbage; so does the GCE metadata server. Every call ends with one
  terminal message and the error kind the fault stands for, no secret the
  endpoint or the credentials hold shows in it, and a failed fetch is not
  kept: once the endpoint answers again, the next call gets a fresh
  credential and succeeds.

  Not async: the AWS and Google chains read process-wide variables.
  """
  use Switchboard.Case, async: false

  import Switchboard.GoogleHelpers, only: [vertex: 2, vertex: 3, base: 1]

  @model "anthropic.claude-3-5-haiku-20241022-v1:0"

  setup_all do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    email = "chaos-cred@chaos-proj.iam.gserviceaccount.com"
    ^email = Mock.add_google_key(mock(), %{"client_email" => email, "private_key" => pem})
    %{pem: pem, email: email}
  end

  # Secrets a garbage answer carries: none may reach the caller.
  @leaked_refresh "1//chaos-refresh-secret"
  @leaked_aws_secret "chaos/aws+secret=do-not-print"

  setup do
    Switchboard.GoogleHelpers.isolate_env!()

    %{dir: Switchboard.AwsEnv.isolate!()}
  end

  # What a user can see of a call's end: the terminal message, printed.
  defp refute_secrets(terminal, secrets) do
    seen = inspect(terminal, limit: :infinity, printable_limit: :infinity)
    for secret <- secrets, do: refute(seen =~ secret)
  end

  # The service account's private key, as lines of its PEM body.
  defp pem_lines(pem) do
    pem
    |> String.split("\n", trim: true)
    |> Enum.reject(&String.starts_with?(&1, "-----"))
  end

  # One call, its single terminal message, and nothing after it.
  defp one_call(reg, opts \\ []) do
    call = Switchboard.async(reg, "chaos", opts)
    ref = call.ref
    assert_receive {^ref, {_, _} = terminal}, 30_000
    refute_receive {^ref, _}, 50
    terminal
  end

  @google_faults [
    {"a 500", %{status: 500}, :auth},
    {"invalid_grant", %{status: 400, error_type: "invalid_grant"}, :auth},
    {"a reset", %{drop: true}, :auth},
    {"a malformed answer", %{malformed: true}, :auth},
    {"HTML with a 200", %{status: 200, body: "<html>captive portal</html>"}, :auth},
    {"a 200 without a token",
     %{status: 200, body: ~s({"token_type": "Bearer", "refresh_token": "#{@leaked_refresh}"})},
     :auth}
  ]

  for {name, step, kind} <- @google_faults do
    test "Google's token endpoint answering #{name}: #{kind}, then a fresh token", ctx do
      token_sc = scenario("ctok")
      api_sc = scenario("capi")
      :ok = Mock.script(mock(), token_sc, [unquote(Macro.escape(step))])
      reg = registry!(%{clients: [vertex("V", api_sc, %{credentials: sa(ctx, token_sc)})]})

      assert {:error, %Error{kind: unquote(kind)} = e} = terminal = one_call(reg)
      assert e.client == "V"
      assert requests(api_sc) == []
      refute_secrets(terminal, [@leaked_refresh | pem_lines(ctx.pem)])

      :ok = Mock.script(mock(), token_sc, [%{access_token: "ya29.recovered"}])
      assert {:ok, %Response{}} = one_call(reg)
      assert [api] = requests(api_sc)
      assert header(api, "authorization") == "Bearer ya29.recovered"
    end
  end

  test "Google's token endpoint stalling: the call's timeout ends it, then a fresh token", ctx do
    token_sc = scenario("ctok")
    api_sc = scenario("capi")
    :ok = Mock.script(mock(), token_sc, [%{delay_ms: 60_000}])
    reg = registry!(%{clients: [vertex("V", api_sc, %{credentials: sa(ctx, token_sc)})]})

    assert {:error, %Error{kind: :timeout}} = one_call(reg, timeout: 300)
    :ok = Mock.script(mock(), token_sc, [%{access_token: "ya29.recovered"}])
    assert {:ok, %Response{}} = one_call(reg)
  end

  defp sa(ctx, token_sc) do
    %{
      "type" => "service_account",
      "project_id" => "chaos-proj",
      "client_email" => ctx.email,
      "private_key" => ctx.pem,
      "token_uri" => base(token_sc) <> "/token"
    }
  end

  @metadata_faults [
    {"a 500", %{status: 500}, :auth},
    {"a reset", %{drop: true}, :auth},
    {"HTML with a 200", %{status: 200, body: "<html>captive portal</html>"}, :auth},
    {"a 200 without a token",
     %{status: 200, body: ~s({"token_type": "Bearer", "refresh_token": "#{@leaked_refresh}"})},
     :auth}
  ]

  for {name, step, kind} <- @metadata_faults do
    test "the GCE metadata server answering #{name}: #{kind}, then a fresh token" do
      meta_sc = scenario("cmeta")
      api_sc = scenario("capi")
      # Every answer faulty, however often the client asks within the call.
      :ok = Mock.script(mock(), meta_sc, [Map.put(unquote(Macro.escape(step)), :repeat, -1)])
      use_metadata_server(meta_sc)
      reg = registry!(%{clients: [vertex("V", api_sc)]})

      assert {:error, %Error{kind: unquote(kind)}} = terminal = one_call(reg)
      assert requests(api_sc) == []
      assert requests(meta_sc) != []
      refute_secrets(terminal, [@leaked_refresh])

      :ok = Mock.script(mock(), meta_sc, [%{access_token: "ya29.recovered"}])
      assert {:ok, %Response{}} = one_call(reg)
      assert [api] = requests(api_sc)
      assert header(api, "authorization") == "Bearer ya29.recovered"
    end
  end

  test "the GCE metadata server stalling: the call's timeout ends it, then a fresh token" do
    meta_sc = scenario("cmeta")
    api_sc = scenario("capi")
    :ok = Mock.script(mock(), meta_sc, [%{delay_ms: 60_000}])
    use_metadata_server(meta_sc)
    reg = registry!(%{clients: [vertex("V", api_sc)]})

    assert {:error, %Error{kind: :timeout}} = one_call(reg, timeout: 300)
    :ok = Mock.script(mock(), meta_sc, [%{access_token: "ya29.recovered"}])
    assert {:ok, %Response{}} = one_call(reg)
  end

  defp use_metadata_server(meta_sc) do
    "http://" <> host = mock().url
    System.put_env("GCE_METADATA_HOST", "#{host}/s/#{meta_sc}")
  end

  defp fetches(cs), do: Mock.aws_report(mock(), cs)["credential_fetches"]

  defp fetches_in_one_failing_call(source, fault) do
    cs = scenario("ccount")
    :ok = Mock.configure_aws(mock(), cs, Map.put(fault, :credential_failures, 1_000_000))
    point_at(source, cs)
    reg = registry!(%{clients: [bedrock("B", scenario("cnever"))]})
    assert {:error, %Error{kind: :auth}} = one_call(reg)
    assert fetches(cs) >= 1
    fetches(cs)
  end

  @aws_faults [
    {"a 500", %{credential_status: 500}, :auth},
    {"garbage with a 200",
     %{
       credential_status: 200,
       credential_body: ~s(}{ "SecretAccessKey": "#{@leaked_aws_secret}")
     }, :auth},
    {"a 200 without credentials", %{credential_status: 200, credential_body: "{}"}, :auth}
  ]

  for source <- [:container, :imds], {name, fault, kind} <- @aws_faults do
    test "AWS #{source} credentials answering #{name}: #{kind}, then fresh credentials" do
      fault = Map.put(unquote(Macro.escape(fault)), :region, "us-east-1")
      # The SDK retries a 5xx or an unreadable answer itself within a call:
      # a throwaway endpoint that never recovers counts the fetches one
      # call makes, and the real one fails exactly that many, so the call
      # sees the fault and the endpoint has recovered for the next one.
      # (Reconfiguring the endpoint instead would also forget its IMDS
      # session tokens, a different fault.)
      failures = fetches_in_one_failing_call(unquote(source), fault)
      cs = scenario("ccred")
      api_sc = scenario("cbed")
      :ok = Mock.configure_aws(mock(), cs, Map.put(fault, :credential_failures, failures))
      :ok = Mock.configure_aws(mock(), api_sc, %{region: "us-east-1"})
      point_at(unquote(source), cs)
      reg = registry!(%{clients: [bedrock("B", api_sc)]})

      assert {:error, %Error{kind: unquote(kind)}} = terminal = one_call(reg)
      refute_secrets(terminal, [@leaked_aws_secret])
      assert fetches(cs) == failures

      assert {:ok, %Response{}} = one_call(reg)
      assert %{"verified" => 1} = Mock.aws_report(mock(), api_sc)
    end
  end

  for source <- [:container, :imds] do
    test "AWS #{source} credentials stalling: the call's timeout ends it, then fresh credentials" do
      cs = scenario("ccred")
      api_sc = scenario("cbed")
      :ok = Mock.configure_aws(mock(), cs, %{region: "us-east-1", credential_delay_ms: 60_000})
      :ok = Mock.configure_aws(mock(), api_sc, %{region: "us-east-1"})
      point_at(unquote(source), cs)
      reg = registry!(%{clients: [bedrock("B", api_sc)]})

      assert {:error, %Error{kind: :timeout}} = one_call(reg, timeout: 300)
      :ok = Mock.configure_aws(mock(), cs, %{region: "us-east-1"})
      assert {:ok, %Response{}} = one_call(reg)
      assert %{"verified" => 1} = Mock.aws_report(mock(), api_sc)
    end
  end

  defp point_at(:container, cs),
    do: System.put_env("AWS_CONTAINER_CREDENTIALS_FULL_URI", base(cs) <> "/v2/credentials/t-1")

  defp point_at(:imds, cs) do
    System.delete_env("AWS_EC2_METADATA_DISABLED")
    System.put_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", base(cs))
  end

  defp bedrock(name, sc) do
    %{
      name: name,
      provider: "aws-bedrock",
      options: %{
        model: @model,
        region: "us-east-1",
        endpoint_url: Mock.base_url(mock(), sc, "aws-bedrock")
      }
    }
  end
end
