defmodule Switchboard.ChaosTest do
  @moduledoc """
  The fault-injection suite: thousands of calls over every provider, plain
  and streamed, direct and through fallback and round-robin chains, each
  meeting faults the mock plays (error statuses with Retry-After, resets,
  truncated, malformed and corrupted bodies, stalls, endless bodies,
  echoed credentials). The test knows which fault every attempt met, so it
  asserts every call's outcome: exactly one terminal message and nothing
  after it, the scripted text for every success, the right error kind for
  every failure, no credential in anything a user sees (results, chunks,
  exception messages, logs), and memory that does not grow.

  Seeded: `SWITCHBOARD_CHAOS_SEED=<n>` replays a run (the seed is printed
  with every failure); `SWITCHBOARD_CHAOS_CALLS=<n>` sizes it (default
  2,000; docs/testing.md has the figures of a longer run).

  How each call's faults are known: a lane is a process with its own
  registry, whose leaves each answer from a scenario of their own; a lane
  makes one call at a time and scripts, before it, every scenario the
  call may reach. Lanes run side by side.
  """
  use Switchboard.Case, async: false

  alias Switchboard.{Chaos, LogSink}

  @moduletag :chaos
  @moduletag timeout: :infinity

  @lanes 16
  @retry %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 0}}
  @retried [:rate_limited, :overloaded, :server, :timeout, :network, :bad_response]
  # A call that meets the longest fault (a stall, retried) ends well within this.
  @call_deadline_ms 60_000

  defp seed do
    case System.get_env("SWITCHBOARD_CHAOS_SEED") do
      nil -> :rand.uniform(1_000_000_000)
      s -> String.to_integer(s)
    end
  end

  defp total_calls do
    case System.get_env("SWITCHBOARD_CHAOS_CALLS") do
      nil -> 2_000
      s -> String.to_integer(s)
    end
  end

  setup_all do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    %{pem: pem}
  end

  test "every faulty call has one defined outcome, no secret shows and memory stays flat", ctx do
    seed = seed()
    total = total_calls()
    sink = LogSink.attach()

    try do
      lanes = Enum.map(0..(@lanes - 1), &lane(&1, ctx.pem))

      # Warm-up: a fifth of the calls, so that what stays allocated
      # (connection pools, tokens, scheduler state) is in the baseline.
      warm = div(total, 5)
      first = run(lanes, seed, 0, warm)
      before = memory()
      second = run(lanes, seed, warm, total - warm)
      after_run = memory()

      tally = merge(first, second)
      report = report(seed, tally, before, after_run)
      IO.puts("\n" <> report)

      assert tally.problems == [],
             "chaos seed #{seed}: #{length(tally.problems)} problems, first ones:\n" <>
               Enum.map_join(Enum.take(tally.problems, 20), "\n", &inspect/1)

      assert tally.calls == total
      # Every fault was met, and every kind it stands for was seen.
      assert tally.ok > 0

      logs = LogSink.text(sink)
      secrets = Enum.flat_map(lanes, & &1.secrets)

      for secret <- secrets, form <- Chaos.echoes(secret) do
        refute String.contains?(logs, form),
               "chaos seed #{seed}: #{inspect(form)} in the logs"
      end

      # Memory: the BEAM and the OS process (the NIF's heap included) after
      # four fifths of the calls, against the warm-up's figures.
      assert after_run.beam - before.beam < 64 * 1024 * 1024, report
      assert after_run.rss - before.rss < 192 * 1024 * 1024, report
    after
      LogSink.detach(sink)
    end
  end

  # --- the lanes -------------------------------------------------------------

  defp lane(i, pem) do
    tag = "#{System.unique_integer([:positive])}x#{i}"
    retry? = rem(i, 2) == 1

    leaves =
      for provider <- Chaos.providers() do
        sc = "chaos-#{tag}-#{provider}"
        secrets = Chaos.secrets(tag, provider)
        sa = vertex_account(provider, tag, pem, secrets)
        policy = if retry?, do: "Once"

        {provider,
         %{
           sc: sc,
           secrets: secrets,
           client: Chaos.leaf(provider, provider, sc, secrets, sa, policy)
         }}
      end
      |> Map.new()

    providers = Chaos.providers()
    n = length(providers)
    fallback = [Enum.at(providers, rem(i, n)), Enum.at(providers, rem(i + 3, n))]
    rr = [Enum.at(providers, rem(i + 5, n)), Enum.at(providers, rem(i + 7, n))]

    clients =
      Enum.map(leaves, fn {_, l} -> l.client end) ++
        [
          %{name: "F", provider: "fallback", options: %{strategy: fallback}},
          %{name: "RR", provider: "round-robin", options: %{strategy: rr}}
        ]

    config = %{clients: clients, retry_policies: %{"Once" => @retry}, primary: "F"}

    %{
      index: i,
      registry: registry!(config),
      leaves: leaves,
      fallback: fallback,
      round_robin: rr,
      retries: if(retry?, do: 1, else: 0),
      secrets: leaves |> Map.values() |> Enum.flat_map(&Chaos.secret_values(&1.secrets))
    }
  end

  # Each Vertex leaf has a service account of its own (tokens are shared by
  # identity) whose token endpoint hands out the leaf's own access token.
  defp vertex_account(provider, tag, pem, secrets)
       when provider in ["vertex-ai", "vertex-claude"] do
    email =
      "chaos-#{String.replace(tag, "x", "-")}-#{provider}@chaos-proj.iam.gserviceaccount.com"

    Mock.add_google_key(mock(), %{"client_email" => email, "private_key" => pem})
    token_sc = "chaos-tok-#{tag}-#{provider}"
    :ok = Mock.script(mock(), token_sc, [%{access_token: secrets.access_token, repeat: -1}])
    Chaos.service_account(email, pem, token_sc)
  end

  defp vertex_account(_provider, _tag, _pem, _secrets), do: nil

  defp run(lanes, seed, from, count) do
    per_lane =
      for i <- 0..(@lanes - 1),
          do: div(count, @lanes) + if(i < rem(count, @lanes), do: 1, else: 0)

    lanes
    |> Enum.zip(per_lane)
    |> Task.async_stream(
      fn {lane, n} ->
        # One stream of random choices per lane and phase, from the seed.
        :rand.seed(:exsss, {seed, lane.index, from})
        tally = Enum.reduce(1..n//1, empty(), fn k, acc -> one_call(lane, from + k, acc) end)
        # Nothing may arrive for any call after its terminal message.
        strays = drain([])

        %{
          tally
          | problems: tally.problems ++ Enum.map(strays, &{:after_terminal, lane.index, &1})
        }
      end,
      timeout: :infinity,
      ordered: false
    )
    |> Enum.reduce(empty(), fn {:ok, t}, acc -> merge(acc, t) end)
  end

  defp empty, do: %{calls: 0, ok: 0, errors: %{}, faults: %{}, problems: []}

  defp merge(a, b) do
    %{
      calls: a.calls + b.calls,
      ok: a.ok + b.ok,
      errors: Map.merge(a.errors, b.errors, fn _, x, y -> x + y end),
      faults: Map.merge(a.faults, b.faults, fn _, x, y -> x + y end),
      problems: a.problems ++ b.problems
    }
  end

  # --- one call --------------------------------------------------------------

  defp one_call(lane, n, tally) do
    mode = if :rand.uniform(2) == 1, do: :plain, else: :stream

    {target, children} =
      case :rand.uniform(10) do
        k when k <= 7 ->
          p = Enum.random(Chaos.providers())
          {p, [p]}

        8 ->
          {"F", lane.fallback}

        _ ->
          {"RR", lane.round_robin}
      end

    # Two answers per leaf: the first attempt's and its retry's.
    plans =
      Map.new(Enum.uniq(children), fn p ->
        answers =
          for attempt <- 1..2 do
            {_w, fault, step_fun, expected} = Chaos.pick(Chaos.faults(mode, p))
            content = "chaos call #{n} #{p} attempt #{attempt} " <> words(n)
            leaf = lane.leaves[p]

            step =
              step_fun.(%{
                n: n,
                content: content,
                provider: p,
                secrets: Chaos.secret_values(leaf.secrets)
              })

            %{fault: fault, step: step, expected: expected, content: content}
          end

        {p, answers}
      end)

    for {p, answers} <- plans do
      :ok = Mock.script(mock(), lane.leaves[p].sc, Enum.map(answers, & &1.step))
    end

    expected =
      case target do
        "RR" ->
          # Either child may take the call: the outcome must be one of theirs
          # (each answer's text names its leaf and attempt).
          {:either, Enum.map(lane.round_robin, &leaf_outcome(plans[&1], lane.retries))}

        "F" ->
          fallback_outcome(Enum.map(lane.fallback, &plans[&1]), lane.retries)

        p ->
          leaf_outcome(plans[p], lane.retries)
      end

    faults = plans |> Map.values() |> List.flatten() |> Enum.map(& &1.fault)
    result = perform(lane, target, mode, n)
    check(lane, n, mode, target, expected, faults, result, tally)
  end

  defp words(n), do: Enum.map_join(1..(3 + rem(n, 7)), " ", &"w#{&1}")

  # What a leaf with `retries` retries makes of its scripted answers.
  defp leaf_outcome([first, second], retries) do
    cond do
      first.expected == :ok -> {:ok, first.content}
      retries > 0 and first.expected in @retried -> outcome_of(second)
      true -> outcome_of(first)
    end
  end

  defp outcome_of(%{expected: :ok, content: c}), do: {:ok, c}
  defp outcome_of(%{expected: kind}), do: {:error, kind}

  defp fallback_outcome([a, b], retries) do
    case leaf_outcome(a, retries) do
      {:ok, _} = ok -> ok
      {:error, _} -> leaf_outcome(b, retries)
    end
  end

  defp perform(lane, target, mode, n) do
    prompt = "chaos question #{n}"

    call =
      case mode do
        :plain -> Switchboard.async(lane.registry, prompt, client: target)
        :stream -> Switchboard.stream_to(lane.registry, prompt, client: target)
      end

    await_terminal(call, "", [], System.monotonic_time(:millisecond) + @call_deadline_ms)
  end

  # Waits for the call's terminal message, acknowledging chunks; returns
  # the terminal and the text streamed since the last reset.
  defp await_terminal(%{ref: ref} = call, text, seen, deadline) do
    wait = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {^ref, {:chunk, chunk}} ->
        Switchboard.ack(call)
        await_terminal(call, text <> chunk.text, [chunk | seen], deadline)

      {^ref, {:reset, attempt}} ->
        Switchboard.ack(call)
        await_terminal(call, "", [attempt | seen], deadline)

      {^ref, {status, _} = terminal} when status in [:ok, :error] ->
        {terminal, text, seen}

      other ->
        {:stray, other, seen}
    after
      wait -> {:no_terminal, text, seen}
    end
  end

  defp check(lane, n, mode, target, expected, faults, result, tally) do
    tally = %{tally | calls: tally.calls + 1, faults: count_all(tally.faults, faults)}
    where = %{lane: lane.index, call: n, mode: mode, target: target, faults: faults}

    {problems, tally} =
      case {result, expected} do
        {{{:ok, %Response{content: content}}, streamed, _}, expected} ->
          ok = %{tally | ok: tally.ok + 1}

          cond do
            not expects_ok?(expected, content) ->
              {[{:unexpected_success, where, expected, content}], ok}

            mode == :stream and streamed != content ->
              {[{:streamed_text_differs, where, streamed, content}], ok}

            true ->
              {[], ok}
          end

        {{{:error, %Error{kind: kind} = e}, _, _}, expected} ->
          errors = %{tally | errors: Map.update(tally.errors, kind, 1, &(&1 + 1))}

          if expects_error?(expected, kind),
            do: {[], errors},
            else: {[{:wrong_outcome, where, expected, kind, e.message}], errors}

        {{:stray, message, _}, _} ->
          {[{:stray_before_terminal, where, message}], tally}

        {{:no_terminal, _, _}, _} ->
          {[{:no_terminal, where}], tally}
      end

    leaks = leaks(lane, result)
    leak_problems = Enum.map(leaks, &{:secret_shown, where, &1})
    %{tally | problems: tally.problems ++ problems ++ leak_problems}
  end

  defp expects_ok?({:either, outcomes}, content), do: Enum.any?(outcomes, &(&1 == {:ok, content}))
  defp expects_ok?(outcome, content), do: outcome == {:ok, content}

  defp expects_error?({:either, outcomes}, kind), do: {:error, kind} in outcomes
  defp expects_error?(outcome, kind), do: outcome == {:error, kind}

  defp count_all(map, keys), do: Enum.reduce(keys, map, &Map.update(&2, &1, 1, fn c -> c + 1 end))

  # Every form of every credential of the lane, searched for in what the
  # user sees: the result (with its attempts), its exception message, the
  # chunks and resets.
  defp leaks(lane, result) do
    shown =
      case result do
        {{_, value} = terminal, _, seen} ->
          message = if match?(%Error{}, value), do: Exception.message(value), else: ""
          [inspect_all(terminal), message | Enum.map(seen, &inspect_all/1)]

        {_, _, seen} ->
          Enum.map(seen, &inspect_all/1)
      end
      |> Enum.join("\n")

    for secret <- lane.secrets,
        form <- Chaos.echoes(secret),
        String.contains?(shown, form),
        do: form
  end

  defp inspect_all(term), do: inspect(term, limit: :infinity, printable_limit: :infinity)

  defp drain(acc) do
    receive do
      message -> drain([message | acc])
    after
      300 -> Enum.reverse(acc)
    end
  end

  # --- memory ----------------------------------------------------------------

  defp memory do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    %{beam: :erlang.memory(:total), rss: rss_bytes()}
  end

  defp rss_bytes do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(0, fn
      "VmRSS:" <> rest -> rest |> String.split() |> hd() |> String.to_integer() |> Kernel.*(1024)
      _ -> nil
    end)
  end

  defp report(seed, tally, before, after_run) do
    mb = fn bytes -> Float.round(bytes / 1_048_576, 1) end

    """
    chaos seed #{seed}: #{tally.calls} calls, #{tally.ok} answered, errors #{inspect(tally.errors)}
    faults met: #{inspect(Enum.sort(tally.faults))}
    problems: #{length(tally.problems)}
    memory after warm-up / at the end: BEAM #{mb.(before.beam)} / #{mb.(after_run.beam)} MB, RSS #{mb.(before.rss)} / #{mb.(after_run.rss)} MB
    """
  end
end
