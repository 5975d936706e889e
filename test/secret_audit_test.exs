defmodule Switchboard.SecretAuditTest do
  @moduledoc """
  The secret audit: every credential of every provider (API keys, a header
  secret, URL userinfo, the service account's private key and each of its
  PEM lines, OAuth access and refresh tokens and the OAuth client secret,
  the AWS secret key and session token, a Bedrock API key), in every
  encoded form (as sent, JSON-escaped, `\\/`, URL-encoded, base64 in both
  alphabets, padded or not), searched for in everything a user can
  observe: `inspect/1` of the registry, every result, error, attempt and
  chunk, every error's message and fields, `Exception.message/1` and
  `Exception.format/3` of the raised error, every telemetry event's
  metadata, Logger output (captured by a `:logger` handler, the crash
  report of a process that died of the error included).

  The servers do their worst: every error answer quotes every credential
  the client holds, in every form, and the token endpoint quotes the OAuth
  client's own secrets back. Not async: it sets Google's credential
  variables, so no credential of this machine is found.
  """
  use Switchboard.Case, async: false

  alias Switchboard.{Chaos, LogSink}

  import Switchboard.GoogleHelpers, only: [google_ai: 3, vertex: 3, base: 1]

  @events Switchboard.Case.telemetry_events()

  setup_all do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    email = "audit@audit-proj.iam.gserviceaccount.com"
    ^email = Mock.add_google_key(mock(), %{"client_email" => email, "private_key" => pem})
    %{pem: pem, email: email}
  end

  setup do
    %{gcloud_dir: Switchboard.GoogleHelpers.isolate_env!()}
  end

  # The PEM's base64 lines: any one of them shown gives away part of the key.
  defp pem_secrets(pem) do
    lines =
      pem
      |> String.split("\n", trim: true)
      |> Enum.reject(&String.starts_with?(&1, "-----"))

    [pem | lines]
  end

  defp forms(secrets), do: Enum.flat_map(secrets, &Chaos.echoes/1)

  # Everything observable about a term, as text.
  defp shown(term), do: inspect(term, limit: :infinity, printable_limit: :infinity)

  defp assert_clean(text, secrets, what) do
    for form <- forms(secrets) do
      refute String.contains?(text, form), "#{what}: #{inspect(form)} shown"
    end
  end

  # An error body that quotes every form of every secret; forms are valid
  # inside a JSON string as they are.
  defp echo_body(secrets, status) do
    quoted = secrets |> forms() |> Enum.reject(&String.contains?(&1, "\n")) |> Enum.join(" | ")

    ~s({"error": {"code": #{status}, "message": "credentials: #{quoted}", ) <>
      ~s("type": "authentication_error", "status": "UNAUTHENTICATED"}, ) <>
      ~s("message": "credentials: #{quoted}"})
  end

  defp telemetry_recorder do
    parent = self()
    id = "audit-#{System.unique_integer([:positive])}"

    :telemetry.attach_many(
      id,
      @events,
      fn event, measurements, metadata, _ ->
        send(parent, {:telemetry_seen, event, measurements, metadata})
      end,
      nil
    )

    id
  end

  defp telemetry_seen(acc \\ []) do
    receive do
      {:telemetry_seen, event, measurements, metadata} ->
        telemetry_seen([{event, measurements, metadata} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  # Runs a plain call, a streamed call, a raising call and a process that
  # crashes of the error; returns all they showed.
  defp observe(reg, client) do
    plain = Switchboard.call(reg, "audit", client: client)
    call = Switchboard.stream_to(reg, "audit", client: client)
    streamed = drain_stream(call, [])

    raised =
      try do
        Switchboard.call!(reg, "audit", client: client)
      rescue
        e in Error ->
          [shown(e), Exception.message(e), Exception.format(:error, e, __STACKTRACE__)]
      else
        response -> [shown(response)]
      end

    {:ok, pid} = Task.start(fn -> Switchboard.call!(reg, "audit", client: client) end)
    ref = Process.monitor(pid)
    assert_receive {:DOWN, ^ref, :process, ^pid, _}, 30_000

    errors =
      for {:error, %Error{} = e} <- [plain | streamed] do
        [Exception.message(e), e.message, e.raw_response || "", shown(e.attempts)]
      end

    Enum.join([shown(reg), shown(plain), shown(streamed)] ++ raised ++ List.flatten(errors), "\n")
  end

  defp drain_stream(%{ref: ref} = call, acc) do
    receive do
      {^ref, {:chunk, chunk}} ->
        Switchboard.ack(call)
        drain_stream(call, [chunk | acc])

      {^ref, {:reset, attempt}} ->
        Switchboard.ack(call)
        drain_stream(call, [attempt | acc])

      {^ref, {_, _} = terminal} ->
        [terminal | acc]
    after
      30_000 -> flunk("no terminal message")
    end
  end

  # The whole audit for one client: its server answers `steps`, and nothing
  # the user sees, logs or telemetry shows any form of `secrets`.
  defp audit(reg, client, secrets) do
    sink = LogSink.attach()
    telemetry = telemetry_recorder()

    try do
      seen = observe(reg, client)
      Logger.flush()
      events = telemetry_seen()
      assert events != []
      assert_clean(seen, secrets, "#{client}: results")
      assert_clean(shown(events), secrets, "#{client}: telemetry")
      logs = LogSink.text(sink)
      assert logs =~ client
      assert_clean(logs, secrets, "#{client}: logs")
    after
      :telemetry.detach(telemetry)
      LogSink.detach(sink)
    end
  end

  require Logger

  test "API keys, a header secret and URL userinfo, echoed by every API dialect" do
    header_secret = "hdr/Audit+Secret=9z8y7x"

    cases = [
      {"openai", "sk-audit/openai+key=A1b2C3"},
      {"azure-openai", "azure/audit+key=D4e5F6"},
      {"openrouter", "sk-or-audit/key+G7h8=I9"},
      {"openai-responses", "sk-audit/responses+key=J0"},
      {"anthropic", "sk-ant-audit/key+K1l2=M3"},
      {"google-ai", "AIza-audit/key+N4o5=P6"},
      {"aws-bedrock", "ABSKaudit/bedrock+key=Q7r8"}
    ]

    for {provider, key} <- cases do
      sc = scenario("audit")
      secrets = [key, header_secret]
      body = echo_body(secrets, 401)
      :ok = Mock.script(mock(), sc, [%{status: 401, body: body, repeat: -1}])
      reg = registry!(%{clients: [audit_client(provider, sc, key, header_secret)]})
      audit(reg, "C", secrets)
    end
  end

  defp audit_client("google-ai", sc, key, header_secret),
    do: google_ai("C", sc, %{api_key: key, headers: %{"x-audit-token" => header_secret}})

  defp audit_client("aws-bedrock", sc, key, header_secret) do
    %{
      name: "C",
      provider: "aws-bedrock",
      options: %{
        model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        region: "us-east-1",
        endpoint_url: Mock.base_url(mock(), sc, "aws-bedrock"),
        api_key: key,
        headers: %{"x-audit-token" => header_secret}
      }
    }
  end

  defp audit_client(provider, sc, key, header_secret) do
    model = if provider == "anthropic", do: "claude-haiku-4-5", else: "gpt-4o-mini"

    %{
      name: "C",
      provider: provider,
      options: %{
        model: model,
        api_key: key,
        base_url: Mock.base_url(mock(), sc, provider),
        headers: %{"x-audit-token" => header_secret}
      }
    }
  end

  test "URL userinfo: the password, the pair and the Basic header's base64" do
    sc = scenario("audit")
    password = "p@ss:w/rd-audit+xyz"
    uri = URI.parse(Mock.base_url(mock(), sc))
    base = URI.to_string(%{uri | userinfo: "user:" <> URI.encode_www_form(password)}) <> "/v1"
    secrets = [password, "user:" <> password]
    :ok = Mock.script(mock(), sc, [%{status: 401, body: echo_body(secrets, 401), repeat: -1}])

    reg =
      registry!(%{
        clients: [
          %{name: "C", provider: "openai-generic", options: %{base_url: base, model: "m"}}
        ]
      })

    audit(reg, "C", secrets)
  end

  test "AWS: the secret key and the session token, signing every request", _ do
    sc = scenario("audit")
    secret_key = "audit/Secret+Key=wJalrXUtnFEMI/K7MDENG"
    session = "IQoJb3JpZ2luX2VjE/audit+session=token"
    secrets = [secret_key, session]
    :ok = Mock.script(mock(), sc, [%{status: 403, body: echo_body(secrets, 403), repeat: -1}])

    client = %{
      name: "C",
      provider: "aws-bedrock",
      options: %{
        model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        region: "us-east-1",
        endpoint_url: Mock.base_url(mock(), sc, "aws-bedrock"),
        access_key_id: "AKIAAUDIT",
        secret_access_key: secret_key,
        session_token: session
      }
    }

    audit(registry!(%{clients: [client]}), "C", secrets)
  end

  # The private key never leaves the process (only the assertion it signs
  # does), so no server can quote it: what is audited is that nothing
  # Switchboard shows holds it or any of its lines, while the servers quote
  # what was sent.
  test "a service account: the API quotes its access token; the key shows nowhere", ctx do
    token_sc = scenario("audit-tok")
    access_token = "ya29.audit/access+token=R1s2"
    :ok = Mock.script(mock(), token_sc, [%{access_token: access_token, repeat: -1}])
    sc = scenario("audit")
    body = echo_body([access_token], 401)
    secrets = [access_token | pem_secrets(ctx.pem)]
    :ok = Mock.script(mock(), sc, [%{status: 401, body: body, repeat: -1}])
    sa = service_account(ctx, token_sc)
    reg = registry!(%{clients: [vertex("C", sc, %{credentials: sa})]})
    audit(reg, "C", secrets)
  end

  test "a service account whose token endpoint refuses it: the key shows nowhere", ctx do
    token_sc = scenario("audit-tok")
    secrets = pem_secrets(ctx.pem)
    body = ~s({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    :ok = Mock.script(mock(), token_sc, [%{status: 400, body: body, repeat: -1}])

    reg =
      registry!(%{
        clients: [vertex("C", scenario(), %{credentials: service_account(ctx, token_sc)})]
      })

    audit(reg, "C", secrets)
  end

  test "an OAuth user: the refresh token and client secret echoed by the token endpoint, the access token by the API" do
    token_sc = scenario("audit-tok")
    refresh = "1//audit-refresh/token+xyz=0"
    client_secret = "GOCSPX-audit/client+secret=1"

    user = %{
      "type" => "authorized_user",
      "client_id" => "123.apps.googleusercontent.com",
      "client_secret" => client_secret,
      "refresh_token" => refresh,
      "token_uri" => base(token_sc) <> "/token"
    }

    secrets = [refresh, client_secret]

    :ok =
      Mock.script(mock(), token_sc, [%{status: 400, body: echo_body(secrets, 400), repeat: -1}])

    reg = registry!(%{clients: [vertex("C", scenario(), %{credentials: user, project_id: "p"})]})
    audit(reg, "C", secrets)

    # Once a token is handed out, the API quotes it (the API never sees the
    # refresh token or the client secret); none of the three shows.
    access_token = "ya29.audit/user+access=T3"
    :ok = Mock.script(mock(), token_sc, [%{access_token: access_token, repeat: -1}])
    sc = scenario("audit")
    body = echo_body([access_token], 401)
    secrets = [access_token | secrets]
    :ok = Mock.script(mock(), sc, [%{status: 401, body: body, repeat: -1}])
    reg = registry!(%{clients: [vertex("C", sc, %{credentials: user, project_id: "p"})]})
    audit(reg, "C", secrets)
  end

  test "config errors never quote a credential: a broken private key, a bad option beside keys",
       ctx do
    # A key with one line damaged: the PEM cannot be read.
    broken = String.replace(ctx.pem, ~r/\n[A-Za-z0-9+\/]{10}/, "\n!!!!!!!!!!", global: false)
    sa = %{service_account(ctx, scenario("audit-tok")) | "private_key" => broken}
    secrets = pem_secrets(broken) ++ ["sk-audit/config+key=U4"]

    configs = [
      %{clients: [vertex("C", scenario(), %{credentials: sa})]},
      %{clients: [vertex("C", scenario(), %{credentials: sa_json(sa)})]},
      %{
        clients: [
          %{
            name: "C",
            provider: "openai",
            options: %{api_key: "sk-audit/config+key=U4", model: 5}
          }
        ]
      }
    ]

    for config <- configs do
      case Switchboard.Registry.new(config) do
        {:error, %Error{} = e} ->
          assert_clean(shown(e) <> Exception.message(e), secrets, "config error")

        {:ok, reg} ->
          # A key that cannot be read may fail at the first call instead.
          assert_clean(shown(reg), secrets, "registry")
          result = Switchboard.call(reg, "audit")
          assert {:error, %Error{}} = result
          {:error, e} = result
          assert_clean(shown(result) <> Exception.message(e), secrets, "call with a broken key")
      end
    end
  end

  # The service account as the JSON text of its file.
  defp sa_json(map) do
    body =
      Enum.map_join(map, ",", fn {k, v} -> ~s("#{k}":"#{String.replace(v, "\n", "\\n")}") end)

    "{" <> body <> "}"
  end

  defp service_account(ctx, token_sc) do
    %{
      "type" => "service_account",
      "project_id" => "audit-proj",
      "private_key_id" => "audit-key-id",
      "client_email" => ctx.email,
      "private_key" => ctx.pem,
      "token_uri" => base(token_sc) <> "/token"
    }
  end
end
