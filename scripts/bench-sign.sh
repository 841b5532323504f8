#!/usr/bin/env bash
# Times signing one tag by digest and publishing it — `keytool sign GUN:TAG --digest D --size N`
# against `notary addhash GUN TAG N --sha256 HEX -p` — on the same notary-server (loopback, TLS,
# memory storage), side by side in one run, and prints the ratios.
#
#   scripts/bench-sign.sh [--runs N]
#
# Each timed run signs a NEW tag (a counter picks it) into a repository published beforehand,
# with notary's 2048 PBKDF2 iterations on both sides (keytool --notary-compat); the registry is
# not asked (--no-check), as notary never asks it. Rows: keytool into targets.json with the
# server-managed snapshot (docker's default), keytool with a local snapshot key (the same work as
# notary's default), keytool as a signer (targets/releases and targets/<name>), and notary.
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
export KEYTOOL_DELEGATION_PASSPHRASE=bench-signer-pass
server=(--server "$NOTARY_URL" --tlscacert "$NOTARY_CA")
kt() { "$keytool" --trust-dir "$work/$1" --notary-compat "${@:2}" >/dev/null 2>&1; }
kt kt init --repo bench.example/sign/kt "${server[@]}"
kt ktl init --local-snapshot --repo bench.example/sign/ktl "${server[@]}"
kt kts init --repo bench.example/sign/kts "${server[@]}"
kt kts signer add ci --generate --repo bench.example/sign/kts "${server[@]}"
notary -d "$work/nt" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA" init -p bench.example/sign/nt >/dev/null
for d in kt ktl kts nt; do echo 0 > "$work/$d.count"; done

hex=$(printf 'bench manifest' | sha256sum | cut -d' ' -f1)
next() { printf 'n=$(cat %s); echo $((n+1)) > %s; ' "$work/$1.count" "$work/$1.count"; }
sign() { printf '%s %s --trust-dir %s --notary-compat sign bench.example/sign/%s:t$n --digest sha256:%s --size 512 --no-check %s' \
  "$(next "$1")" "$keytool" "$work/$1" "$1" "$hex" "${*:2} --server $NOTARY_URL --tlscacert $NOTARY_CA"; }
nt="$(next nt) notary -d $work/nt -s $NOTARY_URL --tlscacert $NOTARY_CA addhash bench.example/sign/nt t\$n 512 --sha256 $hex -p"

hyperfine --warmup 3 --runs "$runs" --style basic --export-json "$work/h.json" \
  -n "keytool sign (server snapshot)" "$(sign kt) >/dev/null 2>&1" \
  -n "keytool sign (local snapshot)" "$(sign ktl) >/dev/null 2>&1" \
  -n "keytool sign --as ci (two signer roles)" "$(sign kts --as ci) >/dev/null 2>&1" \
  -n "notary addhash -p" "$nt >/dev/null 2>&1" >/dev/null

python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[-1]["mean"]
base_median = r[-1]["median"]
print("| command | mean ± σ (ms) | median (ms) | ratio to notary addhash -p (means / medians) |")
print("|---|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['mean']*1000:.1f} ± {x['stddev']*1000:.1f} | {x['median']*1000:.1f} | {x['mean']/base:.2f} / {x['median']/base_median:.2f} |")
PY
