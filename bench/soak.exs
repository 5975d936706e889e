# The soak: a long run of mixed calls against the bundled mock, sampled
# every few seconds, to show that nothing grows while calls come and go.
#
#   MIX_ENV=prod mix run bench/soak.exs [calls] [in_flight] [sample_s] [--out FILE]
#
# Defaults: 1,000,000 calls, 200 in flight, a sample every 10 s. One caller
# process keeps `in_flight` calls outstanding, taking turns over every
# provider's wire format (OpenAI chat, the Responses API, Anthropic, Gemini
# through google-ai and vertex-ai, Bedrock with SigV4 and with an API key),
# plain (`async/3`) and streamed (`stream_to/3` with `ack/2`). Each
# scenario's script cycles through 100 answers of which 5 are faults: a
# 500, a 429, a dropped connection, a malformed body and a truncated one,
# so about 5 % of calls end in an error (no retry policy).
#
# Checked as it runs: every call ends with exactly one terminal message
# and nothing comes after it (a message for a call that already ended is
# counted as `stray`), every success has the scripted text, every error
# has a kind the faults explain. Sampled: the BEAM's memory
# (`:erlang.memory(:total)`), the OS process's RSS, and the counts of
# processes, ports and ETS tables. At the end: the samples after warm-up
# (the first 10 % of the calls) must stay within 10 % of their median, the
# counts must not grow, and no process may hold a message.

Code.require_file("lib/clients.exs", __DIR__)

defmodule Bench.Soak do
  @answer Enum.map_join(1..20, " ", &"word#{&1}")
  @fault_kinds [:server, :rate_limited, :network, :bad_response]
  @warm_up_share 0.1
  @flat_within 0.10

  def run(total, in_flight, sample_s, out) do
    # The failures are logged as for users (the dispatchers do the work),
    # but the console handler is removed: 50,000 error lines are no report.
    :logger.remove_handler(:default)
    # Elixir before 1.15 prints through its own console backend.
    if function_exported?(Logger, :remove_backend, 1),
      do: apply(Logger, :remove_backend, [:console])

    mock = Switchboard.Mock.start!(max_records: 0)
    credentials = Bench.Clients.service_account(mock)

    clients =
      for provider <- Bench.Clients.providers(), mode <- [:plain, :stream] do
        name = "#{provider}-#{mode}"
        :ok = Switchboard.Mock.script(mock, name, script(mode), cycle: true)
        {Bench.Clients.leaf(provider, name, mock, credentials), mode}
      end

    reg = Switchboard.Registry.new!(%{clients: Enum.map(clients, &elem(&1, 0))})
    turns = List.to_tuple(for {%{name: name}, mode} <- clients, do: {name, mode})

    done = :atomics.new(1, [])
    parent = self()
    t0 = System.monotonic_time(:millisecond)
    sampler = spawn_link(fn -> sample_loop(parent, done, t0, sample_s * 1000, []) end)

    tally = drive(reg, turns, total, in_flight, done)
    send(sampler, {:stop, self()})
    samples = receive do: ({:samples, s} -> s)
    wall_s = (System.monotonic_time(:millisecond) - t0) / 1000

    # Nothing may arrive after the last terminal message.
    Process.sleep(500)
    strays = drain(0)
    Switchboard.Mock.stop(mock)

    report(%{tally | stray: tally.stray + strays}, samples, total, in_flight, wall_s)
    |> tap(&IO.puts/1)
    |> then(fn text -> if out, do: File.write!(out, text) end)
  end

  # 19 answers, then a fault, five times: 5 faults in 100 requests.
  defp script(mode) do
    ok = if mode == :plain, do: %{content: @answer}, else: %{content: @answer, chunks: 20}

    truncated =
      if mode == :plain, do: %{content: @answer, truncate_at: 40}, else: %{truncate_after: 5}

    faults = [
      %{status: 500},
      %{status: 429, headers: %{"retry-after" => "0"}},
      %{drop: true},
      Map.put(ok, :malformed, true),
      truncated
    ]

    Enum.flat_map(faults, fn fault -> [Map.put(ok, :repeat, 19), fault] end)
  end

  # --- the caller -------------------------------------------------------------

  defp drive(reg, turns, total, in_flight, done) do
    tally = %{ok: 0, errors: %{}, wrong_text: 0, stray: 0}
    first = min(in_flight, total)

    pending = Map.new(0..(first - 1), &start(reg, turns, &1))

    loop(reg, turns, total, first, 0, pending, done, tally)
  end

  defp start(reg, turns, i) do
    {name, mode} = elem(turns, rem(i, tuple_size(turns)))

    call =
      case mode do
        :plain -> Switchboard.async(reg, "question #{i}", client: name)
        :stream -> Switchboard.stream_to(reg, "question #{i}", client: name)
      end

    {call.ref, {call, mode}}
  end

  defp loop(_reg, _turns, total, _started, finished, _pending, _done, tally)
       when finished == total,
       do: tally

  defp loop(reg, turns, total, started, finished, pending, done, tally) do
    receive do
      {ref, {kind, _}} when kind in [:chunk, :reset] ->
        case pending do
          %{^ref => {call, _}} ->
            Switchboard.ack(call)
            loop(reg, turns, total, started, finished, pending, done, tally)

          _ ->
            loop(reg, turns, total, started, finished, pending, done, stray(tally))
        end

      {ref, {status, result}} when status in [:ok, :error] ->
        case Map.pop(pending, ref) do
          {nil, _} ->
            loop(reg, turns, total, started, finished, pending, done, stray(tally))

          {{_call, mode}, pending} ->
            tally = count(tally, mode, status, result)
            :atomics.add(done, 1, 1)

            {started, pending} =
              if started < total do
                {next, entry} = start(reg, turns, started)
                {started + 1, Map.put(pending, next, entry)}
              else
                {started, pending}
              end

            loop(reg, turns, total, started, finished + 1, pending, done, tally)
        end
    end
  end

  defp count(tally, _mode, :ok, %Switchboard.Response{content: content}) do
    wrong = if content == @answer, do: 0, else: 1
    %{tally | ok: tally.ok + 1, wrong_text: tally.wrong_text + wrong}
  end

  defp count(tally, _mode, :error, %Switchboard.Error{kind: kind}),
    do: %{tally | errors: Map.update(tally.errors, kind, 1, &(&1 + 1))}

  defp stray(tally), do: %{tally | stray: tally.stray + 1}

  defp drain(n) do
    receive do
      _ -> drain(n + 1)
    after
      0 -> n
    end
  end

  # --- the sampler ------------------------------------------------------------

  defp sample_loop(parent, done, t0, every_ms, acc) do
    acc = [sample(done, t0) | acc]

    receive do
      {:stop, ^parent} -> send(parent, {:samples, Enum.reverse([sample(done, t0) | acc])})
    after
      every_ms -> sample_loop(parent, done, t0, every_ms, acc)
    end
  end

  defp sample(done, t0) do
    %{
      t_s: (System.monotonic_time(:millisecond) - t0) / 1000,
      calls: :atomics.get(done, 1),
      beam: :erlang.memory(:total),
      rss: rss_bytes(),
      processes: :erlang.system_info(:process_count),
      ports: :erlang.system_info(:port_count),
      ets: length(:ets.all())
    }
  end

  defp rss_bytes do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> rest -> rest |> String.split() |> hd() |> String.to_integer() |> Kernel.*(1024)
      _ -> nil
    end)
  end

  # --- the report -------------------------------------------------------------

  defp report(tally, samples, total, in_flight, wall_s) do
    warm = Enum.filter(samples, &(&1.calls >= total * @warm_up_share))
    mailboxes = messages_held()
    errors = tally.errors |> Enum.map(fn {k, n} -> "#{k} #{n}" end) |> Enum.join(", ")
    unexplained = Map.drop(tally.errors, @fault_kinds) |> Map.values() |> Enum.sum()

    checks = [
      {"every call ended once", tally.ok + Enum.sum(Map.values(tally.errors)) == total},
      {"no message after a call's end (stray: #{tally.stray})", tally.stray == 0},
      {"every success has the scripted text", tally.wrong_text == 0},
      {"every error's kind is a scripted fault's", unexplained == 0},
      {"BEAM memory within 10 % of its median after warm-up", flat?(warm, :beam)},
      {"RSS within 10 % of its median after warm-up", flat?(warm, :rss)},
      {"no growth in processes, ports or ETS tables", no_growth?(warm)},
      {"no process holds a message at the end (#{mailboxes})", mailboxes == 0}
    ]

    rows =
      for s <- samples do
        "| #{:erlang.float_to_binary(s.t_s, decimals: 0)} | #{s.calls} | #{mb(s.beam)} " <>
          "| #{mb(s.rss)} | #{s.processes} | #{s.ports} | #{s.ets} |"
      end

    """
    ## Soak: #{total} calls, #{in_flight} in flight

    #{date()}; #{System.schedulers_online()} schedulers; #{wall_s |> round()} s, \
    #{round(total / wall_s)} calls/s; successes #{tally.ok}, errors: #{errors}.

    | check | |
    |---|---|
    #{Enum.map_join(checks, "\n", fn {what, ok} -> "| #{what} | #{if ok, do: "PASS", else: "FAIL"} |" end)}

    | t (s) | calls ended | BEAM (MB) | RSS (MB) | processes | ports | ETS tables |
    |---:|---:|---:|---:|---:|---:|---:|
    #{Enum.join(rows, "\n")}
    """
  end

  defp flat?([], _key), do: false

  defp flat?(samples, key) do
    values = samples |> Enum.map(&Map.fetch!(&1, key)) |> Enum.sort()
    median = Enum.at(values, div(length(values), 2))
    Enum.all?(values, &(abs(&1 - median) <= @flat_within * median))
  end

  defp no_growth?([]), do: false

  defp no_growth?([first | _] = samples) do
    last = List.last(samples)
    last.processes <= first.processes and last.ports <= first.ports and last.ets <= first.ets
  end

  defp messages_held do
    Process.list()
    |> Enum.map(&(Process.info(&1, :message_queue_len) || {:message_queue_len, 0}))
    |> Enum.map(&elem(&1, 1))
    |> Enum.sum()
  end

  defp mb(bytes), do: :erlang.float_to_binary(bytes / 1_048_576, decimals: 1)

  defp date, do: DateTime.utc_now() |> DateTime.truncate(:second) |> DateTime.to_string()
end

{opts, args, _} = OptionParser.parse(System.argv(), strict: [out: :string])

[total, in_flight, sample_s] =
  case Enum.map(args, &String.to_integer/1) do
    [t, f, s] -> [t, f, s]
    [t, f] -> [t, f, 10]
    [t] -> [t, 200, 10]
    [] -> [1_000_000, 200, 10]
  end

Bench.Soak.run(total, in_flight, sample_s, opts[:out])
