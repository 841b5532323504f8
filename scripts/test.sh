#!/usr/bin/env bash
# Installs what the tests need (Debian packages: the real notary, notary-server, docker-registry,
# openssl, ...) and runs every check and test suite. This is the README's test command, and the
# only thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints the minutes and seconds since the run began and what the previous step took:
# CI has a time budget, and these lines show where it goes.
run_start=$SECONDS
step_start=$SECONDS
step() {
  local now=$SECONDS
  printf '\n==> [%dm%02ds, previous step %ds] %s\n' $(((now - run_start) / 60)) $(((now - run_start) % 60)) \
    $((now - step_start)) "$*"
  step_start=$now
}

step "Installing test dependencies"
bash tests/peers/install-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "The libraries and binaries as shipped: keystore's internal modules private (no internals feature), no dead code"
# Only tests, benches, examples and fuzz targets turn on keystore's `internals` feature (dev-dependencies):
# a plain build of the workspace's libraries and binaries lints what users get.
cargo clippy --workspace -- -D warnings

step "keystore without its default features (notary-client, os-keyring): check, lint, unit tests"
cargo check -p keystore --no-default-features --features notary-client
cargo check -p keystore --no-default-features --features os-keyring
cargo clippy -p keystore --no-default-features --all-targets -- -D warnings
cargo test -p keystore --no-default-features --lib

step "rustdoc of the libraries, warnings denied (broken links, unescaped HTML)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p keystore -p keystore-ffi

step "cargo test (unit, property, fault-injection and real-peer interop suites)"
# Missing peers fail the run instead of skipping: the proof is the real notary and docker.
KEYTOOL_REQUIRE_PEERS=1 cargo test --workspace

step "publish and rotate suites again on the production shape: notary-server and notary-signer, storing their data in MariaDB"
# The same suites against the production-shaped storage: every stack gets a private mariadbd
# with keytool's schema (tests/peers/notary-stack.sh --db mariadb). database_stack, run above,
# restarts such a stack.
# --workspace, as above: the same feature unification, so nothing is compiled again.
KEYTOOL_REQUIRE_PEERS=1 KEYTOOL_STACK_DB=mariadb cargo test --workspace --test publish --test rotate

step "Fuzzing the whole TUF verification path (fuzz/ tuf_repository, libFuzzer + ASan, 120 s)"
# cargo-fuzz from crates.io; libFuzzer's sanitizer flags are unstable options, which the stable
# toolchain accepts under RUSTC_BOOTSTRAP=1 (only for this build, in fuzz/'s own workspace).
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
fuzz_corpus=$(mktemp -d)
fuzz_log=$(mktemp)
# Built as `cargo test --workspace` built it (same features: no second build of the dependencies).
cargo build --quiet --workspace --example tuf_fuzz_seeds
target/debug/examples/tuf_fuzz_seeds "$fuzz_corpus"
if ! (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run tuf_repository "$fuzz_corpus" -- \
        -max_total_time=120 -rss_limit_mb=4096 -timeout=10 -print_final_stats=1) >"$fuzz_log" 2>&1; then
  tail -n 120 "$fuzz_log"
  echo "fuzz: tuf_repository failed (crash, leak or timeout above; the input is in fuzz/artifacts/)" >&2
  exit 1
fi
grep -E "^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)" "$fuzz_log"
rm -f "$fuzz_log"
rm -rf "$fuzz_corpus"

step "macOS: keystore with the keychain store, keytool and kt_ffi type-check and lint for x86_64-apple-darwin"
bash tests/peers/macos-check.sh

step "C ABI: release static + shared libraries, the C suite plain / valgrind / AddressSanitizer"
cargo build --release -p keystore-ffi
cargo clippy --workspace --all-targets --features keystore-ffi/test-panic -- -D warnings
bash bindings/c/run-tests.sh

step "Go bindings (bindings/go, standard library only): vet, test, -race, GOGC=1 cgocheck=2 -tags kt_debug"
go_signature=$(mktemp)
(
  cd bindings/go
  export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$PWD/../../target/go-build}"
  # The package links through pkg-config: bindings/c/keytool-uninstalled.pc is the build tree's.
  export PKG_CONFIG_PATH="$PWD/../c"
  test -z "$(gofmt -l .)" || { gofmt -l . >&2; echo "gofmt: files above need formatting" >&2; exit 1; }
  go vet ./...
  KEYTOOL_REQUIRE_PEERS=1 KT_GO_SIGNATURE_OUT="$go_signature" go test -count=1 ./...
  go test -count=1 -race ./...
  # kt_debug forces a GC each time a handle goes to C (gc_debug.go): a missing KeepAlive crashes.
  GOGC=1 GODEBUG=cgocheck=2 go test -count=1 -tags kt_debug ./...
)
# Rust's p256 verifies the signature the Go suite made with a key generated through Go.
KT_GO_SIGNATURE="$go_signature" cargo test --workspace --test sign_verify
rm -f "$go_signature"

step "The C library installed (scripts/install-c-lib.sh): ABI guard, C and Go programs outside the workspace"
bash tests/peers/c-consumer.sh

step "Benchmarks compile (they are run by hand: scripts/bench-keys.sh, cargo bench)"
# In the test profile, with the features `cargo test --workspace` used: the bench profile would
# compile every test dependency (sigstore-rs and its tree) once more, optimised (11 minutes).
cargo test --workspace --benches --no-run

step "The README's main command (scripts/sandbox.sh): sandbox up + play on the defaults, status, down"
sandbox_state=$(mktemp -d)
KEYTOOL_SANDBOX_DIR=$sandbox_state bash scripts/sandbox.sh
KEYTOOL_SANDBOX_DIR=$sandbox_state target/release/keytool --json sandbox status >"$sandbox_state/status.json"
python3 - "$sandbox_state/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
assert st["up"], st
assert st["repository"] == "sandboxregistry:5000/test/trusttest", st
assert len(st["provisioned_keys"]) == 2, st["provisioned_keys"]
print("sandbox status: up,", ", ".join(c["name"] + " " + c["state"] for c in st["containers"]))
PY
KEYTOOL_SANDBOX_DIR=$sandbox_state target/release/keytool sandbox down --volumes --forget-keys
SANDBOX_STATE=$sandbox_state python3 - <<'PY'
import glob, os
root = os.environ["SANDBOX_STATE"].encode()
left = []
for path in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if root in open(path, "rb").read():
            left.append(path)
    except OSError:
        pass
assert not left, f"sandbox down left processes running: {left}"
print("sandbox down: no process, container or network left")
PY
rm -rf "$sandbox_state"

step "The offline pre-seed (scripts/preseed.sh) on a throwaway trust directory, twice"
preseed_dir=$(mktemp -d)
trap 'rm -rf "$preseed_dir"' EXIT
for run in 1 2; do
  KEYTOOL_ROOT_PASSPHRASE=ci-root-passphrase KEYTOOL_TARGETS_PASSPHRASE=ci-repo-passphrase \
    bash scripts/preseed.sh --trust-dir "$preseed_dir" --non-interactive >/dev/null
done
# Two runs: one root key and one current repository key in private/, two retired keys.
[ "$(ls "$preseed_dir/private" | wc -l)" -eq 2 ] && [ "$(ls "$preseed_dir/keytool-retired" | wc -l)" -eq 2 ] \
  || { echo "preseed.sh left an unexpected set of keys" >&2; ls -R "$preseed_dir" >&2; exit 1; }
echo "preseed.sh: pre-seeded and rotated twice; 2 current keys, 2 retired"

step "OS keyrings end to end: kernel keyutils (joined session keyring), Secret Service (gnome-keyring)"
# The binary `cargo test --workspace` built (a `cargo build -p keytool` resolves other features
# and would compile the dependencies again).
cargo test --workspace --no-run --quiet
keyctl session - tests/peers/keyring-e2e.sh "$PWD/target/debug/keytool" "kernel keyutils"
dbus-run-session -- tests/peers/secret-service.sh \
    tests/peers/keyring-e2e.sh "$PWD/target/debug/keytool" "Secret Service"

step "done"
