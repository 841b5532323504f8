package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import "fmt"

// Code is the stable number of an outcome: the C library's kt_status, which equals keystore's
// ErrorCode number for number. The constants (CodeOK, ...), AllCodes and the Err* sentinels are
// in codes.go, generated from keystore's ErrorCode.
type Code int32

// String is the library's description of the code ("wrong passphrase").
func (c Code) String() string { return C.GoString(C.kt_status_str(C.int32_t(c))) }

// Error is every error the package returns. Match it with errors.Is against the Err* sentinels
// (which compares codes) or take it apart with errors.As. Messages never hold passphrases.
type Error struct {
	// Code is the stable outcome number.
	Code Code
	// Message names the action and the object (key ID, role, path, URL).
	Message string
	// cause is the error a passphrase callback returned, if that is what cancelled the call.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("keystore: %s: %v", e.Message, e.cause)
	}
	return "keystore: " + e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, keystore.ErrWrongPassphrase) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap returns the error of the passphrase callback that cancelled the call, if any, so that
// the callback's own (typed) error survives the trip through C.
func (e *Error) Unwrap() error { return e.cause }

func sentinel(c Code) *Error { return &Error{Code: c, Message: c.String()} }

// toError turns a status and its optional kt_error into a Go error, copying the message and
// freeing the kt_error at once.
func toError(st C.kt_status, cerr *C.kt_error, cause error) error {
	if st == C.KT_STATUS_OK {
		return nil
	}
	e := &Error{Code: Code(st), cause: cause}
	if cerr != nil {
		e.Message = C.GoString(C.kt_error_message(cerr))
		C.kt_error_free(cerr)
	} else {
		e.Message = e.Code.String()
	}
	return e
}
