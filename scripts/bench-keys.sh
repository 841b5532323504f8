#!/usr/bin/env bash
# Times keytool against the real notary CLI (0.7.0), side by side in one run, and prints a
# markdown table with mean ± σ, ratios keytool/notary and peak memory.
#
#   scripts/bench-keys.sh [--quick] [--criterion] [--out DIR]
#
#   --quick      fewer runs, and 1 / 100 / 1,000 keys instead of 1 / 1,000 / 10,000 (about a minute)
#   --criterion  then also run the keystore micro-benchmarks (cargo bench -p keystore --bench
#                keys, keystore/benches/keys.rs; a few minutes) and add their medians to the report
#   --out DIR    also keep the report (report.md) and hyperfine's JSON exports in DIR
#
# What is compared (docs/benchmarks.md explains the reading):
#   * key generate, equal parameters: `keytool --notary-compat key generate --role root`
#     (PBKDF2 2048 iterations) vs `notary key generate ecdsa --role root` (2048 is what notary
#     writes), each in a fresh trust directory (hyperfine --prepare removes it before every run).
#     Also on tmpfs (${BENCH_TMPFS:-/dev/shm}, when it is a writable tmpfs): keytool writes
#     atomically and durably (temp file, fsync, rename, fsync of the directory), notary writes
#     the file in place without fsync, so on a disk busy with other writes keytool waits for
#     the journal; tmpfs shows the cost without the disk.
#   * key generate in a trust directory already holding 1,000 keys (notary loads every key file
#     at start-up). Keys accumulate there during the run (a few dozen; noted in the table).
#   * keytool key generate at its default 600,000 iterations: the secure default, shown alone,
#     not an equal-parameter comparison.
#   * key list with N real keys (files named by their real key IDs, written by
#     keystore/examples/populate.rs through keystore::ops::generate at 2048 iterations).
#   Peak memory is the max RSS (`/usr/bin/time -f %M`) of 3 runs of each command.
#
# Everything is local: temporary trust directories under ${BENCH_TMPDIR:-${TMPDIR:-/tmp}},
# removed at exit. Passphrases come from KEYTOOL_ROOT_PASSPHRASE / NOTARY_ROOT_PASSPHRASE.
# Needs: cargo, hyperfine, notary, python3, /usr/bin/time (installed with apt-get if absent;
# tests/peers/install-deps.sh installs the others).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
criterion=0
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --criterion) criterion=1; shift ;;
    --out) out_dir="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) out_dir="${1#--out=}"; shift ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-keys: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

if [ "$quick" = 1 ]; then
  sizes=(1 100 1000)
  gen_runs=20; gen_warmup=3
  slow_runs=10; slow_warmup=1
  list_runs=20; list_warmup=3
  big_runs=10; big_warmup=2
else
  sizes=(1 1000 10000)
  gen_runs=40; gen_warmup=5
  slow_runs=15; slow_warmup=2
  list_runs=40; list_warmup=5
  big_runs=20; big_warmup=3
fi
big=${sizes[2]}
mid=${sizes[1]}

log() { printf 'bench-keys: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for tool in cargo hyperfine notary python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (tests/peers/install-deps.sh installs notary, hyperfine and python3)"
done
if [ ! -x /usr/bin/time ]; then
  log "/usr/bin/time is missing; installing the Debian package 'time'"
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo -n); fi
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends time >&2 \
    || die "cannot install 'time' (apt-get install time)"
fi

log "building (release)"
cargo build --release --quiet -p keytool
cargo build --release --quiet -p keystore --example populate
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
keytool="$target_dir/release/keytool"
populate="$target_dir/release/examples/populate"
notary=$(command -v notary)

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/keytool-bench.XXXXXX")
tmpfs_dir=""
cleanup() { rm -rf "$work" ${tmpfs_dir:+"$tmpfs_dir"}; }
trap cleanup EXIT
json="$work/json"
mkdir -p "$json"

# Only the root passphrase is needed; nothing else from the caller's environment may leak in.
unset KEYTOOL_TRUST_DIR DOCKER_CONFIG DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE \
  KEYTOOL_TARGETS_PASSPHRASE KEYTOOL_SNAPSHOT_PASSPHRASE KEYTOOL_DELEGATION_PASSPHRASE
export KEYTOOL_ROOT_PASSPHRASE=benchpass NOTARY_ROOT_PASSPHRASE=benchpass
# notary reads ~/.notary/config.json when present; keep the caller's out of the way (and keep
# cargo and rustup, which --criterion calls again, on the caller's toolchain).
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$work/home"
mkdir -p "$HOME"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# hyperfine NAME RUNS WARMUP [hyperfine options and commands...] -> $json/NAME.json
bench() {
  local name=$1 runs=$2 warmup=$3
  shift 3
  log "hyperfine: $name"
  hyperfine -N --style basic --runs "$runs" --warmup "$warmup" \
    --export-json "$json/$name.json" "$@" >&2
}

# peak NAME [--fresh DIR] CMD... -> max RSS (KiB) of 3 runs, appended to $json/rss.tsv
peak() {
  local name=$1 fresh="" max=0 kib
  shift
  if [ "$1" = --fresh ]; then fresh=$2; shift 2; fi
  for _ in 1 2 3; do
    if [ -n "$fresh" ]; then rm -rf "$fresh"; fi
    /usr/bin/time -f '%M' -o "$work/rss.tmp" "$@" >/dev/null 2>&1 || die "failed: $*"
    kib=$(tail -n1 "$work/rss.tmp")
    [[ $kib =~ ^[0-9]+$ ]] || die "could not measure the RSS of: $*"
    if [ "$kib" -gt "$max" ]; then max=$kib; fi
  done
  printf '%s\t%s\n' "$name" "$max" >>"$json/rss.tsv"
}

# --- key generate, equal parameters (2048 iterations), fresh trust directories -------------
gk="$work/gen-keytool"
gn="$work/gen-notary"
bench generate "$gen_runs" "$gen_warmup" \
  --prepare "rm -rf $gk" --prepare "rm -rf $gn" \
  -n keytool "$keytool --trust-dir $gk --notary-compat key generate --role root" \
  -n notary "$notary -d $gn key generate ecdsa --role root"
peak generate/keytool --fresh "$gk" "$keytool" --trust-dir "$gk" --notary-compat key generate --role root
peak generate/notary --fresh "$gn" "$notary" -d "$gn" key generate ecdsa --role root

shm=${BENCH_TMPFS:-/dev/shm}
if [ "$(df --output=fstype "$shm" 2>/dev/null | tail -n1)" = tmpfs ] && [ -w "$shm" ]; then
  tmpfs_dir=$(mktemp -d "$shm/keytool-bench.XXXXXX")
  tk="$tmpfs_dir/gen-keytool"
  tn="$tmpfs_dir/gen-notary"
  bench generate-tmpfs "$gen_runs" "$gen_warmup" \
    --prepare "rm -rf $tk" --prepare "rm -rf $tn" \
    -n keytool "$keytool --trust-dir $tk --notary-compat key generate --role root" \
    -n notary "$notary -d $tn key generate ecdsa --role root"
  peak generate-tmpfs/keytool --fresh "$tk" "$keytool" --trust-dir "$tk" --notary-compat key generate --role root
  peak generate-tmpfs/notary --fresh "$tn" "$notary" -d "$tn" key generate ecdsa --role root
else
  log "no writable tmpfs at $shm: skipping the tmpfs key generate row"
fi

# --- key generate at keytool's default 600,000 iterations (not an equal comparison) --------
bench generate-600k "$slow_runs" "$slow_warmup" \
  --prepare "rm -rf $gk" \
  -n keytool "$keytool --trust-dir $gk key generate --role root"
peak generate-600k/keytool --fresh "$gk" "$keytool" --trust-dir "$gk" key generate --role root

# --- key list with N keys -------------------------------------------------------------------
for n in "${sizes[@]}"; do
  log "populating a trust directory with $n keys"
  "$populate" "$work/list-$n" "$n" >&2
  got=$(find "$work/list-$n/private" -name '*.key' | wc -l)
  [ "$got" -eq "$n" ] || die "populate wrote $got keys instead of $n"
  # Both tools must see all N keys (notary prints a 2-line header).
  kt_rows=$("$keytool" --trust-dir "$work/list-$n" --json key list | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
  no_rows=$(( $("$notary" -d "$work/list-$n" key list | grep -c . || true) - 2 ))
  if [ "$kt_rows" -ne "$n" ] || [ "$no_rows" -ne "$n" ]; then
    die "with $n keys keytool listed $kt_rows and notary $no_rows"
  fi
done

# key generate with $mid keys already present (notary reads every key at start-up).
for t in keytool notary; do cp -a "$work/list-$mid" "$work/gen-$mid-$t"; done
bench "generate-$mid" "$gen_runs" "$gen_warmup" \
  -n keytool "$keytool --trust-dir $work/gen-$mid-keytool --notary-compat key generate --role root" \
  -n notary "$notary -d $work/gen-$mid-notary key generate ecdsa --role root"
peak "generate-$mid/keytool" "$keytool" --trust-dir "$work/gen-$mid-keytool" --notary-compat key generate --role root
peak "generate-$mid/notary" "$notary" -d "$work/gen-$mid-notary" key generate ecdsa --role root
accumulated=$(( $(find "$work/gen-$mid-keytool/private" -name '*.key' | wc -l) - mid ))

for n in "${sizes[@]}"; do
  d="$work/list-$n"
  if [ "$n" = "$big" ]; then runs=$big_runs warm=$big_warmup; else runs=$list_runs warm=$list_warmup; fi
  bench "list-$n" "$runs" "$warm" \
    -n keytool "$keytool --trust-dir $d key list" \
    -n notary "$notary -d $d key list"
  peak "list-$n/keytool" "$keytool" --trust-dir "$d" key list
  peak "list-$n/notary" "$notary" -d "$d" key list
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------
report="$work/report.md"
{
  echo "### keytool vs notary ($(date -u '+%Y-%m-%d %H:%M UTC')$([ "$quick" = 1 ] && echo ', --quick'))"
  echo
  echo "* machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "* trust directories on $(df --output=fstype "$work" | tail -n1) ($work)$([ -n "$tmpfs_dir" ] && echo "; tmpfs row on $(dirname "$tmpfs_dir")")"
  echo "* load average before / after: $load_before / $load_after"
  echo "* keytool $("$keytool" --version | cut -d' ' -f2) ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- keystore/src keytool/src 2>/dev/null || echo ', with local changes')), notary $(dpkg-query -W -f='${Version}' notary 2>/dev/null || echo '?'), $(hyperfine --version)"
  echo
  python3 - "$json" "$mid" "$accumulated" "${sizes[@]}" <<'EOF'
import json, math, os, sys

jdir, mid, accumulated = sys.argv[1], sys.argv[2], int(sys.argv[3])
sizes = sys.argv[4:]
rss = dict(line.rstrip("\n").split("\t") for line in open(os.path.join(jdir, "rss.tsv")))

def load(name):
    with open(os.path.join(jdir, name + ".json")) as f:
        return {r["command"]: r for r in json.load(f)["results"]}

def ms(r):
    return f"{r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f}"

def mib(key):
    return f"{int(rss[key]) / 1024:.1f}" if key in rss else "—"

rows, verdicts = [], []
def row(label, name, goal=None):
    res = load(name)
    k, n = res["keytool"], res.get("notary")
    if n is None:
        rows.append((label, ms(k), f"{k['median'] * 1e3:.1f}", "—", "—", "—", "—",
                     mib(name + "/keytool"), "—"))
        return
    ratio = k["mean"] / n["mean"]
    err = ratio * math.hypot(k["stddev"] / k["mean"], n["stddev"] / n["mean"])
    mratio = k["median"] / n["median"]
    rows.append((label, ms(k), f"{k['median'] * 1e3:.1f}", ms(n), f"{n['median'] * 1e3:.1f}",
                 f"{ratio:.2f} ± {err:.2f}", f"{mratio:.2f}",
                 mib(name + "/keytool"), mib(name + "/notary")))
    limit = goal if goal is not None else 1.0
    verdicts.append((label, ratio, mratio, limit))

row("key generate, 2048 it., fresh dir", "generate")
if os.path.exists(os.path.join(jdir, "generate-tmpfs.json")):
    row("key generate, 2048 it., fresh dir on tmpfs", "generate-tmpfs")
row(f"key generate, 2048 it., {int(mid):,} keys present (+{accumulated} during run)", f"generate-{mid}")
row("key generate, keytool default 600,000 it. (not equal)", "generate-600k")
for n in sizes:
    row(f"key list, {int(n):,} key{'s' if n != '1' else ''}", f"list-{n}",
        goal=0.5 if n == "10000" else None)

print("| operation | keytool mean ± σ (ms) | keytool median | notary mean ± σ (ms) | notary median "
      "| ratio keytool/notary (means) | ratio (medians) | keytool peak RSS (MiB) | notary peak RSS (MiB) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
for label, ratio, mratio, limit in verdicts:
    ok = {2: "met", 1: "met by one measure only", 0: "NOT met"}[(ratio <= limit) + (mratio <= limit)]
    print(f"* {label}: keytool/notary = {ratio:.2f} (medians {mratio:.2f}); goal ≤ {limit:g}: {ok}")
EOF
} >"$report"

if [ "$criterion" = 1 ]; then
  log "cargo bench -p keystore --bench keys"
  cargo bench --quiet -p keystore --bench keys >&2
  {
    echo
    echo "### keystore micro-benchmarks (criterion, in-process)"
    echo
    python3 - "$target_dir/criterion" <<'EOF'
import json, os, sys

root = sys.argv[1]
order = ["generate/ecdsa_p256", "generate/ops_2048", "encode/2048", "unlock/2048",
         "unlock/600000", "sign/ecdsa_p256_1KiB", "list/1000_keys"]
found = {}
for dirpath, _, names in os.walk(root):
    if os.path.basename(dirpath) == "new" and "estimates.json" in names:
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(dirpath, "estimates.json")) as f:
            found[full_id] = json.load(f)

def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"

print("| benchmark | median | 95% CI of the median | mean |")
print("| --- | ---: | ---: | ---: |")
for name in [n for n in order if n in found]:
    m, mean = found[name]["median"], found[name]["mean"]
    ci = m["confidence_interval"]
    print(f"| {name} | {fmt(m['point_estimate'])} | {fmt(ci['lower_bound'])} – "
          f"{fmt(ci['upper_bound'])} | {fmt(mean['point_estimate'])} |")
EOF
  } >>"$report"
fi

cat "$report"
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  cp "$report" "$json"/*.json "$json/rss.tsv" "$out_dir/"
  log "report and JSON exports kept in $out_dir"
fi
