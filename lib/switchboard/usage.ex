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
      Anthropic `cache_read_input_tokens`, Bedrock `cacheReadInputTokens`,
      Gemini `cachedContentTokenCount`).
    * `cache_creation_input_tokens` - the part of `input_tokens` written to
      the provider's cache (Anthropic `cache_creation_input_tokens`, Bedrock
      `cacheWriteInputTokens`).
    * `output_tokens` - the answer's tokens, reasoning included.
    * `reasoning_tokens` - the part of `output_tokens` the model spent
      reasoning (OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`);
      they stay counted in `output_tokens` too.
    * `total_tokens` - `input_tokens + output_tokens`.

  A field is `nil` when the provider did not report it.

      iex> %Switchboard.Usage{input_tokens: 10, output_tokens: 5, total_tokens: 15}.total_tokens
      15

  ## Cost

  `cost` is a float in the currency of the client's `pricing` option
  (prices per million tokens), `nil` for a client without one:

      pricing: %{input_per_million: 3.0, output_per_million: 15.0,
                 cached_input_per_million: 0.3, cache_creation_input_per_million: 3.75}

  One attempt's cost is

      (input_tokens - cached_input_tokens - cache_creation_input_tokens) * input_per_million
      + cached_input_tokens * cached_input_per_million
      + cache_creation_input_tokens * cache_creation_input_per_million
      + output_tokens * output_per_million
      / 1_000_000

  Because `input_tokens` already counts cached tokens on every provider
  (OpenAI and Gemini include them in their prompt count; Anthropic and
  Bedrock report them apart, and they are added back), cached tokens are
  priced once, at the cached rate, never also at the input rate. A cache
  price that is not given is the input price. Reasoning tokens are output
  tokens and priced as such. A count the provider left out counts as 0;
  with no count at all the cost is `nil`.

  Each `Switchboard.Attempt` has its own `usage` (with its own `cost`) when
  it read an answer, and that includes answers that were read and then
  rejected, since the provider billed them: an answer that did not match
  the call's `output_schema`, a finish reason the client's allow or deny
  list refused, and a stream that failed after the provider reported its
  usage (Anthropic reports input tokens when a stream starts). Attempts
  that got no answer (an HTTP error, a timeout before any usage, a
  connection error, a refusal before sending) have `usage: nil` and cost
  nothing here.

  The response's `usage` keeps the answer's own token counts, but its
  `cost` is the whole call's: the sum of every attempt's cost, retries and
  fallbacks included (`nil` when no attempt had one). A failed call's cost
  is in its `Switchboard.Error`'s `attempts`.

      iex> usage = %Switchboard.Usage{input_tokens: 1_000, output_tokens: 100, cost: 0.0045}
      iex> usage.cost
      0.0045
  """

  @type t :: %__MODULE__{
          input_tokens: non_neg_integer() | nil,
          output_tokens: non_neg_integer() | nil,
          total_tokens: non_neg_integer() | nil,
          cached_input_tokens: non_neg_integer() | nil,
          cache_creation_input_tokens: non_neg_integer() | nil,
          reasoning_tokens: non_neg_integer() | nil,
          cost: float() | nil
        }

  defstruct [
    :input_tokens,
    :output_tokens,
    :total_tokens,
    :cached_input_tokens,
    :cache_creation_input_tokens,
    :reasoning_tokens,
    :cost
  ]
end
