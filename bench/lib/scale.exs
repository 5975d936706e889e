defmodule Bench.Scale do
  @moduledoc false
  # Workload (g): every call in flight at once, 100,000 by default, over one
  # cleartext HTTP/2 connection against a 10 s server delay. Reports whether
  # each call ended with exactly one terminal message and succeeded, the
  # memory per in-flight call (split between the BEAM and malloc, where the
  # NIF's Rust allocations go), and the first error of each kind.
  #
  # Over HTTP/1.1 (g-h1) every in-flight call holds a connection, so a file
  # descriptor in this process and one in the server, and a loopback port:
  # the count is bounded by `ulimit -n` and the ephemeral port range.

  alias Switchboard.{Error, Registry, Response}

  @call_timeout_ms 300_000
  # After the last answer: how long to wait for a second terminal message
  # to any call before declaring there is none.
  @quiet_ms 1_000

  def run(base, scenario, protocol, count_variable, default_count) do
    n = String.to_integer(System.get_env(count_variable, Integer.to_string(default_count)))

    {http, protocol} =
      case protocol do
        :http2 -> {%{http: %{http2_prior_knowledge: true}}, "HTTP/2 (h2c prior knowledge)"}
        :http1 -> {%{}, "HTTP/1.1"}
      end

    reg = registry(base, scenario, http)

    # Opens the connection (HTTP/2: the one all calls share; the pool is
    # shared by registries with the same settings) without the 10 s delay.
    Bench.Drive.run(registry(base, "bench-a", http), 20, 20)
    :erlang.garbage_collect()
    Process.sleep(200)
    pending = :ets.new(:pending, [:set, :private])
    before = Bench.Probe.memory_split()
    rss_before = Bench.Probe.rss_bytes()
    cpu_before = Bench.Probe.cpu_s()
    t0 = System.monotonic_time()

    for _ <- 1..n do
      call = Switchboard.async(reg, "What is the BEAM?", timeout: @call_timeout_ms)
      :ets.insert(pending, {call.ref, System.monotonic_time(:microsecond)})
    end

    started_s = Bench.Probe.seconds(System.monotonic_time() - t0)
    {plateau, split} = Bench.Probe.sample_until_first_answer({rss_before, before}, 100)
    tally = wait_all(pending, n, %{lat: [], errors: %{}})
    wall = Bench.Probe.seconds(System.monotonic_time() - t0)
    cpu = Bench.Probe.cpu_s() - cpu_before
    extra = extra_terminals(0)
    sorted = Enum.sort(tally.lat)
    error_count = tally.errors |> Map.values() |> Enum.map(&elem(&1, 0)) |> Enum.sum()

    %{
      runner: "switchboard",
      calls: n,
      in_flight: n,
      completed: length(sorted),
      errors: error_count,
      extra_terminal_messages: extra,
      wall_s: wall,
      start_s: started_s,
      per_s: n / wall,
      p50_ms: Bench.Probe.percentile(sorted, 0.50),
      p99_ms: Bench.Probe.percentile(sorted, 0.99),
      cpu_s: cpu,
      cpu_per_call_ms: cpu * 1000 / n,
      rss_before_bytes: rss_before,
      rss_peak_bytes: plateau,
      rss_after_bytes: Bench.Probe.rss_bytes(),
      per_inflight_bytes: (plateau - rss_before) / n,
      per_inflight_beam_bytes: (split.beam - before.beam) / n,
      per_inflight_malloc_bytes: split.malloc && (split.malloc - before.malloc) / n,
      step_calls: 20 + n,
      notes:
        "#{protocol}; all #{n} started at once (in #{Float.round(started_s, 2)} s) " <>
          "against a 10 s server delay; RSS sampled every 100 ms while all were in flight" <>
          describe_errors(tally.errors)
    }
  end

  defp registry(base, scenario, http) do
    options = Map.merge(%{base_url: "#{base}/s/#{scenario}/v1", model: "m"}, http)
    Registry.new!(%{clients: [%{name: "Bench", provider: "openai-generic", options: options}]})
  end

  defp wait_all(_pending, 0, tally), do: tally

  defp wait_all(pending, left, tally) do
    receive do
      {ref, {status, result}} when status in [:ok, :error] ->
        case :ets.take(pending, ref) do
          [{^ref, t0}] ->
            ms = (System.monotonic_time(:microsecond) - t0) / 1000
            tally = %{tally | lat: [ms | tally.lat], errors: count_error(tally.errors, result)}
            wait_all(pending, left - 1, tally)

          [] ->
            raise "a second terminal message for one call: #{inspect(result)}"
        end
    after
      @call_timeout_ms + 60_000 -> raise "#{left} calls never ended"
    end
  end

  defp count_error(errors, %Response{}), do: errors

  defp count_error(errors, %Error{kind: kind, message: message}),
    do: Map.update(errors, kind, {1, message}, fn {c, m} -> {c + 1, m} end)

  defp count_error(errors, other),
    do: Map.update(errors, inspect(other), {1, ""}, fn {c, m} -> {c + 1, m} end)

  defp extra_terminals(seen) do
    receive do
      {_ref, {status, _}} when status in [:ok, :error] -> extra_terminals(seen + 1)
    after
      @quiet_ms -> seen
    end
  end

  defp describe_errors(errors) when map_size(errors) == 0, do: ""

  defp describe_errors(errors) do
    "; errors: " <>
      Enum.map_join(errors, "; ", fn {kind, {count, message}} ->
        "#{count} #{kind} (first: #{String.slice(message, 0, 200)})"
      end)
  end
end
