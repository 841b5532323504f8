#!/usr/bin/env bash
# A private Docker daemon for the keytool sandbox tests, and the trustsandbox
# container on it (shared/reference/real-peers.md §8).
#
# Usage:
#   dockerd.sh start WORKDIR [--timeout SECONDS]
#   dockerd.sh sandbox WORKDIR [--name NAME] [--image IMAGE]
#   dockerd.sh stop WORKDIR
#
# start
#   Starts Debian's dockerd (/usr/sbin/dockerd, or dockerd on PATH) with
#   everything under WORKDIR and nothing shared with a system daemon:
#     --config-file WORKDIR/daemon.json --data-root WORKDIR/data
#     --exec-root WORKDIR/exec --pidfile WORKDIR/dockerd.pid
#     --host unix://WORKDIR/docker.sock --iptables=false --ip-masq=false
#     --bridge=none --storage-driver=vfs
#   dockerd starts its own containerd under WORKDIR/exec. Waits (default 30 s)
#   until `docker version` answers on the socket, then writes:
#     WORKDIR/pids    "NAME PID GUARD" for dockerd and its containerd
#     WORKDIR/env     DOCKER_HOST, DOCKERD_PID, DOCKERD_WORKDIR
#     WORKDIR/logs/dockerd.log
#   Refuses to start when a system containerd socket exists
#   (/run/containerd/containerd.sock): dockerd 20.10 would attach to it
#   instead of starting a private one.
#
# sandbox
#   Builds the image IMAGE (default trustsandbox:latest) on the private daemon
#   unless it exists: a busybox-static root filesystem (/bin/busybox and
#   applet links), the host's static docker client /usr/local/bin/docker,
#   /etc/passwd and /etc/group with root, /root and /tmp, ENV PATH and HOME;
#   imported with `docker import`. Then runs (replacing a stopped one)
#     docker run -d --name NAME --network host \
#         -v WORKDIR/docker.sock:/var/run/docker.sock IMAGE sleep 86400
#   NAME defaults to trustsandbox. The name is appended to
#   WORKDIR/containers. Prints NAME on stdout.
#
# stop
#   Removes the containers listed in WORKDIR/containers (docker rm -f, on the
#   private socket only), then sends TERM (KILL after 10 s) to exactly the PIDs
#   in WORKDIR/pids, and only while /proc/PID/cmdline still holds the
#   recorded guard argument (a path inside WORKDIR): a guard against PID
#   reuse. No other dockerd or containerd is ever touched. Then unmounts what
#   dockerd left mounted below WORKDIR (its exec/netns/default), so that
#   WORKDIR can be deleted. Stopping twice, or a never-started WORKDIR, is fine.
#
# Must run as root. Requires: dockerd (docker.io), busybox (busybox-static),
# the static docker client at /usr/local/bin/docker, tar, flock.
# tests/peers/install-deps.sh installs the packages.
set -euo pipefail

readonly PROG=${0##*/}
readonly STOP_GRACE_SECONDS=10
readonly STATIC_DOCKER=/usr/local/bin/docker
readonly SYSTEM_CONTAINERD_SOCK=/run/containerd/containerd.sock
readonly APPLETS=(sh ls cat cp mv rm mkdir chmod chown id find stat sleep echo env
    grep head tail wc sha256sum true false test uname)

# log, die, usage, now_ms, pid_is_ours, stop_recorded (dockerd first: it stops its containerd
# itself), lock_workdir.
# shellcheck source=tests/peers/pidguard.sh
source "$(dirname "${BASH_SOURCE[0]}")/pidguard.sh"

# The docker client, on the private socket only.
dk() { DOCKER_CONFIG=$WORKDIR/client-config "$STATIC_DOCKER" --host "unix://$WORKDIR/docker.sock" "$@"; }

dockerd_bin() {
    if [[ -x /usr/sbin/dockerd ]]; then
        printf '%s\n' /usr/sbin/dockerd
    else
        command -v dockerd || die "dockerd is not installed (tests/peers/install-deps.sh installs docker.io)"
    fi
}

# The containerd that dockerd PID started under WORKDIR/exec (its child).
containerd_pid() {
    local parent=$1 guard=$WORKDIR/exec/containerd/containerd.toml dir pid ppid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        pid_is_ours "$pid" "$guard" || continue
        ppid=$(awk '/^PPid:/ {print $2}' "$dir/status" 2>/dev/null || true)
        [[ $ppid == "$parent" ]] && printf '%s\n' "$pid" && return 0
    done
    return 1
}

cmd_start() {
    local timeout=30
    while (($#)); do
        case $1 in
            --timeout) timeout=${2:?}; shift 2 ;;
            *) usage ;;
        esac
    done
    ((EUID == 0)) || die "dockerd needs root"
    local dockerd
    dockerd=$(dockerd_bin)
    [[ -x $STATIC_DOCKER ]] || die "$STATIC_DOCKER (the static docker client) is missing"
    if [[ -S $SYSTEM_CONTAINERD_SOCK ]]; then
        die "a system containerd listens on $SYSTEM_CONTAINERD_SOCK; dockerd would share it instead of starting a private one"
    fi
    lock_workdir
    if [[ -s $WORKDIR/pids ]]; then
        local name pid guard
        while read -r name pid guard; do
            pid_is_ours "$pid" "$guard" && die "$name (pid $pid) of $WORKDIR is still running; stop it first"
        done <"$WORKDIR/pids"
    fi
    mkdir -p "$WORKDIR/data" "$WORKDIR/exec" "$WORKDIR/logs" "$WORKDIR/client-config"
    printf '{}\n' >"$WORKDIR/daemon.json"
    : >"$WORKDIR/pids"
    rm -f "$WORKDIR/docker.sock" "$WORKDIR/dockerd.pid"
    local start
    start=$(now_ms)
    # DOCKER_* variables of the caller must not move the daemon elsewhere.
    env -u DOCKER_HOST -u DOCKER_CONFIG -u DOCKER_CERT_PATH -u DOCKER_TLS_VERIFY \
        "$dockerd" --config-file "$WORKDIR/daemon.json" \
        --data-root "$WORKDIR/data" --exec-root "$WORKDIR/exec" \
        --pidfile "$WORKDIR/dockerd.pid" --host "unix://$WORKDIR/docker.sock" \
        --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs \
        </dev/null >>"$WORKDIR/logs/dockerd.log" 2>&1 9>&- &
    local dpid=$!
    printf 'dockerd %s %s\n' "$dpid" "$WORKDIR/dockerd.pid" >>"$WORKDIR/pids"
    log "started dockerd (pid $dpid), log $WORKDIR/logs/dockerd.log"
    local deadline=$(($(now_ms) + timeout * 1000))
    until dk version --format '{{.Server.Version}}' >/dev/null 2>&1; do
        # Our own unreaped child: "exists and is not a zombie" is exact (its cmdline is still
        # this script's until exec, so the cmdline guard would misjudge it here).
        local stat
        stat=$(cat "/proc/$dpid/stat" 2>/dev/null) || stat="0 (gone) Z"
        stat=${stat##*) }
        if [[ ${stat%% *} == Z ]]; then
            tail -n 30 "$WORKDIR/logs/dockerd.log" >&2 || true
            stop_recorded || true
            die "dockerd exited during start-up"
        fi
        if (($(now_ms) >= deadline)); then
            tail -n 30 "$WORKDIR/logs/dockerd.log" >&2 || true
            stop_recorded || true
            die "dockerd did not answer within ${timeout}s"
        fi
        sleep 0.1
    done
    local cpid
    if cpid=$(containerd_pid "$dpid"); then
        printf 'containerd %s %s\n' "$cpid" "$WORKDIR/exec/containerd/containerd.toml" >>"$WORKDIR/pids"
    fi
    {
        printf 'DOCKER_HOST=unix://%s/docker.sock\n' "$WORKDIR"
        printf 'DOCKERD_PID=%s\n' "$dpid"
        printf 'DOCKERD_WORKDIR=%s\n' "$WORKDIR"
    } >"$WORKDIR/env"
    log "dockerd $(dk version --format '{{.Server.Version}}') ready in $(($(now_ms) - start)) ms on unix://$WORKDIR/docker.sock"
}

build_image() {
    local image=$1 rootfs=$WORKDIR/rootfs busybox applet
    busybox=$(command -v busybox || true)
    [[ -n $busybox ]] || die "busybox is not installed (install busybox-static)"
    # Debian's busybox (dynamic) and busybox-static both install /bin/busybox;
    # only a static one runs in an empty root filesystem.
    if ldd "$busybox" >/dev/null 2>&1; then
        die "$busybox is not statically linked (install busybox-static)"
    fi
    rm -rf "$rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp"
    chmod 0700 "$rootfs/root"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in "${APPLETS[@]}"; do
        ln -s busybox "$rootfs/bin/$applet"
    done
    cp "$STATIC_DOCKER" "$rootfs/usr/local/bin/docker"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf - . \
        | dk import --change 'ENV PATH=/usr/local/bin:/bin' --change 'ENV HOME=/root' - "$image" >/dev/null
    rm -rf "$rootfs"
    log "built $image"
}

cmd_sandbox() {
    local name=trustsandbox image=trustsandbox:latest
    while (($#)); do
        case $1 in
            --name) name=${2:?}; shift 2 ;;
            --image) image=${2:?}; shift 2 ;;
            *) usage ;;
        esac
    done
    [[ -S $WORKDIR/docker.sock ]] || die "no private dockerd in $WORKDIR (run: $PROG start $WORKDIR)"
    lock_workdir
    dk image inspect "$image" >/dev/null 2>&1 || build_image "$image"
    dk rm -f "$name" >/dev/null 2>&1 || true
    grep -qsx -- "$name" "$WORKDIR/containers" || printf '%s\n' "$name" >>"$WORKDIR/containers"
    dk run -d --name "$name" --network host \
        -v "$WORKDIR/docker.sock:/var/run/docker.sock" "$image" sleep 86400 >/dev/null
    log "container $name runs $image"
    printf '%s\n' "$name"
}

# Unmount what dockerd left mounted below WORKDIR (the network namespace file
# exec/netns/default stays bind-mounted after dockerd exits), deepest first.
unmount_leftovers() {
    local mnt
    awk -v root="$WORKDIR/" 'index($2, root) == 1 {print $2}' /proc/self/mounts | sort -r \
        | while read -r mnt; do
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null \
                || log "warning: cannot unmount $mnt"
        done
}

cmd_stop() {
    (($# == 0)) || usage
    [[ -d $WORKDIR ]] || return 0
    lock_workdir
    local name
    if [[ -S $WORKDIR/docker.sock && -s $WORKDIR/containers ]]; then
        while read -r name; do
            if [[ -n $name ]]; then
                dk rm -f "$name" >/dev/null 2>&1 || true
            fi
        done <"$WORKDIR/containers"
        : >"$WORKDIR/containers"
    fi
    local rc=0
    stop_recorded || rc=1
    unmount_leftovers
    return "$rc"
}

main() {
    (($# >= 2)) || usage
    local cmd=$1
    WORKDIR=$2
    shift 2
    [[ $WORKDIR == /* ]] || WORKDIR=$PWD/$WORKDIR
    case $cmd in
        start) mkdir -p "$WORKDIR"; WORKDIR=$(cd "$WORKDIR" && pwd -P); cmd_start "$@" ;;
        sandbox) WORKDIR=$(cd "$WORKDIR" && pwd -P); cmd_sandbox "$@" ;;
        stop) [[ -d $WORKDIR ]] && WORKDIR=$(cd "$WORKDIR" && pwd -P); cmd_stop "$@" ;;
        *) usage ;;
    esac
}

main "$@"
