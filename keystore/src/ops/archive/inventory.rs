//! `inventory.json`: which tag was signed as which manifest (digest and size), in which role and
//! by whom, read from verified metadata only. A tag that two roles sign differently is listed
//! once per manifest. Delegated roles whose file a threshold of their keys did not sign are
//! listed apart, with why, and none of their tags are.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::tuf::Envelope;
use crate::tuf::repository::Verified;
use crate::tuf::schema::{FileMeta, Root, Targets};
use crate::tuf::verify::{RoleKeys, check_delegation};

/// Tags and their signers, as the archived metadata records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The repository.
    pub gun: String,
    /// Every signed tag, by tag then digest.
    pub tags: Vec<InventoryTag>,
    /// Delegated roles whose file is not signed by a threshold of the keys trusted for it: none
    /// of their tags count as signed (they are not in `tags`).
    pub unverified_roles: Vec<UnverifiedRole>,
}

/// One tag signed as one manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryTag {
    /// The tag.
    pub tag: String,
    /// The manifest's digest (`sha256:<hex>`).
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: u64,
    /// The roles that sign the tag as this manifest.
    pub signed_by: Vec<TagSigner>,
}

/// A role that signs a tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSigner {
    /// `targets` (the repository key) or a delegated role (`targets/releases`,
    /// `targets/<signer>`).
    pub role: String,
    /// The signers (docker's names) whose keys signed the role's file; empty for `targets`.
    pub signers: Vec<String>,
    /// The IDs of the keys whose signatures on the role's file verified.
    pub key_ids: Vec<String>,
    /// Whether the role's file had expired when it was archived (it is still signed).
    pub expired: bool,
}

/// A delegated role whose file does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnverifiedRole {
    /// The role.
    pub role: String,
    /// Why its file does not verify.
    pub reason: String,
}

/// The inventory of `verified` (`gun`'s metadata), whose delegated files are in `files` by
/// name (`targets/<name>.json`).
pub(super) fn of(
    gun: &str,
    verified: &Verified,
    targets_bytes: &[u8],
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Inventory> {
    let mut signed: Vec<(&Targets, TagSigner)> = Vec::new();
    let base_keys = signer_ids(verified.root.root.signed(), targets_bytes)?;
    signed.push((
        &verified.targets,
        TagSigner {
            role: "targets".into(),
            signers: Vec::new(),
            key_ids: base_keys,
            expired: verified.expired.contains(&"targets"),
        },
    ));
    let delegations = verified.targets.delegations.as_ref();
    let names = |ids: &BTreeSet<String>, role: &str| -> Vec<String> {
        let Some(d) = delegations else {
            return Vec::new();
        };
        if let Some(name) = role.strip_prefix("targets/").filter(|n| *n != "releases") {
            return vec![name.to_owned()];
        }
        let mut names: Vec<String> = d
            .roles
            .iter()
            .filter(|r| r.name != "targets/releases")
            .filter(|r| r.role.keyids.iter().any(|k| ids.contains(k)))
            .filter_map(|r| r.name.strip_prefix("targets/").map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    for d in &verified.delegations {
        signed.push((
            &d.targets,
            TagSigner {
                role: d.name.clone(),
                signers: names(&d.signers, &d.name),
                key_ids: d.signers.iter().cloned().collect(),
                expired: false,
            },
        ));
    }
    // A file a threshold of its keys signed that has expired is history, not a forgery.
    let mut expired = Vec::new();
    let mut unverified_roles = Vec::new();
    for u in &verified.unverified {
        match (
            &u.expired,
            delegations,
            files.get(&format!("{}.json", u.name)),
        ) {
            (Some(targets), Some(d), Some(bytes)) => {
                let check = check_delegation::<Targets>(bytes, d, &u.name)?;
                expired.push((targets, u.name.clone(), check.signers));
            }
            _ => unverified_roles.push(UnverifiedRole {
                role: u.name.clone(),
                reason: u.reason.clone(),
            }),
        }
    }
    for (targets, name, ids) in &expired {
        signed.push((
            targets,
            TagSigner {
                role: name.clone(),
                signers: names(ids, name),
                key_ids: ids.iter().cloned().collect(),
                expired: true,
            },
        ));
    }
    let mut tags: BTreeMap<(String, String, u64), Vec<TagSigner>> = BTreeMap::new();
    for (targets, signer) in signed {
        for (tag, meta) in &targets.targets {
            let key = (tag.clone(), digest(meta), meta.length);
            tags.entry(key).or_default().push(signer.clone());
        }
    }
    Ok(Inventory {
        gun: gun.to_owned(),
        tags: tags
            .into_iter()
            .map(|((tag, digest, size), mut signed_by)| {
                signed_by.sort_by(|a, b| a.role.cmp(&b.role));
                InventoryTag {
                    tag,
                    digest,
                    size,
                    signed_by,
                }
            })
            .collect(),
        unverified_roles,
    })
}

/// `sha256:<hex>` of a target's recorded SHA-256 (empty when it has none or it is not base64).
fn digest(meta: &FileMeta) -> String {
    use base64::Engine as _;
    meta.hashes
        .get("sha256")
        .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
        .map(|h| format!("sha256:{}", hex::encode(h)))
        .unwrap_or_default()
}

/// The listed IDs of the targets keys of `root` whose signatures on `targets.json` verify.
fn signer_ids(root: &Root, targets_bytes: &[u8]) -> Result<Vec<String>> {
    let envelope = Envelope::parse(targets_bytes)?;
    let canonical = envelope.canonical()?;
    let ids = RoleKeys::of(root, "targets")?.signers(&envelope.signatures, &canonical)?;
    Ok(ids.into_iter().collect())
}
