//! A repository as the Notary server holds it, fetched and verified the way a TUF client walks it
//! (ARCHITECTURE.md, "Any command that reads a server"):
//! 1. root: from the root this machine trusts (`tuf/<gun>/metadata/root.json`) through every
//!    newer version the server offers, each signed by its predecessor's root keys and its own
//!    ([`chain`]); with no trusted root, trust on first use under trust pinning;
//! 2. timestamp -> snapshot -> targets: signed by the keys the new root names, unexpired, each
//!    matching the length and hashes the level above signed for, and no version lower than the
//!    cached one (rollback), unless the role's keys changed with the root;
//! 3. only then the cache is updated.
//!
//! A repository counts as unpublished only with evidence: the server says 404 **and** this
//! machine trusts no root of it.

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::trust_dir::TrustDir;
use crate::tuf::verify::{self, RoleKeys};
use crate::tuf::{Envelope, chain, roles};

/// Verified metadata of a published repository.
#[derive(Clone, Debug)]
pub(crate) struct Remote {
    /// root.json as served.
    pub(crate) root_bytes: Vec<u8>,
    /// Its `signed` object.
    pub(crate) root: Value,
    /// The listed IDs of the root keys that validly signed it.
    pub(crate) root_signers: BTreeSet<String>,
    /// timestamp.json's `signed` object.
    pub(crate) timestamp: Value,
    /// snapshot.json's `signed` object.
    pub(crate) snapshot: Value,
    /// targets.json's `signed` object.
    pub(crate) targets: Value,
    /// The verified files (`root`, `timestamp`, `snapshot`, `targets`), for the cache.
    files: Vec<(&'static str, Vec<u8>)>,
}

impl Remote {
    /// Records the verified files in the cache (only those that changed), under the trust
    /// directory's lock, taken here only for these writes. From now on this root is the trusted
    /// one and these versions the lowest accepted.
    pub(crate) fn record(&self, dir: &TrustDir, gun: &Gun) -> Result<()> {
        let mut changed = Vec::new();
        for (role, bytes) in &self.files {
            if cached(dir, gun, role)?.as_deref() != Some(bytes.as_slice()) {
                changed.push((*role, bytes));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let lock = dir.lock()?;
        // Root last: a crash in between leaves the older trusted root with newer role files,
        // which the next run verifies again from that root.
        changed.sort_by_key(|(role, _)| *role == "root");
        for (role, bytes) in changed {
            dir.write_metadata(&lock, gun, role, bytes)?;
        }
        Ok(())
    }
}

/// The roles below root, in the order a client verifies them.
const ROLES: [&str; 3] = ["timestamp", "snapshot", "targets"];

/// A cached metadata file of `gun`, if there is one (bounded, never through a link).
pub(crate) fn cached(dir: &TrustDir, gun: &Gun, role: &str) -> Result<Option<Vec<u8>>> {
    let path = dir.metadata_dir(gun).join(format!("{role}.json"));
    match crate::trust_dir::read_no_follow(&path, crate::tuf::MAX_METADATA as u64) {
        Ok(bytes) => Ok(Some(bytes.to_vec())),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether this machine trusts a root of `gun` (the cache holds one): evidence that the
/// repository was published.
pub(crate) fn trusted(dir: &TrustDir, gun: &Gun) -> Result<bool> {
    Ok(cached(dir, gun, "root")?.is_some())
}

/// Fetches and verifies `gun` from `server`, then records what verified in the cache; `None` when
/// the repository is not published (404, and no trusted root).
pub(crate) fn fetch(dir: &TrustDir, server: &NotaryClient, gun: &Gun) -> Result<Option<Remote>> {
    let remote = fetch_verified(dir, server, gun)?;
    if let Some(r) = &remote {
        r.record(dir, gun)?;
    }
    Ok(remote)
}

/// Like [`fetch`], without recording anything: for a caller with more to check before this
/// machine may trust what the server says.
pub(crate) fn fetch_verified(
    dir: &TrustDir,
    server: &NotaryClient,
    gun: &Gun,
) -> Result<Option<Remote>> {
    let now = SystemTime::now();
    let cached_root = cached(dir, gun, "root")?;
    let Some(latest) = server.get(gun, "root.json")? else {
        if cached_root.is_some() {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "{} says {gun} is not published, but this machine trusts a root of it ({}). The server lost its data or hides it; nothing was changed. If the server was reset on purpose, move that directory away and publish again",
                    server.url(),
                    dir.metadata_dir(gun).display()
                ),
            });
        }
        return Ok(None);
    };
    let trusted = chain::update(
        gun,
        cached_root.as_deref(),
        latest,
        &mut |version| server.get(gun, &format!("{version}.root.json")),
        server.pinning(),
        now,
    )?;
    let root = trusted.root.signed().clone();
    let previous_root = cached_root
        .as_deref()
        .and_then(|b| Envelope::parse(b).ok())
        .map(|e| e.signed);

    let get = |file: &str| -> Result<Vec<u8>> {
        server
            .get(gun, file)?
            .ok_or_else(|| Error::InvalidMetadata {
                reason: format!("{} has root.json for {gun} but no {file}", server.url()),
            })
    };
    let mut files: Vec<(&'static str, Vec<u8>)> = vec![("root", trusted.bytes.clone())];
    let mut signed: Vec<Value> = Vec::with_capacity(3);
    for role in ROLES {
        let bytes = get(&format!("{role}.json"))?;
        if let Some(parent) = signed.last() {
            verify::check_meta(&parent["meta"][role], &format!("{role}.json"), &bytes)?;
        }
        let checked = verify::check_role(&bytes, role, &root, now)?;
        if let Some(floor) = version_floor(dir, gun, role, previous_root.as_ref(), &root)?
            && checked.version < floor
        {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "the server's {role}.json of {gun} is version {}, older than version {floor} this machine already saw: a rollback",
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
    Ok(Some(Remote {
        root_bytes: trusted.bytes,
        root_signers: trusted.root.signers.clone(),
        root,
        timestamp,
        snapshot,
        targets,
        files,
    }))
}

/// The lowest acceptable version of `role`: the cached one, unless the role's keys changed
/// with the root (TUF §5.3.11: after a key rotation a fast-forwarded version must not lock the
/// repository out). A cached file that cannot be parsed is no evidence.
fn version_floor(
    dir: &TrustDir,
    gun: &Gun,
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
    // Snapshot and timestamp versions are reset together when either key changes.
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
    Ok(cached(dir, gun, role)?
        .and_then(|b| Envelope::parse(&b).ok())
        .and_then(|e| e.signed["version"].as_u64()))
}

/// The local root key that `remote` lets keytool sign with: listed by the verified root **and**
/// among its valid signers (a root that merely lists this machine's certificate proves nothing).
/// Returns the listed (certificate) ID and the private key file's ID.
pub(crate) fn signing_root_key(
    dir: &TrustDir,
    remote: &Remote,
    gun: &Gun,
) -> Result<(crate::ids::KeyId, crate::ids::KeyId)> {
    let mut listed_locally = false;
    for listed in roles::role_key_ids(&remote.root, "root") {
        let Some(canonical) =
            roles::root_key(&remote.root, &listed).and_then(|k| roles::canonical_id(&k))
        else {
            continue;
        };
        if !dir.key_path(&canonical).is_file() {
            continue;
        }
        listed_locally = true;
        if remote.root_signers.contains(&listed) {
            return Ok((listed.parse()?, canonical));
        }
    }
    if listed_locally {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "the server's root.json of {gun} lists this machine's root key but was not signed by it; keytool will not extend a root it did not sign (a forged root?). Nothing was changed"
            ),
        });
    }
    Err(Error::KeyNotFound {
        key_id: "(the root key the server's root.json names; rotation must be signed by it)".into(),
        dir: dir.private_dir(),
    })
}
