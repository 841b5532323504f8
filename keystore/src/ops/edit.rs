//! A change to a published repository's targets.json and delegated roles (signers, signed
//! tags), built on verified metadata only, signed and published in one POST.
//!
//! Every file changed gets the next version and a fresh expiry; snapshot.json is re-signed here
//! when its key is local, by the server otherwise. After the server accepted, the repository is
//! fetched and verified again (the root chain, every role, every delegation) and only then
//! cached: what the server now serves must be exactly what was sent.

use std::time::SystemTime;

use super::remote::{self, Remote};
use super::{KdfSettings, load_key};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId};
use crate::key::PrivateKey;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;
use crate::tuf::schema::{Delegations, Metadata, Targets};
use crate::tuf::{self, roles};

/// The files of one change, in the order they were signed.
pub(crate) struct Edit<'a> {
    remote: &'a Remote,
    gun: &'a Gun,
    now: SystemTime,
    files: Vec<(String, Vec<u8>)>,
}

impl<'a> Edit<'a> {
    /// A change on top of `remote`, the repository as just verified.
    pub(crate) fn new(remote: &'a Remote, gun: &'a Gun) -> Self {
        Edit {
            remote,
            gun,
            now: SystemTime::now(),
            files: Vec::new(),
        }
    }

    /// Signs `targets` (the verified targets.json, changed) as the next version with `key`, the
    /// targets key root.json names.
    pub(crate) fn targets(
        &mut self,
        mut targets: Targets,
        key: &(KeyId, PrivateKey),
    ) -> Result<()> {
        targets.version = next_version(self.remote.targets.version, "targets")?;
        targets.expires = roles::go_time(self.now + roles::TARGETS_EXPIRY);
        let bytes = tuf::sign(&targets, &[(&key.0, &key.1)])?;
        self.files.push(("targets".into(), bytes));
        Ok(())
    }

    /// Signs delegated role `name`'s targets (changed, or new: `previous` is the version the
    /// server has, 0 when it has no file) as the next version with `keys` (listed ID, key).
    pub(crate) fn delegation(
        &mut self,
        name: &str,
        mut targets: Targets,
        previous: u64,
        keys: &[(&KeyId, &PrivateKey)],
    ) -> Result<()> {
        targets.version = next_version(previous, name)?;
        targets.expires = roles::go_time(self.now + roles::TARGETS_EXPIRY);
        let bytes = tuf::sign(&targets, keys)?;
        self.files.push((name.to_owned(), bytes));
        Ok(())
    }

    /// Publishes the change (with a new snapshot.json signed by `snapshot_key` when the snapshot
    /// key is local), then fetches and verifies the repository again and caches it. Returns the
    /// verified repository as it is now.
    pub(crate) fn publish(
        self,
        dir: &TrustDir,
        server: &NotaryClient,
        snapshot_key: Option<&PrivateKey>,
    ) -> Result<Remote> {
        let gun = self.gun;
        let mut files = self.files;
        if let Some(k) = snapshot_key {
            let mut snapshot = self.remote.snapshot.clone();
            for (role, bytes) in &files {
                snapshot
                    .meta
                    .insert(role.clone(), crate::tuf::schema::FileMeta::of(bytes));
            }
            snapshot.version = next_version(self.remote.snapshot.version, "snapshot")?;
            snapshot.expires = roles::go_time(self.now + roles::TARGETS_EXPIRY);
            files.push(("snapshot".into(), tuf::sign(&snapshot, &[(&k.id(), k)])?));
        }
        let parts: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(r, b)| (r.as_str(), b.as_slice()))
            .collect();
        server.publish(gun, &parts)?;
        let now = remote::fetch(dir, server, gun)?.ok_or_else(|| Error::InvalidMetadata {
            reason: format!(
                "{} accepted the update of {gun} but now says the repository is not published",
                server.url()
            ),
        })?;
        for (role, bytes) in &files {
            let served = if role == "targets" {
                remote::cached(dir, gun, "targets")?
            } else if role == "snapshot" {
                continue;
            } else {
                now.delegations
                    .iter()
                    .find(|d| &d.name == role)
                    .map(|d| d.bytes.clone())
            };
            if served.as_deref() != Some(bytes.as_slice()) {
                return Err(Error::InvalidMetadata {
                    reason: format!(
                        "{} accepted the update of {gun} but does not serve the {role}.json that was sent",
                        server.url()
                    ),
                });
            }
        }
        Ok(now)
    }
}

/// `version + 1`, refusing a version that cannot be incremented.
fn next_version(version: u64, role: &str) -> Result<u64> {
    version
        .checked_add(1)
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!("the server's {role}.json has a version that cannot be incremented"),
        })
}

/// The local key that `remote`'s root.json names for targets, decrypted, with the ID root.json
/// lists it under.
pub(crate) fn targets_key(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    remote: &Remote,
    gun: &Gun,
    kdf: &KdfSettings,
) -> Result<(KeyId, PrivateKey)> {
    let listed = remote.root.role_key_ids("targets");
    for id in listed {
        let Some(canonical) = remote.root.key(id).and_then(|k| roles::canonical_id(&k)) else {
            continue;
        };
        if dir.key_path(&canonical).is_file() {
            return Ok((id.parse()?, load_key(dir, &canonical, source, kdf)?.key));
        }
    }
    Err(Error::KeyNotFound {
        key_id: format!(
            "{} (the targets key the server expects for {gun})",
            listed.first().map(String::as_str).unwrap_or("?")
        ),
        dir: dir.private_dir(),
    })
}

/// The local snapshot key `remote`'s root.json names, decrypted; `None` when the server holds
/// it.
pub(crate) fn snapshot_key(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    remote: &Remote,
    kdf: &KdfSettings,
) -> Result<Option<PrivateKey>> {
    match remote
        .root
        .canonical_ids("snapshot")
        .into_iter()
        .find(|id| dir.key_path(id).is_file())
    {
        Some(id) => Ok(Some(load_key(dir, &id, source, kdf)?.key)),
        None => Ok(None),
    }
}

/// The local keys among those `delegations` lists for role `name`: `(listed ID, canonical ID)`.
pub(crate) fn local_delegation_keys(
    dir: &TrustDir,
    delegations: &Delegations,
    name: &str,
) -> Vec<(KeyId, KeyId)> {
    let Some(role) = delegations.roles.iter().find(|r| r.name == name) else {
        return Vec::new();
    };
    role.role
        .keyids
        .iter()
        .filter_map(|listed| {
            let canonical = roles::canonical_id(&delegations.key(listed)?)?;
            dir.key_path(&canonical)
                .is_file()
                .then(|| Some((listed.parse().ok()?, canonical)))?
        })
        .collect()
}

/// The targets of delegated role `name` as the server has them: an empty one when it has no
/// file yet (version 0) or only one that its keys no longer sign (its version, to publish over
/// it); an expired one keeps its content (re-signing renews it).
pub(crate) fn delegated_targets(remote: &Remote, name: &str) -> (Targets, u64) {
    if let Some(u) = remote.unverified.iter().find(|u| u.name == name) {
        let content = u
            .expired
            .clone()
            .unwrap_or_else(|| roles::empty_targets(0, SystemTime::now()));
        return (content, u.version);
    }
    match remote.delegations.iter().find(|d| d.name == name) {
        Some(d) => (d.targets.clone(), d.targets.version()),
        // As notary writes a new delegated role: with an empty `delegations`. notary-server
        // records in snapshot.json the hash of the file as Go serializes it, so anything else
        // would not match what it serves.
        None => (roles::empty_targets(0, SystemTime::now()), 0),
    }
}
