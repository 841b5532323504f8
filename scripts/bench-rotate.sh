#!/usr/bin/env bash
# Times `keytool rotate` against `notary key rotate GUN targets` on the same notary-server
# (loopback, TLS, memory storage), side by side in one run, and prints the ratios.
#
#   scripts/bench-rotate.sh [--runs N] [--bulk N]
#
# Every timed run rotates the targets key of an already published repository once more, with
# notary's 2048 PBKDF2 iterations on both sides (keytool --notary-compat). Rows: keytool with
# the server-managed snapshot key (docker's default), keytool with a local snapshot key (the
# same work as notary, which re-signs snapshot.json itself), and notary.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
bulk=100
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --bulk) bulk="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--bulk N]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/bench-stack.sh
. scripts/bench-stack.sh
server=(--server "$NOTARY_URL" --tlscacert "$NOTARY_CA")
notary=(notary -s "$NOTARY_URL" --tlscacert "$NOTARY_CA")

"$keytool" --trust-dir "$work/kt" --notary-compat init --repo bench.example/rot/kt "${server[@]}" >/dev/null 2>&1
"$keytool" --trust-dir "$work/ktl" --notary-compat init --local-snapshot --repo bench.example/rot/ktl "${server[@]}" >/dev/null 2>&1
"${notary[@]}" -d "$work/nt" init bench.example/rot/nt >/dev/null
"${notary[@]}" -d "$work/nt" publish bench.example/rot/nt >/dev/null

hyperfine --warmup 3 --runs "$runs" --style basic --export-json "$work/h.json" \
  -n "keytool rotate (server snapshot)" \
  "$keytool --trust-dir $work/kt --notary-compat rotate --repo bench.example/rot/kt ${server[*]}" \
  -n "keytool rotate (local snapshot)" \
  "$keytool --trust-dir $work/ktl --notary-compat rotate --repo bench.example/rot/ktl ${server[*]}" \
  -n "notary key rotate targets" \
  "${notary[*]} -d $work/nt key rotate bench.example/rot/nt targets" >/dev/null

python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[-1]["mean"]
base_median = r[-1]["median"]
print("| command | mean ± σ (ms) | median (ms) | ratio to notary key rotate (means / medians) |")
print("|---|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['mean']*1000:.1f} ± {x['stddev']*1000:.1f} | {x['median']*1000:.1f} | {x['mean']/base:.2f} / {x['median']/base_median:.2f} |")
PY
# Every rotation kept its old key: count them.
echo "keys retired by keytool: $(ls "$work/kt/keytool-retired" | wc -l) (server snapshot), $(ls "$work/ktl/keytool-retired" | wc -l) (local snapshot)"

# Bulk: N published repositories sharing one root key, rotated by one `keytool rotate --all`,
# against N `notary key rotate` processes (notary has no bulk rotation). Wall time and peak RSS.
command -v /usr/bin/time >/dev/null || { echo "bulk: /usr/bin/time is missing (apt-get install time)"; exit 0; }
"$keytool" --trust-dir "$work/bulk-kt" --notary-compat key generate --role root >/dev/null 2>&1
for i in $(seq 1 "$bulk"); do
  "$keytool" --trust-dir "$work/bulk-kt" --notary-compat init --repo "bench.example/bulk/kt$i" "${server[@]}" >/dev/null 2>&1
  "${notary[@]}" -d "$work/bulk-nt" init "bench.example/bulk/nt$i" >/dev/null
  "${notary[@]}" -d "$work/bulk-nt" publish "bench.example/bulk/nt$i" >/dev/null
done
/usr/bin/time -f "%e %M" -o "$work/kt.time" \
  "$keytool" --trust-dir "$work/bulk-kt" --notary-compat --json rotate --all "${server[@]}" >"$work/bulk.json"
ok=$(python3 -c 'import json,sys; print(sum(r["ok"] for r in json.load(open(sys.argv[1]))))' "$work/bulk.json")
/usr/bin/time -f "%e %M" -o "$work/nt.time" bash -c "
  for i in \$(seq 1 $bulk); do ${notary[*]} -d $work/bulk-nt key rotate bench.example/bulk/nt\$i targets >/dev/null || exit 1; done"
read -r kt_s kt_kib < "$work/kt.time"
read -r nt_s nt_kib < "$work/nt.time"
echo
echo "| bulk rotation of $bulk repositories | wall time (s) | peak RSS (MiB) |"
echo "|---|---|---|"
echo "| keytool rotate --all (one process; $ok of $bulk rotated) | $kt_s | $((kt_kib / 1024)) |"
echo "| $bulk x notary key rotate targets (peak of one process) | $nt_s | $((nt_kib / 1024)) |"
