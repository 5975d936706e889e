# The two commands of the README: `make demo` and `make test`.
# Both install what is missing (Elixir via apt), build the NIF and run.

export MIX_ENV ?= dev
SHELL := /bin/bash

.PHONY: setup demo agent test test-rust test-elixir lint bench

setup:
	@scripts/setup.sh

demo: setup
	mix run examples/demo.exs

# A tool-calling agent that ends with a schema-checked report (examples/agent.exs).
agent: setup
	mix run examples/agent.exs

# Every test, then the lint: style cannot drift past CI (.ci/run).
test: setup test-rust test-elixir lint

# --release shares compiled dependencies with the NIF's release build.
test-rust:
	cargo test --workspace --release

# Includes test/dependency_test.exs: a separate Mix project that depends on
# this checkout by path (a few seconds; `mix test --exclude dependency`
# skips it).
test-elixir:
	MIX_ENV=test mix test

# clippy only type-checks (no linking), so --all-targets is safe for the
# NIF, whose symbols come from the VM. A second pass lints the NIF with its
# `bench` feature (the benchmarks' instruments), which the first leaves out.
# check_shared_features.sh keeps the tests resolving the NIF build's cargo
# features, so `make test` after `make demo` reuses every compiled crate.
lint: setup
	scripts/check_shared_features.sh
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --release -- -D warnings
	cargo clippy --workspace --all-targets --release --features switchboard_nif/bench -- -D warnings
	mix format --check-formatted
	MIX_ENV=test mix compile --warnings-as-errors --force

# Not part of `make test`: Switchboard against wrk and baml-py, side by side
# (bench/README.md). Installs wrk and a baml-py virtualenv when missing.
bench:
	bash bench/run.sh
