"""The baml-py side of `make bench`: one workload through BAML's runtime.

    bench/.venv/bin/python bench/baml/run.py --base-url http://127.0.0.1:PORT \
        --workload a --out bench/results/baml-a.json

Every call goes through a ClientRegistry pointed at the mock server's
bench-* scenarios (bench/run.sh scripts them). Writes one JSON object in the
result schema of bench/README.md.
"""

import argparse
import asyncio
import importlib.metadata
import json
import os
import resource
import sys
import threading
import time
import urllib.request
from pathlib import Path

# BAML logs every call, prompt and reply, at INFO by default; that would
# price its logger, not its client layer.
os.environ.setdefault("BAML_LOG", "off")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baml_py import ClientRegistry, Collector  # noqa: E402
from baml_client.async_client import b  # noqa: E402

PROMPT = "Say twenty words."
WARMUP_CALLS = 200
RSS_SAMPLE_S = 0.05

# name: (scenario, calls, in flight)
WORKLOADS = {
    "a": ("bench-a", 20_000, 100),
    "b": ("bench-b", 5_000, 100),
    "c": ("bench-c", 10_000, 10_000),
    "d": ("bench-d", 2_000, 1),
    "e": ("bench-e", 5_000, 100),
    "f": ("bench-a", 200, 1),
}
REGISTRY_CLIENTS = 100


def cpu_s():
    """User + system CPU of this process, BAML's Rust threads included."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_bytes():
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def raise_fd_limit():
    """10,000 sockets at once exceed the usual soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class RssSampler:
    """Peak RSS, sampled from a thread so a busy event loop cannot hide it."""

    def __init__(self):
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(RSS_SAMPLE_S):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def leaf(base_url, scenario, http=None):
    options = {
        "base_url": f"{base_url}/s/{scenario}/v1",
        "model": "m",
        "api_key": "x",
    }
    if http:
        options["http"] = http
    return options


def registry(base_url, scenario, http=None):
    cr = ClientRegistry()
    cr.add_llm_client("Bench", "openai-generic", leaf(base_url, scenario, http))
    cr.set_primary("Bench")
    return cr


def fallback_registry(base_url):
    """(e): A always answers 500 and has no retry policy; B answers."""
    cr = ClientRegistry()
    cr.add_llm_client("A", "openai-generic", leaf(base_url, "bench-fail"))
    cr.add_llm_client("B", "openai-generic", leaf(base_url, "bench-e"))
    cr.add_llm_client("F", "fallback", {"strategy": ["A", "B"]})
    cr.set_primary("F")
    return cr


def big_registry(base_url):
    """(f): 100 leaf clients, the last one primary."""
    cr = ClientRegistry()
    for i in range(REGISTRY_CLIENTS):
        cr.add_llm_client(f"C{i}", "openai-generic", leaf(base_url, "bench-a"))
    cr.set_primary(f"C{REGISTRY_CLIENTS - 1}")
    return cr


async def call(cr):
    return await b.Chat(PROMPT, baml_options={"client_registry": cr})


PARTIALS = []


async def stream(cr):
    s = b.stream.Chat(PROMPT, baml_options={"client_registry": cr})
    partials = 0
    async for _ in s:
        partials += 1
    await s.get_final_response()
    PARTIALS.append(partials)


async def drive(make_call, calls, in_flight):
    """`calls` calls through `in_flight` workers: (latencies s, errors, wall s)."""
    latencies, errors = [], []
    remaining = iter(range(calls))

    async def worker():
        for _ in remaining:
            start = time.perf_counter()
            try:
                await make_call()
                latencies.append(time.perf_counter() - start)
            except Exception as e:  # noqa: BLE001 -- any failure is a data point
                errors.append(f"{type(e).__name__}: {e}"[:300])

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, errors, time.perf_counter() - start


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[i]


def result(workload, calls, in_flight, latencies, errors, wall, cpu, rss):
    lat = sorted(latencies)
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
    return {
        "runner": "baml-py",
        "workload": workload,
        "calls": calls,
        "in_flight": in_flight,
        "completed": len(latencies),
        "errors": len(errors),
        "wall_s": round(wall, 4),
        "per_s": round(len(latencies) / wall, 2) if wall > 0 else None,
        "p50_ms": None if p50 is None else round(p50 * 1000, 4),
        "p99_ms": None if p99 is None else round(p99 * 1000, 4),
        "cpu_s": round(cpu, 4),
        "cpu_per_call_ms": round(cpu * 1000 / calls, 4),
        "rss_before_bytes": rss[0],
        "rss_peak_bytes": rss[1],
        "per_inflight_bytes": None,
        "notes": "",
        "baml_py_version": importlib.metadata.version("baml-py"),
        "first_errors": sorted(set(errors))[:3],
    }


async def run_calls(workload, cr, calls, in_flight, make_call):
    await drive(lambda: make_call(cr), min(WARMUP_CALLS, calls), min(in_flight, 100))
    rss_before, cpu_before = rss_bytes(), cpu_s()
    with RssSampler() as rss:
        lat, errors, wall = await drive(lambda: make_call(cr), calls, in_flight)
    cpu = cpu_s() - cpu_before
    return result(workload, calls, in_flight, lat, errors, wall, cpu, (rss_before, rss.peak))


async def run_in_flight(base_url, calls):
    """(c): every call started at once; RSS sampled while they all wait."""
    # Warm the runtime and its connection pool on the fast scenario first, so
    # the delta is the price of in-flight calls, not of BAML's first call.
    await drive(lambda: call(registry(base_url, "bench-a")), WARMUP_CALLS, 100)
    cr = registry(base_url, "bench-c", http={"request_timeout_ms": 60_000})
    rss_before, cpu_before = rss_bytes(), cpu_s()
    with RssSampler() as rss:
        lat, errors, wall = await drive(lambda: call(cr), calls, calls)
    cpu = cpu_s() - cpu_before
    out = result("c", calls, calls, lat, errors, wall, cpu, (rss_before, rss.peak))
    out["per_inflight_bytes"] = round((rss.peak - rss_before) / calls, 1)
    return out


async def median_call_ms(cr, n=20):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await call(cr)
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[n // 2]


async def run_registry(base_url, builds):
    """(f): build a 100-client registry `builds` times."""
    times = []
    cpu_before, start = cpu_s(), time.perf_counter()
    for _ in range(builds):
        t = time.perf_counter()
        big_registry(base_url)
        times.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - start, cpu_s() - cpu_before
    rss = rss_bytes()
    out = result("f", builds, 1, times, [], wall, cpu, (rss, rss))
    # BAML only checks a registry when a call uses it, so a build is cheap
    # and an invalid one fails later; price that first call, and the calls
    # after it against those through a one-client registry.
    cr = big_registry(base_url)
    t = time.perf_counter()
    await call(cr)
    first = (time.perf_counter() - t) * 1000
    big, small = await median_call_ms(cr), await median_call_ms(registry(base_url, "bench-a"))
    out["first_call_ms"] = round(first, 3)
    out["notes"] = (
        "per_s = registry builds/s; add_llm_client checks only the provider name "
        "(options, strategy members and the primary are checked when a call uses "
        f"the registry): first call with a fresh 100-client "
        f"registry {first:.2f} ms; later calls p50 {big:.2f} ms through it vs "
        f"{small:.2f} ms through a 1-client registry"
    )
    return out


def script(base_url, scenario, steps):
    """Scripts a mock scenario through its JSON control API."""
    req = urllib.request.Request(
        f"{base_url}/_mock/scenarios/{scenario}",
        data=json.dumps(steps).encode(),
        method="PUT",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


async def fallback_attempts(base_url):
    collector = Collector(name="fallback")
    await b.Chat(PROMPT, baml_options={
        "client_registry": fallback_registry(base_url), "collector": collector})
    clients = [c.client_name for c in collector.last.calls]
    return f"HTTP attempts per fallback call: {len(clients)} ({', '.join(clients)})"


def closed_connections(port):
    """Sockets to `port` that this host closed first (TIME_WAIT, state 06)."""
    with open("/proc/net/tcp", encoding="ascii") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if r[3] == "06" and int(r[2].split(":")[1], 16) == port)


async def connections_per_call(base_url, calls=50):
    port = int(base_url.rsplit(":", 1)[1])
    before = closed_connections(port)
    cr = registry(base_url, "bench-d")
    for _ in range(calls):
        await call(cr)
    return (closed_connections(port) - before) / calls


async def behaviour(base_url):
    """What this baml-py does on the wire, checked now rather than assumed."""
    version = importlib.metadata.version("baml-py")
    facts = [f"baml-py {version}; BAML_LOG={os.environ['BAML_LOG']} (by default BAML "
             "logs every call at INFO, prompt and reply included)"]
    script(base_url, "baml-probe", [{"status": 500}, {"content": "ok", "repeat": -1}])
    try:
        await call(registry(base_url, "baml-probe"))
        facts.append("retried a 500 without a retry_policy")
    except Exception:  # noqa: BLE001 -- the error itself is the answer
        facts.append("no retry of a 500 without a retry_policy")
    collector = Collector(name="probe")
    s = b.stream.Chat(PROMPT, baml_options={
        "client_registry": registry(base_url, "bench-b"), "collector": collector})
    async for _ in s:
        pass
    await s.get_final_response()
    body = collector.last.calls[-1].http_request.body.json()
    facts.append(f"streaming request body keys {sorted(body)} "
                 f"(stream_options {'sent' if 'stream_options' in body else 'not sent'})")
    roles = [m["role"] for m in body.get("messages", [])]
    facts.append(f"the prompt goes out as messages with roles {roles}")
    per_call = await connections_per_call(base_url)
    facts.append(f"{per_call:.2f} TCP connections opened and closed per sequential call "
                 "(1.00: no keep-alive reuse)")
    facts.append("no default timeouts (BAML docs); (c) sets request_timeout_ms 60000")
    return facts


async def run(base_url, workload, calls=None):
    scenario, default_calls, in_flight = WORKLOADS[workload]
    calls = calls or default_calls
    if workload == "c":
        out = await run_in_flight(base_url, calls)
    elif workload == "f":
        out = await run_registry(base_url, calls)
    else:
        cr = fallback_registry(base_url) if workload == "e" else registry(base_url, scenario)
        make_call = stream if workload == "b" else call
        out = await run_calls(workload, cr, calls, in_flight, make_call)
    notes = [out["notes"]] if out["notes"] else []
    if PARTIALS:
        out["partials_per_stream"] = round(sum(PARTIALS) / len(PARTIALS), 2)
        notes.append(f"{out['partials_per_stream']} partials per 20-chunk stream on "
                     "average (BAML coalesces deltas that arrive together)")
    if workload == "e":
        notes.append(await fallback_attempts(base_url))
    out["notes"] = "; ".join(notes)
    out["behaviour"] = await behaviour(base_url)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    p.add_argument("--out", required=True)
    p.add_argument("--calls", type=int, help="override the call count (smoke tests)")
    args = p.parse_args()
    raise_fd_limit()
    out = asyncio.run(run(args.base_url.rstrip("/"), args.workload, args.calls))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(
        f"baml-py {args.workload}: {out['completed']}/{out['calls']} ok, "
        f"{out['per_s']}/s, p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, "
        f"cpu/call {out['cpu_per_call_ms']} ms, errors {out['errors']}"
    )


if __name__ == "__main__":
    main()
