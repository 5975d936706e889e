defmodule Switchboard.MockTest do
  @moduledoc """
  `Switchboard.Mock` as an application's tests use it: supervised, by pid or
  name, files read only under its root, each provider served on its real
  paths only, and `base_url/3` right for every provider.
  """
  use ExUnit.Case, async: true

  alias Switchboard.{Error, Mock, Response}

  # A root with `in.json` and `link.json`, a symlink to `outside.json` beside it.
  setup do
    dir =
      Path.join(System.tmp_dir!(), "switchboard_mock_test_#{System.unique_integer([:positive])}")

    root = Path.join(dir, "root")
    File.mkdir_p!(root)
    File.write!(Path.join(root, "in.json"), ~s({"a": [1, 2.5, null, true], "b": {"c": "d"}}))
    File.write!(Path.join(dir, "outside.json"), ~s({"secret": true}))
    File.ln_s!(Path.join(dir, "outside.json"), Path.join(root, "link.json"))
    on_exit(fn -> File.rm_rf!(dir) end)
    %{mock: start_supervised!({Mock, root: root}), dir: dir, root: root}
  end

  # A tiny HTTP/1.1 client, so these tests exercise the mock and nothing else.
  defp send_request(mock, method, path, body, headers \\ []) do
    port = Mock.info(mock).port
    {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, port, [:binary, active: false])

    head =
      for {name, value} <- [{"content-type", "application/json"} | headers],
          do: [name, ": ", value, "\r\n"]

    :ok =
      :gen_tcp.send(socket, [
        "#{method} #{path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n",
        head,
        "content-length: #{byte_size(body)}\r\n\r\n",
        body
      ])

    raw = recv_all(socket, "")
    [head, body] = :binary.split(raw, "\r\n\r\n")
    ["HTTP/1.1 " <> <<status::binary-size(3)>> <> _ | header_lines] = String.split(head, "\r\n")

    headers =
      for line <- header_lines do
        [name, value] = String.split(line, ":", parts: 2)
        {String.downcase(name), String.trim(value)}
      end

    {String.to_integer(status), headers, body}
  end

  defp post(mock, path, body, headers \\ []), do: send_request(mock, "POST", path, body, headers)

  defp recv_all(socket, acc) do
    case :gen_tcp.recv(socket, 0, 5_000) do
      {:ok, data} -> recv_all(socket, acc <> data)
      {:error, :closed} -> acc
    end
  end

  defp registry!(clients) do
    {:ok, reg} = Switchboard.Registry.new(%{clients: clients})
    reg
  end

  test "a scripted 500 is followed by a success, and both are recorded", %{mock: mock} do
    :ok = Mock.script(mock, "retry", [%{status: 500}, %{content: "hi"}])
    path = "/s/retry/v1/chat/completions"
    body = ~s({"model":"gpt-test","messages":[{"role":"user","content":"yo"}]})

    {500, headers, error} = post(mock, path, body, [{"x-test", "1"}])
    assert error =~ ~s("type":"server_error")
    assert List.keymember?(headers, "x-request-id", 0)

    {200, _, ok} = post(mock, path, body)
    assert ok =~ ~s("content":"hi")
    assert ok =~ ~s("model":"gpt-test")

    assert [first, second] = Mock.requests(mock, "retry")
    assert first["method"] == "POST"
    assert first["path"] == "/v1/chat/completions"
    assert first["status"] == 500
    assert first["outcome"] == "completed"
    assert {"x-test", "1"} in first["headers"]
    assert first["body"] == body
    assert %{"model" => "gpt-test", "messages" => [%{"content" => "yo"}]} = first["json"]
    assert second["status"] == 200
    assert is_integer(second["received_at_us"]) and is_integer(second["finished_at_us"])
  end

  test "a cycled script starts again after its last step", %{mock: mock} do
    :ok = Mock.script(mock, "cycle", [%{content: "a", repeat: 2}, %{status: 500}], cycle: true)
    body = ~s({"model":"m","messages":[{"role":"user","content":"yo"}]})

    statuses =
      for _ <- 1..7 do
        {status, _, _} = post(mock, "/s/cycle/v1/chat/completions", body)
        status
      end

    assert statuses == [200, 200, 500, 200, 200, 500, 200]
  end

  test "unscripted requests get the default success, per scenario", %{mock: mock} do
    {200, _, body} = post(mock, "/s/a/v1/messages", ~s({"model":"claude-test"}))
    assert body =~ ~s("text":"Hello from switchboard_mock.")
    assert body =~ ~s("stop_reason":"end_turn")

    {200, headers, stream} = post(mock, "/s/a/v1/messages", ~s({"stream":true}))
    assert {"content-type", "text/event-stream; charset=utf-8"} in headers
    assert stream =~ "event: message_start\n"
    assert stream =~ "event: message_stop\n"

    assert length(Mock.requests(mock, "a")) == 2
    assert Mock.requests(mock, "b") == []
    assert Mock.base_url(mock, "a") == Mock.info(mock).url <> "/s/a"
  end

  test "await_outcome sees a client that hangs up during a delay", %{mock: mock} do
    :ok = Mock.script(mock, "cancel", [%{delay_ms: 5_000}])
    port = Mock.info(mock).port
    {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, port, [:binary, active: false])

    :ok =
      :gen_tcp.send(
        socket,
        "POST /s/cancel/v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"
      )

    assert :ok = Mock.await_outcome(mock, "cancel", 0, :pending, 5_000)
    :ok = :gen_tcp.close(socket)
    assert :ok = Mock.await_outcome(mock, "cancel", 0, :client_disconnected, 5_000)
    assert {:error, nil} = Mock.await_outcome(mock, "cancel", 1, :completed, 20)
  end

  test "connect to the blackhole port times out", %{mock: mock} do
    port = Mock.blackhole_port(mock)
    assert is_integer(port)
    assert {:error, :timeout} = :gen_tcp.connect({127, 0, 0, 1}, port, [], 300)
  end

  test "invalid scripts raise", %{mock: mock} do
    assert_raise ArgumentError, ~r/stauts/, fn -> Mock.script(mock, "x", [%{stauts: 500}]) end
    assert_raise ArgumentError, fn -> Mock.script(mock, "bad id", []) end
  end

  describe "start_supervised and names" do
    test "a supervised mock by name answers a call through a registry, and stops with its supervisor" do
      name = Module.concat(__MODULE__, "Named#{System.unique_integer([:positive])}")
      pid = start_supervised!({Mock, name: name})
      assert Process.whereis(name) == pid
      assert %Mock{pid: ^pid, root: nil} = Mock.info(name)

      :ok = Mock.script(name, "sup", [%{content: "supervised"}])
      base = Mock.base_url(name, "sup", "anthropic")

      reg =
        registry!([
          %{
            name: "C",
            provider: "anthropic",
            options: %{model: "claude-x", api_key: "k", base_url: base}
          }
        ])

      assert {:ok, %Response{content: "supervised"}} = Switchboard.call(reg, "hi")
      assert [%{"path" => "/v1/messages"}] = Mock.requests(pid, "sup")

      port = Mock.info(pid).port
      ref = Process.monitor(pid)
      :ok = stop_supervised(name)
      assert_receive {:DOWN, ^ref, :process, _, _}
      assert_closed(port)
    end

    test "its child spec takes the name as its id, so two mocks can run side by side" do
      assert %{id: Mock, start: {Mock, :start_link, [[]]}} = Mock.child_spec([])
      assert %{id: :a_mock} = Mock.child_spec(name: :a_mock)
    end

    test "the struct from start/1 works as the pid does" do
      mock = Mock.start!()
      on_exit(fn -> Mock.stop(mock) end)
      assert Mock.info(mock) == mock
      assert Mock.info(mock.pid) == mock
      assert Mock.base_url(mock, "x") == Mock.base_url(mock.pid, "x")
    end
  end

  describe "files" do
    test "read_json reads a file under the root, relative or absolute", %{mock: mock, root: root} do
      expected = %{"a" => [1, 2.5, nil, true], "b" => %{"c" => "d"}}
      assert Mock.read_json(mock, "in.json") == expected
      assert Mock.read_json(mock, Path.join(root, "in.json")) == expected
    end

    test "a file outside the root, a .. path and a symlink out are refused",
         %{mock: mock, dir: dir} do
      for {path, why} <- [
            {Path.join(dir, "outside.json"), "outside the mock's root"},
            {"../outside.json", ~s(paths with ".." are refused)},
            {"link.json", "outside the mock's root"},
            {"/etc/passwd", "outside the mock's root"}
          ] do
        e = assert_raise ArgumentError, fn -> Mock.script(mock, "f", [%{replay_file: path}]) end
        assert e.message =~ "was not read" and e.message =~ why

        e = assert_raise RuntimeError, fn -> Mock.read_json(mock, path) end
        assert e.message =~ "(403)" and e.message =~ why
      end

      e = assert_raise RuntimeError, fn -> Mock.read_json(mock, "missing.json") end
      assert e.message =~ "(404)"
    end

    test "without a root no file is read, and the error says how to name one", %{root: root} do
      mock = start_supervised!(Supervisor.child_spec(Mock, id: :rootless))

      e =
        assert_raise ArgumentError, fn ->
          Mock.script(mock, "f", [%{replay_cassette: Path.join(root, "in.json")}])
        end

      assert e.message =~ "only under a root" and e.message =~ "root: dir"
    end

    test "a root that is not a folder fails the start", %{dir: dir} do
      missing = Path.join(dir, "nope")
      assert {:error, {:invalid_root, message}} = Mock.start(root: missing)
      assert message =~ missing
      assert {:error, {:invalid_root, _}} = Mock.start_link(root: Path.join(dir, "outside.json"))
    end

    test "decode_json needs no file", %{mock: mock} do
      assert Mock.decode_json(mock, ~s({"a": [1, null]})) == %{"a" => [1, nil]}
      assert_raise ArgumentError, ~r/invalid JSON/, fn -> Mock.decode_json(mock, "{nope") end
    end
  end

  describe "paths" do
    test "a wrong path is a 404 that names the served paths; a wrong method a 405",
         %{mock: mock} do
      :ok = Mock.script(mock, "w", [%{content: "kept"}])
      {404, _, body} = post(mock, "/s/w/v1/v1/messages", "{}")
      message = Mock.decode_json(mock, body)["error"]["message"]
      assert message =~ "serves no POST /v1/v1/messages"
      assert message =~ "base_url end in /v1 too many"

      for served <- [
            "POST /v1/chat/completions",
            "POST /api/v1/chat/completions (openrouter)",
            "/openai/deployments/{deployment}/chat/completions",
            "POST /v1/responses",
            "POST /v1/messages (anthropic)",
            "/v1beta/models/{model}:generateContent",
            "/publishers/anthropic/models/{model}:rawPredict",
            "POST /model/{model}/converse"
          ],
          do: assert(message =~ served)

      {404, _, body} = post(mock, "/s/w/chat/completions", "{}")
      assert body =~ "lack /v1?"

      {405, headers, body} = send_request(mock, "GET", "/s/w/v1/messages", "")
      assert {"allow", "POST"} in headers
      assert body =~ "with POST only, not GET"

      # The misses were recorded; the step waits for a served path.
      assert ["/v1/v1/messages", "/chat/completions", "/v1/messages"] =
               Enum.map(Mock.requests(mock, "w"), & &1["path"])

      {200, _, body} = post(mock, "/s/w/v1/messages", "{}")
      assert body =~ "kept"
    end

    test "a client with a wrong base_url gets :not_found, as in production", %{mock: mock} do
      root = Mock.base_url(mock, "wrong")

      clients = [
        # OpenAI's base_url needs /v1.
        %{name: "O", provider: "openai", options: %{model: "m", api_key: "k", base_url: root}},
        # Anthropic's client appends /v1/messages itself.
        %{
          name: "A",
          provider: "anthropic",
          options: %{model: "m", api_key: "k", base_url: root <> "/v1"}
        },
        %{name: "G", provider: "google-ai", options: %{model: "m", api_key: "k", base_url: root}},
        %{
          name: "B",
          provider: "aws-bedrock",
          options: %{
            model: "m",
            region: "us-east-1",
            access_key_id: "AKID",
            secret_access_key: "s",
            endpoint_url: root <> "/v1"
          }
        }
      ]

      reg = registry!(clients)

      for %{name: name} <- clients do
        assert {:error, %Error{kind: :not_found, client: ^name, message: message}} =
                 Switchboard.call(reg, "hi", client: name)

        assert message =~ "switchboard_mock serves no POST", name
      end

      assert Enum.map(Mock.requests(mock, "wrong"), & &1["status"]) == [404, 404, 404, 404]
    end
  end

  describe "base_url/3" do
    @aliases %{
      "baml-openai-chat" => "openai",
      "baml-azure-chat" => "azure-openai",
      "baml-ollama-chat" => "ollama",
      "baml-anthropic-chat" => "anthropic"
    }
    @providers [
      {"openai", %{model: "gpt-x", api_key: "k"}, "/v1/chat/completions"},
      {"baml-openai-chat", %{model: "gpt-x", api_key: "k"}, "/v1/chat/completions"},
      {"openai-generic", %{model: "local"}, "/v1/chat/completions"},
      {"openai-responses", %{model: "gpt-5", api_key: "k"}, "/v1/responses"},
      {"azure-openai", %{api_key: "k"}, "/openai/deployments/mock/chat/completions"},
      {"baml-azure-chat", %{api_key: "k"}, "/openai/deployments/mock/chat/completions"},
      {"ollama", %{model: "llama3"}, "/v1/chat/completions"},
      {"baml-ollama-chat", %{model: "llama3"}, "/v1/chat/completions"},
      {"openrouter", %{model: "meta/llama", api_key: "k"}, "/api/v1/chat/completions"},
      {"anthropic", %{model: "claude-x", api_key: "k"}, "/v1/messages"},
      {"baml-anthropic-chat", %{model: "claude-x", api_key: "k"}, "/v1/messages"},
      {"google-ai", %{model: "gemini-2.5-flash", api_key: "k"},
       "/v1beta/models/gemini-2.5-flash:generateContent"},
      {"vertex-ai",
       %{
         model: "gemini-2.5-flash",
         location: "us-central1",
         project_id: "p",
         query_params: %{key: "k"}
       },
       "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"},
      {"vertex-ai",
       %{
         model: "claude-haiku-4-5@20251001",
         location: "global",
         project_id: "p",
         query_params: %{key: "k"}
       },
       "/v1/projects/p/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict"},
      {"aws-bedrock",
       %{model: "m.x-v1:0", region: "us-east-1", access_key_id: "AKID", secret_access_key: "s"},
       "/model/m.x-v1%3A0/converse"}
    ]

    test "gives every provider a base_url its client works with unchanged", %{mock: mock} do
      for {{provider, options, path}, i} <- Enum.with_index(@providers) do
        sc = "p#{i}"
        :ok = Mock.script(mock, sc, [%{content: "answer from #{provider}"}])
        key = if provider == "aws-bedrock", do: :endpoint_url, else: :base_url
        options = Map.put(options, key, Mock.base_url(mock, sc, provider))
        reg = registry!([%{name: "C", provider: provider, options: options}])

        canonical = Map.get(@aliases, provider, provider)

        assert {:ok, %Response{content: content, provider: ^canonical}} =
                 Switchboard.call(reg, "hi"),
               provider

        assert content == "answer from #{provider}"
        assert [%{"path" => ^path, "status" => 200}] = Mock.requests(mock, sc)
      end
    end

    test "names the known providers for an unknown one", %{mock: mock} do
      e = assert_raise ArgumentError, fn -> Mock.base_url(mock, "s", "openia") end
      assert e.message =~ ~s(unknown provider "openia")
      assert e.message =~ "aws-bedrock" and e.message =~ "vertex-ai" and e.message =~ "openrouter"
    end
  end

  test "a missing executable says how an application asks for it" do
    assert {:error, {:missing_executable, message}} = Mock.start(path: "/nonexistent/mock")
    assert message =~ "config :switchboard, build_mock: true"
    assert message =~ "SWITCHBOARD_MOCK_PATH"
    assert_raise RuntimeError, ~r/build_mock: true/, fn -> Mock.start!(path: "/nonexistent") end
  end

  test "the mock stops with stop/1 and with its owner" do
    mock = Mock.start!()
    :ok = Mock.stop(mock)
    assert_closed(mock.port)

    test_pid = self()

    owner =
      spawn(fn ->
        send(test_pid, {:mock, Mock.start!()})
        receive do: (:exit -> :ok)
      end)

    assert_receive {:mock, owned}, 10_000
    assert {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, owned.port, [])
    :gen_tcp.close(socket)
    send(owner, :exit)
    assert_closed(owned.port)
  end

  defp assert_closed(port, attempts \\ 500) do
    case :gen_tcp.connect({127, 0, 0, 1}, port, []) do
      {:error, :econnrefused} ->
        :ok

      {:ok, socket} when attempts > 0 ->
        :gen_tcp.close(socket)
        Process.sleep(10)
        assert_closed(port, attempts - 1)

      # The listener is going away mid-handshake; look again.
      {:error, :econnreset} when attempts > 0 ->
        Process.sleep(10)
        assert_closed(port, attempts - 1)

      other ->
        flunk("mock on port #{port} still up: #{inspect(other)}")
    end
  end
end
