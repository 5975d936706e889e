# Sourced by the bench scripts: starts the release build of switchboard_mock
# as every measurement here runs it, and stops it. Needs WORK (a scratch
# directory); sets MOCK_PID and BASE_URL.
#
# The mock stands in for a remote provider: at the lowest priority it takes
# the CPU the client under test leaves, instead of preempting it (on 2 cores
# a preempted BEAM scheduler shows up as a long_schedule event). It exits
# when its stdin closes, so a fifo held open on descriptor 3 keeps it up
# until stop_mock (or the script's exit).

start_mock() {
  mkfifo "$WORK/mock.stdin"
  nice -n "${MOCK_NICE:-19}" priv/native/switchboard_mock --port 0 --max-records 1000 \
    <"$WORK/mock.stdin" >"$WORK/mock.out" 2>"$WORK/mock.err" &
  MOCK_PID=$!
  exec 3>"$WORK/mock.stdin"
  local addr="" i
  for i in $(seq 1 100); do
    addr=$(sed -n 's/^SWITCHBOARD_MOCK_LISTENING //p' "$WORK/mock.out")
    [ -n "$addr" ] && break
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "switchboard_mock did not start:" >&2
    cat "$WORK/mock.err" >&2
    exit 1
  fi
  BASE_URL="http://$addr"
}

stop_mock() {
  exec 3>&- 2>/dev/null || true
  if [ -n "${MOCK_PID:-}" ]; then
    kill "$MOCK_PID" 2>/dev/null || true
    wait "$MOCK_PID" 2>/dev/null || true
  fi
}
