//! `rotate`: replace a repository's targets key without ever losing the ability to sign.
//!
//! Order of work, each step durable before the next (a journal in `keytool-journal/` records
//! where a rotation is):
//! 1. journal `begun` (with the new key's ID) — 2. new key file written — 3. new root.json
//!    (v+1, listing the new key, signed by the root key) and targets.json (v+1, signed by the new
//!    key) published in one POST; journal `published` — 4. old key retired (moved out of
//!    `private/` to `keytool-retired/`, never deleted) — 5. cache refreshed; journal removed.
//!
//! notary's own rotation deletes the old key before it uploads (spec §7.4). Here, until the
//! server has accepted the new root, the old key stays where notary and docker use it; after
//! that, the server trusts only the new key, which is already durable. A rerun (or `--resume`)
//! completes or cleanly abandons an interrupted rotation.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::remote::{self, Remote};
use super::{KdfSettings, list, load_key, new_passphrase};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::PrivateKey;
use crate::key::file;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::{DirLock, Location, TrustDir};
use crate::tuf::{self, TufKey, roles};

/// The step boundaries of a rotation, reported as they are passed (progress, and test-only
/// fault points in the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The journal records the rotation and the new key's ID.
    Journaled,
    /// The new key file is durable in `private/`.
    NewKeyWritten,
    /// The server accepted the new metadata (published repositories only).
    Published,
    /// The old key left `private/` for `keytool-retired/`.
    Retired,
    /// The local metadata cache holds the new root and targets (published repositories only).
    CacheRefreshed,
}

impl Step {
    /// A stable name (used by `KEYTOOL_FAULT_POINT` in tests).
    pub fn name(self) -> &'static str {
        match self {
            Step::Journaled => "journaled",
            Step::NewKeyWritten => "new-key-written",
            Step::Published => "published",
            Step::Retired => "retired",
            Step::CacheRefreshed => "cache-refreshed",
        }
    }
}

/// How to rotate.
pub struct RotateOptions<'a> {
    /// The Notary server; without one only an unpublished repository can be rotated.
    pub server: Option<&'a NotaryClient>,
    /// Only report the plan.
    pub dry_run: bool,
    /// Called after each step boundary.
    pub on_step: &'a dyn Fn(Step),
}

/// What a rotation did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Serialize)]
pub struct Rotated {
    /// The repository.
    pub gun: Gun,
    /// The role rotated.
    pub role: Role,
    /// The key that was replaced.
    pub old_key: Option<KeyId>,
    /// The new key (`None` for a dry run).
    pub new_key: Option<KeyId>,
    /// Whether the rotation was published to the server (else: local only).
    pub published: bool,
    /// The new root.json version (published rotations).
    pub root_version: Option<u64>,
    /// The new targets.json version (published rotations).
    pub targets_version: Option<u64>,
    /// Where the old key went.
    pub retired: Option<PathBuf>,
    /// Whether an interrupted rotation was completed.
    pub resumed: bool,
    /// Whether this was only a plan.
    pub dry_run: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Begun,
    Published,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Journal {
    gun: String,
    role: String,
    old_key: Option<String>,
    new_key: String,
    published_repository: bool,
    phase: Phase,
}

/// The journal entry name of a rotation of `gun`'s `role` (GUNs hold `/` and `:`).
fn journal_name(gun: &Gun, role: &Role) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(gun.as_str().as_bytes());
    format!("rotate-{}-{}", role, &hex::encode(digest)[..16])
}

/// Whether a rotation of `gun`'s targets key is pending (interrupted).
pub fn pending_rotation(dir: &TrustDir, gun: &Gun) -> Result<bool> {
    Ok(dir
        .read_journal(&journal_name(gun, &Role::Targets))?
        .is_some())
}

/// Rotates the targets key of `gun`. A pending (interrupted) rotation of the same repository is
/// completed first, instead of starting another.
pub fn rotate_targets(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    options: &RotateOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Rotated> {
    let role = Role::Targets;
    let lock = dir.lock()?;
    let name = journal_name(gun, &role);
    let remote = match options.server {
        Some(server) => remote::fetch(dir, server, gun)?,
        None => None,
    };

    let mut restarted = false;
    if let Some(bytes) = dir.read_journal(&name)? {
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|_| Error::InvalidArgument {
                what: "rotation journal",
                reason: format!("{name} is unreadable; move it away to start over"),
            })?;
        if options.dry_run {
            let old = journal.old_key.and_then(|k| k.parse().ok());
            return Ok(plan(gun, old, journal.published_repository, true));
        }
        let new_key_written = journal
            .new_key
            .parse::<KeyId>()
            .is_ok_and(|id| dir.key_path(&id).is_file());
        if new_key_written || journal.phase == Phase::Published {
            return resume(
                dir,
                &lock,
                source,
                gun,
                &name,
                journal,
                remote.as_ref(),
                options,
                kdf,
            );
        }
        // Interrupted before the new key was durable: nothing else happened. Start over.
        dir.remove_journal(&lock, &name)?;
        restarted = true;
    }

    let old_key = match &remote {
        Some(r) => Some(single_key(&r.root, "targets")?),
        None => local_targets_key(dir, gun)?,
    };
    if remote.is_none() && old_key.is_none() {
        return Err(Error::KeyNotFound {
            key_id: format!("(any targets key of {gun})"),
            dir: dir.private_dir(),
        });
    }
    if options.dry_run {
        return Ok(plan(gun, old_key, remote.is_some(), false));
    }

    // Everything that can fail for want of a passphrase happens before any change.
    let signers = match &remote {
        Some(r) => Some(signing_keys(dir, source, &r.root, kdf)?),
        None => None,
    };
    let new_key = PrivateKey::generate_ecdsa()?;
    let new_id = new_key.id();
    let supplied = new_passphrase(source, &new_id, &role, Some(gun))?;
    let pem = file::encode(
        &new_key,
        &role,
        Some(gun),
        &supplied.passphrase,
        kdf.iterations,
    )?;

    let mut journal = Journal {
        gun: gun.to_string(),
        role: role.to_string(),
        old_key: old_key.as_ref().map(KeyId::to_string),
        new_key: new_id.to_string(),
        published_repository: remote.is_some(),
        phase: Phase::Begun,
    };
    write_journal(dir, &lock, &name, &journal)?;
    (options.on_step)(Step::Journaled);
    dir.write_key(&lock, &new_id, &pem, false)?;
    (options.on_step)(Step::NewKeyWritten);

    let mut done = Rotated {
        gun: gun.clone(),
        role: role.clone(),
        old_key: old_key.clone(),
        new_key: Some(new_id.clone()),
        published: remote.is_some(),
        root_version: None,
        targets_version: None,
        retired: None,
        resumed: restarted,
        dry_run: false,
    };
    if let (Some(r), Some(server), Some(signers)) = (&remote, options.server, &signers) {
        let sent = publish(server, gun, r, signers, &new_key)?;
        journal.phase = Phase::Published;
        write_journal(dir, &lock, &name, &journal)?;
        (options.on_step)(Step::Published);
        done.root_version = Some(sent.root_version);
        done.targets_version = Some(sent.targets_version);
        finish(
            dir,
            &lock,
            gun,
            &name,
            old_key.as_ref(),
            Some((&sent.root, &sent.targets)),
            options,
            &mut done,
        )?;
    } else {
        finish(
            dir,
            &lock,
            gun,
            &name,
            old_key.as_ref(),
            None,
            options,
            &mut done,
        )?;
    }
    Ok(done)
}

#[allow(clippy::too_many_arguments)]
fn resume(
    dir: &TrustDir,
    lock: &DirLock,
    source: &dyn PassphraseSource,
    gun: &Gun,
    name: &str,
    mut journal: Journal,
    remote: Option<&Remote>,
    options: &RotateOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Rotated> {
    let new_id: KeyId = journal.new_key.parse()?;
    let old_key: Option<KeyId> = journal.old_key.as_deref().map(str::parse).transpose()?;
    let mut done = Rotated {
        gun: gun.clone(),
        role: Role::Targets,
        old_key: old_key.clone(),
        new_key: Some(new_id.clone()),
        published: journal.published_repository,
        root_version: None,
        targets_version: None,
        retired: None,
        resumed: true,
        dry_run: false,
    };
    if !dir.key_path(&new_id).is_file() {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "the journal says the server accepted key {new_id}, but its file is missing from {}; the old key was kept. Restore the key file (keytool key list --retired, backups) and rerun",
                dir.private_dir().display()
            ),
        });
    }
    if !journal.published_repository {
        finish(
            dir,
            lock,
            gun,
            name,
            old_key.as_ref(),
            None,
            options,
            &mut done,
        )?;
        return Ok(done);
    }
    let (Some(server), Some(remote)) = (options.server, remote) else {
        return Err(Error::InvalidArgument {
            what: "server",
            reason: format!(
                "the interrupted rotation of {gun} was being published; name the server to complete it"
            ),
        });
    };
    let trusted = single_key(&remote.root, "targets")?;
    if trusted == new_id {
        // The server already trusts the new key: only the local clean-up is left.
        finish(
            dir,
            lock,
            gun,
            name,
            old_key.as_ref(),
            Some((&remote.root_bytes, &[])),
            options,
            &mut done,
        )?;
        return Ok(done);
    }
    if Some(&trusted) != old_key.as_ref() {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "the server now expects targets key {trusted}, neither the old nor the new key of the interrupted rotation; nothing was changed"
            ),
        });
    }
    // The server still trusts the old key: publish again with the key already on disk.
    let signers = signing_keys(dir, source, &remote.root, kdf)?;
    let (_, _, new_key) = load_key(dir, &new_id, source, kdf)?;
    let sent = publish(server, gun, remote, &signers, &new_key)?;
    journal.phase = Phase::Published;
    write_journal(dir, lock, name, &journal)?;
    (options.on_step)(Step::Published);
    done.root_version = Some(sent.root_version);
    done.targets_version = Some(sent.targets_version);
    finish(
        dir,
        lock,
        gun,
        name,
        old_key.as_ref(),
        Some((&sent.root, &sent.targets)),
        options,
        &mut done,
    )?;
    Ok(done)
}

/// Steps 4 and 5: retire the old key, refresh the cache, close the journal.
#[allow(clippy::too_many_arguments)]
fn finish(
    dir: &TrustDir,
    lock: &DirLock,
    gun: &Gun,
    name: &str,
    old_key: Option<&KeyId>,
    metadata: Option<(&[u8], &[u8])>,
    options: &RotateOptions<'_>,
    done: &mut Rotated,
) -> Result<()> {
    if let Some(old) = old_key
        && (dir.key_path(old).is_file() || dir.retired_dir().join(format!("{old}.key")).is_file())
    {
        done.retired = Some(dir.retire_key(lock, old)?);
    }
    (options.on_step)(Step::Retired);
    if let Some((root, targets)) = metadata {
        dir.write_metadata(lock, gun, "root", root)?;
        if !targets.is_empty() {
            dir.write_metadata(lock, gun, "targets", targets)?;
        }
        (options.on_step)(Step::CacheRefreshed);
    }
    dir.remove_journal(lock, name)
}

/// Builds and publishes root.json v+1 (new targets key, signed by the root key), targets.json
/// v+1 (same content, signed by the new key) and, when the snapshot key is local, snapshot.json
/// v+1.
fn publish(
    server: &NotaryClient,
    gun: &Gun,
    remote: &Remote,
    keys: &SigningKeys,
    new_key: &PrivateKey,
) -> Result<NewMetadata> {
    let now = SystemTime::now();
    let mut root = remote.root.clone();
    let still_used = |id: &str| {
        ["root", "snapshot", "timestamp"]
            .iter()
            .any(|r| roles::role_key_ids(&remote.root, r).iter().any(|k| k == id))
    };
    let new_tuf = TufKey {
        keytype: "ecdsa".into(),
        public: new_key.public().bytes().to_vec(),
    };
    let new_id = new_tuf.id();
    if let Some(map) = root["keys"].as_object_mut() {
        for id in roles::role_key_ids(&remote.root, "targets") {
            if !still_used(&id) {
                map.remove(&id);
            }
        }
        map.insert(new_id.to_string(), new_tuf.to_json());
    }
    root["roles"]["targets"]["keyids"] = Value::from(vec![new_id.to_string()]);
    let root_version = root["version"].as_u64().unwrap_or(0) + 1;
    root["version"] = root_version.into();
    root["expires"] = roles::go_time(now + roles::ROOT_EXPIRY).into();
    let root_bytes = tuf::sign(&root, &[(&keys.root.0, &keys.root.1)])?;

    let mut targets = remote.targets.clone();
    let targets_version = targets["version"].as_u64().unwrap_or(0) + 1;
    targets["version"] = targets_version.into();
    targets["expires"] = roles::go_time(now + roles::TARGETS_EXPIRY).into();
    let targets_bytes = tuf::sign(&targets, &[(&new_id, new_key)])?;

    let mut files: Vec<(&str, &[u8])> = vec![("root", &root_bytes), ("targets", &targets_bytes)];
    let snapshot_bytes = match &keys.snapshot {
        // Same entries (delegations included), new root and targets, version + 1.
        Some(k) => {
            let mut snapshot = remote.snapshot.clone();
            snapshot["meta"]["root"] = roles::file_meta(&root_bytes);
            snapshot["meta"]["targets"] = roles::file_meta(&targets_bytes);
            snapshot["version"] = (snapshot["version"].as_u64().unwrap_or(0) + 1).into();
            snapshot["expires"] = roles::go_time(now + roles::TARGETS_EXPIRY).into();
            Some(tuf::sign(&snapshot, &[(&k.id(), k)])?)
        }
        None => None,
    };
    if let Some(b) = &snapshot_bytes {
        files.push(("snapshot", b));
    }
    server.publish(gun, &files)?;
    Ok(NewMetadata {
        root: root_bytes,
        targets: targets_bytes,
        root_version,
        targets_version,
    })
}

/// What a published rotation sent.
struct NewMetadata {
    root: Vec<u8>,
    targets: Vec<u8>,
    root_version: u64,
    targets_version: u64,
}

/// The keys a published rotation signs with.
struct SigningKeys {
    /// The root key with the (certificate) key ID root.json lists it under.
    root: (KeyId, PrivateKey),
    /// The snapshot key, when it is local.
    snapshot: Option<PrivateKey>,
}

/// Decrypts the root key root.json names (and a local snapshot key, if root names one).
fn signing_keys(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    root: &Value,
    kdf: &KdfSettings,
) -> Result<SigningKeys> {
    let mut found = None;
    for listed in roles::role_key_ids(root, "root") {
        let Some(canonical) = roles::root_key(root, &listed).and_then(|k| roles::canonical_id(&k))
        else {
            continue;
        };
        if dir.key_path(&canonical).is_file() {
            found = Some((listed.parse::<KeyId>()?, canonical));
            break;
        }
    }
    let (listed, canonical) = found.ok_or_else(|| Error::KeyNotFound {
        key_id: "(the root key the server's root.json names; rotation must be signed by it)".into(),
        dir: dir.private_dir(),
    })?;
    let (_, _, root_key) = load_key(dir, &canonical, source, kdf)?;
    let snapshot = match local_key_of(dir, root, "snapshot") {
        Some(id) => Some(load_key(dir, &id, source, kdf)?.2),
        None => None,
    };
    Ok(SigningKeys {
        root: (listed, root_key),
        snapshot,
    })
}

/// The canonical ID of the only key of `role` in root.json.
fn single_key(root: &Value, role: &str) -> Result<KeyId> {
    let ids = roles::role_key_ids(root, role);
    let [only] = ids.as_slice() else {
        return Err(Error::unsupported(format!(
            "rotating a {role} role with {} keys (keytool rotates single-key roles)",
            ids.len()
        )));
    };
    roles::root_key(root, only)
        .and_then(|k| roles::canonical_id(&k))
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!("root.json names {role} key {only} but does not hold it"),
        })
}

/// The local key of `role` root.json names, if it is in `private/`.
fn local_key_of(dir: &TrustDir, root: &Value, role: &str) -> Option<KeyId> {
    roles::role_key_ids(root, role)
        .iter()
        .filter_map(|id| roles::root_key(root, id))
        .filter_map(|k| roles::canonical_id(&k))
        .find(|id| dir.key_path(id).is_file())
}

/// The smallest targets key of `gun` in `private/` (the one `init` uses).
fn local_targets_key(dir: &TrustDir, gun: &Gun) -> Result<Option<KeyId>> {
    Ok(list(dir, Some(&Role::Targets), Some(gun))?
        .into_iter()
        .filter(|k| k.location == Location::Flat && k.problem.is_none())
        .filter_map(|k| k.id.parse::<KeyId>().ok())
        .min())
}

fn write_journal(dir: &TrustDir, lock: &DirLock, name: &str, journal: &Journal) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(journal).map_err(|e| Error::Internal {
        what: format!("cannot encode the rotation journal: {e}"),
    })?;
    dir.write_journal(lock, name, &bytes)
}

fn plan(gun: &Gun, old_key: Option<KeyId>, published: bool, resumed: bool) -> Rotated {
    Rotated {
        gun: gun.clone(),
        role: Role::Targets,
        old_key,
        new_key: None,
        published,
        root_version: None,
        targets_version: None,
        retired: None,
        resumed,
        dry_run: true,
    }
}
