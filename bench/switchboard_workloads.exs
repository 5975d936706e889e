# The Switchboard side of `make bench` (bench/run.sh starts the mock server
# and scripts its bench-* scenarios first):
#
#   MIX_ENV=prod mix run --no-compile bench/switchboard_workloads.exs -- \
#     --base-url http://127.0.0.1:PORT --workload a --out bench/results/switchboard-a.json
#
# Writes one JSON object in the harness's result schema (bench/README.md).

defmodule Bench.Probe do
  @moduledoc false
  # OS-level figures of this VM process: CPU of every thread (schedulers
  # and the NIF's tokio workers alike) and resident memory.

  @clock_ticks 100

  def cpu_s do
    fields = File.read!("/proc/self/stat") |> String.split(") ") |> List.last() |> String.split()
    # utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) /
      @clock_ticks
  end

  def rss_bytes do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> rest -> rest |> String.trim() |> String.split() |> hd() |> String.to_integer()
      _ -> nil
    end)
    |> Kernel.*(1024)
  end

  # long_schedule: a process or port ran >= 1 ms without yielding.
  def watch_schedulers do
    parent = self()

    spawn_link(fn ->
      :erlang.system_monitor(self(), [{:long_schedule, 1}])
      count_events(parent, 0)
    end)
  end

  @doc "The events seen so far: `{count, [description]}` (first 5 described)."
  def long_schedule_events(watcher) do
    send(watcher, {:report, self()})

    receive do
      {:long_schedule_events, n, seen} -> {n, seen}
    end
  end

  defp count_events(parent, n, seen \\ []) do
    receive do
      {:monitor, who, :long_schedule, info} ->
        seen = if n < 5, do: [describe(who, info) | seen], else: seen
        count_events(parent, n + 1, seen)

      {:report, to} ->
        send(to, {:long_schedule_events, n, Enum.reverse(seen)})
    end
  end

  defp describe(who, info) do
    name =
      cond do
        who == :erlang.whereis(:code_server) -> "code_server"
        is_port(who) -> "port"
        true -> inspect(Process.info(who, :current_function))
      end

    "#{name}: #{info[:timeout]} ms, in #{inspect(info[:in])}, out #{inspect(info[:out])}"
  end
end

defmodule Bench.Json do
  @moduledoc false
  def encode(map) when is_map(map) do
    "{" <>
      Enum.map_join(map, ",", fn {k, v} -> encode(to_string(k)) <> ":" <> encode(v) end) <> "}"
  end

  def encode(nil), do: "null"
  def encode(b) when is_boolean(b), do: to_string(b)
  def encode(n) when is_integer(n), do: Integer.to_string(n)
  def encode(f) when is_float(f), do: :erlang.float_to_binary(f, [:short])

  def encode(s) when is_binary(s) do
    escaped =
      for <<c::utf8 <- s>>, into: "" do
        case c do
          ?" -> "\\\""
          ?\\ -> "\\\\"
          ?\n -> "\\n"
          c when c < 0x20 -> "\\u" <> String.pad_leading(Integer.to_string(c, 16), 4, "0")
          c -> <<c::utf8>>
        end
      end

    "\"" <> escaped <> "\""
  end
end

defmodule Bench.Workloads do
  @moduledoc false
  alias Switchboard.{Registry, Response}

  def run(base, "a", _), do: closed_loop(registry(base, "bench-a"), 20_000, 100, :call)
  def run(base, "b", _), do: closed_loop(registry(base, "bench-b"), 5_000, 100, :stream)
  def run(base, "c", _), do: all_in_flight(registry(base, "bench-c"), 10_000)
  def run(base, "d", _), do: closed_loop(registry(base, "bench-d"), 2_000, 1, :call)
  def run(base, "e", _), do: closed_loop(fallback(base), 5_000, 100, :call)
  def run(base, "f", _), do: registry_builds(base, 200)

  defp client(name, base, scenario, extra \\ %{}) do
    %{
      name: name,
      provider: "openai-generic",
      options: Map.merge(%{base_url: "#{base}/s/#{scenario}/v1", model: "m"}, extra)
    }
  end

  defp registry(base, scenario), do: Registry.new!(%{clients: [client("Bench", base, scenario)]})

  defp fallback(base) do
    Registry.new!(%{
      primary: "F",
      clients: [
        client("A", base, "bench-fail"),
        client("B", base, "bench-e"),
        %{name: "F", provider: "fallback", options: %{strategy: ["A", "B"]}}
      ]
    })
  end

  # --- closed loop: `in_flight` outstanding until `total` answered ---------

  defp closed_loop(reg, total, in_flight, mode) do
    drive(reg, min(200, total), in_flight, mode)
    :erlang.garbage_collect()
    watcher = Bench.Probe.watch_schedulers()
    rss_before = Bench.Probe.rss_bytes()
    cpu_before = Bench.Probe.cpu_s()
    t0 = System.monotonic_time()
    {latencies, errors, max_nif} = drive(reg, total, in_flight, mode)
    wall = seconds(System.monotonic_time() - t0)
    cpu = Bench.Probe.cpu_s() - cpu_before

    summary(total, in_flight, wall, latencies, errors, cpu)
    |> Map.merge(%{
      rss_before_bytes: rss_before,
      rss_peak_bytes: Bench.Probe.rss_bytes(),
      max_nif_us: max_nif
    })
    |> Map.merge(schedule_report(watcher))
  end

  defp schedule_report(watcher) do
    {count, seen} = Bench.Probe.long_schedule_events(watcher)
    %{long_schedule_events: count, long_schedule_seen: Enum.join(seen, "; ")}
  end

  defp drive(reg, total, in_flight, mode) do
    state = %{
      reg: reg,
      mode: mode,
      total: total,
      started: 0,
      pending: %{},
      lat: [],
      errors: 0,
      max_nif: 0
    }

    state = Enum.reduce(1..min(in_flight, total), state, fn _, s -> start(s) end)
    state = collect(state, 0)
    {state.lat, state.errors, state.max_nif / 1000}
  end

  # The NIF runs inside these calls; timing them from the caller's side
  # bounds the longest time a normal scheduler spent in the NIF.
  defp start(%{started: n, total: n} = s), do: s

  defp start(s) do
    t = System.monotonic_time(:nanosecond)

    call =
      case s.mode do
        :call -> Switchboard.async(s.reg, "What is the BEAM?")
        :stream -> Switchboard.stream_to(s.reg, "What is the BEAM?")
      end

    took = System.monotonic_time(:nanosecond) - t

    %{
      s
      | started: s.started + 1,
        pending: Map.put(s.pending, call.ref, {call, t}),
        max_nif: max(s.max_nif, took)
    }
  end

  defp collect(%{total: total} = s, done) when done == total, do: s

  defp collect(s, done) do
    receive do
      {ref, {:chunk, _}} ->
        {call, _} = Map.fetch!(s.pending, ref)
        t = System.monotonic_time(:nanosecond)
        Switchboard.ack(call)
        collect(%{s | max_nif: max(s.max_nif, System.monotonic_time(:nanosecond) - t)}, done)

      {ref, {status, result}} when status in [:ok, :error] ->
        {{_call, t0}, pending} = Map.pop(s.pending, ref)
        ms = (System.monotonic_time(:nanosecond) - t0) / 1_000_000
        errors = if match?(%Response{}, result), do: s.errors, else: s.errors + 1
        s = start(%{s | pending: pending, lat: [ms | s.lat], errors: errors})
        collect(s, done + 1)
    end
  end

  # --- (c) everything in flight at once -------------------------------------

  defp all_in_flight(reg, n) do
    drive(reg, 20, 20, :call)
    :erlang.garbage_collect()
    Process.sleep(200)
    watcher = Bench.Probe.watch_schedulers()
    rss_before = Bench.Probe.rss_bytes()
    cpu_before = Bench.Probe.cpu_s()
    t0 = System.monotonic_time()

    {calls, max_nif} =
      Enum.map_reduce(1..n, 0, fn _, m ->
        t = System.monotonic_time(:nanosecond)
        call = Switchboard.async(reg, "What is the BEAM?", timeout: 60_000)
        {{call.ref, t}, max(m, System.monotonic_time(:nanosecond) - t)}
      end)

    pending = Map.new(calls)
    {lat, errors, peak} = wait_all(pending, [], 0, rss_before)
    wall = seconds(System.monotonic_time() - t0)
    cpu = Bench.Probe.cpu_s() - cpu_before

    summary(n, n, wall, lat, errors, cpu)
    |> Map.merge(%{
      rss_before_bytes: rss_before,
      rss_peak_bytes: peak,
      per_inflight_bytes: (peak - rss_before) / n,
      max_nif_us: max_nif / 1000,
      notes: "all #{n} started at once against a 5 s server delay; RSS sampled every 50 ms"
    })
    |> Map.merge(schedule_report(watcher))
  end

  defp wait_all(pending, lat, errors, peak) when map_size(pending) == 0, do: {lat, errors, peak}

  defp wait_all(pending, lat, errors, peak) do
    receive do
      {ref, {status, result}} when status in [:ok, :error] and is_map_key(pending, ref) ->
        {t0, pending} = Map.pop(pending, ref)
        ms = (System.monotonic_time(:nanosecond) - t0) / 1_000_000
        errors = if match?(%Response{}, result), do: errors, else: errors + 1
        wait_all(pending, [ms | lat], errors, peak)
    after
      50 -> wait_all(pending, lat, errors, max(peak, Bench.Probe.rss_bytes()))
    end
  end

  # --- (f) registry construction ---------------------------------------------

  defp registry_builds(base, n) do
    config = %{
      primary: "c1",
      clients: for(i <- 1..100, do: client("c#{i}", base, "bench-a", %{temperature: 0.2}))
    }

    Registry.new!(config)
    cpu_before = Bench.Probe.cpu_s()
    t0 = System.monotonic_time()

    times =
      for _ <- 1..n do
        {us, _} = :timer.tc(fn -> Registry.new!(config) end)
        us / 1000
      end

    wall = seconds(System.monotonic_time() - t0)

    summary(n, 1, wall, times, 0, Bench.Probe.cpu_s() - cpu_before)
    |> Map.put(
      :notes,
      "Registry.new!/1 of 100 openai-generic clients (validated, on a dirty scheduler)"
    )
  end

  # --- figures ------------------------------------------------------------------

  defp summary(calls, in_flight, wall, latencies, errors, cpu) do
    sorted = Enum.sort(latencies)

    %{
      runner: "switchboard",
      calls: calls,
      in_flight: in_flight,
      completed: length(latencies),
      errors: errors,
      wall_s: wall,
      per_s: calls / wall,
      p50_ms: percentile(sorted, 0.50),
      p99_ms: percentile(sorted, 0.99),
      cpu_s: cpu,
      cpu_per_call_ms: cpu * 1000 / calls,
      per_inflight_bytes: nil,
      notes: ""
    }
  end

  defp percentile([], _), do: nil

  defp percentile(sorted, q),
    do: Enum.at(sorted, min(length(sorted) - 1, floor(q * length(sorted))))

  defp seconds(native), do: System.convert_time_unit(native, :native, :microsecond) / 1_000_000
end

{opts, _, _} =
  OptionParser.parse(System.argv(), strict: [base_url: :string, workload: :string, out: :string])

workload = Keyword.fetch!(opts, :workload)

result =
  Bench.Workloads.run(Keyword.fetch!(opts, :base_url), workload, opts)
  |> Map.put(:workload, workload)

json = Bench.Json.encode(result)

case opts[:out] do
  nil -> IO.puts(json)
  path -> File.mkdir_p!(Path.dirname(path)) && File.write!(path, json <> "\n") && IO.puts(json)
end
