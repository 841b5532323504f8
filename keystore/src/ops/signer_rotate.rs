//! `rotate --signer NAME`: replace a signer's key in one repository without losing anything it
//! signed, crash-safely.
//!
//! Order of work, each step durable before the next (a journal in `keytool-journal/` records
//! where a rotation is):
//! 1. journal `begun` with the old and the new key IDs;
//! 2. the new key is written to `private/` (role NAME, as a generated signer key is);
//! 3. targets.json lists the new key instead of the old ones in `targets/NAME` and
//!    `targets/releases`, and the signer's files that would no longer verify are re-signed by the
//!    new key with their content unchanged; all of it in one POST, then verified as served;
//!    journal `published`;
//! 4. the old keys leave `private/` for `keytool-retired/` — unless a cached repository of this
//!    trust directory still names them (signer keys serve many repositories): those stay;
//! 5. journal removed.
//!
//! A rerun completes an interrupted rotation: one stopped before the new key was durable starts
//! over; one stopped before the publish publishes with the journaled new key; one stopped after
//! it (the server lists the new key) retires the old keys.

use serde::{Deserialize, Serialize};

use super::edit::{self, Edit};
use super::generate::write_new_key;
use super::remote::Remote;
use super::rotate::Step;
use super::signer::{RELEASES, check_signer_name, drop_unused_keys, published};
use super::{KdfSettings, key_uses, load_key};
use crate::error::{Argument, Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::PrivateKey;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;
use crate::tuf::TufKey;
use crate::tuf::schema::{Delegations, Key};

/// What a signer rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct SignerRotated {
    /// The repository.
    pub gun: Gun,
    /// The signer.
    pub name: String,
    /// The keys replaced (as targets.json listed them).
    pub old_keys: Vec<String>,
    /// The new key.
    pub new_key: KeyId,
    /// The signer's files re-signed by the new key (content unchanged).
    pub resigned: Vec<String>,
    /// Old key files moved to `keytool-retired/`.
    pub retired: Vec<KeyId>,
    /// Old keys kept in `private/` because other repositories still name them, with those uses.
    pub kept: Vec<(KeyId, Vec<String>)>,
    /// Whether an interrupted rotation was completed.
    pub resumed: bool,
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
    signer: String,
    old_keys: Vec<String>,
    new_key: String,
    phase: Phase,
}

/// The journal entry name of a rotation of signer `name` of `gun`.
fn journal_name(gun: &Gun, name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(gun.as_str().as_bytes());
    format!("rotate-signer-{name}-{}", &hex::encode(digest)[..16])
}

/// Rotates signer `name`'s key of `gun` (see the module documentation); `on_step` is called at
/// each step boundary.
pub fn signer_rotate(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    gun: &Gun,
    name: &str,
    on_step: &dyn Fn(Step),
    kdf: &KdfSettings,
) -> Result<SignerRotated> {
    check_signer_name(name)?;
    let _rotation = dir.rotation_lock()?;
    let role = format!("targets/{name}");
    let journal_name = journal_name(gun, name);
    let remote = published(dir, server, gun)?;
    let delegations = remote
        .targets
        .delegations
        .as_ref()
        .filter(|d| d.roles.iter().any(|r| r.name == role))
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::Signer,
            reason: format!("{gun} has no signer {name}"),
        })?;
    let listed_now: Vec<String> = delegations
        .roles
        .iter()
        .find(|r| r.name == role)
        .map(|r| r.role.keyids.clone())
        .unwrap_or_default();

    let pending = match dir.read_journal(&journal_name)? {
        Some(bytes) => {
            let journal = check_journal(&bytes, gun, name, &journal_name)?;
            let new_id: KeyId = journal.new_key.parse()?;
            if journal.phase == Phase::Published || listed_now.contains(&journal.new_key) {
                return finish(
                    dir,
                    gun,
                    name,
                    &journal_name,
                    journal,
                    Vec::new(),
                    true,
                    on_step,
                );
            }
            if dir.key_path(&new_id).is_file() {
                let key = load_key(dir, &new_id, source, kdf)?.key;
                Some((journal, key, true))
            } else {
                // Stopped before the new key was durable: nothing else happened; start over.
                dir.remove_journal(&dir.lock()?, &journal_name)?;
                None
            }
        }
        None => None,
    };
    let (journal, new_key, resumed) = match pending {
        Some(p) => p,
        None => begin(
            dir,
            source,
            name,
            &journal_name,
            gun,
            &listed_now,
            on_step,
            kdf,
        )?,
    };

    let targets_key = edit::targets_key(dir, source, &remote, gun, kdf)?;
    let snapshot_key = edit::snapshot_key(dir, source, &remote, kdf)?;
    let mut targets = remote.targets.clone();
    let new_id = new_key.id();
    let Some(changed) = targets.delegations.as_mut() else {
        return Err(Error::Internal {
            what: "delegations vanished".into(),
        });
    };
    replace_keys(changed, &role, &journal.old_keys, &new_key);
    let resign = to_resign(&remote, changed, &role);
    let mut change = Edit::new(&remote, gun);
    change.targets(targets, &targets_key)?;
    let signer = [(&new_id, &new_key)];
    for name in &resign {
        let (file, version) = edit::delegated_targets(&remote, name);
        change.delegation(name, file, version, &signer)?;
    }
    change.publish(dir, server, snapshot_key.as_ref())?;
    let journal = Journal {
        phase: Phase::Published,
        ..journal
    };
    write_journal(dir, &journal_name, &journal)?;
    on_step(Step::Published);
    finish(
        dir,
        gun,
        name,
        &journal_name,
        journal,
        resign,
        resumed,
        on_step,
    )
}

/// Starts a rotation: journal `begun`, then the new key durable in `private/`.
#[allow(clippy::too_many_arguments)]
fn begin(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    name: &str,
    journal_name: &str,
    gun: &Gun,
    listed_now: &[String],
    on_step: &dyn Fn(Step),
    kdf: &KdfSettings,
) -> Result<(Journal, PrivateKey, bool)> {
    if listed_now.is_empty() {
        return Err(Error::InvalidArgument {
            what: Argument::Signer,
            reason: format!("signer {name} of {gun} has no key to replace"),
        });
    }
    let key = PrivateKey::generate_ecdsa()?;
    let journal = Journal {
        gun: gun.to_string(),
        signer: name.to_owned(),
        old_keys: listed_now.to_vec(),
        new_key: key.id().to_string(),
        phase: Phase::Begun,
    };
    write_journal(dir, journal_name, &journal)?;
    on_step(Step::Journaled);
    write_new_key(dir, source, &key, Role::Other(name.to_owned()), None, kdf)?;
    on_step(Step::NewKeyWritten);
    Ok((journal, key, false))
}

/// Lists `new` instead of `old` in `role` and in `targets/releases` (where any old key was),
/// and drops keys no role lists any more.
fn replace_keys(delegations: &mut Delegations, role: &str, old: &[String], new: &PrivateKey) {
    let new_id = new.id().to_string();
    delegations.keys.insert(
        new_id.clone(),
        Key::from(&TufKey {
            keytype: "ecdsa".into(),
            public: new.public().bytes().to_vec(),
        }),
    );
    for r in delegations
        .roles
        .iter_mut()
        .filter(|r| r.name == role || r.name == RELEASES)
    {
        let had = r.role.keyids.iter().any(|k| old.contains(k));
        if r.name == role || had {
            r.role.keyids.retain(|k| !old.contains(k));
            if !r.role.keyids.contains(&new_id) {
                r.role.keyids.push(new_id.clone());
            }
        }
    }
    drop_unused_keys(delegations);
}

/// The signer's files (its own role and `targets/releases`) that verified before and whose
/// remaining signatures would not meet the threshold once `changed` is published.
fn to_resign(remote: &Remote, changed: &Delegations, role: &str) -> Vec<String> {
    remote
        .delegations
        .iter()
        .filter(|d| d.name == role || d.name == RELEASES)
        .filter(|d| {
            let Some(entry) = changed.roles.iter().find(|r| r.name == d.name) else {
                return false;
            };
            let still = d
                .signers
                .iter()
                .filter(|s| entry.role.keyids.contains(s))
                .count() as u64;
            still < entry.role.threshold
        })
        .map(|d| d.name.clone())
        .collect()
}

/// Retires the old keys no cached repository names any more, removes the journal.
#[allow(clippy::too_many_arguments)]
fn finish(
    dir: &TrustDir,
    gun: &Gun,
    name: &str,
    journal_name: &str,
    journal: Journal,
    resigned: Vec<String>,
    resumed: bool,
    on_step: &dyn Fn(Step),
) -> Result<SignerRotated> {
    let mut retired = Vec::new();
    let mut kept = Vec::new();
    let old: Vec<KeyId> = journal
        .old_keys
        .iter()
        .filter_map(|k| k.parse().ok())
        .collect();
    for id in old {
        if !dir.key_path(&id).is_file() {
            continue;
        }
        let uses = key_uses(dir, &id)?;
        if uses.is_empty() {
            dir.retire_key(&dir.lock()?, &id)?;
            retired.push(id);
        } else {
            kept.push((id, uses));
        }
    }
    on_step(Step::Retired);
    dir.remove_journal(&dir.lock()?, journal_name)?;
    Ok(SignerRotated {
        gun: gun.clone(),
        name: name.to_owned(),
        old_keys: journal.old_keys,
        new_key: journal.new_key.parse()?,
        resigned,
        retired,
        kept,
        resumed,
    })
}

fn write_journal(dir: &TrustDir, name: &str, journal: &Journal) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(journal).map_err(|e| Error::Internal {
        what: format!("cannot serialize a rotation journal: {e}"),
    })?;
    dir.write_journal(&dir.lock()?, name, &bytes)
}

/// A journal read from disk, checked before it is acted on: it must record a rotation of
/// exactly this signer of this GUN, with well-formed key IDs.
fn check_journal(bytes: &[u8], gun: &Gun, name: &str, file: &str) -> Result<Journal> {
    let bad = |reason: String| Error::InvalidArgument {
        what: Argument::RotationJournal,
        reason: format!("{file}: {reason}; move it away to start over"),
    };
    let journal: Journal = serde_json::from_slice(bytes).map_err(|_| bad("unreadable".into()))?;
    if journal.gun != gun.as_str() || journal.signer != name {
        return Err(bad(format!(
            "it records signer {} of {}",
            journal.signer, journal.gun
        )));
    }
    let ids_ok = journal
        .old_keys
        .iter()
        .chain([&journal.new_key])
        .all(|k| KeyId::is_valid(k));
    if !ids_ok || journal.old_keys.contains(&journal.new_key) {
        return Err(bad("its key IDs are malformed".into()));
    }
    Ok(journal)
}
