#!/usr/bin/env bash
# keytool's in-process cryptography side by side with OpenSSL, in one run, as ratios (issue 16):
#   * ECDSA P-256 signatures and verifications per second: keystore (ring since issue 16) vs
#     `openssl speed -elapsed -seconds S ecdsap256` (both one thread, both in wall-clock time:
#     without -elapsed OpenSSL divides by its CPU time, which flatters it on a loaded machine),
#     and the p256 crate's signer and verifier that keytool used before, for the before/after;
#   * one PBKDF2-HMAC-SHA1 derivation at 600,000 iterations: a keystore key unlock (parse,
#     derive, AES-256-CBC, decode) vs OpenSSL's PKCS5_PBKDF2_HMAC through Python's hashlib
#     (`_hashlib`, which calls OpenSSL), same passphrase length, salt length and key length.
# The rounds are interleaved (keytool, OpenSSL, keytool, ...) so that a change in load hits both.
# Usage: scripts/bench-crypto.sh [--seconds S] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=3
rounds=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--rounds N]" >&2; exit 2 ;;
  esac
done

python3 -c 'import hashlib; assert hashlib.pbkdf2_hmac.__module__ == "_hashlib", "hashlib has no OpenSSL PBKDF2"'
cargo build --quiet --release -p keystore --example crypto_speed
speed=target/release/examples/crypto_speed
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  "$speed" "$seconds" | sed "s/^/keytool /" >>"$out"
  openssl speed -elapsed -seconds "$seconds" ecdsap256 2>/dev/null \
    | awk '/nistp256/ { print "openssl_ecdsa", $(NF-1), $NF }' >>"$out"
  python3 - >>"$out" <<'PY'
import hashlib, os, time
runs = 5
start = time.perf_counter()
for _ in range(runs):
    hashlib.pbkdf2_hmac("sha1", b"benchpass", os.urandom(8), 600_000, 32)
print("openssl_pbkdf2_ms", (time.perf_counter() - start) * 1000 / runs)
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" <<'PY'
import json, statistics, sys
kt, os_sign, os_verify, os_kdf = [], [], [], []
for line in open(sys.argv[1]):
    word, rest = line.split(" ", 1)
    if word == "keytool":
        kt.append(json.loads(rest))
    elif word == "openssl_ecdsa":
        s, v = rest.split()
        os_sign.append(float(s)); os_verify.append(float(v))
    elif word == "openssl_pbkdf2_ms":
        os_kdf.append(float(rest))
med = statistics.median
rows = [
    ("ECDSA P-256 sign /s", med(k["ecdsa_p256_sign_per_s"] for k in kt), med(os_sign), "higher is better"),
    ("  before: p256 crate sign /s", med(k["p256_crate_sign_per_s"] for k in kt), med(os_sign), "what keytool used before"),
    ("ECDSA P-256 verify /s", med(k["ecdsa_p256_verify_per_s"] for k in kt), med(os_verify), "higher is better"),
    ("  before: p256 crate verify /s", med(k["p256_crate_verify_per_s"] for k in kt), med(os_verify), "what keytool used before"),
    ("PBKDF2-HMAC-SHA1 600,000 (ms)", med(k["unlock_pbkdf2_sha1_600000_ms"] for k in kt), med(os_kdf), "lower is better"),
]
print(f"\n{'figure':32} {'keytool':>12} {'OpenSSL':>12} {'keytool/OpenSSL':>16}")
for name, a, b, note in rows:
    print(f"{name:32} {a:12.1f} {b:12.1f} {a / b:15.2f}x  ({note}; medians of {len(kt)} rounds)")
PY
