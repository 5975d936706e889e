# What reading structured output costs per call, in one run against the
# bundled mock server:
#
#   MIX_ENV=prod mix run bench/structured.exs [calls] [in_flight] [rounds]
#
# One OpenAI client answers every call with the same 20-field health report
# (JSON, 744 bytes). Rounds alternate between plain calls, calls with a
# one-keyword schema (`%{"type" => "object"}`: the answer is decoded,
# checked and returned as `parsed`, but the schema is tiny) and calls with
# the report's schema (20 fields, a nested array of objects, enums), with
# `in_flight` outstanding from one process. The answer is the same bytes in
# every mode. CPU is user+system time of the BEAM (every thread: schedulers
# and the NIF's runtime), from /proc; run with
# `elixir --erl "+sbwt none +sbwtdcpu none +sbwtdio none" -S mix run ...`
# so spinning idle schedulers do not count.

Code.require_file("lib/drive.exs", __DIR__)

defmodule Bench.Structured do
  @statuses ["ok", "warn", "fail"]

  @schema %{
    "type" => "object",
    "additionalProperties" => false,
    "required" => ~w(node healthy status score uptime_s load_1m load_5m load_15m memory_total_mb
         memory_used_mb run_queue process_count port_count atom_count ets_tables
         schedulers otp_release checked_at checks warnings),
    "properties" => %{
      "node" => %{"type" => "string"},
      "healthy" => %{"type" => "boolean"},
      "status" => %{"enum" => @statuses},
      "score" => %{"type" => "integer", "minimum" => 0, "maximum" => 100},
      "uptime_s" => %{"type" => "integer"},
      "load_1m" => %{"type" => "number"},
      "load_5m" => %{"type" => "number"},
      "load_15m" => %{"type" => "number"},
      "memory_total_mb" => %{"type" => "integer"},
      "memory_used_mb" => %{"type" => "integer"},
      "run_queue" => %{"type" => "integer"},
      "process_count" => %{"type" => "integer"},
      "port_count" => %{"type" => "integer"},
      "atom_count" => %{"type" => "integer"},
      "ets_tables" => %{"type" => "integer"},
      "schedulers" => %{"type" => "integer"},
      "otp_release" => %{"type" => "string"},
      "checked_at" => %{"type" => "string"},
      "checks" => %{
        "type" => "array",
        "items" => %{
          "type" => "object",
          "required" => ["name", "status", "detail"],
          "properties" => %{
            "name" => %{"type" => "string"},
            "status" => %{"enum" => @statuses},
            "detail" => %{"type" => "string"}
          }
        }
      },
      "warnings" => %{"type" => "array", "items" => %{"type" => "string"}}
    }
  }

  @report ~s({"node": "app@host-1", "healthy": true, "status": "warn", "score": 87,
"uptime_s": 1209600, "load_1m": 0.42, "load_5m": 0.38, "load_15m": 0.31,
"memory_total_mb": 24576, "memory_used_mb": 9120, "run_queue": 0,
"process_count": 5231, "port_count": 118, "atom_count": 61234, "ets_tables": 87,
"schedulers": 2, "otp_release": "27", "checked_at": "2026-12-07T03:00:00Z",
"checks": [{"name": "db", "status": "ok", "detail": "12 ms round trip"},
{"name": "cache", "status": "ok", "detail": "hit rate 0.97"},
{"name": "queue", "status": "warn", "detail": "backlog 1200 jobs"},
{"name": "disk", "status": "ok", "detail": "41% used"},
{"name": "tls", "status": "ok", "detail": "certificate valid for 60 days"}],
"warnings": ["queue backlog above 1000"]})

  @modes [:plain, :small_schema, :report_schema]

  defp opts(:plain), do: []
  defp opts(:small_schema), do: [output_schema: %{"type" => "object"}]
  defp opts(:report_schema), do: [output_schema: @schema]

  def run(total, in_flight, rounds) do
    mock = Switchboard.Mock.start!()
    :ok = Switchboard.Mock.script(mock, "report", [%{content: @report, repeat: -1}])
    base = Switchboard.Mock.base_url(mock, "report", "openai")

    reg =
      Switchboard.Registry.new!(%{
        clients: [
          %{
            name: "A",
            provider: "openai",
            options: %{base_url: base, model: "gpt-4o-mini", api_key: "sk-bench"}
          }
        ]
      })

    {:ok, %{parsed: %{"checks" => [_ | _]}}} = Switchboard.call(reg, "q", opts(:report_schema))

    # Warm the connection pool and every code path.
    for mode <- @modes, do: Bench.Drive.run(reg, 2_000, in_flight, opts(mode))

    results =
      for _ <- 1..rounds, mode <- @modes do
        {mode, measure(reg, total, in_flight, opts(mode))}
      end

    IO.puts(
      "#{total} calls x #{rounds} rounds, #{in_flight} in flight, " <>
        "#{System.schedulers_online()} schedulers, answer #{byte_size(@report)} bytes\n"
    )

    IO.puts("| call | calls/s, median (best) | client CPU per call, median (lowest) |")
    IO.puts("|---|---:|---:|")

    medians =
      for mode <- @modes do
        rows = for {^mode, r} <- results, do: r
        per_s = rows |> Enum.map(& &1.per_s) |> Enum.sort()
        cpu = rows |> Enum.map(& &1.cpu_us) |> Enum.sort()

        {median(per_s), median(cpu)}
        |> tap(fn {p, c} ->
          IO.puts(
            "| #{mode} | #{round(p)} (#{round(List.last(per_s))}) " <>
              "| #{round(c)} µs (#{round(hd(cpu))}) |"
          )
        end)
      end

    [{_, plain_cpu}, {_, small_cpu}, {_, report_cpu}] = medians

    IO.puts(
      "\nadded CPU per call: #{round(small_cpu - plain_cpu)} µs with the one-keyword schema, " <>
        "#{round(report_cpu - plain_cpu)} µs with the report's"
    )

    IO.puts("\nevery round, in order:")

    for {mode, r} <- results do
      IO.puts("  #{mode}: #{round(r.per_s)}/s, #{round(r.cpu_us)} µs CPU per call")
    end

    Switchboard.Mock.stop(mock)
  end

  defp measure(reg, total, in_flight, opts) do
    cpu0 = cpu_s()
    {micros, ^total} = :timer.tc(fn -> Bench.Drive.run(reg, total, in_flight, opts) end)
    cpu1 = cpu_s()
    %{per_s: total / (micros / 1_000_000), cpu_us: (cpu1 - cpu0) * 1_000_000 / total}
  end

  # utime + stime of this OS process, in seconds (clock ticks of 1/100 s).
  defp cpu_s do
    fields = File.read!("/proc/self/stat") |> String.split(") ") |> List.last() |> String.split()

    (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) / 100
  end

  defp median(sorted), do: Enum.at(sorted, div(length(sorted), 2))
end

[total, in_flight, rounds] =
  case Enum.map(System.argv(), &String.to_integer/1) do
    [t, c, r] -> [t, c, r]
    [t, c] -> [t, c, 5]
    [t] -> [t, 100, 5]
    [] -> [10_000, 100, 5]
  end

Bench.Structured.run(total, in_flight, rounds)
