defmodule Switchboard.Call do
  @moduledoc """
  A call in flight, returned by `Switchboard.async/3` and
  `Switchboard.stream_to/3`.

  Its messages are tagged with `ref`, like a `Task`'s:
  `{ref, {:ok, %Switchboard.Response{}}}` or `{ref, {:error, %Switchboard.Error{}}}`.
  `handle` belongs to the NIF; it is what `Switchboard.cancel/1` uses.
  Both are the same reference: the NIF's resource for the call, which
  stays valid (and unique) whatever happens to the node's name. `owner` is
  the receiver, the process the messages go to and the only one that can
  `Switchboard.await/2` the call.

      %Switchboard.Call{ref: ref} = Switchboard.async(MyApp.LLM, "Hi")

      receive do
        {^ref, {:ok, response}} -> response.content
        {^ref, {:error, error}} -> raise error
      end
  """

  @type t :: %__MODULE__{ref: reference(), handle: reference(), owner: pid()}

  @enforce_keys [:ref, :handle, :owner]
  defstruct [:ref, :handle, :owner]
end
