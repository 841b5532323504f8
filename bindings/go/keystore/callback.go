package keystore

// This file holds the //export'ed trampoline only: a file with //export may have nothing but
// declarations in its preamble.

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// ktGoPassphrase is the kt_passphrase_cb every call with a PassphraseFunc passes to C.
// userData points to the cgo.Handle of the call's *callState, valid for that call only.
//
//export ktGoPassphrase
func ktGoPassphrase(userData unsafe.Pointer, req *C.kt_passphrase_request, buf *C.uint8_t, bufLen C.size_t, lenOut *C.size_t) (rc C.int32_t) {
	st := (*(*cgo.Handle)(userData)).Value().(*callState)
	defer func() {
		// A Go panic must not unwind through Rust frames: keep it and cancel the call; the
		// calling goroutine re-panics once C has returned.
		if r := recover(); r != nil {
			st.panicked, st.panicValue = true, r
			rc = C.KT_STATUS_CANCELLED
		}
	}()
	r := Request{
		Role:        C.GoString(C.kt_passphrase_request_role(req)),
		GUN:         goOptString(C.kt_passphrase_request_gun(req)),
		KeyID:       goOptString(C.kt_passphrase_request_key_id(req)),
		New:         bool(C.kt_passphrase_request_is_new(req)),
		Attempt:     int(C.kt_passphrase_request_attempt(req)),
		VaultMaster: bool(C.kt_passphrase_request_is_vault_master(req)),
	}
	pass, err := st.fn(r)
	defer wipe(pass)
	if err != nil {
		st.err = err
		return C.KT_STATUS_CANCELLED
	}
	if pass == nil {
		return C.KT_STATUS_PASSPHRASE_REQUIRED
	}
	*lenOut = C.size_t(len(pass))
	if len(pass) > int(bufLen) {
		return C.KT_STATUS_OK // the library reports "too long"
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(bufLen)), pass)
	return C.KT_STATUS_OK
}

func goOptString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// callbackPanic is what a call re-panics with after its passphrase callback panicked.
func callbackPanic(v interface{}) string {
	return fmt.Sprintf("keystore: passphrase callback panicked: %v", v)
}
