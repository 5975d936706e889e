# What a circuit breaker and client-side limits cost on the hot path, next
# to a plain client, in one run against the bundled mock server:
#
#   MIX_ENV=prod mix run bench/resilience.exs [calls] [in_flight] [rounds]
#
# Four clients on the same mock scenario: plain; with `circuit_breaker`
# (closed all along); with `max_in_flight`, `requests_per_minute` and
# `tokens_per_minute` set far above the load (so every attempt takes a
# semaphore slot and charges two budgets, and none waits); and with both.
# `rounds` alternating runs of `calls` non-streaming calls with `in_flight`
# outstanding, from one process; the median calls/s of each, and the
# median CPU time per call of this VM (schedulers and the NIF's tokio
# threads; the mock is another OS process), which other load on the
# machine disturbs less than the rate.

Code.require_file("lib/drive.exs", __DIR__)

defmodule Bench.Resilience do
  @clients ["Plain", "Breaker", "Limits", "Both"]

  def run(total, in_flight, rounds) do
    mock = Switchboard.Mock.start!()
    base = Switchboard.Mock.base_url(mock, "bench") <> "/v1"
    breaker = %{circuit_breaker: %{failure_threshold: 5, window_ms: 60_000, cooldown_ms: 30_000}}

    limits = %{
      max_in_flight: 10 * in_flight,
      requests_per_minute: 1_000_000_000,
      tokens_per_minute: 1_000_000_000_000
    }

    client = fn name, extra ->
      %{
        name: name,
        provider: "openai-generic",
        options: Map.merge(%{base_url: base, model: "m"}, extra)
      }
    end

    reg =
      Switchboard.Registry.new!(%{
        clients: [
          client.("Plain", %{}),
          client.("Breaker", breaker),
          client.("Limits", limits),
          client.("Both", Map.merge(breaker, limits))
        ]
      })

    # Warm the connection pools and the code paths.
    for c <- @clients, do: Bench.Drive.run(reg, 2_000, in_flight, client: c)

    rates =
      Enum.reduce(1..rounds, Map.new(@clients, &{&1, []}), fn _, acc ->
        Map.new(@clients, fn c -> {c, [rate(reg, c, total, in_flight) | acc[c]]} end)
      end)

    IO.puts(
      "#{total} calls x #{rounds} rounds, #{in_flight} in flight, " <>
        "#{System.schedulers_online()} schedulers:"
    )

    for c <- @clients do
      runs = Enum.reverse(rates[c])
      calls_s = Enum.map(runs, &elem(&1, 0))
      cpu_us = Enum.map(runs, &elem(&1, 1))

      IO.puts(
        "  #{String.pad_trailing(c, 8)} median #{Bench.Drive.median(calls_s)} calls/s, " <>
          "#{Bench.Drive.median(cpu_us)} µs CPU/call (#{Enum.join(calls_s, ", ")}; #{Enum.join(cpu_us, ", ")})"
      )
    end

    IO.puts("health after the run: #{inspect(Switchboard.Registry.health(reg))}")
    Switchboard.Mock.stop(mock)
  end

  defp rate(reg, client, total, in_flight) do
    cpu = cpu_s()
    calls_s = Bench.Drive.rate(reg, total, in_flight, client: client)
    {calls_s, Float.round((cpu_s() - cpu) * 1_000_000 / total, 1)}
  end

  # utime + stime of this OS process, in seconds (clock ticks of 10 ms).
  defp cpu_s do
    fields = File.read!("/proc/self/stat") |> String.split(") ") |> List.last() |> String.split()
    (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) / 100
  end
end

[total, in_flight, rounds] = Bench.Drive.args(System.argv())

Bench.Resilience.run(total, in_flight, rounds)
