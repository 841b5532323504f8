//! Signers, as `docker trust signer add/remove` makes them: a signer NAME is the delegation
//! `targets/NAME` plus its keys in `targets/releases` (the role `docker pull` reads first), both
//! with paths `[""]` and threshold 1. Built on the verified repository only; targets.json is
//! re-signed with the local targets key and published.
//!
//! A generated signer key is durable in `private/` (role NAME, no GUN, as `docker trust key
//! generate` writes it) before the server is told to trust it. Removing a signer never deletes
//! its key: other repositories may use it, and it still opens what it signed.

use serde::Serialize;

use super::edit::{self, Edit};
use super::remote::{self, Remote};
use super::{Generated, KdfSettings, generate::generate_key};
use crate::error::{Argument, Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::{Algorithm, PublicKey, pem};
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;
use crate::tuf::TufKey;
use crate::tuf::schema::{DelegatedRole, Delegations, Extra, Key, RoleEntry};

/// The delegation every signer's keys are added to; `docker pull` reads it before targets.
pub const RELEASES: &str = "targets/releases";

/// Where a new signer's key comes from.
pub enum SignerKey<'a> {
    /// A PEM public key (`PUBLIC KEY`, as `docker trust key generate` writes NAME.pub).
    Public(&'a [u8]),
    /// A new key generated here (role NAME, passphrase from the source).
    Generate,
}

/// One key of a signer.
#[derive(Clone, Debug, Serialize)]
pub struct SignerKeyInfo {
    /// The key ID (as targets.json lists it, and `docker trust inspect` shows it).
    pub id: String,
    /// Whether this machine holds the private key.
    pub local: bool,
}

/// A signer of a repository.
#[derive(Clone, Debug, Serialize)]
pub struct SignerInfo {
    /// The signer's name (`alice` for `targets/alice`).
    pub name: String,
    /// Its keys.
    pub keys: Vec<SignerKeyInfo>,
    /// How many of its keys must sign.
    pub threshold: u64,
    /// Whether every key of the signer is also a key of `targets/releases` (so `docker trust
    /// sign` by it changes what `docker pull` pulls).
    pub can_release: bool,
    /// How many tags its own role (`targets/NAME`) signs.
    pub signed_tags: usize,
}

/// A repository's signers.
#[derive(Clone, Debug, Serialize)]
pub struct Signers {
    /// The repository.
    pub gun: Gun,
    /// The signers, by name.
    pub signers: Vec<SignerInfo>,
    /// The keys of `targets/releases` (empty when there is no such delegation).
    pub release_keys: Vec<SignerKeyInfo>,
    /// How many tags `targets/releases` signs.
    pub released_tags: usize,
    /// Signer roles whose file no threshold of their current keys signed: their tags do not
    /// verify (docker and notary skip them) until they are signed again.
    pub unverified: Vec<String>,
}

/// What adding a signer did.
#[derive(Clone, Debug, Serialize)]
pub struct SignerAdded {
    /// The repository.
    pub gun: Gun,
    /// The signer.
    pub name: String,
    /// The key added.
    pub key_id: KeyId,
    /// The key file, when the key was generated here.
    pub generated: Option<Generated>,
    /// `true` when the signer already had this key (nothing was published).
    pub already: bool,
    /// targets.json's version now.
    pub targets_version: u64,
}

/// What removing a signer did.
#[derive(Clone, Debug, Serialize)]
pub struct SignerRemoved {
    /// The repository.
    pub gun: Gun,
    /// The signer.
    pub name: String,
    /// The signer's keys, no longer trusted for this repository (their files stay).
    pub keys: Vec<String>,
    /// Tags that `targets/releases` signs but that no remaining key signed: `docker pull`
    /// refuses them until someone signs them again.
    pub orphaned_tags: usize,
    /// targets.json's version now.
    pub targets_version: u64,
}

/// Checks a signer name as docker does: lowercase letters, digits, `_` and `-`, starting with
/// a letter or digit; `releases` is reserved.
pub fn check_signer_name(name: &str) -> Result<()> {
    let bad = |reason: String| Error::InvalidArgument {
        what: Argument::Signer,
        reason,
    };
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !first_ok || !rest_ok || name.len() > 64 {
        return Err(bad(format!(
            "{name:?} is not a signer name: it must start with a lowercase letter or digit and hold only lowercase letters, digits, '-' and '_' (at most 64), as docker requires"
        )));
    }
    if name == "releases" {
        return Err(bad(
            "releases is reserved: it is the role every signer's keys are added to".into(),
        ));
    }
    Ok(())
}

/// Reads a signer's public key: a PEM `PUBLIC KEY` block holding a P-256 key (headers such as
/// `role: alice` are allowed, as docker writes them).
pub fn parse_public_key(pem_bytes: &[u8]) -> Result<PublicKey> {
    use p256::pkcs8::DecodePublicKey as _;
    let invalid = |reason: &str| Error::InvalidArgument {
        what: Argument::KeyFile,
        reason: format!("not a signer public key: {reason}"),
    };
    let block = pem::decode_first(pem_bytes).map_err(|_| invalid("no PEM block"))?;
    if block.label != "PUBLIC KEY" {
        return Err(invalid(&format!(
            "a {} block; a PUBLIC KEY block (an ECDSA P-256 key) is needed",
            block.label
        )));
    }
    p256::ecdsa::VerifyingKey::from_public_key_der(&block.der)
        .map_err(|_| invalid("only ECDSA P-256 public keys are supported"))?;
    Ok(PublicKey::new(Algorithm::Ecdsa, block.der.to_vec()))
}

/// The published repository `gun`, verified, or an error saying it must be published first.
pub(crate) fn published(dir: &TrustDir, server: &NotaryClient, gun: &Gun) -> Result<Remote> {
    remote::fetch(dir, server, gun)?.ok_or_else(|| Error::InvalidArgument {
        what: Argument::Repository,
        reason: format!(
            "{gun} is not published on {}; publish it with its root and targets keys first",
            server.url()
        ),
    })
}

/// Lists `gun`'s signers as the verified repository names them.
pub fn signer_list(dir: &TrustDir, server: &NotaryClient, gun: &Gun) -> Result<Signers> {
    let remote = published(dir, server, gun)?;
    Ok(signers_of(dir, &remote, gun))
}

fn signers_of(dir: &TrustDir, remote: &Remote, gun: &Gun) -> Signers {
    let empty = Delegations {
        keys: Default::default(),
        roles: Vec::new(),
        extra: Extra::new(),
    };
    let delegations = remote.targets.delegations.as_ref().unwrap_or(&empty);
    let keys_of = |name: &str| -> Vec<SignerKeyInfo> {
        let local: Vec<KeyId> = edit::local_delegation_keys(dir, delegations, name)
            .into_iter()
            .map(|(listed, _)| listed)
            .collect();
        delegations
            .roles
            .iter()
            .find(|r| r.name == name)
            .map(|r| {
                r.role
                    .keyids
                    .iter()
                    .map(|id| SignerKeyInfo {
                        id: id.clone(),
                        local: local.iter().any(|l| l.as_str() == id),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let tags = |name: &str| {
        remote
            .delegations
            .iter()
            .find(|d| d.name == name)
            .map_or(0, |d| d.targets.targets.len())
    };
    let release_keys = keys_of(RELEASES);
    let signers = delegations
        .roles
        .iter()
        .filter(|r| crate::tuf::schema::is_signer_role(&r.name) && r.name != RELEASES)
        .map(|r| {
            let keys = keys_of(&r.name);
            SignerInfo {
                name: r.name.trim_start_matches("targets/").to_owned(),
                can_release: !keys.is_empty()
                    && keys
                        .iter()
                        .all(|k| release_keys.iter().any(|rk| rk.id == k.id)),
                keys,
                threshold: r.role.threshold,
                signed_tags: tags(&r.name),
            }
        })
        .collect();
    Signers {
        gun: gun.clone(),
        signers,
        released_tags: tags(RELEASES),
        release_keys,
        unverified: remote.unverified.iter().map(|u| u.reason.clone()).collect(),
    }
}

/// Adds signer `name` to `gun` with `key` (docker's `trust signer add`): the key joins
/// `targets/<name>` and `targets/releases` (each created with paths `[""]` and threshold 1 if
/// missing). Adding a key the signer already has changes nothing.
pub fn signer_add(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    gun: &Gun,
    name: &str,
    key: SignerKey<'_>,
    kdf: &KdfSettings,
) -> Result<SignerAdded> {
    check_signer_name(name)?;
    let role_name = format!("targets/{name}");
    let remote = published(dir, server, gun)?;
    let targets_key = edit::targets_key(dir, source, &remote, gun, kdf)?;
    let snapshot_key = edit::snapshot_key(dir, source, &remote, kdf)?;
    // The new key is durable before any server is told to trust it.
    let (public, generated) = match key {
        SignerKey::Public(pem) => (parse_public_key(pem)?, None),
        SignerKey::Generate => {
            let (made, private) =
                generate_key(dir, source, Role::Other(name.to_owned()), None, kdf)?;
            (private.public().clone(), Some(made))
        }
    };
    let key_id = public.key_id();
    let mut targets = remote.targets.clone();
    let delegations = targets.delegations.get_or_insert_with(|| Delegations {
        keys: Default::default(),
        roles: Vec::new(),
        extra: Extra::new(),
    });
    let listed = |d: &Delegations, role: &str| {
        d.roles
            .iter()
            .any(|r| r.name == role && r.role.keyids.iter().any(|k| k == key_id.as_str()))
    };
    if listed(delegations, &role_name) && listed(delegations, RELEASES) {
        return Ok(SignerAdded {
            gun: gun.clone(),
            name: name.to_owned(),
            key_id,
            generated,
            already: true,
            targets_version: remote.targets.version,
        });
    }
    delegations.keys.insert(
        key_id.to_string(),
        Key::from(&TufKey {
            keytype: public.algorithm().keytype().into(),
            public: public.bytes().to_vec(),
        }),
    );
    for role in [role_name.as_str(), RELEASES] {
        add_key_to_role(delegations, role, &key_id);
    }
    let mut change = Edit::new(&remote, gun);
    change.targets(targets, &targets_key)?;
    let now = change.publish(dir, server, snapshot_key.as_ref())?;
    Ok(SignerAdded {
        gun: gun.clone(),
        name: name.to_owned(),
        key_id,
        generated,
        already: false,
        targets_version: now.targets.version,
    })
}

fn add_key_to_role(delegations: &mut Delegations, role: &str, key_id: &KeyId) {
    match delegations.roles.iter_mut().find(|r| r.name == role) {
        Some(r) => {
            if !r.role.keyids.iter().any(|k| k == key_id.as_str()) {
                r.role.keyids.push(key_id.to_string());
            }
        }
        None => delegations.roles.push(DelegatedRole {
            name: role.to_owned(),
            role: RoleEntry {
                keyids: vec![key_id.to_string()],
                threshold: 1,
                extra: [("paths".to_owned(), serde_json::json!([""]))].into(),
            },
        }),
    }
}

/// Removes signer `name` from `gun` (docker's `trust signer remove`): the role `targets/<name>`
/// goes, and its keys leave `targets/releases`. When the remaining release keys no longer meet
/// the threshold of the signatures `targets/releases` carries, its tags become unpullable:
/// refused unless `confirmed`.
pub fn signer_remove(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    gun: &Gun,
    name: &str,
    confirmed: bool,
    kdf: &KdfSettings,
) -> Result<SignerRemoved> {
    check_signer_name(name)?;
    let role_name = format!("targets/{name}");
    let remote = published(dir, server, gun)?;
    let mut targets = remote.targets.clone();
    let Some(delegations) = targets.delegations.as_mut() else {
        return Err(no_signer(name, gun));
    };
    let Some(index) = delegations.roles.iter().position(|r| r.name == role_name) else {
        return Err(no_signer(name, gun));
    };
    let removed = delegations.roles.remove(index);
    let keys = removed.role.keyids.clone();
    let mut orphaned_tags = 0;
    if let Some(releases) = delegations.roles.iter_mut().find(|r| r.name == RELEASES) {
        releases.role.keyids.retain(|k| !keys.contains(k));
        if let Some(file) = remote.delegations.iter().find(|d| d.name == RELEASES) {
            let remaining = file.signers.iter().filter(|s| !keys.contains(s)).count() as u64;
            if remaining < releases.role.threshold && !file.targets.targets.is_empty() {
                orphaned_tags = file.targets.targets.len();
            }
        }
    }
    if orphaned_tags > 0 && !confirmed {
        return Err(Error::InvalidArgument {
            what: Argument::Confirmation,
            reason: format!(
                "signer {name} signed the last release of {gun} ({orphaned_tags} tag(s) in {RELEASES}); without its key those tags cannot be pulled with content trust until another signer signs them again. Nothing was changed"
            ),
        });
    }
    drop_unused_keys(delegations);
    let targets_key = edit::targets_key(dir, source, &remote, gun, kdf)?;
    let snapshot_key = edit::snapshot_key(dir, source, &remote, kdf)?;
    let mut change = Edit::new(&remote, gun);
    change.targets(targets, &targets_key)?;
    let now = change.publish(dir, server, snapshot_key.as_ref())?;
    Ok(SignerRemoved {
        gun: gun.clone(),
        name: name.to_owned(),
        keys,
        orphaned_tags,
        targets_version: now.targets.version,
    })
}

/// Drops the delegation keys no role lists any more.
pub(crate) fn drop_unused_keys(delegations: &mut Delegations) {
    let used: Vec<String> = delegations
        .roles
        .iter()
        .flat_map(|r| r.role.keyids.iter().cloned())
        .collect();
    delegations.keys.retain(|id, _| used.contains(id));
}

fn no_signer(name: &str, gun: &Gun) -> Error {
    Error::InvalidArgument {
        what: Argument::Signer,
        reason: format!("{gun} has no signer {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_names_follow_docker() {
        for ok in ["alice", "a", "0ps", "ci_bot-2"] {
            check_signer_name(ok).expect(ok);
        }
        for bad in [
            "", "Alice", "-a", "_a", "a/b", "releases", "a b", "--force", "é",
        ] {
            assert!(check_signer_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_keys_must_be_p256() {
        let key = crate::key::PrivateKey::generate_ecdsa().expect("key");
        let pem = pem::encode("PUBLIC KEY", &[("role", "alice")], key.public().bytes());
        let parsed = parse_public_key(pem.as_bytes()).expect("parses");
        assert_eq!(parsed.key_id(), key.id());
        let wrong = pem::encode("CERTIFICATE", &[], key.public().bytes());
        assert!(parse_public_key(wrong.as_bytes()).is_err());
        let garbage = pem::encode("PUBLIC KEY", &[], b"not der");
        assert!(parse_public_key(garbage.as_bytes()).is_err());
        assert!(parse_public_key(b"").is_err());
    }
}
