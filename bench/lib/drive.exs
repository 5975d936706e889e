defmodule Bench.Drive do
  @moduledoc false
  # The quick benches' load: non-streaming calls from one process, keeping
  # `in_flight` outstanding until `total` have answered, each with the call
  # options `opts`. Returns `total`.

  def run(reg, total, in_flight, opts \\ []) do
    start = min(in_flight, total)
    for i <- 1..start, do: Switchboard.async(reg, "question #{i}", opts)
    loop(reg, total, start, 0, opts)
  end

  defp loop(_reg, total, _started, done, _opts) when done == total, do: done

  defp loop(reg, total, started, done, opts) do
    receive do
      {ref, {:ok, _}} when is_reference(ref) ->
        started =
          if started < total,
            do: Switchboard.async(reg, "q", opts) && started + 1,
            else: started

        loop(reg, total, started, done + 1, opts)

      {ref, {:error, e}} when is_reference(ref) ->
        raise e
    end
  end
end
