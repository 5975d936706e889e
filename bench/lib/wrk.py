"""Run wrk once and write its figures in the harness's result schema.

    python3 bench/lib/wrk.py --workload a --url URL --connections 100 \
        --threads 2 --duration 10 [--stream] --out bench/results/wrk-a.json

wrk's text summary is printed as it is; the figures come from the JSON
line that bench/lib/wrk.lua prints from wrk's done() hook.
"""

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

LUA = Path(__file__).resolve().parent / "wrk.lua"
MARKER = "WRK_RESULT "


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_wrk(args):
    cmd = [
        "wrk", "--latency",
        f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "-s", str(LUA), args.url,
    ]
    if args.stream:
        cmd += ["--", "stream"]
    cpu_before = children_cpu_s()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          timeout=args.duration + 60)
    cpu = children_cpu_s() - cpu_before
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"wrk exited with {proc.returncode}")
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        sys.exit("wrk printed no result line")
    return json.loads(line[len(MARKER):]), cpu


def to_result(args, raw, cpu):
    e = raw  # the error counters sit at the top level of wrk.lua's line
    errors = sum(e[k] for k in ("connect", "read", "write", "status", "timeout"))
    wall = raw["duration_us"] / 1e6
    requests = raw["requests"]
    kind = "streams" if args.stream else "requests"
    return {
        "runner": "wrk",
        "workload": args.workload,
        "calls": requests,
        "in_flight": args.connections,
        "completed": requests - e["status"],
        "errors": errors,
        "wall_s": round(wall, 4),
        "per_s": round(requests / wall, 2),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "cpu_s": round(cpu, 4),
        "cpu_per_call_ms": round(cpu * 1000 / requests, 5) if requests else None,
        "rss_before_bytes": None,
        "rss_peak_bytes": None,
        "per_inflight_bytes": None,
        "notes": (
            f"wrk {args.threads} threads, {args.connections} connections, "
            f"{args.duration} s; per_s = {kind}/s; errors: "
            f"connect {e['connect']}, read {e['read']}, write {e['write']}, "
            f"status {e['status']}, timeout {e['timeout']}"
        ),
        "bytes_read": raw["bytes"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--stream", action="store_true")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    raw, cpu = run_wrk(args)
    out = to_result(args, raw, cpu)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
