# The Switchboard side of `make bench` (bench/run.sh starts the mock server
# and scripts its bench-* scenarios first):
#
#   MIX_ENV=prod mix run --no-compile bench/switchboard_workloads.exs \
#     --base-url http://127.0.0.1:PORT --workload a --out bench/results/switchboard-a.json
#
# Writes one JSON object in the harness's result schema (bench/README.md).
#
# It reads the NIF's timing and the malloc probe, which are compiled in
# only with the `bench` cargo feature: bench/run.sh builds with
# SWITCHBOARD_NIF_FEATURES=bench; by hand, run
# `SWITCHBOARD_NIF_FEATURES=bench MIX_ENV=prod mix compile` first.

Code.require_file("lib/drive.exs", __DIR__)

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

  # The peak RSS while every call waits, sampled every `every_ms` until the
  # first answer comes (left in the mailbox), and the BEAM / native heap
  # split when the peak was sampled.
  def sample_until_first_answer({peak, split}, every_ms) do
    receive do
      {_ref, {status, _}} = first when status in [:ok, :error] ->
        send(self(), first)
        {peak, split}
    after
      every_ms ->
        rss = rss_bytes()
        next = if rss > peak, do: {rss, memory_split()}, else: {peak, split}
        sample_until_first_answer(next, every_ms)
    end
  end

  # The `q` quantile of a sorted list (nil when empty).
  def percentile([], _), do: nil

  def percentile(sorted, q),
    do: Enum.at(sorted, min(length(sorted) - 1, floor(q * length(sorted))))

  def seconds(native), do: System.convert_time_unit(native, :native, :microsecond) / 1_000_000

  # What the VM's allocators hold and what malloc (Rust's heap) has out;
  # `held`: what malloc has from the OS, freed blocks it keeps included.
  def memory_split do
    %{
      beam: :erlang.memory(:total),
      malloc: Switchboard.Native.malloc_in_use(),
      held: Switchboard.Native.malloc_held()
    }
  end

  @doc """
  The normal scheduler threads' (`N_scheduler`) runqueue wait in ns and
  involuntary context switches so far, keyed by thread id.
  """
  def scheduler_threads do
    for tid <- File.ls!("/proc/self/task"),
        String.ends_with?(read_task(tid, "comm"), "_scheduler"),
        into: %{} do
      # schedstat: time on the CPU, time runnable but waiting for one, slices.
      [_run, wait | _] = String.split(read_task(tid, "schedstat"))

      preempted =
        read_task(tid, "status")
        |> String.split("\n")
        |> Enum.find_value(0, fn
          "nonvoluntary_ctxt_switches:" <> n -> String.to_integer(String.trim(n))
          _ -> nil
        end)

      {tid, {String.to_integer(wait), preempted}}
    end
  end

  @doc "`{wait_ns, involuntary_switches}` summed over the threads since `before`."
  def scheduler_threads_since(before) do
    Enum.reduce(scheduler_threads(), {0, 0}, fn {tid, {wait, preempted}}, {w, p} ->
      {wait0, preempted0} = Map.get(before, tid, {0, 0})
      {w + wait - wait0, p + preempted - preempted0}
    end)
  end

  defp read_task(tid, file), do: String.trim(File.read!("/proc/self/task/#{tid}/#{file}"))

  # long_schedule: a process or port ran >= 1 ms without yielding.
  def watch_schedulers do
    parent = self()

    spawn_link(fn ->
      # Describing an event loads Inspect's modules on first use; loading
      # them during the run would itself be a long schedule.
      _ = describe(self(), timeout: 1, in: {__MODULE__, :f, 0}, out: :undefined)
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

# (g) uses Bench.Probe, defined above.
Code.require_file("lib/scale.exs", __DIR__)

defmodule Bench.Workloads do
  @moduledoc false
  alias Switchboard.{Registry, Response}

  def run(base, "a", _),
    do: median_of_3(&closed_loop(registry(base, "bench-a"), 20_000, 100, :call, &1))

  def run(base, "b", _),
    do: median_of_3(&closed_loop(registry(base, "bench-b"), 5_000, 100, :stream, &1))

  def run(base, "c", _), do: all_in_flight(registry(base, "bench-c"), 10_000, "HTTP/1.1")

  # The same over cleartext HTTP/2, as calls to HTTPS providers go: all
  # calls share one connection instead of holding one each.
  def run(base, "c-h2", _) do
    reg =
      Registry.new!(%{
        clients: [client("Bench", base, "bench-c", %{http: %{http2_prior_knowledge: true}})]
      })

    all_in_flight(reg, 10_000, "HTTP/2 (h2c prior knowledge)")
  end

  # 100,000 calls in flight at once over one HTTP/2 connection (h2c prior
  # knowledge) against a 10 s delay, and (g-h1) as many as the file
  # descriptor limit allows over HTTP/1.1, a connection each. BENCH_G_CALLS
  # and BENCH_G_H1_CALLS change the counts.
  def run(base, "g", _), do: Bench.Scale.run(base, "bench-g", :http2, "BENCH_G_CALLS", 100_000)

  def run(base, "g-h1", _),
    do: Bench.Scale.run(base, "bench-g", :http1, "BENCH_G_H1_CALLS", 19_000)

  def run(base, "d", _),
    do: median_of_3(&closed_loop(registry(base, "bench-d"), 2_000, 1, :call, &1))

  def run(base, "e", _), do: median_of_3(&closed_loop(fallback(base), 5_000, 100, :call, &1))

  def run(base, "f", _), do: registry_builds(base, 200)

  @detail_keys [
    :detail_nif_calls,
    :detail_over_100us,
    :detail_preempted,
    :detail_page_faulted,
    :detail_slept,
    :detail_longest_cpu_us
  ]

  # A measured run lasts under a second on this machine, so one run is at
  # the mercy of whatever else the two cores do at that moment: report the
  # median of three (by throughput), with all three named in the notes.
  # A fourth round samples rusage in every NIF call (too slow for the
  # measured rounds) to tell why the slow ones were slow.
  defp median_of_3(run) do
    rounds = Enum.sort_by(for(_ <- 1..3, do: run.(false)), & &1.per_s)
    detail_round = run.(true)
    detail = Map.take(detail_round, @detail_keys)
    median = Enum.at(rounds, 1)
    rates = Enum.map_join(rounds, ", ", &"#{round(&1.per_s)}/s")
    worst_nif = Enum.max_by(rounds, & &1.max_nif_us)
    events = Enum.sum(Enum.map(rounds, & &1.long_schedule_events))

    %{
      median
      | notes: String.trim("median of 3 rounds (#{rates}); #{median.notes}"),
        max_nif_us: worst_nif.max_nif_us,
        nif_calls: Enum.sum(Enum.map(rounds, & &1.nif_calls)),
        nif_calls_over_100us: Enum.sum(Enum.map(rounds, & &1.nif_calls_over_100us)),
        long_schedule_events: events,
        long_schedule_seen:
          Enum.map_join(rounds, "; ", & &1.long_schedule_seen) |> String.trim("; "),
        sched_wait_ms: Enum.sum(Enum.map(rounds, & &1.sched_wait_ms)),
        sched_preempted: Enum.sum(Enum.map(rounds, & &1.sched_preempted)),
        step_calls: Enum.sum(Enum.map([detail_round | rounds], & &1.step_calls))
    }
    |> Map.merge(detail)
  end

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

  defp closed_loop(reg, total, in_flight, mode, detail) do
    warm_up = min(200, total)
    drive(reg, warm_up, in_flight, mode)
    :erlang.garbage_collect()

    observed(detail, fn ->
      rss_before = Bench.Probe.rss_bytes()
      cpu_before = Bench.Probe.cpu_s()
      t0 = System.monotonic_time()
      {latencies, errors} = drive(reg, total, in_flight, mode)
      wall = Bench.Probe.seconds(System.monotonic_time() - t0)
      cpu = Bench.Probe.cpu_s() - cpu_before

      summary(total, in_flight, wall, latencies, errors, cpu)
      |> Map.merge(%{
        rss_before_bytes: rss_before,
        rss_peak_bytes: Bench.Probe.rss_bytes(),
        step_calls: warm_up + total
      })
    end)
  end

  # Runs `measure` under the scheduler-health probes and adds their figures:
  # our NIFs' own timing, long_schedule events, and how long the normal
  # scheduler threads sat runnable without a CPU (the OS's share).
  defp observed(detail, measure) do
    watcher = Bench.Probe.watch_schedulers()
    Switchboard.Native.scheduler_timing_detail(detail)
    Switchboard.Native.scheduler_timing(true)
    threads_before = Bench.Probe.scheduler_threads()
    result = measure.()
    {wait_ns, preempted} = Bench.Probe.scheduler_threads_since(threads_before)
    Switchboard.Native.scheduler_timing_detail(false)

    result
    |> Map.merge(nif_report(Switchboard.Native.scheduler_timing(true), detail))
    |> Map.merge(schedule_report(watcher))
    |> Map.merge(%{sched_wait_ms: wait_ns / 1_000_000, sched_preempted: preempted})
  end

  # Longest time any of our NIFs held a normal scheduler, measured inside
  # the NIF (switchboard_nif's timing module).
  defp nif_report(t, detail) do
    plain = %{
      max_nif_us: t.longest_ns / 1000,
      mean_nif_us: if(t.calls > 0, do: t.total_ns / t.calls / 1000),
      nif_calls: t.calls,
      nif_calls_over_100us: t.over_100us
    }

    if detail do
      Map.merge(plain, %{
        detail_nif_calls: t.calls,
        detail_over_100us: t.over_100us,
        detail_preempted: t.over_100us_preempted,
        detail_page_faulted: t.over_100us_page_faulted,
        detail_slept: t.over_100us_slept,
        detail_longest_cpu_us: t.longest_cpu_ns / 1000
      })
    else
      plain
    end
  end

  defp schedule_report(watcher) do
    {count, seen} = Bench.Probe.long_schedule_events(watcher)
    %{long_schedule_events: count, long_schedule_seen: Enum.join(seen, "; ")}
  end

  # The long-schedule locations belong in the report's notes.
  def with_seen(%{long_schedule_seen: ""} = result), do: result

  def with_seen(result) do
    Map.update!(
      result,
      :notes,
      &String.trim("#{&1} long_schedule seen: #{result.long_schedule_seen}")
    )
  end

  # Latencies go to an atomics array, not the heap, so the driver's own
  # garbage collection stays small and does not show up as a long schedule.
  defp drive(reg, total, in_flight, mode) do
    lat = :atomics.new(total, signed: false)
    state = %{reg: reg, mode: mode, total: total, started: 0, pending: %{}, lat: lat, errors: 0}
    state = Enum.reduce(1..min(in_flight, total), state, fn _, s -> start(s) end)
    state = collect(state, 0)
    {for(i <- 1..total, do: :atomics.get(lat, i) / 1000), state.errors}
  end

  defp start(%{started: n, total: n} = s), do: s

  defp start(s) do
    call =
      case s.mode do
        :call -> Switchboard.async(s.reg, "What is the BEAM?")
        :stream -> Switchboard.stream_to(s.reg, "What is the BEAM?")
      end

    index = s.started + 1
    t0 = System.monotonic_time(:microsecond)
    %{s | started: index, pending: Map.put(s.pending, call.ref, {call, t0, index})}
  end

  defp collect(%{total: total} = s, done) when done == total, do: s

  defp collect(s, done) do
    receive do
      {ref, {:chunk, _}} ->
        {call, _, _} = Map.fetch!(s.pending, ref)
        Switchboard.ack(call)
        collect(s, done)

      {ref, {status, result}} when status in [:ok, :error] ->
        {{_call, t0, index}, pending} = Map.pop(s.pending, ref)
        :atomics.put(s.lat, index, System.monotonic_time(:microsecond) - t0)
        errors = if match?(%Response{}, result), do: s.errors, else: s.errors + 1
        collect(start(%{s | pending: pending, errors: errors}), done + 1)
    end
  end

  # --- (c) everything in flight at once -------------------------------------

  # How long after a burst its memory has to come back (issue 17).
  @settle_s 30

  defp all_in_flight(reg, n, protocol) do
    drive(reg, 20, 20, :call)
    :erlang.garbage_collect()
    Process.sleep(200)
    pending = :ets.new(:pending, [:set, :private])

    # One run, where a few syscalls per NIF call are noise: detail on.
    # The 30 s after the burst stay out of it: collecting every process's
    # garbage is no call's doing, yet may show as a long schedule.
    burst = observed(true, fn -> burst(reg, n, protocol, pending) end)

    :ets.delete(pending)
    Map.merge(burst, after_burst(burst, @settle_s))
  end

  defp burst(reg, n, protocol, pending) do
    before = Bench.Probe.memory_split()
    rss_before = Bench.Probe.rss_bytes()
    cpu_before = Bench.Probe.cpu_s()
    t0 = System.monotonic_time()

    for _ <- 1..n do
      call = Switchboard.async(reg, "What is the BEAM?", timeout: 60_000)
      :ets.insert(pending, {call.ref, System.monotonic_time(:microsecond)})
    end

    # The plateau: every call in flight, none answered yet.
    {plateau, split} = Bench.Probe.sample_until_first_answer({rss_before, before}, 50)
    {lat, errors} = wait_all(pending, n, [], 0)
    wall = Bench.Probe.seconds(System.monotonic_time() - t0)
    cpu = Bench.Probe.cpu_s() - cpu_before

    summary(n, n, wall, lat, errors, cpu)
    |> Map.merge(%{
      rss_before_bytes: rss_before,
      rss_peak_bytes: plateau,
      per_inflight_bytes: (plateau - rss_before) / n,
      step_calls: 20 + n,
      per_inflight_beam_bytes: (split.beam - before.beam) / n,
      per_inflight_malloc_bytes: split.malloc && (split.malloc - before.malloc) / n,
      beam_before_bytes: before.beam,
      malloc_before_bytes: before.malloc,
      malloc_held_before_bytes: before.held,
      notes:
        "#{protocol}; all #{n} started at once against a 5 s server delay; " <>
          "RSS sampled every 50 ms while all were in flight"
    })
  end

  # Memory that comes back: once every call has ended, collect every BEAM
  # process's garbage, then sample RSS once a second for `seconds`. What
  # is still held at the end is split as the plateau was, so a native heap
  # that returned its bytes to malloc but not its pages to the OS shows as
  # RSS above BEAM + malloc growth.
  defp after_burst(burst, seconds) do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)

    samples =
      for _ <- 1..seconds do
        Process.sleep(1000)
        Bench.Probe.rss_bytes()
      end

    rss_after = List.last(samples)
    split = Bench.Probe.memory_split()
    limit = burst.rss_before_bytes * 1.2
    within = Enum.find_index(samples, &(&1 <= limit))

    %{
      rss_after_30s_bytes: rss_after,
      rss_after_ratio: rss_after / burst.rss_before_bytes,
      rss_within_20pct_after_s: within && within + 1,
      beam_after_bytes: split.beam,
      malloc_after_bytes: split.malloc,
      malloc_held_after_bytes: split.held,
      notes:
        "#{burst.notes}; after the burst: every process collected, RSS each second " <>
          "(MiB): #{Enum.map_join(samples, " ", &round(&1 / 1_048_576))}"
    }
  end

  defp wait_all(_pending, 0, lat, errors), do: {lat, errors}

  defp wait_all(pending, left, lat, errors) do
    receive do
      {ref, {status, result}} when status in [:ok, :error] ->
        [{^ref, t0}] = :ets.take(pending, ref)
        ms = (System.monotonic_time(:microsecond) - t0) / 1000
        errors = if match?(%Response{}, result), do: errors, else: errors + 1
        wait_all(pending, left - 1, [ms | lat], errors)
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

    wall = Bench.Probe.seconds(System.monotonic_time() - t0)

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
      p50_ms: Bench.Probe.percentile(sorted, 0.50),
      p99_ms: Bench.Probe.percentile(sorted, 0.99),
      cpu_s: cpu,
      cpu_per_call_ms: cpu * 1000 / calls,
      per_inflight_bytes: nil,
      notes: ""
    }
  end
end

# The runtime threads run at nice +10 here, as in every report so far (the
# library's default is 0): on these 2 cores the client shares the CPU with
# the mock. BENCH_NICE_INCREMENT=0 measures the default. The application
# has started, but no call has yet, so the runtime takes this setting.
Switchboard.Application.configure_runtime(
  nice_increment: String.to_integer(System.get_env("BENCH_NICE_INCREMENT", "10"))
)

{opts, _, _} =
  OptionParser.parse(System.argv() -- ["--"],
    strict: [base_url: :string, workload: :string, out: :string]
  )

workload = Keyword.fetch!(opts, :workload)

result =
  Bench.Workloads.run(Keyword.fetch!(opts, :base_url), workload, opts)
  |> Map.put(:workload, workload)

json = Bench.Json.encode(result)

case opts[:out] do
  nil -> IO.puts(json)
  path -> File.mkdir_p!(Path.dirname(path)) && File.write!(path, json <> "\n") && IO.puts(json)
end
