// Package keystore manages Docker Content Trust (Notary v1) keys from Go, through keytool's C
// ABI (bindings/c/include/kt_ffi.h): the keys it writes are ordinary keytool keys, which docker,
// notary and the keytool CLI read.
//
// Open a trust directory, generate keys, list, load and sign, import and export, change
// passphrases and rotate repository keys. Passphrases come from a PassphraseFunc that sees the
// same request as the CLI's sources (role, GUN, key ID, new or existing, attempt number), as
// []byte that the package wipes after copying. Every failure is an *Error with a stable Code;
// match it with errors.Is against ErrWrongPassphrase, ErrNotFound, ... or errors.As.
//
// Keystore and Key values are safe for concurrent use. Close them when done: finalizers are only
// a safety net.
//
// Building: the package links target/release/libkt_ffi.a of the repository, so run
// `cargo build --release -p keystore-ffi` first. Standard library only; Go 1.19.
package keystore
