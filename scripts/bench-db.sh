#!/usr/bin/env bash
# The database-backed trust service at scale (issue 14): notary-server with notary-signer, both
# storing their data in a private MariaDB (tests/peers/notary-stack.sh --signer --db mariadb).
# Publishes N repositories through keytool and N through the notary CLI, then rotates every
# targets key (keytool: one `rotate --all`; notary: N `key rotate` processes, as it has no bulk
# rotation), in one run, and prints wall time, per-repository cost, keytool's peak RSS and the
# database's size.
#
#   scripts/bench-db.sh [--repos N]     (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."

repos=100
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) repos="$2"; shift 2 ;;
    *) echo "usage: $0 [--repos N]" >&2; exit 2 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

export BENCH_STACK_ARGS="--signer --db mariadb"
# shellcheck source=scripts/bench-stack.sh
. scripts/bench-stack.sh
server=(--server "$NOTARY_URL" --tlscacert "$NOTARY_CA")
notary=(notary -s "$NOTARY_URL" --tlscacert "$NOTARY_CA")
db() { mariadb --no-defaults --socket="$DB_SOCKET" -u "$DB_ADMIN_USER" --batch --skip-column-names -e "$1"; }
# Bytes of notary-server's and notary-signer's tables (data and indexes), as InnoDB reports them
# after ANALYZE (its statistics lag otherwise).
db_bytes() {
  local tables
  tables=$(db "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_name IN ('tuf_files', 'changefeed', 'private_keys')" | paste -sd, -)
  db "ANALYZE TABLE $tables" >/dev/null
  db "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_name IN ('tuf_files', 'changefeed', 'private_keys')"
}

"$keytool" --trust-dir "$work/kt" --notary-compat key generate --role root >/dev/null 2>&1
cp -r "$work/kt/private" "$work/nt-private"
mkdir -p "$work/nt" && cp -r "$work/nt-private" "$work/nt/private"
bytes0=$(db_bytes)

timed() { /usr/bin/time -f "%e %M" -o "$work/$1.time" bash -c "$2"; read -r s kib < "$work/$1.time"; echo "$s $kib"; }
read -r kt_pub_s kt_pub_kib < <(timed kt-publish "for i in \$(seq 1 $repos); do $keytool --trust-dir $work/kt --notary-compat init --repo bench.example/db/kt\$i ${server[*]} >/dev/null 2>&1 || exit 1; done")
bytes_kt=$(db_bytes)
read -r nt_pub_s _ < <(timed nt-publish "for i in \$(seq 1 $repos); do ${notary[*]} -d $work/nt init -p bench.example/db/nt\$i >/dev/null || exit 1; done")
bytes_nt=$(db_bytes)
read -r kt_rot_s kt_rot_kib < <(timed kt-rotate "$keytool --trust-dir $work/kt --notary-compat --json rotate --all ${server[*]} > $work/rotate.json")
rotated=$(python3 -c 'import json,sys; print(sum(r["ok"] for r in json.load(open(sys.argv[1]))))' "$work/rotate.json")
read -r nt_rot_s nt_rot_kib < <(timed nt-rotate "for i in \$(seq 1 $repos); do ${notary[*]} -d $work/nt key rotate bench.example/db/nt\$i targets >/dev/null || exit 1; done")
bytes_end=$(db_bytes)

per() { python3 -c "print(f'{$1 * 1000 / $repos:.1f}')"; }
mib() { python3 -c "print(f'{$1 / 1048576:.1f}')"; }
echo "| $repos repositories on notary-server + notary-signer + MariaDB | wall time (s) | per repository (ms) | peak RSS (MiB) |"
echo "|---|---|---|---|"
echo "| keytool init --server, one process per repository | $kt_pub_s | $(per "$kt_pub_s") | $((kt_pub_kib / 1024)) |"
echo "| notary init -p, one process per repository | $nt_pub_s | $(per "$nt_pub_s") | - |"
echo "| keytool rotate --all, one process ($rotated of $repos rotated) | $kt_rot_s | $(per "$kt_rot_s") | $((kt_rot_kib / 1024)) |"
echo "| notary key rotate targets, one process per repository | $nt_rot_s | $(per "$nt_rot_s") | $((nt_rot_kib / 1024)) (one process) |"
echo
echo "database (tuf_files, changefeed, private_keys; InnoDB data + indexes): $(mib "$bytes0") MiB empty," \
  "$(mib "$bytes_kt") MiB after keytool's $repos, $(mib "$bytes_nt") MiB after notary's $repos," \
  "$(mib "$bytes_end") MiB after both rotations"
