# Quick throughput check: N non-streaming calls, C in flight, one caller
# process, against the bundled mock server. The full harness is `make bench`.
#
#   mix run bench/throughput.exs [calls] [in_flight]

Code.require_file("lib/drive.exs", __DIR__)

defmodule Bench.Throughput do
  def run(total, in_flight) do
    mock = Switchboard.Mock.start!()
    base = Switchboard.Mock.base_url(mock, "bench", "openai-generic")

    reg =
      Switchboard.Registry.new!(%{
        clients: [
          %{name: "Mock", provider: "openai-generic", options: %{base_url: base, model: "m"}}
        ]
      })

    # Warm the connection pool.
    Bench.Drive.run(reg, 500, in_flight)
    :erlang.statistics(:runtime)
    {micros, ok} = :timer.tc(fn -> Bench.Drive.run(reg, total, in_flight) end)
    {_, cpu_ms} = :erlang.statistics(:runtime)
    secs = micros / 1_000_000

    IO.puts(
      "#{total} calls, #{in_flight} in flight: #{round(total / secs)} calls/s " <>
        "(#{Float.round(secs, 2)} s, #{ok} ok, BEAM CPU #{cpu_ms} ms on #{System.schedulers_online()} schedulers)"
    )

    Switchboard.Mock.stop(mock)
  end
end

[total, in_flight] =
  case System.argv() do
    [t, c] -> [String.to_integer(t), String.to_integer(c)]
    [t] -> [String.to_integer(t), 100]
    [] -> [10_000, 100]
  end

Bench.Throughput.run(total, in_flight)
