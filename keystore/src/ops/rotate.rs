//! `rotate`: replace a repository's targets, snapshot or root key without ever losing the ability
//! to sign.
//!
//! Order of work, each step durable before the next (a journal in `keytool-journal/` records
//! where a rotation is):
//! 1. journal `begun` (with the new key's ID) — 2. new key file written (a server-managed snapshot
//!    key is created on the server instead) — 3. root.json v+1 listing the new key, signed by the
//!    root key (for a root rotation: by the old and the new root key), plus the metadata the new
//!    key must sign, published in one POST; journal `published` — 4. old key retired (moved out of
//!    `private/` to `keytool-retired/`, never deleted; an old root key stays where it is, since
//!    other repositories may still use it) — 5. cache refreshed; journal removed.
//!
//! notary's own rotation deletes the old key before it uploads (spec §7.4). Here, until the
//! server has accepted the new root, the old key stays where notary and docker use it; after
//! that, the server trusts only the new key, which is already durable. A rerun (or `--resume`)
//! completes an interrupted rotation.

use crate::error::Argument;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::pool;
use super::remote::{self, Remote};
use super::{KdfSettings, list, load_key, new_passphrase, unlock_with};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::file::{self, KeyFile};
use crate::key::{PrivateKey, cert};
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::passphrase::store::{SecretStore, Slot, generate_passphrase, no_durable_store};
use crate::trust_dir::{DirLock, Location, TrustDir};
use crate::tuf::schema::{FileMeta, Key, Metadata, Root};
use crate::tuf::{self, TufKey, roles};

/// The step boundaries of a rotation, reported as they are passed (progress, and test-only
/// fault points in the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The journal records the rotation and the new key's ID.
    Journaled,
    /// The new key file is durable in `private/` (not for server-managed keys).
    NewKeyWritten,
    /// The server accepted the new metadata (published repositories only).
    Published,
    /// The old key left `private/` for `keytool-retired/` (or, for root, was kept).
    Retired,
    /// The local metadata cache holds the new metadata (published repositories only).
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
    /// The Notary server; without one only an unpublished repository's targets key can be
    /// rotated.
    pub server: Option<&'a NotaryClient>,
    /// Snapshot only: move the snapshot key to (or renew it on) the server.
    pub server_managed: bool,
    /// A key file to adopt as the new key (decrypted with its own passphrase), instead of
    /// generating one.
    pub new_key_file: Option<&'a [u8]>,
    /// Only report the plan.
    pub dry_run: bool,
    /// Called after each step boundary.
    pub on_step: &'a dyn Fn(Step),
    /// The stores passphrases are kept in (OS keyrings, the vault), in the order the passphrase
    /// chain reads them. When the old key's passphrase is stored in one of them, the new key's
    /// passphrase is managed too (see [`NewKeyPassphrase::Keep`]). Empty: never managed.
    pub stores: &'a [&'a dyn SecretStore],
    /// How the new key's passphrase is chosen.
    pub new_passphrase: NewKeyPassphrase,
}

/// How a rotation chooses the new key's passphrase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NewKeyPassphrase {
    /// Keep the old key's policy: when the old key's passphrase is stored (OS keyring, vault),
    /// the new key gets a generated passphrase stored in the same store (in a durable one when
    /// the old store is kernel keyutils: the vault or Secret Service; refused without one);
    /// an adopted key file's passphrase is stored there. Otherwise the passphrase source is
    /// asked, as for any new key. The old key's entry stays under its ID, so that the retired
    /// key can still be opened.
    #[default]
    Keep,
    /// Always ask the passphrase source (the caller chose the new passphrase's source on
    /// purpose), even when the old key's passphrase is stored.
    Ask,
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
    /// Whether the new key is held by the server.
    pub server_managed: bool,
    /// Whether the rotation was published to the server (else: local only).
    pub published: bool,
    /// The new root.json version (published rotations).
    pub root_version: Option<u64>,
    /// Where the old key went (`None` when it stays: server keys, or a root key still used).
    pub retired: Option<PathBuf>,
    /// For a root rotation: other repositories whose cached root.json still names the old root
    /// key, which therefore stays in `private/`.
    pub old_root_still_used_by: Vec<Gun>,
    /// Whether an interrupted rotation was completed.
    pub resumed: bool,
    /// Whether this was only a plan.
    pub dry_run: bool,
    /// Where the new key's generated (or adopted) passphrase was stored, when the old key's
    /// passphrase was managed ([`NewKeyPassphrase::Keep`]).
    pub new_passphrase_stored_in: Option<String>,
    /// Where the old key's stored passphrase stays (under the old key's ID, so that the retired
    /// key can still be opened; `keytool passphrase remove OLD_ID` deletes it).
    pub old_passphrase_kept_in: Option<String>,
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
    #[serde(default)]
    server_managed: bool,
    published_repository: bool,
    phase: Phase,
    /// The new key's passphrase was generated and stored by this rotation (so an attempt
    /// abandoned before the key file was durable removes that entry again).
    #[serde(default)]
    new_passphrase_generated: bool,
}

/// A generated passphrase stored for a new key whose file is not durable yet: removed again
/// when the rotation stops before the file is written (nobody could use it; the key ID is new).
struct PendingEntry<'a> {
    dir: &'a TrustDir,
    store: &'a dyn SecretStore,
    /// `None` once the key file is durable and the entry is kept.
    id: Option<KeyId>,
}

impl PendingEntry<'_> {
    /// The key file is durable: its stored passphrase is the only one it has; keep it.
    fn keep(mut self) {
        self.id = None;
    }
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        // A write that failed after the file was renamed into place (a failed directory sync)
        // may still leave the key: its passphrase then stays with it.
        if let Some(id) = &self.id
            && !self.dir.key_path(id).exists()
        {
            let _ = crate::passphrase::store::forget(id, self.store);
        }
    }
}

/// The new key of a rotation.
enum NewKey {
    /// A key in `private/` (generated or adopted).
    Local(PrivateKey),
    /// A key the server holds (server-managed snapshot).
    Server(TufKey),
}

impl NewKey {
    fn tuf(&self) -> TufKey {
        match self {
            NewKey::Local(k) => TufKey {
                keytype: "ecdsa".into(),
                public: k.public().bytes().to_vec(),
            },
            NewKey::Server(k) => k.clone(),
        }
    }

    fn id(&self) -> KeyId {
        match self {
            NewKey::Local(k) => k.id(),
            NewKey::Server(k) => k.id(),
        }
    }
}

/// The journal entry name of a rotation of `gun`'s `role` (GUNs hold `/` and `:`).
fn journal_name(gun: &Gun, role: &Role) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(gun.as_str().as_bytes());
    format!("rotate-{}-{}", role, &hex::encode(digest)[..16])
}

/// The roles keytool rotates.
const ROTATABLE: [Role; 3] = [Role::Targets, Role::Snapshot, Role::Root];

/// The repositories of the trust directory: those with a targets key in `private/` or a
/// metadata cache, sorted.
pub fn local_repositories(dir: &TrustDir) -> Result<Vec<Gun>> {
    let mut guns: Vec<Gun> = list(dir, Some(&Role::Targets), None)?
        .into_iter()
        .filter(|k| k.location == Location::Flat)
        .filter_map(|k| Gun::stored(&k.gun?).ok())
        .collect();
    let tuf = dir.root().join("tuf");
    let mut stack = vec![tuf.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == "metadata" {
                if let Some(gun) = d
                    .strip_prefix(&tuf)
                    .ok()
                    .and_then(|g| Gun::stored(g.to_str()?).ok())
                {
                    guns.push(gun);
                }
            } else {
                stack.push(path);
            }
        }
    }
    guns.sort();
    guns.dedup();
    Ok(guns)
}

/// What `rotate --all` rotates, and the published repositories it leaves alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkSelection {
    /// Repositories with a targets key in `private/` that `server` has published, or that this
    /// machine trusts a root of (included so that a server that forgot one is reported as a
    /// failure, not skipped in silence). Each is verified when it is rotated.
    pub rotate: Vec<Gun>,
    /// Published or trusted repositories without a local targets key: this machine does not sign
    /// for them (the key was removed, or another machine holds it), so a bulk rotation must not
    /// take them over. `rotate --repo GUN` still replaces a lost targets key on purpose.
    pub without_targets_key: Vec<Gun>,
}

/// The repositories of the trust directory that `server` has published, or that this machine
/// trusts a root of, split by whether a targets key of theirs is in `private/`.
pub fn published_repositories(dir: &TrustDir, server: &NotaryClient) -> Result<BulkSelection> {
    let with_key: std::collections::BTreeSet<Gun> = list(dir, Some(&Role::Targets), None)?
        .into_iter()
        .filter(|k| k.location == Location::Flat)
        .filter_map(|k| Gun::stored(&k.gun?).ok())
        .collect();
    let mut published = BulkSelection::default();
    for gun in local_repositories(dir)? {
        if remote::trusted(dir, &gun)? || server.get(&gun, "root.json")?.is_some() {
            if with_key.contains(&gun) {
                published.rotate.push(gun);
            } else {
                published.without_targets_key.push(gun);
            }
        }
    }
    Ok(published)
}

/// Whether a rotation of any role of `gun` is pending (interrupted).
pub fn pending_rotation(dir: &TrustDir, gun: &Gun) -> Result<bool> {
    for role in ROTATABLE {
        if dir.read_journal(&journal_name(gun, &role))?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Rotates the `role` key (targets, snapshot or root) of `gun`. A pending (interrupted)
/// rotation of the same role is completed first, instead of starting another.
pub fn rotate(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    role: &Role,
    options: &RotateOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Rotated> {
    role.check_spelling()?;
    if !ROTATABLE.contains(role) {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: format!(
                "{role} keys cannot be rotated (root, targets and snapshot can; timestamp keys are the server's)"
            ),
        });
    }
    if options.server_managed && *role != Role::Snapshot {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: format!("only the snapshot key can be server-managed, not the {role} key"),
        });
    }
    if options.server_managed && options.new_key_file.is_some() {
        return Err(Error::InvalidArgument {
            what: Argument::KeyFile,
            reason: "a server-managed key is made by the server; a key file cannot be adopted"
                .into(),
        });
    }
    // Rotations of different repositories run at the same time (each holds its repository's
    // lock under the shared rotation lock); a root rotation, which may retire a root key other
    // repositories share, runs alone. The directory lock itself is taken only around each write
    // and never across a callback: passphrase sources (the vault, C and Go callbacks) may need
    // it, and in a bulk rotation they answer on another thread.
    let _locks = if *role == Role::Root {
        (Some(dir.rotation_lock()?), None)
    } else {
        (None, Some(dir.repository_lock(gun)?))
    };
    let name = journal_name(gun, role);
    let remote = match options.server {
        Some(server) => remote::fetch_verified(dir, server, gun)?,
        None => None,
    };
    if let Some(r) = &remote
        && !options.dry_run
    {
        // Before this machine trusts the server's root, let alone extends it: it must carry a
        // valid signature of the local root key that will sign the new version.
        remote::signing_root_key(dir, r, gun)?;
        r.record(dir, gun)?;
    }

    let mut restarted = false;
    if let Some(bytes) = dir.read_journal(&name)? {
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|_| Error::InvalidArgument {
                what: Argument::RotationJournal,
                reason: format!("{name} is unreadable; move it away to start over"),
            })?;
        let (new_id, old) = check_journal(dir, gun, role, &name, &journal)?;
        if options.dry_run {
            return Ok(plan(
                gun,
                role,
                old,
                journal.published_repository,
                options,
                true,
            ));
        }
        let new_key_present = journal.server_managed || dir.key_path(&new_id).is_file();
        if new_key_present || journal.phase == Phase::Published {
            return resume(
                dir,
                source,
                gun,
                role,
                &name,
                journal,
                remote.as_ref(),
                options,
                kdf,
            );
        }
        // Interrupted before the new key was durable: nothing else happened but, perhaps, the
        // new key's generated passphrase stored; forget it and start over.
        if journal.new_passphrase_generated {
            for store in options.stores {
                crate::passphrase::store::forget(&new_id, *store)?;
            }
        }
        dir.remove_journal(&dir.lock()?, &name)?;
        restarted = true;
    }

    let old_key = match &remote {
        Some(r) => Some(single_key(&r.root, role.as_str())?),
        None if remote::trusted(dir, gun)? => {
            return Err(Error::InvalidArgument {
                what: Argument::Server,
                reason: format!(
                    "{gun} is published (this machine trusts its root, {}); a rotation without the server would retire the key the server still trusts. Name the server to rotate it; nothing was changed",
                    dir.metadata_dir(gun).display()
                ),
            });
        }
        None if *role == Role::Targets => local_key(dir, role, Some(gun))?,
        None => {
            return Err(Error::InvalidArgument {
                what: Argument::Repository,
                reason: format!(
                    "{gun} is not published{}; only its targets key can be rotated locally",
                    if options.server.is_none() {
                        " (no server was named)"
                    } else {
                        ""
                    }
                ),
            });
        }
    };
    if remote.is_none() && old_key.is_none() {
        return Err(Error::KeyNotFound {
            key_id: format!("(any targets key of {gun})"),
            dir: dir.private_dir(),
        });
    }
    if options.dry_run {
        return Ok(plan(
            gun,
            role,
            old_key,
            remote.is_some(),
            options,
            restarted,
        ));
    }

    // Everything that can fail for want of a passphrase happens before any change.
    let store = if options.server_managed {
        None
    } else {
        managed_store(options, old_key.as_ref())?
    };
    let signers = match &remote {
        Some(r) => Some(signing_keys(dir, source, r, gun, role, kdf)?),
        None => None,
    };
    let mut pending_entry = None;
    let (new_key, pem) = match (options.server_managed, options.new_key_file) {
        (true, _) => {
            let server = options.server.ok_or_else(|| Error::Internal {
                what: "a published repository without a server".into(),
            })?;
            (
                NewKey::Server(server.rotate_server_key(gun, "snapshot")?),
                None,
            )
        }
        (false, Some(bytes)) => {
            let (key, pem) = adopt(source, bytes, role, gun, kdf, store.as_ref())?;
            (NewKey::Local(key), Some(pem))
        }
        (false, None) => {
            let key = PrivateKey::generate_ecdsa()?;
            let key_gun = role.carries_gun().then_some(gun);
            let passphrase = match &store {
                Some(m) => {
                    // Stored before the key file is written (as --generate-passphrase does), so
                    // that no moment leaves a key whose passphrase nobody has.
                    let p = generate_passphrase()?;
                    m.store.put(&key.id(), role, key_gun, Slot::Current, &p)?;
                    pending_entry = Some(PendingEntry {
                        dir,
                        store: m.store,
                        id: Some(key.id()),
                    });
                    p
                }
                None => new_passphrase(source, &key.id(), role, key_gun, false)?.passphrase,
            };
            let pem = file::encode(&key, role, key_gun, &passphrase, kdf.iterations)?;
            (NewKey::Local(key), Some(pem))
        }
    };
    let managed = store.map(|m| (m.store, m.old_in, m.new_in));
    let new_id = new_key.id();
    if old_key.as_ref() == Some(&new_id) {
        return Err(Error::InvalidArgument {
            what: Argument::KeyFile,
            reason: format!("{new_id} is already the {role} key of {gun}"),
        });
    }

    let mut journal = Journal {
        gun: gun.to_string(),
        role: role.to_string(),
        old_key: old_key.as_ref().map(KeyId::to_string),
        new_key: new_id.to_string(),
        server_managed: options.server_managed,
        published_repository: remote.is_some(),
        phase: Phase::Begun,
        new_passphrase_generated: pending_entry.is_some(),
    };
    {
        // A rotation that started while the passphrases were asked for was serialised by the
        // repository's lock; a journal here now is a bug or a hand edit: stop.
        let lock = dir.lock()?;
        if dir.read_journal(&name)?.is_some() {
            return Err(Error::Internal {
                what: format!("a rotation journal {name} appeared during the rotation"),
            });
        }
        write_journal(dir, &lock, &name, &journal)?;
    }
    (options.on_step)(Step::Journaled);
    if let Some(pem) = &pem {
        dir.write_key(&dir.lock()?, &new_id, pem, false)?;
        if let Some(entry) = pending_entry.take() {
            entry.keep();
        }
        (options.on_step)(Step::NewKeyWritten);
    }

    let mut done = Rotated {
        gun: gun.clone(),
        role: role.clone(),
        old_key: old_key.clone(),
        new_key: Some(new_id),
        server_managed: options.server_managed,
        published: remote.is_some(),
        root_version: None,
        retired: None,
        old_root_still_used_by: Vec::new(),
        resumed: restarted,
        dry_run: false,
        new_passphrase_stored_in: managed.as_ref().map(|(_, _, new)| new.clone()),
        old_passphrase_kept_in: managed.as_ref().map(|(_, old, _)| old.clone()),
    };
    let mut sent = None;
    if let (Some(r), Some(server), Some(signers)) = (&remote, options.server, &signers) {
        let metadata = publish(server, gun, role, r, signers, &new_key)?;
        journal.phase = Phase::Published;
        write_journal(dir, &dir.lock()?, &name, &journal)?;
        (options.on_step)(Step::Published);
        done.root_version = Some(metadata.root_version);
        sent = Some(metadata);
    }
    finish(
        dir,
        &name,
        old_key.as_ref(),
        sent.as_ref(),
        options,
        &mut done,
    )?;
    Ok(done)
}

/// How many repositories a bulk rotation works on at once unless told otherwise. A rotation is
/// mostly waiting: five round trips to the Notary server (which in turn waits on its signer and
/// database) and a dozen fsyncs, against about 5 ms of CPU (one key generated, two keys
/// decrypted, three signatures). Eight keep a server on the same small machine busy without
/// queueing much at it; more than that mostly lengthens each request.
pub const DEFAULT_JOBS: usize = 8;

/// Rotates the `role` key of every repository of `guns`, as [`rotate`] does each, with at most
/// `jobs` repositories at a time (`1`: one after the other on the calling thread, as in a loop
/// over [`rotate`]). Root rotations always run one at a time: each may retire a root key the
/// others share. One failure does not stop the others.
///
/// `source`, the stores of `options` and its `on_step` are used only on the calling thread,
/// one request at a time (the workers' requests wait for their turn), so they need not be
/// thread-safe, a prompt is never shown twice at once, and a passphrase obtained once is reused
/// as in a serial run. `options.server` is shared by all workers (one HTTPS agent, connections
/// reused). `on_done(index, outcome)` is called on the calling thread as each repository
/// finishes (in completion order); the returned outcomes are in the order of `guns`.
///
/// Fails as a whole only when no worker thread can be started.
#[allow(clippy::too_many_arguments)]
pub fn rotate_many(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    guns: &[Gun],
    role: &Role,
    options: &RotateOptions<'_>,
    jobs: std::num::NonZeroUsize,
    kdf: &KdfSettings,
    on_done: &mut dyn FnMut(usize, &Result<Rotated>),
) -> Result<Vec<Result<Rotated>>> {
    if jobs.get() == 1 || *role == Role::Root || guns.len() < 2 {
        let mut outcomes = Vec::with_capacity(guns.len());
        for (i, gun) in guns.iter().enumerate() {
            let outcome = rotate(dir, source, gun, role, options, kdf);
            on_done(i, &outcome);
            outcomes.push(outcome);
        }
        return Ok(outcomes);
    }
    let shared = (
        options.server,
        options.server_managed,
        options.new_key_file,
        options.dry_run,
        options.new_passphrase,
        options.stores.len(),
    );
    let work = |gun: &Gun, relay: &pool::Relay<'_>| -> Result<Rotated> {
        let (server, server_managed, new_key_file, dry_run, new_passphrase, stores) = shared;
        let relayed: Vec<pool::RelayStore<'_, '_>> = (0..stores).map(|i| relay.store(i)).collect();
        let stores: Vec<&dyn SecretStore> = relayed.iter().map(|s| s as &dyn SecretStore).collect();
        let on_step = |step: Step| relay.step(step);
        let options = RotateOptions {
            server,
            server_managed,
            new_key_file,
            dry_run,
            on_step: &on_step,
            stores: &stores,
            new_passphrase,
        };
        rotate(dir, &relay.source(), gun, role, &options, kdf)
    };
    let desk = pool::Desk {
        source,
        stores: options.stores,
        on_step: options.on_step,
    };
    // The workers hold the rotation lock (shared); a passphrase callback that calls back into a
    // rotation of this trust directory fails instead of waiting for them forever.
    let _held = dir.mark_rotation_held();
    pool::run(guns, jobs.get(), &desk, &work, on_done)
}

#[allow(clippy::too_many_arguments)]
fn resume(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    role: &Role,
    name: &str,
    mut journal: Journal,
    remote: Option<&Remote>,
    options: &RotateOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Rotated> {
    let (new_id, old_key) = check_journal(dir, gun, role, name, &journal)?;
    let mut done = Rotated {
        gun: gun.clone(),
        role: role.clone(),
        old_key: old_key.clone(),
        new_key: Some(new_id.clone()),
        server_managed: journal.server_managed,
        published: journal.published_repository,
        root_version: None,
        retired: None,
        old_root_still_used_by: Vec::new(),
        resumed: true,
        dry_run: false,
        new_passphrase_stored_in: None,
        old_passphrase_kept_in: None,
    };
    if !journal.server_managed && !dir.key_path(&new_id).is_file() {
        return Err(Error::RotatedKeyMissing {
            key_id: new_id,
            dir: dir.private_dir(),
        });
    }
    if !journal.published_repository {
        finish(dir, name, old_key.as_ref(), None, options, &mut done)?;
        return Ok(done);
    }
    let (Some(server), Some(remote)) = (options.server, remote) else {
        return Err(Error::InvalidArgument {
            what: Argument::Server,
            reason: format!(
                "the interrupted rotation of {gun}'s {role} key was being published; name the server to complete it"
            ),
        });
    };
    let trusted = single_key(&remote.root, role.as_str())?;
    if trusted == new_id {
        // The server already trusts the new key: only the local clean-up is left.
        let cached = NewMetadata {
            files: vec![("root".into(), remote.root_bytes.clone())],
            root_version: remote.root.version,
        };
        finish(
            dir,
            name,
            old_key.as_ref(),
            Some(&cached),
            options,
            &mut done,
        )?;
        return Ok(done);
    }
    if Some(&trusted) != old_key.as_ref() {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "the server now expects {role} key {trusted}, neither the old nor the new key of the interrupted rotation; nothing was changed"
            ),
        });
    }
    // The server still trusts the old key: publish again with the new key.
    let signers = signing_keys(dir, source, remote, gun, role, kdf)?;
    let new_key = if journal.server_managed {
        // Ask the server again; the key it made before was never published.
        let key = server.rotate_server_key(gun, "snapshot")?;
        journal.new_key = key.id().to_string();
        done.new_key = Some(key.id());
        write_journal(dir, &dir.lock()?, name, &journal)?;
        NewKey::Server(key)
    } else {
        NewKey::Local(load_key(dir, &new_id, source, kdf)?.key)
    };
    let sent = publish(server, gun, role, remote, &signers, &new_key)?;
    journal.phase = Phase::Published;
    write_journal(dir, &dir.lock()?, name, &journal)?;
    (options.on_step)(Step::Published);
    done.root_version = Some(sent.root_version);
    finish(dir, name, old_key.as_ref(), Some(&sent), options, &mut done)?;
    Ok(done)
}

/// Steps 4 and 5: retire the old key, refresh the cache, close the journal. An old root key
/// is retired only when no other repository's cached root.json names it (root keys are shared
/// by repositories); otherwise it stays and the result lists who still uses it.
fn finish(
    dir: &TrustDir,
    name: &str,
    old_key: Option<&KeyId>,
    sent: Option<&NewMetadata>,
    options: &RotateOptions<'_>,
    done: &mut Rotated,
) -> Result<()> {
    // Each step under its own short lock, so that no callback runs while the directory lock is
    // held (the journal keeps the steps in order across a crash in between).
    if let Some(old) = old_key {
        let lock = &dir.lock()?;
        if done.role == Role::Root {
            done.old_root_still_used_by = repositories_using_root(dir, &done.gun, old)?;
        }
        let present =
            dir.key_path(old).is_file() || dir.retired_dir().join(format!("{old}.key")).is_file();
        if present && done.old_root_still_used_by.is_empty() {
            done.retired = Some(dir.retire_key(lock, old)?);
        }
    }
    (options.on_step)(Step::Retired);
    if let Some(sent) = sent {
        {
            let lock = &dir.lock()?;
            for (role, bytes) in &sent.files {
                dir.write_metadata(lock, &done.gun, role, bytes)?;
            }
        }
        (options.on_step)(Step::CacheRefreshed);
    }
    dir.remove_journal(&dir.lock()?, name)
}

/// Other repositories whose cached root.json names `root_key` as their root key.
fn repositories_using_root(dir: &TrustDir, except: &Gun, root_key: &KeyId) -> Result<Vec<Gun>> {
    let mut users = Vec::new();
    for gun in local_repositories(dir)? {
        if &gun == except {
            continue;
        }
        let Ok(bytes) = std::fs::read(dir.metadata_dir(&gun).join("root.json")) else {
            continue;
        };
        let Ok(root) = tuf::Envelope::parse(&bytes).and_then(|e| e.typed::<Root>()) else {
            continue;
        };
        let uses = root.canonical_ids("root").contains(root_key);
        if uses {
            users.push(gun);
        }
    }
    Ok(users)
}

/// What a published rotation sent.
struct NewMetadata {
    /// `(role, bytes)` of every file published.
    files: Vec<(String, Vec<u8>)>,
    root_version: u64,
}

/// Builds and publishes root.json v+1 naming the new key (signed by the root key; for a root
/// rotation by the old and the new root key), targets.json v+1 signed by a new targets key, and
/// snapshot.json v+1 whenever the snapshot key is (or becomes) local.
fn publish(
    server: &NotaryClient,
    gun: &Gun,
    role: &Role,
    remote: &Remote,
    signers: &SigningKeys,
    new_key: &NewKey,
) -> Result<NewMetadata> {
    let now = SystemTime::now();
    let mut root = remote.root.clone();
    let new_listed: TufKey = match (role, new_key) {
        (Role::Root, NewKey::Local(k)) => TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert::root_certificate(k, gun, now)?.into_bytes(),
        },
        _ => new_key.tuf(),
    };
    let new_listed_id = new_listed.id();
    // notary keeps old root certificates for good; keys no other role uses go.
    if *role != Role::Root {
        let still_used: Vec<&String> = ["root", "targets", "snapshot", "timestamp"]
            .into_iter()
            .filter(|r| *r != role.as_str())
            .flat_map(|r| remote.root.role_key_ids(r))
            .collect();
        for id in remote.root.role_key_ids(role.as_str()) {
            if !still_used.contains(&id) {
                root.keys.remove(id);
            }
        }
    }
    root.keys
        .insert(new_listed_id.to_string(), Key::from(&new_listed));
    root.roles
        .get_mut(role.as_str())
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!("the server's root.json of {gun} has no {role} role"),
        })?
        .keyids = vec![new_listed_id.to_string()];
    let root_version = next_version(&remote.root)?;
    root.version = root_version;
    root.expires = roles::go_time(now + roles::ROOT_EXPIRY);
    let (old_root_id, old_root_key) = &signers.root;
    let mut root_signers: Vec<(&KeyId, &PrivateKey)> = vec![(old_root_id, old_root_key)];
    if let (Role::Root, NewKey::Local(k)) = (role, new_key) {
        // Both the previous and the new root role sign, so clients holding either accept it.
        root_signers.push((&new_listed_id, k));
    }
    let root_bytes = tuf::sign(&root, &root_signers)?;
    let mut files = vec![("root".to_owned(), root_bytes)];

    let mut snapshot_meta = remote.snapshot.meta.clone();
    snapshot_meta.insert("root".into(), FileMeta::of(&files[0].1));
    if let (Role::Targets, NewKey::Local(k)) = (role, new_key) {
        let mut targets = remote.targets.clone();
        targets.version = next_version(&remote.targets)?;
        targets.expires = roles::go_time(now + roles::TARGETS_EXPIRY);
        let bytes = tuf::sign(&targets, &[(&k.id(), k)])?;
        snapshot_meta.insert("targets".into(), FileMeta::of(&bytes));
        files.push(("targets".to_owned(), bytes));
    }
    // The snapshot key that signs from now on, if it is local.
    let snapshot_signer = match (role, new_key) {
        (Role::Snapshot, NewKey::Local(k)) => Some(k),
        (Role::Snapshot, NewKey::Server(_)) => None,
        _ => signers.snapshot.as_ref(),
    };
    if let Some(k) = snapshot_signer {
        let mut snapshot = remote.snapshot.clone();
        snapshot.meta = snapshot_meta;
        snapshot.version = next_version(&remote.snapshot)?;
        snapshot.expires = roles::go_time(now + roles::TARGETS_EXPIRY);
        files.push((
            "snapshot".to_owned(),
            tuf::sign(&snapshot, &[(&k.id(), k)])?,
        ));
    }
    let parts: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(r, b)| (r.as_str(), b.as_slice()))
        .collect();
    server.publish(gun, &parts)?;
    Ok(NewMetadata {
        files,
        root_version,
    })
}

/// The keys a published rotation signs with.
struct SigningKeys {
    /// The current root key with the (certificate) key ID root.json lists it under.
    root: (KeyId, PrivateKey),
    /// The current snapshot key, when it is local and another role is rotated.
    snapshot: Option<PrivateKey>,
}

/// Decrypts the root key the verified root.json names and was signed by (and a local snapshot
/// key, unless the snapshot key itself is being replaced).
fn signing_keys(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    remote: &Remote,
    gun: &Gun,
    role: &Role,
    kdf: &KdfSettings,
) -> Result<SigningKeys> {
    let (listed, canonical) = remote::signing_root_key(dir, remote, gun)?;
    let root_key = load_key(dir, &canonical, source, kdf)?.key;
    let snapshot = match local_key_of(dir, &remote.root, "snapshot") {
        Some(id) if *role != Role::Snapshot => Some(load_key(dir, &id, source, kdf)?.key),
        _ => None,
    };
    Ok(SigningKeys {
        root: (listed, root_key),
        snapshot,
    })
}

/// The version after the one `signed` carries, refusing one that cannot be incremented.
fn next_version<T: Metadata>(signed: &T) -> Result<u64> {
    signed
        .version()
        .checked_add(1)
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!(
                "the server's {}.json has a version that cannot be incremented",
                T::ROLE
            ),
        })
}

/// Validates a rotation journal (data from disk) before acting on it: it must record a rotation
/// of exactly this GUN and role, with well-formed key IDs, and the key it would retire must be a
/// `role` key of `gun`. Returns the new and the old key IDs.
fn check_journal(
    dir: &TrustDir,
    gun: &Gun,
    role: &Role,
    name: &str,
    journal: &Journal,
) -> Result<(KeyId, Option<KeyId>)> {
    let refuse = |why: String| Error::InvalidArgument {
        what: Argument::RotationJournal,
        reason: format!(
            "{name}: {why}; nothing was changed. Move {} away to start over",
            dir.root()
                .join(crate::trust_dir::JOURNAL_DIR)
                .join(format!("{name}.json"))
                .display()
        ),
    };
    if journal.gun != gun.as_str() || journal.role != role.as_str() {
        return Err(refuse(format!(
            "it records a rotation of the {} key of {}, not of the {role} key of {gun}",
            crate::ids::clip(&journal.role),
            crate::ids::clip(&journal.gun)
        )));
    }
    let new_id: KeyId = journal
        .new_key
        .parse()
        .map_err(|_| refuse("its new key ID is malformed".into()))?;
    let old: Option<KeyId> = journal
        .old_key
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| refuse("its old key ID is malformed".into()))?;
    if let Some(old) = &old {
        if *old == new_id {
            return Err(refuse("its old and new keys are the same".into()));
        }
        let retired = dir.retired_dir().join(format!("{old}.key"));
        let file = [dir.key_path(old), retired]
            .into_iter()
            .find_map(|p| crate::trust_dir::read_no_follow(&p, crate::trust_dir::MAX_KEY_FILE).ok())
            .map(|b| KeyFile::parse(&b));
        if let Some(file) = file {
            let file = file.map_err(|_| refuse(format!("key file {old} is unreadable")))?;
            let gun_ok = !role.carries_gun() || file.gun() == Some(gun);
            if file.role() != role || !gun_ok {
                return Err(refuse(format!(
                    "key {old}, which it would retire, is a {} key{}, not the {role} key of {gun}",
                    file.role(),
                    file.gun().map(|g| format!(" of {g}")).unwrap_or_default()
                )));
            }
        }
    }
    Ok((new_id, old))
}

/// Decrypts a key file to adopt (with its own passphrase, asked for under the target role), and
/// the PEM to store: the file as it is when docker and notary can read it, else re-encrypted.
/// The store a managed rotation keeps the new key's passphrase in.
struct Managed<'a> {
    store: &'a dyn SecretStore,
    /// Where the old key's passphrase is.
    old_in: String,
    /// Where the new key's goes.
    new_in: String,
}

/// With [`NewKeyPassphrase::Keep`]: the store that holds the old key's passphrase, or, when that
/// one is not durable (kernel keyutils), the first durable store; `None` when the old key's
/// passphrase is not stored. Refused when it is stored but no durable store can be used.
fn managed_store<'a>(
    options: &RotateOptions<'a>,
    old_key: Option<&KeyId>,
) -> Result<Option<Managed<'a>>> {
    let Some(old) = old_key else {
        return Ok(None);
    };
    if options.new_passphrase == NewKeyPassphrase::Ask {
        return Ok(None);
    }
    let mut holder = None;
    for store in options.stores {
        if store.contains(old, Slot::Current)? || store.contains(old, Slot::Pending)? {
            holder = Some(*store);
            break;
        }
    }
    let Some(holder) = holder else {
        return Ok(None);
    };
    let target = if holder.durable() {
        Some(holder)
    } else {
        options
            .stores
            .iter()
            .copied()
            .find(|s| s.durable() && s.available().is_ok())
    };
    let Some(target) = target else {
        let vault = options
            .stores
            .iter()
            .map(|s| s.describe())
            .find(|d| d.starts_with("the vault "))
            .map(|d| std::path::PathBuf::from(d.trim_start_matches("the vault ")))
            .unwrap_or_default();
        return Err(no_durable_store(&[holder.describe()], &vault));
    };
    Ok(Some(Managed {
        store: target,
        old_in: holder.describe(),
        new_in: target.describe(),
    }))
}

fn adopt(
    source: &dyn PassphraseSource,
    bytes: &[u8],
    role: &Role,
    gun: &Gun,
    kdf: &KdfSettings,
    managed: Option<&Managed<'_>>,
) -> Result<(PrivateKey, String)> {
    let key_file = KeyFile::parse(bytes)?;
    let (key, supplied) = unlock_with(&key_file, None, source, kdf)?;
    if key.algorithm() != crate::key::Algorithm::Ecdsa {
        return Err(Error::unsupported(format!(
            "adopting a {} key (keytool signs with ECDSA P-256 keys)",
            key.algorithm()
        )));
    }
    let key_gun = role.carries_gun().then_some(gun);
    let pem = match (supplied, managed) {
        (Some(s), Some(m)) => {
            // The adopted key keeps its passphrase; the store now keeps it too.
            m.store
                .put(&key.id(), role, key_gun, Slot::Current, &s.passphrase)?;
            if key_file.notary_readable() {
                key_file.rewrap(role, key_gun)
            } else {
                file::encode(&key, role, key_gun, &s.passphrase, kdf.iterations)?
            }
        }
        (Some(_), None) if key_file.notary_readable() => key_file.rewrap(role, key_gun),
        (Some(s), None) => file::encode(&key, role, key_gun, &s.passphrase, kdf.iterations)?,
        (None, Some(m)) => {
            let p = generate_passphrase()?;
            m.store.put(&key.id(), role, key_gun, Slot::Current, &p)?;
            file::encode(&key, role, key_gun, &p, kdf.iterations)?
        }
        (None, None) => {
            let s = new_passphrase(source, &key.id(), role, key_gun, false)?;
            file::encode(&key, role, key_gun, &s.passphrase, kdf.iterations)?
        }
    };
    Ok((key, pem))
}

/// The canonical ID of the only key of `role` in root.json.
fn single_key(root: &Root, role: &str) -> Result<KeyId> {
    let ids = root.role_key_ids(role);
    let [only] = ids else {
        return Err(Error::unsupported(format!(
            "rotating a {role} role with {} keys (keytool rotates single-key roles)",
            ids.len()
        )));
    };
    root.key(only)
        .and_then(|k| roles::canonical_id(&k))
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!("root.json names {role} key {only} but does not hold it"),
        })
}

/// The local key of `role` root.json names, if it is in `private/`.
fn local_key_of(dir: &TrustDir, root: &Root, role: &str) -> Option<KeyId> {
    root.canonical_ids(role)
        .into_iter()
        .find(|id| dir.key_path(id).is_file())
}

/// The smallest key of `role` (and `gun`) in `private/` (the one `init` uses).
fn local_key(dir: &TrustDir, role: &Role, gun: Option<&Gun>) -> Result<Option<KeyId>> {
    Ok(list(dir, Some(role), gun)?
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

fn plan(
    gun: &Gun,
    role: &Role,
    old_key: Option<KeyId>,
    published: bool,
    options: &RotateOptions<'_>,
    resumed: bool,
) -> Rotated {
    Rotated {
        gun: gun.clone(),
        role: role.clone(),
        old_key,
        new_key: None,
        server_managed: options.server_managed,
        published,
        root_version: None,
        retired: None,
        old_root_still_used_by: Vec::new(),
        resumed,
        dry_run: true,
        new_passphrase_stored_in: None,
        old_passphrase_kept_in: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_server_never_overflow() {
        let at = |v: serde_json::Value| {
            let signed = serde_json::json!({
                "_type": "Snapshot", "expires": "2030-01-01T00:00:00Z", "meta": {}, "version": v,
            });
            next_version(&crate::tuf::schema::Snapshot::from_signed(
                &signed.to_string(),
            )?)
        };
        assert_eq!(at(1.into()).expect("increments"), 2);
        assert!(at(u64::MAX.into()).is_err(), "u64::MAX + 1 is refused");
        for bad in [(-1).into(), "7".into(), serde_json::Value::Null] {
            let err = at(bad).expect_err("not a version");
            assert!(err.to_string().contains("snapshot.json"), "{err}");
        }
    }
}
