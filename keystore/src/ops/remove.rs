//! `key remove`: take a key out of `private/` without ever losing it.
//!
//! Every other path in keytool retires keys (rotation, `import --force`), so `key remove` does
//! too: the file moves to `keytool-retired/` (docker and notary no longer see it; moving it back
//! undoes the removal). Purging is a deliberate `rm` of the retired file, outside keytool.
//!
//! A key that the cached, verified trust data of a repository still names (`tuf/<gun>/metadata`:
//! root.json's roles, targets.json's delegations) is the key the server expects: without it this
//! machine can no longer sign (a targets key) or rotate (a root key). Removing it is refused
//! unless forced, and even then it is retired.

use std::path::PathBuf;

use serde::Serialize;

use super::rotate::local_repositories;
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::trust_dir::TrustDir;
use crate::tuf::schema::{Root, Targets};
use crate::tuf::{Envelope, roles};

/// What `key remove` did.
#[derive(Clone, Debug, Serialize)]
pub struct Removed {
    /// The key.
    pub id: KeyId,
    /// Its role.
    pub role: Role,
    /// Its repository, for repository keys.
    pub gun: Option<Gun>,
    /// Where the key file was (`private/<id>.key`).
    pub path: PathBuf,
    /// Where it is now (`keytool-retired/…`): recoverable, not used by docker or notary.
    pub retired_to: PathBuf,
    /// Who still names the key (only with `force`), e.g. "the targets key of example.com/app".
    pub still_named_by: Vec<String>,
}

/// What `key remove` is about to do, for the caller's confirmation.
#[derive(Clone, Debug)]
pub struct RemovalPlan {
    /// The key.
    pub id: KeyId,
    /// Its role.
    pub role: Role,
    /// Its repository, for repository keys.
    pub gun: Option<Gun>,
    /// Who still names the key (empty unless `force`).
    pub still_named_by: Vec<String>,
}

/// Retires key `id` (moves `private/<id>.key` to `keytool-retired/`). A key that cached trust
/// data still names is refused ([`Error::KeyInUse`]) unless `force`. `confirm` is called with
/// the plan before anything changes, without the trust directory's lock (it may ask the user);
/// an error from it cancels. Never deletes a key.
pub fn remove(
    dir: &TrustDir,
    id: &KeyId,
    force: bool,
    confirm: &dyn Fn(&RemovalPlan) -> Result<()>,
) -> Result<Removed> {
    let (path, file) = dir.read_key(id)?;
    let check = |uses: Vec<String>| -> Result<Vec<String>> {
        if uses.is_empty() || force {
            Ok(uses)
        } else {
            Err(Error::KeyInUse {
                key_id: id.clone(),
                uses: uses.join(", "),
            })
        }
    };
    let plan = RemovalPlan {
        id: id.clone(),
        role: file.role().clone(),
        gun: file.gun().cloned(),
        still_named_by: check(key_uses(dir, id)?)?,
    };
    confirm(&plan)?;
    let lock = dir.lock()?;
    // Checked again under the lock: a publish or rotation may have finished meanwhile.
    let still_named_by = check(key_uses(dir, id)?)?;
    let retired_to = dir.retire_key(&lock, id)?;
    Ok(Removed {
        id: id.clone(),
        role: plan.role,
        gun: plan.gun,
        path,
        retired_to,
        still_named_by,
    })
}

/// Where the cached trust data of this trust directory names key `id` (its file-name ID; root
/// certificates are matched by the key they hold): "the targets key of G", "the root key of G",
/// "a key of delegation targets/releases of G". Cached metadata that cannot be read counts as a
/// use: keytool cannot tell that it does not name the key.
pub fn key_uses(dir: &TrustDir, id: &KeyId) -> Result<Vec<String>> {
    let mut uses = Vec::new();
    for gun in local_repositories(dir)? {
        let Some(bytes) = super::remote::cached(dir, &gun, "root")? else {
            continue;
        };
        let Ok(root) = Envelope::parse(&bytes).and_then(|e| e.typed::<Root>()) else {
            uses.push(format!(
                "the cached root.json of {gun} (unreadable, so keytool cannot tell)"
            ));
            continue;
        };
        for role in ["root", "targets", "snapshot", "timestamp"] {
            if root.canonical_ids(role).contains(id) {
                uses.push(format!("the {role} key of {gun}"));
            }
        }
        let Some(bytes) = super::remote::cached(dir, &gun, "targets")? else {
            continue;
        };
        let Ok(targets) = Envelope::parse(&bytes).and_then(|e| e.typed::<Targets>()) else {
            continue;
        };
        let Some(delegations) = &targets.delegations else {
            continue;
        };
        for role in &delegations.roles {
            let names = role.role.keyids.iter().any(|listed| {
                delegations
                    .key(listed)
                    .and_then(|k| roles::canonical_id(&k))
                    .is_some_and(|k| &k == id)
            });
            if names {
                uses.push(format!("a key of delegation {} of {gun}", role.name));
            }
        }
    }
    Ok(uses)
}
