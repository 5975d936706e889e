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
    * `signature` - Gemini's `thoughtSignature` for the call, sent back with
      it to Gemini (Gemini 3 refuses a thinking model's call without it);
      `nil` for other providers, and left out of their requests

  Send a response back in the next prompt with
  `Switchboard.Response.to_message/1` (its text, tool calls and the
  reasoning to replay), followed by one `tool` message per call:

      [
        %{role: "user", content: "How much memory is in use?"},
        Switchboard.Response.to_message(response),
        %{role: "tool", tool_call_id: call.id, content: ~s({"total": 41943040})}
      ]

      iex> %Switchboard.ToolCall{id: "call_1", name: "get_metric", arguments: %{"name" => "memory"}}.name
      "get_metric"
  """

  @type t :: %__MODULE__{
          id: String.t(),
          name: String.t(),
          arguments: %{optional(String.t()) => term()} | nil,
          signature: String.t() | nil
        }

  defstruct [:id, :name, :arguments, :signature]
end
