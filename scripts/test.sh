#!/usr/bin/env bash
# Installs what the tests need (Debian packages: the real notary, notary-server, docker-registry,
# openssl, ...) and runs every check and test suite. This is the README's test command, and the
# only thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Installing test dependencies"
bash tests/peers/install-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, property, fault-injection and real-peer interop suites)"
# Missing peers fail the run instead of skipping: the proof is the real notary and docker.
KEYTOOL_REQUIRE_PEERS=1 cargo test --workspace

step "Benchmarks compile (they are run by hand: scripts/bench-keys.sh, cargo bench)"
cargo bench --workspace --no-run
