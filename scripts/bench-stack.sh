# shellcheck shell=bash
# Sourced by scripts/bench-publish.sh and scripts/bench-rotate.sh: installs the peers, builds the
# release keytool, starts a notary-server stack (loopback, TLS) in a fresh work directory that is
# stopped and removed on exit, and exports the same passphrases for keytool and notary.
#
# Sets: keytool (the binary), work (the directory), NOTARY_URL and NOTARY_CA (from the stack).

bash tests/peers/install-deps.sh >/dev/null
# BENCH_PROFILE=dev measures the debug build instead (dependencies are optimized there too, see
# Cargo.toml), when a release build cannot be afforded; say so with the numbers.
if [ "${BENCH_PROFILE:-release}" = dev ]; then
  cargo build --quiet -p keytool
  keytool="$PWD/target/debug/keytool"
else
  cargo build --release --quiet -p keytool
  # shellcheck disable=SC2034 # used by the sourcing script
  keytool="$PWD/target/release/keytool"
fi

work=$(mktemp -d)
cleanup() { bash tests/peers/notary-stack.sh stop "$work/stack" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# BENCH_STACK_ARGS: more options for notary-stack.sh (e.g. "--signer --db mariadb").
# shellcheck disable=SC2086 # split on purpose
bash tests/peers/notary-stack.sh start "$work/stack" ${BENCH_STACK_ARGS:-} >/dev/null
# shellcheck disable=SC1091
. "$work/stack/env"

export KEYTOOL_ROOT_PASSPHRASE=bench-root-pass KEYTOOL_TARGETS_PASSPHRASE=bench-repo-pass
export KEYTOOL_SNAPSHOT_PASSPHRASE=bench-repo-pass
export NOTARY_ROOT_PASSPHRASE=bench-root-pass NOTARY_TARGETS_PASSPHRASE=bench-repo-pass
export NOTARY_SNAPSHOT_PASSPHRASE=bench-repo-pass
