defmodule Switchboard.Error do
  @moduledoc """
  Why a call or a registry failed.

  `kind` says what to do about it:

    * `:config` - the registry or the `client:` option is wrong
    * `:auth`, `:permission` - the key is missing, wrong or not allowed (401, 403)
    * `:not_found` - unknown model or endpoint (404)
    * `:invalid_request` - the provider (400, 422) or Switchboard rejected the request
    * `:rate_limited` (429), `:overloaded` (503, 529), `:server` (other 5xx, 409)
    * `:timeout` - a connect, request, total or caller timeout; `message` names which
    * `:network` - the connection failed or was cut off
    * `:bad_response` - a 2xx answer that could not be read
    * `:finish_reason` - the finish reason was rejected by the client's allow/deny list
    * `:cancelled` - `Switchboard.cancel/1`, or the receiver died
    * `:circuit_open` - the client's circuit breaker is open (or half-open
      with its one probe under way): the attempt was refused with no HTTP;
      `retry_after_ms` says when it lets a call through again

  The client's own limits (`max_in_flight`, `requests_per_minute`,
  `tokens_per_minute`) refuse an attempt as `:rate_limited` with `status`
  `nil` and a message naming the limit.

  `client` is the leaf client the error came from, `status` the HTTP status,
  `retry_after_ms` what the provider asked for, `retryable` whether a retry
  policy would try this error again (by its kind, except that an answer
  failing `output_schema` is not retried unless `retry_invalid_output:` asks
  for it), `raw_response` the
  provider's body (at most 64 KiB, with the client's key removed) and
  `attempts` every HTTP attempt of the call.

  `provider_code` and `provider_type` are the provider's own names for the
  error, as strings (never atoms; at most 128 characters), `nil` when it
  gave none, so a program can tell errors of one kind apart without
  parsing `message`:

  | Provider | `provider_code` | `provider_type` |
  |---|---|---|
  | OpenAI, Azure, OpenRouter, compatible servers | `error.code` (`"rate_limit_exceeded"`, `"DeploymentNotFound"`; a number as text) | `error.type` (`"invalid_request_error"`) |
  | OpenAI Responses | `error.code` of a failed response or `error` event | `error.type` |
  | Anthropic (and Claude on Vertex) | - | `error.type` (`"overloaded_error"`) |
  | Gemini, Vertex AI | `reason` of the `google.rpc.ErrorInfo` detail (`"API_KEY_INVALID"`) | `error.status` (`"RESOURCE_EXHAUSTED"`) |
  | Bedrock | - | the exception (`x-amzn-errortype`, `__type`, a stream's `:exception-type`): `"ThrottlingException"` |

  Errors inside a 200 answer or a stream carry them too. Each attempt's
  `error` (see `Switchboard.Attempt`) has its own.

  Internal failures of Switchboard itself (a bug) are reported as `:server`
  errors whose message starts with "internal error in switchboard".

      case Switchboard.call(MyApp.LLM, "Hi") do
        {:ok, response} -> response.content
        {:error, %Switchboard.Error{kind: :rate_limited, retry_after_ms: ms}} -> {:retry_in, ms}
        {:error, %Switchboard.Error{} = error} -> raise error
      end
  """

  @kinds [
    :config,
    :auth,
    :permission,
    :not_found,
    :invalid_request,
    :rate_limited,
    :overloaded,
    :server,
    :timeout,
    :network,
    :bad_response,
    :finish_reason,
    :cancelled,
    :circuit_open
  ]

  @type kind ::
          :config
          | :auth
          | :permission
          | :not_found
          | :invalid_request
          | :rate_limited
          | :overloaded
          | :server
          | :timeout
          | :network
          | :bad_response
          | :finish_reason
          | :cancelled
          | :circuit_open

  @type t :: %__MODULE__{
          kind: kind(),
          message: String.t(),
          client: String.t() | nil,
          status: non_neg_integer() | nil,
          retry_after_ms: non_neg_integer() | nil,
          retryable: boolean(),
          attempts: [Switchboard.Attempt.t()],
          raw_response: String.t() | nil,
          provider_code: String.t() | nil,
          provider_type: String.t() | nil
        }

  defexception [
    :kind,
    :message,
    :client,
    :status,
    :retry_after_ms,
    :raw_response,
    :provider_code,
    :provider_type,
    retryable: false,
    attempts: []
  ]

  @doc """
  Every error kind, for exhaustive matching in callers' code.

      iex> :rate_limited in Switchboard.Error.kinds()
      true
  """
  @spec kinds() :: [kind()]
  def kinds, do: @kinds

  @impl true
  def message(%__MODULE__{kind: kind, message: message, client: client, status: status}) do
    where =
      [client && "client #{inspect(client)}", status && "HTTP #{status}"]
      |> Enum.reject(&is_nil/1)
      |> Enum.join(", ")

    if where == "", do: "(#{kind}) #{message}", else: "(#{kind}) #{message} [#{where}]"
  end
end
