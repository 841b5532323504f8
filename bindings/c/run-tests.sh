#!/usr/bin/env bash
# Builds the C suite (tests/test_keystore.c) and the example against the static and the shared
# kt_ffi library, and runs the suite plain (both), under valgrind (shared) and under
# AddressSanitizer (static).
#
# Usage: bindings/c/run-tests.sh   (from anywhere; CC defaults to gcc)
#
# Builds the release library with `--features test-panic` first: the suite proves that a panic
# inside Rust comes back as KT_STATUS_PANIC through the test-only kt_test_panic(). The build
# prints the system libraries the static library needs (rustc --print native-static-libs); the
# suite links with exactly those, and fails if keytool-uninstalled.pc or README.md list others
# (the Go package links through keytool-uninstalled.pc; scripts/install-c-lib.sh writes an
# installed keytool.pc from rustc's list).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

cc=${CC:-gcc}
target_dir=${CARGO_TARGET_DIR:-$root/target}
lib="$target_dir/release"
out="$target_dir/c-tests"
mkdir -p "$out"

step() { printf '\n--> [%ds] %s\n' "$SECONDS" "$*"; }

step "cargo rustc --release -p keystore-ffi --features test-panic -- --print native-static-libs"
build_log=$(cargo rustc --release -p keystore-ffi --features test-panic --lib \
    -- --print native-static-libs 2>&1) || { printf '%s\n' "$build_log" >&2; exit 1; }
# What the static library needs from the system (cargo replays the note when nothing changed).
native=$(sed -n 's/^note: native-static-libs: //p' <<<"$build_log" | head -n 1)
[ -n "$native" ] || { printf '%s\n' "$build_log" >&2; echo "no native-static-libs line" >&2; exit 1; }
read -r -a native_libs <<<"$native"
echo "native-static-libs: $native"
for doc in "$here/keytool-uninstalled.pc" "$here/README.md"; do
    grep -qF -- "$native" "$doc" || {
        echo "$doc does not list the static library's system libraries ($native): update it" >&2
        exit 1
    }
done
# The suite checks signatures with OpenSSL's libcrypto (libssl-dev), an independent verifier.
cflags=(-std=c11 -Wall -Wextra -Werror -g -I"$here/include" -DKT_TEST_PANIC)

step "compile against libkt_ffi.a and libkt_ffi.so"
"$cc" "${cflags[@]}" "$here/tests/test_keystore.c" "$lib/libkt_ffi.a" "${native_libs[@]}" -lcrypto \
    -o "$out/test_static"
# The shared library's SONAME is libkt_ffi.so.MAJOR (ffi/build.rs), the name the program loads:
# cargo writes only libkt_ffi.so, so the suite loads it through that link (an install makes it).
version=$(cargo pkgid -p keystore-ffi)
version=${version##*[@#]}
mkdir -p "$out/lib"
ln -sfn "$lib/libkt_ffi.so" "$out/lib/libkt_ffi.so.${version%%.*}"
"$cc" "${cflags[@]}" "$here/tests/test_keystore.c" -L"$lib" -lkt_ffi -Wl,-rpath,"$out/lib" -lcrypto \
    -o "$out/test_shared"
"$cc" "${cflags[@]}" -fsanitize=address -fno-omit-frame-pointer "$here/tests/test_keystore.c" \
    "$lib/libkt_ffi.a" "${native_libs[@]}" -lcrypto -o "$out/test_asan"
"$cc" "${cflags[@]}" "$here/examples/generate_key.c" "$lib/libkt_ffi.a" "${native_libs[@]}" \
    -o "$out/generate_key"
# The build tree's pkg-config file is of this version and links the same way.
pc_version=$(PKG_CONFIG_PATH="$here" pkg-config --modversion keytool)
[ "$pc_version" = "$version" ] \
    || { echo "keytool-uninstalled.pc says version $pc_version, the crate is $version: update it" >&2; exit 1; }
# shellcheck disable=SC2046 # pkg-config prints several words
"$cc" "${cflags[@]}" "$here/examples/generate_key.c" $(PKG_CONFIG_PATH="$here" pkg-config --cflags --libs keytool) \
    -o "$out/generate_key_pc"

export RUST_BACKTRACE=0
# The suite tests the ABI; the OS keyrings have their own end-to-end tests (scripts/test.sh). With
# a desktop session, a D-Bus connection's process-lifetime allocations would show under valgrind.
export KEYTOOL_KEYRING=none
step "run (static)"
"$out/test_static"
step "run (shared)"
"$out/test_shared"
# valgrind runs the suite some 50 times slower: once, on the shared library (the way most C
# programs link it, through the dynamic loader). The static build runs under ASan below.
step "run under valgrind (shared)"
valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 \
    --suppressions="$here/tests/valgrind.supp" "$out/test_shared"
step "run under AddressSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$out/test_asan"
step "run the example"
example_dir=$(mktemp -d)
trap 'rm -rf "$example_dir"' EXIT
KT_EXAMPLE_PASSPHRASE=example-passphrase "$out/generate_key" "$example_dir" root
echo "C suite: all runs passed"
