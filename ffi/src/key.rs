//! `kt_key`: one decrypted private key, for signing many messages with one passphrase prompt.

use std::ffi::{CString, c_char, c_void};

use keystore::ops::{self, PrivateKey};

use crate::boundary::{Fail, bytes, c_string, guard, handle, non_null, opt_text, put, text};
use crate::error::kt_error;
use crate::keystore::kt_keystore;
use crate::memory::bytes_out;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::status::kt_status;
use crate::unwind::infallible;

/// The length of a signature: raw `r‖s`, two 32-byte big-endian integers (notary's ECDSA form).
pub const KT_SIGNATURE_LEN: usize = 64;

/// A decrypted private key with its ID, role and GUN. The secret is wiped when it is freed.
///
/// Created by `kt_key_load`, released with `kt_key_free`. Immutable: may be used from several
/// threads at once, but `kt_key_free` must not run while another call uses it.
pub struct kt_key {
    key: PrivateKey,
    id: CString,
    role: CString,
    gun: Option<CString>,
}

/// Generates a new ECDSA P-256 key for `role` ("root", "targets", "snapshot", a delegation such
/// as "targets/releases", or a signer name) and repository `gun` (required for targets and
/// snapshot keys; must be NULL for the others). A GUN docker could not use (a tag, upper case)
/// and a near miss of a role name ("target", "root-key") are `KT_STATUS_INVALID_ARGUMENT`, with
/// the likely fix in the message ("did you mean targets?"). Encrypts the key with a
/// new passphrase from the callback (`is_new` true; empty is `KT_STATUS_WEAK_PASSPHRASE`) and
/// writes it atomically as `private/<key ID>.key`, where docker and notary find it.
///
/// On success `*key_id_out` receives the new key ID (64 hex digits; free it with
/// `kt_string_free`). On failure `*key_id_out` is untouched, nothing is written, and `*err_out`
/// (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `role` and `gun` are NULL or NUL-terminated; `cb` is NULL or
/// a valid callback, called with `user_data`; `key_id_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_generate(
    store: *const kt_keystore,
    role: *const c_char,
    gun: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    key_id_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, role, gun) = unsafe {
            (
                handle(store, "store")?,
                text(role, "role")?,
                opt_text(gun, "gun")?,
            )
        };
        let key_id_out = non_null(key_id_out, "key_id_out")?;
        let role = role.parse()?;
        let gun = gun.map(str::parse).transpose()?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let made = ops::generate(&store.dir, &source, role, gun, &store.kdf)?;
        let id = c_string(made.id.to_string())?;
        // SAFETY: `key_id_out` is non-NULL and writable by contract.
        unsafe { put(key_id_out, id) };
        Ok(())
    })
}

/// Loads and decrypts key `key_id` (full ID or a unique prefix of at least 4 hex digits) with a
/// passphrase from the callback (`is_new` false; asked again after a wrong passphrase, up to 3
/// attempts). The file's KDF cost is checked before any work (`KT_STATUS_EXCESSIVE_KDF_COST`).
///
/// On success `*key_out` receives a handle owned by the caller (release it with `kt_key_free`).
/// On failure `*key_out` is untouched and `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_id` is NULL or NUL-terminated; `cb` is NULL or a valid
/// callback, called with `user_data`; `key_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_load(
    store: *const kt_keystore,
    key_id: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    key_out: *mut *mut kt_key,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, key_id) = unsafe { (handle(store, "store")?, text(key_id, "key_id")?) };
        let key_out = non_null(key_out, "key_out")?;
        let id = ops::resolve_key_id(&store.dir, key_id)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let loaded = ops::load_key(&store.dir, &id, &source, &store.kdf)?;
        let c = |s: &str| {
            CString::new(s).map_err(|_| {
                Fail::Keystore(keystore::Error::Internal {
                    what: "a key ID, role or GUN holds a NUL byte".into(),
                })
            })
        };
        let loaded = Box::new(kt_key {
            id: c(id.as_str())?,
            role: c(loaded.role.as_str())?,
            gun: loaded.gun.as_ref().map(|g| c(g.as_str())).transpose()?,
            key: loaded.key,
        });
        // SAFETY: `key_out` is non-NULL and writable by contract.
        unsafe { put(key_out, Box::into_raw(loaded)) };
        Ok(())
    })
}

/// Frees a key, wiping its secret. NULL is a no-op. Must not race with another call on the same
/// key; freeing twice is undefined behaviour.
///
/// # Safety
/// `key` is NULL or a handle from `kt_key_load` that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_free(key: *mut kt_key) {
    infallible((), || {
        if !key.is_null() {
            // SAFETY: by contract `key` came from Box::into_raw in kt_key_load, freed once. The
            // p256 secret key zeroizes itself on drop.
            drop(unsafe { Box::from_raw(key) });
        }
    });
}

/// The key ID (64 hex digits), borrowed from `key`: valid until `kt_key_free(key)`, never free
/// it. NULL gives NULL. Thread-safe.
///
/// # Safety
/// `key` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_id(key: *const kt_key) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `key` is NULL or live.
        unsafe { key.as_ref() }.map_or(std::ptr::null(), |k| k.id.as_ptr())
    })
}

/// The key's role as stored in its file ("root", "targets", ...), borrowed from `key`: valid
/// until `kt_key_free(key)`. NULL gives NULL. Thread-safe.
///
/// # Safety
/// `key` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_role(key: *const kt_key) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `key` is NULL or live.
        unsafe { key.as_ref() }.map_or(std::ptr::null(), |k| k.role.as_ptr())
    })
}

/// The key's repository (GUN), or NULL for keys without one (root keys), borrowed from `key`:
/// valid until `kt_key_free(key)`. NULL `key` gives NULL. Thread-safe.
///
/// # Safety
/// `key` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_gun(key: *const kt_key) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: by contract `key` is NULL or live.
        unsafe { key.as_ref() }
            .and_then(|k| k.gun.as_ref())
            .map_or(std::ptr::null(), |g| g.as_ptr())
    })
}

/// The public key as DER SubjectPublicKeyInfo (what TUF's `keyval.public` holds for ecdsa keys;
/// the key ID is SHA-256 over notary's canonical JSON of it).
///
/// On success `*spki_out` and `*len_out` receive a buffer owned by the caller (free it with
/// `kt_bytes_free(spki, len)`). On failure neither is touched and `*err_out` (if not NULL)
/// receives the error. Thread-safe.
///
/// # Safety
/// `key` is NULL or a live handle; `spki_out`, `len_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_public_spki(
    key: *const kt_key,
    spki_out: *mut *mut u8,
    len_out: *mut usize,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let key = unsafe { handle(key, "key") }?;
        let spki_out = non_null(spki_out, "spki_out")?;
        let len_out = non_null(len_out, "len_out")?;
        let (p, len) = bytes_out(key.key.public().bytes().to_vec());
        // SAFETY: both out-parameters are non-NULL and writable by contract.
        unsafe {
            put(spki_out, p);
            put(len_out, len);
        }
        Ok(())
    })
}

/// Signs `len` bytes at `message` with `key`: ECDSA P-256 over SHA-256, as notary signs TUF
/// metadata. The nonce is fresh each time (hedged: random bytes mixed with the key and the
/// message), so two signatures of one message differ; both verify. On success the raw `r‖s` signature (`KT_SIGNATURE_LEN` = 64 bytes) is written to
/// `sig_out`. On failure `sig_out` is untouched and `*err_out` (if not NULL) receives the error
/// (`KT_STATUS_UNSUPPORTED_ALGORITHM` for RSA/Ed25519 keys). Thread-safe.
///
/// # Safety
/// `key` is NULL or a live handle; `message` is NULL (only with `len` 0) or `len` readable bytes;
/// `sig_out` is NULL or 64 writable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_key_sign(
    key: *const kt_key,
    message: *const u8,
    len: usize,
    sig_out: *mut u8,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (key, message) = unsafe { (handle(key, "key")?, bytes(message, len, "message")?) };
        let sig_out = non_null(sig_out.cast::<[u8; KT_SIGNATURE_LEN]>(), "sig_out")?;
        let sig = key.key.sign(message)?;
        // SAFETY: `sig_out` is non-NULL and points to 64 writable bytes by contract.
        unsafe { put(sig_out, sig) };
        Ok(())
    })
}

/// Signs `len` bytes at `message` with key `key_id` (full ID or unique prefix) in one call:
/// decrypts the key with a passphrase from the callback, signs (ECDSA P-256 over SHA-256, as
/// notary signs TUF metadata) and forgets the key. To sign many messages, `kt_key_load` once and
/// `kt_key_sign` each (decrypting costs far more than signing).
///
/// On success the raw `r‖s` signature (`KT_SIGNATURE_LEN` = 64 bytes) is written to `sig_out`.
/// On failure `sig_out` is untouched and `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_id` is NULL or NUL-terminated; `message` is NULL (only
/// with `len` 0) or `len` readable bytes; `cb` is NULL or a valid callback, called with
/// `user_data`; `sig_out` is NULL or 64 writable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_sign(
    store: *const kt_keystore,
    key_id: *const c_char,
    message: *const u8,
    len: usize,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    sig_out: *mut u8,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, key_id, message) = unsafe {
            (
                handle(store, "store")?,
                text(key_id, "key_id")?,
                bytes(message, len, "message")?,
            )
        };
        let sig_out = non_null(sig_out.cast::<[u8; KT_SIGNATURE_LEN]>(), "sig_out")?;
        let id = ops::resolve_key_id(&store.dir, key_id)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let key = ops::load_key(&store.dir, &id, &source, &store.kdf)?.key;
        let sig = key.sign(message)?;
        // SAFETY: `sig_out` is non-NULL and points to 64 writable bytes by contract.
        unsafe { put(sig_out, sig) };
        Ok(())
    })
}
