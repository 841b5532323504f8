//! Passphrases from the caller: a C function pointer plus `user_data`, adapted to
//! [`keystore::passphrase::PassphraseSource`], so a callback sees exactly what the CLI's sources
//! see (key ID, role, GUN, new-or-existing, attempt number); behind it, the passphrases keytool
//! stores (OS keyring, vault), as in the CLI's chain.

use keystore::error::Argument;
use std::ffi::{CString, c_char, c_void};

use keystore::passphrase::policy::Policy;
use keystore::passphrase::{PassphraseSource, Purpose, Request, Subject, Supplied};
use keystore::{Error, Passphrase, Result, TrustDir};
use zeroize::Zeroizing;

use crate::status::kt_status;
use crate::unwind::infallible;

/// The size of the buffer a passphrase callback writes into: the longest passphrase accepted.
pub const KT_PASSPHRASE_MAX: usize = 1024;

/// Asks the caller for one passphrase.
///
/// * `user_data` is the pointer given to the call that needs the passphrase, passed through
///   untouched; the library never keeps it after that call returns.
/// * `req` describes the key (see the `kt_passphrase_request_*` accessors); it and every string
///   read from it are valid only until the callback returns.
/// * `buf` holds `buf_len` (`KT_PASSPHRASE_MAX`) writable bytes owned by the library, wiped after
///   use. Write the passphrase there (UTF-8, no NUL needed) and its length into `*len_out`. If it
///   does not fit, write only its length (larger than `buf_len`): the call then fails with
///   `KT_STATUS_INVALID_ARGUMENT` ("too long").
///
/// Return `KT_STATUS_OK` with a passphrase; `KT_STATUS_PASSPHRASE_REQUIRED` to say "I have none"
/// (for an existing key the passphrase keytool stores for it is used then — OS keyring, then
/// vault — and without one the call fails with `KT_STATUS_PASSPHRASE_REQUIRED`); any other value
/// cancels the call, which fails with `KT_STATUS_CANCELLED`. Opening the vault asks the callback
/// for its master passphrase (unless `KEYTOOL_VAULT_PASSPHRASE` is set): role `"vault master"`,
/// no key ID, `is_new` false. A new passphrase (`is_new` true) must have at least 8 characters,
/// else the call fails with `KT_STATUS_WEAK_PASSPHRASE` and nothing is written. After a wrong
/// passphrase the callback is asked again with a higher attempt number, up to 3 attempts in all
/// (then `KT_STATUS_WRONG_PASSPHRASE`). The callback
/// runs on the thread that made the call, and must not unwind (no C++ exception, no Go panic).
pub type kt_passphrase_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        req: *const kt_passphrase_request,
        buf: *mut u8,
        buf_len: usize,
        len_out: *mut usize,
    ) -> i32,
>;

/// What a passphrase callback is asked for. Borrowed: valid only during the callback.
pub struct kt_passphrase_request {
    role: CString,
    gun: Option<CString>,
    key_id: Option<CString>,
    is_new: bool,
    attempt: u32,
    vault_master: bool,
}

impl kt_passphrase_request {
    fn from_request(request: &Request<'_>) -> Self {
        // Roles, GUNs and key IDs are validated newtypes without NUL bytes; should one ever hold
        // a NUL, the callback sees an empty string rather than a truncated one.
        let c = |s: &str| CString::new(s).unwrap_or_default();
        kt_passphrase_request {
            role: c(request.role.as_str()),
            gun: request.gun.map(|g| c(g.as_str())),
            key_id: request.key_id.map(|k| c(k.as_str())),
            is_new: request.purpose == Purpose::NewKey,
            attempt: request.attempt,
            vault_master: request.subject == Subject::VaultMaster,
        }
    }
}

/// The role of the key ("root", "targets", "snapshot", "targets/releases", ...): borrowed from
/// `req`, valid during the callback. NULL `req` gives NULL.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_role(
    req: *const kt_passphrase_request,
) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }.map_or(std::ptr::null(), |r| r.role.as_ptr())
    })
}

/// The repository (GUN) of the key, or NULL for keys without one (root keys). Borrowed from
/// `req`, valid during the callback. NULL `req` gives NULL.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_gun(
    req: *const kt_passphrase_request,
) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }
            .and_then(|r| r.gun.as_ref())
            .map_or(std::ptr::null(), |g| g.as_ptr())
    })
}

/// The key ID (64 hex digits), or NULL when it is not known yet (a key being imported). Borrowed
/// from `req`, valid during the callback. NULL `req` gives NULL.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_key_id(
    req: *const kt_passphrase_request,
) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }
            .and_then(|r| r.key_id.as_ref())
            .map_or(std::ptr::null(), |k| k.as_ptr())
    })
}

/// Whether the passphrase is for a new (or re-encrypted) key, to be chosen, rather than for
/// decrypting an existing one. NULL `req` gives false.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_is_new(req: *const kt_passphrase_request) -> bool {
    infallible(false, || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }.is_some_and(|r| r.is_new)
    })
}

/// The attempt number: 0 the first time, then 1, 2 after wrong passphrases. NULL `req` gives 0.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_attempt(req: *const kt_passphrase_request) -> u32 {
    infallible(0, || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }.map_or(0, |r| r.attempt)
    })
}

/// Whether the request is for the vault's master passphrase (role `"vault master"`, or `"new
/// vault master"` for the new one of `kt_vault_change_master`; no key ID) rather than a key's
/// passphrase. NULL `req` gives false.
///
/// # Safety
/// `req` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_passphrase_request_is_vault_master(
    req: *const kt_passphrase_request,
) -> bool {
    infallible(false, || {
        // SAFETY: by contract `req` is NULL or the live request of the running callback.
        unsafe { req.as_ref() }.is_some_and(|r| r.vault_master)
    })
}

/// The passphrase policy of every call (keystore's one documented order): the callback first,
/// then the passphrases keytool stores for existing keys — the OS keyring (chosen by
/// `KEYTOOL_KEYRING` in the environment, as the CLI; opened only if the callback has nothing),
/// then the vault, whose master passphrase comes from `KEYTOOL_VAULT_PASSPHRASE`, else the
/// callback (role `"vault master"`, no key ID). So a key made by `keytool
/// --generate-passphrase` opens with a NULL callback, or one that answers
/// `KT_STATUS_PASSPHRASE_REQUIRED`. docker's and notary's passphrase variables are not read: a
/// library takes secrets from its caller. New passphrases from the callback have at least 8
/// characters.
/// A misspelt `KEYTOOL_KEYRING` fails the call with `KT_STATUS_INVALID_ARGUMENT`, as it fails
/// every CLI command.
pub(crate) fn policy(
    dir: &TrustDir,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
) -> Result<Policy> {
    Ok(Policy::new(dir.clone(), |k| std::env::var_os(k))?
        .with_callback(Callback::new(cb, user_data)))
}

/// A callback as a passphrase source. Holds `user_data` only for the duration of one export.
pub(crate) struct Callback {
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
}

impl Callback {
    pub(crate) fn new(cb: kt_passphrase_cb, user_data: *mut c_void) -> Self {
        Callback { cb, user_data }
    }
}

const ORIGIN: &str = "the passphrase callback";

impl PassphraseSource for Callback {
    fn describe(&self) -> String {
        ORIGIN.into()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let Some(cb) = self.cb else {
            return Ok(None);
        };
        let req = kt_passphrase_request::from_request(request);
        let mut buf = Zeroizing::new(vec![0u8; KT_PASSPHRASE_MAX]);
        let mut len = 0usize;
        // SAFETY: `cb` is the caller's function with the documented signature; `req`, `buf` (of
        // `buf.len()` bytes) and `len` are live for the whole call; `user_data` is passed through
        // as the caller gave it.
        let rc = unsafe { cb(self.user_data, &req, buf.as_mut_ptr(), buf.len(), &mut len) };
        if rc == kt_status::PassphraseRequired as i32 {
            return Ok(None);
        }
        if rc != kt_status::Ok as i32 {
            return Err(Error::Cancelled);
        }
        if len > buf.len() {
            return Err(Error::InvalidArgument {
                what: Argument::Passphrase,
                reason: format!(
                    "{ORIGIN} returned {len} bytes; at most {KT_PASSPHRASE_MAX} are accepted"
                ),
            });
        }
        let passphrase =
            Passphrase::from_bytes(Zeroizing::new(buf[..len].to_vec())).ok_or_else(|| {
                Error::InvalidArgument {
                    what: Argument::Passphrase,
                    reason: format!("{ORIGIN} returned bytes that are not UTF-8"),
                }
            })?;
        Ok(Some(Supplied {
            passphrase,
            origin: ORIGIN.into(),
            retry_allowed: true,
        }))
    }
}
