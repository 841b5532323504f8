#!/usr/bin/env bash
# Times `keytool status` against `notary list` of one repository with many targets (100,000 by
# default) on the same notary-server (loopback, TLS, memory storage), side by side in one run,
# and reports the ratio and each command's peak RSS next to the size of targets.json.
#
#   scripts/bench-status.sh [--targets N] [--runs R]
#
# notary itself builds the repository: `notary init -p`, then N staged target changes written
# in its changelist format (what N `notary addhash` calls would write, without N processes) and
# one `notary publish`. keytool then reads the trust directory notary wrote, as a user's.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=100000
runs=10
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) targets="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: $0 [--targets N] [--runs R]" >&2; exit 2 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

# shellcheck source=scripts/bench-stack.sh
. scripts/bench-stack.sh
gun=bench.example/big/repo
trust="$work/trust"
notary_cmd=(notary -d "$trust" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA")
"${notary_cmd[@]}" init "$gun" >/dev/null
python3 - "$trust/tuf/$gun/changelist" "$targets" <<'PY'
import base64, hashlib, json, os, sys, time
changelist, n = sys.argv[1], int(sys.argv[2])
os.makedirs(changelist, exist_ok=True)
start = time.time_ns()
for i in range(n):
    digest = hashlib.sha256(f"manifest {i}".encode()).digest()
    meta = json.dumps({"length": 500 + i % 3000, "hashes": {"sha256": base64.b64encode(digest).decode()}})
    change = {"action": "create", "role": "targets", "type": "target", "path": f"tag-{i:06d}",
              "data": base64.b64encode(meta.encode()).decode()}
    with open(os.path.join(changelist, f"{start + i:020d}_bench{i:06d}.change"), "w") as f:
        json.dump(change, f)
PY
publish_start=$(date +%s.%N)
"${notary_cmd[@]}" publish "$gun" >/dev/null
publish_end=$(date +%s.%N)
size=$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$gun/_trust/tuf/targets.json" | wc -c)

# status fetches and verifies everything (targets.json included) but prints no targets; notary
# list fetches, verifies and prints every one. Both see the same server and the same cache.
kt="$keytool --trust-dir $trust --json status --repo $gun --server $NOTARY_URL --tlscacert $NOTARY_CA"
nt="${notary_cmd[*]} list $gun"
listed=$($nt | tail -n +3 | grep -c .)
$kt >"$work/status.json"
python3 - "$work/status.json" "$targets" <<'PY'
import json, sys
counted = json.load(open(sys.argv[1]))["signed_targets"]
if counted != int(sys.argv[2]):
    sys.exit(f"keytool status counts {counted} signed targets, not {sys.argv[2]}")
PY
echo "targets: $targets ($listed listed by notary), targets.json $size bytes as served, notary publish $(python3 -c "print(round($publish_end-$publish_start,1))") s"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

hyperfine --warmup 2 --runs "$runs" --style basic --export-json "$work/h.json" \
  -n "keytool status" "$kt >/dev/null" \
  -n "notary list" "$nt >/dev/null" >/dev/null
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
kt_rss=$(/usr/bin/time -f %M $kt 2>&1 >/dev/null | tail -1)
nt_rss=$(/usr/bin/time -f %M $nt 2>&1 >/dev/null | tail -1)

python3 - "$work/h.json" "$size" "$kt_rss" "$nt_rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
size, rss = int(sys.argv[2]), [int(sys.argv[3]), int(sys.argv[4])]
base, base_median = r[-1]["mean"], r[-1]["median"]
print("| command | mean ± σ (ms) | median (ms) | ratio to notary list (means / medians) | peak RSS (MiB) | RSS / targets.json |")
print("|---|---|---|---|---|---|")
for x, kib in zip(r, rss):
    print(f"| {x['command']} | {x['mean']*1000:.0f} ± {x['stddev']*1000:.0f} | {x['median']*1000:.0f} | "
          f"{x['mean']/base:.2f} / {x['median']/base_median:.2f} | {kib/1024:.1f} | {kib*1024/size:.1f}× |")
PY
