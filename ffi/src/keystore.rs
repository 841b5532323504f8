//! `kt_keystore`: a trust directory (`~/.docker/trust` or any other), and the key chores on it.

use std::ffi::{c_char, c_void};

use keystore::ops::{self, ImportOptions, KdfSettings, Selection};
use keystore::{Gun, KeyId, Role, TrustDir};

use crate::boundary::{Fail, bytes, guard, handle, non_null, opt_text, put, text, to_json};
use crate::error::kt_error;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::status::kt_status;

/// An open trust directory: the `private/` keys and `tuf/` metadata that docker and notary use.
///
/// Created by `kt_keystore_open`, released with `kt_keystore_free`. Thread-safe: one handle may be
/// used from several threads at once (every change takes an exclusive lock on the directory,
/// which also serialises against other processes such as the keytool CLI), but
/// `kt_keystore_free` must not run while another call uses the handle.
pub struct kt_keystore {
    pub(crate) dir: TrustDir,
    pub(crate) kdf: KdfSettings,
}

/// Opens the trust directory at `trust_dir` (for docker's: `$HOME/.docker/trust`). Nothing is
/// created until a key is written.
///
/// On success `*store_out` receives a new handle owned by the caller (release it with
/// `kt_keystore_free`). On failure `*store_out` is untouched and, when `err_out` is not NULL,
/// `*err_out` receives a `kt_error` to free with `kt_error_free`.
/// Fails with `KT_STATUS_NULL_ARGUMENT` (a NULL pointer), `KT_STATUS_INVALID_ARGUMENT` (empty or
/// not UTF-8) or `KT_STATUS_IO` (the path exists and is not a directory). Thread-safe.
///
/// # Safety
/// `trust_dir` is NULL or a NUL-terminated string; `store_out` is NULL or writable; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_open(
    trust_dir: *const c_char,
    store_out: *mut *mut kt_keystore,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let path = unsafe { text(trust_dir, "trust_dir") }?;
        let store_out = non_null(store_out, "store_out")?;
        if path.is_empty() {
            return Err(Fail::Keystore(keystore::Error::InvalidArgument {
                what: keystore::error::Argument::TrustDir,
                reason: "the path is empty".into(),
            }));
        }
        if std::path::Path::new(path).is_file() {
            return Err(Fail::Keystore(keystore::Error::Io {
                action: "open trust directory",
                path: path.into(),
                source: std::io::Error::other("it is a file, not a directory"),
            }));
        }
        let store = Box::new(kt_keystore {
            dir: TrustDir::new(path),
            kdf: KdfSettings::default(),
        });
        // SAFETY: `store_out` is non-NULL and writable by contract.
        unsafe { put(store_out, Box::into_raw(store)) };
        Ok(())
    })
}

/// Frees a keystore handle. NULL is a no-op. Must not race with another call on the same handle;
/// freeing twice is undefined behaviour. Keys loaded from it (`kt_key`) stay valid.
///
/// # Safety
/// `store` is NULL or a handle from `kt_keystore_open` that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_free(store: *mut kt_keystore) {
    crate::unwind::infallible((), || {
        if !store.is_null() {
            // SAFETY: by contract `store` came from Box::into_raw in kt_keystore_open, freed once.
            drop(unsafe { Box::from_raw(store) });
        }
    });
}

/// Lists the keys of the trust directory as a JSON array, optionally only those of `role` and/or
/// of repository `gun` (NULL: no filter). Nothing is decrypted, so no passphrase is needed.
///
/// Each element is `{"id","role","gun","algorithm","encrypted","path","location","problem"}` as
/// in `keytool --json key list`. On success `*json_out` receives a NUL-terminated UTF-8 string
/// owned by the caller (free it with `kt_string_free`). On failure `*json_out` is untouched and
/// `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `role` and `gun` are NULL or NUL-terminated strings;
/// `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_list_json(
    store: *const kt_keystore,
    role: *const c_char,
    gun: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, role, gun) = unsafe {
            (
                handle(store, "store")?,
                opt_text(role, "role")?,
                opt_text(gun, "gun")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let role: Option<Role> = role.map(str::parse).transpose()?;
        let gun: Option<Gun> = gun.map(str::parse).transpose()?;
        let keys = ops::list(&store.dir, role.as_ref(), gun.as_ref())?;
        let json = to_json(&keys)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Imports keys: every PEM block of `data` (`len` bytes: a `notary key export` bundle, an
/// encrypted key file, or an unencrypted PKCS#8 key, which is encrypted on the way in).
///
/// `name` (NULL: "input") names the input in messages. `role` and `gun` (NULL: none) are used for
/// blocks without `role:`/`gun:` headers. With `force`, a different file already stored under the
/// same key ID is replaced; without it that is `KT_STATUS_ALREADY_EXISTS`. The callback is asked
/// for the passphrase of keys it must decrypt (`is_new` false) or encrypt (`is_new` true).
/// Everything is checked before anything is written: on failure the trust directory is unchanged.
///
/// On success `*json_out` receives a JSON array of
/// `{"id","role","gun","source","path","outcome","reencrypted","id_verified"}` (free it with
/// `kt_string_free`). On failure `*json_out` is untouched and `*err_out` (if not NULL) receives
/// the error. `data` may hold unencrypted keys: wipe it after the call. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `data` is NULL (only with `len` 0) or `len` readable bytes;
/// `name`, `role`, `gun` are NULL or NUL-terminated; `cb` is NULL or a valid callback, called with
/// `user_data`; `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_import(
    store: *const kt_keystore,
    data: *const u8,
    len: usize,
    name: *const c_char,
    role: *const c_char,
    gun: *const c_char,
    force: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, data, name, role, gun) = unsafe {
            (
                handle(store, "store")?,
                bytes(data, len, "data")?,
                opt_text(name, "name")?,
                opt_text(role, "role")?,
                opt_text(gun, "gun")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let options = ImportOptions {
            role: role.map(str::parse).transpose()?,
            gun: gun.map(str::parse).transpose()?,
            force,
            // All or nothing, as documented for C and Go: one bad block refuses the import.
            partial: false,
        };
        let inputs = [(name.unwrap_or("input").to_owned(), data)];
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let imported = ops::import(&store.dir, &source, &inputs, &options, &store.kdf)?.imported;
        let json = to_json(&imported)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Exports keys in `notary key export` format: the stored (encrypted) PEM blocks, each with a
/// `path:` header, which `notary key import` and `kt_keystore_import` read back byte-identical.
///
/// Selection: the `n_key_ids` keys of `key_ids` (full IDs or unique prefixes) when `n_key_ids` is
/// not 0; else the keys of repository `gun` when `gun` is not NULL (root keys have no GUN, so they
/// are not included, as with notary); else every key. No passphrase is needed.
///
/// On success `*bundle_out` receives the PEM text (free it with `kt_string_free`). On failure
/// `*bundle_out` is untouched and `*err_out` (if not NULL) receives the error
/// (`KT_STATUS_NOT_FOUND` when nothing matches). Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_ids` is NULL (only with `n_key_ids` 0) or an array of
/// `n_key_ids` NUL-terminated strings; `gun` is NULL or NUL-terminated; `bundle_out` and
/// `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_export(
    store: *const kt_keystore,
    key_ids: *const *const c_char,
    n_key_ids: usize,
    gun: *const c_char,
    bundle_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun) = unsafe { (handle(store, "store")?, opt_text(gun, "gun")?) };
        let bundle_out = non_null(bundle_out, "bundle_out")?;
        let selection = if n_key_ids > 0 {
            if key_ids.is_null() {
                return Err(Fail::Null("key_ids"));
            }
            // SAFETY: `key_ids` is non-NULL and by contract points to `n_key_ids` pointers.
            let raw = unsafe { std::slice::from_raw_parts(key_ids, n_key_ids) };
            let ids = raw
                .iter()
                .map(|&p| {
                    // SAFETY: each element is NULL or NUL-terminated, by contract.
                    let t = unsafe { text(p, "key_ids[i]") }?;
                    Ok(ops::resolve_key_id(&store.dir, t)?)
                })
                .collect::<Result<Vec<KeyId>, Fail>>()?;
            Selection::Keys(ids)
        } else if let Some(g) = gun {
            Selection::Repo(g.parse()?)
        } else {
            Selection::All
        };
        let (bundle, _) = ops::export(&store.dir, &selection)?;
        let bundle = crate::boundary::c_string(bundle)?;
        // SAFETY: `bundle_out` is non-NULL and writable by contract.
        unsafe { put(bundle_out, bundle) };
        Ok(())
    })
}

/// Changes the passphrase of key `key_id` (full ID or unique prefix): the callback is asked for
/// the current passphrase (`is_new` false; with none, a passphrase keytool stores for the key is
/// used), then for the new one (`is_new` true; empty is `KT_STATUS_WEAK_PASSPHRASE`). The key
/// keeps its ID, role and GUN, and is rewritten atomically in notary's format: a crash leaves
/// either the old file or the new one. When the OS keyring or the vault holds the key's
/// passphrase, the stored entry is updated too, crash-safely (as `keytool key passwd`). On failure `*err_out`
/// (if not NULL) receives the error and the key file is unchanged. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_id` is NULL or NUL-terminated; `cb` is NULL or a valid
/// callback, called with `user_data`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_passwd(
    store: *const kt_keystore,
    key_id: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, key_id) = unsafe { (handle(store, "store")?, text(key_id, "key_id")?) };
        let id = ops::resolve_key_id(&store.dir, key_id)?;
        // A passphrase keytool stores for the key follows it, crash-safely.
        let policy = policy(&store.dir, cb, user_data)?;
        ops::passwd(
            &policy,
            &id,
            ops::NewPassphrase::From(&policy.choosing()),
            &store.kdf,
        )?;
        Ok(())
    })
}
