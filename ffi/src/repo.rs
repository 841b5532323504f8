//! Repository-level operations that may talk to a Notary server: init (pre-seed and publish),
//! status and key rotation.

use std::ffi::{c_char, c_void};
use std::path::PathBuf;

use keystore::notary::NotaryClient;
use keystore::ops::{self, RotateOptions};
use keystore::passphrase::PassphraseSource;
use keystore::{Gun, Role};

use crate::boundary::{Fail, guard, handle, non_null, opt_text, put, text, to_json};
use crate::error::kt_error;
use crate::keystore::kt_keystore;
use crate::passphrase::{kt_passphrase_cb, policy};
use crate::status::kt_status;

/// A client of `server_url` trusting `ca_path`, else `KEYTOOL_TLSCACERT`, else docker's CA file
/// for that server (`$DOCKER_CONFIG/tls/<host:port>/ca.crt`), else the system's trust store, as
/// the CLI (`NotaryClient::connect`).
/// A repository's first root is trusted as notary's `trust_pinning` allows (`~/.notary/config.json`
/// or `$KEYTOOL_NOTARY_CONFIG`), like the CLI.
///
/// The calls that cannot do without the server take `server_url` with [`text`], as every
/// required argument (NULL: `KT_STATUS_NULL_ARGUMENT`), and connect with this.
pub(crate) fn connect(server_url: &str, ca_path: Option<&str>) -> Result<NotaryClient, Fail> {
    let ca = ca_path.map(PathBuf::from);
    Ok(NotaryClient::connect(
        server_url,
        ca.as_deref(),
        |k| std::env::var_os(k),
        None,
    )?)
}

/// [`connect`] for the calls whose server is optional (`None`: offline).
fn client(server_url: Option<&str>, ca_path: Option<&str>) -> Result<Option<NotaryClient>, Fail> {
    server_url.map(|url| connect(url, ca_path)).transpose()
}

/// Reports the state of repository `gun` as JSON: local root/targets keys and, when `server_url`
/// (`https://host:port`, NULL: offline) is given, what the server's verified root.json expects,
/// expiry dates, whether this machine can sign, and any pending rotation (the object
/// `keytool --json status` prints). `ca_path` is a PEM CA file for the server (NULL: `KEYTOOL_TLSCACERT`, else docker's
/// `tls/<host:port>/ca.crt` when it exists, else the system's trust store).
///
/// This call has no passphrase callback, so it does not check passphrases: `passphrase_checked`
/// is false and `ready` means only that the targets key the server expects is in the trust
/// directory. `kt_repo_status_checked_json` also checks that a passphrase opens it, as the
/// CLI's `status` does.
///
/// On success `*json_out` receives the JSON (free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error (`KT_STATUS_NETWORK`,
/// `KT_STATUS_SERVER_REJECTED`, `KT_STATUS_INVALID_METADATA`, ...). Blocks on the network (30 s
/// timeout per request). Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `server_url`, `ca_path` are NULL or NUL-terminated;
/// `json_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_status_json(
    store: *const kt_keystore,
    gun: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        unsafe { status_json(store, gun, server_url, ca_path, None, json_out) }
    })
}

/// Like `kt_repo_status_json`, and also checks, as `keytool status` does, that a passphrase
/// source opens the targets key the server expects: the callback (asked with `is_new` false;
/// it may answer `KT_STATUS_PASSPHRASE_REQUIRED`), then the passphrases keytool stores (OS
/// keyring; the vault, its master passphrase from `KEYTOOL_VAULT_PASSPHRASE` or the callback).
/// The JSON then has `passphrase_checked` true, `targets_passphrase` naming the source that
/// opened the key, and `ready` true only when one did (a wrong or missing passphrase is listed
/// in `problems`, not returned as an error).
///
/// On success `*json_out` receives the JSON (free it with `kt_string_free`). On failure it is
/// untouched and `*err_out` (if not NULL) receives the error. Blocks on the network (30 s
/// timeout per request). Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `server_url`, `ca_path` are NULL or NUL-terminated;
/// `cb` is NULL or a valid callback, called with `user_data`; `json_out` and `err_out` are NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_status_checked_json(
    store: *const kt_keystore,
    gun: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            status_json(
                store,
                gun,
                server_url,
                ca_path,
                Some((cb, user_data)),
                json_out,
            )
        }
    })
}

/// The body of both status calls: with `callback`, a passphrase source must also open the
/// targets key.
///
/// # Safety
/// As `kt_repo_status_checked_json`.
unsafe fn status_json(
    store: *const kt_keystore,
    gun: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    callback: Option<(kt_passphrase_cb, *mut c_void)>,
    json_out: *mut *mut c_char,
) -> Result<(), Fail> {
    // SAFETY: forwarded from this function's contract.
    let (store, gun, server_url, ca_path) = unsafe {
        (
            handle(store, "store")?,
            text(gun, "gun")?,
            opt_text(server_url, "server_url")?,
            opt_text(ca_path, "ca_path")?,
        )
    };
    let json_out = non_null(json_out, "json_out")?;
    let gun: Gun = gun.parse()?;
    let server = client(server_url, ca_path)?;
    let sources = match callback {
        Some((cb, user_data)) => Some(policy(&store.dir, cb, user_data)?.checking()),
        None => None,
    };
    let status = ops::status(
        &store.dir,
        &gun,
        server.as_ref(),
        sources.as_ref().map(|s| s as &dyn PassphraseSource),
        &store.kdf,
    )?;
    let json = to_json(&status)?;
    // SAFETY: `json_out` is non-NULL and writable by contract.
    unsafe { put(json_out, json) };
    Ok(())
}

/// Rotates the `role` key ("targets", "snapshot" or "root") of repository `gun`, crash-safely,
/// as `keytool rotate --repo GUN --role ROLE`: a new key is generated (the callback is asked for
/// its passphrase, `is_new` true — unless the old key's passphrase is stored in the OS keyring or
/// the vault: then the new key gets a generated passphrase stored there too, reported as
/// `new_passphrase_stored_in`, and the old key's entry stays for the retired key) and, for a
/// repository published on `server_url` (NULL: local
/// only, for a repository not yet published), a new root.json is signed with the root key (the
/// callback is asked for its passphrase) and published; the old key is retired to
/// `keytool-retired/` only after the server accepted the new one. With `server_managed` (snapshot
/// only) the snapshot key moves to the server instead. An interrupted rotation of the same role
/// is completed instead of starting another. With `dry_run`, nothing changes and the plan is
/// reported. `ca_path` is a PEM CA file for the server (NULL: `KEYTOOL_TLSCACERT`, else docker's `tls/<host:port>/ca.crt`
/// when it exists, else the system's trust store).
///
/// On success `*json_out` receives a JSON report (`gun`, `role`, `old_key`, `new_key`,
/// `published`, `retired`, `resumed`, `dry_run`, ... as `keytool --json rotate` prints; free it
/// with `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives the
/// error. Blocks on the network. Thread-safe (rotations of one trust directory run one at a time;
/// from inside this call's own callback, another rotation of the same directory fails with
/// `KT_STATUS_INVALID_ARGUMENT` instead of waiting). The server's metadata is verified through the
/// root chain from the root this machine trusts before anything is signed, and the root key must
/// have signed the root it extends.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `role`, `server_url`, `ca_path` are NULL or
/// NUL-terminated; `cb` is NULL or a valid callback, called with `user_data`; `json_out` and
/// `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_rotate(
    store: *const kt_keystore,
    gun: *const c_char,
    role: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    server_managed: bool,
    dry_run: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, role, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                text(role, "role")?,
                opt_text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let role: Role = role.parse()?;
        let server = client(server_url, ca_path)?;
        let policy = policy(&store.dir, cb, user_data)?;
        let source = policy.unlock();
        let stored = policy.stores();
        let stores: Vec<&dyn keystore::passphrase::store::SecretStore> =
            stored.iter().map(|s| s.as_ref()).collect();
        let options = RotateOptions {
            server: server.as_ref(),
            server_managed,
            new_key_file: None,
            dry_run,
            on_step: &|_| {},
            stores: &stores,
            new_passphrase: keystore::ops::NewKeyPassphrase::Keep,
        };
        let rotated = ops::rotate(&store.dir, &source, &gun, &role, &options, &store.kdf)?;
        let json = to_json(&rotated)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Renews repository `gun`'s metadata on `server_url` (`https://host:port`; required: NULL fails
/// with `KT_STATUS_NULL_ARGUMENT`) as `keytool renew --repo GUN` does: re-signs `role` ("root",
/// "targets", "snapshot" or a signer role such as "targets/releases" or "targets/alice"; NULL:
/// "targets"), or with `all_roles` root, targets, every signer role whose key is local and (when
/// its key is local) snapshot, with a new expiry and no change of content, and publishes it.
/// Metadata that has already expired (root included) is renewed after every signature and the
/// root chain are checked.
/// `expires_seconds` is the new validity from now (0: notary's defaults, root 10 years, targets and
/// snapshot 3 years). A root renewal also replaces a root certificate that would expire before the
/// new root.json (same key; signed under the old and the new certificate's IDs so that clients
/// holding the old root follow). The timestamp, and a snapshot whose key the server holds, are
/// signed by the server. The server's metadata is verified through the root chain from the root
/// this machine trusts before anything is signed. A pending (interrupted) renewal of `gun` is
/// completed first, with its own roles and expiry. With `dry_run`, nothing is decrypted, signed or
/// sent and the plan is reported. The callback is asked for the passphrases of the keys that sign.
/// `ca_path` is a PEM CA file for the server (NULL: `KEYTOOL_TLSCACERT`, else docker's
/// `tls/<host:port>/ca.crt` when it exists, else the system's trust store).
///
/// On success `*json_out` receives a JSON report (`gun`, `server`, `roles` with each role's
/// `version`, `expires`, `new_version`, `new_expires`, `root_certificate`, `renewed_by_server`,
/// `published`, `resumed`, `dry_run`, as `keytool --json renew` prints; free it with
/// `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives the error.
/// Blocks on the network. Thread-safe (renewals and rotations of one trust directory run one at
/// a time).
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `role`, `server_url`, `ca_path` are NULL or
/// NUL-terminated; `cb` is NULL or a valid callback, called with `user_data`; `json_out` and
/// `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_renew(
    store: *const kt_keystore,
    gun: *const c_char,
    role: *const c_char,
    all_roles: bool,
    expires_seconds: u64,
    server_url: *const c_char,
    ca_path: *const c_char,
    dry_run: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, role, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                opt_text(role, "role")?,
                text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let roles = match (all_roles, role) {
            (true, _) => ops::RenewRoles::All,
            (false, Some(r)) => ops::RenewRoles::Only(vec![r.parse::<Role>()?]),
            (false, None) => ops::RenewRoles::Only(vec![Role::Targets]),
        };
        let server = connect(server_url, ca_path)?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let options = ops::RenewOptions {
            server: &server,
            roles,
            expires: (expires_seconds > 0).then(|| std::time::Duration::from_secs(expires_seconds)),
            dry_run,
            on_step: &|_| {},
        };
        let renewed = ops::renew(&store.dir, &source, &gun, &options, &store.kdf)?;
        let json = to_json(&renewed)?;
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}

/// Prepares repository `gun` as `keytool init --repo GUN` does: reuses the root key (the
/// smallest ID, as docker) and the repository's targets key, or generates them (the callback is
/// asked for new passphrases, `is_new` true); then, with `server_url` (`https://host:port`;
/// NULL: offline), publishes root.json and targets.json signed by those keys so that the next
/// `docker push` signs with them (the callback is asked for both keys' passphrases). The
/// snapshot key is the server's, unless `local_snapshot`. A repository already on the server is
/// verified and left unchanged. `ca_path` is a PEM CA file for the server (NULL: `KEYTOOL_TLSCACERT`, else docker's
/// `tls/<host:port>/ca.crt` when it exists, else the system's trust store).
///
/// On success `*json_out` receives a JSON report (offline: `gun`, `root`, `targets` and their
/// provenance; published: the object `keytool --json init --server` prints; free it with
/// `kt_string_free`). On failure it is untouched and `*err_out` (if not NULL) receives the error.
/// Blocks on the network. Thread-safe.
///
/// # Safety
/// `store` is NULL or a live handle; `gun`, `server_url`, `ca_path` are NULL or NUL-terminated;
/// `cb` is NULL or a valid callback, called with `user_data`; `json_out` and `err_out` are NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kt_repo_init(
    store: *const kt_keystore,
    gun: *const c_char,
    server_url: *const c_char,
    ca_path: *const c_char,
    local_snapshot: bool,
    cb: kt_passphrase_cb,
    user_data: *mut c_void,
    json_out: *mut *mut c_char,
    err_out: *mut *mut kt_error,
) -> kt_status {
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (store, gun, server_url, ca_path) = unsafe {
            (
                handle(store, "store")?,
                text(gun, "gun")?,
                opt_text(server_url, "server_url")?,
                opt_text(ca_path, "ca_path")?,
            )
        };
        let json_out = non_null(json_out, "json_out")?;
        let gun: Gun = gun.parse()?;
        let source = policy(&store.dir, cb, user_data)?.unlock();
        let json = match client(server_url, ca_path)? {
            Some(server) => to_json(&ops::publish(
                &store.dir,
                &source,
                &gun,
                &server,
                local_snapshot,
                &store.kdf,
            )?)?,
            None => to_json(&ops::preseed(&store.dir, &source, &gun, &store.kdf)?)?,
        };
        // SAFETY: `json_out` is non-NULL and writable by contract.
        unsafe { put(json_out, json) };
        Ok(())
    })
}
