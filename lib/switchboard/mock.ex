defmodule Switchboard.Mock do
  @moduledoc """
  A scriptable mock LLM provider server for tests, demos and benchmarks.

  `start/1` runs the `switchboard_mock` binary (built from
  `native/switchboard_mock` by `mix compile`) as a Port. The server speaks the
  real OpenAI Chat Completions and Responses, Anthropic Messages, Gemini
  (`…/models/{model}:generateContent`, `:streamGenerateContent`) and Vertex AI
  (Gemini under `…/publishers/google/models/`, Claude's `:rawPredict` and
  `:streamRawPredict` under `…/publishers/anthropic/models/`) wire formats,
  streaming and not, routed by path, plus Google's OAuth token endpoint
  (`POST …/token`) and the GCE metadata server (`GET /computeMetadata/v1/…`),
  see `add_google_key/2`. It plays scripted faults: error statuses with the
  providers' own error bodies, delays, dropped connections, truncated bodies,
  stalled or broken streams, byte-split streams and replays of recorded
  traffic.

  ## Scenarios

  Point a client at `base_url(mock, "my_test")` and every request it makes
  lands in the scenario `"my_test"`, isolated from other tests. Each scenario
  has a queue of steps (`script/3`); each provider request pops one step, or
  gets the default success (`"Hello from switchboard_mock."`, 12 input and 8
  output tokens) once the queue is empty. Every request is recorded and can be
  read back with `requests/2`.

      {:ok, mock} = Switchboard.Mock.start()
      :ok = Switchboard.Mock.script(mock, "retry", [%{status: 500}, %{content: "hi"}])
      base_url = Switchboard.Mock.base_url(mock, "retry")
      # OpenAI-style clients: base_url <> "/v1"; Anthropic: base_url as is.
      [first, second] = Switchboard.Mock.requests(mock, "retry")
      first["outcome"] #=> "completed"

  ## Step keys

  All optional; atom or string keys.

    * `:status` - respond with this status; non-2xx statuses get the
      provider's real error body unless `:body` is given.
    * `:body`, `:content_type` - send this raw body (default content type
      `application/json`).
    * `:headers` - extra response headers, e.g. `%{"retry-after" => "2"}`.
    * `:delay_ms` - wait before sending the response head.
    * `:drop` - close the connection without answering (after `:delay_ms`).
    * `:truncate_at` - announce the full `content-length`, send only this many
      body bytes, then close.
    * `:malformed` - 200 with a body that is not valid JSON.
    * `:content`, `:finish_reason`, `:usage` (`%{input_tokens:, output_tokens:,
      cached_input_tokens:}`) - shape the successful answer.
    * Streaming only: `:chunks` (number of deltas), `:chunk_delay_ms`,
      `:stall_after`, `:error_after` (with `:error_type`), `:truncate_after`,
      `:split_bytes`.
    * `:error_type` - with an error `:status` or `:error_after`: Anthropic's
      error type (`"overloaded_error"`), or Google's status
      (`"RESOURCE_EXHAUSTED"`, `"UNAVAILABLE"`, ...); on Claude-on-Vertex a
      name in capitals answers in Google's shape, as Vertex's front end does.
    * Gemini only: `:thoughts` (a thought-summary part before the answer),
      `:block_reason` (a blocked prompt: `promptFeedback.blockReason`, no
      candidates), `usage: %{thoughts_tokens: n}`.
    * Token endpoint and metadata server: `:access_token` (default
      `"ya29.mock-<n>"`, `n` counting the scenario's auth requests) and
      `:expires_in` (default 3599); `:status` fails the request with Google's
      OAuth error body.
    * Replay: `:replay_cassette` (path of a req_llm cassette), `:replay_file`
      (raw body, default `text/event-stream`), `:replay_chunks_b64`.
    * `:repeat` - answer this many requests with the step; `-1` for ever.

  ## Request records

  `requests/2` returns maps with binary keys: `"method"`, `"version"`
  (`"HTTP/1.1"` or `"HTTP/2.0"`; the mock also speaks cleartext HTTP/2), `"path"` (without
  the `/s/<scenario>` prefix), `"query"` (`""` when absent), `"headers"` (a
  list of `{name, value}` tuples, lowercased names, in arrival order),
  `"body"` (raw binary), `"json"` (decoded body with binary keys, or `nil`),
  `"status"` (status sent, or `nil`), `"outcome"` (`"pending"`, `"completed"`,
  `"client_disconnected"` or `"dropped"`), `"received_at_us"` and
  `"finished_at_us"` (microseconds on the mock's monotonic clock, or `nil`).

  The server stays up until `stop/1` or until the process that called
  `start/1` exits; the OS process exits as soon as its Port closes.
  """

  use GenServer

  @enforce_keys [:port, :url, :os_pid, :pid]
  defstruct [:port, :url, :os_pid, :pid]

  @typedoc "A running mock server."
  @type t :: %__MODULE__{
          port: :inet.port_number(),
          url: String.t(),
          os_pid: non_neg_integer() | nil,
          pid: pid()
        }

  @typedoc "A scenario id: letters, digits, `_`, `.` and `-`."
  @type scenario :: String.t()

  @typedoc "One scripted answer; see the module docs for the keys."
  @type step :: %{optional(atom() | String.t()) => term()}

  @typedoc "A recorded request; see the module docs for the keys."
  @type request :: %{optional(String.t()) => term()}

  @typedoc "What happened to a recorded request."
  @type outcome :: String.t() | :pending | :completed | :client_disconnected | :dropped

  @start_timeout 10_000
  @http_timeout 30_000
  @listening "SWITCHBOARD_MOCK_LISTENING "

  @doc """
  Starts a mock server on an ephemeral loopback port.

  Options:

    * `:path` - the `switchboard_mock` executable; defaults to
      `$SWITCHBOARD_MOCK_PATH`, then `priv/native/switchboard_mock` of the
      `:switchboard` application.
    * `:port` - TCP port to listen on (default `0`, any free port).
    * `:max_records` - requests recorded per scenario (default 100 000);
      later requests are served but not recorded.
    * `:owner` - the process whose exit stops the mock (default `self()`).

  ## Examples

      {:ok, mock} = Switchboard.Mock.start()
      mock.url #=> "http://127.0.0.1:41234"

      {:ok, mock} = Switchboard.Mock.start(path: "/tmp/switchboard_mock")
  """
  @spec start(keyword()) :: {:ok, t()} | {:error, term()}
  def start(opts \\ []) when is_list(opts) do
    owner = Keyword.get(opts, :owner, self())

    with {:ok, path} <- executable(opts),
         {:ok, pid} <-
           GenServer.start(__MODULE__, {owner, path, opts}, timeout: @start_timeout + 1_000) do
      {:ok, GenServer.call(pid, :info)}
    end
  end

  @doc """
  Like `start/1` but raises on failure.

  ## Examples

      mock = Switchboard.Mock.start!()
  """
  @spec start!(keyword()) :: t()
  def start!(opts \\ []) do
    case start(opts) do
      {:ok, mock} -> mock
      {:error, {:missing_executable, message}} -> raise message
      {:error, reason} -> raise "could not start switchboard_mock: #{inspect(reason)}"
    end
  end

  @doc """
  Stops the server. Returns `:ok` even if it already stopped.

  ## Examples

      :ok = Switchboard.Mock.stop(mock)
  """
  @spec stop(t()) :: :ok
  def stop(%__MODULE__{pid: pid}) do
    GenServer.stop(pid, :normal)
  catch
    :exit, _ -> :ok
  end

  @doc """
  The scenario's base URL, `http://127.0.0.1:PORT/s/<scenario>`.

  OpenAI-style clients take `base_url <> "/v1"`; Anthropic clients append
  `/v1/messages` themselves.

  ## Examples

      Switchboard.Mock.base_url(mock, "fallback_test")
      #=> "http://127.0.0.1:41234/s/fallback_test"
  """
  @spec base_url(t(), scenario()) :: String.t()
  def base_url(%__MODULE__{url: url}, scenario) do
    url <> "/s/" <> check_scenario!(scenario)
  end

  @doc """
  Replaces the scenario's step queue and clears its recorded requests.

  Raises `ArgumentError` if the server rejects a step (unknown key, wrong
  type, unreadable replay file).

  ## Examples

      :ok = Switchboard.Mock.script(mock, "s1", [
        %{status: 429, headers: %{"retry-after" => "1"}},
        %{content: "recovered", chunks: 3}
      ])
  """
  @spec script(t(), scenario(), [step()]) :: :ok
  def script(%__MODULE__{} = mock, scenario, steps) when is_list(steps) do
    path = "/_mock/scenarios/" <> check_scenario!(scenario)

    case http(mock, "PUT", path, :erlang.term_to_binary(steps)) do
      {:ok, 204, _} ->
        :ok

      {:ok, status, body} ->
        raise ArgumentError, "switchboard_mock rejected the script (#{status}): #{body}"

      {:error, reason} ->
        raise "switchboard_mock unreachable: #{inspect(reason)}"
    end
  end

  @doc """
  Gives the scenario an AWS configuration: from then on its Bedrock routes
  (`/model/{id}/converse`, `/converse-stream`) verify each request's SigV4
  signature or Bedrock API key, and its credential endpoints (STS web
  identity at the scenario's base URL, container credentials at
  `/v2/credentials/...`, IMDSv2 at `/latest/...`) hand out temporary
  credentials. Replaces the previous configuration and clears the counters
  `aws_report/2` shows; steps and recorded requests are kept.

  Keys (atom or string): `:credentials` (list of `%{access_key_id:,
  secret_access_key:, session_token:}` the verifier accepts), `:api_keys`,
  `:region` (the credential scope must name it; IMDS reports it),
  `:expires_in_s` (lifetime of handed-out credentials, default 3600; zero
  or negative: already expired), `:credential_delay_ms`,
  `:credential_failures` and `:credential_status` (fail that many
  credential fetches first), `:role_name`, `:web_identity_token`,
  `:container_authorization`, `:verify` (default `true`).

  ## Examples

      :ok = Switchboard.Mock.configure_aws(mock, "bedrock", %{
        credentials: [%{access_key_id: "AKIDEXAMPLE", secret_access_key: "secret"}],
        region: "us-east-1"
      })
  """
  @spec configure_aws(t(), scenario(), map()) :: :ok
  def configure_aws(%__MODULE__{} = mock, scenario, config) when is_map(config) do
    path = "/_mock/scenarios/" <> check_scenario!(scenario) <> "/aws"

    case http(mock, "PUT", path, :erlang.term_to_binary(config)) do
      {:ok, 204, _} ->
        :ok

      {:ok, status, body} ->
        raise ArgumentError, "switchboard_mock rejected the AWS config (#{status}): #{body}"

      {:error, reason} ->
        raise "switchboard_mock unreachable: #{inspect(reason)}"
    end
  end

  @doc """
  What the scenario's AWS side did since `configure_aws/3`: `"fetches"` per
  credential endpoint (`"sts"`, `"container"`, `"imds_token"`,
  `"imds_role"`, `"imds_credentials"`, `"imds_region"`),
  `"credential_fetches"` (those that hand out credentials), `"issued"`
  credentials, and how many Bedrock requests were `"verified"` or
  `"rejected"`.

  ## Examples

      %{"credential_fetches" => 1, "verified" => 3} = Switchboard.Mock.aws_report(mock, "bedrock")
  """
  @spec aws_report(t(), scenario()) :: map()
  def aws_report(%__MODULE__{} = mock, scenario) do
    get_term!(mock, "/_mock/scenarios/" <> check_scenario!(scenario) <> "/aws")
  end

  @doc """
  The scenario's recorded requests, oldest first.

  ## Examples

      [%{"path" => "/v1/chat/completions", "json" => %{"model" => model}}] =
        Switchboard.Mock.requests(mock, "s1")
  """
  @spec requests(t(), scenario()) :: [request()]
  def requests(%__MODULE__{} = mock, scenario) do
    mock
    |> get_term!("/_mock/scenarios/" <> check_scenario!(scenario) <> "/requests")
  end

  @doc """
  Forgets a scenario: its queue and its recorded requests.

  ## Examples

      :ok = Switchboard.Mock.reset(mock, "s1")
  """
  @spec reset(t(), scenario()) :: :ok
  def reset(%__MODULE__{} = mock, scenario) do
    case http(mock, "DELETE", "/_mock/scenarios/" <> check_scenario!(scenario), "") do
      {:ok, 204, _} -> :ok
      other -> raise "switchboard_mock reset failed: #{inspect(other)}"
    end
  end

  @doc """
  Polls every 10 ms until request number `index` (0-based) of `scenario` has
  `outcome`. Returns `{:error, last_seen}` after `timeout_ms`, where
  `last_seen` is the outcome last seen for that request, or `nil` if it never
  arrived.

  ## Examples

      # after cancelling a call that the mock was delaying:
      :ok = Switchboard.Mock.await_outcome(mock, "cancel", 0, :client_disconnected, 1_000)
  """
  @spec await_outcome(t(), scenario(), non_neg_integer(), outcome(), non_neg_integer()) ::
          :ok | {:error, String.t() | nil}
  def await_outcome(%__MODULE__{} = mock, scenario, index, outcome, timeout_ms \\ 1_000)
      when is_integer(index) and index >= 0 and is_integer(timeout_ms) do
    deadline = System.monotonic_time(:millisecond) + timeout_ms
    poll_outcome(mock, scenario, index, to_string(outcome), deadline)
  end

  defp poll_outcome(mock, scenario, index, wanted, deadline) do
    seen =
      case Enum.at(requests(mock, scenario), index) do
        nil -> nil
        request -> request["outcome"]
      end

    cond do
      seen == wanted ->
        :ok

      System.monotonic_time(:millisecond) >= deadline ->
        {:error, seen}

      true ->
        Process.sleep(10)
        poll_outcome(mock, scenario, index, wanted, deadline)
    end
  end

  @doc """
  A loopback TCP port on which `connect()` never completes, for
  connect-timeout tests. The same port for the server's lifetime.

  ## Examples

      port = Switchboard.Mock.blackhole_port(mock)
      {:error, :timeout} = :gen_tcp.connect({127, 0, 0, 1}, port, [], 300)
  """
  @spec blackhole_port(t()) :: :inet.port_number()
  def blackhole_port(%__MODULE__{} = mock) do
    case http(mock, "POST", "/_mock/blackhole", "") do
      {:ok, 200, body} -> Map.fetch!(:erlang.binary_to_term(body, [:safe]), "port")
      other -> raise "switchboard_mock blackhole failed: #{inspect(other)}"
    end
  end

  @doc """
  Lets the mock's Google token endpoint accept assertions signed by a
  service account. `service_account` is the account's key as a map (or its
  JSON text) with `"client_email"` and `"private_key"` (a PEM private key;
  only its public half is kept), or `"client_email"` and `"public_key"` (a
  PEM public key or certificate). Keys are server-wide, by email. Returns
  the email.

  The token endpoint is any `POST …/token` under a scenario, e.g.
  `base_url(mock, "auth") <> "/token"` as a service account's `token_uri`.
  It checks an assertion as Google does (RS256 signature by the registered
  key, audience `https://oauth2.googleapis.com/token`, `iat`/`exp` at most an
  hour apart and around now, the cloud-platform scope) and answers
  `%{"access_token" => "ya29.mock-<n>", "expires_in" => 3599, ...}`, `n`
  counting the scenario's token requests, or Google's OAuth error
  (`invalid_grant`, ...). Refresh-token grants need `client_id`,
  `client_secret` and `refresh_token`. The same scenario also serves the
  GCE metadata server under `/computeMetadata/v1/` (with `Metadata-Flavor:
  Google`): point `GCE_METADATA_HOST` at `"127.0.0.1:PORT/s/<scenario>"`.

  ## Examples

      "sa@test.iam.gserviceaccount.com" =
        Switchboard.Mock.add_google_key(mock, %{
          "client_email" => "sa@test.iam.gserviceaccount.com",
          "private_key" => pem
        })
  """
  @spec add_google_key(t(), map() | String.t()) :: String.t()
  def add_google_key(%__MODULE__{} = mock, service_account)
      when is_map(service_account) or is_binary(service_account) do
    case http(mock, "POST", "/_mock/google_keys", :erlang.term_to_binary(service_account)) do
      {:ok, 200, body} ->
        Map.fetch!(:erlang.binary_to_term(body, [:safe]), "client_email")

      {:ok, status, body} ->
        raise ArgumentError, "switchboard_mock rejected the key (#{status}): #{body}"

      {:error, reason} ->
        raise "switchboard_mock unreachable: #{inspect(reason)}"
    end
  end

  @doc """
  Reads a JSON file (e.g. a conformance cassette) through the mock and returns
  it as a term: objects become maps with binary keys, arrays lists, strings
  binaries, `null` `nil`. Lets tests read JSON without a JSON library.

  ## Examples

      cassette = Switchboard.Mock.read_json(mock, "/path/to/basic.json")
      cassette["response"]["body"]["usage"]["input_tokens"]
  """
  @spec read_json(t(), Path.t()) :: term()
  def read_json(%__MODULE__{} = mock, path) do
    get_term!(mock, "/_mock/cassette?path=" <> URI.encode_www_form(Path.expand(path)))
  end

  @doc """
  Reads a recorded server-sent-events body (a raw `.sse`/`.txt` file, or a
  cassette's chunks joined) into its events, each
  `%{"event" => name | nil, "data" => raw_data, "json" => decoded | nil}`,
  so a test can compute what a stream should decode to.

      events = Switchboard.Mock.read_sse_events(mock, "/path/to/stream.sse")
  """
  @spec read_sse_events(t(), Path.t()) :: [map()]
  def read_sse_events(%__MODULE__{} = mock, path) do
    get_term!(mock, "/_mock/sse_events?path=" <> URI.encode_www_form(Path.expand(path)))
  end

  ## GenServer: owns the Port

  @impl true
  def init({owner, path, opts}) do
    owner_ref = Process.monitor(owner)
    port = Port.open({:spawn_executable, path}, port_options(opts))

    os_pid =
      case Port.info(port, :os_pid) do
        {:os_pid, os_pid} -> os_pid
        _ -> nil
      end

    case await_listening(port, System.monotonic_time(:millisecond) + @start_timeout) do
      {:ok, tcp_port} ->
        mock = %__MODULE__{
          port: tcp_port,
          url: "http://127.0.0.1:#{tcp_port}",
          os_pid: os_pid,
          pid: self()
        }

        {:ok, %{port: port, mock: mock, owner_ref: owner_ref}}

      {:error, reason} ->
        close_port(port)
        {:stop, reason}
    end
  end

  @impl true
  def handle_call(:info, _from, state), do: {:reply, state.mock, state}

  @impl true
  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    {:stop, {:mock_exited, status}, %{state | port: nil}}
  end

  def handle_info({:DOWN, ref, :process, _, _}, %{owner_ref: ref} = state) do
    {:stop, :normal, state}
  end

  def handle_info(_message, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{port: port}) do
    # Closing the Port closes the mock's stdin, on which it exits.
    if port, do: close_port(port)
    :ok
  end

  defp port_options(opts) do
    args =
      ["--port", Integer.to_string(Keyword.get(opts, :port, 0))] ++
        case Keyword.fetch(opts, :max_records) do
          {:ok, n} when is_integer(n) and n >= 0 -> ["--max-records", Integer.to_string(n)]
          _ -> []
        end

    [:binary, :exit_status, {:line, 1024}, args: args]
  end

  defp await_listening(port, deadline) do
    timeout = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {^port, {:data, {:eol, @listening <> address}}} ->
        case address |> String.split(":") |> List.last() |> Integer.parse() do
          {tcp_port, ""} -> {:ok, tcp_port}
          _ -> {:error, {:bad_listening_line, address}}
        end

      {^port, {:data, _other_output}} ->
        await_listening(port, deadline)

      {^port, {:exit_status, status}} ->
        {:error, {:mock_exited, status}}
    after
      timeout -> {:error, :timeout}
    end
  end

  defp close_port(port) do
    Port.close(port)
  rescue
    ArgumentError -> :ok
  end

  defp executable(opts) do
    path = Keyword.get(opts, :path) || System.get_env("SWITCHBOARD_MOCK_PATH") || default_path()

    if is_binary(path) and File.regular?(path) do
      {:ok, path}
    else
      {:error,
       {:missing_executable,
        "switchboard_mock executable not found at #{inspect(path)}; run `mix compile` " <>
          "(it builds native/switchboard_mock with cargo and copies it to priv/native/), " <>
          "or pass `path:` / set SWITCHBOARD_MOCK_PATH"}}
    end
  end

  defp default_path do
    Application.app_dir(:switchboard, "priv/native/switchboard_mock")
  rescue
    ArgumentError ->
      case :code.priv_dir(:switchboard) do
        {:error, _} -> nil
        dir -> Path.join(to_string(dir), "native/switchboard_mock")
      end
  end

  defp check_scenario!(scenario) do
    scenario = to_string(scenario)

    if scenario =~ ~r/\A[A-Za-z0-9_.\-]+\z/ do
      scenario
    else
      raise ArgumentError,
            "invalid scenario id #{inspect(scenario)}: use letters, digits, `_`, `.` and `-`"
    end
  end

  ## A minimal HTTP/1.1 client over :gen_tcp (no :inets needed)

  defp get_term!(mock, path) do
    case http(mock, "GET", path, "") do
      {:ok, 200, body} -> :erlang.binary_to_term(body, [:safe])
      {:ok, status, body} -> raise "switchboard_mock GET #{path} failed (#{status}): #{body}"
      {:error, reason} -> raise "switchboard_mock unreachable: #{inspect(reason)}"
    end
  end

  defp http(%__MODULE__{port: port}, method, path, body) do
    opts = [:binary, active: false, packet: :raw, nodelay: true]

    with {:ok, socket} <- :gen_tcp.connect({127, 0, 0, 1}, port, opts, @http_timeout) do
      request = [
        method,
        " ",
        path,
        " HTTP/1.1\r\nhost: 127.0.0.1:",
        Integer.to_string(port),
        "\r\ncontent-type: application/x-erlang-binary\r\ncontent-length: ",
        Integer.to_string(byte_size(body)),
        "\r\nconnection: close\r\n\r\n",
        body
      ]

      result =
        with :ok <- :gen_tcp.send(socket, request),
             {:ok, raw} <- recv_all(socket, []) do
          parse_response(raw)
        end

      :gen_tcp.close(socket)
      result
    end
  end

  # The server closes the connection after the response (connection: close).
  defp recv_all(socket, acc) do
    case :gen_tcp.recv(socket, 0, @http_timeout) do
      {:ok, data} -> recv_all(socket, [acc | data])
      {:error, :closed} -> {:ok, IO.iodata_to_binary(acc)}
      {:error, reason} -> {:error, reason}
    end
  end

  defp parse_response(raw) do
    with [head, body] <- :binary.split(raw, "\r\n\r\n"),
         ["HTTP/1.1 " <> status_line | _headers] <- String.split(head, "\r\n"),
         {status, _} <- Integer.parse(status_line) do
      {:ok, status, body}
    else
      _ -> {:error, {:bad_response, raw}}
    end
  end
end
