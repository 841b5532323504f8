//! `key generate`: a new ECDSA P-256 key in the trust directory.

use crate::error::Argument;
use std::path::PathBuf;

use serde::Serialize;

use super::{KdfSettings, gun_for, new_passphrase};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::PrivateKey;
use crate::key::file;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;

/// A key that was created.
#[derive(Clone, Debug, Serialize)]
pub struct Generated {
    /// Its ID (the file name).
    pub id: KeyId,
    /// Its role.
    pub role: Role,
    /// Its repository, for repository keys.
    pub gun: Option<Gun>,
    /// Its file.
    pub path: PathBuf,
}

/// Generates a key for `role` (and `gun`, required for targets and snapshot keys), encrypts it
/// with a passphrase from `source`, and writes it atomically. The passphrase is asked for
/// before the trust directory is locked.
pub fn generate(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    role: Role,
    gun: Option<Gun>,
    kdf: &KdfSettings,
) -> Result<Generated> {
    // What a person asked for is checked here; internal callers pass validated roles.
    role.check_spelling()?;
    if !role.carries_gun()
        && let Some(gun) = &gun
    {
        return Err(Error::InvalidArgument {
            what: Argument::RoleAndRepository,
            reason: format!(
                "a {role} key is not tied to one repository, so a repository ({gun}) cannot be given for it; only targets and snapshot keys have one"
            ),
        });
    }
    generate_key(dir, source, role, gun, kdf).map(|(made, _)| made)
}

/// [`generate`], also handing back the key so that callers need not decrypt it again.
pub(crate) fn generate_key(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    role: Role,
    gun: Option<Gun>,
    kdf: &KdfSettings,
) -> Result<(Generated, PrivateKey)> {
    if role == Role::Timestamp {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: "timestamp keys are held by the Notary server, never locally".into(),
        });
    }
    if role.as_str().is_empty() {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: "a key needs a role (root, targets, snapshot, targets/<name> or a signer name)"
                .into(),
        });
    }
    let key = PrivateKey::generate_ecdsa()?;
    let made = write_new_key(dir, source, &key, role, gun, kdf)?;
    Ok((made, key))
}

/// Encrypts `key` (a new key of `role`) with a new passphrase from `source` and writes it
/// atomically to `private/`, never over an existing file.
pub(crate) fn write_new_key(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    key: &PrivateKey,
    role: Role,
    gun: Option<Gun>,
    kdf: &KdfSettings,
) -> Result<Generated> {
    let gun = gun_for(&role, gun)?;
    let id = key.id();
    let supplied = new_passphrase(source, &id, &role, gun.as_ref(), false)?;
    let pem = file::encode(
        key,
        &role,
        gun.as_ref(),
        &supplied.passphrase,
        kdf.iterations,
    )?;
    let lock = dir.lock()?;
    let path = dir.write_key(&lock, &id, &pem, false)?;
    Ok(Generated {
        id,
        role,
        gun,
        path,
    })
}
