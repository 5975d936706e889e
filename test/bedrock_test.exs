defmodule Switchboard.BedrockTest do
  @moduledoc """
  AWS Bedrock (Converse, ConverseStream) end to end over real HTTP against
  the mock server, which verifies every SigV4 signature and API key and acts
  as the STS, container and instance-metadata credential endpoints. Not
  async: it edits the AWS variables of the emulator's environment.
  """
  use Switchboard.Case, async: false

  alias Switchboard.Chunk

  @model "anthropic.claude-3-5-haiku-20241022-v1:0"
  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  }
  @signature ~r"^AWS4-HMAC-SHA256 Credential=(?<key>[A-Z0-9]+)/\d{8}/(?<region>[a-z0-9-]+)/bedrock/aws4_request, SignedHeaders=(?<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"

  # Every test starts from an environment with no AWS settings, profile
  # files that do not exist, and instance metadata off, so nothing reaches
  # beyond the mock.
  setup do
    %{dir: Switchboard.AwsEnv.isolate!()}
  end

  defp bedrock(name, sc, options \\ %{}, retry_policy \\ nil) do
    options = Map.merge(%{model: @model, region: "us-east-1", endpoint_url: base(sc)}, options)

    %{name: name, provider: "aws-bedrock", options: options}
    |> then(&if retry_policy, do: Map.put(&1, :retry_policy, retry_policy), else: &1)
  end

  defp base(sc), do: Mock.base_url(mock(), sc)
  defp aws!(sc, config), do: Mock.configure_aws(mock(), sc, config)
  defp report(sc), do: Mock.aws_report(mock(), sc)

  defp signature(req) do
    auth = header(req, "authorization") || ""
    Regex.named_captures(@signature, auth) || flunk("not a SigV4 authorization: #{inspect(auth)}")
  end

  # One application/vnd.amazon.eventstream message: total and header
  # lengths, the prelude's CRC-32, string headers (type 7), the payload and
  # the message's CRC-32.
  defp event_frame(headers, payload) do
    headers =
      for {name, value} <- headers, into: "" do
        <<byte_size(name)::8, name::binary, 7::8, byte_size(value)::16, value::binary>>
      end

    prelude = <<byte_size(headers) + byte_size(payload) + 16::32, byte_size(headers)::32>>
    message = <<prelude::binary, :erlang.crc32(prelude)::32, headers::binary, payload::binary>>
    <<message::binary, :erlang.crc32(message)::32>>
  end

  defp await_all(calls), do: Enum.map(calls, &Switchboard.await(&1, 60_000))

  describe "Converse requests" do
    test "exact URL with an encoded ARN, signed headers, Converse body; the answer read" do
      sc =
        scripted([
          %{
            content: "Hello from Bedrock",
            reasoning: "Let me think.",
            finish_reason: "end_turn",
            usage: %{input_tokens: 7, output_tokens: 3, cached_input_tokens: 2}
          }
        ])

      aws!(sc, %{credentials: [@keys], region: "us-east-1"})

      arn =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"

      options =
        Map.merge(@keys, %{
          model_id: arn,
          model: nil,
          inference_configuration: %{max_tokens: 50, stop_sequences: ["END"]},
          additional_model_request_fields: %{top_k: 3}
        })

      reg = registry!(%{clients: [bedrock("B", sc, options)]})

      prompt = [
        %{role: "system", content: "Be brief."},
        %{
          role: "user",
          content: [
            %{type: "text", text: "What is this?"},
            %{type: "image_url", image_url: %{url: "data:image/png;base64,iVBORw0KGgo="}}
          ]
        }
      ]

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, prompt, options: %{temperature: 0.2, max_tokens: 40})

      assert resp.content == "Hello from Bedrock"
      assert resp.finish_reason == "end_turn"
      assert resp.provider == "aws-bedrock" and resp.client == "B" and resp.model == nil
      # Bedrock's inputTokens leaves out cache reads and writes; ours counts them.
      assert resp.usage == %Usage{
               input_tokens: 9,
               output_tokens: 3,
               total_tokens: 12,
               cached_input_tokens: 2,
               cache_creation_input_tokens: 0
             }

      assert [req] = requests(sc)
      assert req["method"] == "POST"

      assert req["path"] ==
               "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F" <>
                 "us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"

      assert %{"key" => "AKIDEXAMPLE", "region" => "us-east-1", "signed" => signed} =
               signature(req)

      assert signed == "content-type;host;x-amz-date"
      assert header(req, "x-amz-date") =~ ~r/^\d{8}T\d{6}Z$/
      assert header(req, "content-type") == "application/json"
      assert header(req, "x-amz-security-token") == nil

      assert req["json"] == %{
               "system" => [%{"text" => "Be brief."}],
               "messages" => [
                 %{
                   "role" => "user",
                   "content" => [
                     %{"text" => "What is this?"},
                     %{"image" => %{"format" => "png", "source" => %{"bytes" => "iVBORw0KGgo="}}}
                   ]
                 }
               ],
               "inferenceConfig" => %{
                 "maxTokens" => 40,
                 "stopSequences" => ["END"],
                 "temperature" => 0.2
               },
               "additionalModelRequestFields" => %{"top_k" => 3}
             }

      assert %{"verified" => 1, "rejected" => 0} = report(sc)
    end

    test "a session token is sent as x-amz-security-token and signed" do
      sc = scripted([%{content: "ok"}])
      keys = Map.put(@keys, :session_token, "FwoGZXIvYXdzEXAMPLE//session+token==")
      aws!(sc, %{credentials: [keys], region: "us-east-1"})
      reg = registry!(%{clients: [bedrock("B", sc, keys)]})

      assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)
      assert header(req, "x-amz-security-token") == keys.session_token
      assert %{"signed" => "content-type;host;x-amz-date;x-amz-security-token"} = signature(req)
      assert %{"verified" => 1} = report(sc)
    end

    test "a Bedrock API key, from the option or AWS_BEARER_TOKEN_BEDROCK, is a bearer token" do
      sc = scripted([%{content: "one"}, %{content: "two"}])
      aws!(sc, %{api_keys: ["bedrock-api-key-1", "bedrock-api-key-2"]})

      reg = registry!(%{clients: [bedrock("B", sc, %{api_key: "bedrock-api-key-1"})]})
      assert {:ok, %Response{content: "one"}} = Switchboard.call(reg, "hi")

      System.put_env("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-2")
      reg = registry!(%{clients: [bedrock("B", sc)]})
      assert {:ok, %Response{content: "two"}} = Switchboard.call(reg, "hi")

      assert [first, second] = requests(sc)
      assert header(first, "authorization") == "Bearer bedrock-api-key-1"
      assert header(second, "authorization") == "Bearer bedrock-api-key-2"
      assert header(first, "x-amz-date") == nil
      assert %{"verified" => 2} = report(sc)
    end

    test "explicit keys win over AWS_BEARER_TOKEN_BEDROCK; an API key with keys is a config error" do
      sc = scripted([%{content: "signed"}])
      aws!(sc, %{credentials: [@keys], region: "us-east-1"})
      System.put_env("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-env")
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      assert {:ok, %Response{content: "signed"}} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)
      assert %{"key" => "AKIDEXAMPLE"} = signature(req)

      assert {:error, %Error{kind: :config, message: msg}} =
               Registry.new(%{clients: [bedrock("B", sc, Map.put(@keys, :api_key, "k-1"))]})

      assert msg =~ "api_key" and msg =~ ~s(client "B")
    end

    test "a request signed with the wrong secret is rejected as :auth, not retried, secret hidden" do
      sc = scripted([%{content: "never"}])
      aws!(sc, %{credentials: [@keys], region: "us-east-1"})
      wrong = %{@keys | secret_access_key: "not-the-right-secret-key-123"}
      reg = registry!(%{clients: [bedrock("B", sc, wrong, "DefaultRetry")]})

      assert {:error, %Error{kind: :auth, status: 403} = err} = Switchboard.call(reg, "hi")
      assert err.message =~ "InvalidSignatureException"
      assert length(err.attempts) == 1
      refute inspect(err) =~ "not-the-right-secret"
      refute inspect(reg) =~ "not-the-right-secret"
      assert %{"rejected" => 1, "verified" => 0} = report(sc)
    end

    test "a wrong API key is rejected as :auth" do
      sc = scripted([%{content: "never"}])
      aws!(sc, %{api_keys: ["the-right-key"]})
      reg = registry!(%{clients: [bedrock("B", sc, %{api_key: "a-wrong-api-key"})]})
      assert {:error, %Error{kind: :auth} = err} = Switchboard.call(reg, "hi")
      refute inspect(err) =~ "a-wrong-api-key"
    end

    test "nil call options remove the client's values; ill-typed ones are :invalid_request" do
      sc = scripted([%{content: "ok", repeat: 2}])

      options =
        Map.merge(@keys, %{
          guardrailConfig: %{guardrailIdentifier: "g1", guardrailVersion: "1"},
          inference_configuration: %{max_tokens: 50, temperature: 0.5}
        })

      reg = registry!(%{clients: [bedrock("B", sc, options)]})

      assert {:ok, _} =
               Switchboard.call(reg, "hi", options: %{guardrailConfig: nil, temperature: nil})

      assert {:ok, _} = Switchboard.call(reg, "hi", options: %{inference_configuration: nil})
      assert [req, cleared] = requests(sc)
      refute Map.has_key?(req["json"], "guardrailConfig")
      assert req["json"]["inferenceConfig"] == %{"maxTokens" => 50}
      refute Map.has_key?(cleared["json"], "inferenceConfig")
      assert Map.has_key?(cleared["json"], "guardrailConfig")

      for bad <- [
            %{stop_sequences: "END"},
            %{inference_configuration: %{top_p: "high"}},
            %{inference_configuration: "fast"}
          ] do
        assert {:error, %Error{kind: :invalid_request, message: msg}} =
                 Switchboard.call(reg, "hi", options: bad)

        assert msg =~ ~r/stop_sequences|top_p|inference_configuration/
      end

      assert length(requests(sc)) == 2
    end

    test "a call-time model goes into the URL; model ids are encoded like the AWS SDKs do" do
      sc = scripted([%{content: "a"}, %{content: "b"}])
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert {:ok, _} = Switchboard.call(reg, "hi", options: %{model: "us.amazon.nova-lite-v1:0"})
      assert [first, second] = requests(sc)
      assert first["path"] == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
      assert second["path"] == "/model/us.amazon.nova-lite-v1%3A0/converse"
      refute Map.has_key?(second["json"], "model")
    end
  end

  describe "regions" do
    test "from AWS_REGION / AWS_DEFAULT_REGION when the option is absent" do
      sc = scripted([%{content: "ok", repeat: 2}])
      aws!(sc, %{credentials: [@keys], region: "eu-west-3"})
      System.put_env("AWS_DEFAULT_REGION", "eu-west-3")
      reg = registry!(%{clients: [bedrock("B", sc, Map.put(@keys, :region, nil))]})
      assert {:ok, _} = Switchboard.call(reg, "hi")
      System.put_env("AWS_REGION", "eu-west-3")
      System.put_env("AWS_DEFAULT_REGION", "us-west-2")
      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert [a, b] = requests(sc)
      assert %{"region" => "eu-west-3"} = signature(a)
      assert %{"region" => "eu-west-3"} = signature(b)
    end

    test "from the profile, else a :config error naming every place looked in", %{dir: dir} do
      sc = scripted([%{content: "ok"}])
      aws!(sc, %{credentials: [@keys], region: "ap-south-1"})

      # Without endpoint_url either: the error comes before any connection.
      no_region = bedrock("B", sc, Map.merge(@keys, %{region: nil, endpoint_url: nil}))
      reg = registry!(%{clients: [no_region]})

      assert {:error, %Error{kind: :config, client: "B", message: msg}} =
               Switchboard.call(reg, "hi")

      assert msg =~ "region" and msg =~ "AWS_REGION" and msg =~ "AWS_DEFAULT_REGION"

      File.write!(Path.join(dir, "config"), "[default]\nregion = ap-south-1\n")
      reg = registry!(%{clients: [bedrock("B", sc, Map.put(@keys, :region, nil))]})
      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)
      assert %{"region" => "ap-south-1"} = signature(req)
    end
  end

  describe "credential sources" do
    test "environment variables, with and without a session token" do
      sc = scripted([%{content: "ok", repeat: 2}])
      token = "IQoJenv-session-token-EXAMPLE"

      temporary = %{
        access_key_id: "ASIAENVEXAMPLE",
        secret_access_key: "temporary/secret/EXAMPLE"
      }

      aws!(sc, %{credentials: [@keys, Map.put(temporary, :session_token, token)]})
      System.put_env("AWS_ACCESS_KEY_ID", @keys.access_key_id)
      System.put_env("AWS_SECRET_ACCESS_KEY", @keys.secret_access_key)
      assert {:ok, _} = Switchboard.call(registry!(%{clients: [bedrock("B", sc)]}), "hi")

      System.put_env("AWS_ACCESS_KEY_ID", temporary.access_key_id)
      System.put_env("AWS_SECRET_ACCESS_KEY", temporary.secret_access_key)
      System.put_env("AWS_SESSION_TOKEN", token)
      assert {:ok, _} = Switchboard.call(registry!(%{clients: [bedrock("B", sc)]}), "hi")
      assert [a, b] = requests(sc)
      assert %{"key" => "AKIDEXAMPLE"} = signature(a)
      assert %{"key" => "ASIAENVEXAMPLE"} = signature(b)
      assert header(a, "x-amz-security-token") == nil
      assert header(b, "x-amz-security-token") == token
      assert %{"verified" => 2} = report(sc)
    end

    test "profile files: the profile option, AWS_PROFILE, and the profile's region", %{dir: dir} do
      sc = scripted([%{content: "ok", repeat: 3}])
      dev = %{access_key_id: "AKIDPROFILEDEV", secret_access_key: "dev/secret/key/EXAMPLE"}
      other = %{access_key_id: "AKIDPROFILEOTHER", secret_access_key: "other/secret/EXAMPLE"}
      aws!(sc, %{credentials: [dev, other], region: "us-west-2"})

      File.write!(Path.join(dir, "credentials"), """
      [dev]
      aws_access_key_id = #{dev.access_key_id}
      aws_secret_access_key = #{dev.secret_access_key}

      [other]
      aws_access_key_id = #{other.access_key_id}
      aws_secret_access_key = #{other.secret_access_key}
      """)

      File.write!(Path.join(dir, "config"), """
      [profile dev]
      region = us-west-2

      [profile other]
      region = us-west-2
      """)

      # An explicit profile wins over credentials in the environment.
      System.put_env("AWS_ACCESS_KEY_ID", "AKIDNOTTHISONE")
      System.put_env("AWS_SECRET_ACCESS_KEY", "not/this/one")
      System.put_env("AWS_BEARER_TOKEN_BEDROCK", "not-this-either")
      reg = registry!(%{clients: [bedrock("B", sc, %{profile: "dev", region: nil})]})
      assert {:ok, _} = Switchboard.call(reg, "hi")

      Enum.each(
        ~w(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_BEARER_TOKEN_BEDROCK),
        &System.delete_env/1
      )

      System.put_env("AWS_PROFILE", "other")
      reg = registry!(%{clients: [bedrock("B", sc, %{region: nil})]})
      assert {:ok, _} = Switchboard.call(reg, "hi")

      assert [a, b] = requests(sc)
      assert %{"key" => "AKIDPROFILEDEV", "region" => "us-west-2"} = signature(a)
      assert %{"key" => "AKIDPROFILEOTHER", "region" => "us-west-2"} = signature(b)

      reg = registry!(%{clients: [bedrock("B", sc, %{profile: "missing"})]})
      assert {:error, %Error{kind: :config, message: msg}} = Switchboard.call(reg, "hi")
      assert msg =~ ~s("missing")
    end

    # Inside the VM a child's exit status is lost (the BEAM ignores
    # SIGCHLD, so the kernel reaps it): the printed credentials decide.
    test "a profile's credential_process: its keys sign the request", %{dir: dir} do
      sc = scripted([%{content: "ok"}])
      keys = %{access_key_id: "AKIDPROCESS", secret_access_key: "process/secret/EXAMPLE"}
      aws!(sc, %{credentials: [keys], region: "us-east-1"})
      script = Path.join(dir, "creds.sh")

      File.write!(script, """
      #!/bin/sh
      printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}' #{keys.access_key_id} #{keys.secret_access_key}
      """)

      File.chmod!(script, 0o755)
      File.write!(Path.join(dir, "config"), "[profile proc]\ncredential_process = #{script}\n")

      reg = registry!(%{clients: [bedrock("B", sc, %{profile: "proc"})]})
      assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)
      assert %{"key" => "AKIDPROCESS"} = signature(req)
    end

    test "a credential_process that fails is an :auth error that shows none of its output",
         %{dir: dir} do
      sc = scenario()
      script = Path.join(dir, "broken-creds.sh")

      File.write!(
        script,
        "#!/bin/sh\necho 'token leaked-by-process' >&2\necho oops-secret\nexit 3\n"
      )

      File.chmod!(script, 0o755)
      File.write!(Path.join(dir, "config"), "[profile broken]\ncredential_process = #{script}\n")

      reg = registry!(%{clients: [bedrock("B", sc, %{profile: "broken"})]})
      assert {:error, %Error{kind: :auth} = err} = Switchboard.call(reg, "hi")
      refute inspect(err) =~ "oops-secret"
      refute inspect(err) =~ "leaked-by-process"
      assert requests(sc) == []
    end

    test "a cancelled call kills the credential_process it was waiting for", %{dir: dir} do
      pid_file = Path.join(dir, "pid")
      script = Path.join(dir, "slow-creds.sh")
      # Says its pid, then becomes a minute-long sleep (same process).
      File.write!(script, "#!/bin/sh\necho $$ > #{pid_file}\nexec sleep 60\n")
      File.chmod!(script, 0o755)
      File.write!(Path.join(dir, "config"), "[profile slow]\ncredential_process = #{script}\n")

      sc = scenario()
      reg = registry!(%{clients: [bedrock("B", sc, %{profile: "slow"})]})
      call = Switchboard.async(reg, "hi")
      os_pid = wait_for_pid(pid_file)
      assert running?(os_pid)

      :ok = Switchboard.cancel(call)
      assert {:error, %Error{kind: :cancelled}} = Switchboard.await(call)
      wait_until_gone(os_pid)
      assert requests(sc) == []
    end

    test "credentials the server rejects are dropped: the next call reads the chain again" do
      sc = scripted([%{content: "ok", repeat: -1}])
      aws!(sc, %{credentials: [@keys]})
      System.put_env("AWS_ACCESS_KEY_ID", @keys.access_key_id)
      System.put_env("AWS_SECRET_ACCESS_KEY", "an-old-rotated-secret-key")
      reg = registry!(%{clients: [bedrock("B", sc)]})

      assert {:error, %Error{kind: :auth, status: 403}} = Switchboard.call(reg, "hi")
      # Rotated in the environment after the registry cached the old keys.
      System.put_env("AWS_SECRET_ACCESS_KEY", @keys.secret_access_key)
      assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi")
      assert {:ok, _} = Switchboard.call(reg, "hi")
      assert %{"rejected" => 1, "verified" => 2} = report(sc)
    end

    test "no credentials anywhere is an :auth error naming the chain" do
      sc = scripted([%{content: "never"}])
      reg = registry!(%{clients: [bedrock("B", sc, %{}, "DefaultRetry")]})

      assert {:error, %Error{kind: :auth, client: "B", message: msg} = err} =
               Switchboard.call(reg, "hi")

      assert msg =~ "credentials"
      assert [%Attempt{status: nil, error: %Error{kind: :auth}}] = err.attempts
      assert requests(sc) == []
    end

    # The chain's network sources, each pointed at a credentials scenario `cs`.
    defp network_source(:web_identity, cs, dir) do
      aws!(cs, %{web_identity_token: "eyJ.web-identity.token"})
      token_file = Path.join(dir, "web-identity-token")
      File.write!(token_file, "eyJ.web-identity.token")
      System.put_env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)
      System.put_env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/switchboard-test")
      System.put_env("AWS_ROLE_SESSION_NAME", "switchboard-test")
      System.put_env("AWS_ENDPOINT_URL_STS", base(cs))
      "sts"
    end

    defp network_source(:container, cs, _dir) do
      aws!(cs, %{container_authorization: "container-auth-token"})
      System.put_env("AWS_CONTAINER_CREDENTIALS_FULL_URI", base(cs) <> "/v2/credentials/task-1")
      System.put_env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
      "container"
    end

    defp network_source(:imds, cs, _dir) do
      aws!(cs, %{role_name: "switchboard-instance-role"})
      System.delete_env("AWS_EC2_METADATA_DISABLED")
      System.put_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", base(cs))
      "imds_credentials"
    end

    for source <- [:web_identity, :container, :imds] do
      test "#{source}: a signed request; 1,000 concurrent calls on a cold registry fetch once",
           %{dir: dir} do
        cs = scenario("creds")
        endpoint = network_source(unquote(source), cs, dir)
        sc = scripted([%{content: "ok", repeat: -1}])
        aws!(sc, %{region: "us-east-1"})
        reg = registry!(%{clients: [bedrock("B", sc)]})

        results = await_all(for _ <- 1..1_000, do: Switchboard.async(reg, "hi"))
        assert Enum.all?(results, &match?({:ok, %Response{content: "ok"}}, &1))

        assert %{"credential_fetches" => 1, "fetches" => %{^endpoint => 1}, "issued" => [issued]} =
                 report(cs)

        assert %{"verified" => 1_000, "rejected" => 0} = report(sc)
        req = hd(requests(sc))
        assert %{"key" => key} = signature(req)
        assert key == issued["access_key_id"]
        assert header(req, "x-amz-security-token") == issued["session_token"]
      end

      test "#{source}: credentials are refreshed once when they expire", %{dir: dir} do
        cs = scenario("creds")
        network_source(unquote(source), cs, dir)
        Mock.configure_aws(mock(), cs, Map.put(current_config(unquote(source)), :expires_in_s, 3))
        sc = scripted([%{content: "ok", repeat: -1}])
        aws!(sc, %{region: "us-east-1"})
        reg = registry!(%{clients: [bedrock("B", sc)]})

        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert %{"credential_fetches" => 1} = report(cs)
        # Still fresh: kept for half of what remains of their life.
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert %{"credential_fetches" => 1} = report(cs)

        Process.sleep(3_100)
        results = await_all(for _ <- 1..100, do: Switchboard.async(reg, "hi"))
        assert Enum.all?(results, &match?({:ok, _}, &1))
        assert %{"credential_fetches" => 2, "issued" => [first, second]} = report(cs)
        assert first["access_key_id"] != second["access_key_id"]
        assert %{"rejected" => 0} = report(sc)
      end
    end

    defp current_config(:web_identity), do: %{web_identity_token: "eyJ.web-identity.token"}
    defp current_config(:container), do: %{container_authorization: "container-auth-token"}
    defp current_config(:imds), do: %{role_name: "switchboard-instance-role"}

    test "a failing credential endpoint is an :auth attempt the fallback moves past", %{dir: dir} do
      cs = scenario("creds")
      network_source(:container, cs, dir)
      # 403: a failure the SDK's container provider does not retry itself.
      aws!(cs, %{
        container_authorization: "container-auth-token",
        credential_failures: 1,
        credential_status: 403
      })

      bad = scripted([%{content: "never"}])
      good = scripted([%{content: "from B"}])
      aws!(good, %{api_keys: ["bedrock-api-key-b"]})

      reg =
        fallback_registry!([
          bedrock("A", bad),
          bedrock("B", good, %{api_key: "bedrock-api-key-b"})
        ])

      assert {:ok, %Response{client: "B", content: "from B"} = resp} = Switchboard.call(reg, "hi")

      assert [
               %Attempt{client: "A", status: nil, error: %Error{kind: :auth}},
               %Attempt{client: "B"}
             ] = resp.attempts

      assert requests(bad) == []
      # Failures are not cached: the next call fetches again and succeeds.
      reg2 = registry!(%{clients: [bedrock("A", bad)]})
      Mock.script(mock(), bad, [%{content: "now"}])
      assert {:ok, %Response{content: "now"}} = Switchboard.call(reg2, "hi")
    end
  end

  describe "errors" do
    @policy "Once"
    @cases [
      {"ThrottlingException", :rate_limited, true},
      {"ServiceUnavailableException", :overloaded, true},
      {"ModelNotReadyException", :overloaded, true},
      {"ValidationException", :invalid_request, false},
      {"AccessDeniedException", :permission, false},
      {"ResourceNotFoundException", :not_found, false},
      {"ModelTimeoutException", :timeout, true},
      {"UnrecognizedClientException", :auth, false},
      {"ExpiredTokenException", :auth, false},
      {"InternalServerException", :server, true},
      {"ModelErrorException", :server, true},
      {"ServiceQuotaExceededException", :rate_limited, true}
    ]

    for {type, kind, retried} <- @cases do
      test "#{type} is #{kind}, #{if retried, do: "retried", else: "not retried"}" do
        sc = scripted([%{error_type: unquote(type)}, %{content: "second"}])

        reg =
          registry!(%{
            clients: [bedrock("B", sc, @keys, @policy)],
            retry_policies: %{
              @policy => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 1}}
            }
          })

        result = Switchboard.call(reg, "hi")
        [first | _] = requests(sc)
        status = first["status"]

        if unquote(retried) do
          assert {:ok, %Response{content: "second", attempts: [failed, _]}} = result
          assert %Attempt{status: ^status, error: %Error{kind: unquote(kind)}} = failed
        else
          assert {:error, %Error{kind: unquote(kind), status: ^status, message: msg} = err} =
                   result

          assert msg =~ unquote(type)
          assert length(err.attempts) == 1
          assert err.raw_response =~ "message"
        end
      end
    end
  end

  describe "ConverseStream" do
    test "text chunks, finish reason and usage; reasoning is not part of the answer" do
      words = for i <- 1..20, do: "w#{i} "
      content = Enum.join(words)

      sc =
        scripted([
          %{
            content: content,
            chunks: 20,
            reasoning: "pondering",
            finish_reason: "max_tokens",
            usage: %{input_tokens: 11, output_tokens: 20, cached_input_tokens: 4}
          }
        ])

      aws!(sc, %{credentials: [@keys], region: "us-east-1"})
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      {messages, result} = collect(Switchboard.stream_to(reg, "count"))

      assert {:ok, %Response{} = resp} = result
      assert text(messages) == content and resp.content == content
      assert Enum.all?(messages, fn {:chunk, c} -> c.client == "B" and c.attempt == 1 end)
      assert resp.finish_reason == "max_tokens"
      assert resp.usage.input_tokens == 15 and resp.usage.output_tokens == 20
      assert resp.usage.total_tokens == 35 and resp.usage.cached_input_tokens == 4

      assert [req] = requests(sc)
      assert req["path"] == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
      assert header(req, "accept") == "application/vnd.amazon.eventstream"
      assert %{"signed" => "accept;content-type;host;x-amz-date"} = signature(req)
      assert %{"verified" => 1} = report(sc)
    end

    test "Switchboard.stream/3 over a Bedrock stream split into small reads" do
      sc = scripted([%{content: "alpha beta gamma", chunks: 3, split_bytes: 7}])
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      chunks = reg |> Switchboard.stream("hi") |> Enum.to_list()
      assert Enum.map_join(chunks, & &1.text) == "alpha beta gamma"
      assert %Chunk{response: %Response{content: "alpha beta gamma"}} = List.last(chunks)
    end

    test "an in-stream exception falls back after a reset" do
      a =
        scripted([
          %{
            content: "bad bad bad bad",
            chunks: 4,
            error_after: 2,
            error_type: "throttlingException"
          }
        ])

      b = scripted([%{content: "good answer", chunks: 2}])

      reg = fallback_registry!([bedrock("A", a, @keys), bedrock("B", b, @keys)])

      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:ok, %Response{client: "B", content: "good answer"} = resp} = result

      {before, [{:reset, failed} | later]} = Enum.split_while(messages, &match?({:chunk, _}, &1))
      assert text(before) =~ ~r/^bad bad ?$/
      assert Enum.all?(before, fn {:chunk, c} -> c.attempt == 1 end)

      assert %Attempt{client: "A", status: 200, error: %Error{kind: :rate_limited, message: m}} =
               failed

      assert m =~ "throttlingException"
      assert text(later) == "good answer"
      assert Enum.all?(later, fn {:chunk, c} -> c.attempt == 2 and c.client == "B" end)
      assert [%Attempt{client: "A"}, %Attempt{client: "B", error: nil}] = resp.attempts
    end

    for {type, kind} <- [
          {"validationException", :invalid_request},
          {"serviceUnavailableException", :overloaded},
          {"modelStreamErrorException", :server},
          {"internalServerException", :server},
          {"modelTimeoutException", :timeout}
        ] do
      test "in-stream #{type} is #{kind}" do
        sc = scripted([%{content: "x y z", chunks: 3, error_after: 1, error_type: unquote(type)}])
        reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
        {_messages, result} = collect(Switchboard.stream_to(reg, "hi"))
        assert {:error, %Error{kind: unquote(kind), status: 200, message: msg}} = result
        assert msg =~ unquote(type)
      end
    end

    test "a stream cut in the middle of a frame is a :network error" do
      sc = scripted([%{content: "one two three four", chunks: 4, truncate_after: 2}])
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :network, status: 200}} = result
      delivered = text(messages)
      assert delivered != "" and String.starts_with?("one two three four", delivered)
      assert delivered != "one two three four"
    end

    test "an exception frame followed by a corrupt one in the same read keeps its kind" do
      # Both in one write: the exception is read before the corrupt bytes.
      exception =
        event_frame(
          [
            {":message-type", "exception"},
            {":exception-type", "throttlingException"},
            {":content-type", "application/json"}
          ],
          ~s({"message":"Too many requests, please wait."})
        )

      sc =
        scripted([
          %{
            replay_chunks_b64: [Base.encode64(exception <> :binary.copy(<<0>>, 16))],
            content_type: "application/vnd.amazon.eventstream"
          }
        ])

      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      {[], result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :rate_limited, status: 200, message: msg}} = result
      assert msg =~ "throttlingException"
    end

    test "a corrupt frame is a :bad_response error" do
      sc = scripted([%{malformed: true}])
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      {_messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :bad_response, message: msg}} = result
      assert msg =~ "checksum"
    end

    test "an error status before the stream maps like a plain call" do
      sc = scripted([%{error_type: "ThrottlingException"}])
      reg = registry!(%{clients: [bedrock("B", sc, @keys)]})
      {[], result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :rate_limited, status: 429}} = result
    end
  end

  # The pid a credential_process wrote, once it has written it all.
  defp wait_for_pid(file) do
    case File.read(file) do
      {:ok, text} ->
        if String.ends_with?(text, "\n"),
          do: String.trim(text),
          else: retry(fn -> wait_for_pid(file) end)

      {:error, _} ->
        retry(fn -> wait_for_pid(file) end)
    end
  end

  # Whether the OS process exists and is not a zombie (killed, not yet reaped).
  defp running?(os_pid) do
    case File.read("/proc/#{os_pid}/stat") do
      {:ok, stat} ->
        [_, after_name] = String.split(stat, ") ", parts: 2)
        not String.starts_with?(after_name, ["Z", "X"])

      {:error, _} ->
        false
    end
  end

  defp wait_until_gone(os_pid) do
    if running?(os_pid), do: retry(fn -> wait_until_gone(os_pid) end)
  end

  defp retry(fun) do
    Process.sleep(10)
    fun.()
  end
end
