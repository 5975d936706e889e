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
  (`strategy`) and `"round-robin"` (`strategy`, `start`). Option names and
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
      `"vertex-2023-10-16"`). OAuth tokens are cached in the registry and
      fetched once for all concurrent calls; see the README's Google section
    * `base_url` - required for `openai-generic`; `azure-openai` takes
      `base_url` or `resource_name` + `deployment_id`, plus `api_version`
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
    * `endpoint_url` - instead of `https://bedrock-runtime.{region}.amazonaws.com`
    * `access_key_id`, `secret_access_key`, `session_token` - explicit keys,
      signed with SigV4
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

  Retry policies: `%{max_retries: n, strategy: %{type: "constant_delay", delay_ms: d}}`
  or `%{type: "exponential_backoff", delay_ms: d, multiplier: m, max_delay_ms: x}`.
  `"DefaultRetry"` is built in (3 retries, 200 ms x1.5, at most 10 s).

  Fallback and round-robin clients may nest up to 32 levels deep.

  All of it is checked by `new/1`; every error names the client and the option.
  `inspect/1` shows client names only, never options, so keys stay out of logs.
  """

  alias Switchboard.{Error, Native}

  @type config :: map()
  @type t :: %__MODULE__{
          handle: reference(),
          primary: String.t() | nil,
          clients: [String.t()]
        }

  @enforce_keys [:handle]
  defstruct [:handle, :primary, clients: []]

  @doc """
  Builds a registry from a `client_registry` map.

      iex> {:ok, reg} = Switchboard.Registry.new(%{clients: [%{name: "A", provider: "openai", options: %{model: "gpt-4o-mini"}}]})
      iex> reg.primary
      "A"

      iex> {:error, %Switchboard.Error{kind: :config, message: message}} =
      ...>   Switchboard.Registry.new(%{clients: [%{name: "A", provider: "nope"}]})
      iex> message
      "client \\"A\\": unknown provider \\"nope\\""
  """
  @spec new(config()) :: {:ok, t()} | {:error, Error.t()}
  def new(config) when is_map(config), do: wrap(Native.registry_new(config))

  def new(_config) do
    {:error, %Error{kind: :config, message: "the registry config must be a map with :clients"}}
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
  """
  @spec add_client(t(), String.t(), String.t(), map(), String.t() | nil) ::
          {:ok, t()} | {:error, Error.t()}
  def add_client(%__MODULE__{handle: h}, name, provider, options \\ %{}, retry_policy \\ nil)
      when is_binary(name) and is_binary(provider) and is_map(options) and
             (is_binary(retry_policy) or is_nil(retry_policy)) do
    wrap(Native.registry_add_client(h, name, provider, options, retry_policy))
  end

  @doc """
  Returns a new registry whose primary client is `name`.

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai", options: %{model: "m"}}, %{name: "B", provider: "openai", options: %{model: "m"}}]})
      iex> {:ok, reg} = Switchboard.Registry.set_primary(reg, "B")
      iex> reg.primary
      "B"
  """
  @spec set_primary(t(), String.t()) :: {:ok, t()} | {:error, Error.t()}
  def set_primary(%__MODULE__{handle: h}, name) when is_binary(name) do
    wrap(Native.registry_set_primary(h, name))
  end

  @doc """
  Returns a new registry with the retry policy added (or replaced).

      iex> reg = Switchboard.Registry.new!(%{clients: [%{name: "A", provider: "openai", options: %{model: "m"}}]})
      iex> {:ok, _reg} = Switchboard.Registry.add_retry_policy(reg, "Twice", %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 50}})
  """
  @spec add_retry_policy(t(), String.t(), map()) :: {:ok, t()} | {:error, Error.t()}
  def add_retry_policy(%__MODULE__{handle: h}, name, policy)
      when is_binary(name) and is_map(policy) do
    wrap(Native.registry_add_retry_policy(h, name, policy))
  end

  defp wrap({:ok, {handle, primary, clients}}),
    do: {:ok, %__MODULE__{handle: handle, primary: primary, clients: clients}}

  defp wrap({:error, %Error{}} = error), do: error

  defp bang({:ok, value}), do: value
  defp bang({:error, error}), do: raise(error)

  defimpl Inspect do
    import Inspect.Algebra

    def inspect(reg, opts) do
      concat([
        "#Switchboard.Registry<",
        to_doc([primary: reg.primary, clients: reg.clients], opts),
        ">"
      ])
    end
  end
end
