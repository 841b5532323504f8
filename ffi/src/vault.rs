//! The passphrase vault of a trust directory: create it, inspect it, change its master
//! passphrase (as `keytool vault init|status|change-master`).

use std::ffi::{c_char, c_void};

use keystore::ops;
use keystore::passphrase::vault::KdfParams;

use crate::boundary::{guard, handle, non_null, put, to_json};
use crate::error::kt_error;
use crate::keystore::kt_keystore;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::status::kt_status;

/// Argon2id parameters from the caller; 0 means the default of each.
fn params(m_kib: u32, t: u32, p: u32) -> KdfParams {
    let d = KdfParams::DEFAULT;
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    KdfParams {
        m_kib: or(m_kib, d.m_kib),
        t: or(t, d.t),
        p: or(p, d.p),
    }
}

/// Creates the passphrase vault of the trust directory (`keytool-vault.json`), sealed with
/// Argon2id (`m_kib` KiB of memory, `t` passes, `p` lanes; 0 takes the default of each: 65536,
/// 4, 1). Its master passphrase comes from `KEYTOOL_VAULT_PASSPHRASE`, else the callback (role
/// `"vault master"`, no key ID, `is_new` true; at least 8 characters). An existing vault is
/// never replaced (`KT_STATUS_ALREADY_EXISTS`).
///
/// On success `*json_out` receives the vault's status as JSON (as `kt_vault_status_json`; free
/// it with `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives
/// the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `cb` is NULL or a valid callback, called with `user_data`;
/// `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_vault_init(
    store: *const kt_keystore,
    m_kib: u32,
    t: u32,
    p: u32,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let store = unsafe { handle(store, "store")? };
        let json_out = non_null(json_out, "json_out")?;
        let status = ops::vault_init(&policy(&store.dir, cb, user_data)?, params(m_kib, t, p))?;
        let json = to_json(&status)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Reports the vault's header as JSON, nothing secret: `path`, `exists`, `version`, `kdf`
/// (`m_kib`, `t`, `p`) and `entries` (`key_id`, `slot`, `role`, `gun`). No passphrase is asked.
///
/// On success `*json_out` receives the JSON (free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error (`KT_STATUS_INVALID_KEY_FILE` for a
/// damaged file). Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_vault_status_json(
    store: *const kt_keystore,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let store = unsafe { handle(store, "store")? };
        let json_out = non_null(json_out, "json_out")?;
        let (status, _) = ops::vault_status(&store.dir, None)?;
        let json = to_json(&status)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Re-seals the vault under a new master passphrase and new Argon2id parameters (0 takes the
/// default of each), atomically: a crash leaves the vault under the old master passphrase or
/// the new one. The current master passphrase comes from `KEYTOOL_VAULT_PASSPHRASE`, else the
/// callback (role `"vault master"`, `is_new` false); the new one from the callback (role
/// `"new vault master"`, `is_new` true; at least 8 characters). On failure the vault is unchanged
/// and `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `cb` is NULL or a valid callback, called with `user_data`;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_vault_change_master(
    store: *const kt_keystore,
    m_kib: u32,
    t: u32,
    p: u32,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let store = unsafe { handle(store, "store")? };
        ops::vault_change_master(
            &policy(&store.dir, cb, user_data)?,
            None,
            params(m_kib, t, p),
        )?;
        Ok(())
    })
}
