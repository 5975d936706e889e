# What `:telemetry` costs the plain workload, in one run against the
# bundled mock server, three ways side by side:
#
#   * without `:telemetry` loaded (the module is not in the VM),
#   * with it loaded and no handler attached,
#   * with one handler attached to every Switchboard event (it does nothing).
#
#   MIX_ENV=prod mix run bench/telemetry.exs [calls] [in_flight] [rounds]
#
# No Hex package can be fetched here, so `:telemetry` is the test suite's
# stand-in (test/support/telemetry.ex), compiled at startup: lookups through
# its ETS table as the real one does. 1. the per-call decision alone
# (`Switchboard.Telemetry.observe/2`, a million times per mode); 2. `rounds`
# rounds, each running the three modes in turn on `calls` non-streaming
# calls with `in_flight` outstanding from one process; the median calls/s
# of each mode. The default log config is in force, as for users.

Code.require_file("lib/drive.exs", __DIR__)

defmodule Bench.Telemetry do
  @events [
    [:switchboard, :call, :start],
    [:switchboard, :call, :stop],
    [:switchboard, :call, :exception],
    [:switchboard, :attempt, :start],
    [:switchboard, :attempt, :stop],
    [:switchboard, :stream, :first_token]
  ]

  def run(total, in_flight, rounds) do
    [{:telemetry, binary}] =
      Code.compile_file(Path.expand("../test/support/telemetry.ex", __DIR__))

    unload()
    mock = Switchboard.Mock.start!()
    base = Switchboard.Mock.base_url(mock, "bench") <> "/v1"

    reg =
      Switchboard.Registry.new!(%{
        clients: [
          %{name: "Mock", provider: "openai-generic", options: %{base_url: base, model: "m"}}
        ]
      })

    modes = [
      {"not loaded", &unload/0},
      {"loaded, no handler", fn -> load(binary) end},
      {"one handler", fn -> load(binary) && attach() end}
    ]

    for {name, setup} <- modes do
      setup.()
      IO.puts("decision, #{name}: #{per_op(1_000_000, reg)} ns/op")
      detach()
    end

    # `list_handlers/1` scans every handler attached, to any event: what an
    # app with many other libraries' handlers pays per call.
    for unrelated <- [10, 50, 200] do
      load(binary)
      ids = for i <- 1..unrelated, do: attach_unrelated(i)
      IO.puts("decision, #{unrelated} unrelated handlers: #{per_op(1_000_000, reg)} ns/op")
      Enum.each(ids, &:telemetry.detach/1)
    end

    # Warm the connection pool and the code paths.
    for {_, setup} <- modes do
      setup.()
      Bench.Drive.run(reg, 2_000, in_flight)
      detach()
    end

    rates =
      Enum.reduce(1..rounds, %{}, fn _, acc ->
        Enum.reduce(modes, acc, fn {name, setup}, acc ->
          setup.()
          rate = Bench.Drive.rate(reg, total, in_flight)
          detach()
          Map.update(acc, name, [rate], &[rate | &1])
        end)
      end)

    IO.puts(
      "#{total} calls x #{rounds} rounds, #{in_flight} in flight, " <>
        "#{System.schedulers_online()} schedulers:"
    )

    for {name, _} <- modes do
      list = Enum.reverse(rates[name])
      IO.puts("  #{name}: median #{Bench.Drive.median(list)} calls/s (#{Enum.join(list, ", ")})")
    end

    Switchboard.Mock.stop(mock)
  end

  def handle_event(_event, _measurements, _metadata, _config), do: :ok

  defp unload do
    :code.purge(:telemetry)
    :code.delete(:telemetry)
    :code.purge(:telemetry)
    false = :erlang.module_loaded(:telemetry)
  end

  defp load(binary) do
    unless :erlang.module_loaded(:telemetry) do
      {:module, :telemetry} = :code.load_binary(:telemetry, ~c"telemetry.ex", binary)
    end

    true
  end

  defp attach do
    :ok = :telemetry.attach_many(:bench, @events, &__MODULE__.handle_event/4, nil)
  end

  defp attach_unrelated(i) do
    id = {:bench_unrelated, i}
    :ok = :telemetry.attach(id, [:other_lib, :event, i], &__MODULE__.handle_event/4, nil)
    id
  end

  defp detach do
    if :erlang.module_loaded(:telemetry), do: :telemetry.detach(:bench)
  end

  defp per_op(n, reg) do
    {micros, _} =
      :timer.tc(fn -> Enum.each(1..n, fn _ -> Switchboard.Telemetry.observe(reg, []) end) end)

    Float.round(micros * 1000 / n, 1)
  end
end

[total, in_flight, rounds] = Bench.Drive.args(System.argv())

Bench.Telemetry.run(total, in_flight, rounds)
