"""Write the Markdown report of one `make bench` run and print it.

    python3 bench/lib/report.py --results bench/results --venv bench/.venv

Reads wrk-<w>.json, switchboard-<w>.json and baml-<w>.json for each
workload w (see bench/README.md for the schema). A missing file is reported as
"not run" and a file with a "failed" key as "failed", so a partial run still
gives a report.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

# (result file prefix, column title)
RUNNERS = [
    ("wrk", "wrk"), ("switchboard", "Switchboard"), ("baml", "baml-py"), ("h2load", "h2load"),
]

WORKLOADS = {
    "a": "(a) non-streaming chat, 20-word answer, 100 in flight, 20,000 calls",
    "b": "(b) streaming chat, 20 chunks, 100 in flight, 5,000 streams",
    "c": "(c) 10,000 calls in flight at once, 5 s server delay (HTTP/1.1)",
    "c-h2": "(c) the same over cleartext HTTP/2, one connection (Switchboard only)",
    "d": "(d) 1 in flight, 2,000 sequential calls",
    "e": "(e) fallback: first client always 500 (no retry), second answers; "
         "100 in flight, 5,000 calls",
    "f": "(f) build a registry of 100 clients, 200 times",
    "g": "(g) 100,000 calls in flight at once over one HTTP/2 connection, 10 s server delay",
    "g-h1": "(g) the same over HTTP/1.1, a connection per call: as many as the "
            "descriptor limit allows (Switchboard only)",
}

MB = 1024 * 1024

# (label, key, format); rows other than CORE_KEYS that no runner filled are
# left out.
ROWS = [
    ("calls", "calls", "{:,}"),
    ("in flight", "in_flight", "{:,}"),
    ("completed", "completed", "{:,}"),
    ("errors", "errors", "{:,}"),
    ("second terminal messages", "extra_terminal_messages", "{:,}"),
    ("s to start every call", "start_s", "{:.3f}"),
    ("wall s", "wall_s", "{:.3f}"),
    ("per second", "per_s", "{:,.1f}"),
    ("p50 ms", "p50_ms", "{:.3f}"),
    ("p99 ms", "p99_ms", "{:.3f}"),
    ("mean ms", "mean_ms", "{:.3f}"),
    ("CPU s (client process)", "cpu_s", "{:.3f}"),
    ("CPU per call ms", "cpu_per_call_ms", "{:.4f}"),
    ("RSS before MiB", "rss_before_bytes", "mib"),
    ("RSS peak MiB", "rss_peak_bytes", "mib"),
    ("RSS after the last answer MiB", "rss_after_bytes", "mib"),
    ("bytes per in-flight call", "per_inflight_bytes", "{:,.0f}"),
    ("… of it the BEAM's allocators", "per_inflight_beam_bytes", "{:,.0f}"),
    ("… of it malloc (the NIF: runtime, HTTP, ours)", "per_inflight_malloc_bytes", "{:,.0f}"),
    ("RSS 30 s after the burst MiB", "rss_after_30s_bytes", "mib"),
    ("… over RSS before", "rss_after_ratio", "{:.2f}"),
    ("… within 20% of it after s", "rss_within_20pct_after_s", "{:,}"),
    ("mock server CPU s (whole step)", "mock_cpu_s", "{:.2f}"),
    ("mock server CPU per call ms (≈, over the step's calls)", "mock_cpu_per_call_ms", "{:.4f}"),
    ("longest NIF call µs", "max_nif_us", "{:,.1f}"),
    ("NIF calls", "nif_calls", "{:,}"),
    ("NIF calls over 100 µs", "nif_calls_over_100us", "{:,}"),
    ("mean NIF call µs", "mean_nif_us", "{:,.2f}"),
    ("long_schedule events", "long_schedule_events", "{:,}"),
    ("first call with it ms", "first_call_ms", "{:.3f}"),
]


# Shown even when no runner has them, so a failed run still reads as a table.
CORE_KEYS = {"calls", "completed", "errors", "per_s", "p50_ms", "p99_ms", "cpu_per_call_ms"}


def sh(*cmd):
    """First line of a version command's output, or "?" if it is missing."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    out = (p.stdout or p.stderr).strip().splitlines()
    return out[0].strip() if out else "?"


def read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        return {"failed": f"unreadable {path.name}: {e}"}


def load(results):
    data = {}
    for runner, _ in RUNNERS:
        for w in WORKLOADS:
            r = read_json(results / f"{runner}-{w}.json")
            if r is None:
                continue
            # run.sh's reading of the mock server's CPU during the same step.
            mock = read_json(results / f"mock-{runner}-{w}.json") or {}
            cpu = mock.get("mock_cpu_s")
            if cpu is not None and "failed" not in r and w != "f" and r.get("calls"):
                r["mock_cpu_s"] = cpu
                # Runners that repeat rounds say how many calls the whole
                # step made (warm-ups included); the mock served them all.
                r["mock_cpu_per_call_ms"] = cpu * 1000 / r.get("step_calls", r["calls"])
            data[runner, w] = r
    return data


def meminfo_gib():
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / MB:.1f} GiB"
    return "?"


def os_name():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            fields = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)
        return fields.get("PRETTY_NAME", "?").strip('"')
    except OSError:
        return "?"


def cpu_model():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def word(text, i):
    """The i-th word of a version line ("rustc 1.95.0 (...)" -> "1.95.0")."""
    parts = text.split()
    return parts[i] if len(parts) > i else text


def tool_versions(venv):
    py = str(venv / "bin" / "python")
    otp = sh("erl", "-noshell", "-eval",
             'io:format("~s~n", [erlang:system_info(otp_release)]), halt().')
    elixir = sh("elixir", "-e", "IO.puts(System.version())")
    baml = sh(py, "-c", "import importlib.metadata as m; print(m.version('baml-py'))")
    return {
        "Erlang/OTP": otp,
        "Elixir": elixir,
        "rustc": word(sh("rustc", "--version"), 1),
        "Python": word(sh(py, "--version"), 1),
        "baml-py": baml,
        "wrk": word(sh("wrk", "-v"), 1),
        "h2load": word(sh("h2load", "--version"), 1),
    }


def git_sha():
    return sh("git", "rev-parse", "--short", "HEAD")


def tree_state():
    """Whether the measured code differs from the commit the report names."""
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], check=False).returncode
    return " (uncommitted changes)" if dirty else ""


def fmt(value, spec):
    if value is None:
        return "–"
    if spec == "mib":
        return f"{value / MB:,.1f}"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def cell_missing(r):
    if r is None:
        return "not run"
    if "failed" in r:
        return "failed"
    return None


def has_column(runner, w):
    """wrk measures only the plain HTTP workloads, h2load only (g); baml-py
    runs neither (g) nor (g-h1)."""
    if runner == "wrk":
        return w in ("a", "b", "d")
    if runner == "h2load":
        return w == "g"
    if runner == "baml":
        return w not in ("g", "g-h1")
    return True


def workload_table(data, w):
    cols = [(data.get((runner, w)), title) for runner, title in RUNNERS if has_column(runner, w)]
    lines = [f"### {WORKLOADS[w]}", ""]
    lines.append("| | " + " | ".join(t for _, t in cols) + " |")
    lines.append("|---|" + "---:|" * len(cols))
    for label, key, spec in ROWS:
        if key == "per_s" and w == "f":
            label = "registry builds per second"
        if key == "p50_ms" and w == "f":
            label = "p50 ms per build"
        present = any(r and r.get(key) is not None for r, _ in cols)
        if not present and key not in CORE_KEYS:
            continue
        cells = [cell_missing(r) or fmt(r.get(key), spec) for r, _ in cols]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = []
    for r, title in cols:
        if r and r.get("failed"):
            notes.append(f"- {title} failed: {r['failed']}")
        elif r and r.get("notes"):
            notes.append(f"- {title}: {r['notes']}")
        if r and r.get("first_errors"):
            notes.append(f"- {title} first errors: {'; '.join(r['first_errors'])}")
    return "\n".join(lines + [""] + notes + [""])


def get(data, runner, w, key):
    r = data.get((runner, w))
    if not r or "failed" in r:
        return None
    return r.get(key)


def target(name, goal, value, passes, shown):
    """One row of the targets table; a missing figure is "not run"."""
    if value is None:
        return name, goal, "–", "not run"
    return name, goal, shown(value), "PASS" if passes(value) else "FAIL"


def ratio(x, y):
    return None if x is None or y is None or y == 0 else x / y


def targets(data):
    sb = "switchboard"
    rows = []
    # Issue 17's goals: 60% of wrk for (a) and (b); 16 KB per in-flight
    # call on HTTP/1.1 and 10 KB on HTTP/2.
    for w, times, share in (("a", 8, 0.60), ("b", 20, 0.60)):
        unit = "calls/s" if w == "a" else "streams/s"
        mine = get(data, sb, w, "per_s")
        rows.append(target(
            f"({w}) Switchboard / baml-py {unit}", f">= {times}x",
            ratio(mine, get(data, "baml", w, "per_s")),
            lambda r, t=times: r >= t, "{:.1f}x".format))
        rows.append(target(
            f"({w}) Switchboard / wrk {unit}", f">= {share:.0%}",
            ratio(mine, get(data, "wrk", w, "per_s")),
            lambda r, t=share: r >= t, "{:.1%}".format))
    rows.append(target(
        "(a) Switchboard CPU per call", "<= 0.15 ms",
        get(data, sb, "a", "cpu_per_call_ms"), lambda v: v <= 0.15, "{:.4f} ms".format))
    for w, proto, most in (("c", "HTTP/1.1", 16_000), ("c-h2", "HTTP/2", 10_000)):
        rows.append(target(
            f"(c) Switchboard bytes per in-flight call, {proto}", f"<= {most:,} B",
            get(data, sb, w, "per_inflight_bytes"), lambda v, m=most: v <= m, "{:,.0f} B".format))
    for w, proto in (("c", "HTTP/1.1"), ("c-h2", "HTTP/2")):
        rows.append(target(
            f"(c) Switchboard RSS 30 s after the burst / before, {proto}", "<= 1.20",
            get(data, sb, w, "rss_after_ratio"), lambda v: v <= 1.2, "{:.2f}".format))
    done, calls = get(data, sb, "c", "completed"), get(data, sb, "c", "calls")
    rows.append(target(
        "(c) Switchboard calls completed", "all 10,000", done,
        lambda v: v == calls == 10_000, lambda v: f"{v:,} of {calls:,}"))
    for w in ("g", "g-h1"):
        calls = get(data, sb, w, "calls")
        ok = get(data, sb, w, "completed")
        if ok is not None:
            ok -= get(data, sb, w, "errors") or 0
        extra = get(data, sb, w, "extra_terminal_messages")
        goal = "all 100,000" if w == "g" else "all"
        rows.append(target(
            f"({w}) Switchboard calls that succeeded, one terminal message each", goal,
            ok, lambda v, c=calls, x=extra, g=w: v == c and x == 0 and (g != "g" or c == 100_000),
            lambda v, c=calls: f"{v:,} of {c:,}"))
    p_sb, p_wrk = get(data, sb, "d", "p50_ms"), get(data, "wrk", "d", "p50_ms")
    added = None if p_sb is None or p_wrk is None else (p_sb - p_wrk) * 1000
    rows.append(target(
        "(d) Switchboard p50 − wrk p50", "<= 100 µs", added,
        lambda v: v <= 100, "{:,.1f} µs".format))
    for w in ("a", "b", "c", "c-h2"):
        nif = get(data, sb, w, "max_nif_us")
        events = get(data, sb, w, "long_schedule_events")
        both = None if nif is None or events is None else (nif, events)
        rows.append(target(
            f"({w}) longest NIF call; long_schedule events", "<= 100 µs; 0", both,
            lambda v: v[0] <= 100 and v[1] == 0,
            lambda v: f"{v[0]:,.1f} µs; {v[1]} events"))
    lines = ["| target | goal | measured | result |", "|---|---|---:|---|"]
    lines += [f"| {t} | {g} | {m} | **{res}** |" for t, g, m, res in rows]
    return "\n".join(lines)


def scheduler_health(data):
    """Why NIF calls ran over 100 µs and what else held the schedulers back."""
    cols = [
        ("longest NIF call µs", "max_nif_us", "{:,.1f}"),
        ("over 100 µs", "nif_calls_over_100us", "{:,}"),
        ("detail round: over 100 µs", "detail_over_100us", "{:,}"),
        ("… preempted", "detail_preempted", "{:,}"),
        ("… page faults", "detail_page_faulted", "{:,}"),
        ("… slept", "detail_slept", "{:,}"),
        ("longest NIF CPU time µs", "detail_longest_cpu_us", "{:,.1f}"),
        ("long_schedule events", "long_schedule_events", "{:,}"),
        ("schedulers' runqueue wait ms", "sched_wait_ms", "{:,.1f}"),
        ("schedulers' involuntary switches", "sched_preempted", "{:,}"),
    ]
    lines = [
        "| | " + " | ".join(label for label, _, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for w in ("a", "b", "c", "c-h2", "d", "e"):
        r = data.get(("switchboard", w))
        if not r or "failed" in r:
            continue
        cells = [fmt(r.get(key), f) for _, key, f in cols]
        lines.append(f"| ({w}) | " + " | ".join(cells) + " |")
    return "\n".join([
        "A NIF call's wall time includes any time the OS took the scheduler "
        "thread away. The detail round (an extra round of (a), (b), (d), (e) "
        "and the one run of (c)) reads the thread's rusage and CPU clock "
        "around every NIF call and sorts each call over 100 µs: the thread "
        "was preempted (involuntary context switch), took page faults (the "
        "kernel mapping fresh memory), or slept (voluntary switch). Runqueue "
        "wait is the time the normal scheduler threads were runnable but had "
        "no CPU during the measured rounds (/proc schedstat).",
        "",
        *lines,
    ])


def baml_behaviour(data):
    """run.py checks the same facts in every workload; say them once."""
    found = [r["behaviour"] for (runner, _), r in sorted(data.items())
             if runner == "baml" and r.get("behaviour")]
    if not found:
        return "not run"
    return "\n".join(f"- {fact}" for fact in found[0])


def soak(results):
    """bench/soak.exs writes its own section (checks and samples)."""
    path = results / "soak.md"
    if not path.exists():
        return "## Soak\n\nnot run (or it failed: see the run output)"
    return path.read_text(encoding="utf-8").strip()


def render(data, results, venv, now, load_before):
    tools = tool_versions(venv)
    with open("/proc/loadavg", encoding="ascii") as f:
        load_now = " ".join(f.read().split()[:3])
    machine = [
        ("cores", str(os.cpu_count())),
        ("memory", meminfo_gib()),
        ("CPU", cpu_model()),
        ("OS", os_name()),
        ("kernel", platform.release()),
        ("tools", ", ".join(f"{k} {v}" for k, v in tools.items())),
        # Anything else busy on two cores skews every figure; this shows it.
        ("load average (1, 5, 15 min)",
         f"{load_before or '?'} before the run, {load_now} after"),
    ]
    out = [
        f"# Switchboard benchmark, {now:%Y-%m-%d %H:%M} UTC, {git_sha()}{tree_state()}",
        "",
        "One run of `make bench` on one machine: wrk (the loopback limit), "
        "Switchboard from Elixir and baml-py against the same release build "
        "of switchboard_mock on 127.0.0.1, one after another. CPU is the "
        "client OS process's user+system time during the measured run; "
        "latencies are per call (start to final result). The mock server's "
        "CPU covers each whole step (warm-up included), so its per-call "
        "figure is approximate except for wrk.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine],
        "",
        "## Targets",
        "",
        targets(data),
        "",
        "## Scheduler health",
        "",
        scheduler_health(data),
        "",
        "## Every figure",
        "",
    ]
    out += [workload_table(data, w) for w in WORKLOADS]
    out += [soak(results), ""]
    out += ["## baml-py, as this run found it", "", baml_behaviour(data), ""]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=Path("bench/results"))
    p.add_argument("--venv", type=Path, default=Path("bench/.venv"))
    p.add_argument("--out", type=Path, help="default: RESULTS/<date>-<sha>.md")
    p.add_argument("--load-before", help="/proc/loadavg's first three fields at the start")
    args = p.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc)
    text = render(load(args.results), args.results, args.venv, now, args.load_before)
    out = args.out or args.results / f"{now:%Y-%m-%d}-{git_sha()}.md"
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {out})")


if __name__ == "__main__":
    main()
