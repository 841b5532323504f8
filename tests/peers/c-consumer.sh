#!/usr/bin/env bash
# Programs outside the workspace use the installed C library the ordinary way:
#   1. scripts/install-c-lib.sh into temporary prefixes (shared + static, static only, and a
#      DESTDIR staging install), checking the layout, the SONAME and the generated keytool.pc;
#   2. the ABI guard (bindings/c/abi/abi-check.py) on the installed header and library, and its
#      self-test (it must refuse a removed function, a renumbered status, a changed parameter);
#   3. a C program in a temporary directory, compiled with only `pkg-config --cflags --libs
#      keytool` (shared) and `pkg-config --static ...` (static-only prefix);
#   4. a Go module in a temporary directory (its own go.mod, `replace` to bindings/go), built
#      against the shared and the static-only prefix through the package's `#cgo pkg-config`.
# Each program generates a key, signs, and checks the signature (C: with openssl; Go: with
# crypto/ecdsa) and exits 0.
#
# Usage: tests/peers/c-consumer.sh   (needs cc, pkg-config, readelf, nm, python3, openssl, go)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

step() { printf '\n--> %s\n' "$*"; }
fail() { echo "c-consumer: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix static_prefix=$work/static-prefix stage=$work/stage

step "install (both library types) into $prefix"
bash scripts/install-c-lib.sh --prefix "$prefix"
version=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion keytool)
major=${version%%.*}
for f in include/kt_ffi.h lib/libkt_ffi.a "lib/libkt_ffi.so.$version" lib/pkgconfig/keytool.pc; do
    [ -f "$prefix/$f" ] || fail "the install has no $f"
done
[ "$(readlink "$prefix/lib/libkt_ffi.so.$major")" = "libkt_ffi.so.$version" ] || fail "bad libkt_ffi.so.$major link"
[ "$(readlink "$prefix/lib/libkt_ffi.so")" = "libkt_ffi.so.$major" ] || fail "bad libkt_ffi.so link"
soname_line=$(readelf -d "$prefix/lib/libkt_ffi.so.$version" | grep SONAME)
echo "readelf -d libkt_ffi.so.$version: $soname_line"
grep -qF "[libkt_ffi.so.$major]" <<<"$soname_line" || fail "SONAME is not libkt_ffi.so.$major"
grep -qx "#define KT_VERSION_MAJOR $major" "$prefix/include/kt_ffi.h" || fail "header version macros"

step "install with --destdir (packaging): files under DESTDIR, keytool.pc names the prefix"
bash scripts/install-c-lib.sh --prefix /opt/keytool --destdir "$stage" --libdir lib/x86_64-linux-gnu
staged=$stage/opt/keytool/lib/x86_64-linux-gnu
[ -f "$staged/libkt_ffi.so.$version" ] && [ -f "$stage/opt/keytool/include/kt_ffi.h" ] \
    || fail "the DESTDIR install is incomplete"
[ "$(PKG_CONFIG_PATH=$staged/pkgconfig pkg-config --variable=libdir keytool)" = /opt/keytool/lib/x86_64-linux-gnu ] \
    || fail "the staged keytool.pc does not name the final libdir"

step "install the static library only into $static_prefix"
bash scripts/install-c-lib.sh --prefix "$static_prefix" --library-type static
compgen -G "$static_prefix/lib/libkt_ffi.so*" >/dev/null && fail "a static-only install has a shared library"

step "ABI guard: the installed library against bindings/c/abi/baseline.txt"
python3 bindings/c/abi/abi-check.py --header "$prefix/include/kt_ffi.h" \
    --library "$prefix/lib/libkt_ffi.so.$version"
python3 bindings/c/abi/abi-check.py --header "$prefix/include/kt_ffi.h" \
    --library "$prefix/lib/libkt_ffi.so.$version" --self-test

# Checks one program's output directory: message, raw r‖s signature, DER public key (openssl).
verify_with_openssl() {
    local out=$1 sig r s
    sig=$(od -An -tx1 -v "$out/sig.raw" | tr -d ' \n')
    [ ${#sig} -eq 128 ] || fail "the signature is not 64 bytes"
    r=${sig:0:64} s=${sig:64:64}
    printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >"$out/sig.cnf"
    openssl asn1parse -genconf "$out/sig.cnf" -out "$out/sig.der" -noout
    openssl dgst -sha256 -verify "$out/spki.der" -keyform DER -signature "$out/sig.der" "$out/msg"
}

step "a C program outside the workspace, shared: cc main.c \$(pkg-config --cflags --libs keytool)"
app=$work/c-app
mkdir -p "$app"
cp bindings/c/consumer/main.c "$app/main.c"
cd "$app"
# shellcheck disable=SC2046 # pkg-config prints several words
cc -std=c11 -Wall -Wextra -Werror main.c \
    $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs keytool) -o app-shared
readelf -d app-shared | grep -q "NEEDED.*\[libkt_ffi.so.$major\]" || fail "app-shared does not load libkt_ffi.so.$major"
if ./app-shared "$work/t0" "$work/o0" 2>"$work/noload.txt"; then
    fail "app-shared ran without the library on the loader's path"
fi
grep -q "libkt_ffi.so.$major" "$work/noload.txt" || fail "unexpected failure: $(cat "$work/noload.txt")"
mkdir "$work/o1"
LD_LIBRARY_PATH=$prefix/lib KEYTOOL_KEYRING=none ./app-shared "$work/t1" "$work/o1"
verify_with_openssl "$work/o1"

step "the same program, static: cc main.c \$(pkg-config --static --cflags --libs keytool)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror main.c \
    $(PKG_CONFIG_PATH=$static_prefix/lib/pkgconfig pkg-config --static --cflags --libs keytool) -o app-static
readelf -d app-static | grep -q "libkt_ffi" && fail "app-static needs a shared libkt_ffi"
mkdir "$work/o2"
KEYTOOL_KEYRING=none ./app-static "$work/t2" "$work/o2"
verify_with_openssl "$work/o2"
cd "$root"

step "a Go module outside the workspace (replace => bindings/go), shared and static"
goapp=$work/go-app
mkdir -p "$goapp"
cp bindings/go/testdata/consumer/main.go "$goapp/main.go"
cat >"$goapp/go.mod" <<EOF
module example.com/ktconsumer

go 1.19

require example.invalid/keytool/bindings/go v0.0.0

replace example.invalid/keytool/bindings/go => $root/bindings/go
EOF
# Go 1.19's build cache does not key a cgo package on pkg-config's output: a private cache, and
# CGO_CFLAGS that differ per library, make each build link the library it names.
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE=$work/go-cache PKG_CONFIG_PATH=''
cd "$goapp"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig CGO_CFLAGS="-g -O2 -DKT_CONSUMER_SHARED" go build -o go-shared .
readelf -d go-shared | grep -q "NEEDED.*\[libkt_ffi.so.$major\]" || fail "go-shared does not load libkt_ffi.so.$major"
LD_LIBRARY_PATH=$prefix/lib KEYTOOL_KEYRING=none ./go-shared "$work/t3"
PKG_CONFIG_PATH=$static_prefix/lib/pkgconfig CGO_CFLAGS="-g -O2 -DKT_CONSUMER_STATIC" go build -o go-static .
readelf -d go-static | grep -q "libkt_ffi" && fail "go-static needs a shared libkt_ffi"
KEYTOOL_KEYRING=none ./go-static "$work/t4"
cd "$root"
echo "c-consumer: C (shared, static) and Go (shared, static) programs outside the workspace ran"
echo "c-consumer: 4 passed, 0 failed"
