#!/usr/bin/env bash
# Times `keytool init --server` against `notary init -p` on the same notary-server (loopback,
# TLS, memory storage), side by side in one run, and prints the ratios.
#
#   scripts/bench-publish.sh [--runs N]
#
# Each timed run initialises and publishes a NEW repository (a counter picks the GUN), reusing
# one root key, with notary's 2048 PBKDF2 iterations on both sides (keytool --notary-compat).
# Rows: keytool with the server-managed snapshot (docker's default), keytool --local-snapshot
# (the same work as notary init -p), and notary init -p.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/bench-stack.sh
. scripts/bench-stack.sh
mkdir -p "$work/kt" "$work/kt-local" "$work/nt"
"$keytool" --trust-dir "$work/kt" --notary-compat key generate --role root >/dev/null 2>&1
cp -r "$work/kt/private" "$work/kt-local/"
cp -r "$work/kt/private" "$work/nt/"
for d in kt kt-local nt; do echo 0 > "$work/$d.count"; done

next() { printf 'n=$(cat %s); echo $((n+1)) > %s; ' "$work/$1.count" "$work/$1.count"; }
kt="$(next kt) $keytool --trust-dir $work/kt --notary-compat init --repo bench.example/kt/r\$n --server $NOTARY_URL --tlscacert $NOTARY_CA"
ktl="$(next kt-local) $keytool --trust-dir $work/kt-local --notary-compat init --local-snapshot --repo bench.example/ktl/r\$n --server $NOTARY_URL --tlscacert $NOTARY_CA"
nt="$(next nt) notary -d $work/nt -s $NOTARY_URL --tlscacert $NOTARY_CA init -p bench.example/nt/r\$n"

hyperfine --warmup 3 --runs "$runs" --style basic --export-json "$work/h.json" \
  -n "keytool init --server (server snapshot)" "$kt >/dev/null 2>&1" \
  -n "keytool init --server --local-snapshot" "$ktl >/dev/null 2>&1" \
  -n "notary init -p" "$nt >/dev/null 2>&1" >/dev/null

python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[-1]["mean"]
base_median = r[-1]["median"]
print("| command | mean ± σ (ms) | median (ms) | ratio to notary init -p (means / medians) |")
print("|---|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['mean']*1000:.1f} ± {x['stddev']*1000:.1f} | {x['median']*1000:.1f} | {x['mean']/base:.2f} / {x['median']/base_median:.2f} |")
PY
