package keystore

/*
#include "kt_ffi.h"

// The Go trampoline, defined with //export in callback.go (cgo types its request pointer
// without const, hence the cast to the header's callback type).
extern int32_t ktGoPassphrase(void *, kt_passphrase_request *, uint8_t *, size_t, size_t *);
static kt_passphrase_cb kt_go_passphrase_cb(void) { return (kt_passphrase_cb)ktGoPassphrase; }
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// Request describes the passphrase a call needs, as the keytool CLI's sources see it.
type Request struct {
	// Role is the key's role: "root", "targets", "snapshot", "targets/releases", ...
	Role string
	// GUN is the key's repository, "" for keys without one (root keys).
	GUN string
	// KeyID is the key ID (64 hex digits), "" when not known yet (a key being imported).
	KeyID string
	// New is true when the passphrase is for a new or re-encrypted key, to be chosen.
	New bool
	// Attempt is 0 the first time, then 1 and 2 after wrong passphrases.
	Attempt int
	// VaultMaster is true when the vault's master passphrase is asked for (Role "vault master",
	// or "new vault master" for the new one of ChangeVaultMaster; no KeyID), not a key's.
	VaultMaster bool
}

// PassphraseFunc supplies passphrases. Return the passphrase as a fresh []byte: the package
// copies it into the library's buffer and then zeroes the slice you returned, so do not return a
// slice you keep (Go strings cannot be wiped; avoid holding passphrases in them). Return
// (nil, nil) when you have no passphrase — for an existing key, the passphrase keytool stores for
// it (OS keyring, then vault) is used then, and without one the call fails with
// ErrPassphraseRequired; a nil PassphraseFunc means the same for every request. Opening the vault
// asks for its master passphrase (unless KEYTOOL_VAULT_PASSPHRASE is set) with VaultMaster true,
// Role "vault master" and no KeyID. A new passphrase (New true) must have at least 8 characters. Return an error
// to cancel the call: it fails with an *Error of code CodeCancelled that wraps your error, so
// errors.Is and errors.As find it. After a wrong passphrase the function is called again with a
// higher Attempt, up to 3 attempts in all. It runs on the calling goroutine; a panic in it is
// re-raised there once the C call has returned.
type PassphraseFunc func(Request) ([]byte, error)

// callState carries a PassphraseFunc through C for one call, and what happened inside it.
type callState struct {
	fn         PassphraseFunc
	err        error
	panicked   bool
	panicValue interface{}
}

// withCallback runs call with the C callback and user data for fn (NULL for a nil fn), then
// re-raises a callback panic and returns the callback's error for wrapping.
func withCallback(fn PassphraseFunc, call func(cb C.kt_passphrase_cb, userData unsafe.Pointer)) error {
	if fn == nil {
		call(nil, nil)
		return nil
	}
	st := &callState{fn: fn}
	h := cgo.NewHandle(st)
	defer h.Delete()
	call(C.kt_go_passphrase_cb(), unsafe.Pointer(&h))
	if st.panicked {
		panic(callbackPanic(st.panicValue))
	}
	return st.err
}

// Passphrase returns a PassphraseFunc that answers every request with a copy of p.
// The package never wipes p itself: that is the caller's to do when done.
func Passphrase(p []byte) PassphraseFunc {
	return func(Request) ([]byte, error) { return append([]byte{}, p...), nil }
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
