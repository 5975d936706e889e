defmodule Switchboard.Chunk do
  @moduledoc """
  A piece of a streamed answer.

    * `text` - new answer text (never reasoning or tool input)
    * `reasoning` - new reasoning text (Anthropic thinking, Gemini
      thoughts, ...), `""` when none
    * `tool_calls` - tool calls that started in this chunk, as
      `%Switchboard.ToolCall{}` with `arguments: nil`, so a UI can show
      them; their complete arguments arrive on the final response
    * `client` - the leaf client producing it
    * `attempt` - the 1-based index, in the call's `attempts`, of the HTTP
      attempt it belongs to. If an attempt fails after some of its text was
      delivered, that text is void: `stream_to/3` receivers get a
      `{ref, {:reset, %Switchboard.Attempt{}}}` message before any text of a
      later attempt, and in `Switchboard.stream/3` the next chunk simply has
      a different `attempt`.
    * `response` - `nil`, except on the last chunk of `Switchboard.stream/3`,
      which has `text: ""` and the final `%Switchboard.Response{}` (full
      text, finish reason, usage, attempts).

  When the receiver falls behind, consecutive deltas are merged into one
  chunk, so a chunk may hold several provider deltas.
  """

  @type t :: %__MODULE__{
          text: String.t(),
          reasoning: String.t(),
          tool_calls: [Switchboard.ToolCall.t()],
          client: String.t(),
          attempt: pos_integer(),
          response: Switchboard.Response.t() | nil
        }

  defstruct [:client, :attempt, :response, text: "", reasoning: "", tool_calls: []]
end
