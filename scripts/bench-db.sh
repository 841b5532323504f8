#!/usr/bin/env bash
# The database-backed trust service at scale (issue 14): notary-server with notary-signer, both
# storing their data in a private MariaDB (tests/peers/notary-stack.sh --signer --db mariadb).
# Publishes N repositories through keytool and N through the notary CLI, then rotates every
# targets key (keytool: one `rotate --all`; notary: N `key rotate` processes, as it has no bulk
# rotation), in one run, and prints wall time, per-repository cost, keytool's peak RSS and the
# database's size. keytool rotates its repositories once for each value of --jobs (the same
# repositories again each time, so later runs meet a larger database), then notary rotates its
# own; the CPU seconds notary-server, notary-signer and MariaDB spent during each rotation run
# show whether the server is the bottleneck.
#
#   scripts/bench-db.sh [--repos N] [--jobs "1 8"]     (defaults 100, "1 8")
set -euo pipefail
cd "$(dirname "$0")/.."

repos=100
jobs_list="1 8"
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) repos="$2"; shift 2 ;;
    --jobs) jobs_list="$2"; shift 2 ;;
    *) echo "usage: $0 [--repos N] [--jobs \"1 8\"]" >&2; exit 2 ;;
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
# CPU seconds (user + system) used so far by this stack's trust service processes (from the
# stack's own pid record, not by name: other stacks may run on the machine), one line each.
service_cpu() {
  local name pid
  for name in notary-server notary-signer mariadbd; do
    pid=$(awk -v n="$name" '$1 == n { print $2; exit }' "$work/stack/pids")
    if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then
      awk -v n="$name" -v hz="$(getconf CLK_TCK)" '{ print n, ($14 + $15) / hz }' "/proc/$pid/stat"
    else
      echo "$name 0"
    fi
  done
}
# "name=seconds ..." spent between two service_cpu snapshots.
cpu_delta() { paste -d' ' "$1" "$2" | awk '{ printf "%s=%.1f ", $1, $4 - $2 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

declare -A kt_rot_s kt_rot_kib kt_rotated kt_cpu kt_load
for jobs in $jobs_list; do
  service_cpu > "$work/cpu0"
  read -r s kib < <(timed "kt-rotate-$jobs" "$keytool --trust-dir $work/kt --notary-compat --json rotate --all --jobs $jobs ${server[*]} > $work/rotate-$jobs.json")
  service_cpu > "$work/cpu1"
  kt_rot_s[$jobs]=$s kt_rot_kib[$jobs]=$kib kt_load[$jobs]=$(load)
  kt_cpu[$jobs]=$(cpu_delta "$work/cpu0" "$work/cpu1")
  kt_rotated[$jobs]=$(python3 -c 'import json,sys; print(sum(r["ok"] for r in json.load(open(sys.argv[1]))))' "$work/rotate-$jobs.json")
done
service_cpu > "$work/cpu0"
read -r nt_rot_s nt_rot_kib < <(timed nt-rotate "for i in \$(seq 1 $repos); do ${notary[*]} -d $work/nt key rotate bench.example/db/nt\$i targets >/dev/null || exit 1; done")
service_cpu > "$work/cpu1"
nt_cpu=$(cpu_delta "$work/cpu0" "$work/cpu1") nt_load=$(load)
bytes_end=$(db_bytes)

per() { python3 -c "print(f'{$1 * 1000 / $repos:.1f}')"; }
mib() { python3 -c "print(f'{$1 / 1048576:.1f}')"; }
echo "| $repos repositories on notary-server + notary-signer + MariaDB | wall time (s) | per repository (ms) | peak RSS (MiB) |"
echo "|---|---|---|---|"
echo "| keytool init --server, one process per repository | $kt_pub_s | $(per "$kt_pub_s") | $((kt_pub_kib / 1024)) |"
echo "| notary init -p, one process per repository | $nt_pub_s | $(per "$nt_pub_s") | - |"
for jobs in $jobs_list; do
  echo "| keytool rotate --all --jobs $jobs, one process (${kt_rotated[$jobs]} of $repos rotated) | ${kt_rot_s[$jobs]} | $(per "${kt_rot_s[$jobs]}") | $((${kt_rot_kib[$jobs]} / 1024)) |"
done
echo "| notary key rotate targets, one process per repository | $nt_rot_s | $(per "$nt_rot_s") | $((nt_rot_kib / 1024)) (one process) |"
echo
for jobs in $jobs_list; do
  echo "keytool --jobs $jobs: $(python3 -c "print(f'{${kt_rot_s[$jobs]} / $nt_rot_s:.2f}')")x notary's time;" \
    "service CPU during the run (s): ${kt_cpu[$jobs]}; load average after: ${kt_load[$jobs]}"
done
echo "notary: service CPU during the run (s): $nt_cpu; load average after: $nt_load"
echo
echo "database (tuf_files, changefeed, private_keys; InnoDB data + indexes): $(mib "$bytes0") MiB empty," \
  "$(mib "$bytes_kt") MiB after keytool's $repos, $(mib "$bytes_nt") MiB after notary's $repos," \
  "$(mib "$bytes_end") MiB after both rotations"
