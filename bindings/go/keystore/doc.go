// Package keystore manages Docker Content Trust (Notary v1) keys from Go, through keytool's C
// library (kt_ffi, header kt_ffi.h): the keys it writes are ordinary keytool keys, which docker,
// notary and the keytool CLI read.
//
// # Installing and using
//
// The package finds the C library through pkg-config (package keytool), as any cgo package does.
// Install the library once from a keytool checkout:
//
//	scripts/install-c-lib.sh --prefix /usr/local    # header, libkt_ffi.so.X.Y.Z, .a, keytool.pc
//
// The module path is example.invalid/keytool/bindings/go; it is not served by a module proxy, so
// a module outside the repository depends on it through a replace directive to a checkout (or to
// a copy of bindings/go kept in the module's own tree):
//
//	require example.invalid/keytool/bindings/go v0.0.0
//	replace example.invalid/keytool/bindings/go => /path/to/keytool/bindings/go
//
// `go mod vendor` then copies the package into vendor/ like any other dependency; the header and
// the library still come from pkg-config. Build with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when
// PREFIX is not one pkg-config searches by default.
//
// Linking: with the shared and the static library installed in one prefix, the program links
// libkt_ffi.so.X and needs it at run time (ldconfig, or LD_LIBRARY_PATH=PREFIX/lib). For a
// self-contained binary install the static library alone (install-c-lib.sh --library-type static
// --prefix P2) and build against P2. Go 1.19's build cache does not notice a change of
// pkg-config's output: after switching between libraries, run `go clean -cache` (or use another
// GOCACHE). tests/peers/c-consumer.sh builds such a module both ways in CI.
//
// The package's own tests link the repository's build tree: run
// `cargo build --release -p keystore-ffi`, then go test with PKG_CONFIG_PATH set to the absolute
// path of bindings/c (whose keytool-uninstalled.pc links target/release/libkt_ffi.a).
//
// # Use
//
// Open a trust directory, generate keys, list, load and sign, import and export, change
// passphrases and rotate repository keys. To leave Docker Content Trust, ExportCosign and
// ExportNotation write a key in cosign's and notation's formats, and MigrateSigstore turns a
// repository's verified signatures into cosign signatures in its registry (library version 0.2.0
// and later; Version reports the linked library's). Passphrases come from a PassphraseFunc that sees the
// same request as the CLI's sources (role, GUN, key ID, new or existing, attempt number), as
// []byte that the package wipes after copying. Every failure is an *Error with a stable Code;
// match it with errors.Is against ErrWrongPassphrase, ErrNotFound, ... or errors.As.
//
// Keystore and Key values are safe for concurrent use. Close them when done: finalizers are only
// a safety net. Standard library only; Go 1.19.
package keystore
