//! A whole repository verified the way a TUF client walks it, independent of where the files
//! come from (the Notary client in `ops`, or a fuzzer):
//! 1. root: from the trusted root through every newer version ([`chain`]), or trusted on first
//!    use under trust pinning;
//! 2. timestamp -> snapshot -> targets: signed by the keys the new root names, unexpired, each
//!    matching the length and hashes the level above signed for, and no version lower than the
//!    cached one (rollback), unless the role's keys changed with the root (TUF §5.3.11).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;

use super::Envelope;
use super::chain::{self, TrustedRoot};
use super::pinning::TrustPinning;
use super::schema::{FileMeta, Metadata, Root, Snapshot, Targets, Timestamp};
use super::verify::{self, RoleKeys};
use crate::error::{Error, Result};
use crate::ids::Gun;

/// A repository whose every file verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The root now trusted.
    pub root: TrustedRoot,
    /// timestamp.json's `signed` object.
    pub timestamp: Timestamp,
    /// snapshot.json's `signed` object.
    pub snapshot: Snapshot,
    /// targets.json's `signed` object.
    pub targets: Targets,
    /// The verified bytes by role (`root`, `timestamp`, `snapshot`, `targets`), as the cache
    /// keeps them.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// What verifying the roles below root needs.
struct Walk<'a> {
    gun: &'a Gun,
    root: &'a Root,
    previous_root: Option<Root>,
    cached: &'a dyn Fn(&str) -> Result<Option<Vec<u8>>>,
    served: &'a mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    now: SystemTime,
    files: Vec<(&'static str, Vec<u8>)>,
}

impl Walk<'_> {
    /// Fetches and verifies role `T`, whose length and hashes `parent` (the `meta` of the level
    /// above, `None` for timestamp) signed for.
    fn role<T: Metadata>(&mut self, parent: Option<&BTreeMap<String, FileMeta>>) -> Result<T> {
        let (gun, role) = (self.gun, T::ROLE);
        let file = format!("{role}.json");
        let bytes = (self.served)(&file)?.ok_or_else(|| Error::InvalidMetadata {
            reason: format!("the server has root.json for {gun} but no {file}"),
        })?;
        if let Some(parent) = parent {
            verify::check_meta(parent.get(role), &file, &bytes)?;
        }
        let checked: T = verify::verify_role(&bytes, self.root, self.now)?;
        if let Some(floor) = self.version_floor(role)?
            && checked.version() < floor
        {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "the server's {file} of {gun} is version {}, older than version {floor} this machine already saw: a rollback",
                    checked.version()
                ),
            });
        }
        self.files.push((role, bytes));
        Ok(checked)
    }

    /// The lowest acceptable version of `role`: the cached one, unless the role's keys changed
    /// with the root (after a key rotation a fast-forwarded version must not lock the repository
    /// out). Snapshot and timestamp floors are reset together when either key changes. A cached
    /// file that cannot be parsed is no evidence.
    fn version_floor(&self, role: &str) -> Result<Option<u64>> {
        let Some(previous_root) = &self.previous_root else {
            return Ok(None);
        };
        let keys = |r: &Root, role: &str| {
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
            .any(|r| keys(previous_root, r) != keys(self.root, r))
        {
            return Ok(None);
        }
        /// Only the version of a cached file matters here.
        #[derive(Deserialize)]
        struct Versioned {
            version: u64,
        }
        Ok((self.cached)(role)?
            .and_then(|b| Envelope::parse(&b).ok())
            .and_then(|e| Versioned::deserialize(&e.signed).ok())
            .map(|v| v.version))
    }
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
    let previous_root = trusted_root
        .and_then(|b| Envelope::parse(b).ok())
        .and_then(|e| e.typed::<Root>().ok());
    let mut walk = Walk {
        gun,
        root: root.root.signed(),
        previous_root,
        cached,
        served,
        now,
        files: vec![("root", root.bytes.clone())],
    };
    let timestamp: Timestamp = walk.role(None)?;
    let snapshot: Snapshot = walk.role(Some(&timestamp.meta))?;
    let targets: Targets = walk.role(Some(&snapshot.meta))?;
    let files = walk.files;
    Ok(Verified {
        root,
        timestamp,
        snapshot,
        targets,
        files,
    })
}
