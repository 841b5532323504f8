//! Signing a tag directly: "tag T of GUN is manifest D of N bytes" (docker 29 no longer signs on
//! push, and manifest lists were never signable through docker), and removing such a signature.
//!
//! The roles follow `docker trust sign` (spec §6.1.5): with no signers, targets.json; otherwise
//! every signer role (`targets/releases`, `targets/<name>`) that this machine holds a key of and
//! whose paths admit the tag — with a signer named, only the roles that signer's keys belong to.
//! A repository with signers is never signed into targets.json alone: `docker pull` reads
//! `targets/releases` first, so that would not change what it pulls.

use std::collections::BTreeMap;

use serde::Serialize;

use super::KdfSettings;
use super::edit::{self, Edit};
use super::remote::Remote;
use super::signer::{check_signer_name, published};
use crate::error::{Argument, Error, Result};
use crate::ids::{Gun, KeyId};
use crate::key::PrivateKey;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::registry::{self, Manifest};
use crate::trust_dir::TrustDir;
use crate::tuf::schema::{Extra, FileMeta, is_signer_role};

/// Whether (and where) the registry is asked for the manifest before it is signed.
#[derive(Clone, Copy, Debug)]
pub enum RegistryCheck<'a> {
    /// Ask the registry the GUN names (or the given base URL, e.g. `http://127.0.0.1:5000`
    /// for a registry whose name only containers resolve). A registry that asks for a token
    /// gets one for `pull` with the docker credentials the Notary client was given
    /// ([`NotaryClient::with_docker_credentials`]).
    Registry(Option<&'a str>),
    /// Sign without asking (the manifest is not pushed yet, or the registry cannot be reached).
    Skip,
}

/// What signing a tag did.
#[derive(Clone, Debug, Serialize)]
pub struct SignedTag {
    /// The repository.
    pub gun: Gun,
    /// The tag.
    pub tag: String,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: u64,
    /// The roles the tag was signed into (`targets`, `targets/releases`, ...).
    pub roles: Vec<String>,
    /// The digest the tag had before in the first of those roles, if another.
    pub replaced: Option<String>,
    /// `true` when every role already signed exactly this (nothing was published).
    pub already: bool,
    /// The registry asked, if one was.
    pub checked_registry: Option<String>,
}

/// What removing a tag's signature did.
#[derive(Clone, Debug, Serialize)]
pub struct UnsignedTag {
    /// The repository.
    pub gun: Gun,
    /// The tag.
    pub tag: String,
    /// The roles it was removed from.
    pub roles: Vec<String>,
}

/// A role to sign into and the local keys to sign it with (`(listed ID, canonical ID)`).
struct Signable {
    role: String,
    keys: Vec<(KeyId, KeyId)>,
}

/// Signs `tag` of `gun` as manifest `digest` (`sha256:<64 hex>`) of `size` bytes, as `signer`
/// when given (see the module documentation for the roles), and publishes.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    gun: &Gun,
    tag: &str,
    digest: &str,
    size: u64,
    signer: Option<&str>,
    check: RegistryCheck<'_>,
    kdf: &KdfSettings,
) -> Result<SignedTag> {
    check_tag(tag)?;
    let sha256 = check_digest(digest)?;
    if size == 0 || size > MAX_MANIFEST {
        return Err(Error::InvalidArgument {
            what: Argument::Digest,
            reason: format!(
                "a manifest of {size} bytes: the size must be between 1 and {MAX_MANIFEST} (a registry's manifest limit)"
            ),
        });
    }
    let remote = published(dir, server, gun)?;
    let roles = signable(dir, &remote, gun, tag, signer)?;
    let checked_registry = match check {
        RegistryCheck::Skip => None,
        RegistryCheck::Registry(base) => {
            let (url, _) = registry::locate(gun, base)?;
            match registry::manifest(server, gun, digest, base)? {
                Manifest::Absent => {
                    return Err(Error::InvalidArgument {
                        what: Argument::Digest,
                        reason: format!(
                            "the registry {url} has no manifest {digest} in {gun}; push the image first, or skip the registry check to sign a manifest it does not hold yet. Nothing was signed"
                        ),
                    });
                }
                Manifest::Present(Some(served)) if served != size => {
                    return Err(Error::InvalidArgument {
                        what: Argument::Digest,
                        reason: format!(
                            "manifest {digest} is {served} bytes in the registry {url}, not {size}; docker would refuse the pull. Nothing was signed"
                        ),
                    });
                }
                Manifest::Present(_) => Some(url),
            }
        }
    };
    let meta = FileMeta {
        length: size,
        hashes: [("sha256".to_owned(), base64_of(&sha256))].into(),
        extra: Extra::new(),
    };
    let replaced = targets_of(&remote, &roles[0].role)
        .get(tag)
        .filter(|m| **m != meta)
        .and_then(digest_of);
    let changed: Vec<&Signable> = roles
        .iter()
        .filter(|s| targets_of(&remote, &s.role).get(tag) != Some(&meta))
        .collect();
    let result = |already| SignedTag {
        gun: gun.clone(),
        tag: tag.to_owned(),
        digest: digest.to_owned(),
        size,
        roles: roles.iter().map(|s| s.role.clone()).collect(),
        replaced: replaced.clone(),
        already,
        checked_registry: checked_registry.clone(),
    };
    if changed.is_empty() {
        return Ok(result(true));
    }
    publish_change(
        dir,
        source,
        server,
        &remote,
        gun,
        &changed,
        kdf,
        |targets| {
            targets.insert(tag.to_owned(), meta.clone());
        },
    )?;
    Ok(result(false))
}

/// Removes `tag`'s signature from the roles [`sign`] would sign it into, and publishes.
pub fn unsign(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    gun: &Gun,
    tag: &str,
    signer: Option<&str>,
    kdf: &KdfSettings,
) -> Result<UnsignedTag> {
    check_tag(tag)?;
    let remote = published(dir, server, gun)?;
    let roles = signable(dir, &remote, gun, tag, signer)?;
    let changed: Vec<&Signable> = roles
        .iter()
        .filter(|s| targets_of(&remote, &s.role).contains_key(tag))
        .collect();
    if changed.is_empty() {
        return Err(Error::InvalidArgument {
            what: Argument::Image,
            reason: format!(
                "{gun}:{tag} is not signed in {}; nothing was changed",
                roles
                    .iter()
                    .map(|s| s.role.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    publish_change(
        dir,
        source,
        server,
        &remote,
        gun,
        &changed,
        kdf,
        |targets| {
            targets.remove(tag);
        },
    )?;
    Ok(UnsignedTag {
        gun: gun.clone(),
        tag: tag.to_owned(),
        roles: changed.iter().map(|s| s.role.clone()).collect(),
    })
}

/// The largest manifest a registry accepts (distribution's default limit: 4 MiB).
const MAX_MANIFEST: u64 = 4 << 20;

/// Applies `change` to the targets of each role in `roles`, signs them with their local keys
/// (each key decrypted once) and publishes.
#[allow(clippy::too_many_arguments)]
fn publish_change(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    server: &NotaryClient,
    remote: &Remote,
    gun: &Gun,
    roles: &[&Signable],
    kdf: &KdfSettings,
    change: impl Fn(&mut BTreeMap<String, FileMeta>),
) -> Result<()> {
    let mut keys: Vec<(KeyId, PrivateKey)> = Vec::new();
    for signable in roles.iter().filter(|s| s.role != "targets") {
        for (_, canonical) in &signable.keys {
            if !keys.iter().any(|(id, _)| id == canonical) {
                keys.push((
                    canonical.clone(),
                    super::load_key(dir, canonical, source, kdf)?.key,
                ));
            }
        }
    }
    let targets_key = if roles.iter().any(|s| s.role == "targets") {
        Some(edit::targets_key(dir, source, remote, gun, kdf)?)
    } else {
        None
    };
    let snapshot_key = edit::snapshot_key(dir, source, remote, kdf)?;
    let mut edit = Edit::new(remote, gun);
    for signable in roles {
        if signable.role == "targets" {
            let mut targets = remote.targets.clone();
            change(&mut targets.targets);
            let key = targets_key.as_ref().ok_or_else(|| Error::Internal {
                what: "the targets key was not loaded".into(),
            })?;
            edit.targets(targets, key)?;
        } else {
            let (mut targets, version) = edit::delegated_targets(remote, &signable.role);
            change(&mut targets.targets);
            let signers: Vec<(&KeyId, &PrivateKey)> = signable
                .keys
                .iter()
                .filter_map(|(listed, canonical)| {
                    let key = keys.iter().find(|(id, _)| id == canonical)?;
                    Some((listed, &key.1))
                })
                .collect();
            edit.delegation(&signable.role, targets, version, &signers)?;
        }
    }
    edit.publish(dir, server, snapshot_key.as_ref())?;
    Ok(())
}

/// The roles a tag is signed into (docker's `GetSignableRoles`), each with its local keys.
fn signable(
    dir: &TrustDir,
    remote: &Remote,
    gun: &Gun,
    tag: &str,
    signer: Option<&str>,
) -> Result<Vec<Signable>> {
    let delegations = remote.targets.delegations.as_ref();
    let children: Vec<_> = delegations
        .map(|d| d.roles.iter().filter(|r| is_signer_role(&r.name)).collect())
        .unwrap_or_default();
    if children.is_empty() {
        if let Some(name) = signer {
            return Err(Error::InvalidArgument {
                what: Argument::Signer,
                reason: format!("{gun} has no signers, so none named {name}"),
            });
        }
        return Ok(vec![Signable {
            role: "targets".into(),
            keys: Vec::new(),
        }]);
    }
    let Some(delegations) = delegations else {
        return Err(Error::Internal {
            what: "delegated roles without delegations".into(),
        });
    };
    let wanted: Option<Vec<KeyId>> = match signer {
        None => None,
        Some(name) => {
            check_signer_name(name)?;
            let role = format!("targets/{name}");
            if !children.iter().any(|r| r.name == role) {
                return Err(Error::InvalidArgument {
                    what: Argument::Signer,
                    reason: format!("{gun} has no signer {name}"),
                });
            }
            Some(
                edit::local_delegation_keys(dir, delegations, &role)
                    .into_iter()
                    .map(|(_, canonical)| canonical)
                    .collect(),
            )
        }
    };
    let mut out = Vec::new();
    for role in children.iter().filter(|r| r.admits(tag)) {
        let mut keys = edit::local_delegation_keys(dir, delegations, &role.name);
        if let Some(wanted) = &wanted {
            keys.retain(|(_, canonical)| wanted.contains(canonical));
        }
        if keys.is_empty() {
            continue;
        }
        if (keys.len() as u64) < role.role.threshold {
            return Err(Error::KeyNotFound {
                key_id: format!(
                    "{} more key(s) of {} (its threshold is {}; this machine holds {})",
                    role.role.threshold - keys.len() as u64,
                    role.name,
                    role.role.threshold,
                    keys.len()
                ),
                dir: dir.private_dir(),
            });
        }
        out.push(Signable {
            role: role.name.clone(),
            keys,
        });
    }
    if out.is_empty() {
        let names: Vec<&str> = children.iter().map(|r| r.name.as_str()).collect();
        return Err(Error::KeyNotFound {
            key_id: format!(
                "a key of {} for {gun} (the repository has signers, and docker pull reads {} before targets, so the tag cannot be signed with the targets key alone)",
                match signer {
                    Some(name) => format!("signer {name}"),
                    None => format!("one of its signer roles ({})", names.join(", ")),
                },
                super::signer::RELEASES
            ),
            dir: dir.private_dir(),
        });
    }
    Ok(out)
}

/// The targets a role signs now (empty for a delegation without a file).
fn targets_of<'a>(remote: &'a Remote, role: &str) -> &'a BTreeMap<String, FileMeta> {
    static EMPTY: BTreeMap<String, FileMeta> = BTreeMap::new();
    if role == "targets" {
        return &remote.targets.targets;
    }
    remote
        .delegations
        .iter()
        .find(|d| d.name == role)
        .map_or(&EMPTY, |d| &d.targets.targets)
}

/// `sha256:<hex>` of a target's recorded SHA-256.
pub(super) fn digest_of(meta: &FileMeta) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(meta.hashes.get("sha256")?)
        .ok()?;
    Some(format!("sha256:{}", hex::encode(raw)))
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A tag as docker accepts it: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<()> {
    let mut bytes = tag.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first
        || tag.len() > 128
        || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(Error::InvalidArgument {
            what: Argument::Image,
            reason: format!(
                "{tag:?} is not a tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            ),
        });
    }
    Ok(())
}

/// The 32 bytes of `sha256:<64 lowercase hex>`.
fn check_digest(digest: &str) -> Result<Vec<u8>> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::Digest,
            reason: format!(
                "{digest:?} is not a manifest digest: sha256: and 64 lowercase hex digits are needed"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_are_checked() {
        for ok in ["latest", "v1.2.3", "_x", "A-b_c.d"] {
            check_tag(ok).expect(ok);
        }
        for bad in ["", ".x", "-x", "--force", "a:b", "a/b", &"x".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        let hex64 = "ab".repeat(32);
        assert_eq!(
            check_digest(&format!("sha256:{hex64}")).expect("ok").len(),
            32
        );
        for bad in [
            hex64.clone(),
            format!("sha512:{hex64}"),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", &hex64[..62]),
            "sha256:".into(),
        ] {
            assert!(check_digest(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_digest_round_trips_through_target_metadata() {
        let digest = format!("sha256:{}", "0f".repeat(32));
        let meta = FileMeta {
            length: 7,
            hashes: [(
                "sha256".into(),
                base64_of(&check_digest(&digest).expect("ok")),
            )]
            .into(),
            extra: Extra::new(),
        };
        assert_eq!(digest_of(&meta).as_deref(), Some(digest.as_str()));
    }
}
