#!/usr/bin/env bash
# Checks that a release applies `config :switchboard, :runtime, ...` from its
# config/runtime.exs (read when the release boots, after every module was
# loaded): builds a tiny app that depends on this checkout by path, releases
# it with MIX_ENV=prod, starts it and reads the runtime settings in force
# before and after a first call, and the runtime threads' nice values.
# Not part of `make test` (a release build takes a minute); run by hand:
#
#   scripts/check_release.sh            # in a temporary directory, removed after
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/switchboard_release_check.XXXXXX)
APP=$WORK/sb_release_check
REL=$APP/_build/prod/rel/sb_release_check/bin/sb_release_check

cleanup() {
  "$REL" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$APP/config" "$APP/lib"
cat >"$APP/mix.exs" <<EOS
defmodule SbReleaseCheck.MixProject do
  use Mix.Project

  def project do
    [app: :sb_release_check, version: "0.1.0", elixir: "~> 1.14",
     deps: [{:switchboard, path: "$ROOT"}]]
  end

  def application, do: [extra_applications: [:logger]]
end
EOS
cat >"$APP/lib/sb_release_check.ex" <<'EOS'
defmodule SbReleaseCheck do
  def settings, do: Switchboard.Native.runtime_settings()

  # A call with an invalid prompt ends at once on a runtime thread: it
  # starts the runtime without any request.
  def first_call do
    {:ok, reg} =
      Switchboard.Registry.new(%{
        clients: [%{name: "A", provider: "openai-generic",
                    options: %{base_url: "http://127.0.0.1:9/v1", model: "m"}}]
      })

    {:error, %Switchboard.Error{kind: :invalid_request}} =
      reg |> Switchboard.async(42) |> Switchboard.await(10_000)

    settings()
  end
end
EOS
# config.exs says 1 worker; runtime.exs, read at boot, must win.
cat >"$APP/config/config.exs" <<'EOS'
import Config
config :switchboard, :runtime, worker_threads: 1
EOS
cat >"$APP/config/runtime.exs" <<'EOS'
import Config
config :switchboard, :runtime,
  worker_threads: String.to_integer(System.get_env("SB_WORKERS", "3")),
  nice_increment: 4
EOS

cd "$APP"
echo "==> MIX_ENV=prod mix release in $APP"
MIX_ENV=prod mix release --quiet >"$WORK/release.log" 2>&1 || {
  cat "$WORK/release.log" >&2
  exit 1
}

echo "==> starting the release (SB_WORKERS=3, read by config/runtime.exs at boot)"
SB_WORKERS=3 "$REL" daemon
for _ in $(seq 1 100); do
  "$REL" pid >/dev/null 2>&1 && break
  sleep 0.1
done
pid=$("$REL" pid)

before=$("$REL" rpc 'IO.inspect(SbReleaseCheck.settings())')
after=$("$REL" rpc 'IO.inspect(SbReleaseCheck.first_call())')
nices=$(for t in /proc/"$pid"/task/*; do
  [ "$(cat "$t/comm")" = switchboard ] && awk '{ sub(/.*\) /, ""); print $17 }' "$t/stat"
done | sort | tr '\n' ' ')

echo "before the first call: $before"
echo "after the first call:  $after"
echo "nice values of the threads named switchboard: $nices"

expected_after='%{nice_increment: 4, started: true, worker_threads: 3}'
if [ "$before" = '%{nice_increment: 4, started: false, worker_threads: 3}' ] &&
  [ "$after" = "$expected_after" ] && [ "$nices" = "4 4 4 " ]; then
  echo "OK: the release runs the settings of its config/runtime.exs"
else
  echo "FAILED: expected $expected_after and three threads at nice 4" >&2
  exit 1
fi
