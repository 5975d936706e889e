defmodule Switchboard.ReasoningPart do
  @moduledoc """
  One part of an answer's reasoning that must go back to the model with the
  rest of its turn: in a tool loop with extended thinking, Claude (Anthropic,
  Vertex AI, Bedrock) refuses the next request unless the assistant turn
  repeats its signed thinking before its tool calls.

    * `dialect` - the wire dialect that made it: `:anthropic` (Anthropic
      Messages, also Claude on Vertex AI), `:bedrock` (Bedrock Converse) or
      `:gemini` (Google AI and Gemini on Vertex AI)
    * `text` - the reasoning text as received (`""` for redacted reasoning
      and Gemini signatures)
    * `signature` - the provider's signature over `text` (for `:gemini`, a
      `thoughtSignature` of the answer's text)
    * `redacted` - encrypted reasoning (Anthropic `redacted_thinking`,
      Bedrock `redactedContent`), base64; never shown, only sent back

  Apps do not build these: `Switchboard.Response.to_message/1` puts a
  response's parts on the assistant message of the next prompt, and each
  part is sent back only to a client of the dialect that made it (a
  fallback from Claude to Gemini leaves Anthropic's thinking out).

      iex> %Switchboard.ReasoningPart{dialect: :anthropic, text: "Check the memory first.", signature: "EqQB"}.dialect
      :anthropic
  """

  @type dialect :: :anthropic | :bedrock | :gemini

  @type t :: %__MODULE__{
          dialect: dialect(),
          text: String.t(),
          signature: String.t() | nil,
          redacted: String.t() | nil
        }

  defstruct [:dialect, :signature, :redacted, text: ""]
end
