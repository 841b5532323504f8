#!/usr/bin/env bash
# Start and stop a private Docker Content Trust server stack on loopback for
# the keytool interop tests: notary-server (TLS, memory storage, local trust
# service, or with --signer a "remote" trust service: notary-signer over gRPC
# with mutual TLS, memory storage) and, optionally, a docker-registry (plain
# HTTP, filesystem storage). With --db mariadb, notary-server (and
# notary-signer) store their data in a private MariaDB server instead of in
# memory. Everything listens on 127.0.0.1 only and lives under one work
# directory.
#
# Usage:
#   notary-stack.sh start WORKDIR [--port N] [--registry-port N]
#                                 [--signer] [--signer-port N]
#                                 [--db memory|mariadb] [--db-port N]
#                                 [--trust-dir DIR] [--timeout SECONDS]
#                                 [--token-auth FILE]
#                                 [--registry-token-auth FILE]
#   notary-stack.sh stop WORKDIR
#   notary-stack.sh restart WORKDIR
#
# start
#   --port N            notary-server port. Default (or 0): a free port picked
#                       automatically. A given port that is busy is refused.
#   --registry-port N   also start docker-registry on 127.0.0.1:N (0 = pick a
#                       free port). Without this option no registry is started.
#   --signer            also start notary-signer and use it as notary-server's
#                       trust service ("remote": the server's timestamp and
#                       snapshot keys are ECDSA keys held by the signer).
#                       Without it the trust service is "local" (Ed25519 keys
#                       inside notary-server) and no signer is started.
#   --signer-port N     notary-signer's gRPC port (implies --signer). Default
#                       (or 0): a free port picked automatically.
#   --db mariadb        store notary-server's TUF files (and, with --signer,
#                       notary-signer's private keys) in a private mariadbd on
#                       127.0.0.1 (data under WORKDIR/mariadb, kept across
#                       stop/start and restart). The databases, tables and the
#                       two accounts ("server", "signer": each granted only
#                       what its service needs) come from keytool's own schema
#                       (keystore/src/ops/sandbox/database.rs), printed by
#                       `cargo run -q -p interop-tests --bin sandbox_schema`;
#                       KEYTOOL_SCHEMA_CMD may give the built program's path
#                       instead (the Rust tests do: no cargo run in a test).
#                       The signer's keys are encrypted with a random
#                       passphrase given to it only through its environment
#                       (NOTARY_SIGNER_<ALIAS>). Default: --db memory.
#   --db-port N         mariadbd's TCP port (implies --db mariadb). Default (or
#                       0): a free port picked automatically.
#   --trust-dir DIR     trust_dir written to the notary client config
#                       (default WORKDIR/notary-trust).
#   --token-auth FILE   token authentication: FILE is a JSON object, the
#                       "options" of notary-server's "auth" section of type
#                       "token" (realm, service, issuer, rootcertbundle; see
#                       server-config.md). The token issuer is the caller's
#                       (the Rust tests run one on loopback). The readiness
#                       check is unchanged (the health endpoint needs no
#                       token); --signer's probe would, so the two do not go
#                       together.
#   --registry-token-auth FILE
#                       token authentication for docker-registry (needs
#                       --registry-port): FILE is a JSON object, the registry's
#                       "auth: token" section (realm, service, issuer,
#                       rootcertbundle), as for --token-auth. Readiness then
#                       takes the registry's 401 on /v2/ (with its Bearer
#                       challenge) as the answer of a ready registry.
#   --timeout SECONDS   readiness deadline (default 20; with --db mariadb the
#                       database's first initialisation comes on top).
#
#   Creates, under WORKDIR:
#     certs/ca.crt, certs/ca.key          throwaway EC P-256 CA
#     certs/notary-server.{crt,key}       server cert (SANs notaryserver,
#                                         notary-server, localhost, 127.0.0.1;
#                                         EKU serverAuth + clientAuth)
#     certs/notary-signer.{crt,key}       signer cert (--signer; SANs
#                                         notarysigner, notary-signer,
#                                         localhost, 127.0.0.1; same EKUs)
#     config/server.json                  notary-server config
#     config/signer.json                  notary-signer config (--signer)
#     config/registry.yml                 docker-registry config (if started)
#     registry-data/                      registry storage (if started)
#     logs/notary-server.log, logs/docker-registry.log,
#     logs/notary-signer.log, logs/mariadbd.log
#     mariadb/data/, mariadb/mysqld.sock  the database (--db mariadb)
#     secrets/db.env                      (--db mariadb; mode 0600) the two
#                                         accounts' passwords and the signer's
#                                         passphrase, made once, reused by
#                                         every later start of this WORKDIR
#     start-args                          the options of the last successful
#                                         start, with the ports it got (for
#                                         restart)
#     pids                                "NAME PID GUARD" per started process
#     env                                 shell-sourceable: NOTARY_URL, NOTARY_CA,
#                                         NOTARY_PORT, NOTARY_CLIENT_CONFIG,
#                                         STACK_WORKDIR, TRUST_SERVICE (local or
#                                         remote); with a registry REGISTRY_URL,
#                                         REGISTRY_HOST, REGISTRY_PORT; with a
#                                         signer SIGNER_ADDR, SIGNER_PORT;
#                                         always DB (memory or mariadb), with
#                                         mariadb DB_PORT, DB_SOCKET,
#                                         DB_ADMIN_USER (connects over the
#                                         socket without a password)
#     notary-client.json                  config for `notary -c`
#   Certificates in WORKDIR/certs that are valid for another day are reused
#   (delete WORKDIR/certs to get new ones). On any failure the log
#   tails are printed, whatever was started is stopped, and the exit status is
#   non-zero.
#
#   Readiness: notary-server's /_notary_server/health answers 200 (and the
#   registry's /v2/ if started). With --signer, notary-signer is started first
#   and must accept a mutual-TLS handshake (ALPN h2) made with the server's
#   client certificate before notary-server is started, and at the end
#   GET /v2/keytool-stack.invalid/readiness-probe/_trust/tuf/timestamp.key must
#   return an ECDSA key: the health endpoint alone proves nothing about the
#   signer during the server's first 10 s (its "Trust operational" check runs
#   every 10 s and reports healthy until the first run). The probe leaves a
#   timestamp key for that GUN in the (memory) stores.
#
# stop
#   Sends TERM (then KILL after 30 s) to exactly the PIDs recorded in
#   WORKDIR/pids, and only while /proc/PID/cmdline still contains the
#   process's config path (mariadbd: its data directory) inside WORKDIR (a
#   guard against PID reuse). Then empties the record. Stopping twice, or a
#   never-started WORKDIR, is fine. mariadbd shuts down cleanly on TERM.
#
# restart
#   stop, then start again with the options and ports of the last successful
#   start (WORKDIR/start-args): the same URLs, certificates, data and secrets.
#
# Requires: notary-server, openssl, curl, python3, flock (docker-registry with
# --registry-port, notary-signer with --signer, mariadbd, mariadb-install-db,
# mariadb and cargo with --db mariadb). tests/peers/install-deps.sh installs
# them.
set -euo pipefail

readonly PROG=${0##*/}
readonly LOOPBACK=127.0.0.1
readonly STOP_GRACE_SECONDS=30
readonly AUTO_PORT_ATTEMPTS=3
# The GUN whose timestamp key the --signer readiness probe fetches.
readonly PROBE_GUN=keytool-stack.invalid/readiness-probe

# Python (stdlib only) picks ports and writes JSON. Prefer Debian's interpreter:
# a version-manager shim on PATH (e.g. pyenv) costs ~0.1 s per call. -I
# isolates it from PYTHON* variables and the user's site-packages.
if [[ -x /usr/bin/python3 ]]; then
    PYTHON=(/usr/bin/python3 -I)
else
    PYTHON=(python3 -I)
fi
readonly PYTHON

# log, die, usage, now_ms, pid_is_ours, stop_recorded, lock_workdir.
# shellcheck source=tests/peers/pidguard.sh
source "$(dirname "${BASH_SOURCE[0]}")/pidguard.sh"

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
        for config in "$WORKDIR/config/server.json" "$WORKDIR/config/registry.yml" \
            "$WORKDIR/config/signer.json" "$WORKDIR/mariadb/data"; do
            if pid_is_ours "$pid" "$config" \
                && ! grep -qs "^[^ ]* $pid " "$WORKDIR/pids"; then
                printf '%s\n' "$pid"
            fi
        done
    done
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

# The notary-signer certificate (--signer), signed by the CA of make_certs.
# Reused while it is valid for another day and verifies against that CA.
make_signer_cert() {
    local certs=$WORKDIR/certs
    if [[ -s $certs/notary-signer.crt && -s $certs/notary-signer.key ]] \
        && openssl x509 -in "$certs/notary-signer.crt" -noout -checkend 86400 >/dev/null 2>&1 \
        && openssl verify -CAfile "$certs/ca.crt" "$certs/notary-signer.crt" >/dev/null 2>&1; then
        return 0
    fi

    # A file of its own, so that certificates from an older run of this
    # script (whose openssl.cnf lacks this section) can still be reused.
    cat >"$certs/notary-signer.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = notary-signer

[v3_signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:notarysigner, DNS:notary-signer, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

    (
        umask 077
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$certs/notary-signer.key"
    )
    openssl req -new -config "$certs/notary-signer.cnf" -key "$certs/notary-signer.key" \
        -subj "/CN=notary-signer" -out "$certs/notary-signer.csr"
    openssl x509 -req -in "$certs/notary-signer.csr" \
        -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
        -extfile "$certs/notary-signer.cnf" -extensions v3_signer \
        -out "$certs/notary-signer.crt" 2>/dev/null

    rm -f "$certs/notary-signer.csr"
    openssl verify -CAfile "$certs/ca.crt" "$certs/notary-signer.crt" >/dev/null \
        || die "the generated signer certificate does not verify"
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

# Args: PORT [SIGNER_PORT]. Without SIGNER_PORT the trust service is "local";
# with it "remote" (notary-signer on 127.0.0.1:SIGNER_PORT, ECDSA keys), and
# the server certificate doubles as the client certificate for mutual TLS.
# Storage: memory, or with --db mariadb mysql at SERVER_DSN (the file holds the
# account's password; WORKDIR's umask makes it 0600).
write_server_config() {
    mkdir -p "$WORKDIR/config"
    write_json "$WORKDIR/config/server.json" '{
        "server": {"http_addr": a[0], "tls_key_file": a[1], "tls_cert_file": a[2]},
        "trust_service": {"type": "local"} if not a[3] else {
            "type": "remote", "hostname": a[4], "port": a[3], "key_algorithm": "ecdsa",
            "tls_ca_file": a[5], "tls_client_cert": a[2], "tls_client_key": a[1],
        },
        "storage": {"backend": "mysql", "db_url": a[6]} if a[6] else {"backend": "memory"},
        "logging": {"level": "info"},
        **({"auth": {"type": "token", "options": __import__("json").load(open(a[7]))}} if a[7] else {}),
    }' "$LOOPBACK:$1" "$WORKDIR/certs/notary-server.key" "$WORKDIR/certs/notary-server.crt" \
        "${2:-}" "$LOOPBACK" "$WORKDIR/certs/ca.crt" "${SERVER_DSN:-}" "${TOKEN_AUTH:-}"
}

# notary-signer: gRPC with mutual TLS (clients must present a certificate of
# the throwaway CA) and memory key storage, which needs no
# NOTARY_SIGNER_<ALIAS> passphrase (notary uses a constant one for it); or,
# with --db mariadb, mysql at SIGNER_DSN with default_alias SIGNER_ALIAS (the
# passphrase is passed in the environment at launch, never written here).
write_signer_config() {
    mkdir -p "$WORKDIR/config"
    write_json "$WORKDIR/config/signer.json" '{
        "server": {"grpc_addr": a[0], "tls_cert_file": a[1], "tls_key_file": a[2],
                   "client_ca_file": a[3]},
        "storage": {"backend": "mysql", "db_url": a[4], "default_alias": a[5]}
                   if a[4] else {"backend": "memory"},
        "logging": {"level": "info"},
    }' "$LOOPBACK:$1" "$WORKDIR/certs/notary-signer.crt" "$WORKDIR/certs/notary-signer.key" \
        "$WORKDIR/certs/ca.crt" "${SIGNER_DSN:-}" "${SIGNER_ALIAS:-}"
}

# The registry config is YAML; JSON is valid YAML, so it is written as JSON.
write_registry_config() {
    mkdir -p "$WORKDIR/config" "$WORKDIR/registry-data"
    write_json "$WORKDIR/config/registry.yml" '{
        "version": "0.1",
        "log": {"level": "info", "formatter": "text"},
        "storage": {"filesystem": {"rootdirectory": a[0]}, "delete": {"enabled": True}},
        "http": {"addr": a[1], "secret": a[2]},
        **({"auth": {"token": __import__("json").load(open(a[3]))}} if a[3] else {}),
    }' "$WORKDIR/registry-data" "$LOOPBACK:$1" "$(openssl rand -hex 16)" "${REGISTRY_TOKEN_AUTH:-}"
}

# ---------------------------------------------------------------------------
# The database (--db mariadb)
# ---------------------------------------------------------------------------

# A small server: the log and buffer pool sizes keep a data directory at ~26 MB.
# Every instance has its own --tmpdir (WORKDIR/mariadb/tmp): with the shared /tmp,
# concurrent bootstraps failed ("Could not remove temporary table:
# '/tmp/#sql-temptable-…', error: 2").
readonly -a DB_TUNING=(--innodb-log-file-size=8M --innodb-buffer-pool-size=32M)

db_paths() {
    DB_DIR=$WORKDIR/mariadb
    DB_DATA=$DB_DIR/data
    DB_SOCKET=$DB_DIR/mysqld.sock
    # The account that administers the private server: mariadb-install-db gives
    # root (and, run by another user, that user) unix_socket authentication.
    DB_ADMIN_USER=root
    DB_USER_OPT=(--user=root)
    if ((EUID != 0)); then
        DB_ADMIN_USER=$(id -un)
        DB_USER_OPT=()
    fi
}

# The administrator's client on the private server's socket (no password).
db_admin() {
    mariadb --no-defaults --socket="$DB_SOCKET" -u "$DB_ADMIN_USER" "$@"
}

# The two accounts' passwords and the signer's passphrase: made once per
# WORKDIR (hex, so letters and digits only), reused by every later start: the
# data they protect outlives the processes.
load_db_secrets() {
    local file=$WORKDIR/secrets/db.env
    if [[ ! -s $file ]]; then
        mkdir -p "$WORKDIR/secrets"
        chmod 700 "$WORKDIR/secrets"
        (
            umask 077
            printf 'SERVER_PASSWORD=%s\nSIGNER_PASSWORD=%s\nSIGNER_PASSPHRASE=%s\n' \
                "$(openssl rand -hex 24)" "$(openssl rand -hex 24)" "$(openssl rand -hex 32)" \
                >"$file.tmp"
        )
        mv -f "$file.tmp" "$file"
    fi
    # Read, not sourced: nothing in the file is executed.
    DB_SERVER_PASSWORD=$(sed -n 's/^SERVER_PASSWORD=//p' "$file")
    DB_SIGNER_PASSWORD=$(sed -n 's/^SIGNER_PASSWORD=//p' "$file")
    DB_SIGNER_PASSPHRASE=$(sed -n 's/^SIGNER_PASSPHRASE=//p' "$file")
    local v
    for v in "$DB_SERVER_PASSWORD" "$DB_SIGNER_PASSWORD" "$DB_SIGNER_PASSPHRASE"; do
        [[ $v =~ ^[A-Za-z0-9]+$ ]] || die "$file is damaged (delete WORKDIR/mariadb and it to start afresh)"
    done
}

# Run keytool's schema tool (keystore/examples/sandbox_schema.rs) with the
# passwords in its environment. Args: its arguments.
schema_tool() {
    local -a cmd
    if [[ -n ${KEYTOOL_SCHEMA_CMD:-} ]]; then
        cmd=("$KEYTOOL_SCHEMA_CMD")
    else
        local root
        root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
        cmd=("${CARGO:-cargo}" run -q --manifest-path "$root/Cargo.toml" -p interop-tests
            --bin sandbox_schema --)
    fi
    KEYTOOL_DB_SERVER_PASSWORD=$DB_SERVER_PASSWORD \
        KEYTOOL_DB_SIGNER_PASSWORD=$DB_SIGNER_PASSWORD "${cmd[@]}" "$@" 9>&-
}

# SERVER_DSN, SIGNER_DSN, SIGNER_ALIAS and SIGNER_PASSPHRASE_ENV for a database
# on 127.0.0.1:PORT, as keytool makes them.
db_settings() {
    local out
    out=$(schema_tool settings "$LOOPBACK" "$1") || die "the schema tool failed"
    SERVER_DSN=$(sed -n "s/^SERVER_DSN='\(.*\)'\$/\1/p" <<<"$out")
    SIGNER_DSN=$(sed -n "s/^SIGNER_DSN='\(.*\)'\$/\1/p" <<<"$out")
    SIGNER_ALIAS=$(sed -n "s/^SIGNER_ALIAS='\(.*\)'\$/\1/p" <<<"$out")
    SIGNER_PASSPHRASE_ENV=$(sed -n "s/^SIGNER_PASSPHRASE_ENV='\(.*\)'\$/\1/p" <<<"$out")
    [[ -n $SERVER_DSN && -n $SIGNER_DSN && -n $SIGNER_ALIAS \
        && $SIGNER_PASSPHRASE_ENV =~ ^NOTARY_SIGNER_[A-Z0-9_]+$ ]] \
        || die "unexpected output of the schema tool: $out"
}

# Initialise the data directory once (mariadb-install-db: system tables, root
# by unix_socket only, no test database, no anonymous accounts). A directory
# whose initialisation did not finish is made again.
init_db() {
    [[ -e $DB_DIR/initialised ]] && return 0
    rm -rf "$DB_DATA"
    mkdir -p "$DB_DATA" "$DB_DIR/tmp" "$WORKDIR/logs"
    local t0
    t0=$(now_ms)
    if ! mariadb-install-db --no-defaults --datadir="$DB_DATA" --tmpdir="$DB_DIR/tmp" \
        "${DB_USER_OPT[@]}" \
        --skip-test-db --auth-root-authentication-method=socket --skip-name-resolve \
        "${DB_TUNING[@]}" >"$WORKDIR/logs/mariadb-install-db.log" 2>&1 9>&-; then
        # The cause is in the server's messages; the end of the log is generic advice.
        grep -E '\[(ERROR|Warning)\]' "$WORKDIR/logs/mariadb-install-db.log" | head -n 20 >&2
        die "mariadb-install-db failed (log: $WORKDIR/logs/mariadb-install-db.log)"
    fi
    : >"$DB_DIR/initialised"
    log "initialised the database in $DB_DATA in $(($(now_ms) - t0)) ms"
}

# Start mariadbd on 127.0.0.1:PORT. Its data directory is an exact argument:
# the PID guard.
launch_db() {
    mkdir -p "$DB_DIR/tmp"
    launch mariadbd "$DB_DATA" \
        mariadbd --no-defaults --datadir "$DB_DATA" "${DB_USER_OPT[@]}" \
        --bind-address="$LOOPBACK" --port="$1" --socket="$DB_SOCKET" \
        --pid-file="$DB_DIR/mariadbd.pid" --tmpdir="$DB_DIR/tmp" --skip-name-resolve \
        "${DB_TUNING[@]}"
}

db_ready() { db_admin -N -e 'SELECT 1' >/dev/null 2>&1; }

# Create (or confirm) the databases, tables and accounts.
apply_schema() {
    local sql
    sql=$(schema_tool sql) || die "the schema tool failed"
    db_admin <<<"$sql" || die "applying the schema failed"
}

# ---------------------------------------------------------------------------
# Launching and readiness
# ---------------------------------------------------------------------------

# Start NAME (argv in the remaining args) in the background with all output to
# WORKDIR/logs/NAME.log, and append "NAME PID CONFIG" to WORKDIR/pids at once.
# Environment overrides that could move the servers off the config file
# (NOTARY_SERVER_*, NOTARY_SIGNER_*, REGISTRY_*) are removed, except the one
# exported variable named by LAUNCH_KEEP_ENV (the signer's passphrase). stdin is /dev/null and the
# lock fd is closed, so the servers hold no pipe or lock of the caller.
launch() {
    local name=$1 config=$2
    shift 2
    local logfile=$WORKDIR/logs/$name.log var
    local -a unset_env=()
    for var in $(compgen -e); do
        [[ $var != "${LAUNCH_KEEP_ENV:-}" ]] || continue
        case $var in
            NOTARY_SERVER_* | NOTARY_SIGNER_* | REGISTRY_*) unset_env+=(-u "$var") ;;
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
    local status
    status=$(http_status "http://$LOOPBACK:$REGISTRY_PORT/v2/")
    # With token authentication a ready registry asks for a token.
    [[ $status == 200 || ( -n $REGISTRY_TOKEN_AUTH && $status == 401 ) ]]
}

# Succeed if notary-signer (when started) completes a mutual-TLS handshake
# made the way notary-server makes it (the server's client certificate, the
# CA, host name 127.0.0.1, ALPN h2) and answers the HTTP/2 preface with a
# SETTINGS frame, which also proves that it accepted the client certificate.
signer_ready() {
    [[ -z $SIGNER_PORT ]] && return 0
    "${PYTHON[@]}" - "$SIGNER_PORT" "$WORKDIR/certs" <<'PY'
import socket, ssl, sys
port, certs = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=certs + "/ca.crt")
ctx.load_cert_chain(certs + "/notary-server.crt", certs + "/notary-server.key")
ctx.set_alpn_protocols(["h2"])
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            if tls.selected_alpn_protocol() != "h2":
                sys.exit(1)
            # Client preface, then an empty SETTINGS frame.
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(3) + b"\x04" + bytes(5))
            header = b""
            while len(header) < 9:
                chunk = tls.recv(9 - len(header))
                if not chunk:
                    sys.exit(1)
                header += chunk
            sys.exit(0 if header[3] == 4 else 1)
except OSError:
    sys.exit(1)
PY
}

# With the signer: succeed once notary-server hands out an ECDSA timestamp key
# for PROBE_GUN, i.e. it created (or found) that key through notary-signer.
trust_ready() {
    [[ -z $SIGNER_PORT ]] && return 0
    local body
    body=$(curl -q --silent --noproxy '*' --max-time 5 --fail \
        --cacert "$WORKDIR/certs/ca.crt" \
        "https://$LOOPBACK:$NOTARY_PORT/v2/$PROBE_GUN/_trust/tuf/timestamp.key") || return 1
    [[ $body == *'"keytype":"ecdsa"'* ]]
}

stack_ready() { notary_ready && registry_ready && trust_ready; }

# Whether PID, a child this script just started, is still running. Right after the fork its
# cmdline is still this script's (until exec), so the cmdline guard cannot tell yet; a child that
# exited stays a zombie until reaped, so "exists and is not a zombie" is exact, and its PID
# cannot have been reused.
child_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Poll COMMAND... every 0.05 s until it succeeds or DEADLINE (ms) passes.
# Returns 0 when it succeeded, 1 on timeout, 2 if a recorded process exited.
wait_until() {
    local name pid config
    while :; do
        if "$@"; then
            return 0
        fi
        while read -r name pid config; do
            if ! child_alive "$pid"; then
                log "$name (pid $pid) exited during start-up"
                return 2
            fi
        done <"$WORKDIR/pids"
        if (($(now_ms) >= DEADLINE)); then
            log "not ready after ${TIMEOUT}s ($1 still failing)"
            return 1
        fi
        sleep 0.05
    done
}

# Set PICKED to the first port of FREE_PORTS that is not in TAKEN_PORTS, and
# add it to TAKEN_PORTS.
pick_unused_port() {
    local p t
    for p in "${FREE_PORTS[@]}"; do
        for t in "${TAKEN_PORTS[@]}"; do
            [[ $p != "$t" ]] || continue 2
        done
        TAKEN_PORTS+=("$p")
        PICKED=$p
        return 0
    done
    die "no free port left to pick"
}

# Print the log paths of the processes in WORKDIR/pids (this start attempt's;
# logs left by an earlier start in another mode are not meant).
recorded_logs() {
    local name pid config
    [[ -s $WORKDIR/pids ]] || return 0
    while read -r name pid config; do
        [[ -n ${name:-} ]] || continue
        printf '%s\n' "$WORKDIR/logs/$name.log"
    done <"$WORKDIR/pids"
}

print_log_tails() {
    local f
    while IFS= read -r f; do
        [[ -e $f ]] || continue
        printf '%s: ----- last lines of %s -----\n' "$PROG" "$f" >&2
        tail -n 30 "$f" >&2
    done < <(recorded_logs)
}

# Succeed if a start failure looks like a lost race for an auto-picked port.
lost_port_race() {
    local -a logs=()
    mapfile -t logs < <(recorded_logs)
    ((${#logs[@]})) && grep -qs 'address already in use' "${logs[@]}"
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
        if [[ -n $SIGNER_PORT ]]; then
            printf 'TRUST_SERVICE=remote\n'
            printf 'SIGNER_ADDR=%q\n' "$LOOPBACK:$SIGNER_PORT"
            printf 'SIGNER_PORT=%q\n' "$SIGNER_PORT"
        else
            printf 'TRUST_SERVICE=local\n'
        fi
        if [[ -n $DB_PORT ]]; then
            printf 'DB=mariadb\n'
            printf 'DB_PORT=%q\n' "$DB_PORT"
            printf 'DB_SOCKET=%q\n' "$DB_SOCKET"
            printf 'DB_ADMIN_USER=%q\n' "$DB_ADMIN_USER"
        else
            printf 'DB=memory\n'
        fi
        if [[ -n $REGISTRY_PORT ]]; then
            printf 'REGISTRY_URL=%q\n' "http://$LOOPBACK:$REGISTRY_PORT"
            printf 'REGISTRY_HOST=%q\n' "$LOOPBACK:$REGISTRY_PORT"
            printf 'REGISTRY_PORT=%q\n' "$REGISTRY_PORT"
        fi
    } >"$WORKDIR/env.tmp"
    mv -f "$WORKDIR/env.tmp" "$WORKDIR/env"

    # For restart: the same options with the ports this start got.
    {
        printf '%s\n' --port "$NOTARY_PORT" --trust-dir "$TRUST_DIR" --timeout "$TIMEOUT"
        [[ -z $REGISTRY_PORT ]] || printf '%s\n' --registry-port "$REGISTRY_PORT"
        [[ -z $SIGNER_PORT ]] || printf '%s\n' --signer-port "$SIGNER_PORT"
        [[ -z $DB_PORT ]] || printf '%s\n' --db-port "$DB_PORT"
        [[ -z $TOKEN_AUTH ]] || printf '%s\n' --token-auth "$TOKEN_AUTH"
        [[ -z $REGISTRY_TOKEN_AUTH ]] || printf '%s\n' --registry-token-auth "$REGISTRY_TOKEN_AUTH"
    } >"$WORKDIR/start-args.tmp"
    mv -f "$WORKDIR/start-args.tmp" "$WORKDIR/start-args"
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
    local want_port=0 want_registry_port='' want_signer=0 want_signer_port=0 attempt status
    local want_db=memory want_db_port=0
    TRUST_DIR='' TIMEOUT=20 TOKEN_AUTH='' REGISTRY_TOKEN_AUTH=''
    while (($#)); do
        case $1 in
            --port) want_port=${2:?--port needs a value}; shift 2 ;;
            --registry-port) want_registry_port=${2:?--registry-port needs a value}; shift 2 ;;
            --signer) want_signer=1; shift ;;
            --signer-port)
                want_signer=1 want_signer_port=${2:?--signer-port needs a value}
                shift 2
                ;;
            --db) want_db=${2:?--db needs a value}; shift 2 ;;
            --db-port)
                want_db=mariadb want_db_port=${2:?--db-port needs a value}
                shift 2
                ;;
            --trust-dir) TRUST_DIR=${2:?--trust-dir needs a value}; shift 2 ;;
            --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
            --token-auth) TOKEN_AUTH=${2:?--token-auth needs a value}; shift 2 ;;
            --registry-token-auth)
                REGISTRY_TOKEN_AUTH=${2:?--registry-token-auth needs a value}
                shift 2
                ;;
            *) die "unknown option: $1" ;;
        esac
    done
    valid_port "$want_port" || die "invalid --port: $want_port"
    [[ -z $want_registry_port ]] || valid_port "$want_registry_port" \
        || die "invalid --registry-port: $want_registry_port"
    valid_port "$want_signer_port" || die "invalid --signer-port: $want_signer_port"
    [[ $want_db == memory || $want_db == mariadb ]] || die "invalid --db: $want_db (memory or mariadb)"
    valid_port "$want_db_port" || die "invalid --db-port: $want_db_port"
    [[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || die "invalid --timeout: $TIMEOUT"
    [[ -z $TOKEN_AUTH || -f $TOKEN_AUTH ]] || die "--token-auth: no such file: $TOKEN_AUTH"
    [[ -z $TOKEN_AUTH ]] || ((want_signer == 0)) || die "--token-auth and --signer do not go together"
    # Absolute, so that a restart from another directory finds it.
    [[ -z $TOKEN_AUTH ]] || TOKEN_AUTH=$(cd "$(dirname "$TOKEN_AUTH")" && pwd)/$(basename "$TOKEN_AUTH")
    [[ -z $REGISTRY_TOKEN_AUTH || -f $REGISTRY_TOKEN_AUTH ]] \
        || die "--registry-token-auth: no such file: $REGISTRY_TOKEN_AUTH"
    [[ -z $REGISTRY_TOKEN_AUTH || -n $want_registry_port ]] \
        || die "--registry-token-auth needs --registry-port"
    [[ -z $REGISTRY_TOKEN_AUTH ]] \
        || REGISTRY_TOKEN_AUTH=$(cd "$(dirname "$REGISTRY_TOKEN_AUTH")" && pwd)/$(basename "$REGISTRY_TOKEN_AUTH")

    command -v notary-server >/dev/null || die "notary-server not found (run tests/peers/install-deps.sh)"
    if [[ -n $want_registry_port ]]; then
        command -v docker-registry >/dev/null || die "docker-registry not found (run tests/peers/install-deps.sh)"
    fi
    if ((want_signer)); then
        command -v notary-signer >/dev/null || die "notary-signer not found (run tests/peers/install-deps.sh)"
    fi
    if [[ $want_db == mariadb ]]; then
        local tool
        for tool in mariadbd mariadb-install-db mariadb; do
            command -v "$tool" >/dev/null || die "$tool not found (run tests/peers/install-deps.sh)"
        done
    fi

    local t0
    t0=$(now_ms)
    mkdir -p "$WORKDIR"
    WORKDIR=$(cd "$WORKDIR" && pwd -P)
    ((${LOCKED:-0})) || lock_workdir
    # Configuration files may hold the database passwords.
    umask 077
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
    if ((want_db_port != 0)); then
        local other
        for other in "$want_port" "$want_registry_port" "$want_signer_port"; do
            [[ $want_db_port != "$other" ]] || die "--db-port is the same as another port"
        done
        port_is_free "$want_db_port" || die "port $LOOPBACK:$want_db_port is already in use"
    fi
    if ((want_signer_port != 0)); then
        ((want_signer_port != want_port)) || die "--port and --signer-port are the same"
        [[ $want_signer_port != "$want_registry_port" ]] \
            || die "--registry-port and --signer-port are the same"
        port_is_free "$want_signer_port" || die "port $LOOPBACK:$want_signer_port is already in use"
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
    if ((want_signer)); then
        make_signer_cert
    fi
    SERVER_DSN='' SIGNER_DSN='' SIGNER_ALIAS='' SIGNER_PASSPHRASE_ENV=''
    if [[ $want_db == mariadb ]]; then
        db_paths
        # The socket path must fit in sockaddr_un (108 bytes with the NUL).
        ((${#DB_SOCKET} < 100)) || die "WORKDIR is too long for mariadbd's socket path: $DB_SOCKET"
        load_db_secrets
        init_db
    fi

    for ((attempt = 1; ; attempt++)); do
        # Requested ports are taken; auto ports come from three free ones.
        FREE_PORTS=() TAKEN_PORTS=()
        mapfile -t FREE_PORTS < <(pick_free_ports 4)
        ((want_port == 0)) || TAKEN_PORTS+=("$want_port")
        ((want_db_port == 0)) || TAKEN_PORTS+=("$want_db_port")
        [[ -z $want_registry_port || $want_registry_port == 0 ]] \
            || TAKEN_PORTS+=("$want_registry_port")
        ((want_signer_port == 0)) || TAKEN_PORTS+=("$want_signer_port")

        NOTARY_PORT=$want_port
        if ((NOTARY_PORT == 0)); then
            pick_unused_port
            NOTARY_PORT=$PICKED
        fi
        REGISTRY_PORT=$want_registry_port
        if [[ $REGISTRY_PORT == 0 ]]; then
            pick_unused_port
            REGISTRY_PORT=$PICKED
        fi
        SIGNER_PORT=''
        if ((want_signer)); then
            SIGNER_PORT=$want_signer_port
            if ((SIGNER_PORT == 0)); then
                pick_unused_port
                SIGNER_PORT=$PICKED
            fi
        fi

        DB_PORT=''
        if [[ $want_db == mariadb ]]; then
            DB_PORT=$want_db_port
            if ((DB_PORT == 0)); then
                pick_unused_port
                DB_PORT=$PICKED
            fi
            db_settings "$DB_PORT"
        fi

        DEADLINE=$(($(now_ms) + TIMEOUT * 1000))
        status=0
        # The database first: both servers connect to it at start-up.
        if [[ -n $DB_PORT ]]; then
            launch_db "$DB_PORT"
            wait_until db_ready || status=$?
            if ((status == 0)); then
                apply_schema
                log "mariadbd ready (schema applied) after $(($(now_ms) - t0)) ms"
            fi
        fi
        # The signer must be up before notary-server dials it: a failed first
        # dial puts the server's gRPC connection into back-off.
        if ((status == 0)) && [[ -n $SIGNER_PORT ]]; then
            write_signer_config "$SIGNER_PORT"
            if [[ -n $SIGNER_PASSPHRASE_ENV ]]; then
                # In the signer's environment only (exported for this launch, then unset).
                export "$SIGNER_PASSPHRASE_ENV=$DB_SIGNER_PASSPHRASE"
                LAUNCH_KEEP_ENV=$SIGNER_PASSPHRASE_ENV
            fi
            launch notary-signer "$WORKDIR/config/signer.json" \
                notary-signer -config "$WORKDIR/config/signer.json"
            if [[ -n $SIGNER_PASSPHRASE_ENV ]]; then
                unset "$SIGNER_PASSPHRASE_ENV"
                LAUNCH_KEEP_ENV=''
            fi
            wait_until signer_ready || status=$?
            ((status != 0)) || log "notary-signer ready after $(($(now_ms) - t0)) ms"
        fi
        if ((status == 0)); then
            write_server_config "$NOTARY_PORT" "$SIGNER_PORT"
            launch notary-server "$WORKDIR/config/server.json" \
                notary-server -config "$WORKDIR/config/server.json"
            if [[ -n $REGISTRY_PORT ]]; then
                write_registry_config "$REGISTRY_PORT"
                launch docker-registry "$WORKDIR/config/registry.yml" \
                    docker-registry serve "$WORKDIR/config/registry.yml"
            fi
            wait_until stack_ready || status=$?
        fi
        ((status != 0)) || break

        # Another process may have taken an auto-picked port between picking
        # and binding: retry with new ports a few times.
        if ((status == 2)) && lost_port_race \
            && { ((want_port == 0)) || [[ $want_registry_port == 0 ]] \
                || ((want_signer && want_signer_port == 0)) \
                || [[ $want_db == mariadb && $want_db_port == 0 ]]; } \
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

    local trust="trust service local"
    [[ -z $SIGNER_PORT ]] || trust="trust service remote: notary-signer $LOOPBACK:$SIGNER_PORT"
    local storage="memory storage"
    [[ -z $DB_PORT ]] || storage="storage: mariadbd $LOOPBACK:$DB_PORT"
    log "ready in $(($(now_ms) - t0)) ms: notary-server https://$LOOPBACK:$NOTARY_PORT ($trust; $storage)${REGISTRY_PORT:+, docker-registry http://$LOOPBACK:$REGISTRY_PORT}"
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

cmd_restart() {
    (($# == 0)) || die "restart takes no options"
    [[ -d $WORKDIR ]] || die "$WORKDIR does not exist"
    WORKDIR=$(cd "$WORKDIR" && pwd -P)
    [[ -s $WORKDIR/start-args ]] || die "no successful start recorded in $WORKDIR/start-args"
    local -a args=()
    mapfile -t args <"$WORKDIR/start-args"
    lock_workdir
    local t0
    t0=$(now_ms)
    stop_recorded || die "a recorded process survived KILL; not starting again"
    log "stopped in $(($(now_ms) - t0)) ms; starting again with: ${args[*]}"
    LOCKED=1 cmd_start "${args[@]}"
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
        restart) cmd_restart "$@" ;;
        *) usage ;;
    esac
}

main "$@"
