//! Reading an archive back: every entry accounted for in `index.json` (lengths, SHA-256), the
//! metadata verified as a TUF client would walk it (from root version 1, offline, at the time
//! of archiving), nothing in it that the verified metadata does not lead to, and an
//! `inventory.json` equal to the one the metadata gives.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::inventory::{self, Inventory};
use super::tarball;
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::tuf::chain::MAX_ROOT_STEPS;
use crate::tuf::pinning::TrustPinning;
use crate::tuf::repository::{self, Verified};
use crate::tuf::schema::Metadata;
use crate::tuf::verify::parse_time;
use crate::tuf::{Envelope, MAX_METADATA};

/// The archive format version written and read.
pub const ARCHIVE_FORMAT: u32 = 1;

pub(super) const INDEX: &str = "index.json";
pub(super) const INDEX_SUM: &str = "index.json.sha256";
pub(super) const INVENTORY: &str = "inventory.json";
pub(super) const METADATA: &str = "metadata/";
/// Largest `index.json` read.
const MAX_INDEX: u64 = 4 << 20;

/// `index.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Index {
    pub(super) format: u32,
    pub(super) gun: String,
    pub(super) server: String,
    pub(super) archived_at: String,
    pub(super) keytool_version: String,
    pub(super) root_versions: u64,
    pub(super) files: Vec<IndexFile>,
}

/// One file `index.json` lists.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct IndexFile {
    pub(super) path: String,
    pub(super) length: u64,
    pub(super) sha256: String,
}
/// `index.json.sha256`: the line `sha256sum` writes and checks.
pub(super) fn index_sum(index: &[u8]) -> Vec<u8> {
    format!("{}  {INDEX}\n", hex::encode(Sha256::digest(index))).into_bytes()
}

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        reason: reason.into(),
    }
}

/// An archive's content, verified.
pub(super) struct Checked {
    pub(super) index: Index,
    pub(super) gun: Gun,
    pub(super) at: SystemTime,
    pub(super) verified: Verified,
    pub(super) inventory: Inventory,
    pub(super) trusted_root_version: Option<u64>,
}

/// How large an entry named `name` may be; `None` for a name an archive never has.
fn allowed(name: &str) -> Option<u64> {
    match name {
        INDEX | INDEX_SUM => Some(MAX_INDEX),
        INVENTORY => Some(MAX_METADATA as u64),
        _ => {
            let file = name.strip_prefix(METADATA)?.strip_suffix(".json")?;
            let root = file.strip_suffix(".root").is_some_and(|v| {
                !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit())
            });
            let role = matches!(file, "timestamp" | "snapshot" | "targets")
                || crate::tuf::schema::is_signer_role(file);
            (root || role).then_some(MAX_METADATA as u64)
        }
    }
}

/// Verifies an archive's bytes; `pinned(gun)` is the root this machine trusts for `gun`, which
/// the chain must reach (`None`: the chain is verified from version 1 alone).
pub(super) fn check(
    bytes: &[u8],
    pinned: &dyn Fn(&Gun) -> Result<Option<Vec<u8>>>,
) -> Result<Checked> {
    let mut entries = tarball::read(bytes, allowed)?;
    let index_bytes = entries
        .remove(INDEX)
        .ok_or_else(|| bad("the archive has no index.json: not an archive keytool wrote"))?;
    if entries.remove(INDEX_SUM).as_deref() != Some(index_sum(&index_bytes).as_slice()) {
        return Err(bad(
            "index.json does not match index.json.sha256 (the archive was changed or damaged)",
        ));
    }
    let index: Index = serde_json::from_slice(&index_bytes)
        .map_err(|e| bad(format!("index.json is not a keytool archive index: {e}")))?;
    if index.format != ARCHIVE_FORMAT {
        return Err(bad(format!(
            "the archive is of format {}; this keytool reads format {ARCHIVE_FORMAT}",
            index.format
        )));
    }
    let gun: Gun = index.gun.parse()?;
    let at = parse_time(&index.archived_at)
        .ok_or_else(|| bad("index.json has no valid time of archiving"))?;
    let mut listed = BTreeSet::new();
    for f in &index.files {
        let bytes = entries.get(&f.path).ok_or_else(|| {
            bad(format!(
                "index.json lists {}, which the archive lacks",
                crate::ids::clip(&f.path)
            ))
        })?;
        if !listed.insert(f.path.as_str()) {
            return Err(bad(format!("index.json lists {} twice", f.path)));
        }
        if bytes.len() as u64 != f.length || hex::encode(Sha256::digest(bytes)) != f.sha256 {
            return Err(bad(format!(
                "{} does not match its length and SHA-256 in index.json (the archive was changed or damaged)",
                f.path
            )));
        }
    }
    if let Some(extra) = entries.keys().find(|k| !listed.contains(k.as_str())) {
        return Err(bad(format!(
            "the archive holds {extra}, which index.json does not list"
        )));
    }
    let inventory_bytes = entries
        .remove(INVENTORY)
        .ok_or_else(|| bad("the archive has no inventory.json"))?;
    let metadata: BTreeMap<String, Vec<u8>> = entries
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(METADATA)?.to_owned(), v)))
        .collect();
    let newest = index.root_versions;
    if !(1..=MAX_ROOT_STEPS).contains(&newest) {
        return Err(bad(format!("index.json claims {newest} root versions")));
    }
    let root = |v: u64| {
        metadata
            .get(&format!("{v}.root.json"))
            .cloned()
            .ok_or_else(|| {
                bad(format!(
                    "the archive lacks version {v} of the root ({v}.root.json)"
                ))
            })
    };
    let (first, last) = (root(1)?, root(newest)?);
    // Version 1 is where the chain starts: signed by its own root keys.
    crate::tuf::verify::check_root(&first, &gun, None)
        .map_err(|e| bad(format!("1.root.json does not verify: {e}")))?;
    let mut used: BTreeSet<String> =
        ["1.root.json".to_owned(), format!("{newest}.root.json")].into();
    let verified = repository::verify_allowing_expired(
        &gun,
        Some(&first),
        &|_| Ok(None),
        last,
        &mut |file| {
            used.insert(file.to_owned());
            Ok(metadata.get(file).cloned())
        },
        &TrustPinning::default(),
        at,
    )
    .map_err(|e| match e {
        Error::InvalidMetadata { reason } => {
            bad(format!("the archived metadata does not verify: {reason}"))
        }
        e => e,
    })?;
    if verified.root.root.version != newest {
        return Err(bad(format!(
            "{newest}.root.json claims version {}",
            verified.root.root.version
        )));
    }
    if let Some(extra) = metadata.keys().find(|k| !used.contains(*k)) {
        return Err(bad(format!(
            "the archive holds metadata/{extra}, which its verified metadata does not lead to"
        )));
    }
    let trusted_root_version = match pinned(&gun)? {
        Some(trusted) => Some(reaches(&gun, &trusted, &metadata, newest)?),
        None => None,
    };
    let targets_bytes = metadata
        .get("targets.json")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let inventory = inventory::of(gun.as_str(), &verified, targets_bytes, &metadata)?;
    let stored: Inventory = serde_json::from_slice(&inventory_bytes)
        .map_err(|e| bad(format!("inventory.json is not an inventory: {e}")))?;
    if stored != inventory {
        return Err(bad(
            "inventory.json does not match the signed metadata (the archive was changed)",
        ));
    }
    Ok(Checked {
        index,
        gun,
        at,
        verified,
        inventory,
        trusted_root_version,
    })
}

/// The version of `trusted` (the root this machine trusts for `gun`), after checking that the
/// archived chain holds that very root.
fn reaches(
    gun: &Gun,
    trusted: &[u8],
    metadata: &BTreeMap<String, Vec<u8>>,
    newest: u64,
) -> Result<u64> {
    let trusted = Envelope::parse(trusted)?;
    let version = trusted.typed::<crate::tuf::schema::Root>()?.version();
    if version > newest {
        return Err(bad(format!(
            "this machine trusts version {version} of {gun}'s root, newer than the archive's newest ({newest}): the archive cannot be tied to it"
        )));
    }
    let archived = metadata
        .get(&format!("{version}.root.json"))
        .map(|b| Envelope::parse(b))
        .transpose()?;
    let same = match archived {
        Some(a) => a.canonical()? == trusted.canonical()?,
        None => false,
    };
    if !same {
        return Err(bad(format!(
            "version {version} of the archived root of {gun} is not the root this machine trusts: the archive's chain does not lead from it"
        )));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_names_an_archive_has_are_allowed() {
        for name in [
            "index.json",
            "index.json.sha256",
            "inventory.json",
            "metadata/1.root.json",
            "metadata/12.root.json",
            "metadata/timestamp.json",
            "metadata/targets.json",
            "metadata/targets/releases.json",
            "metadata/targets/alice.json",
        ] {
            assert!(allowed(name).is_some(), "{name}");
        }
        for name in [
            "",
            "/etc/passwd",
            "../index.json",
            "metadata/../index.json",
            "metadata/root.json",
            "metadata/.root.json",
            "metadata/x.root.json",
            "metadata/targets/../../x.json",
            "metadata/targets/a/b.json",
            "metadata/targets/.hidden.json",
            "metadata/private/abc.key",
            "./index.json",
        ] {
            assert!(allowed(name).is_none(), "{name}");
        }
    }
}
