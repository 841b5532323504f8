//! A whole repository verified the way a TUF client walks it, independent of where the files
//! come from (the Notary client in `ops`, or a fuzzer):
//! 1. root: from the trusted root through every newer version ([`chain`]), or trusted on first
//!    use under trust pinning;
//! 2. timestamp -> snapshot -> targets: signed by the keys the new root names, unexpired, each
//!    matching the length and hashes the level above signed for, and no version lower than the
//!    cached one (rollback), unless the role's keys changed with the root (TUF §5.3.11).

use std::time::SystemTime;

use serde_json::Value;

use super::Envelope;
use super::chain::{self, TrustedRoot};
use super::pinning::TrustPinning;
use super::verify::{self, RoleKeys};
use crate::error::{Error, Result};
use crate::ids::Gun;

/// The roles below root, in the order a client verifies them.
pub const ROLES: [&str; 3] = ["timestamp", "snapshot", "targets"];

/// A repository whose every file verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The root now trusted.
    pub root: TrustedRoot,
    /// timestamp.json's `signed` object.
    pub timestamp: Value,
    /// snapshot.json's `signed` object.
    pub snapshot: Value,
    /// targets.json's `signed` object.
    pub targets: Value,
    /// The verified bytes by role (`root`, `timestamp`, `snapshot`, `targets`), as the cache
    /// keeps them.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// Verifies `gun`'s metadata. `trusted_root` is the cached root (if any), `cached(role)` the
/// cached file of another role (for rollback floors), `latest` the server's root.json and
/// `served(file)` any other file of the server (`None`: it has none).
pub fn verify(
    gun: &Gun,
    trusted_root: Option<&[u8]>,
    cached: &dyn Fn(&str) -> Result<Option<Vec<u8>>>,
    latest: Vec<u8>,
    served: &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
) -> Result<Verified> {
    let root = chain::update(
        gun,
        trusted_root,
        latest,
        &mut |version| served(&format!("{version}.root.json")),
        pinning,
        now,
    )?;
    let signed_root = root.root.signed().clone();
    let previous_root = trusted_root
        .and_then(|b| Envelope::parse(b).ok())
        .map(|e| e.signed);
    let mut files: Vec<(&'static str, Vec<u8>)> = vec![("root", root.bytes.clone())];
    let mut signed: Vec<Value> = Vec::with_capacity(ROLES.len());
    for role in ROLES {
        let file = format!("{role}.json");
        let bytes = served(&file)?.ok_or_else(|| Error::InvalidMetadata {
            reason: format!("the server has root.json for {gun} but no {file}"),
        })?;
        if let Some(parent) = signed.last() {
            verify::check_meta(&parent["meta"][role], &file, &bytes)?;
        }
        let checked = verify::check_role(&bytes, role, &signed_root, now)?;
        if let Some(floor) = version_floor(cached, role, previous_root.as_ref(), &signed_root)?
            && checked.version < floor
        {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "the server's {file} of {gun} is version {}, older than version {floor} this machine already saw: a rollback",
                    checked.version
                ),
            });
        }
        signed.push(checked.signed);
        files.push((role, bytes));
    }
    let [timestamp, snapshot, targets]: [Value; 3] =
        signed.try_into().map_err(|_| Error::Internal {
            what: "three roles were verified".into(),
        })?;
    Ok(Verified {
        root,
        timestamp,
        snapshot,
        targets,
        files,
    })
}

/// The lowest acceptable version of `role`: the cached one, unless the role's keys changed with
/// the root (after a key rotation a fast-forwarded version must not lock the repository out).
/// Snapshot and timestamp floors are reset together when either key changes. A cached file that
/// cannot be parsed is no evidence.
fn version_floor(
    cached: &dyn Fn(&str) -> Result<Option<Vec<u8>>>,
    role: &str,
    previous_root: Option<&Value>,
    root: &Value,
) -> Result<Option<u64>> {
    let Some(previous_root) = previous_root else {
        return Ok(None);
    };
    let keys = |r: &Value, role: &str| {
        RoleKeys::of(r, role)
            .map(|k| k.keys.into_iter().map(|(id, _)| id).collect::<Vec<_>>())
            .ok()
    };
    let related: &[&str] = match role {
        "targets" => &["targets"],
        _ => &["timestamp", "snapshot"],
    };
    if related
        .iter()
        .any(|r| keys(previous_root, r) != keys(root, r))
    {
        return Ok(None);
    }
    Ok(cached(role)?
        .and_then(|b| Envelope::parse(&b).ok())
        .and_then(|e| e.signed["version"].as_u64()))
}
