#!/usr/bin/env bash
# The main job: pre-seed the trust sandbox repository's keys, offline.
#
#   scripts/sandbox.sh [--repo GUN] [keytool global options...]
#
# Reuses the root key and the repository's targets key when they exist (nothing changes on a
# second run), creates them otherwise, and lists the keys. Passphrases come from
# DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE / DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE (or
# keytool's and notary's names), or are asked for on the terminal. The trust directory is
# docker's (~/.docker/trust, or $DOCKER_CONFIG/trust) unless --trust-dir or KEYTOOL_TRUST_DIR
# says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

repo="sandboxregistry:5000/test/trusttest"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="$2"; shift 2 ;;
    --repo=*) repo="${1#--repo=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

cargo build --release --quiet -p keytool
keytool=target/release/keytool
"$keytool" "${args[@]}" init --offline --repo "$repo"
echo
"$keytool" "${args[@]}" key list
