# Providers side by side, in the same run, against the same mock server:
# non-streaming (a 20-word answer) and streaming (20 deltas), `in_flight`
# calls outstanding from one caller process. Rounds alternate between the
# providers so drift on a shared machine hits all of them alike; each
# figure is the median over the rounds.
#
#   mix run bench/providers.exs [calls] [streams] [in_flight] [rounds] [clients]
#
# `clients` is a comma-separated subset of: openai, openai-responses,
# anthropic, google-ai, vertex-ai (a service account: its OAuth token comes from the
# mock's token endpoint once, then from the client's cache), aws-bedrock
# (SigV4, signed on every request), aws-bedrock-key (a Bedrock API key).
# The mock checks no signature here, so every provider costs the server
# only its wire format.
#
# CPU is user+system time of an OS process over the measured round, from
# /proc: the BEAM's (every thread: schedulers and the NIF's tokio runtime)
# is the client's cost; the mock's is shown apart, since each wire format
# costs the server differently. Idle BEAM schedulers spin before they sleep
# and that counts as CPU too, so on a busy machine (calls slowed by other
# load) run with `elixir --erl "+sbwt none +sbwtdcpu none +sbwtdio none"
# -S mix run bench/providers.exs` to count only work.

Code.require_file("lib/clients.exs", __DIR__)

defmodule Bench.Providers do
  @all Bench.Clients.providers()
  @answer Enum.map_join(1..20, " ", &"word#{&1}")

  def run(calls, streams, in_flight, rounds, providers \\ @all) do
    case providers -- @all do
      [] -> :ok
      unknown -> raise ArgumentError, "unknown #{inspect(unknown)}; known: #{inspect(@all)}"
    end

    mock = Switchboard.Mock.start!()
    credentials = if "vertex-ai" in providers, do: Bench.Clients.service_account(mock)

    clients =
      for provider <- providers, mode <- [:plain, :stream] do
        sc = "#{provider}-#{mode}"
        step = if mode == :plain, do: %{content: @answer}, else: %{chunks: 20}
        :ok = Switchboard.Mock.script(mock, sc, [Map.put(step, :repeat, -1)])
        client(provider, sc, mock, credentials)
      end

    reg = Switchboard.Registry.new!(%{clients: clients})

    # Warm the connection pools, the credential caches and every code path.
    for provider <- providers do
      drive(reg, "#{provider}-plain", :plain, 500, in_flight)
      drive(reg, "#{provider}-stream", :stream, 200, in_flight)
    end

    results =
      for _round <- 1..rounds, provider <- providers, mode <- [:plain, :stream] do
        n = if mode == :plain, do: calls, else: streams
        {provider, mode, measure(reg, mock, "#{provider}-#{mode}", mode, n, in_flight)}
      end

    IO.puts(
      "#{System.schedulers_online()} schedulers, #{in_flight} in flight, median of #{rounds} rounds " <>
        "(#{calls} calls / #{streams} streams of 20 deltas each)\n"
    )

    IO.puts(
      "| provider | workload | per second, median (best) | client CPU per call, median (lowest) " <>
        "| mock CPU per call, median (lowest) |"
    )

    IO.puts("|---|---|---:|---:|---:|")

    for mode <- [:plain, :stream], provider <- providers do
      rows = for {^provider, ^mode, r} <- results, do: r
      sorted = fn key -> rows |> Enum.map(&Map.fetch!(&1, key)) |> Enum.sort() end
      median = fn key -> Enum.at(sorted.(key), div(length(rows), 2)) end

      IO.puts(
        "| #{provider} | #{if mode == :plain, do: "call", else: "stream"} " <>
          "| #{round(median.(:per_s))} (#{round(List.last(sorted.(:per_s)))}) " <>
          "| #{ms(median.(:cpu_ms))} (#{ms(hd(sorted.(:cpu_ms)))}) " <>
          "| #{ms(median.(:mock_cpu_ms))} (#{ms(hd(sorted.(:mock_cpu_ms)))}) |"
      )
    end

    IO.puts("\nevery round, in order:")

    for {p, m, r} <- results do
      IO.puts(
        "  #{p} #{m}: #{round(r.per_s)}/s, client #{ms(r.cpu_ms)}, mock #{ms(r.mock_cpu_ms)}"
      )
    end

    Switchboard.Mock.stop(mock)
  end

  defp client(provider, sc, mock, credentials),
    do: Bench.Clients.leaf(provider, sc, mock, credentials)

  defp ms(x), do: "#{:erlang.float_to_binary(x, decimals: 3)} ms"

  defp measure(reg, mock, client, mode, n, in_flight) do
    {cpu0, mock0} = {cpu_s("self"), cpu_s(mock.os_pid)}
    {micros, ^n} = :timer.tc(fn -> drive(reg, client, mode, n, in_flight) end)
    {cpu1, mock1} = {cpu_s("self"), cpu_s(mock.os_pid)}

    %{
      per_s: n / (micros / 1_000_000),
      cpu_ms: (cpu1 - cpu0) * 1000 / n,
      mock_cpu_ms: (mock1 - mock0) * 1000 / n
    }
  end

  # utime + stime of a process, in seconds (clock ticks of 1/100 s).
  defp cpu_s(pid) do
    fields =
      File.read!("/proc/#{pid}/stat") |> String.split(") ") |> List.last() |> String.split()

    (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) / 100
  end

  # Keeps `in_flight` calls outstanding until `total` have answered.
  defp drive(reg, client, mode, total, in_flight) do
    start = min(in_flight, total)
    calls = Map.new(1..start, fn _ -> start_call(reg, client, mode) end)
    loop(reg, client, mode, total, start, 0, calls)
  end

  defp start_call(reg, client, :plain) do
    %Switchboard.Call{ref: ref} = call = Switchboard.async(reg, "q", client: client)
    {ref, call}
  end

  defp start_call(reg, client, :stream) do
    %Switchboard.Call{ref: ref} = call = Switchboard.stream_to(reg, "q", client: client)
    {ref, call}
  end

  defp loop(_reg, _client, _mode, total, _started, done, _calls) when done == total, do: done

  defp loop(reg, client, mode, total, started, done, calls) do
    receive do
      {ref, {:chunk, _}} ->
        Switchboard.ack(Map.fetch!(calls, ref))
        loop(reg, client, mode, total, started, done, calls)

      {ref, {:ok, _}} ->
        calls = Map.delete(calls, ref)

        {started, calls} =
          if started < total do
            {new_ref, call} = start_call(reg, client, mode)
            {started + 1, Map.put(calls, new_ref, call)}
          else
            {started, calls}
          end

        loop(reg, client, mode, total, started, done + 1, calls)

      {_ref, {:error, e}} ->
        raise e
    end
  end
end

{numbers, names} = Enum.split_with(System.argv(), &(&1 =~ ~r/^\d+$/))

{calls, streams, in_flight, rounds} =
  case Enum.map(numbers, &String.to_integer/1) do
    [c, s, f, r] -> {c, s, f, r}
    [c, s, f] -> {c, s, f, 3}
    [c, s] -> {c, s, 100, 3}
    _ -> {20_000, 5_000, 100, 3}
  end

case Enum.flat_map(names, &String.split(&1, ",", trim: true)) do
  [] -> Bench.Providers.run(calls, streams, in_flight, rounds)
  providers -> Bench.Providers.run(calls, streams, in_flight, rounds, providers)
end
