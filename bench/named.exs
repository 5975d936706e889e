# What calling a registry by name costs next to calling its handle, in one
# run against the bundled mock server:
#
#   MIX_ENV=prod mix run bench/named.exs [calls] [in_flight] [rounds]
#
# 1. The lookup alone: a million name resolutions (`:persistent_term`) and
#    handle pass-throughs, per operation.
# 2. Calls: `rounds` alternating runs of `calls` non-streaming calls with
#    `in_flight` outstanding, by handle then by name, from one process;
#    the median calls/s of each.

Code.require_file("lib/drive.exs", __DIR__)

defmodule Bench.Named do
  def run(total, in_flight, rounds) do
    mock = Switchboard.Mock.start!()
    base = Switchboard.Mock.base_url(mock, "bench") <> "/v1"

    config = %{
      clients: [
        %{name: "Mock", provider: "openai-generic", options: %{base_url: base, model: "m"}}
      ]
    }

    {:ok, _} = Switchboard.Registry.start_link(name: Bench.LLM, client_registry: config)
    handle = Switchboard.Registry.new!(config)

    lookup(handle)

    # Warm the connection pool and the code paths.
    Bench.Drive.run(handle, 2_000, in_flight)
    Bench.Drive.run(Bench.LLM, 2_000, in_flight)

    {by_handle, by_name} =
      Enum.reduce(1..rounds, {[], []}, fn _, {h, n} ->
        {[Bench.Drive.rate(handle, total, in_flight) | h],
         [Bench.Drive.rate(Bench.LLM, total, in_flight) | n]}
      end)

    IO.puts(
      "#{total} calls x #{rounds} rounds, #{in_flight} in flight, " <>
        "#{System.schedulers_online()} schedulers:\n" <>
        "  by handle: median #{Bench.Drive.median(by_handle)} calls/s (#{Enum.join(Enum.reverse(by_handle), ", ")})\n" <>
        "  by name:   median #{Bench.Drive.median(by_name)} calls/s (#{Enum.join(Enum.reverse(by_name), ", ")})"
    )

    Switchboard.Mock.stop(mock)
  end

  defp lookup(handle) do
    n = 1_000_000
    by_name = per_op(n, fn -> Switchboard.Registry.fetch!(Bench.LLM, "bench") end)
    by_handle = per_op(n, fn -> Switchboard.Registry.fetch!(handle, "bench") end)
    IO.puts("lookup: by name #{by_name} ns/op, by handle #{by_handle} ns/op (#{n} each)")
  end

  defp per_op(n, fun) do
    {micros, _} = :timer.tc(fn -> Enum.each(1..n, fn _ -> fun.() end) end)
    Float.round(micros * 1000 / n, 1)
  end
end

[total, in_flight, rounds] = Bench.Drive.args(System.argv())

Bench.Named.run(total, in_flight, rounds)
