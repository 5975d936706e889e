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

  @doc "Calls per second of one `run/4`."
  def rate(reg, total, in_flight, opts \\ []) do
    {micros, ^total} = :timer.tc(fn -> run(reg, total, in_flight, opts) end)
    round(total / (micros / 1_000_000))
  end

  def median(list), do: list |> Enum.sort() |> Enum.at(div(length(list), 2))

  @doc "The quick benches' arguments: `[calls] [in_flight] [rounds]`."
  def args(argv) do
    case Enum.map(argv, &String.to_integer/1) do
      [t, c, r] -> [t, c, r]
      [t, c] -> [t, c, 5]
      [t] -> [t, 100, 5]
      [] -> [20_000, 100, 5]
    end
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
