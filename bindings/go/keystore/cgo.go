package keystore

// All linking lives here, through pkg-config (package keytool), as for any C library:
//   - an installed library (scripts/install-c-lib.sh --prefix P): PKG_CONFIG_PATH=P/lib/pkgconfig
//     (not needed for a prefix pkg-config already searches, such as /usr/local);
//   - this repository's build tree (the package's own tests): PKG_CONFIG_PATH=<repo>/bindings/c,
//     absolute, which finds keytool-uninstalled.pc and links target/release/libkt_ffi.a; build it
//     first with `cargo build --release -p keystore-ffi` in the repository root.

/*
#cgo pkg-config: keytool
#include <stdlib.h>
#include "kt_ffi.h"
*/
import "C"

import (
	"unsafe"
)

// cString converts s to a C string the caller frees with C.free (via freeCStrings).
func cString(s string) *C.char { return C.CString(s) }

// cOptString is cString, or NULL for "".
func cOptString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeCStrings(ps ...*C.char) {
	for _, p := range ps {
		if p != nil {
			C.free(unsafe.Pointer(p))
		}
	}
}

// takeString copies a string returned by the library into Go and frees (wipes) the original.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.kt_string_free(p)
	return s
}

// bytesPtr returns a pointer to b's first byte (NULL for an empty slice) for the duration of
// one C call.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// Version returns the version of the linked C library.
func Version() string { return C.GoString(C.kt_version()) }
