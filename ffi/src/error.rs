//! `kt_error`: the optional error object of a failed call (code + message), instead of a
//! thread-local "last error" (goroutines move between OS threads).

use std::ffi::{CString, c_char};

use crate::status::kt_status;
use crate::unwind::infallible;

/// What went wrong in one failed call: its status and a message naming the action and the object
/// (key ID, role, path, URL). Messages never contain passphrases or key material.
///
/// Created by the library in `*err_out` when a call fails; owned by the caller, who releases it
/// with `kt_error_free`. Immutable: may be read from several threads at once.
pub struct kt_error {
    code: kt_status,
    message: CString,
}

impl kt_error {
    pub(crate) fn new(code: kt_status, message: String) -> Self {
        // Interior NULs cannot be represented; replace them rather than lose the message.
        let message = CString::new(message.replace('\0', "\u{fffd}"))
            .unwrap_or_else(|_| CString::from(c"(message unavailable)"));
        kt_error { code, message }
    }
}

/// Returns the status of `err` (a `KT_STATUS_*` number). `err` is borrowed.
/// NULL gives `KT_STATUS_NULL_ARGUMENT`. Thread-safe.
///
/// # Safety
/// `err` is NULL or a live `kt_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_error_code(err: *const kt_error) -> kt_status {
    infallible(kt_status::Panic, || {
        // SAFETY: by contract `err` is NULL or a live kt_error.
        unsafe { err.as_ref() }.map_or(kt_status::NullArgument, |e| e.code)
    })
}

/// Returns the message of `err`: NUL-terminated UTF-8, borrowed from `err` and valid until
/// `kt_error_free(err)`; never free it yourself. NULL gives NULL. Thread-safe.
///
/// # Safety
/// `err` is NULL or a live `kt_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_error_message(err: *const kt_error) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `err` is NULL or a live kt_error.
        unsafe { err.as_ref() }.map_or(std::ptr::null(), |e| e.message.as_ptr())
    })
}

/// Frees an error. NULL is a no-op. Freeing the same error twice is undefined behaviour.
///
/// # Safety
/// `err` is NULL or a `kt_error` from this library that has not been freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_error_free(err: *mut kt_error) {
    infallible((), || {
        if !err.is_null() {
            // SAFETY: by contract `err` came from Box::into_raw in this library and is freed once.
            drop(unsafe { Box::from_raw(err) });
        }
    });
}
