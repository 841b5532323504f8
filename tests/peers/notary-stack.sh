#!/usr/bin/env bash
# Start and stop a private Docker Content Trust server stack on loopback for
# the keytool interop tests: notary-server (TLS, memory storage, local trust
# service) and, optionally, a docker-registry (plain HTTP, filesystem storage).
# Everything listens on 127.0.0.1 only and lives under one work directory.
#
# Usage:
#   notary-stack.sh start WORKDIR [--port N] [--registry-port N]
#                                 [--trust-dir DIR] [--timeout SECONDS]
#   notary-stack.sh stop WORKDIR
#
# start
#   --port N            notary-server port. Default (or 0): a free port picked
#                       automatically. A given port that is busy is refused.
#   --registry-port N   also start docker-registry on 127.0.0.1:N (0 = pick a
#                       free port). Without this option no registry is started.
#   --trust-dir DIR     trust_dir written to the notary client config
#                       (default WORKDIR/notary-trust).
#   --timeout SECONDS   readiness deadline (default 20).
#
#   Creates, under WORKDIR:
#     certs/ca.crt, certs/ca.key          throwaway EC P-256 CA
#     certs/notary-server.{crt,key}       server cert (SANs notaryserver,
#                                         notary-server, localhost, 127.0.0.1;
#                                         EKU serverAuth + clientAuth)
#     config/server.json                  notary-server config
#     config/registry.yml                 docker-registry config (if started)
#     registry-data/                      registry storage (if started)
#     logs/notary-server.log, logs/docker-registry.log
#     pids                                "NAME PID CONFIG" per started process
#     env                                 shell-sourceable: NOTARY_URL, NOTARY_CA,
#                                         NOTARY_PORT, NOTARY_CLIENT_CONFIG,
#                                         STACK_WORKDIR and, with a registry,
#                                         REGISTRY_URL, REGISTRY_HOST, REGISTRY_PORT
#     notary-client.json                  config for `notary -c`
#   Certificates in WORKDIR/certs that are valid for another day are reused
#   (delete WORKDIR/certs to get new ones). On any failure the log
#   tails are printed, whatever was started is stopped, and the exit status is
#   non-zero.
#
# stop
#   Sends TERM (then KILL after 5 s) to exactly the PIDs recorded in
#   WORKDIR/pids, and only while /proc/PID/cmdline still contains the
#   process's config path inside WORKDIR (a guard against PID reuse). Then
#   empties the record. Stopping twice, or a never-started WORKDIR, is fine.
#
# Requires: notary-server, openssl, curl, python3, flock (docker-registry with
# --registry-port). tests/peers/install-deps.sh installs them.
set -euo pipefail

readonly PROG=${0##*/}
readonly LOOPBACK=127.0.0.1
readonly STOP_GRACE_SECONDS=5
readonly AUTO_PORT_ATTEMPTS=3

# Python (stdlib only) picks ports and writes JSON. Prefer Debian's interpreter:
# a version-manager shim on PATH (e.g. pyenv) costs ~0.1 s per call. -I
# isolates it from PYTHON* variables and the user's site-packages.
if [[ -x /usr/bin/python3 ]]; then
    PYTHON=(/usr/bin/python3 -I)
else
    PYTHON=(python3 -I)
fi
readonly PYTHON

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Milliseconds since the epoch (for timing the start-up).
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# Print N distinct free loopback ports. All N sockets are held open at the same
# time, so the ports differ from each other; the kernel never hands out a port
# that something is listening on.
pick_free_ports() {
    "${PYTHON[@]}" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
PY
}

# Succeed if 127.0.0.1:PORT can be bound and listened on. SO_REUSEADDR is set,
# as Go's net.Listen does, so a port with only TIME_WAIT leftovers counts as
# free but one with a listener (on 127.0.0.1 or on 0.0.0.0) does not.
port_is_free() {
    "${PYTHON[@]}" - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(1)
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && (($1 <= 65535)); }

# ---------------------------------------------------------------------------
# PID record and the PID-reuse guard
# ---------------------------------------------------------------------------

# Succeed if PID is alive and its command line contains the argument CONFIG
# (an exact argv element) and CONFIG lies inside WORKDIR. Zombies have an
# empty cmdline, so they count as gone.
pid_is_ours() {
    local pid=$1 config=$2 arg
    [[ $pid =~ ^[0-9]+$ && $config == "$WORKDIR"/* ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    while IFS= read -r -d '' arg; do
        [[ $arg == "$config" ]] && return 0
    done <"/proc/$pid/cmdline" 2>/dev/null
    return 1
}

# Stop every process in WORKDIR/pids (TERM, then KILL after the grace period),
# then empty the record. Returns non-zero only if something survived KILL.
stop_recorded() {
    local pidfile=$WORKDIR/pids name pid config
    local -a names=() pids=() configs=()
    [[ -s $pidfile ]] || return 0

    while read -r name pid config; do
        [[ -n ${name:-} ]] || continue
        names+=("$name") pids+=("$pid") configs+=("$config")
    done <"$pidfile"

    local i any
    for i in "${!pids[@]}"; do
        if pid_is_ours "${pids[i]}" "${configs[i]}"; then
            log "stopping ${names[i]} (pid ${pids[i]})"
            kill -TERM "${pids[i]}" 2>/dev/null || true
        fi
    done

    # Wait for the TERM to take effect, polling every 0.1 s.
    local deadline=$(($(now_ms) + STOP_GRACE_SECONDS * 1000))
    while :; do
        any=0
        for i in "${!pids[@]}"; do
            pid_is_ours "${pids[i]}" "${configs[i]}" && any=1
        done
        ((any)) || break
        (($(now_ms) < deadline)) || break
        sleep 0.1
    done

    if ((any)); then
        for i in "${!pids[@]}"; do
            if pid_is_ours "${pids[i]}" "${configs[i]}"; then
                log "${names[i]} (pid ${pids[i]}) ignored TERM; sending KILL"
                kill -KILL "${pids[i]}" 2>/dev/null || true
            fi
        done
        sleep 0.5
    fi

    local rc=0
    for i in "${!pids[@]}"; do
        if pid_is_ours "${pids[i]}" "${configs[i]}"; then
            log "warning: ${names[i]} (pid ${pids[i]}) is still running"
            rc=1
        fi
    done
    : >"$pidfile"
    return "$rc"
}

# Succeed if WORKDIR/pids lists a process that is still running.
any_recorded_running() {
    local name pid config
    [[ -s $WORKDIR/pids ]] || return 1
    while read -r name pid config; do
        [[ -n ${name:-} ]] || continue
        pid_is_ours "$pid" "$config" && return 0
    done <"$WORKDIR/pids"
    return 1
}

# Print the PIDs of running processes that use one of this WORKDIR's config
# files although WORKDIR/pids does not list them (e.g. the record was deleted).
unrecorded_stack_pids() {
    local dir pid config
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        for config in "$WORKDIR/config/server.json" "$WORKDIR/config/registry.yml"; do
            if pid_is_ours "$pid" "$config" \
                && ! grep -qs "^[^ ]* $pid " "$WORKDIR/pids"; then
                printf '%s\n' "$pid"
            fi
        done
    done
}

# Take an exclusive lock on WORKDIR so that start and stop on the same
# directory never interleave. fd 9 is closed for the servers (see launch).
lock_workdir() {
    exec 9>"$WORKDIR/.lock"
    flock -w 60 9 || die "timed out waiting for the lock on $WORKDIR"
}

# ---------------------------------------------------------------------------
# Certificates and configuration
# ---------------------------------------------------------------------------

make_certs() {
    local certs=$WORKDIR/certs
    # Reuse certificates that are still valid for a day.
    if [[ -s $certs/ca.crt && -s $certs/notary-server.crt && -s $certs/notary-server.key ]] \
        && openssl x509 -in "$certs/ca.crt" -noout -checkend 86400 >/dev/null 2>&1 \
        && openssl x509 -in "$certs/notary-server.crt" -noout -checkend 86400 >/dev/null 2>&1; then
        log "reusing certificates in $certs"
        return 0
    fi
    mkdir -p "$certs"

    cat >"$certs/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = keytool interop throwaway CA

[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:notaryserver, DNS:notary-server, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

    # Private keys are created with mode 0600.
    (
        umask 077
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$certs/ca.key"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$certs/notary-server.key"
    )

    openssl req -new -x509 -config "$certs/openssl.cnf" -extensions v3_ca \
        -key "$certs/ca.key" -sha256 -days 30 \
        -subj "/CN=keytool interop throwaway CA" -out "$certs/ca.crt"

    openssl req -new -config "$certs/openssl.cnf" -key "$certs/notary-server.key" \
        -subj "/CN=notary-server" -out "$certs/notary-server.csr"

    openssl x509 -req -in "$certs/notary-server.csr" \
        -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
        -extfile "$certs/openssl.cnf" -extensions v3_server \
        -out "$certs/notary-server.crt" 2>/dev/null

    rm -f "$certs/notary-server.csr"
    openssl verify -CAfile "$certs/ca.crt" "$certs/notary-server.crt" >/dev/null \
        || die "the generated server certificate does not verify"
}

# Write a JSON file atomically. Args: PATH PYTHON-EXPRESSION ARGS...; the
# expression sees the extra arguments as a[0], a[1], ... (python3 does the
# JSON quoting, so any WORKDIR path is safe).
write_json() {
    local path=$1 expr=$2
    shift 2
    "${PYTHON[@]}" - "$path.tmp" "$expr" "$@" <<'PY'
import json, sys
out, expr, a = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "w") as f:
    json.dump(eval(expr, {"a": a}), f, indent=2)
    f.write("\n")
PY
    mv -f "$path.tmp" "$path"
}

write_server_config() {
    mkdir -p "$WORKDIR/config"
    write_json "$WORKDIR/config/server.json" '{
        "server": {"http_addr": a[0], "tls_key_file": a[1], "tls_cert_file": a[2]},
        "trust_service": {"type": "local"},
        "storage": {"backend": "memory"},
        "logging": {"level": "info"},
    }' "$LOOPBACK:$1" "$WORKDIR/certs/notary-server.key" "$WORKDIR/certs/notary-server.crt"
}

# The registry config is YAML; JSON is valid YAML, so it is written as JSON.
write_registry_config() {
    mkdir -p "$WORKDIR/config" "$WORKDIR/registry-data"
    write_json "$WORKDIR/config/registry.yml" '{
        "version": "0.1",
        "log": {"level": "info", "formatter": "text"},
        "storage": {"filesystem": {"rootdirectory": a[0]}, "delete": {"enabled": True}},
        "http": {"addr": a[1], "secret": a[2]},
    }' "$WORKDIR/registry-data" "$LOOPBACK:$1" "$(openssl rand -hex 16)"
}

# ---------------------------------------------------------------------------
# Launching and readiness
# ---------------------------------------------------------------------------

# Start NAME (argv in the remaining args) in the background with all output to
# WORKDIR/logs/NAME.log, and append "NAME PID CONFIG" to WORKDIR/pids at once.
# Environment overrides that could move the servers off the config file
# (NOTARY_SERVER_*, REGISTRY_*) are removed. stdin is /dev/null and the lock fd
# is closed, so the servers hold no pipe or lock of the caller.
launch() {
    local name=$1 config=$2
    shift 2
    local logfile=$WORKDIR/logs/$name.log var
    local -a unset_env=()
    for var in $(compgen -e); do
        case $var in
            NOTARY_SERVER_* | REGISTRY_*) unset_env+=(-u "$var") ;;
            *) ;;
        esac
    done
    mkdir -p "$WORKDIR/logs"
    : >"$logfile"
    env "${unset_env[@]}" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
    local pid=$!
    printf '%s %s %s\n' "$name" "$pid" "$config" >>"$WORKDIR/pids"
    log "started $name (pid $pid), log $logfile"
}

# HTTP status of URL (000 if no answer). Never uses a proxy or ~/.curlrc.
http_status() {
    curl -q --silent --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "$@" || true
}

notary_ready() {
    [[ $(http_status --cacert "$WORKDIR/certs/ca.crt" \
        "https://$LOOPBACK:$NOTARY_PORT/_notary_server/health") == 200 ]]
}

registry_ready() {
    [[ -z $REGISTRY_PORT ]] && return 0
    [[ $(http_status "http://$LOOPBACK:$REGISTRY_PORT/v2/") == 200 ]]
}

# Wait until every started service answers, at most TIMEOUT seconds.
# Returns 0 when ready, 1 on timeout, 2 if a process exited.
wait_ready() {
    local deadline=$(($(now_ms) + TIMEOUT * 1000)) name pid config
    while :; do
        if notary_ready && registry_ready; then
            return 0
        fi
        while read -r name pid config; do
            if ! pid_is_ours "$pid" "$config"; then
                log "$name (pid $pid) exited during start-up"
                return 2
            fi
        done <"$WORKDIR/pids"
        if (($(now_ms) >= deadline)); then
            log "not ready after ${TIMEOUT}s"
            return 1
        fi
        sleep 0.05
    done
}

print_log_tails() {
    local f
    for f in "$WORKDIR"/logs/*.log; do
        [[ -e $f ]] || continue
        printf '%s: ----- last lines of %s -----\n' "$PROG" "$f" >&2
        tail -n 30 "$f" >&2
    done
}

# Succeed if a start failure looks like a lost race for an auto-picked port.
lost_port_race() {
    grep -qs 'address already in use' "$WORKDIR"/logs/*.log
}

write_client_files() {
    write_json "$WORKDIR/notary-client.json" \
        '{"trust_dir": a[0], "remote_server": {"url": a[1], "root_ca": a[2]}}' \
        "$TRUST_DIR" "https://$LOOPBACK:$NOTARY_PORT" "$WORKDIR/certs/ca.crt"

    {
        echo "# Written by $PROG start; source this file."
        printf 'STACK_WORKDIR=%q\n' "$WORKDIR"
        printf 'NOTARY_URL=%q\n' "https://$LOOPBACK:$NOTARY_PORT"
        printf 'NOTARY_CA=%q\n' "$WORKDIR/certs/ca.crt"
        printf 'NOTARY_PORT=%q\n' "$NOTARY_PORT"
        printf 'NOTARY_CLIENT_CONFIG=%q\n' "$WORKDIR/notary-client.json"
        if [[ -n $REGISTRY_PORT ]]; then
            printf 'REGISTRY_URL=%q\n' "http://$LOOPBACK:$REGISTRY_PORT"
            printf 'REGISTRY_HOST=%q\n' "$LOOPBACK:$REGISTRY_PORT"
            printf 'REGISTRY_PORT=%q\n' "$REGISTRY_PORT"
        fi
    } >"$WORKDIR/env.tmp"
    mv -f "$WORKDIR/env.tmp" "$WORKDIR/env"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

START_OK=0
on_start_exit() {
    local rc=$?
    if ((START_OK == 0)); then
        stop_recorded || true
        ((rc != 0)) || rc=1
    fi
    exit "$rc"
}

cmd_start() {
    local want_port=0 want_registry_port='' attempt status
    TRUST_DIR='' TIMEOUT=20
    while (($#)); do
        case $1 in
            --port) want_port=${2:?--port needs a value}; shift 2 ;;
            --registry-port) want_registry_port=${2:?--registry-port needs a value}; shift 2 ;;
            --trust-dir) TRUST_DIR=${2:?--trust-dir needs a value}; shift 2 ;;
            --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
            *) die "unknown option: $1" ;;
        esac
    done
    valid_port "$want_port" || die "invalid --port: $want_port"
    [[ -z $want_registry_port ]] || valid_port "$want_registry_port" \
        || die "invalid --registry-port: $want_registry_port"
    [[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || die "invalid --timeout: $TIMEOUT"

    command -v notary-server >/dev/null || die "notary-server not found (run tests/peers/install-deps.sh)"
    if [[ -n $want_registry_port ]]; then
        command -v docker-registry >/dev/null || die "docker-registry not found (run tests/peers/install-deps.sh)"
    fi

    local t0
    t0=$(now_ms)
    mkdir -p "$WORKDIR"
    WORKDIR=$(cd "$WORKDIR" && pwd -P)
    lock_workdir
    if any_recorded_running; then
        die "a stack is already running in $WORKDIR (run: $PROG stop $WORKDIR)"
    fi
    : >"$WORKDIR/pids"
    # A failed start must not leave the previous run's client files behind.
    rm -f "$WORKDIR/env" "$WORKDIR/notary-client.json"
    local -a strays=()
    mapfile -t strays < <(unrecorded_stack_pids)
    if ((${#strays[@]})); then
        die "unrecorded processes still use $WORKDIR/config (pids ${strays[*]}); not starting a second stack there"
    fi

    # Requested ports must be free now; auto ports are picked per attempt.
    if ((want_port != 0)); then
        port_is_free "$want_port" || die "port $LOOPBACK:$want_port is already in use"
    fi
    if [[ -n $want_registry_port && $want_registry_port != 0 ]]; then
        ((want_registry_port != want_port)) || die "--port and --registry-port are the same"
        port_is_free "$want_registry_port" || die "port $LOOPBACK:$want_registry_port is already in use"
    fi

    if [[ -z $TRUST_DIR ]]; then
        TRUST_DIR=$WORKDIR/notary-trust
    fi
    mkdir -p "$TRUST_DIR"
    TRUST_DIR=$(cd "$TRUST_DIR" && pwd -P)

    START_OK=0
    trap on_start_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    make_certs

    for ((attempt = 1; ; attempt++)); do
        local -a free=()
        mapfile -t free < <(pick_free_ports 2)
        NOTARY_PORT=$want_port
        if ((NOTARY_PORT == 0)); then
            NOTARY_PORT=${free[0]}
            # Do not clash with a requested registry port.
            [[ $NOTARY_PORT != "$want_registry_port" ]] || NOTARY_PORT=${free[1]}
        fi
        REGISTRY_PORT=$want_registry_port
        if [[ $REGISTRY_PORT == 0 ]]; then
            REGISTRY_PORT=${free[1]}
            # Do not clash with a requested notary port.
            ((REGISTRY_PORT != NOTARY_PORT)) || REGISTRY_PORT=${free[0]}
        fi

        write_server_config "$NOTARY_PORT"
        launch notary-server "$WORKDIR/config/server.json" \
            notary-server -config "$WORKDIR/config/server.json"
        if [[ -n $REGISTRY_PORT ]]; then
            write_registry_config "$REGISTRY_PORT"
            launch docker-registry "$WORKDIR/config/registry.yml" \
                docker-registry serve "$WORKDIR/config/registry.yml"
        fi

        status=0
        wait_ready || status=$?
        ((status != 0)) || break

        # Another process may have taken an auto-picked port between picking
        # and binding: retry with new ports a few times.
        if ((status == 2)) && lost_port_race \
            && { ((want_port == 0)) || [[ $want_registry_port == 0 ]]; } \
            && ((attempt < AUTO_PORT_ATTEMPTS)); then
            log "lost a race for an automatically picked port; retrying"
            stop_recorded || true
            continue
        fi
        print_log_tails
        die "the stack in $WORKDIR did not become ready"
    done

    write_client_files
    START_OK=1
    trap - EXIT INT TERM

    log "ready in $(($(now_ms) - t0)) ms: notary-server https://$LOOPBACK:$NOTARY_PORT${REGISTRY_PORT:+, docker-registry http://$LOOPBACK:$REGISTRY_PORT}"
    log "source $WORKDIR/env; client config $WORKDIR/notary-client.json"
}

cmd_stop() {
    (($# == 0)) || die "stop takes no options"
    if [[ ! -d $WORKDIR ]]; then
        log "$WORKDIR does not exist; nothing to stop"
        return 0
    fi
    WORKDIR=$(cd "$WORKDIR" && pwd -P)
    lock_workdir
    if [[ ! -s $WORKDIR/pids ]]; then
        log "nothing recorded in $WORKDIR/pids; nothing to stop"
        return 0
    fi
    stop_recorded
    log "stopped"
}

main() {
    (($# >= 2)) || usage
    local cmd=$1
    WORKDIR=$2
    shift 2
    [[ -n $WORKDIR ]] || usage
    case $cmd in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        *) usage ;;
    esac
}

main "$@"
