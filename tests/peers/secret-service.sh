#!/usr/bin/env bash
# Runs a command with a private, unlocked gnome-keyring Secret Service on a private D-Bus session
# bus (dependencies.md §4.4). Usage: dbus-run-session -- tests/peers/secret-service.sh CMD...
# HOME, XDG_RUNTIME_DIR and XDG_DATA_HOME point to a fresh temporary directory; the daemon is
# this script's child (--foreground) and is stopped by its PID.
set -euo pipefail
work=$(mktemp -d)
export HOME=$work XDG_RUNTIME_DIR=$work/run XDG_DATA_HOME=$work/data
mkdir -m 0700 -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"
# A non-empty password: with an empty one the login collection is not created.
printf '%s' "test-login-keyring" | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$work/daemon.log" 2>&1 &
daemon=$!
cleanup() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; then
        break
    fi
    sleep 0.1
done
"$@"
