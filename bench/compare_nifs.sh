#!/usr/bin/env bash
# Two builds of the NIF against one mock, in alternating rounds, each round
# with wrk first: what a change does to workloads (a) and (b) on a machine
# whose load moves under the measurement. See bench/README.md, "Closer to
# the wire".
#
#   bash bench/compare_nifs.sh BEFORE.so AFTER.so ROUNDS OUT_DIR a [b ...]
#
# Both .so files are `MIX_ENV=prod SWITCHBOARD_NIF_FEATURES=bench mix
# compile` builds (copies of priv/native/switchboard_nif.so); the one in
# priv/native is put back at the end. Needs wrk and the release mock.
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=$1 AFTER=$2 ROUNDS=$3 OUT=$4
shift 4
WRK_SECONDS=${BENCH_WRK_SECONDS:-5}
WORDS="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
export MIX_ENV=prod
mkdir -p "$OUT"
WORK=$(mktemp -d)
cp priv/native/switchboard_nif.so "$WORK/kept.so"

# A copy renamed into place: a VM that has the library loaded keeps its
# file, where writing over it in place could crash that VM.
install_nif() {
  cp "$1" priv/native/switchboard_nif.so.new
  mv priv/native/switchboard_nif.so.new priv/native/switchboard_nif.so
}

# shellcheck source=bench/lib/mock.sh
. bench/lib/mock.sh

cleanup() {
  install_nif "$WORK/kept.so"
  stop_mock
  rm -rf "$WORK"
}
trap cleanup EXIT
start_mock
put() { curl -fsS -X PUT -H 'content-type: application/json' --data "$2" "$BASE_URL/_mock/scenarios/$1"; }
put bench-a "[{\"content\": \"$WORDS\", \"repeat\": -1}]"
put bench-b '[{"chunks": 20, "repeat": -1}]'

for round in $(seq 1 "$ROUNDS"); do
  for w in "$@"; do
    stream=()
    [ "$w" = b ] && stream=(--stream)
    echo "round $round ($w): load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
    python3 bench/lib/wrk.py --workload "$w" --out "$OUT/wrk-$w-$round.json" \
      --url "$BASE_URL/s/bench-$w/v1/chat/completions" --connections 100 --threads 2 \
      --duration "$WRK_SECONDS" "${stream[@]}" >/dev/null
    # Alternating order, so neither build always runs second.
    order="before after"
    [ $((round % 2)) = 0 ] && order="after before"
    for build in $order; do
      so=$BEFORE
      [ "$build" = after ] && so=$AFTER
      install_nif "$so"
      mix run --no-compile bench/switchboard_workloads.exs --base-url "$BASE_URL" \
        --workload "$w" --out "$OUT/$build-$w-$round.json" >/dev/null
    done
  done
done

python3 bench/lib/compare_nifs.py "$OUT" "$@"
