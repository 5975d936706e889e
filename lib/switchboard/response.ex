defmodule Switchboard.Response do
  @moduledoc """
  A successful answer.

    * `content` - the answer's text (text blocks only; thinking and tool
      calls are not part of it)
    * `model` - the model the provider says answered
    * `finish_reason` - the provider's own value (`"stop"`, `"end_turn"`,
      `"length"`, `"max_tokens"`, ...)
    * `usage` - `Switchboard.Usage`
    * `client` / `provider` - the leaf client that answered
    * `attempts` - every HTTP attempt of the call, failed ones included
    * `latency_ms` - wall time of the whole call
  """

  @type t :: %__MODULE__{
          content: String.t(),
          model: String.t() | nil,
          finish_reason: String.t() | nil,
          usage: Switchboard.Usage.t(),
          client: String.t(),
          provider: String.t(),
          attempts: [Switchboard.Attempt.t()],
          latency_ms: non_neg_integer()
        }

  defstruct [
    :content,
    :model,
    :finish_reason,
    :client,
    :provider,
    :latency_ms,
    usage: %Switchboard.Usage{},
    attempts: []
  ]
end
