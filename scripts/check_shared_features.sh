#!/usr/bin/env bash
# Fails when `cargo test --workspace` (and clippy) would build a dependency
# with other features than the NIF's build (`mix compile`, `make demo`):
# cargo would then compile that crate and every crate above it a second
# time, minutes of `make test` after `make demo` and of every cold run.
# The usual cause is a dev-dependency that turns a feature on (tokio's
# test-util, say): turn it on in the normal dependency instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per package and feature set; "(*)" marks a repeat.
features() {
  cargo tree --locked "$@" -f '{p} {f}' --prefix none | grep -v ' (\*)$' | sort -u
}

nif=$(features -p switchboard_nif -p switchboard_mock -e normal,build)
tests=$(features --workspace -e normal,build,dev)
# Packages only the tests use (dev-dependencies) cost nothing to the rest.
shared=$(awk 'NR == FNR { seen[$1 " " $2] = 1; next } ($1 " " $2) in seen' \
  <(echo "$nif") <(echo "$tests"))

if ! diff <(echo "$nif") <(echo "$shared") >&2; then
  echo "the tests resolve other features than the NIF's build (< NIF, > tests): align them in Cargo.toml" >&2
  exit 1
fi
