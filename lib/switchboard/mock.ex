defmodule Switchboard.Mock do
  @moduledoc """
  A scriptable mock LLM provider server for your tests (and Switchboard's
  own tests, demos and benchmarks).

  It runs the `switchboard_mock` executable as a Port and speaks every
  provider's real wire format over real HTTP on loopback, streaming and not:
  OpenAI Chat Completions and Responses, Azure OpenAI, Ollama, OpenRouter,
  Anthropic Messages, Gemini, Vertex AI (Gemini and Claude), AWS Bedrock
  Converse (SigV4 checked, see `configure_aws/3`), Google's OAuth token
  endpoint and metadata server (see `add_google_key/2`), and the AWS
  credential endpoints. It plays scripted faults: error statuses with the
  providers' own error bodies, delays, dropped connections, truncated bodies,
  stalled or broken streams, byte-split streams and replays of recorded
  traffic.

  ## In your tests

      # test/test_helper.exs
      {:ok, _} = Switchboard.Mock.start(name: MyApp.Mock)
      ExUnit.start()

      # or per test module
      setup do
        mock = start_supervised!({Switchboard.Mock, root: "test/fixtures"})
        %{mock: mock}
      end

      test "falls back when the primary is overloaded", %{mock: mock} do
        :ok = Switchboard.Mock.script(mock, "primary", [%{status: 529}])
        :ok = Switchboard.Mock.script(mock, "backup", [%{content: "hi"}])
        # point clients at base_url(mock, scenario, provider) ...
      end

  Every function takes the mock as the `%Switchboard.Mock{}` that `start/1`
  returns, or as the pid or registered name of one started with
  `start_link/1` (`start_supervised/1`, a supervisor's child).

  ## Scenarios and paths

  Each scenario is a path prefix, `/s/<scenario>`, isolated from the others.
  `base_url(mock, scenario, provider)` is the exact value for a client's
  `base_url` (`endpoint_url` for `aws-bedrock`). Each scenario has a queue of
  steps (`script/3`); each provider request pops one step, or gets the
  default success (`"Hello from switchboard_mock."`, 12 input and 8 output
  tokens) once the queue is empty. Every request is recorded and can be read
  back with `requests/2`.

  The mock answers only on each provider's real paths, so a wrong `base_url`
  fails in a test as it would in production: any other path is a 404 (a
  served path with another method a 405) whose message lists the paths
  served and the likely mistake, and which a client reports as
  `%Switchboard.Error{kind: :not_found}`. Such requests are recorded but use
  no step.

  For `media_url_handler` tests it also serves media files, `GET
  base_url(mock, scenario) <> "/media/<name>?<query>"`, shaped by the query:
  `type=` the `Content-Type` (none when absent), `body=` the body (default
  `media:<name>`), `file=` a file under the root instead, `size=n` n bytes,
  `status=n` that status, `redirect=n` a chain of n redirects, `stall=1` a
  body that stops after its first byte. They are recorded (path
  `/media/<name>`) and use no step.

      {:ok, mock} = Switchboard.Mock.start()
      :ok = Switchboard.Mock.script(mock, "retry", [%{status: 500}, %{content: "hi"}])
      Switchboard.Mock.base_url(mock, "retry", "openai")
      #=> "http://127.0.0.1:41234/s/retry/v1"
      [first, second] = Switchboard.Mock.requests(mock, "retry")
      first["outcome"] #=> "completed"

  ## Files

  Replay steps (`:replay_cassette`, `:replay_file`), `read_json/2` and
  `read_sse_events/2` read files only under the folder given as `:root` when
  the mock starts: a path is relative to it, or absolute inside it once
  symlinks are followed; a path with `..` is refused. Without a root no file
  is read, and the error says how to name one.

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
    * `:corrupt_at` - flip every bit of this byte of the body (counted over
      the whole body): a Bedrock event stream then fails its CRC, JSON its
      parse.
    * `:endless` - send the head, then filler for ever: blanks at full speed
      for a JSON answer (a client stops at its size limit), SSE comment lines
      for a stream (no event, so only a timeout ends it).
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
    * Replay (files under the root, see above): `:replay_cassette` (a
      req_llm cassette), `:replay_file` (raw body, default
      `text/event-stream`), `:replay_chunks_b64` (no file).
    * `:repeat` - answer this many requests with the step; `-1` for ever.

  ## Request records

  `requests/2` returns maps with binary keys: `"method"`, `"version"`
  (`"HTTP/1.1"` or `"HTTP/2.0"`; the mock also speaks cleartext HTTP/2), `"connection"`
  (which accepted connection carried it, numbered from 1), `"path"` (without
  the `/s/<scenario>` prefix), `"query"` (`""` when absent), `"headers"` (a
  list of `{name, value}` tuples, lowercased names, in arrival order),
  `"body"` (raw binary), `"json"` (decoded body with binary keys, or `nil`),
  `"status"` (status sent, or `nil`), `"outcome"` (`"pending"`, `"completed"`,
  `"client_disconnected"` or `"dropped"`), `"received_at_us"` and
  `"finished_at_us"` (microseconds on the mock's monotonic clock, or `nil`).

  ## Lifetime

  A mock from `start/1` stays up until `stop/1` or until its `:owner` (the
  caller by default) exits; one from `start_link/1` lives as long as it is
  linked, like any child. The OS process exits as soon as its Port closes.

  ## The executable

  Switchboard's own `mix compile` builds `switchboard_mock` (with cargo)
  into `priv/native/`. An application that depends on Switchboard builds it
  only when it asks, with `config :switchboard, build_mock: true` in its
  config (e.g. `config/test.exs`); `SWITCHBOARD_MOCK_PATH` or the `:path`
  option names an executable built elsewhere.
  """

  use GenServer

  @enforce_keys [:port, :url, :os_pid, :pid]
  defstruct [:port, :url, :os_pid, :pid, :root]

  @typedoc "A running mock server, as `start/1` returns it."
  @type t :: %__MODULE__{
          port: :inet.port_number(),
          url: String.t(),
          os_pid: non_neg_integer() | nil,
          pid: pid(),
          root: String.t() | nil
        }

  @typedoc "A mock: the struct, or the pid or name of a mock process."
  @type mock :: t() | GenServer.server()

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

  # What each provider's client appends to its base_url is the path the
  # mock serves; this is the part before it.
  @base_paths %{
    "openai" => "/v1",
    "baml-openai-chat" => "/v1",
    "openai-generic" => "/v1",
    "openai-responses" => "/v1",
    "ollama" => "/v1",
    "baml-ollama-chat" => "/v1",
    "openrouter" => "/api/v1",
    "azure-openai" => "/openai/deployments/mock",
    "baml-azure-chat" => "/openai/deployments/mock",
    "anthropic" => "",
    "baml-anthropic-chat" => "",
    "google-ai" => "/v1beta",
    "vertex-ai" => "/v1",
    "aws-bedrock" => ""
  }

  @doc """
  Starts a mock server on an ephemeral loopback port, owned by the caller
  (or `:owner`): it stops when that process exits.

  Options:

    * `:root` - the folder replay steps, `read_json/2` and
      `read_sse_events/2` may read files from (relative to the current
      directory); without it no file is read.
    * `:name` - registers the mock process under this name, so every
      function takes the name.
    * `:path` - the `switchboard_mock` executable; defaults to
      `$SWITCHBOARD_MOCK_PATH`, then `priv/native/switchboard_mock` of the
      `:switchboard` application.
    * `:port` - TCP port to listen on (default `0`, any free port).
    * `:max_records` - requests recorded per scenario (default 100 000);
      later requests are served but not recorded.
    * `:owner` - the process whose exit stops the mock (default `self()`).

  Fails with `{:error, {:missing_executable, message}}` or
  `{:error, {:invalid_root, message}}`, the message saying what to do.

  ## Examples

      {:ok, mock} = Switchboard.Mock.start(root: "test/fixtures")
      mock.url #=> "http://127.0.0.1:41234"
  """
  @spec start(keyword()) :: {:ok, t()} | {:error, term()}
  def start(opts \\ []) when is_list(opts) do
    owner = Keyword.get(opts, :owner, self())

    with {:ok, args} <- prepare(opts),
         {:ok, pid} <-
           GenServer.start(__MODULE__, {owner, args}, server_options(opts)) do
      {:ok, GenServer.call(pid, :info)}
    end
  end

  @doc """
  Like `start/1` but raises on failure.

  ## Examples

      mock = Switchboard.Mock.start!(root: "test/fixtures")
  """
  @spec start!(keyword()) :: t()
  def start!(opts \\ []) do
    case start(opts) do
      {:ok, mock} -> mock
      {:error, {kind, message}} when kind in [:missing_executable, :invalid_root] -> raise message
      {:error, reason} -> raise "could not start switchboard_mock: #{inspect(reason)}"
    end
  end

  @doc """
  Starts a mock linked to the caller, for supervision trees and
  `start_supervised/1`. Takes the options of `start/1` except `:owner`;
  returns the mock process's pid, which every function accepts (as it
  accepts the `:name`).

  ## Examples

      {:ok, pid} = Switchboard.Mock.start_link(name: MyApp.Mock, root: "test/fixtures")
      Switchboard.Mock.base_url(MyApp.Mock, "s1", "anthropic")
  """
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts \\ []) when is_list(opts) do
    with {:ok, args} <- prepare(opts) do
      GenServer.start_link(__MODULE__, {nil, args}, server_options(opts))
    end
  end

  @doc """
  The child spec of `start_link/1`: `{Switchboard.Mock, opts}` as a child
  or in `start_supervised/1`. Its id is the `:name` when given, so mocks
  with different names can run side by side.

  ## Examples

      children = [{Switchboard.Mock, name: MyApp.Mock, root: "test/fixtures"}]
      Supervisor.start_link(children, strategy: :one_for_one)

      mock = start_supervised!({Switchboard.Mock, root: "test/fixtures"})
  """
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts) when is_list(opts) do
    %{id: Keyword.get(opts, :name, __MODULE__), start: {__MODULE__, :start_link, [opts]}}
  end

  @doc """
  The running mock as a struct (port, URL, OS pid, root), from its pid or
  name.

  ## Examples

      %Switchboard.Mock{url: url} = Switchboard.Mock.info(MyApp.Mock)
  """
  @spec info(mock()) :: t()
  def info(%__MODULE__{} = mock), do: mock
  def info(server), do: GenServer.call(server, :info)

  @doc """
  Stops the server. Returns `:ok` even if it already stopped. A supervised
  mock is stopped by its supervisor instead (`stop_supervised/1` in tests),
  which would otherwise start it again.

  ## Examples

      :ok = Switchboard.Mock.stop(mock)
  """
  @spec stop(mock()) :: :ok
  def stop(%__MODULE__{pid: pid}), do: stop(pid)

  def stop(server) do
    GenServer.stop(server, :normal)
  catch
    :exit, _ -> :ok
  end

  @doc """
  The scenario's root URL, `http://127.0.0.1:PORT/s/<scenario>`. Clients
  need more (OpenAI-style ones `/v1`): see `base_url/3`.

  ## Examples

      Switchboard.Mock.base_url(mock, "fallback_test")
      #=> "http://127.0.0.1:41234/s/fallback_test"
  """
  @spec base_url(mock(), scenario()) :: String.t()
  def base_url(mock, scenario) do
    info(mock).url <> "/s/" <> check_scenario!(scenario)
  end

  @doc """
  The exact value of a `provider` client's `base_url` option (`endpoint_url`
  for `aws-bedrock`) that sends its requests to `scenario`: the scenario's
  root plus what the provider's real base URL has before the path the
  client appends (`/v1` for OpenAI, `/api/v1` for OpenRouter, `/v1beta` for
  Google AI, an `/openai/deployments/mock` deployment for Azure, nothing for
  Anthropic and Bedrock). The `baml-` aliases are accepted. Raises
  `ArgumentError` naming the known providers for any other name.

  ## Examples

      Switchboard.Mock.base_url(mock, "s1", "openai")
      #=> "http://127.0.0.1:41234/s/s1/v1"
      Switchboard.Mock.base_url(mock, "s1", "google-ai")
      #=> "http://127.0.0.1:41234/s/s1/v1beta"

      %{name: "Claude", provider: "anthropic",
        options: %{model: "claude-haiku-4-5", api_key: "test",
                   base_url: Switchboard.Mock.base_url(mock, "s1", "anthropic")}}
  """
  @spec base_url(mock(), scenario(), String.t() | atom()) :: String.t()
  def base_url(mock, scenario, provider) do
    case Map.fetch(@base_paths, to_string(provider)) do
      {:ok, path} ->
        base_url(mock, scenario) <> path

      :error ->
        raise ArgumentError,
              "Switchboard.Mock.base_url/3: unknown provider #{inspect(provider)}; known: " <>
                Enum.join(Enum.sort(Map.keys(@base_paths)), ", ")
    end
  end

  @doc """
  Replaces the scenario's step queue and clears its recorded requests.

  Raises `ArgumentError` if the server rejects a step (unknown key, wrong
  type, unreadable replay file).

  Options:

    * `:cycle` - when `true`, the queue starts again from its first step
      once its last is used: an endless script with faults at a fixed rate
      (default `false`: once the queue is used up, requests get the default
      success)

  ## Examples

      :ok = Switchboard.Mock.script(mock, "s1", [
        %{status: 429, headers: %{"retry-after" => "1"}},
        %{content: "recovered", chunks: 3}
      ])

      # One answer in twenty is a 500, for ever.
      :ok = Switchboard.Mock.script(mock, "soak", [%{repeat: 19}, %{status: 500}], cycle: true)
  """
  @spec script(mock(), scenario(), [step()], keyword()) :: :ok
  def script(mock, scenario, steps, opts \\ []) when is_list(steps) and is_list(opts) do
    path = "/_mock/scenarios/" <> check_scenario!(scenario)

    body =
      case Keyword.get(opts, :cycle, false) do
        false -> steps
        true -> %{"steps" => steps, "cycle" => true}
      end

    case http(mock, "PUT", path, :erlang.term_to_binary(body)) do
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
  credential fetches first), `:credential_body` (what those failed fetches
  answer instead of the endpoint's own error; with `credential_status: 200`
  an answer that is garbage), `:role_name`, `:web_identity_token`,
  `:container_authorization`, `:verify` (default `true`).

  ## Examples

      :ok = Switchboard.Mock.configure_aws(mock, "bedrock", %{
        credentials: [%{access_key_id: "AKIDEXAMPLE", secret_access_key: "secret"}],
        region: "us-east-1"
      })
  """
  @spec configure_aws(mock(), scenario(), map()) :: :ok
  def configure_aws(mock, scenario, config) when is_map(config) do
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
  @spec aws_report(mock(), scenario()) :: map()
  def aws_report(mock, scenario) do
    get_term!(mock, "/_mock/scenarios/" <> check_scenario!(scenario) <> "/aws")
  end

  @doc """
  The scenario's recorded requests, oldest first.

  ## Examples

      [%{"path" => "/v1/chat/completions", "json" => %{"model" => model}}] =
        Switchboard.Mock.requests(mock, "s1")
  """
  @spec requests(mock(), scenario()) :: [request()]
  def requests(mock, scenario) do
    mock
    |> get_term!("/_mock/scenarios/" <> check_scenario!(scenario) <> "/requests")
  end

  @doc """
  The scenario's request counts: `"in_flight"` (being answered now),
  `"peak_in_flight"` (the most answered at once) and `"requests"` (how
  many arrived), all since the scenario was last scripted; zeros for a
  scenario never used. A request is in flight from its arrival until its
  response is complete (its last byte handed to the connection), dropped,
  or abandoned by the client: what a test of a client-side concurrency
  limit reads.

  ## Examples

      %{"peak_in_flight" => peak, "requests" => 1000} = Switchboard.Mock.stats(mock, "s1")
  """
  @spec stats(mock(), scenario()) :: %{String.t() => non_neg_integer()}
  def stats(mock, scenario) do
    get_term!(mock, "/_mock/scenarios/" <> check_scenario!(scenario) <> "/stats")
  end

  @doc """
  Forgets a scenario: its queue and its recorded requests.

  ## Examples

      :ok = Switchboard.Mock.reset(mock, "s1")
  """
  @spec reset(mock(), scenario()) :: :ok
  def reset(mock, scenario) do
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
  @spec await_outcome(mock(), scenario(), non_neg_integer(), outcome(), non_neg_integer()) ::
          :ok | {:error, String.t() | nil}
  def await_outcome(mock, scenario, index, outcome, timeout_ms \\ 1_000)
      when is_integer(index) and index >= 0 and is_integer(timeout_ms) do
    deadline = System.monotonic_time(:millisecond) + timeout_ms
    poll_outcome(info(mock), scenario, index, to_string(outcome), deadline)
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
  @spec blackhole_port(mock()) :: :inet.port_number()
  def blackhole_port(mock) do
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
  @spec add_google_key(mock(), map() | String.t()) :: String.t()
  def add_google_key(mock, service_account)
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
  Reads a JSON file under the mock's root (e.g. a recorded cassette) and
  returns it as a term: objects become maps with binary keys, arrays lists,
  strings binaries, `null` `nil`. Lets tests read JSON without a JSON
  library. `path` is relative to the root, or absolute inside it; a file
  outside it raises.

  ## Examples

      mock = Switchboard.Mock.start!(root: "test/fixtures")
      cassette = Switchboard.Mock.read_json(mock, "anthropic/basic.json")
      cassette["response"]["body"]["usage"]["input_tokens"]
  """
  @spec read_json(mock(), Path.t()) :: term()
  def read_json(mock, path) do
    get_term!(mock, "/_mock/cassette?path=" <> URI.encode_www_form(to_string(path)))
  end

  @doc """
  Reads a recorded server-sent-events body under the mock's root (a raw
  `.sse`/`.txt` file, or a cassette's chunks joined) into its events, each
  `%{"event" => name | nil, "data" => raw_data, "json" => decoded | nil}`,
  so a test can compute what a stream should decode to.

  ## Examples

      events = Switchboard.Mock.read_sse_events(mock, "openai/stream.sse")
  """
  @spec read_sse_events(mock(), Path.t()) :: [map()]
  def read_sse_events(mock, path) do
    get_term!(mock, "/_mock/sse_events?path=" <> URI.encode_www_form(to_string(path)))
  end

  @doc """
  Decodes a JSON text into a term, as `read_json/2` does, without a file.
  Raises `ArgumentError` if the text is not JSON.

  ## Examples

      %{"a" => [1, nil]} = Switchboard.Mock.decode_json(mock, ~s({"a": [1, null]}))
  """
  @spec decode_json(mock(), iodata()) :: term()
  def decode_json(mock, text) do
    case http(mock, "POST", "/_mock/json", IO.iodata_to_binary(text)) do
      {:ok, 200, body} -> :erlang.binary_to_term(body, [:safe])
      {:ok, 400, message} -> raise ArgumentError, message
      other -> raise "switchboard_mock decode_json failed: #{inspect(other)}"
    end
  end

  ## GenServer: owns the Port

  @impl true
  def init({owner, %{path: path, args: args, root: root}}) do
    owner_ref = if owner, do: Process.monitor(owner)

    port =
      Port.open({:spawn_executable, path}, [:binary, :exit_status, {:line, 1024}, args: args])

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
          pid: self(),
          root: root
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

  defp server_options(opts) do
    timeout = [timeout: @start_timeout + 1_000]

    case Keyword.fetch(opts, :name) do
      {:ok, name} -> [name: name] ++ timeout
      :error -> timeout
    end
  end

  # Everything that can fail before a process is spawned, with a message
  # that says what to do.
  defp prepare(opts) do
    with {:ok, path} <- executable(opts),
         {:ok, root} <- root(opts[:root]) do
      args =
        ["--port", Integer.to_string(Keyword.get(opts, :port, 0))] ++
          case Keyword.fetch(opts, :max_records) do
            {:ok, n} when is_integer(n) and n >= 0 -> ["--max-records", Integer.to_string(n)]
            _ -> []
          end ++
          if(root, do: ["--root", root], else: [])

      {:ok, %{path: path, args: args, root: root}}
    end
  end

  defp root(nil), do: {:ok, nil}

  defp root(dir) do
    dir = Path.expand(to_string(dir))

    if File.dir?(dir) do
      {:ok, dir}
    else
      {:error, {:invalid_root, "switchboard_mock root #{inspect(dir)} is not a folder"}}
    end
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
        "switchboard_mock executable not found at #{inspect(path)}. An application that " <>
          "depends on Switchboard builds it only when asked: add " <>
          "`config :switchboard, build_mock: true` to its config (e.g. config/test.exs) " <>
          "and recompile the dependency (`MIX_ENV=test mix deps.compile switchboard`); " <>
          "or set SWITCHBOARD_MOCK_PATH (or pass `path:`) to a switchboard_mock built " <>
          "elsewhere. In Switchboard's own checkout, `mix compile` builds it into priv/native/."}}
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

  defp http(mock, method, path, body) do
    %__MODULE__{port: port} = info(mock)
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
