"""Run h2load once and write its figures in the harness's result schema.

    python3 bench/lib/h2load.py --workload g --url URL --calls 100000 \
        --out bench/results/h2load-g.json

Workload (g)'s reference: nghttp2's h2load puts every request on one
cleartext HTTP/2 connection at once (`-c 1 -m CALLS`), each a POST of the
same chat body Switchboard sends, so the figures say what one connection to
the same server carries when the client is a lean C program. Its peak RSS
is the child's ru_maxrss; its text summary is printed as it is.
"""

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BODY = b'{"model":"m","messages":[{"role":"user","content":"What is the BEAM?"}]}'


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_h2load(args):
    with tempfile.NamedTemporaryFile(suffix=".json") as body:
        body.write(BODY)
        body.flush()
        cmd = [
            "h2load", "-n", str(args.calls), "-c", "1", "-m", str(args.calls),
            "-d", body.name, "-H", "content-type: application/json", args.url,
        ]
        cpu_before = children_cpu_s()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
        cpu = children_cpu_s() - cpu_before
    # ru_maxrss is in KiB on Linux, the largest of any child waited for so far:
    # h2load is this script's only child.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"h2load exited with {proc.returncode}")
    return proc.stdout, cpu, peak


def figure(pattern, text, cast=float):
    m = re.search(pattern, text, re.MULTILINE)
    if m is None:
        sys.exit(f"h2load printed no line matching {pattern!r}")
    return cast(m.group(1))


def to_result(args, text, cpu, peak):
    wall = figure(r"^finished in ([\d.]+)s", text)
    succeeded = figure(r"(\d+) succeeded", text, int)
    failed = figure(r"(\d+) failed", text, int)
    errored = figure(r"(\d+) errored", text, int)
    # "time for request:  min  max  mean  sd  +/- sd", each with its unit.
    mean = re.search(r"^time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b", text, re.MULTILINE)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {
        "runner": "h2load",
        "workload": args.workload,
        "calls": args.calls,
        "in_flight": args.calls,
        "completed": succeeded,
        "errors": failed + errored,
        "wall_s": wall,
        "per_s": round(args.calls / wall, 2),
        "mean_ms": float(mean.group(1)) * scale[mean.group(2)] if mean else None,
        "cpu_s": round(cpu, 4),
        "cpu_per_call_ms": round(cpu * 1000 / args.calls, 5),
        "rss_peak_bytes": peak,
        "per_inflight_bytes": peak / args.calls,
        "notes": (
            f"h2load -n {args.calls} -c 1 -m {args.calls}: one cleartext HTTP/2 "
            "connection, every request at once; per-call bytes are its whole "
            "peak RSS over the calls (no baseline subtracted); h2load reports "
            "no percentiles, mean_ms is its mean time per request"
        ),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    text, cpu, peak = run_h2load(args)
    out = to_result(args, text, cpu, peak)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
