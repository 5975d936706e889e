#!/usr/bin/env bash
# Installs what the build needs and is missing: Elixir/Erlang from Debian's
# packages (no Hex packages are used), and checks for Rust's cargo.
set -euo pipefail

missing=()
command -v mix >/dev/null 2>&1 || missing+=(elixir)
command -v erl >/dev/null 2>&1 || missing+=(erlang-nox)
dpkg -s erlang-dev >/dev/null 2>&1 || missing+=(erlang-dev)

if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} with apt"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq elixir erlang-dev erlang-nox >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi
