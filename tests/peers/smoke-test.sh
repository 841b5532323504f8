#!/usr/bin/env bash
# Smoke test for notary-stack.sh against the real notary CLI (loopback only).
#
# Usage: tests/peers/smoke-test.sh
#
# Checks:
#   1. start a stack (with a registry) in a fresh temporary directory;
#   2. `notary key generate ecdsa --role root`, then `notary init` reuses that
#      key ("Root key found, using: <id>"), `publish`, `add`, `publish`, `list`
#      (also through `notary -c WORKDIR/notary-client.json`);
#   3. a second, concurrent stack gets a different port;
#   4. stop, stop again; no recorded process is left running.
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
stack=$here/notary-stack.sh
tmp=$(mktemp -d)
w1=$tmp/stack1 w2=$tmp/stack2
passed=0 failed=0

ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}

cleanup() {
    "$stack" stop "$w1" >/dev/null 2>&1 || true
    "$stack" stop "$w2" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# PIDs recorded for a work dir (read before stopping).
recorded_pids() { awk '{print $2}' "$1/pids"; }

# Succeed if no PID in the list is alive with a command line mentioning DIR.
none_running() {
    local dir=$1 pid
    shift
    for pid in "$@"; do
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/"; then
            return 1
        fi
    done
}

# 1. Start.
check "start stack 1 (with registry)" "$stack" start "$w1" --registry-port 0
# shellcheck source=/dev/null
source "$w1/env"
# The env file must define these.
: "${NOTARY_URL:?}" "${NOTARY_CA:?}" "${NOTARY_PORT:?}" "${NOTARY_CLIENT_CONFIG:?}" "${REGISTRY_URL:?}"
check "health answers 200" test "$(curl -q -s --noproxy '*' -o /dev/null -w '%{http_code}' \
    --cacert "$NOTARY_CA" "$NOTARY_URL/_notary_server/health")" = 200
check "registry /v2/ answers 200" test "$(curl -q -s --noproxy '*' -o /dev/null -w '%{http_code}' \
    "$REGISTRY_URL/v2/")" = 200

# 2. notary CLI flow.
export NOTARY_ROOT_PASSPHRASE=smoke-root-pass
export NOTARY_TARGETS_PASSPHRASE=smoke-targets-pass
export NOTARY_SNAPSHOT_PASSPHRASE=smoke-snapshot-pass
gun=example.com/test/repo
trust=$tmp/trust
notary_cmd=(notary -d "$trust" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA")

gen_out=$("${notary_cmd[@]}" key generate ecdsa --role root)
echo "  $gen_out"
key_id=${gen_out##*keyID: }
check "key generate printed a 64-hex key ID" grep -qE '^[0-9a-f]{64}$' <<<"$key_id"

init_out=$("${notary_cmd[@]}" init "$gun")
echo "  $init_out"
check "init reuses the generated root key" test "$init_out" = "Root key found, using: $key_id"

check "publish (empty)" "${notary_cmd[@]}" publish "$gun"
printf 'hello\n' >"$tmp/target.txt"
check "add target" "${notary_cmd[@]}" add "$gun" hello "$tmp/target.txt"
check "publish (with target)" "${notary_cmd[@]}" publish "$gun"
list_out=$("${notary_cmd[@]}" list "$gun")
while IFS= read -r line; do printf '  %s\n' "$line"; done <<<"$list_out"
check "list shows the target" grep -qE '^hello +[0-9a-f]{64} +6 +targets' <<<"$list_out"
# shellcheck disable=SC2016 # $1/$2 expand in the inner bash
check "list via notary -c client config" \
    bash -c 'notary -c "$1" list "$2" | grep -q "^hello "' _ "$NOTARY_CLIENT_CONFIG" "$gun"

# 3. A concurrent second stack gets its own port.
check "start stack 2" "$stack" start "$w2"
port1=$NOTARY_PORT
# shellcheck source=/dev/null
port2=$(source "$w2/env" && printf '%s' "$NOTARY_PORT")
check "stack 2 port ($port2) differs from stack 1 ($port1)" test "$port1" != "$port2"

# 4. Stop twice; nothing left.
mapfile -t pids1 < <(recorded_pids "$w1")
mapfile -t pids2 < <(recorded_pids "$w2")
check "stop stack 1" "$stack" stop "$w1"
check "stop stack 1 again" "$stack" stop "$w1"
check "stop stack 2" "$stack" stop "$w2"
check "pid records emptied" test ! -s "$w1/pids" -a ! -s "$w2/pids"
check "no stack-1 process left (${pids1[*]})" none_running "$w1" "${pids1[@]}"
check "no stack-2 process left (${pids2[*]})" none_running "$w2" "${pids2[@]}"

echo "$passed passed, $failed failed"
((failed == 0))
