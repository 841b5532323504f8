//! A repository as the Notary server holds it, fetched and verified the way a client walks it:
//! root (threshold signatures, certificates, expiry, no rollback against the cache), then
//! timestamp -> snapshot -> targets (signed by the keys root names, unexpired, each matching the
//! length and hash the level above signed for).

use std::time::SystemTime;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::trust_dir::TrustDir;
use crate::tuf::verify;

/// Verified metadata of a published repository.
#[derive(Clone, Debug)]
pub(crate) struct Remote {
    /// root.json as served.
    pub(crate) root_bytes: Vec<u8>,
    /// Its `signed` object.
    pub(crate) root: Value,
    /// timestamp.json's `signed` object.
    pub(crate) timestamp: Value,
    /// snapshot.json's `signed` object.
    pub(crate) snapshot: Value,
    /// targets.json's `signed` object.
    pub(crate) targets: Value,
}

/// Fetches and verifies `gun` from `server`; `None` when the server does not know it.
pub(crate) fn fetch(dir: &TrustDir, server: &NotaryClient, gun: &Gun) -> Result<Option<Remote>> {
    let now = SystemTime::now();
    let Some(root_bytes) = server.get(gun, "root.json")? else {
        return Ok(None);
    };
    let root = verify::verify_root(&root_bytes, gun, now)?;
    verify::check_not_rolled_back(dir, gun, &root)?;
    let get = |file: &str| -> Result<Vec<u8>> {
        server
            .get(gun, file)?
            .ok_or_else(|| Error::InvalidMetadata {
                reason: format!("{} has root.json for {gun} but no {file}", server.url()),
            })
    };
    let timestamp_bytes = get("timestamp.json")?;
    let timestamp = verify::verify_role(&timestamp_bytes, "timestamp", &root, now)?;
    let snapshot_bytes = get("snapshot.json")?;
    verify::check_meta(
        &timestamp["meta"]["snapshot"],
        "snapshot.json",
        &snapshot_bytes,
    )?;
    let snapshot = verify::verify_role(&snapshot_bytes, "snapshot", &root, now)?;
    let targets_bytes = get("targets.json")?;
    verify::check_meta(&snapshot["meta"]["targets"], "targets.json", &targets_bytes)?;
    let targets = verify::verify_role(&targets_bytes, "targets", &root, now)?;
    Ok(Some(Remote {
        root_bytes,
        root,
        timestamp,
        snapshot,
        targets,
    }))
}
