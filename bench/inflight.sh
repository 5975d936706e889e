#!/usr/bin/env bash
# Memory per in-flight call, workloads (c) and (c-h2) alone: starts the mock
# as bench/run.sh does, scripts bench-c (5 s delay), then runs the two
# workloads ROUNDS times, alternating, and prints per-call figures.
# Usage: bench/inflight.sh [ROUNDS] [OUT_DIR]; needs the bench build
# (SWITCHBOARD_NIF_FEATURES=bench MIX_ENV=prod mix compile) first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-$(mktemp -d)}
export MIX_ENV=prod
mkdir -p "$OUT"
WORK=$(mktemp -d)
MOCK_PID=""
# shellcheck source=bench/lib/mock.sh
. bench/lib/mock.sh
trap 'stop_mock; rm -rf "$WORK"' EXIT
start_mock
curl -fsS -X PUT -H 'content-type: application/json' \
  --data '[{"delay_ms": 5000, "repeat": -1}]' "$BASE_URL/_mock/scenarios/bench-c" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  for w in c c-h2; do
    echo "load before round $r $w: $(cut -d' ' -f1-3 /proc/loadavg)"
    mix run --no-compile bench/switchboard_workloads.exs --base-url "$BASE_URL" \
      --workload "$w" --out "$OUT/$w-$r.json" >"$OUT/$w-$r.log" 2>&1 || { tail "$OUT/$w-$r.log"; continue; }
    python3 - "$OUT/$w-$r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = lambda k: d.get(k) and round(d[k] / 1000, 2)
print(f"{d['workload']:5} rss/call {f('per_inflight_bytes')} KB  beam {f('per_inflight_beam_bytes')} KB  malloc {f('per_inflight_malloc_bytes')} KB  errors {d['errors']}  completed {d['completed']}")
PY
  done
done
echo "results in $OUT"
