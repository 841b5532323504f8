# shellcheck shell=bash
# Shared by notary-stack.sh and dockerd.sh (sourced, not run): logging, the PID record of the
# processes a script started under WORKDIR, and the guard that makes sure a recorded PID is still
# one of ours before it is signalled (PIDs are reused; we end only what we started).
#
# The sourcing script sets PROG (its name), WORKDIR and STOP_GRACE_SECONDS. WORKDIR/pids holds one
# line per process: NAME PID GUARD, where GUARD is a path inside WORKDIR that appears as an exact
# argument on that process's command line.

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Succeed if PID is alive and one of its argv elements is exactly GUARD, a path inside WORKDIR.
# Zombies have an empty cmdline, so they count as gone.
pid_is_ours() {
    local pid=$1 guard=$2 arg
    [[ $pid =~ ^[0-9]+$ && $guard == "$WORKDIR"/* ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    while IFS= read -r -d '' arg; do
        [[ $arg == "$guard" ]] && return 0
    done <"/proc/$pid/cmdline" 2>/dev/null
    return 1
}

# Stop every process in WORKDIR/pids, in the order listed (TERM, then KILL after
# STOP_GRACE_SECONDS), then empty the record. Returns non-zero only if something survived KILL.
stop_recorded() {
    local pidfile=$WORKDIR/pids name pid guard i any
    local -a names=() pids=() guards=()
    [[ -s $pidfile ]] || return 0
    while read -r name pid guard; do
        [[ -n ${name:-} ]] || continue
        names+=("$name") pids+=("$pid") guards+=("$guard")
    done <"$pidfile"

    for i in "${!pids[@]}"; do
        if pid_is_ours "${pids[i]}" "${guards[i]}"; then
            log "stopping ${names[i]} (pid ${pids[i]})"
            kill -TERM "${pids[i]}" 2>/dev/null || true
        fi
    done

    # Wait for the TERM to take effect, polling every 0.1 s.
    local deadline=$(($(now_ms) + STOP_GRACE_SECONDS * 1000))
    while :; do
        any=0
        for i in "${!pids[@]}"; do
            pid_is_ours "${pids[i]}" "${guards[i]}" && any=1
        done
        ((any)) || break
        (($(now_ms) < deadline)) || break
        sleep 0.1
    done

    if ((any)); then
        for i in "${!pids[@]}"; do
            if pid_is_ours "${pids[i]}" "${guards[i]}"; then
                log "${names[i]} (pid ${pids[i]}) ignored TERM; sending KILL"
                kill -KILL "${pids[i]}" 2>/dev/null || true
            fi
        done
        sleep 0.5
    fi

    local rc=0
    for i in "${!pids[@]}"; do
        if pid_is_ours "${pids[i]}" "${guards[i]}"; then
            log "warning: ${names[i]} (pid ${pids[i]}) is still running"
            rc=1
        fi
    done
    : >"$pidfile"
    return "$rc"
}

# Take an exclusive lock on WORKDIR so that start and stop on the same directory never
# interleave. fd 9 must be closed for long-running children (they would hold the lock).
lock_workdir() {
    exec 9>"$WORKDIR/.lock"
    flock -w 60 9 || die "timed out waiting for the lock on $WORKDIR"
}
