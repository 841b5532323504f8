#!/usr/bin/env bash
# Type-checks and lints keystore (with the macOS keychain store), keytool and the C library for
# x86_64-apple-darwin: `cargo clippy --target x86_64-apple-darwin -D warnings`. There is no macOS
# machine here, so this proves the macOS code compiles; it does not run it.
#
# ring's build script compiles C for the target even for a check: clang cross-compiles it
# freestanding (no Apple SDK), with a stand-in for the one SDK header it includes. The objects
# are never linked.
#
# If rust-std for the target cannot be downloaded (rustup's server unreachable), the check is
# skipped with a loud notice rather than failing the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=x86_64-apple-darwin
if ! command -v rustup >/dev/null; then
    echo "macos-check: SKIPPED: no rustup to install rust-std for $target" >&2
    exit 0
fi
if ! rustup target list --installed | grep -qx "$target"; then
    if ! rustup target add "$target"; then
        echo "macos-check: SKIPPED: rust-std for $target could not be downloaded" >&2
        exit 0
    fi
fi

stub="$PWD/tests/peers/macos-sdk-stub"
export CC_x86_64_apple_darwin=clang
export AR_x86_64_apple_darwin=llvm-ar
export CFLAGS_x86_64_apple_darwin="-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -I$stub"
cargo clippy --target "$target" -p keystore -p keytool -p keystore-ffi -- -D warnings
echo "macos-check: keystore (macOS keychain store), keytool and kt_ffi type-check and lint for $target"
