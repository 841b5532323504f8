//! A passphrase callback may call back into the library, on the same handle, without hanging:
//! the library asks for passphrases without holding the trust directory's lock. The one call a
//! callback cannot make — another rotation of the same trust directory from inside a rotation —
//! fails at once with `KT_STATUS_INVALID_ARGUMENT` instead of waiting forever.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::null_mut;
use std::sync::mpsc;
use std::time::Duration;

use kt_ffi::*;

const PASS: &[u8] = b"callback-passphrase-1";
const GUN: &CStr = c"example.com/ffi/reentrant";

/// What the callback does besides answering.
struct Reenter {
    store: *mut kt_keystore,
    /// Status of the nested call made from the callback (for the new-key request).
    nested: Option<kt_status>,
    /// Nested call: true = rotate the same repository, false = generate a key.
    rotate: bool,
}

unsafe extern "C" fn reentering(
    user_data: *mut c_void,
    req: *const kt_passphrase_request,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
) -> i32 {
    // SAFETY: `user_data` is the live `Reenter` of the test; `req` is this callback's request.
    let (state, is_new) = unsafe {
        (
            &mut *user_data.cast::<Reenter>(),
            kt_passphrase_request_is_new(req),
        )
    };
    if is_new && state.nested.is_none() {
        // Mark first, so that the nested call's own callbacks do not nest again.
        state.nested = Some(kt_status::Ok);
        let status = if state.rotate {
            let mut json: *mut c_char = null_mut();
            // SAFETY: valid handle and strings; `json` is writable.
            unsafe {
                kt_repo_rotate(
                    state.store,
                    GUN.as_ptr(),
                    c"targets".as_ptr(),
                    std::ptr::null(),
                    std::ptr::null(),
                    false,
                    false,
                    Some(reentering),
                    user_data,
                    &mut json,
                    null_mut(),
                )
            }
        } else {
            let mut id: *mut c_char = null_mut();
            // SAFETY: as above.
            let status = unsafe {
                kt_key_generate(
                    state.store,
                    c"targets".as_ptr(),
                    c"example.com/ffi/other".as_ptr(),
                    Some(reentering),
                    user_data,
                    &mut id,
                    null_mut(),
                )
            };
            // SAFETY: a string the library returned, freed once.
            unsafe { kt_string_free(id) };
            status
        };
        state.nested = Some(status);
    }
    assert!(PASS.len() <= buf_len);
    // SAFETY: the library passes `buf_len` writable bytes and a writable `len_out`.
    unsafe {
        std::ptr::copy_nonoverlapping(PASS.as_ptr(), buf, PASS.len());
        *len_out = PASS.len();
    }
    kt_status::Ok as i32
}

/// Pre-seeds GUN offline, then rotates its targets key with a callback that calls back into the
/// library (`rotate` chooses how); returns the rotation's status and the nested call's.
fn rotate_with_reentry(rotate: bool) -> (kt_status, Option<kt_status>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = CString::new(tmp.path().to_str().expect("utf-8")).expect("no NUL");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut store = null_mut();
        // SAFETY: valid strings and out-pointers; the handle is freed once at the end.
        unsafe {
            assert_eq!(
                kt_keystore_open(dir.as_ptr(), &mut store, null_mut()),
                kt_status::Ok
            );
            let mut state = Reenter {
                store,
                nested: Some(kt_status::Ok),
                rotate,
            };
            let data = (&raw mut state).cast::<c_void>();
            let mut json: *mut c_char = null_mut();
            assert_eq!(
                kt_repo_init(
                    store,
                    GUN.as_ptr(),
                    std::ptr::null(),
                    std::ptr::null(),
                    false,
                    Some(reentering),
                    data,
                    &mut json,
                    null_mut()
                ),
                kt_status::Ok
            );
            kt_string_free(json);
            state.nested = None;
            let status = kt_repo_rotate(
                store,
                GUN.as_ptr(),
                c"targets".as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                false,
                false,
                Some(reentering),
                data,
                &mut json,
                null_mut(),
            );
            if status == kt_status::Ok {
                kt_string_free(json);
            }
            kt_keystore_free(store);
            let _ = tx.send((status, state.nested));
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the rotation hung: a callback that calls back into the library deadlocked")
}

#[test]
fn a_callback_may_generate_a_key_during_a_rotation() {
    let (status, nested) = rotate_with_reentry(false);
    assert_eq!(status, kt_status::Ok);
    assert_eq!(nested, Some(kt_status::Ok), "the nested generate succeeds");
}

#[test]
fn a_nested_rotation_of_the_same_directory_fails_instead_of_hanging() {
    let (status, nested) = rotate_with_reentry(true);
    assert_eq!(status, kt_status::Ok, "the outer rotation completes");
    assert_eq!(nested, Some(kt_status::InvalidArgument));
}
