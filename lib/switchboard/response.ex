defmodule Switchboard.Response do
  @moduledoc """
  A successful answer.

    * `content` - the answer's text (text blocks only; reasoning and tool
      calls are not part of it); for a structured answer from the
      `json_output` tool with no text, the tool's arguments as JSON text
    * `reasoning` - the model's reasoning where the provider returns it
      (Anthropic thinking, Responses reasoning summaries, Gemini thoughts,
      Bedrock reasoning content), kept apart from `content`; `nil` when
      there was none
    * `reasoning_parts` - the `Switchboard.ReasoningPart`s to send back with
      this answer's tool calls (signed thinking, redacted thinking, Gemini
      signatures), tagged with their dialect; `[]` when none.
      `to_message/1` carries them into the next prompt
    * `tool_calls` - the `Switchboard.ToolCall`s the model asked for, in
      order; `[]` when none
    * `parsed` - with `output_schema:`, the answer decoded and checked
      against the schema (maps with string keys); `nil` otherwise, and on
      an answer that calls tools (a step of a tool loop)
    * `model` - the model the provider says answered
    * `finish` - why the model stopped, the same on every provider:
      `:stop`, `:length` (the token limit), `:tool_calls`,
      `:content_filter` (a filter, refusal or guardrail) or `:other`
    * `finish_reason` - the provider's own value (`"stop"`, `"end_turn"`,
      `"length"`, `"max_tokens"`, ...)
    * `usage` - `Switchboard.Usage`
    * `client` / `provider` - the leaf client that answered
    * `attempts` - every HTTP attempt of the call, failed ones included
    * `latency_ms` - wall time of the whole call
    * `raw` - with `raw_response: true`, the provider's answer as received
      (the body, or a stream's text; at most 1 MiB, see the
      `:raw_response` option of `Switchboard`); `nil` otherwise

      iex> %Switchboard.Response{content: "Hi", finish: :stop}.tool_calls
      []
  """

  @type t :: %__MODULE__{
          content: String.t(),
          reasoning: String.t() | nil,
          reasoning_parts: [Switchboard.ReasoningPart.t()],
          tool_calls: [Switchboard.ToolCall.t()],
          parsed: term(),
          model: String.t() | nil,
          finish: :stop | :length | :tool_calls | :content_filter | :other,
          finish_reason: String.t() | nil,
          usage: Switchboard.Usage.t(),
          client: String.t(),
          provider: String.t(),
          attempts: [Switchboard.Attempt.t()],
          latency_ms: non_neg_integer(),
          raw: String.t() | nil
        }

  defstruct [
    :content,
    :reasoning,
    :parsed,
    :model,
    :finish_reason,
    :client,
    :provider,
    :latency_ms,
    :raw,
    finish: :other,
    usage: %Switchboard.Usage{},
    tool_calls: [],
    reasoning_parts: [],
    attempts: []
  ]

  @doc """
  The assistant message that repeats this answer in the next prompt of a
  conversation or tool loop: its `content`, its `tool_calls` (with their
  signatures) and its `reasoning_parts`, which each client sends back only
  to the dialect that made them.

  A structured answer (`output_schema:`) read from Claude's `json_output`
  tool has that tool's arguments, as JSON text, in `content`, so the turn
  repeats the answer; when the model also wrote text beside the tool,
  `content` is that text and the answer is only in `parsed`.

      iex> response = %Switchboard.Response{
      ...>   content: "Checking.",
      ...>   tool_calls: [%Switchboard.ToolCall{id: "toolu_1", name: "now", arguments: %{}}],
      ...>   reasoning_parts: [%Switchboard.ReasoningPart{dialect: :anthropic, text: "Time first.", signature: "EqQB"}]
      ...> }
      iex> message = Switchboard.Response.to_message(response)
      iex> {message.role, message.content, length(message.tool_calls), length(message.reasoning_parts)}
      {"assistant", "Checking.", 1, 1}
  """
  @spec to_message(t()) :: %{
          role: String.t(),
          content: String.t(),
          tool_calls: [Switchboard.ToolCall.t()],
          reasoning_parts: [Switchboard.ReasoningPart.t()]
        }
  def to_message(%__MODULE__{} = response) do
    %{
      role: "assistant",
      content: response.content || "",
      tool_calls: response.tool_calls,
      reasoning_parts: response.reasoning_parts
    }
  end
end
