defmodule Switchboard.EventStream do
  @moduledoc """
  Test helper: cuts a recorded AWS event stream into its frames, apart from
  the client's own decoder, so tests compare what the client read with
  what the recording holds.
  """

  @doc "The `{headers, payload}` of every frame of `body`, in order."
  def frames(<<>>), do: []

  def frames(<<total::32, hlen::32, _prelude_crc::32, rest::binary>>) do
    payload_len = total - 16 - hlen

    <<headers::binary-size(hlen), payload::binary-size(payload_len), _crc::32, tail::binary>> =
      rest

    [{string_headers(headers, %{}), payload} | frames(tail)]
  end

  # Recorded frames carry string headers (type 7) only.
  defp string_headers(<<>>, acc), do: acc

  defp string_headers(
         <<n::8, name::binary-size(n), 7, len::16, value::binary-size(len), rest::binary>>,
         acc
       ),
       do: string_headers(rest, Map.put(acc, name, value))
end
