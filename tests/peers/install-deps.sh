#!/usr/bin/env bash
# Install the Debian 12 packages that the keytool interop tests need to run
# the real Docker Content Trust peers (notary CLI, notary-server,
# docker-registry) on loopback, plus the helpers the tests drive them with.
#
# Usage: tests/peers/install-deps.sh [--sandbox]
#
# --sandbox: only what `keytool sandbox up` needs (the README's main command): docker.io,
# notary (notary-server), docker-registry and busybox-static.
#
# Idempotent:
#   * If every needed binary is already on PATH, apt is not touched at all.
#   * Otherwise `apt-get update` runs once, then only the packages that dpkg
#     does not report as installed are installed (no recommends).
#
# Must run as root, or as a user who can use sudo without a password.
set -euo pipefail

# Debian package -> binaries it provides that the tests use.
# (keyutils provides keyctl; notary provides notary and notary-server; docker.io provides the
# docker CLI and dockerd, the private daemon of tests/peers/dockerd.sh; busybox-static provides the
# static /bin/busybox the trustsandbox image is made of; golang-go and valgrind serve the C and Go
# binding suites; clang and llvm cross-compile ring's C for the macOS type check; mariadb-server
# provides mariadbd, mariadb-install-db and (through its client dependency) mariadb, the database of
# `notary-stack.sh --db mariadb` and, packed into an image with its ldd libraries, of
# `keytool sandbox up --signer` (tests/tests/sandbox_signer.rs). Installing it initialises /var/lib/mysql, but the tests never use
# that or a system service: they run a private mariadbd with its own data directory;
# golang-docker-credential-helpers provides docker-credential-secretservice, the real credential
# helper of tests/tests/auth.rs, run against the private gnome-keyring of secret-service.sh.)
declare -A package_binaries=(
    [notary]="notary notary-server notary-signer"
    [docker-registry]="docker-registry"
    [openssl]="openssl"
    [curl]="curl"
    [expect]="expect"
    [keyutils]="keyctl"
    [gnome-keyring]="gnome-keyring-daemon"
    [libsecret-tools]="secret-tool"
    [dbus-daemon]="dbus-run-session dbus-send"
    [hyperfine]="hyperfine"
    [python3]="python3"
    [docker.io]="docker dockerd"
    [busybox-static]="busybox"
    [golang-go]="go"
    [valgrind]="valgrind"
    [clang]="clang"
    [llvm]="llvm-ar"
    [mariadb-server]="mariadbd mariadb-install-db mariadb"
    [golang-docker-credential-helpers]="docker-credential-secretservice"
)
# Fixed order, so the output is stable.
packages=(notary docker-registry openssl curl expect keyutils gnome-keyring libsecret-tools dbus-daemon hyperfine python3 docker.io
    busybox-static golang-go valgrind clang llvm mariadb-server golang-docker-credential-helpers)
# The installed C library's consumer tests (tests/peers/c-consumer.sh) and the Go package's cgo
# link through pkg-config and inspect the library with readelf and nm.
package_binaries[pkgconf]="pkg-config"
package_binaries[binutils]="readelf nm"
packages+=(pkgconf binutils)
# The C suite verifies kt_ffi's signatures with OpenSSL's libcrypto (a header, not a binary: an
# entry that is a path is checked as a file).
package_binaries[libssl-dev]="/usr/include/openssl/evp.h"
packages+=(libssl-dev)
if [[ ${1:-} == --sandbox ]]; then
    packages=(notary docker-registry docker.io busybox-static)
elif (($#)); then
    printf 'usage: %s [--sandbox]\n' "${0##*/}" >&2
    exit 2
fi

log() { printf 'install-deps: %s\n' "$*" >&2; }

# Whether one entry of the table is there: a binary on PATH, or a file when it is a path.
present() {
    if [[ $1 == /* ]]; then [[ -e $1 ]]; else command -v "$1" >/dev/null 2>&1; fi
}

# Print the binaries (from the table above) that are not on PATH.
missing_binaries() {
    local pkg bin
    for pkg in "${packages[@]}"; do
        for bin in ${package_binaries[$pkg]}; do
            present "$bin" || printf '%s\n' "$bin"
        done
    done
}

mapfile -t missing < <(missing_binaries)
if ((${#missing[@]} == 0)); then
    log "all needed binaries are present; nothing to install"
    exit 0
fi
log "missing binaries: ${missing[*]}"

# Packages with a missing binary that dpkg does not consider installed (a binary may also come
# from elsewhere, e.g. a docker CLI in /usr/local/bin: then its package is not needed).
to_install=()
for pkg in "${packages[@]}"; do
    needed=0
    for bin in ${package_binaries[$pkg]}; do
        present "$bin" || needed=1
    done
    ((needed)) || continue
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        to_install+=("$pkg")
    fi
done

if ((${#to_install[@]} == 0)); then
    # Every package is installed, yet a binary is missing: reinstalling
    # would not help, most likely PATH lacks /usr/sbin or /usr/bin.
    log "all packages are installed but binaries are missing from PATH: ${missing[*]}"
    log "PATH=$PATH"
    exit 1
fi

# Run apt-get as root (directly, or through sudo when not root).
sudo_cmd=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo -n)
    else
        log "not root and sudo is unavailable; cannot install: ${to_install[*]}"
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0)

log "apt-get update"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update

log "apt-get install ${to_install[*]}"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_opts[@]}" install --no-install-recommends "${to_install[@]}"

# Check the result, so a broken install fails here rather than in a test.
mapfile -t still_missing < <(missing_binaries)
if ((${#still_missing[@]} != 0)); then
    log "still missing after install: ${still_missing[*]}"
    exit 1
fi
log "done"
