defmodule Switchboard.GoogleAuthTest do
  @moduledoc """
  Vertex AI's Google OAuth end to end against the mock's token endpoint and
  metadata server: service-account assertions checked by signature, one
  token for many calls, refresh, failures, user credentials, the metadata
  server, cancellation. The key pair is made here, for this run only.

  Not async: these tests set the variables credentials are looked up in.
  """
  use Switchboard.Case, async: false
  import Switchboard.GoogleHelpers

  @email "switchboard-test@test-proj.iam.gserviceaccount.com"
  setup_all do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    # RSAPrivateKey: {_, version, modulus, publicExponent, ...}
    public = {:RSAPublicKey, elem(key, 2), elem(key, 3)}
    @email = Mock.add_google_key(mock(), %{"client_email" => @email, "private_key" => pem})
    %{pem: pem, public: public}
  end

  setup do
    %{gcloud_dir: Switchboard.GoogleHelpers.isolate_env!()}
  end

  defp service_account(ctx, token_sc, extra \\ %{}) do
    Map.merge(
      %{
        "type" => "service_account",
        "project_id" => "sa-proj",
        "private_key_id" => "kid-1",
        "private_key" => ctx.pem,
        "client_email" => @email,
        "token_uri" => base(token_sc) <> "/token"
      },
      extra
    )
  end

  # A vertex client that takes its project from its credentials.
  defp oauth_vertex(name, api_sc, credentials, options \\ %{}) do
    vertex(name, api_sc, Map.merge(%{project_id: nil, credentials: credentials}, options))
  end

  defp json_text(map) do
    fields = Enum.map_join(map, ", ", fn {k, v} -> ~s("#{k}": #{inspect(v)}) end)
    "{" <> fields <> "}"
  end

  defp form(request), do: URI.decode_query(request["body"])

  describe "service account" do
    test "a signed assertion is traded for a token, which the API request carries", ctx do
      token_sc = scenario("tok")
      api_sc = scripted([%{content: "first"}, %{content: "second"}])
      reg = registry!(%{clients: [oauth_vertex("V", api_sc, service_account(ctx, token_sc))]})

      # The JWT is signed between these two readings of the clock.
      before = System.os_time(:second)
      assert {:ok, %Response{content: "first"}} = Switchboard.call(reg, "hi")
      signed_by = System.os_time(:second)
      assert {:ok, %Response{content: "second"}} = Switchboard.call(reg, "hi")

      # One token request: the second call used the cached token.
      assert [token_req] = requests(token_sc)
      assert token_req["method"] == "POST"
      assert token_req["path"] == "/token"
      assert token_req["status"] == 200
      assert header(token_req, "content-type") == "application/x-www-form-urlencoded"

      assert %{"grant_type" => "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion" => jwt} =
               form(token_req)

      # The mock checked the signature; check it here too, independently.
      [header_b64, claims_b64, signature_b64] = String.split(jwt, ".")
      signature = Base.url_decode64!(signature_b64, padding: false)
      assert :public_key.verify("#{header_b64}.#{claims_b64}", :sha256, signature, ctx.public)

      header_json = Base.url_decode64!(header_b64, padding: false)
      assert header_json == ~s({"typ": "JWT", "alg": "RS256", "kid": "kid-1"})
      claims = Base.url_decode64!(claims_b64, padding: false)
      assert claims =~ ~s("iss": "#{@email}")
      assert claims =~ ~s("aud": "https://oauth2.googleapis.com/token")
      assert claims =~ ~s("scope": "https://www.googleapis.com/auth/cloud-platform")
      [iat] = Regex.run(~r/"iat": (\d+)/, claims, capture: :all_but_first)
      [exp] = Regex.run(~r/"exp": (\d+)/, claims, capture: :all_but_first)
      assert String.to_integer(exp) - String.to_integer(iat) == 3600
      assert String.to_integer(iat) in before..signed_by

      assert [first, second] = requests(api_sc)

      for req <- [first, second] do
        assert header(req, "authorization") == "Bearer ya29.mock-1"

        assert req["path"] ==
                 "/v1/projects/sa-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
      end
    end

    test "the credentials option as JSON text or a file path, and GOOGLE_APPLICATION_CREDENTIALS",
         ctx do
      path = Path.join(ctx.gcloud_dir, "sa.json")
      file_sc = scenario("tok")
      File.write!(path, json_text(service_account(ctx, file_sc)))

      text_sc = scenario("tok")

      for {credentials, token_sc} <- [
            {json_text(service_account(ctx, text_sc)), text_sc},
            {path, file_sc}
          ] do
        api_sc = scenario()
        reg = registry!(%{clients: [oauth_vertex("V", api_sc, credentials)]})
        assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
        assert [%{"status" => 200}] = requests(token_sc)
        assert [req] = requests(api_sc)
        assert header(req, "authorization") == "Bearer ya29.mock-1"
      end

      # Set after the registry is built: read when a token is needed.
      api_sc = scenario()
      reg = registry!(%{clients: [vertex("V", api_sc, %{project_id: nil})]})
      System.put_env("GOOGLE_APPLICATION_CREDENTIALS", path)
      assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
      assert length(requests(file_sc)) == 2
      assert [req] = requests(api_sc)
      assert req["path"] =~ "/projects/sa-proj/"
    end

    test "1,000 concurrent calls on a cold registry make exactly one token request", ctx do
      token_sc = scripted([%{delay_ms: 300}], "tok")
      api_sc = scenario()
      reg = registry!(%{clients: [oauth_vertex("V", api_sc, service_account(ctx, token_sc))]})

      calls = for _ <- 1..1_000, do: Switchboard.async(reg, "hi")
      results = Enum.map(calls, &Switchboard.await(&1, 60_000))

      assert Enum.all?(results, &match?({:ok, %Response{}}, &1))
      assert [%{"status" => 200}] = requests(token_sc)
      api = requests(api_sc)
      assert length(api) == 1_000

      assert api |> Enum.map(&header(&1, "authorization")) |> Enum.uniq() == [
               "Bearer ya29.mock-1"
             ]
    end

    test "an expiring token is refreshed once for all the calls that need it", ctx do
      # Valid 2 s: refreshed halfway, after 1 s.
      token_sc = scripted([%{expires_in: 2}], "tok")
      api_sc = scenario()
      reg = registry!(%{clients: [oauth_vertex("V", api_sc, service_account(ctx, token_sc))]})

      assert {:ok, _} = Switchboard.call(reg, "hi")
      Process.sleep(1_100)
      calls = for _ <- 1..200, do: Switchboard.async(reg, "hi")
      assert Enum.all?(calls, &match?({:ok, _}, Switchboard.await(&1, 30_000)))

      assert length(requests(token_sc)) == 2
      [first | rest] = requests(api_sc)
      assert header(first, "authorization") == "Bearer ya29.mock-1"

      assert rest |> Enum.map(&header(&1, "authorization")) |> Enum.uniq() == [
               "Bearer ya29.mock-2"
             ]
    end

    test "a token endpoint failure is an :auth attempt, a fallback answers, and nothing is cached",
         ctx do
      token_sc = scripted([%{status: 503}], "tok")
      api_sc = scenario()
      backup = scripted([%{content: "from gemini"}])

      reg =
        fallback_registry!([
          oauth_vertex("V", api_sc, service_account(ctx, token_sc)),
          google_ai("G", backup)
        ])

      assert {:ok, %Response{content: "from gemini", client: "G", attempts: [failed, _]}} =
               Switchboard.call(reg, "hi")

      assert %Attempt{client: "V", status: nil, error: %Error{kind: :auth, message: message}} =
               failed

      assert message =~ "HTTP 503"
      assert message =~ token_sc
      assert requests(api_sc) == []

      # The failure was not cached: the next call fetches again, and gets one.
      assert {:ok, %Response{client: "V"}} = Switchboard.call(reg, "hi", client: "V")
      assert length(requests(token_sc)) == 2
    end

    test "an assertion the token endpoint refuses is an :auth error that shows no secret", ctx do
      token_sc = scenario("tok")
      api_sc = scenario()

      unknown =
        service_account(ctx, token_sc, %{"client_email" => "stranger@x.iam.gserviceaccount.com"})

      reg = registry!(%{clients: [oauth_vertex("V", api_sc, unknown)]})

      assert {:error, %Error{kind: :auth, message: message} = e} = Switchboard.call(reg, "hi")
      assert message =~ "invalid_grant"
      assert [%{"status" => 400} = token_req] = requests(token_sc)
      %{"assertion" => jwt} = form(token_req)
      refute inspect(e) =~ jwt
      refute inspect(reg) =~ "PRIVATE KEY"
      refute inspect(reg) =~ String.slice(ctx.pem, 40, 40)
    end

    test "a 401 from the API drops the cached token; the next call fetches a new one", ctx do
      token_sc = scenario("tok")
      # Google quotes a rejected token back; it must not reach the caller.
      echo =
        ~s({"error": {"code": 401, "message": "Token ya29.mock-1 is expired.", "status": "UNAUTHENTICATED"}})

      api_sc = scripted([%{content: "a"}, %{status: 401, body: echo}, %{content: "b"}])
      reg = registry!(%{clients: [oauth_vertex("V", api_sc, service_account(ctx, token_sc))]})

      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert {:error, %Error{kind: :auth, status: 401} = e} = Switchboard.call(reg, "hi")
      assert e.message =~ "Token [REDACTED] is expired"
      refute inspect(e) =~ "ya29.mock-1"
      assert {:ok, %Response{content: "b"}} = Switchboard.call(reg, "hi")

      assert length(requests(token_sc)) == 2
      assert header(List.last(requests(api_sc)), "authorization") == "Bearer ya29.mock-2"
    end

    test "a cancelled call aborts its pending token fetch; the next call fetches again", ctx do
      token_sc = scripted([%{delay_ms: 10_000}], "tok")
      api_sc = scenario()
      reg = registry!(%{clients: [oauth_vertex("V", api_sc, service_account(ctx, token_sc))]})

      call = Switchboard.async(reg, "hi")
      :ok = Mock.await_outcome(mock(), token_sc, 0, :pending, 2_000)
      :ok = Switchboard.cancel(call)
      ref = call.ref
      assert_receive {^ref, {:error, %Error{kind: :cancelled}}}, 1_000
      assert :ok = Mock.await_outcome(mock(), token_sc, 0, :client_disconnected, 2_000)

      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert length(requests(token_sc)) == 2
      assert requests(api_sc) |> length() == 1
    end

    test "the call's timeout covers the token fetch", ctx do
      token_sc = scripted([%{delay_ms: 5_000}], "tok")
      reg = registry!(%{clients: [oauth_vertex("V", scenario(), service_account(ctx, token_sc))]})
      assert {:error, %Error{kind: :timeout}} = Switchboard.call(reg, "hi", timeout: 200)
    end
  end

  describe "user credentials and the metadata server" do
    defp user(token_sc, extra \\ %{}) do
      Map.merge(
        %{
          "type" => "authorized_user",
          "client_id" => "123.apps.googleusercontent.com",
          "client_secret" => "user-client-secret-xyz",
          "refresh_token" => "1//user-refresh-token-xyz",
          "quota_project_id" => "billing-proj",
          "token_uri" => base(token_sc) <> "/token"
        },
        extra
      )
    end

    test "authorized_user: the refresh token is traded for an access token" do
      token_sc = scenario("tok")
      api_sc = scenario()
      reg = registry!(%{clients: [vertex("V", api_sc, %{credentials: user(token_sc)})]})

      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert [token_req] = requests(token_sc)

      assert form(token_req) == %{
               "grant_type" => "refresh_token",
               "client_id" => "123.apps.googleusercontent.com",
               "client_secret" => "user-client-secret-xyz",
               "refresh_token" => "1//user-refresh-token-xyz"
             }

      assert [req] = requests(api_sc)
      assert header(req, "authorization") == "Bearer ya29.mock-1"
      assert header(req, "x-goog-user-project") == "billing-proj"
      assert req["path"] =~ "/projects/test-proj/"
      refute inspect(reg) =~ "xyz"
    end

    test "clients whose user credentials differ only in quota project share a token, each billed to its own" do
      token_sc = scenario("tok")
      {a, b} = {scenario(), scenario()}

      reg =
        registry!(%{
          clients: [
            vertex("A", a, %{credentials: user(token_sc, %{"quota_project_id" => "quota-a"})}),
            vertex("B", b, %{credentials: user(token_sc, %{"quota_project_id" => "quota-b"})})
          ]
        })

      assert {:ok, _} = Switchboard.call(reg, "hi", client: "A")
      assert {:ok, _} = Switchboard.call(reg, "hi", client: "B")
      assert [_one_fetch] = requests(token_sc)
      assert [req_a] = requests(a)
      assert [req_b] = requests(b)
      assert header(req_a, "x-goog-user-project") == "quota-a"
      assert header(req_b, "x-goog-user-project") == "quota-b"
    end

    test "gcloud's application default credentials file, with GOOGLE_CLOUD_PROJECT", ctx do
      token_sc = scenario("tok")
      api_sc = scenario()
      adc = Path.join(ctx.gcloud_dir, "application_default_credentials.json")
      File.write!(adc, json_text(user(token_sc)))
      reg = registry!(%{clients: [vertex("V", api_sc, %{project_id: nil})]})

      # A user credential names no project: without one, an :auth error
      # that says what is missing, and no token request.
      assert {:error, %Error{kind: :auth, message: message}} = Switchboard.call(reg, "hi")
      assert message =~ "project_id"
      assert requests(token_sc) == []

      System.put_env("GOOGLE_CLOUD_PROJECT", "env-proj")
      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert [_] = requests(token_sc)
      assert [req] = requests(api_sc)
      assert req["path"] =~ "/projects/env-proj/"
    end

    test "the GCE metadata server: token and project, with Metadata-Flavor" do
      meta_sc = scenario("meta")
      "http://" <> host = mock().url
      System.put_env("GCE_METADATA_HOST", "#{host}/s/#{meta_sc}")
      api_sc = scenario()
      reg = registry!(%{clients: [vertex("V", api_sc, %{project_id: nil})]})

      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert {:ok, _} = Switchboard.call(reg, "hi")
      meta = requests(meta_sc)

      assert Enum.map(meta, &{&1["method"], &1["path"], &1["status"]}) == [
               {"GET", "/computeMetadata/v1/project/project-id", 200},
               {"GET", "/computeMetadata/v1/instance/service-accounts/default/token", 200}
             ]

      assert Enum.all?(meta, &(header(&1, "metadata-flavor") == "Google"))
      assert [first, second] = requests(api_sc)
      assert first["path"] =~ "/projects/mock-project/locations/us-central1/"
      assert header(first, "authorization") =~ ~r/^Bearer ya29\.mock-\d+$/
      assert header(second, "authorization") == header(first, "authorization")
    end

    test "off GCE, a metadata server that never accepts the connection fails after a short connect timeout" do
      # A port whose connect() hangs, as the metadata address does where it
      # is not routed: the probe gives up after its own 2 s connect timeout
      # (not the 10 s of other credential endpoints, nor the call's).
      port = Mock.blackhole_port(mock())
      System.put_env("GCE_METADATA_HOST", "127.0.0.1:#{port}")
      reg = registry!(%{clients: [vertex("V", scenario())]})

      started = System.monotonic_time(:millisecond)
      assert {:error, %Error{kind: :auth, message: message}} = Switchboard.call(reg, "hi")
      assert System.monotonic_time(:millisecond) - started >= 2_000
      assert message =~ "no Google credentials found"

      assert message =~
               "GCE metadata server at 127.0.0.1:#{port} failed: no connection within 2000 ms"
    end

    test "with no credentials anywhere, an :auth error says where it looked" do
      meta_sc = scripted([%{status: 404, repeat: -1}], "meta")
      "http://" <> host = mock().url
      System.put_env("GCE_METADATA_HOST", "#{host}/s/#{meta_sc}")
      reg = registry!(%{clients: [vertex("V", scenario())]})

      assert {:error, %Error{kind: :auth, message: message}} = Switchboard.call(reg, "hi")
      assert message =~ "no Google credentials found"
      assert message =~ "GOOGLE_APPLICATION_CREDENTIALS"
      assert message =~ "metadata server"
    end
  end
end
