# Quick streaming checks against the bundled mock server:
#   1. chunks/second delivered to one receiver for one long stream
#   2. streams/second for N streams of 20 chunks, C in flight
#
#   mix run bench/stream_throughput.exs [long_chunks] [streams] [in_flight]

defmodule Bench.StreamThroughput do
  def run(long_chunks, streams, in_flight) do
    mock = Switchboard.Mock.start!()

    reg =
      Switchboard.Registry.new!(%{
        clients: [
          %{
            name: "Mock",
            provider: "openai-generic",
            options: %{
              base_url: Switchboard.Mock.base_url(mock, "bench", "openai-generic"),
              model: "m"
            }
          }
        ]
      })

    :ok = Switchboard.Mock.script(mock, "bench", [%{chunks: long_chunks}])
    {micros, count} = :timer.tc(fn -> consume(Switchboard.stream_to(reg, "long")) end)

    IO.puts(
      "one stream of #{long_chunks} deltas: #{count} chunk messages in #{div(micros, 1000)} ms, " <>
        "#{round(long_chunks / (micros / 1_000_000))} deltas/s delivered"
    )

    :ok = Switchboard.Mock.script(mock, "bench", [%{chunks: 20, repeat: -1}])
    drive(reg, 200, in_flight)
    {micros, _} = :timer.tc(fn -> drive(reg, streams, in_flight) end)

    IO.puts(
      "#{streams} streams of 20 chunks, #{in_flight} in flight: " <>
        "#{round(streams / (micros / 1_000_000))} streams/s"
    )

    Switchboard.Mock.stop(mock)
  end

  defp consume(%Switchboard.Call{ref: ref} = call, n \\ 0) do
    receive do
      {^ref, {:chunk, _}} ->
        Switchboard.ack(call)
        consume(call, n + 1)

      {^ref, {:ok, _}} ->
        n
    end
  end

  # Keeps `in_flight` streams open until `total` have finished.
  defp drive(reg, total, in_flight) do
    start = min(in_flight, total)

    calls =
      for _ <- 1..start,
          into: %{},
          do:
            (
              c = Switchboard.stream_to(reg, "q")
              {c.ref, c}
            )

    loop(reg, total, start, 0, calls)
  end

  defp loop(_reg, total, _started, done, _calls) when done == total, do: done

  defp loop(reg, total, started, done, calls) do
    receive do
      {ref, {:chunk, _}} ->
        Switchboard.ack(Map.fetch!(calls, ref))
        loop(reg, total, started, done, calls)

      {ref, {:ok, _}} ->
        calls = Map.delete(calls, ref)

        {started, calls} =
          if started < total do
            c = Switchboard.stream_to(reg, "q")
            {started + 1, Map.put(calls, c.ref, c)}
          else
            {started, calls}
          end

        loop(reg, total, started, done + 1, calls)

      {_ref, {:error, e}} ->
        raise e
    end
  end
end

{long, streams, in_flight} =
  case Enum.map(System.argv(), &String.to_integer/1) do
    [l, s, c] -> {l, s, c}
    _ -> {100_000, 1_000, 100}
  end

Bench.StreamThroughput.run(long, streams, in_flight)
