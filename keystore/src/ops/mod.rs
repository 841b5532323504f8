//! One function per user intent. The CLI, and later the C and Go faces, call these and nothing
//! below them, so an operation means the same thing everywhere.

mod archive;
mod edit;
mod explain;
mod export;
mod generate;
mod import;
mod init;
mod migrate;
mod passwd;
mod pool;
mod preseed;
mod provision;
mod publish;
mod remote;
mod remove;
mod renew;
mod rotate;
mod sandbox;
mod sign;
mod signer;
mod signer_rotate;
#[cfg(feature = "notary-client")]
mod sigstore;
mod status;
mod stored;
mod vault;

pub use archive::{
    ARCHIVE_FORMAT, ArchiveFailure, ArchiveReport, Archived, ArchivedAll, Inventory, InventoryTag,
    RoleExpiry, TagSigner, UnverifiedRole, archive, archive_all, archive_file_name, verify_archive,
};
pub use explain::{Opens, SourceCheck, check_sources};
pub use export::{
    CosignExport, DEFAULT_NOTATION_VALIDITY, LOCAL_KEYS_DIR, NotationExport, NotationOptions,
    SIGNING_KEYS_FILE, Selection, export, export_cosign, export_notation, export_to_file,
};
pub use generate::{Generated, generate};
pub use import::{ImportOptions, ImportReport, Imported, Outcome, Skipped, import};
pub use init::{Initialized, init};
pub use migrate::{Migrated, MigrationReport, NotMigrated, migrate};
pub use passwd::{NewPassphrase, Passwd, passwd};
pub use preseed::{Preseeded, Provenance, preseed};
pub use provision::{
    CONTAINER_CONFIG_DIR, DockerCli, ProvisionOptions, Provisioned, ProvisionedFile, Target,
    provision,
};
pub use publish::{Published, publish};
pub use remove::{RemovalPlan, Removed, key_uses, remove};
pub use renew::{
    RenewOptions, RenewRoles, RenewStep, Renewed, RenewedCertificate, RenewedRole, pending_renewal,
    renew,
};
pub use rotate::{
    BulkSelection, DEFAULT_JOBS, NewKeyPassphrase, RotateOptions, Rotated, Step,
    local_repositories, pending_rotation, published_repositories, rotate, rotate_many,
};
/// The sandbox's trust service database module (internal: for the test harness).
#[cfg(feature = "internals")]
pub use sandbox::database as sandbox_database;
pub use sandbox::{
    BuiltImage, ContainerState, DaemonChoice, DaemonRecord, Down,
    FIRST_CLIENT_WITHOUT_PUSH_SIGNING, ImageRef, ImageSource, Names, PlayReport, PlayStep, Pulled,
    Pushed, SandboxOptions, SandboxSettings, SandboxStatus, SignerRekeyed, Up,
    compose as sandbox_compose, default_state_dir as default_sandbox_dir, down as sandbox_down,
    play as sandbox_play, pull, pull_in_sandbox, push, push_in_sandbox,
    rekey_signer as sandbox_rekey_signer, status as sandbox_status, up as sandbox_up,
};
pub use sign::{RegistryCheck, SignedTag, UnsignedTag, sign, unsign};
pub use signer::{
    RELEASES, SignerAdded, SignerInfo, SignerKey, SignerKeyInfo, SignerRemoved, Signers,
    check_signer_name, parse_public_key, signer_add, signer_list, signer_remove,
};
pub use signer_rotate::{SignerRotated, signer_rotate};
#[cfg(feature = "notary-client")]
pub use sigstore::{
    MigratedManifest, Outcome as SigstoreOutcome, SIGSTORE_ROLE, SigstoreKey, SigstoreMigration,
    SigstoreOptions, migrate_sigstore,
};
pub use status::{ExpectedKey, Expiry, Status, status};
pub use stored::{
    Revealed, forget_everywhere, forget_passphrase, reveal_passphrase, store_passphrase,
    write_passphrase_file,
};
pub use vault::{vault_change_master, vault_init, vault_status};

/// The key types that operations return (a listed key, a decrypted key and its public half).
pub use crate::key::{Algorithm, PrivateKey, PublicKey};
pub use crate::trust_dir::{ListedKey, Location};

use crate::error::Argument;
use std::path::PathBuf;

use crate::error::{Error, FileLabel, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::file::{KeyFile, Unlock};
use crate::key::pbes2;
use crate::passphrase::{PassphraseSource, Purpose, Request, Supplied};
use crate::trust_dir::TrustDir;

/// Key-derivation settings for writing and the safety cap for reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfSettings {
    /// PBKDF2 iterations for files keytool writes.
    pub iterations: u32,
    /// Highest iteration count accepted in a file read (checked before deriving).
    pub max_iterations: u32,
}

impl KdfSettings {
    /// The PBKDF2 iteration count notary and docker write (10,000): files written with it open
    /// as fast in their tools as in keytool.
    pub const NOTARY_ITERATIONS: u32 = pbes2::NOTARY_ITERATIONS;
}

impl Default for KdfSettings {
    fn default() -> Self {
        KdfSettings {
            iterations: pbes2::DEFAULT_ITERATIONS,
            max_iterations: pbes2::DEFAULT_MAX_ITERATIONS,
        }
    }
}

/// Most prompts for one key before giving up (notary's prompt gives up after 4).
const MAX_ATTEMPTS: u32 = 3;

/// The directory and file name of a file to write (`.` when `path` has no directory); refuses a
/// path without a usable file name.
pub(crate) fn output_location(path: &std::path::Path) -> Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::OutputFile,
            reason: format!("{} has no usable file name", path.display()),
        })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_owned()))
}

/// Lists keys, optionally only those of one role and/or repository.
pub fn list(dir: &TrustDir, role: Option<&Role>, gun: Option<&Gun>) -> Result<Vec<ListedKey>> {
    Ok(dir
        .list()?
        .into_iter()
        .filter(|k| role.is_none_or(|r| k.role == r.as_str()))
        .filter(|k| gun.is_none_or(|g| k.gun.as_deref() == Some(g.as_str())))
        .collect())
}

/// Lists retired keys (moved out of `private/` by rotations), optionally filtered.
pub fn list_retired(
    dir: &TrustDir,
    role: Option<&Role>,
    gun: Option<&Gun>,
) -> Result<Vec<ListedKey>> {
    Ok(dir
        .list_retired()?
        .into_iter()
        .filter(|k| role.is_none_or(|r| k.role == r.as_str()))
        .filter(|k| gun.is_none_or(|g| k.gun.as_deref() == Some(g.as_str())))
        .collect())
}

/// An [`Error::KeyNotMigrated`] when a key whose ID starts with `text` is in a legacy or nested
/// location of `private/`.
fn not_migrated(dir: &TrustDir, text: &str) -> Result<()> {
    match dir.list()?.into_iter().find(|k| {
        matches!(k.location, Location::Legacy | Location::Nested) && k.id.starts_with(text)
    }) {
        Some(k) => Err(Error::KeyNotMigrated {
            key_id: k.id,
            path: k.path,
        }),
        None => Ok(()),
    }
}

/// Resolves a full key ID or a unique prefix (at least 4 characters) of a key in `private/`.
///
/// A key found only outside `private/` itself (notary 0.1–0.3's layouts) is an
/// [`Error::KeyNotMigrated`] that says where it is, rather than "not found".
pub fn resolve_key_id(dir: &TrustDir, text: &str) -> Result<KeyId> {
    if KeyId::is_valid(text) {
        let id: KeyId = text.parse()?;
        if !dir.key_path(&id).exists() {
            not_migrated(dir, text)?;
        }
        return Ok(id);
    }
    if text.len() < 4
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::InvalidArgument {
            what: Argument::KeyId,
            reason: format!(
                "expected a key ID or a prefix of at least 4 lower-case hex characters, got {:?}",
                crate::ids::clip(text)
            ),
        });
    }
    let mut matches: Vec<_> = dir
        .list()?
        .into_iter()
        .filter(|k| k.location == Location::Flat && k.id.starts_with(text))
        .collect();
    matches.sort_by(|a, b| a.id.cmp(&b.id));
    if matches.is_empty() {
        not_migrated(dir, text)?;
    }
    match matches.as_slice() {
        [one] => one.id.parse(),
        [] => Err(Error::KeyNotFound {
            key_id: text.to_owned(),
            dir: dir.private_dir(),
        }),
        many => {
            // The candidates, so that the next attempt can name one (IDs are public).
            const SHOWN: usize = 10;
            let mut listed: Vec<String> = many
                .iter()
                .take(SHOWN)
                .map(|k| {
                    let role = if k.role.is_empty() {
                        "no role"
                    } else {
                        &k.role
                    };
                    match &k.gun {
                        Some(g) => format!("{} ({role}, {g})", k.id),
                        None => format!("{} ({role})", k.id),
                    }
                })
                .collect();
            if many.len() > SHOWN {
                listed.push(format!("and {} more", many.len() - SHOWN));
            }
            Err(Error::InvalidArgument {
                what: Argument::KeyId,
                reason: format!(
                    "prefix {text} matches {} keys: {}; give more characters",
                    many.len(),
                    listed.join(", ")
                ),
            })
        }
    }
}

/// A key read from the trust directory and decrypted.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key file.
    pub path: PathBuf,
    /// The role the file's headers name.
    pub role: Role,
    /// The repository (GUN) the file's headers name, for repository keys.
    pub gun: Option<Gun>,
    /// The decrypted key.
    pub key: PrivateKey,
}

/// Reads and decrypts a key of the trust directory.
pub fn load_key(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<LoadedKey> {
    let (path, file, key, _) = load_key_with(dir, id, source, kdf)?;
    Ok(LoadedKey {
        path,
        role: file.role().clone(),
        gun: file.gun().cloned(),
        key,
    })
}

/// The role and repository (GUN) a key file's headers name; nothing is decrypted.
pub fn key_role(dir: &TrustDir, id: &KeyId) -> Result<(Role, Option<Gun>)> {
    let (_, file) = dir.read_key(id)?;
    Ok((file.role().clone(), file.gun().cloned()))
}

/// Like [`load_key`], also returning the passphrase that opened it (`None` when unencrypted).
pub(crate) fn load_key_with(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<(PathBuf, KeyFile, PrivateKey, Option<Supplied>)> {
    let (path, file) = dir.read_key(id)?;
    let (key, supplied) =
        unlock_with(&file, Some(id), source, kdf).map_err(|e| e.in_file(&path))?;
    if &key.id() != id {
        return Err(Error::invalid(format!(
            "the file is named {id} but holds key {}; notary would fail to sign with it",
            key.id()
        ))
        .in_file(&path));
    }
    Ok((path, file, key, supplied))
}

/// `key passwd` must change something: a new passphrase equal to the current one is refused
/// unless it came from a deliberate, distinct source (`--new-passphrase-file`, a prompt for the
/// new passphrase after the old one came from elsewhere), e.g. to re-encrypt under a new KDF
/// setting. The same source twice, or an environment variable (which holds the key's *current*
/// passphrase for docker and notary), is the mistake of passing the old passphrase as the new.
pub(crate) fn check_new_differs(id: &KeyId, old: Option<&Supplied>, new: &Supplied) -> Result<()> {
    let Some(old) = old else { return Ok(()) };
    let (a, b) = (old.passphrase.expose(), new.passphrase.expose());
    let equal = crate::passphrase::policy::same(a, b);
    if equal && (old.origin == new.origin || crate::passphrase::is_env_origin(&new.origin)) {
        return Err(Error::SamePassphrase {
            key: FileLabel::text(id.to_string()),
            old_source: old.origin.clone(),
            new_source: new.origin.clone(),
        });
    }
    Ok(())
}

/// Decrypts a key file with passphrases from `source`, retrying only sources that allow it;
/// also returns the passphrase that worked (`None` for unencrypted files).
pub(crate) fn unlock_with(
    file: &KeyFile,
    id: Option<&KeyId>,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<(PrivateKey, Option<Supplied>)> {
    if !file.is_encrypted() {
        return match file.unlock(None, kdf.max_iterations)? {
            Unlock::Key(k) => Ok((k, None)),
            Unlock::WrongPassphrase => Err(Error::Internal {
                what: "an unencrypted key asked for a passphrase".into(),
            }),
        };
    }
    file.check(kdf.max_iterations)?;
    let label = || {
        id.map(|i| FileLabel::text(i.to_string()))
            .unwrap_or_default()
    };
    let mut attempt = 0;
    loop {
        let request = unlock_request(file, id, attempt);
        let Some(supplied) = source.supply(&request)? else {
            return Err(Error::PassphraseRequired {
                key: label(),
                role: file.role().clone(),
            });
        };
        match file.unlock(Some(&supplied.passphrase), kdf.max_iterations)? {
            Unlock::Key(k) => return Ok((k, Some(supplied))),
            Unlock::WrongPassphrase if supplied.retry_allowed && attempt + 1 < MAX_ATTEMPTS => {
                attempt += 1;
            }
            Unlock::WrongPassphrase => {
                // docker's and notary's variables hold one passphrase for a whole role (the
                // repository variable even for targets and snapshot keys alike): one that does
                // not open this key yields to a passphrase stored for this very key, never to a
                // prompt.
                if crate::passphrase::is_env_origin(&supplied.origin)
                    && let Some(stored) = stored_for(file, id, source, kdf)?
                {
                    return Ok(stored);
                }
                return Err(Error::WrongPassphrase {
                    key: label(),
                    role: file.role().clone(),
                    source_name: supplied.origin,
                });
            }
        }
    }
}

/// The request for the passphrase of an existing key.
fn unlock_request<'a>(file: &'a KeyFile, id: Option<&'a KeyId>, attempt: u32) -> Request<'a> {
    Request {
        key_id: id,
        role: file.role(),
        gun: file.gun(),
        purpose: Purpose::Unlock,
        attempt,
        subject: crate::passphrase::Subject::Key,
    }
}

/// The key, opened with a passphrase the stores of `source` keep for key `id` (the current entry,
/// then the pending one), if one of them opens it.
fn stored_for(
    file: &KeyFile,
    id: Option<&KeyId>,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<Option<(PrivateKey, Option<Supplied>)>> {
    for attempt in 0..MAX_ATTEMPTS {
        let request = unlock_request(file, id, attempt);
        // A store that cannot answer (a vault without its master passphrase) leaves the
        // variable's error standing.
        let Ok(Some(stored)) = source.supply_stored(&request) else {
            return Ok(None);
        };
        if let Unlock::Key(k) = file.unlock(Some(&stored.passphrase), kdf.max_iterations)? {
            return Ok(Some((k, Some(stored))));
        }
        if !stored.retry_allowed {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Asks `source` for the passphrase of a new key, or the new passphrase of the saved key `id`
/// (`saved`). Empty passphrases are refused: they would leave the key unencrypted on disk.
pub(crate) fn new_passphrase(
    source: &dyn PassphraseSource,
    id: &KeyId,
    role: &Role,
    gun: Option<&Gun>,
    saved: bool,
) -> Result<Supplied> {
    let request = Request {
        key_id: Some(id),
        role,
        gun,
        purpose: Purpose::NewKey,
        attempt: 0,
        subject: crate::passphrase::Subject::Key,
    };
    // A key not saved yet has an ID that means nothing to the user (it changes every run), so
    // the error names its role and repository instead.
    let supplied = source.supply(&request)?.ok_or_else(|| {
        if saved {
            Error::PassphraseRequired {
                key: FileLabel::text(id.to_string()),
                role: role.clone(),
            }
        } else {
            Error::NewPassphraseRequired {
                role: role.clone(),
                gun: gun.cloned(),
            }
        }
    })?;
    if supplied.passphrase.is_empty() {
        return Err(Error::WeakPassphrase {
            reason: format!("the passphrase from {} is empty", supplied.origin),
        });
    }
    Ok(supplied)
}

/// The GUN a key of `role` is stored with: required for targets/snapshot/timestamp keys and
/// dropped for every other role, as notary does (spec §2.1).
pub(crate) fn gun_for(role: &Role, gun: Option<Gun>) -> Result<Option<Gun>> {
    if role.carries_gun() {
        gun.map(Some).ok_or_else(|| Error::InvalidArgument {
            what: Argument::Repository,
            reason: format!(
                "a {role} key belongs to one repository; name it (notary and docker ignore {role} keys without one)"
            ),
        })
    } else {
        Ok(None)
    }
}
