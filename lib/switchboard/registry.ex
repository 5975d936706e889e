defmodule Switchboard.Registry do
  @moduledoc """
  A validated set of LLM clients, built once and shared by every call.

  The config is the `client_registry` map BAML-based tools such as Beamlens
  write, with atom or string keys:

      %{
        primary: "PrimaryWithFallback",
        clients: [
          %{name: "Primary", provider: "anthropic",
            options: %{model: "claude-haiku-4-5-20251001"}, retry_policy: "DefaultRetry"},
          %{name: "Backup", provider: "openai", options: %{model: "gpt-4o-mini"}},
          %{name: "PrimaryWithFallback", provider: "fallback",
            options: %{strategy: ["Primary", "Backup"]}}
        ],
        retry_policies: %{
          "Patient" => %{max_retries: 5, strategy: %{type: "exponential_backoff", delay_ms: 500}}
        }
      }

  `clients` may also be a map of name => client. A name of the form
  `provider/model` (e.g. `"openai/gpt-4o-mini"`) used in a strategy, as the
  primary or in a call's `client:` option is a client with only that model
  set. Without `primary`, a registry of one client uses that client.

  ## Providers and options

  Leaf providers: `"openai"`, `"openai-generic"`, `"azure-openai"`,
  `"ollama"`, `"openrouter"`, `"openai-responses"` (OpenAI's Responses
  API, `POST {base_url}/responses`), `"anthropic"`, `"google-ai"`,
  `"vertex-ai"`, `"aws-bedrock"` (and the `baml-` aliases). Strategies: `"fallback"`
  (`strategy`) and `"round-robin"` (`strategy`, `start`; its entries may be
  `%{client: name, weight: n}` maps beside names, weights from 1 to 1000,
  spread in smooth weighted order). Option names and
  defaults follow BAML's documentation:

    * `model` - required except for `openai-generic`, `azure-openai` and
      `google-ai` (default `"gemini-2.5-flash"`)
    * `api_key` - defaults to the provider's variable (`OPENAI_API_KEY`
      for `openai` and `openai-responses`, `ANTHROPIC_API_KEY`,
      `OPENROUTER_API_KEY`, `AZURE_OPENAI_API_KEY`, `GOOGLE_API_KEY`), read
      when each call is made; `google-ai` sends it as the `x-goog-api-key`
      header
    * `vertex-ai` - `location` (required; `"global"` or a region),
      `project_id` (else the credentials' project or `GOOGLE_CLOUD_PROJECT`),
      `credentials` (a service-account or `authorized_user` file's path, its
      JSON text, or the map; else `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
      application default credentials, the GCE metadata server),
      `credentials_content` (JSON text), `query_params: %{key: ...}` (Express
      mode, with `project_id`), `anthropic_version` (Claude models, default
      `"vertex-2023-10-16"`). OAuth tokens are cached, fetched once for
      all concurrent calls and shared by the clients with the same
      credentials (see "What a rebuild keeps")
    * `base_url` - required for `openai-generic`; `azure-openai` (alias
      `"openai/azure"`) takes `base_url`, `resource_name` + `deployment_id`,
      or `endpoint` (the resource's URL) + `deployment_id`, plus `api_version`
    * `headers`, `query_params` - maps of string => string. Values of
      credential headers (`authorization`, `x-api-key`, `*-key`, `*-token`,
      ...) are treated as secrets; a header named like the provider's own
      key header (`authorization`, `x-api-key`, `api-key`) replaces the key.
      `content-length`, `transfer-encoding` and `host` cannot be set.
    * `http` - `connect_timeout_ms` (10 000), `request_timeout_ms` (300 000),
      `time_to_first_token_timeout_ms`, `idle_timeout_ms`; 0 disables one.
      `http2_prior_knowledge: true` speaks HTTP/2 to an `http://` server
      without negotiation (h2c), so all calls share one connection;
      `https://` servers negotiate HTTP/2 by themselves. On fallback and
      round-robin clients, `http` takes only `total_timeout_ms`.
    * `finish_reason_allow_list` / `finish_reason_deny_list`
    * anything else (`temperature`, `max_tokens`, `tools`, ...) is sent in
      the request body as given. Anthropic's `max_tokens` defaults to 4096
      (also for Claude on Vertex). For `openai-responses` (`reasoning`,
      `text`, `store`, `max_output_tokens`, ...) a `max_tokens`, in the
      registry or in a call's `options:`, is sent as `max_output_tokens`,
      so one call option limits the answer with every provider; an
      explicit `max_output_tokens` beside it wins. For Gemini,
      `temperature`, `top_p` and `max_tokens` go into `generationConfig`
      (as `temperature`, `topP`, `maxOutputTokens`) and `model` into the URL.

  `"aws-bedrock"` (Converse and ConverseStream) reads its own options:

    * `model` (or `model_id`) - a model id, inference-profile id or ARN
    * `region` - else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
      `region`; none at all is a `:config` error when a call is made
    * `endpoint_url` - else `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, else
      `AWS_ENDPOINT_URL` (both ignored when
      `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true), else
      `https://bedrock-runtime.{region}.amazonaws.com`
    * `access_key_id`, `secret_access_key`, `session_token` - explicit keys,
      signed with SigV4; or the same three in a `credentials` map
    * `profile` - a profile of the shared config and credentials files
    * `api_key` - a Bedrock API key (`Authorization: Bearer`); without
      keys or a profile, `AWS_BEARER_TOKEN_BEDROCK` is used when set
    * otherwise the AWS default credential chain: environment variables,
      `AWS_PROFILE` and the shared files (with `credential_process` and
      SSO), web identity, container (ECS) and instance metadata (IMDSv2),
      resolved on the client's first call and cached until shortly before
      the credentials expire, one refresh for all concurrent calls
    * `inference_configuration` - `max_tokens`, `temperature`, `top_p`,
      `stop_sequences`, sent as `inferenceConfig`; the same settings at the
      top level or in a call's `options:` land there too
    * `additional_model_request_fields` - sent as `additionalModelRequestFields`
    * anything else (`guardrailConfig`, `toolConfig`, ...) is sent as given

  Circuit breakers and limits, per leaf client, all off by default (see
  "Circuit breakers and limits" below):

    * `circuit_breaker` - `%{failure_threshold: 5, window_ms: 60_000,
      cooldown_ms: 30_000, probe_timeout_ms: cooldown_ms, slow_call_ms:
      30_000}` (missing keys take these defaults; `true` takes them all),
      or `false` to opt out of the registry's default
    * `max_in_flight`, `requests_per_minute`, `tokens_per_minute` - positive
      integers

  Retry policies: `%{max_retries: n, strategy: %{type: "constant_delay", delay_ms: d}}`
  or `%{type: "exponential_backoff", delay_ms: d, multiplier: m, max_delay_ms: x}`.
  `initial_delay` and `max_delay` (milliseconds) are aliases of `delay_ms` and
  `max_delay_ms`. `"DefaultRetry"` is built in (3 retries, 200 ms x1.5, at most 10 s).

  Fallback and round-robin clients may nest up to 32 levels deep.

  All of it is checked by `new/1`; every error names the client and the option.
  `inspect/1` shows client names only, never options, so keys stay out of logs.

  ## Circuit breakers and limits

  A leaf client with `circuit_breaker` counts its failures that the retry
  rules repeat (rate limits, overload, 5xx, timeouts, network errors, bad
  responses; not a 400, 401 or a rejected finish reason, not a
  cancellation). `failure_threshold` of them
  within `window_ms` open its circuit for `cooldown_ms`: each attempt of the
  client then fails at once, with no HTTP, as an attempt with kind
  `:circuit_open` (`retry_after_ms` says for how long), which the client's
  own retry policy does not repeat, so a fallback moves on to its next
  client at once, and so does a round-robin (at most one pass over its
  clients, with or without a retry policy). After the cooldown exactly
  one call goes through (half-open; the others still get `:circuit_open`):
  an answer closes the circuit, a counted failure opens it again, a
  cancelled probe lets the next call probe. A probe still under way
  `probe_timeout_ms` later (default: one cooldown) no longer holds the
  circuit: the next call probes instead. The probe is chosen after a call has waited for the client's
  limits. An attempt cut short by the caller's `timeout:` (or a strategy's
  `total_timeout_ms`) counts as a failure only when none of its answer had
  come and it had waited at least `slow_call_ms` (default 30 s): a
  provider that hangs past every call's timeout still opens the circuit, a
  tight budget or a stream still under way does not. Answers do not erase counted failures; failures age out of the
  window. A 429 whose `Retry-After` is longer than the client's retry
  policy waits (`max_delay_ms`; 10 s without a policy) opens the circuit
  for that long, at most an hour (or `cooldown_ms` if longer).

  A default for every leaf that sets none sits beside `clients:`:

      %{circuit_breaker: %{failure_threshold: 3, cooldown_ms: 10_000},
        clients: [
          %{name: "Primary", provider: "anthropic", options: %{model: "claude-haiku-4-5-20251001"}},
          %{name: "Local", provider: "ollama", options: %{model: "llama3", circuit_breaker: false}}
        ]}

  Limits, per leaf client:

    * `max_in_flight: n` - at most `n` attempts of the client send or read
      at once
    * `requests_per_minute: n` - a token bucket: it holds `n` requests,
      starts full and gives one back every `60_000 / n` ms, so a burst may
      spend a minute's budget at once and the rate over time is `n` a minute
    * `tokens_per_minute: n` - a token bucket charged with each answer's
      `usage.total_tokens` once it arrives; an attempt starts while any
      budget is left and reserves what the client's recent answers used
      (a moving average) until its own usage replaces it, so calls waiting
      for the budget start as it allows; calls in flight together may
      still go over it by what they use beyond the average

  A call made to the client itself (`client:` it, or it is the primary)
  waits for a full limit, with no process and no scheduler time, within
  the call's `timeout:`: a `requests_per_minute` slot that comes later than
  that fails at once as `:rate_limited`, a `max_in_flight` slot not free by
  then fails as `:timeout`. A client reached through a fallback or
  round-robin does not wait: the attempt fails at once as `:rate_limited`
  with `status: nil` and a message naming the limit, not retried by the
  client's own policy, so the strategy moves on.

  Breakers and limits live in the client's state: shared by every call
  through the registry and the registries rebuilt or reloaded from it,
  while the client's name and options (and the registry's default breaker,
  for a client that uses it) are unchanged. `health/1` reads them.

  ## Named registries

  In an application, start the registry under your supervisor and call it
  by name from any process:

      children = [
        {Switchboard.Registry, name: MyApp.LLM, client_registry: %{primary: "Haiku", clients: [...]}}
      ]

      Switchboard.call(MyApp.LLM, "Hi")

  or read its config from the application environment, as `Ecto.Repo` does:

      defmodule MyApp.LLM do
        use Switchboard.Registry, otp_app: :my_app
      end

      # config/runtime.exs
      config :my_app, MyApp.LLM,
        client_registry: %{clients: [%{name: "Haiku", provider: "anthropic",
          options: %{model: "claude-haiku-4-5-20251001", api_key: System.fetch_env!("ANTHROPIC_API_KEY")}}]}

      # in the application's children
      children = [MyApp.LLM]

  Every function that takes a registry takes its name too. A call looks the
  name up in `:persistent_term` (written only when the registry starts, is
  reloaded or edited by name): no message to the registry's process, no
  lock.

  A config that is not valid fails the child's start with the error's
  message (naming the client and the option), so a misconfigured
  application stops at boot. `reload/2` swaps in a new config atomically:
  calls in flight finish on the config they started with, calls made after
  it returns use the new one.

  ## What a rebuild keeps

  `add_client/5`, `set_primary/2`, `add_retry_policy/3` and `reload/2` build
  a new registry from the old one; calls already running finish on the old
  one. What the clients learned while running is carried over:

    * a round-robin client keeps its position while its `strategy` and
      `start` are unchanged (the next call goes to the next client, not back
      to `start`); a changed `strategy` (weights included) or `start` starts over
    * Google OAuth tokens and AWS credentials (and the AWS chain) are kept,
      with no new fetch, while some client still uses the same credential,
      whatever else changed in its options; clients with the same service
      account, `authorized_user` token, or AWS `profile` and `region` on the
      default chain share one cache (one fetch, one refresh), and a
      rejection seen by one makes every one fetch anew
    * every other per-client state is kept while the client's name and
      options are unchanged; state no registry uses any more is freed once
      the calls on older registries have finished

  A registry made with `new/1` starts with nothing cached: only registries
  derived from one another share state. A `provider/model` client named in
  a call's `client:` is built on its first call and kept (the first 256
  names per registry), so its credentials are fetched once too. A rebuild
  does not read the credential environment again: what the AWS chain or
  Google's discovery found is kept until it expires or is rejected.
  """

  alias Switchboard.{Error, Native}
  alias Switchboard.Registry.Server

  @type config :: map()
  @typedoc "A registry handle, or the name of a registry started under a supervisor."
  @type registry :: t() | atom()
  @type t :: %__MODULE__{
          handle: reference(),
          name: atom() | nil,
          primary: String.t() | nil,
          clients: [String.t()]
        }

  @enforce_keys [:handle]
  defstruct [:handle, :name, :primary, clients: []]

  @doc """
  Builds a registry from a `client_registry` map.

      iex> {:ok, reg} = Switchboard.Registry.new(%{clients: [%{name: "A", provider: "openai", options: %{model: "gpt-4o-mini"}}]})
      iex> reg.primary
      "A"

      iex> {:error, %Switchboard.Error{kind: :config, message: message}} =
      ...>   Switchboard.Registry.new(%{clients: [%{name: "A", provider: "azure"}]})
      iex> String.starts_with?(message, ~s(client "A": unknown provider "azure"; did you mean "azure-openai"?))
      true
  """
  @spec new(config()) :: {:ok, t()} | {:error, Error.t()}
  def new(config) when is_map(config), do: wrap(Native.registry_new(config))

  def new(_config) do
    {:error, not_a_map()}
  end

  @doc """
  Like `new/1`, but raises `Switchboard.Error`.

      iex> reg = Switchboard.Registry.new!(%{clients: %{"A" => %{provider: "ollama", options: %{model: "llama3"}}}})
      iex> reg.clients
      ["A"]
  """
  @spec new!(config()) :: t()
  def new!(config), do: bang(new(config))

  @doc """
  Returns a new registry with the client added, or replaced if the name
  exists (as BAML's `add_llm_client` does). The whole registry is validated again.

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai", options: %{model: "gpt-4o"}}]})
      iex> {:ok, reg} = Switchboard.Registry.add_client(reg, "B", "anthropic", %{model: "claude-haiku-4-5-20251001"}, "DefaultRetry")
      iex> reg.clients
      ["A", "B"]

  Given the name of a running registry, the change is made to that
  registry (validated, then swapped in as `reload/2` does) and the new
  registry is returned. It lasts until the registry restarts, which
  builds it from its config again.
  """
  @spec add_client(registry(), String.t(), String.t(), map(), String.t() | nil) ::
          {:ok, t()} | {:error, Error.t()}
  def add_client(reg, name, provider, options \\ %{}, retry_policy \\ nil)
      when is_binary(name) and is_binary(provider) and is_map(options) and
             (is_binary(retry_policy) or is_nil(retry_policy)) do
    edit(
      reg,
      "add_client/5",
      &Native.registry_add_client(&1, name, provider, options, retry_policy)
    )
  end

  @doc """
  Returns a new registry whose primary client is `name`.

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai", options: %{model: "m"}}, %{name: "B", provider: "openai", options: %{model: "m"}}]})
      iex> {:ok, reg} = Switchboard.Registry.set_primary(reg, "B")
      iex> reg.primary
      "B"

  Given the name of a running registry, changes that registry, as
  `add_client/5` does.
  """
  @spec set_primary(registry(), String.t()) :: {:ok, t()} | {:error, Error.t()}
  def set_primary(reg, name) when is_binary(name) do
    edit(reg, "set_primary/2", &Native.registry_set_primary(&1, name))
  end

  @doc """
  Returns a new registry with the retry policy added (or replaced).

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai", options: %{model: "m"}}]})
      iex> {:ok, _reg} = Switchboard.Registry.add_retry_policy(reg, "Twice", %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 50}})

  Given the name of a running registry, changes that registry, as
  `add_client/5` does.
  """
  @spec add_retry_policy(registry(), String.t(), map()) :: {:ok, t()} | {:error, Error.t()}
  def add_retry_policy(reg, name, policy) when is_binary(name) and is_map(policy) do
    edit(reg, "add_retry_policy/3", &Native.registry_add_retry_policy(&1, name, policy))
  end

  # --- named registries -----------------------------------------------------

  @doc """
  A child spec for a named registry:

      children = [
        {Switchboard.Registry, name: MyApp.LLM, client_registry: %{clients: [...]}}
      ]

  Options:

    * `:name` (required) - an atom, the name calls use:
      `Switchboard.call(MyApp.LLM, prompt)`
    * `:client_registry` (required) - the config `new/1` takes, or a
      function of no arguments returning it, called each time the registry
      starts (a function keeps literal keys out of supervisor reports)

  The child's id is its name, so several registries can run side by side.
  """
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts) when is_list(opts) do
    {name, config} = start_options!(opts)

    %{
      id: name,
      start: {__MODULE__, :start_link, [[name: name, client_registry: config]]},
      type: :worker
    }
  end

  @doc """
  Starts a named registry linked to the caller; see `child_spec/1` for the
  options. Returns `{:error, {%Switchboard.Error{kind: :config}, _stacktrace}}`
  when the config is not valid.

      {:ok, _pid} = Switchboard.Registry.start_link(name: MyApp.LLM, client_registry: config)
      {:ok, response} = Switchboard.call(MyApp.LLM, "Hi")
  """
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts) when is_list(opts) do
    {name, config} = start_options!(opts)
    Server.start_link(name, config)
  end

  @doc """
  Validates `config` and, if it is valid, swaps it in for the named
  registry's current one; otherwise returns the `:config` error and keeps
  the registry as it was.

      :ok = Switchboard.Registry.reload(MyApp.LLM, %{clients: [...]})

      {:error, %Switchboard.Error{kind: :config}} =
        Switchboard.Registry.reload(MyApp.LLM, %{clients: [%{name: "A", provider: "nope"}]})

  Calls in flight finish on the config they started with; calls made after
  `reload/2` returns use the new one. Clients whose config is unchanged
  keep their state (round-robin positions, cached credentials; see "What a
  rebuild keeps" in the module docs). A reload lasts until the registry
  restarts, which builds it from its `:client_registry` again.
  """
  @spec reload(atom(), config()) :: :ok | {:error, Error.t()}
  def reload(name, config) when is_atom(name) and is_map(config) do
    with {:ok, _reg} <- update(name, "reload/2", &Native.registry_reload(&1, config)), do: :ok
  end

  def reload(name, _config) when is_atom(name) do
    {:error, not_a_map()}
  end

  @typedoc "A circuit: closed, open until a time (ms since the Unix epoch), or half-open."
  @type circuit :: :closed | {:open, until_ms :: non_neg_integer()} | :half_open

  @typedoc "One leaf client's state, as `health/1` reports it."
  @type client_health :: %{
          circuit: circuit(),
          recent_failures: non_neg_integer(),
          in_flight: non_neg_integer(),
          requests_available: integer() | nil,
          tokens_available: integer() | nil
        }

  @doc """
  Each leaf client's circuit and limits, for dashboards: a map of client
  name => state.

    * `circuit` - `:closed`, `{:open, until}` (refusing calls until
      `until`, in ms of `System.system_time(:millisecond)`) or `:half_open`
      (the cooldown is over: the next call, or the one under way, is the
      probe). Always `:closed` for a client without `circuit_breaker`.
    * `recent_failures` - failures the breaker counts within its window
    * `in_flight` - attempts sending or reading right now
    * `requests_available`, `tokens_available` - what is left of the
      `requests_per_minute` and `tokens_per_minute` budgets (negative while
      waiting calls have reserved more, or answers used more), `nil`
      without that limit

  Takes a registry or the name of a running one. Reading it waits on no call.

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai",
      ...>   options: %{model: "gpt-4o-mini", circuit_breaker: %{failure_threshold: 3}, requests_per_minute: 60}}]})
      iex> Switchboard.Registry.health(reg)
      %{"A" => %{circuit: :closed, recent_failures: 0, in_flight: 0, requests_available: 60, tokens_available: nil}}
  """
  @spec health(registry()) :: %{String.t() => client_health()}
  def health(reg) do
    %__MODULE__{handle: handle} = fetch!(reg, "Switchboard.Registry.health/1")
    Native.registry_health(handle)
  end

  @doc """
  The registry currently running under `name`, or `nil` if none is.

      %Switchboard.Registry{primary: primary} = Switchboard.Registry.whereis(MyApp.LLM)
  """
  @spec whereis(atom()) :: t() | nil
  def whereis(name) when is_atom(name), do: Server.lookup(name)

  @doc false
  # The handle of `reg`: the registry itself, or the one running under a
  # name. Raises ArgumentError for anything else, naming `fun`.
  @spec fetch!(registry(), String.t()) :: t()
  def fetch!(%__MODULE__{} = reg, _fun), do: reg

  def fetch!(name, fun) when is_atom(name) and not is_nil(name) do
    Server.lookup(name) || raise ArgumentError, not_running(name, fun)
  end

  # Changes the named registry, or raises as `fetch!/2` does.
  defp update(name, fun, change) do
    Server.update(name, change) ||
      raise ArgumentError, not_running(name, "Switchboard.Registry.#{fun}")
  end

  defp not_running(name, fun) do
    "#{fun}: no registry named #{inspect(name)} is running; start " <>
      "{Switchboard.Registry, name: #{inspect(name)}, client_registry: ...} " <>
      "(or a module that uses Switchboard.Registry) under a supervisor first"
  end

  defp not_a_map do
    %Error{kind: :config, message: "the registry config must be a map with :clients"}
  end

  defp start_options!(opts) do
    for {key, _} <- opts, key not in [:name, :client_registry] do
      raise ArgumentError,
            "Switchboard.Registry: unknown option #{inspect(key)} (accepted: :name, :client_registry)"
    end

    name = Keyword.get(opts, :name)
    config = Keyword.get(opts, :client_registry)

    unless is_atom(name) and name not in [nil, true, false] do
      raise ArgumentError,
            "Switchboard.Registry: the :name option must be an atom, such as MyApp.LLM"
    end

    unless is_map(config) or is_function(config, 0) do
      raise ArgumentError,
            "Switchboard.Registry #{inspect(name)}: the :client_registry option must be a " <>
              "config map (or a function of no arguments returning one)"
    end

    # Kept behind a function from here on, so supervisor reports that show
    # the start arguments never show the config's keys.
    {name, if(is_map(config), do: fn -> config end, else: config)}
  end

  # A handle is edited into a new handle; a name's registry is edited in place.
  defp edit(%__MODULE__{handle: handle}, _fun, change), do: wrap(change.(handle))

  defp edit(name, fun, change) when is_atom(name) and not is_nil(name),
    do: update(name, fun, change)

  @doc false
  # `{:ok, {handle, primary, clients}}` from the NIF, as a registry.
  def wrap({:ok, {handle, primary, clients}}),
    do: {:ok, %__MODULE__{handle: handle, primary: primary, clients: clients}}

  def wrap({:error, %Error{}} = error), do: error

  defp bang({:ok, value}), do: value
  defp bang({:error, error}), do: raise(error)

  # --- `use Switchboard.Registry` --------------------------------------------

  @doc """
  Called when a registry module starts, with its options: the application
  environment's (`config :my_app, MyApp.LLM, ...`) merged with those given to
  its child spec. Return them, changed if need be: the place to read
  secrets or derive the config at boot. Optional.

      @impl true
      def init(opts) do
        {:ok, put_in(opts, [:client_registry, :primary], System.get_env("LLM_PRIMARY", "Haiku"))}
      end
  """
  @callback init(opts :: keyword()) :: {:ok, keyword()}

  @doc """
  Defines a registry module configured from the application environment,
  as `Ecto.Repo` does:

      defmodule MyApp.LLM do
        use Switchboard.Registry, otp_app: :my_app
      end

      # config/runtime.exs
      config :my_app, MyApp.LLM, client_registry: %{clients: [...]}

      # lib/my_app/application.ex
      children = [MyApp.LLM]

      # anywhere
      Switchboard.call(MyApp.LLM, "Hi")

  The module is the registry's name. Its config is read when it starts
  (so `config/runtime.exs` and `System.fetch_env!/1` apply), then passed
  through the optional `c:init/1` callback. It defines `child_spec/1` and
  `start_link/1`; options given to them (`{MyApp.LLM, client_registry: ...}`)
  override the application environment's. As with the child spec form,
  `:client_registry` may be a function of no arguments returning the
  config.
  """
  @spec __using__(keyword()) :: Macro.t()
  defmacro __using__(opts) do
    otp_app =
      Keyword.get(opts, :otp_app) ||
        raise ArgumentError, "use Switchboard.Registry needs the :otp_app option"

    quote do
      @behaviour Switchboard.Registry

      @doc "The child spec of this registry; see `Switchboard.Registry.child_spec/1`."
      @spec child_spec(keyword()) :: Supervisor.child_spec()
      def child_spec(opts \\ []) do
        # The options stay behind a function, as the base form's config
        # does, so supervisor state and reports never show their keys.
        %{
          id: __MODULE__,
          start: {Switchboard.Registry.Server, :start_link, [__MODULE__, config(opts)]},
          type: :worker
        }
      end

      @doc "Starts this registry; see `Switchboard.Registry.start_link/1`."
      @spec start_link(keyword()) :: GenServer.on_start()
      def start_link(opts \\ []) do
        Switchboard.Registry.Server.start_link(__MODULE__, config(opts))
      end

      defp config(opts) do
        fn -> Switchboard.Registry.Server.module_config(__MODULE__, unquote(otp_app), opts) end
      end

      @impl Switchboard.Registry
      def init(opts), do: {:ok, opts}

      defoverridable init: 1, child_spec: 1
    end
  end

  defimpl Inspect do
    import Inspect.Algebra

    def inspect(reg, opts) do
      named = if reg.name, do: [name: reg.name], else: []

      concat([
        "#Switchboard.Registry<",
        to_doc(named ++ [primary: reg.primary, clients: reg.clients], opts),
        ">"
      ])
    end
  end
end
