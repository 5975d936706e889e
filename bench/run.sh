#!/usr/bin/env bash
# `make bench`: Switchboard against baml-py and against wrk (the loopback
# limit), in one run on this machine, all against one release build of
# switchboard_mock on 127.0.0.1. Writes bench/results/<date>-<sha>.md.
# See bench/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."

BAML_PY_VERSION=0.226.3 # also the generator version in bench/baml/baml_src
PYDANTIC_VERSION=2.14.3 # the generated baml_client imports pydantic
VENV=bench/.venv
RESULTS=bench/results
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
# Each runner stops by itself; this only bounds a hung one.
RUNNER_TIMEOUT_S=600
WORDS="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
export MIX_ENV=prod
# Compiles in the NIF's benchmark instruments (per-NIF timing, the malloc
# probe); see mix.exs. Changing it rebuilds the NIF on the next compile.
export SWITCHBOARD_NIF_FEATURES=bench

log() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  log "installing $* with apt"
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install_tools() {
  command -v curl >/dev/null 2>&1 || apt_install curl
  command -v wrk >/dev/null 2>&1 || apt_install wrk
  # (g)'s reference: what one HTTP/2 connection to the mock carries.
  command -v h2load >/dev/null 2>&1 || apt_install nghttp2-client
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    # Debian ships venv's pip bootstrap separately, as python3-venv.
    if ! python3 -m venv "$VENV"; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  if ! "$VENV/bin/python" - "$BAML_PY_VERSION" <<'EOF' 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(m.version("baml-py") != sys.argv[1])
EOF
    log "installing baml-py $BAML_PY_VERSION into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
      "baml-py==$BAML_PY_VERSION" "pydantic==$PYDANTIC_VERSION"
  fi
  log "generating bench/baml/baml_client"
  "$VENV/bin/baml-cli" generate --from bench/baml/baml_src >"$WORK/baml-cli.log" 2>&1 || {
    cat "$WORK/baml-cli.log" >&2
    exit 1
  }
}

MOCK_PID=""
cleanup() {
  stop_mock
  rm -rf "$WORK"
}

# shellcheck source=bench/lib/mock.sh
. bench/lib/mock.sh

start_switchboard_mock() {
  log "starting switchboard_mock"
  start_mock
  echo "listening on $BASE_URL (pid $MOCK_PID)"
}

scenario() {
  curl -fsS -X PUT -H 'content-type: application/json' --data "$2" \
    "$BASE_URL/_mock/scenarios/$1"
}

script_scenarios() {
  local words="[{\"content\": \"$WORDS\", \"repeat\": -1}]"
  scenario bench-a "$words"
  scenario bench-b '[{"chunks": 20, "repeat": -1}]'
  scenario bench-c '[{"delay_ms": 5000, "repeat": -1}]'
  scenario bench-d "$words"
  scenario bench-e "$words"
  scenario bench-fail '[{"status": 500, "repeat": -1}]'
  scenario bench-g '[{"delay_ms": 10000, "repeat": -1}]'
}

# The mock's user+system CPU so far, in clock ticks (0 once it is gone: the
# steps after that fail on their own and say so).
mock_ticks() {
  local f
  if read -r -a f <"/proc/$MOCK_PID/stat" 2>/dev/null; then
    echo $((f[13] + f[14]))
  else
    echo 0
  fi
}

# run_step NAME WORKLOAD CMD...: CMD writes $RESULTS/NAME-WORKLOAD.json; a
# failed one leaves a "failed" result there instead, so the report says so
# and the run goes on. The mock's CPU over the whole step goes beside it:
# whether the server, not the client, is what saturates the two cores.
run_step() {
  local name=$1 workload=$2 status=0 before
  shift 2
  log "$name ($workload)"
  before=$(mock_ticks)
  timeout "$RUNNER_TIMEOUT_S" "$@" || status=$?
  printf '{"mock_cpu_s": %s}\n' \
    "$(awk -v t="$(($(mock_ticks) - before))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')" \
    >"$RESULTS/mock-$name-$workload.json"
  if [ "$status" -ne 0 ]; then
    echo "$name ($workload) failed with exit status $status" >&2
    printf '{"runner": "%s", "workload": "%s", "failed": "exit status %s; see the run output"}\n' \
      "$name" "$workload" "$status" >"$RESULTS/$name-$workload.json"
  fi
}

loopback_limit() {
  run_step wrk a "$VENV/bin/python" bench/lib/wrk.py --workload a --out "$RESULTS/wrk-a.json" \
    --url "$BASE_URL/s/bench-a/v1/chat/completions" --connections 100 --threads 2 \
    --duration "$WRK_SECONDS"
  run_step wrk b "$VENV/bin/python" bench/lib/wrk.py --workload b --out "$RESULTS/wrk-b.json" \
    --url "$BASE_URL/s/bench-b/v1/chat/completions" --connections 100 --threads 2 \
    --duration "$WRK_SECONDS" --stream
  run_step wrk d "$VENV/bin/python" bench/lib/wrk.py --workload d --out "$RESULTS/wrk-d.json" \
    --url "$BASE_URL/s/bench-d/v1/chat/completions" --connections 1 --threads 1 \
    --duration "$WRK_SECONDS"
}

# One after another, never side by side: two cores are shared by the client,
# the mock and nothing else.
workloads() {
  local w have_switchboard=1
  if [ ! -f bench/switchboard_workloads.exs ]; then
    have_switchboard=0
    echo "bench/switchboard_workloads.exs not found: the Switchboard side is not run" >&2
  fi
  # c-h2 is (c) over cleartext HTTP/2, which baml-py cannot speak; (g) and
  # (g-h1) put more calls in flight than its runner was built for.
  for w in a b c c-h2 d e f g g-h1; do
    if [ "$have_switchboard" -eq 1 ]; then
      # No "--" before the script's switches: mix run passes everything after
      # the file to System.argv, and OptionParser stops at a "--".
      run_step switchboard "$w" mix run --no-compile bench/switchboard_workloads.exs \
        --base-url "$BASE_URL" --workload "$w" --out "$RESULTS/switchboard-$w.json"
    fi
    if [ "$w" = g ]; then
      run_step h2load g "$VENV/bin/python" bench/lib/h2load.py --workload g \
        --url "$BASE_URL/s/bench-g/v1/chat/completions" --calls "${BENCH_G_CALLS:-100000}" \
        --out "$RESULTS/h2load-g.json"
    fi
    if [[ "$w" != c-h2 && "$w" != g* ]]; then
      run_step baml "$w" "$VENV/bin/python" bench/baml/run.py \
        --base-url "$BASE_URL" --workload "$w" --out "$RESULTS/baml-$w.json"
    fi
  done
}

# A million mixed calls with faults (bench/soak.exs, its own mock):
# BENCH_SOAK_CALLS to shorten it. Its report is a table of samples.
soak() {
  log "soak"
  timeout 1800 mix run --no-compile bench/soak.exs \
    "${BENCH_SOAK_CALLS:-1000000}" 200 10 --out "$RESULTS/soak.md" ||
    echo "the soak failed with exit status $?" >&2
}

# (g-h1) holds one HTTP/1.1 connection per call: a descriptor in the client
# and one in the mock (both started from here, both get the limit raised
# below), and a loopback port. It runs as many calls as the lower of the
# two bounds allows, less a margin for everything else the processes open.
h1_calls() {
  local ports low high
  read -r low high </proc/sys/net/ipv4/ip_local_port_range
  ports=$((high - low + 1))
  local fds
  fds=$(ulimit -n)
  [ "$fds" = unlimited ] && fds=$ports
  local n=$((fds < ports ? fds : ports))
  n=$(((n - 1000) / 1000 * 1000))
  echo $((n < 100000 ? n : 100000))
}

main() {
  WORK=$(mktemp -d)
  # The soft descriptor limit up to the hard one: (g-h1) needs one per call.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  export BENCH_G_H1_CALLS=${BENCH_G_H1_CALLS:-$(h1_calls)}
  trap cleanup EXIT
  local load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  log "building (scripts/setup.sh, MIX_ENV=prod mix compile)"
  scripts/setup.sh
  mix compile
  install_tools
  mkdir -p "$RESULTS"
  # This run's figures only: a stale file would pass for a new one.
  rm -f "$RESULTS"/*.json "$RESULTS"/soak.md
  start_switchboard_mock
  script_scenarios
  loopback_limit
  workloads
  soak
  log "report"
  "$VENV/bin/python" bench/lib/report.py --results "$RESULTS" --venv "$VENV" \
    --load-before "$load_before"
}

main "$@"
