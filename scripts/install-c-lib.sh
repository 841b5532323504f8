#!/usr/bin/env bash
# Installs keytool's C library (kt_ffi) like any C library, into PREFIX (under DESTDIR when given):
#
#   PREFIX/include/kt_ffi.h                    the header (KT_VERSION_* macros = the package version)
#   PREFIX/LIBDIR/libkt_ffi.so.X.Y.Z           the shared library, SONAME libkt_ffi.so.X
#   PREFIX/LIBDIR/libkt_ffi.so.X -> ...X.Y.Z   the SONAME link (what programs load at run time)
#   PREFIX/LIBDIR/libkt_ffi.so -> ...so.X      the development link (what -lkt_ffi finds)
#   PREFIX/LIBDIR/libkt_ffi.a                  the static library
#   PREFIX/LIBDIR/pkgconfig/keytool.pc         pkg-config file naming the installed paths
#
# Usage: scripts/install-c-lib.sh --prefix PREFIX [--destdir DESTDIR] [--libdir LIBDIR]
#                                 [--library-type both|shared|static]
#
#   --prefix        where the library will live (absolute; written into keytool.pc)
#   --destdir       staging root for packaging: files go to DESTDIR/PREFIX/... while keytool.pc
#                   still says PREFIX (default: $DESTDIR, else nothing)
#   --libdir        library directory relative to PREFIX (default lib; Debian: lib/x86_64-linux-gnu)
#   --library-type  both (default), shared only, or static only. In a static-only prefix -lkt_ffi
#                   can only find the .a, so keytool.pc lists the system libraries it needs in Libs
#                   (in both/shared prefixes they are in Libs.private, for `pkg-config --static`).
#
# Builds the release library first (cargo build --release -p keystore-ffi, without the test-only
# test-panic feature). Linux only: the SONAME comes from ffi/build.rs. Equivalent to cargo-c's
# `cargo cinstall` for this crate, without building cargo-c.
set -euo pipefail

die() { printf 'install-c-lib: %s\n' "$*" >&2; exit 2; }
prefix='' destdir=${DESTDIR:-} libdir=lib library_type=both
while (($#)); do
    case $1 in
        --prefix | --destdir | --libdir | --library-type)
            (($# >= 2)) || die "$1 needs a value"
            case $1 in
                --prefix) prefix=$2 ;;
                --destdir) destdir=$2 ;;
                --libdir) libdir=$2 ;;
                --library-type) library_type=$2 ;;
            esac
            shift 2
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ -n $prefix ]] || die "--prefix is required (see --help)"
[[ $prefix == /* ]] || die "--prefix must be an absolute path, not $prefix"
[[ $libdir != /* && $libdir != *..* ]] || die "--libdir is relative to the prefix, not $libdir"
case $library_type in both | shared | static) ;; *) die "--library-type is both, shared or static" ;; esac
[[ $(uname -s) == Linux ]] || die "only Linux is supported (the SONAME comes from ffi/build.rs)"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${CARGO_TARGET_DIR:-$root/target}/release

# The shipped library, and the system libraries its static form needs (rustc prints them).
build_log=$(cargo rustc --release -p keystore-ffi --lib -- --print native-static-libs 2>&1) \
    || { printf '%s\n' "$build_log" >&2; echo "install-c-lib: the build failed" >&2; exit 1; }
native=$(sed -n 's/^note: native-static-libs: //p' <<<"$build_log" | head -n 1)
[[ -n $native ]] || { printf '%s\n' "$build_log" >&2; echo "install-c-lib: rustc printed no native-static-libs" >&2; exit 1; }

pkgid=$(cargo pkgid -p keystore-ffi)
version=${pkgid##*[@#]}
[[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "unexpected package version '$version'"
major=${BASH_REMATCH[1]}
header=$root/bindings/c/include/kt_ffi.h
grep -qx "#define KT_VERSION_STRING \"$version\"" "$header" || {
    echo "install-c-lib: $header is not the header of version $version: run" \
        "KT_UPDATE_HEADER=1 cargo test -p keystore-ffi --test header" >&2
    exit 1
}
soname=$(readelf -d "$build/libkt_ffi.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "libkt_ffi.so.$major" ]] \
    || { echo "install-c-lib: $build/libkt_ffi.so has SONAME '$soname', not libkt_ffi.so.$major" >&2; exit 1; }

dest_lib=$destdir$prefix/$libdir
install -d -m 0755 "$destdir$prefix/include" "$dest_lib/pkgconfig"
install -m 0644 "$header" "$destdir$prefix/include/kt_ffi.h"
if [[ $library_type != static ]]; then
    install -m 0755 "$build/libkt_ffi.so" "$dest_lib/libkt_ffi.so.$version"
    ln -sfn "libkt_ffi.so.$version" "$dest_lib/libkt_ffi.so.$major"
    ln -sfn "libkt_ffi.so.$major" "$dest_lib/libkt_ffi.so"
fi
if [[ $library_type != shared ]]; then
    install -m 0644 "$build/libkt_ffi.a" "$dest_lib/libkt_ffi.a"
fi
if [[ $library_type == static ]]; then
    libs="-L\${libdir} -lkt_ffi $native" libs_private=''
else
    libs="-L\${libdir} -lkt_ffi" libs_private=$native
fi
pc=$(mktemp)
trap 'rm -f "$pc"' EXIT
cat >"$pc" <<EOF
# keytool's C library (kt_ffi), installed by scripts/install-c-lib.sh ($library_type).
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/$libdir

Name: keytool
Description: Docker Content Trust (Notary v1) keys and passphrases: the kt_ffi C ABI
Version: $version
Cflags: -I\${includedir}
Libs: $libs
Libs.private: $libs_private
EOF
install -m 0644 "$pc" "$dest_lib/pkgconfig/keytool.pc"
echo "install-c-lib: installed kt_ffi $version ($library_type library; the shared one's SONAME is $soname) into $destdir$prefix"
