//! The local half of `init`: make sure a root key and a targets key for a repository exist,
//! reusing what is there. Publishing to a Notary server comes on top of this.

use serde::Serialize;

use super::generate::generate_key;
use super::{KdfSettings, list, load_key};
use crate::error::Result;
use crate::ids::{Gun, KeyId, Role};
use crate::key::PrivateKey;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::{Location, TrustDir};

/// Whether a key was found or made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// An existing key is used.
    Reused,
    /// A new key was generated.
    Created,
}

/// The keys a repository will be signed with.
#[derive(Clone, Debug, Serialize)]
pub struct Preseeded {
    /// The repository.
    pub gun: Gun,
    /// The root key.
    pub root: KeyId,
    /// Whether the root key was reused or created.
    pub root_provenance: Provenance,
    /// The targets (repository) key.
    pub targets: KeyId,
    /// Whether the targets key was reused or created.
    pub targets_provenance: Provenance,
}

/// Finds or creates the root key and the targets key of `gun`.
///
/// The root key is chosen as docker chooses it: the smallest ID among usable root keys in
/// `private/` (notary picks one at random). Among several targets keys of `gun`, the smallest ID
/// is used too, so repeated runs are deterministic and change nothing.
pub fn preseed(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    kdf: &KdfSettings,
) -> Result<Preseeded> {
    let (root, root_provenance, _) = find_or_make(dir, source, Role::Root, None, kdf)?;
    let (targets, targets_provenance, _) =
        find_or_make(dir, source, Role::Targets, Some(gun), kdf)?;
    Ok(Preseeded {
        gun: gun.clone(),
        root,
        root_provenance,
        targets,
        targets_provenance,
    })
}

/// The smallest usable key of `role` (and `gun`) in `private/`, or a new one; a new key is
/// handed back too, so that it need not be decrypted again.
pub(crate) fn find_or_make(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    role: Role,
    gun: Option<&Gun>,
    kdf: &KdfSettings,
) -> Result<(KeyId, Provenance, Option<PrivateKey>)> {
    let existing = list(dir, Some(&role), gun)?
        .into_iter()
        .filter(|k| k.location == Location::Flat && k.problem.is_none())
        .filter_map(|k| k.id.parse::<KeyId>().ok())
        .min();
    match existing {
        Some(id) => Ok((id, Provenance::Reused, None)),
        None => {
            let (made, key) = generate_key(dir, source, role, gun.cloned(), kdf)?;
            Ok((made.id, Provenance::Created, Some(key)))
        }
    }
}

/// Like [`find_or_make`], decrypting a reused key: the key to sign with.
pub(crate) fn signing_key(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    role: Role,
    gun: Option<&Gun>,
    kdf: &KdfSettings,
) -> Result<(KeyId, Provenance, PrivateKey)> {
    let (id, provenance, key) = find_or_make(dir, source, role, gun, kdf)?;
    let key = match key {
        Some(k) => k,
        None => load_key(dir, &id, source, kdf)?.key,
    };
    Ok((id, provenance, key))
}
