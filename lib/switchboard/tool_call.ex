defmodule Switchboard.ToolCall do
  @moduledoc """
  A function call the model asked for.

    * `id` - the provider's id for the call, or one Switchboard made up for
      providers without ids (Gemini), so a result can name its call on any
      provider
    * `name` - the tool's name, one of the call's `tools:`
    * `arguments` - the arguments, decoded into a map with string keys
      (never atoms); `nil` on a `Switchboard.Chunk`, where the call has only
      started and its arguments arrive on the final response

  Send a response's tool calls back in the next prompt, followed by one
  `tool` message per call:

      [
        %{role: "user", content: "How much memory is in use?"},
        %{role: "assistant", content: response.content, tool_calls: response.tool_calls},
        %{role: "tool", tool_call_id: call.id, content: ~s({"total": 41943040})}
      ]

      iex> %Switchboard.ToolCall{id: "call_1", name: "get_metric", arguments: %{"name" => "memory"}}.name
      "get_metric"
  """

  @type t :: %__MODULE__{
          id: String.t(),
          name: String.t(),
          arguments: %{optional(String.t()) => term()} | nil
        }

  defstruct [:id, :name, :arguments]
end
