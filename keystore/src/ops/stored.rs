//! Stored passphrases: re-encryption that keeps the keyring or vault in step with the key file,
//! and `passphrase set|remove|reveal`.

use crate::error::Argument;
use std::path::PathBuf;

use super::{KdfSettings, check_new_differs, load_key_with, new_passphrase, unlock_with};
use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::key::file;
use crate::passphrase::store::{SecretStore, Slot, generate_passphrase};
use crate::passphrase::{PassphraseSource, Supplied};
use crate::trust_dir::{MAX_KEY_FILE, TrustDir, read_no_follow};

/// Where [`reencrypt`] takes the new passphrase from.
pub(crate) enum Reencrypt<'a> {
    /// From a source (file, environment, prompt).
    From(&'a dyn PassphraseSource),
    /// Generated (at least 128 bits of entropy).
    Generate,
}

/// Re-encrypts key `id` under a new passphrase and, with `store`, keeps the stored passphrase
/// in step, crash-safely: the new passphrase is stored as the key's *pending* entry first, then
/// the key file is replaced atomically, then the pending entry becomes the current one. A crash
/// at any point leaves the key openable with the current or the pending entry (unlocking tries
/// both). Returns the key file's path.
pub(crate) fn reencrypt(
    dir: &TrustDir,
    id: &KeyId,
    old: &dyn PassphraseSource,
    new: Reencrypt<'_>,
    store: Option<&dyn SecretStore>,
    kdf: &KdfSettings,
) -> Result<PathBuf> {
    let (path, key_file, key, current) = load_key_with(dir, id, old, kdf)?;
    let before = read_no_follow(&path, MAX_KEY_FILE)?;
    let passphrase = match new {
        Reencrypt::From(source) => {
            let supplied = new_passphrase(source, id, key_file.role(), key_file.gun(), true)?;
            check_new_differs(id, current.as_ref(), &supplied)?;
            supplied.passphrase
        }
        Reencrypt::Generate => generate_passphrase()?,
    };
    if let Some(s) = store {
        s.put(
            id,
            key_file.role(),
            key_file.gun(),
            Slot::Pending,
            &passphrase,
        )?;
    }
    let pem = file::encode(
        &key,
        key_file.role(),
        key_file.gun(),
        &passphrase,
        kdf.iterations,
    )?;
    {
        let lock = dir.lock()?;
        if read_no_follow(&path, MAX_KEY_FILE)? != before {
            return Err(Error::Io {
                action: "update",
                path,
                source: std::io::Error::other(
                    "the key file changed while the passphrase was asked for; retry",
                ),
            });
        }
        dir.write_key(&lock, id, &pem, true)?;
    }
    if let Some(s) = store {
        s.put(
            id,
            key_file.role(),
            key_file.gun(),
            Slot::Current,
            &passphrase,
        )?;
        s.delete(id, Slot::Pending)?;
    }
    Ok(path)
}

/// Stores the passphrase of key `id` (from `source`) in `store`, after checking that it opens
/// the key. Returns where the passphrase came from.
pub fn store_passphrase(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    store: &dyn SecretStore,
    kdf: &KdfSettings,
) -> Result<String> {
    let (path, key_file) = dir.read_key(id)?;
    let (key, supplied) =
        unlock_with(&key_file, Some(id), source, kdf).map_err(|e| e.in_file(&path))?;
    if &key.id() != id {
        return Err(
            Error::invalid(format!("the file is named {id} but holds key {}", key.id()))
                .in_file(&path),
        );
    }
    let Some(Supplied {
        passphrase, origin, ..
    }) = supplied
    else {
        return Err(Error::InvalidArgument {
            what: Argument::Key,
            reason: format!("key {id} is not encrypted; there is no passphrase to store"),
        });
    };
    store.put(
        id,
        key_file.role(),
        key_file.gun(),
        Slot::Current,
        &passphrase,
    )?;
    Ok(origin)
}

pub use crate::passphrase::store::forget as forget_passphrase;

/// Removes the stored passphrases of `id` from every one of `stores` that holds one (the OS
/// keyrings and the vault), and returns the descriptions of those it was removed from, in order.
/// `KeyNotFound` naming every store looked at when none held one.
pub fn forget_everywhere(id: &KeyId, stores: &[&dyn SecretStore]) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for store in stores {
        if forget_passphrase(id, *store)? {
            removed.push(store.describe());
        }
    }
    if removed.is_empty() {
        return Err(Error::NotStored {
            key_id: id.clone(),
            looked_in: stores.iter().map(|s| s.describe()).collect(),
        });
    }
    Ok(removed)
}

/// A stored passphrase handed out on purpose (`passphrase reveal`).
pub struct Revealed {
    /// The passphrase.
    pub passphrase: crate::secret::Passphrase,
    /// The store that holds it.
    pub store: String,
    /// Whether it was checked against the key file (`false` when no key file of that ID is in
    /// `private/` or `keytool-retired/`).
    pub checked: bool,
}

/// The stored passphrase of `id`, from the first of `stores` that holds one (current entry, then
/// pending), after checking that it opens the key when its file is found in `private/` or among
/// the retired keys. For backups and for moving a key; the caller decides where it may go.
pub fn reveal_passphrase(
    dir: &TrustDir,
    id: &KeyId,
    stores: &[&dyn SecretStore],
    kdf: &KdfSettings,
) -> Result<Revealed> {
    let key_file = match dir.read_key(id) {
        Ok((path, file)) => Some((path, file)),
        Err(_) => {
            let path = dir.retired_dir().join(format!("{id}.key"));
            match read_no_follow(&path, MAX_KEY_FILE) {
                Ok(bytes) => Some((path, file::KeyFile::parse(&bytes)?)),
                Err(_) => None,
            }
        }
    };
    let mut wrong = None;
    for store in stores {
        for slot in Slot::BOTH {
            let Some(passphrase) = store.get(id, slot)? else {
                continue;
            };
            let Some((path, key_file)) = &key_file else {
                return Ok(Revealed {
                    passphrase,
                    store: store.describe(),
                    checked: false,
                });
            };
            let fixed = crate::passphrase::FixedSource::new(passphrase.clone(), store.describe());
            match unlock_with(key_file, Some(id), &fixed, kdf) {
                Ok(_) => {
                    return Ok(Revealed {
                        passphrase,
                        store: store.describe(),
                        checked: true,
                    });
                }
                Err(Error::WrongPassphrase { .. }) => {
                    wrong = Some((path.clone(), key_file.role().clone(), store.describe()));
                }
                Err(e) => return Err(e.in_file(path)),
            }
        }
    }
    match wrong {
        Some((path, role, store)) => Err(Error::WrongPassphrase {
            key: crate::error::FileLabel::path(&path),
            role,
            source_name: store,
        }),
        None => Err(Error::NotStored {
            key_id: id.clone(),
            looked_in: stores.iter().map(|s| s.describe()).collect(),
        }),
    }
}

/// Writes `passphrase` (and a newline) to a new file at `path`, created with mode 0600 whatever
/// the umask, never through a symbolic link, and synced; an existing file is refused
/// (`AlreadyExists`), so a backup never replaces another file.
pub fn write_passphrase_file(
    path: &std::path::Path,
    passphrase: &crate::secret::Passphrase,
) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::AlreadyExists {
                path: path.to_owned(),
            },
            _ => Error::io("create", path, e),
        })?;
    let written = f
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| f.write_all(passphrase.expose()))
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(Error::io("write", path, e));
    }
    Ok(())
}
