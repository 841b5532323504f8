//! The panic boundary every export runs in, and the checked conversions of C arguments.
//!
//! [`guard`] runs a body under `catch_unwind`, turns its failure into a `kt_status` and, when the
//! caller asked for one, a `kt_error`. The argument helpers reject NULL (`KT_STATUS_NULL_ARGUMENT`)
//! and invalid UTF-8 (`KT_STATUS_INVALID_ARGUMENT`) before any work is done.

use std::any::Any;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::kt_error;
use crate::status::kt_status;

/// Why an export failed.
pub(crate) enum Fail {
    /// A required pointer argument was NULL; names the parameter.
    Null(&'static str),
    /// The keystore reported an error.
    Keystore(keystore::Error),
}

impl From<keystore::Error> for Fail {
    fn from(e: keystore::Error) -> Self {
        Fail::Keystore(e)
    }
}

/// Runs `body` inside the panic boundary. On failure, stores a `kt_error` in `*err_out` when
/// `err_out` is not NULL, and returns the status.
pub(crate) fn guard(
    err_out: *mut *mut kt_error,
    body: impl FnOnce() -> Result<(), Fail>,
) -> kt_status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return kt_status::Ok,
        Ok(Err(Fail::Null(what))) => (kt_status::NullArgument, format!("argument {what} is NULL")),
        Ok(Err(Fail::Keystore(e))) => (kt_status::from(e.code()), message_of(&e)),
        Err(payload) => (
            kt_status::Panic,
            format!("panic: {}", panic_text(&*payload)),
        ),
    };
    if !err_out.is_null() {
        let error = Box::into_raw(Box::new(kt_error::new(status, message)));
        // SAFETY: `err_out` is not NULL, and the contract of every export is that a non-NULL
        // `err_out` points to a writable `kt_error *`.
        unsafe { *err_out = error };
    }
    status
}

/// The `Display` of an error followed by those of its sources that it does not already contain,
/// joined with ": ". keystore errors never hold secrets, so neither does this.
fn message_of(e: &keystore::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Shorthand for an invalid argument.
pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Fail {
    Fail::Keystore(keystore::Error::InvalidArgument {
        what: keystore::error::Argument::Parameter(what),
        reason: reason.into(),
    })
}

/// A required text argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded from this function's contract.
    unsafe { opt_text(p, what) }?.ok_or(Fail::Null(what))
}

/// An optional text argument (NULL gives `None`).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn opt_text<'a>(
    p: *const c_char,
    what: &'static str,
) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: `p` is not NULL and, by this function's contract, NUL-terminated and valid for 'a.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|_| invalid(what, "the text is not valid UTF-8"))
}

/// A byte-buffer argument: NULL is allowed only with `len == 0`.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that stay valid and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    p: *const u8,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Fail::Null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(invalid(what, "the length is larger than any buffer"));
    }
    // SAFETY: `p` is not NULL, `len` fits an allocation, and by contract `p` points to `len`
    // readable bytes valid for 'a.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A required pointer (an out-parameter or a handle), checked before any work is done.
pub(crate) fn non_null<T>(p: *mut T, what: &'static str) -> Result<*mut T, Fail> {
    if p.is_null() {
        Err(Fail::Null(what))
    } else {
        Ok(p)
    }
}

/// A required handle, borrowed for the call.
///
/// # Safety
/// `p` is NULL or points to a live `T` that is not freed during `'a`.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &'static str) -> Result<&'a T, Fail> {
    // SAFETY: by contract `p` is NULL (checked by `as_ref`) or points to a live T for 'a.
    unsafe { p.as_ref() }.ok_or(Fail::Null(what))
}

/// Stores `value` in a checked out-parameter.
///
/// # Safety
/// `out` is non-NULL (from [`non_null`]) and points to writable memory for a `T`.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    // SAFETY: forwarded from this function's contract; `write` does not drop the (possibly
    // uninitialised) old value.
    unsafe { out.write(value) }
}

/// A Rust string as a C string to hand out (freed with `kt_string_free`).
pub(crate) fn c_string(text: String) -> Result<*mut c_char, Fail> {
    CString::new(text).map(CString::into_raw).map_err(|_| {
        Fail::Keystore(keystore::Error::Internal {
            what: "a returned string holds a NUL byte".into(),
        })
    })
}

/// Serialises a listing or report for a `json_out` parameter.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<*mut c_char, Fail> {
    let json = serde_json::to_string(value).map_err(|e| {
        Fail::Keystore(keystore::Error::Internal {
            what: format!("cannot serialise the result as JSON: {e}"),
        })
    })?;
    c_string(json)
}

/// TEST ONLY (built with the `test-panic` cargo feature, `#define KT_TEST_PANIC`): panics inside
/// Rust, to prove that a panic comes back as `KT_STATUS_PANIC` with a `kt_error` in `*err_out`
/// (when `err_out` is not NULL) and that the library stays usable afterwards. Thread-safe.
#[cfg(feature = "test-panic")]
#[unsafe(no_mangle)]
pub extern "C" fn kt_test_panic(err_out: *mut *mut kt_error) -> kt_status {
    guard(err_out, || -> Result<(), Fail> {
        panic!("kt_test_panic: a deliberate panic for the boundary test")
    })
}
