//! Leaving Docker Content Trust: a key exported for cosign or notation, and a repository's
//! signatures migrated to cosign signatures in its registry (as `keytool key export --format
//! cosign|notation` and `keytool migrate sigstore`).

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::time::Duration;

use keystore::Gun;
use keystore::ops::{self, NotationOptions, SigstoreKey, SigstoreOptions};

use crate::boundary::{Fail, guard, handle, invalid, non_null, opt_text, put, text, to_json};
use crate::error::kt_error;
use crate::keystore::kt_keystore;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::repo::connect;
use crate::status::kt_status;

/// Exports key `key_id` (full ID or unique prefix) for cosign, as `keytool key export --format
/// cosign`: writes `output` (e.g. `cosign.key`: `ENCRYPTED SIGSTORE PRIVATE KEY`, mode 0600) and
/// beside it the public key (`output` with its extension replaced by `.pub`, e.g. `cosign.pub`:
/// a `PUBLIC KEY` PEM that `cosign verify --key` takes). The cosign file is sealed under the passphrase that opens the key (the
/// callback is asked for it, `is_new` false; with none, a passphrase keytool stores for the key
/// is used), which `COSIGN_PASSWORD` then has to give. A key stored unencrypted is refused
/// (`KT_STATUS_INVALID_ARGUMENT`). Neither file may exist unless `overwrite`
/// (`KT_STATUS_ALREADY_EXISTS`); on any failure nothing new is left behind.
///
/// On success `*json_out` receives a JSON report (`key_id`, `algorithm`, `private_key`,
/// `public_key` (the two paths), `passphrase_source`, as `keytool --json key export --format
/// cosign` prints; never the passphrase; free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_id` and `output` are NULL or NUL-terminated; `cb` is
/// NULL or a valid callback, called with `user_data`; `json_out` and `err_out` are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_export_cosign(
    store: *const kt_keystore,
    key_id: *const c_char,
    output: *const c_char,
    overwrite: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, key_id, output) = unsafe {
            (
                handle(store, "store")?,
                text(key_id, "key_id")?,
                text(output, "output")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let id = ops::resolve_key_id(&store.dir, key_id)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let done = ops::export_cosign(
            &store.dir,
            &id,
            &source,
            &store.kdf,
            Path::new(output),
            overwrite,
        )?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Exports ECDSA key `key_id` (full ID or unique prefix) for notation, as `keytool key export
/// --format notation`: the unencrypted key (mode 0600) and a self-signed code-signing
/// certificate for it under `<config_dir>/localkeys/`, and the key's entry in
/// `<config_dir>/signingkeys.json` (made notation's default when it has none), so that `notation
/// sign --key NAME` signs with it. `config_dir` is notation's configuration directory (on Linux
/// `$XDG_CONFIG_HOME/notation`, else `~/.config/notation`). `name` is the key's name in notation
/// (NULL: `keytool-<first 12 hex digits of the key ID>`). `valid_seconds` is the certificate's
/// validity (0: 3650 days). The callback is asked for the key's passphrase (`is_new` false).
/// Existing files, or an entry of the same name, are `KT_STATUS_ALREADY_EXISTS` unless
/// `overwrite`; the files and the entry are all written or none.
///
/// On success `*json_out` receives a JSON report (`key_id`, `name`, `private_key`,
/// `certificate`, `signing_keys` (the paths), `default_key`, `valid_days`, as `keytool --json
/// key export --format notation` prints; free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `key_id`, `config_dir` and `name` are NULL or
/// NUL-terminated; `cb` is NULL or a valid callback, called with `user_data`; `json_out` and
/// `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_keystore_export_notation(
    store: *const kt_keystore,
    key_id: *const c_char,
    config_dir: *const c_char,
    name: *const c_char,
    valid_seconds: u64,
    overwrite: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, key_id, config_dir, name) = unsafe {
            (
                handle(store, "store")?,
                text(key_id, "key_id")?,
                text(config_dir, "config_dir")?,
                opt_text(name, "name")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        if config_dir.is_empty() {
            return Err(invalid("config_dir", "the path is empty"));
        }
        let id = ops::resolve_key_id(&store.dir, key_id)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let options = NotationOptions {
            config_dir: Path::new(config_dir),
            name,
            validity: match valid_seconds {
                0 => ops::DEFAULT_NOTATION_VALIDITY,
                s => Duration::from_secs(s),
            },
            overwrite,
        };
        let done = ops::export_notation(&store.dir, &id, &source, &store.kdf, &options)?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Migrates repository `gun`'s signatures to cosign signatures in its registry, as `keytool
/// migrate sigstore`: every tag that the repository's trust data on `server_url` signs (targets
/// and the signer roles), once verified through the root chain from the root this machine
/// trusts, gets a cosign signature (the `sha256-<digest>.sig` tag cosign and containers/image
/// read) made with an ECDSA key of the trust directory, so that the signatures outlive the
/// Notary server. Nothing that failed verification is signed; a manifest the registry does not
/// hold is reported (`not_in_registry`), not signed; a signature this key already made is kept
/// (re-running pushes nothing), others' signatures stay beside it.
///
/// The key: `key_id` (full ID or unique prefix), or with `generate` a new key (role
/// `sigstore`, no repository; the callback is asked for its new passphrase, `is_new` true)
/// written to the trust directory before anything is pushed. Give exactly one of them
/// (`KT_STATUS_INVALID_ARGUMENT` for both; `KT_STATUS_NULL_ARGUMENT` naming `key_id` for
/// neither), except with `dry_run`, which lists what would be signed, pushes nothing, makes no
/// key and needs neither. `registry_url` (`http[s]://host[:port]`, NULL: the registry the GUN
/// names, as docker reaches it); `registry_insecure` reaches the GUN's registry over plain HTTP
/// even off loopback (not with `registry_url`). A registry that asks for a token gets one
/// (`pull`, `pull,push`) with the docker credentials of the process's `DOCKER_CONFIG` (else
/// `~/.docker`). `public_key_out` (NULL: none) is a file that receives the signing key's public
/// key (PEM, for `cosign verify --key`) before anything is signed.
/// `server_url` (`https://host:port`) is required: NULL fails with `KT_STATUS_NULL_ARGUMENT`;
/// `ca_path` is a PEM CA file for it (NULL: `KEYTOOL_TLSCACERT`, else docker's
/// `tls/<host:port>/ca.crt` when it exists, else the system's trust store). A repository the
/// server does not have fails with `KT_STATUS_INVALID_ARGUMENT`.
///
/// On success `*json_out` receives a JSON report (`gun`, `reference`, `registry`, `key_id`,
/// `generated`, `public_key`, `manifests` with each one's `tags`, `digest`, `size`, `outcome`
/// (`signed`, `already_signed`, `would_sign`, `not_in_registry`) and `signature_tag`, as
/// `keytool --json migrate sigstore` prints; free it with `kt_string_free`). A manifest missing
/// from the registry is not a failure of the call: check the outcomes. On failure `*json_out` is
/// untouched and `*err_out` (if not NULL) receives the error. Blocks on the network.
/// Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `key_id`, `registry_url`, `public_key_out`,
/// `server_url`, `ca_path` are NULL or NUL-terminated; `cb` is NULL or a valid callback, called
/// with `user_data`; `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_migrate_sigstore(
    store: *const kt_keystore,
    gun: *const c_char,
    key_id: *const c_char,
    generate: bool,
    registry_url: *const c_char,
    registry_insecure: bool,
    dry_run: bool,
    public_key_out: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, key_id, registry_url, public_key_out, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                opt_text(key_id, "key_id")?,
                opt_text(registry_url, "registry_url")?,
                opt_text(public_key_out, "public_key_out")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        if key_id.is_some() && generate {
            return Err(invalid(
                "generate",
                "give either a key ID or generate, not both",
            ));
        }
        if registry_url.is_some() && registry_insecure {
            return Err(invalid(
                "registry_insecure",
                "it applies to the registry the repository names, not to a registry URL given",
            ));
        }
        if key_id.is_none() && !generate && !dry_run {
            return Err(Fail::Null("key_id"));
        }
        let id = key_id
            .map(|k| ops::resolve_key_id(&store.dir, k))
            .transpose()?;
        let key = match &id {
            Some(id) => SigstoreKey::Existing(id),
            None => SigstoreKey::Generate,
        };
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let options = SigstoreOptions {
            key,
            registry: registry_url,
            registry_insecure,
            dry_run,
            public_key_out: public_key_out.map(Path::new),
        };
        let done = ops::migrate_sigstore(
            &store.dir,
            &source,
            &server,
            &gun,
            &options,
            &store.kdf,
            &mut |_, _, _| {},
        )?;
        let json = to_json(&done)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}
