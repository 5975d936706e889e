defmodule Switchboard.Usage do
  @moduledoc """
  Token counts reported by the provider for one answer, with one meaning
  across providers.

    * `input_tokens` - every prompt token, cached or not. Anthropic reports
      cache reads and cache writes apart from its `input_tokens`; they are
      added back here, so the figure means the same as OpenAI's
      `prompt_tokens`.
    * `cached_input_tokens` - the part of `input_tokens` read from the
      provider's cache (OpenAI `prompt_tokens_details.cached_tokens`,
      Anthropic `cache_read_input_tokens`).
    * `cache_creation_input_tokens` - the part of `input_tokens` written to
      the provider's cache (Anthropic `cache_creation_input_tokens`).
    * `output_tokens` - the answer's tokens, reasoning included.
    * `reasoning_tokens` - the part of `output_tokens` the model spent
      reasoning (OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`);
      they stay counted in `output_tokens` too.
    * `total_tokens` - `input_tokens + output_tokens`.

  A field is `nil` when the provider did not report it.

      iex> %Switchboard.Usage{input_tokens: 10, output_tokens: 5, total_tokens: 15}.total_tokens
      15
  """

  @type t :: %__MODULE__{
          input_tokens: non_neg_integer() | nil,
          output_tokens: non_neg_integer() | nil,
          total_tokens: non_neg_integer() | nil,
          cached_input_tokens: non_neg_integer() | nil,
          cache_creation_input_tokens: non_neg_integer() | nil,
          reasoning_tokens: non_neg_integer() | nil
        }

  defstruct [
    :input_tokens,
    :output_tokens,
    :total_tokens,
    :cached_input_tokens,
    :cache_creation_input_tokens,
    :reasoning_tokens
  ]
end
