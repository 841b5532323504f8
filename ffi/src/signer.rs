//! Signers (delegations) and direct signing: `keytool signer add|remove|list`, `rotate
//! --signer`, `sign` and `unsign`. Every one needs the Notary server (`server_url` is a required
//! argument: NULL is `KT_STATUS_NULL_ARGUMENT`); the repository is fetched and verified through
//! the root chain before anything is signed.

use std::ffi::{c_char, c_void};

use keystore::Gun;
use keystore::ops::{self, RegistryCheck, SignerKey};

use crate::boundary::{guard, handle, non_null, opt_text, put, text, to_json};
use crate::error::kt_error;
use crate::keystore::kt_keystore;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::repo::connect;
use crate::status::kt_status;

/// Adds signer `name` to repository `gun` on `server_url`, as `keytool signer add` (docker's
/// `trust signer add`): the key joins `targets/<name>` and `targets/releases`, and targets.json
/// is re-signed with the repository's targets key (the callback is asked for its passphrase).
/// `public_key_pem` is the signer's P-256 public key as a NUL-terminated PEM `PUBLIC KEY` block;
/// NULL generates the key in the trust directory (role `name`; the callback is asked for its new
/// passphrase, `is_new` true), durable before the server is told to trust it.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON report (`gun`, `name`, `key_id`, `generated`,
/// `already`, `targets_version`, as `keytool --json signer add` prints; free it with
/// `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives the
/// error. Blocks on the network. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `name`, `public_key_pem`, `server_url`, `ca_path`
/// are NULL or NUL-terminated; `cb` is NULL or a valid callback, called with `user_data`;
/// `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_signer_add(
    store: *const kt_keystore,
    gun: *const c_char,
    name: *const c_char,
    public_key_pem: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, name, pem, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(name, "name")?,
                opt_text(public_key_pem, "public_key_pem")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let key = match pem {
            Some(pem) => SignerKey::Public(pem.as_bytes()),
            None => SignerKey::Generate,
        };
        let done = ops::signer_add(&store.dir, &source, &server, &gun, name, key, &store.kdf)?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Removes signer `name` from repository `gun`, as `keytool signer remove` (docker's `trust
/// signer remove`): `targets/<name>` goes and its keys leave `targets/releases`; targets.json is
/// re-signed (the callback is asked for the targets key's passphrase). When that would leave
/// tags of `targets/releases` that no trusted key signed (`docker pull` refuses them), the call
/// fails with `KT_STATUS_INVALID_ARGUMENT` and changes nothing unless `confirmed`. The signer's
/// key file stays.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON report (`gun`, `name`, `keys`, `orphaned_tags`,
/// `targets_version`; free it with `kt_string_free`). On failure it is untouched and `*err_out`
/// (if not NULL) receives the error. Blocks on the network. Thread-safe.
///
/// # Safety
/// As [`kt_signer_add`], without `public_key_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_signer_remove(
    store: *const kt_keystore,
    gun: *const c_char,
    name: *const c_char,
    confirmed: bool,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, name, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(name, "name")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let done = ops::signer_remove(
            &store.dir, &source, &server, &gun, name, confirmed, &store.kdf,
        )?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Lists the signers of repository `gun` as its verified metadata names them, as `keytool
/// --json signer list` prints (`gun`, `signers` with each one's `name`, `keys` (`id`, `local`),
/// `threshold`, `can_release`, `signed_tags`; `release_keys`, `released_tags`, `unverified`).
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON (free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Blocks on the network.
/// Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `server_url`, `ca_path` are NULL or NUL-terminated;
/// `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_signer_list_json(
    store: *const kt_keystore,
    gun: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let json = to_json(&ops::signer_list(&store.dir, &server, &gun)?)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Replaces signer `name`'s key in repository `gun`, crash-safely, as `keytool rotate --signer`:
/// a new key is generated (the callback is asked for its new passphrase, and for the targets
/// key's), the signer's files are re-signed by it so that what it signed still verifies, and the
/// old key moves to `keytool-retired/` only after the server accepted (and only if no other
/// cached repository names it). An interrupted rotation is completed by the next call.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON report (`gun`, `name`, `old_keys`, `new_key`,
/// `resigned`, `retired`, `kept`, `resumed`; free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Blocks on the network. Thread-safe.
///
/// # Safety
/// As [`kt_signer_remove`], without `confirmed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_signer_rotate(
    store: *const kt_keystore,
    gun: *const c_char,
    name: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, name, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(name, "name")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let done = ops::signer_rotate(
            &store.dir,
            &source,
            &server,
            &gun,
            name,
            &|_| {},
            &store.kdf,
        )?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Signs tag `tag` of repository `gun` as manifest `digest` (`sha256:<64 hex>`) of `size` bytes
/// and publishes, as `keytool sign GUN:TAG --digest D --size N [--as SIGNER]`: into targets.json
/// when the repository has no signers, else into every signer role this trust directory holds a
/// key of (with `signer`, NULL for any: only that signer's roles). With `check_registry`, the
/// registry the GUN names (or `registry_url`, NULL: the GUN's) is asked first; a digest it does
/// not hold, or another size, fails with `KT_STATUS_INVALID_ARGUMENT` and nothing is signed; a
/// registry that asks for a token gets a `pull` token with the docker credentials of the
/// process's `DOCKER_CONFIG` (else `~/.docker`), as the Notary server does, and credentials it
/// refuses fail with `KT_STATUS_AUTHENTICATION_FAILED`. The callback is asked for the signing
/// keys' passphrases.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON report (`gun`, `tag`, `digest`, `size`, `roles`,
/// `replaced`, `already`, `checked_registry`; free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Blocks on the network. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `tag`, `digest`, `signer`, `registry_url`,
/// `server_url`, `ca_path` are NULL or NUL-terminated; `cb` is NULL or a valid callback, called
/// with `user_data`; `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_sign(
    store: *const kt_keystore,
    gun: *const c_char,
    tag: *const c_char,
    digest: *const c_char,
    size: u64,
    signer: *const c_char,
    check_registry: bool,
    registry_url: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, tag, digest, signer, registry_url, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(tag, "tag")?,
                text(digest, "digest")?,
                opt_text(signer, "signer")?,
                opt_text(registry_url, "registry_url")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let check = if check_registry {
            RegistryCheck::Registry(registry_url)
        } else {
            RegistryCheck::Skip
        };
        let done = ops::sign(
            &store.dir, &source, &server, &gun, tag, digest, size, signer, check, &store.kdf,
        )?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Removes tag `tag`'s signature from repository `gun` (from the roles [`kt_sign`] would sign
/// it into; with `signer`, only that signer's) and publishes, as `keytool unsign` (docker's
/// `trust revoke`). A tag signed in none of them fails with `KT_STATUS_INVALID_ARGUMENT`.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`.
///
/// On success `*json_out` receives the JSON report (`gun`, `tag`, `roles`; free it with
/// `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives the
/// error. Blocks on the network. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `tag`, `signer`, `server_url`, `ca_path` are NULL
/// or NUL-terminated; `cb` is NULL or a valid callback, called with `user_data`; `json_out` and
/// `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_unsign(
    store: *const kt_keystore,
    gun: *const c_char,
    tag: *const c_char,
    signer: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, tag, signer, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(tag, "tag")?,
                opt_text(signer, "signer")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let done = ops::unsign(&store.dir, &source, &server, &gun, tag, signer, &store.kdf)?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}
