defmodule Switchboard.Usage do
  @moduledoc """
  Token counts reported by the provider for one answer.

  Fields are `nil` when the provider did not report them.
  `cached_input_tokens` counts prompt tokens served from the provider's
  cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
  `cache_read_input_tokens`). For Anthropic, `input_tokens` is the
  provider's own figure, which excludes cache reads.
  """

  @type t :: %__MODULE__{
          input_tokens: non_neg_integer() | nil,
          output_tokens: non_neg_integer() | nil,
          total_tokens: non_neg_integer() | nil,
          cached_input_tokens: non_neg_integer() | nil
        }

  defstruct [:input_tokens, :output_tokens, :total_tokens, :cached_input_tokens]
end
