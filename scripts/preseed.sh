#!/usr/bin/env bash
# Offline pre-seed (not the main job; that is scripts/sandbox.sh): pre-seed the trust sandbox repository's keys and rotate its repository key.
# Offline by default.
#
#   scripts/preseed.sh [--repo GUN] [--server URL [--tlscacert FILE]] [keytool global options...]
#
# 1. init: reuses the root key and the repository's targets key when they exist, creates them
#    otherwise (with --server: publishes the repository so docker push signs with these keys).
# 2. rotate: replaces the repository (targets) key. The old key is retired to
#    <trust dir>/keytool-retired/, never deleted; with --server the rotation is published first.
# 3. lists the keys.
#
# Passphrases come from DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE / DOCKER_CONTENT_TRUST_REPOSITORY_
# PASSPHRASE (or keytool's and notary's names), or are asked for on the terminal. The trust
# directory is docker's (~/.docker/trust, or $DOCKER_CONFIG/trust) unless --trust-dir or
# KEYTOOL_TRUST_DIR says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

repo="sandboxregistry:5000/test/trusttest"
server=(--offline)
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="$2"; shift 2 ;;
    --repo=*) repo="${1#--repo=}"; shift ;;
    --server) server=(--server "$2"); shift 2 ;;
    --tlscacert) server+=(--tlscacert "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

cargo build --release --quiet -p keytool
keytool=target/release/keytool
echo "== Pre-seeding $repo"
"$keytool" "${args[@]}" init "${server[@]}" --repo "$repo"
echo
echo "== Rotating the repository key of $repo"
"$keytool" "${args[@]}" rotate "${server[@]}" --repo "$repo"
echo
"$keytool" "${args[@]}" key list
