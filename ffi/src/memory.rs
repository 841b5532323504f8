//! Freeing what the library hands out. Buffers are wiped before they are freed: an export
//! bundle or a JSON listing is not secret, but wiping costs nothing and keeps one rule.

use std::ffi::{CString, c_char};

use zeroize::Zeroize;

use crate::unwind::infallible;

/// Wipes and frees a string returned by this library (`*json_out`, `*key_id_out`,
/// `*bundle_out`, ...). NULL is a no-op. Never pass a string from `malloc` or a static string
/// (`kt_version`, `kt_status_str`, `kt_error_message`, `kt_key_id`); freeing twice is undefined
/// behaviour. Thread-safe.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_string_free(s: *mut c_char) {
    infallible((), || {
        if !s.is_null() {
            // SAFETY: by contract `s` came from CString::into_raw in this library, freed once.
            let mut bytes = unsafe { CString::from_raw(s) }.into_bytes_with_nul();
            bytes.zeroize();
        }
    });
}

/// Wipes and frees a byte buffer returned by this library with its length (for example by
/// `kt_key_public_spki`). NULL is a no-op. `len` must be the length returned with the buffer;
/// freeing twice is undefined behaviour. Thread-safe.
///
/// # Safety
/// `p` is NULL or a buffer of exactly `len` bytes returned by this library and not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_bytes_free(p: *mut u8, len: usize) {
    infallible((), || {
        if !p.is_null() {
            // SAFETY: by contract `p`/`len` came from `bytes_out` (a boxed slice of exactly `len`
            // bytes) and are freed once.
            let mut bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) };
            bytes.zeroize();
        }
    });
}

/// Hands out a byte buffer (freed with `kt_bytes_free`) as pointer and length.
pub(crate) fn bytes_out(bytes: Vec<u8>) -> (*mut u8, usize) {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    (Box::into_raw(boxed).cast::<u8>(), len)
}
