//! Stored passphrases: `key passwd` that keeps the keyring or vault in step with the key file,
//! and `passphrase set|generate|remove`.

use std::path::PathBuf;

use super::{KdfSettings, check_new_differs, load_key_with, new_passphrase, unlock_with};
use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::key::file;
use crate::passphrase::store::{SecretStore, Slot, generate_passphrase};
use crate::passphrase::{PassphraseSource, Supplied};
use crate::trust_dir::{MAX_KEY_FILE, TrustDir, read_no_follow};

/// Where `key passwd` takes the new passphrase from.
pub enum NewPassphrase<'a> {
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
pub fn passwd_stored(
    dir: &TrustDir,
    id: &KeyId,
    old: &dyn PassphraseSource,
    new: NewPassphrase<'_>,
    store: Option<&dyn SecretStore>,
    kdf: &KdfSettings,
) -> Result<PathBuf> {
    let (path, key_file, key, current) = load_key_with(dir, id, old, kdf)?;
    let before = read_no_follow(&path, MAX_KEY_FILE)?;
    let passphrase = match new {
        NewPassphrase::From(source) => {
            let supplied = new_passphrase(source, id, key_file.role(), key_file.gun(), true)?;
            check_new_differs(id, current.as_ref(), &supplied)?;
            supplied.passphrase
        }
        NewPassphrase::Generate => generate_passphrase()?,
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
            what: "key",
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

/// Removes the stored passphrases (current and pending) of `id`; `false` if there were none.
pub fn forget_passphrase(id: &KeyId, store: &dyn SecretStore) -> Result<bool> {
    let mut any = false;
    for slot in Slot::BOTH {
        any |= store.delete(id, slot)?;
    }
    Ok(any)
}
