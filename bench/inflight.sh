#!/usr/bin/env bash
# Memory per in-flight call, workloads (c) and (c-h2) alone: starts the mock
# as bench/run.sh does, scripts bench-c (5 s delay), then runs the two
# workloads ROUNDS times, alternating, and prints per-call figures.
# Usage: bench/inflight.sh [ROUNDS] [OUT_DIR] [NAME=BUILD.so ...]; needs the
# bench build (SWITCHBOARD_NIF_FEATURES=bench MIX_ENV=prod mix compile)
# first. With builds (copies of priv/native/switchboard_nif.so from such
# builds), every round runs each workload with each build, in an order
# that rotates from round to round so that no build always goes first;
# the NIF in priv/native is put back at the end. INFLIGHT_WORKLOADS
# (default "c c-h2") picks the workloads.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-$(mktemp -d)}
shift $(($# < 2 ? $# : 2))
BUILDS=("$@")
export MIX_ENV=prod
mkdir -p "$OUT"
WORK=$(mktemp -d)
MOCK_PID=""
cp priv/native/switchboard_nif.so "$WORK/kept.so"
# A copy renamed into place: a VM that has the library loaded keeps its file.
install_nif() {
  cp "$1" priv/native/switchboard_nif.so.new
  mv priv/native/switchboard_nif.so.new priv/native/switchboard_nif.so
}
# shellcheck source=bench/lib/mock.sh
. bench/lib/mock.sh
trap 'install_nif "$WORK/kept.so"; stop_mock; rm -rf "$WORK"' EXIT
start_mock
curl -fsS -X PUT -H 'content-type: application/json' \
  --data '[{"delay_ms": 5000, "repeat": -1}]' "$BASE_URL/_mock/scenarios/bench-c" >/dev/null
n=${#BUILDS[@]}
for r in $(seq 1 "$ROUNDS"); do
  for w in ${INFLIGHT_WORKLOADS:-c c-h2}; do
    for i in $(seq 0 $((n > 0 ? n - 1 : 0))); do
      tag="$w-$r"
      if [ "$n" -gt 0 ]; then
        build=${BUILDS[$(((i + r - 1) % n))]}
        install_nif "${build#*=}"
        tag="${build%%=*}-$w-$r"
      fi
      echo "load before round $r $tag: $(cut -d' ' -f1-3 /proc/loadavg)"
      mix run --no-compile bench/switchboard_workloads.exs --base-url "$BASE_URL" \
        --workload "$w" --out "$OUT/$tag.json" >"$OUT/$tag.log" 2>&1 || { tail "$OUT/$tag.log"; continue; }
      python3 - "$OUT/$tag.json" "$tag" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = lambda k: d.get(k) and round(d[k] / 1000, 2)
print(f"{sys.argv[2]:14} rss/call {f('per_inflight_bytes')} KB  beam {f('per_inflight_beam_bytes')} KB  malloc {f('per_inflight_malloc_bytes')} KB  errors {d['errors']}  completed {d['completed']}")
PY
    done
  done
done
echo "results in $OUT"
