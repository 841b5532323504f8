//! The local half of `init`: make sure a root key and a targets key for a repository exist,
//! reusing what is there. Publishing to a Notary server comes on top of this.

use serde::Serialize;

use super::{Generated, KdfSettings, generate, list};
use crate::error::Result;
use crate::ids::{Gun, KeyId, Role};
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
    let (root, root_provenance) = find_or_make(dir, source, Role::Root, None, kdf)?;
    let (targets, targets_provenance) = find_or_make(dir, source, Role::Targets, Some(gun), kdf)?;
    Ok(Preseeded {
        gun: gun.clone(),
        root,
        root_provenance,
        targets,
        targets_provenance,
    })
}

/// The smallest usable key of `role` (and `gun`) in `private/`, or a new one.
pub(crate) fn find_or_make(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    role: Role,
    gun: Option<&Gun>,
    kdf: &KdfSettings,
) -> Result<(KeyId, Provenance)> {
    let existing = list(dir, Some(&role), gun)?
        .into_iter()
        .filter(|k| k.location == Location::Flat && k.problem.is_none())
        .filter_map(|k| k.id.parse::<KeyId>().ok())
        .min();
    match existing {
        Some(id) => Ok((id, Provenance::Reused)),
        None => {
            let Generated { id, .. } = generate(dir, source, role, gun.cloned(), kdf)?;
            Ok((id, Provenance::Created))
        }
    }
}
