#!/usr/bin/env bash
# The main job: bring up the content trust sandbox and play its walkthrough with keytool's keys.
#
#   scripts/sandbox.sh [keytool sandbox up options, e.g. --daemon private --state-dir DIR]
#
# 1. installs what is missing (Debian packages: docker.io, notary, docker-registry,
#    busybox-static; it says what it installs) and builds keytool (release);
# 2. keytool sandbox up: the network `sandbox` and the containers `notaryserver`,
#    `sandboxregistry` and `trustsandbox`, on your docker daemon when it can run them, else on a
#    private dockerd under the sandbox's state directory (root required);
# 3. keytool sandbox play: the walkthrough of Docker's "Play in a content trust sandbox", step by
#    step, with keytool's managed keys (nobody types a passphrase).
#
# The sandbox is left running for more play; the commands to try next are printed at the end
# (`keytool sandbox status`, a shell in trustsandbox, `keytool sandbox down`). Running it again
# on a sandbox that is up plays nothing twice: take it down first for a fresh walkthrough.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Installing what the sandbox needs"
bash tests/peers/install-deps.sh --sandbox
echo "== Building keytool"
if ! command -v cargo >/dev/null 2>&1; then
  echo "sandbox.sh: cargo is not installed; keytool needs Rust 1.89 or newer (https://rustup.rs; Debian 12's cargo is too old)" >&2
  exit 1
fi
cargo build --release --quiet -p keytool
keytool=$PWD/target/release/keytool

# The state directory (same default as keytool's): passed on to play, which takes only it.
play_args=()
prev=""
for arg in "$@"; do
  case "$arg" in
    --state-dir=*) play_args=("$arg") ;;
  esac
  if [ "$prev" = "--state-dir" ]; then play_args=(--state-dir "$arg"); fi
  prev=$arg
done

echo "== keytool sandbox up"
"$keytool" sandbox up "$@"
echo
echo "== keytool sandbox play"
"$keytool" sandbox play "${play_args[@]+"${play_args[@]}"}"
