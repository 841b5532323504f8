package keystore

// All linking lives here. The package links the static library by explicit path (with -l the
// linker would pick the .so next to it); build it first with
// `cargo build --release -p keystore-ffi` in the repository root.

/*
#cgo CFLAGS: -I${SRCDIR}/../../c/include
#cgo LDFLAGS: ${SRCDIR}/../../../target/release/libkt_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
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
