//! `archive`: a self-contained, verified snapshot of a repository's trust data, and its offline
//! verification (docs/leaving-dct.md, "Archive", documents the format).
//!
//! An archive is a ustar file holding, in this order:
//! - `index.json`: format version, GUN, server, time of archiving, keytool version, the number
//!   of root versions, and every other file's path, length and SHA-256;
//! - `metadata/<N>.root.json` for every root version 1..N, then `metadata/timestamp.json`,
//!   `snapshot.json`, `targets.json` and each delegated role's `metadata/targets/<name>.json`
//!   that the snapshot lists: the bytes exactly as the server served them;
//! - `inventory.json` ([`Inventory`]): tag -> digest, size, signing roles and signers;
//! - `index.json.sha256`: `index.json`'s SHA-256 in `sha256sum` format.
//!
//! Nothing is written unless the archive, as it would be written, verifies exactly as
//! [`verify_archive`] will verify it later: the root chain from version 1 (reaching the root this
//! machine trusts), every role's signatures and threshold, each file matching the length and
//! hashes the level above signed for, and an inventory equal to what the metadata says. Expiry
//! is judged at the time of archiving and reported, never fatal (the archive is history). The
//! archive holds public metadata only: no key file is ever read.

mod check;
mod inventory;
mod tarball;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use check::ARCHIVE_FORMAT;
use check::{INDEX, INDEX_SUM, INVENTORY, Index, IndexFile, METADATA, check, index_sum};
pub use inventory::{Inventory, InventoryTag, TagSigner, UnverifiedRole};

use super::remote;
use crate::error::{Argument, Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::trust_dir::TrustDir;
use crate::tuf::chain::MAX_ROOT_STEPS;
use crate::tuf::repository;
use crate::tuf::roles::go_time;
use crate::tuf::verify::parse_time;

/// An archive written.
#[derive(Clone, Debug, Serialize)]
pub struct Archived {
    /// The repository.
    pub gun: Gun,
    /// The archive file.
    pub path: PathBuf,
    /// How many root versions it holds (1..N).
    pub root_versions: u64,
    /// The root version this machine trusted, which the archived chain reaches (`None`: this
    /// machine trusted no root of the repository; the server's was taken on first use).
    pub trusted_root_version: Option<u64>,
    /// How many tag/manifest pairs the inventory lists.
    pub tags: usize,
    /// Delegated roles whose file does not verify (listed apart in the inventory).
    pub unverified_roles: Vec<String>,
    /// Roles whose file had expired (archived all the same).
    pub expired_roles: Vec<String>,
}

/// Every repository of the trust directory, archived.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ArchivedAll {
    /// The archives written.
    pub archived: Vec<Archived>,
    /// Repositories the server does not have (nothing to archive).
    pub not_published: Vec<Gun>,
    /// Repositories that could not be archived, with why.
    pub failed: Vec<ArchiveFailure>,
}

/// A repository that could not be archived.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveFailure {
    /// The repository.
    pub gun: Gun,
    /// The error.
    pub error: String,
}

/// An archive verified offline.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveReport {
    /// The repository.
    pub gun: Gun,
    /// The server it was archived from (as `index.json` says; not signed).
    pub server: String,
    /// When it was archived (as `index.json` says; expiry was judged at that time).
    pub archived_at: String,
    /// The keytool version that wrote it.
    pub keytool_version: String,
    /// How many root versions it holds, verified as a chain from version 1.
    pub root_versions: u64,
    /// The root version this machine trusts that the chain was found to reach (only checked
    /// when the repository was named).
    pub trusted_root_version: Option<u64>,
    /// Every archived role's version and expiry.
    pub roles: Vec<RoleExpiry>,
    /// The tags, verified against the signed metadata.
    pub inventory: Inventory,
}

/// The version and expiry of one archived role.
#[derive(Clone, Debug, Serialize)]
pub struct RoleExpiry {
    /// `root`, `timestamp`, `snapshot`, `targets` or a delegated role.
    pub role: String,
    /// Its version.
    pub version: u64,
    /// When it expires (as signed).
    pub expires: String,
    /// Whether it has expired by now.
    pub expired: bool,
    /// Whether it had already expired when archived.
    pub expired_when_archived: bool,
}

/// The file name an archive of `gun` gets by default (`:` and `/` percent-encoded), e.g.
/// `sandboxregistry%3A5000%2Ftest%2Ftrusttest.tar`.
pub fn archive_file_name(gun: &Gun) -> String {
    format!(
        "{}.tar",
        gun.as_str().replace(':', "%3A").replace('/', "%2F")
    )
}

/// Fetches `gun` from `server`, verifies it from the root this machine trusts (or on first use,
/// under the server's trust pinning, when it trusts none), and writes its archive to `out`
/// atomically (an existing file is never replaced). Timestamp, snapshot and targets that have
/// expired are archived and reported, and so is an expired root. Nothing in the trust
/// directory changes.
pub fn archive(dir: &TrustDir, server: &NotaryClient, gun: &Gun, out: &Path) -> Result<Archived> {
    let (bytes, mut done) = build(dir, server, gun)?;
    let (parent, name) = super::output_location(out)?;
    done.path = crate::trust_dir::write_atomic(&parent, &name, &bytes, false)?;
    Ok(done)
}

/// [`archive`] for every repository this trust directory knows (has keys or a trusted root
/// for), each into `out_dir/`[`archive_file_name`]. A repository the server does not have is
/// listed as not published (unless this machine trusts a root of it: then it failed); one that
/// fails is listed with its error, and the others go on.
pub fn archive_all(dir: &TrustDir, server: &NotaryClient, out_dir: &Path) -> Result<ArchivedAll> {
    let mut all = ArchivedAll::default();
    for gun in super::local_repositories(dir)? {
        let out = out_dir.join(archive_file_name(&gun));
        match archive(dir, server, &gun, &out) {
            Ok(done) => all.archived.push(done),
            Err(Error::InvalidArgument {
                what: Argument::Repository,
                ..
            }) => all.not_published.push(gun),
            Err(e) => all.failed.push(ArchiveFailure {
                gun,
                error: e.to_string(),
            }),
        }
    }
    Ok(all)
}

/// Verifies the archive at `path` offline (no network): see the module documentation. With
/// `gun`, the archive must be of that repository, and when this machine trusts a root of it,
/// the archived chain must reach that very root.
pub fn verify_archive(dir: &TrustDir, path: &Path, gun: Option<&Gun>) -> Result<ArchiveReport> {
    let bytes = crate::trust_dir::read_no_follow(path, tarball::MAX_ARCHIVE)?;
    let pinned = |archived: &Gun| -> Result<Option<Vec<u8>>> {
        match gun {
            Some(g) if g != archived => Err(Error::InvalidArgument {
                what: Argument::Repository,
                reason: format!("{} is an archive of {archived}, not of {g}", path.display()),
            }),
            Some(g) => remote::cached(dir, g, "root"),
            None => Ok(None),
        }
    };
    let checked = check(&bytes, &pinned).map_err(|e| match e {
        Error::InvalidMetadata { reason } => Error::InvalidMetadata {
            reason: format!("{}: {reason}", path.display()),
        },
        e => e,
    })?;
    let (now, at, v) = (SystemTime::now(), checked.at, &checked.verified);
    let base = [
        ("root", &v.root.root.signed().expires, v.root.root.version),
        ("timestamp", &v.timestamp.expires, v.timestamp.version),
        ("snapshot", &v.snapshot.expires, v.snapshot.version),
        ("targets", &v.targets.expires, v.targets.version),
    ];
    let signed_expired = v.unverified.iter().filter_map(|u| {
        Some((
            u.name.as_str(),
            &u.expired.as_ref()?.expires,
            u.expired.as_ref()?.version,
        ))
    });
    let mut delegated: Vec<(&str, &String, u64)> = v
        .delegations
        .iter()
        .map(|d| (d.name.as_str(), &d.targets.expires, d.targets.version))
        .chain(signed_expired)
        .collect();
    delegated.sort();
    let roles = base
        .into_iter()
        .chain(delegated)
        .map(|(role, expires, version)| expiry(role, expires, version, now, at))
        .collect();
    Ok(ArchiveReport {
        gun: checked.gun,
        server: checked.index.server,
        archived_at: checked.index.archived_at,
        keytool_version: checked.index.keytool_version,
        root_versions: checked.index.root_versions,
        trusted_root_version: checked.trusted_root_version,
        roles,
        inventory: checked.inventory,
    })
}

fn expiry(role: &str, expires: &str, version: u64, now: SystemTime, at: SystemTime) -> RoleExpiry {
    let when = parse_time(expires);
    RoleExpiry {
        role: role.to_owned(),
        version,
        expires: expires.to_owned(),
        expired: when.is_none_or(|t| t < now),
        expired_when_archived: when.is_none_or(|t| t < at),
    }
}

/// The archive of `gun` (its bytes, verified) and its report (without a path yet).
fn build(dir: &TrustDir, server: &NotaryClient, gun: &Gun) -> Result<(Vec<u8>, Archived)> {
    // Whole seconds: the time recorded in index.json is the time everything was judged at.
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let now = UNIX_EPOCH + Duration::from_secs(secs);
    let trusted = remote::cached(dir, gun, "root")?;
    let Some(latest) = server.get(gun, "root.json")? else {
        if trusted.is_some() {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "{} says {gun} is not published, but this machine trusts a root of it: the server lost or hides its data; nothing was archived",
                    server.url()
                ),
            });
        }
        return Err(Error::InvalidArgument {
            what: Argument::Repository,
            reason: format!(
                "{} has no trust data of {gun}: there is nothing to archive",
                server.url()
            ),
        });
    };
    let mut served: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let verified = repository::verify_allowing_expired(
        gun,
        trusted.as_deref(),
        &|role| remote::cached_version(dir, gun, role),
        latest,
        &mut |file| {
            let bytes = server.get(gun, file)?;
            if let Some(b) = &bytes {
                served.insert(file.to_owned(), b.clone());
            }
            Ok(bytes)
        },
        server.pinning(),
        now,
    )?;
    let newest = verified.root.root.version;
    if newest > MAX_ROOT_STEPS {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "the root of {gun} is version {newest}; at most {MAX_ROOT_STEPS} versions are archived"
            ),
        });
    }
    let mut metadata: Vec<(String, Vec<u8>)> = Vec::new();
    for version in 1..=newest {
        let name = format!("{version}.root.json");
        let bytes = match served.remove(&name) {
            Some(b) => b,
            None if version == newest => verified.root.bytes.clone(),
            None => server.get(gun, &name)?.ok_or_else(|| Error::InvalidMetadata {
                reason: format!(
                    "{} does not serve version {version} of {gun}'s root ({name}), so the chain from version 1 cannot be archived",
                    server.url()
                ),
            })?,
        };
        metadata.push((name, bytes));
    }
    for role in ["timestamp", "snapshot", "targets"] {
        let name = format!("{role}.json");
        if let Some(bytes) = served.remove(&name) {
            metadata.push((name, bytes));
        }
    }
    metadata.extend(
        served
            .into_iter()
            .filter(|(n, _)| n.starts_with("targets/")),
    );
    let by_name: BTreeMap<String, Vec<u8>> = metadata.iter().cloned().collect();
    let targets_bytes = by_name
        .get("targets.json")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let inventory = inventory::of(gun.as_str(), &verified, targets_bytes, &by_name)?;
    let inventory_bytes = serde_json::to_vec_pretty(&inventory).map_err(json_error)?;
    let mut files: Vec<(String, Vec<u8>)> = metadata
        .into_iter()
        .map(|(n, b)| (format!("{METADATA}{n}"), b))
        .collect();
    files.push((INVENTORY.to_owned(), inventory_bytes));
    let index = Index {
        format: ARCHIVE_FORMAT,
        gun: gun.to_string(),
        server: server.url().to_owned(),
        archived_at: go_time(now),
        keytool_version: env!("CARGO_PKG_VERSION").to_owned(),
        root_versions: newest,
        files: files
            .iter()
            .map(|(path, bytes)| IndexFile {
                path: path.clone(),
                length: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
            })
            .collect(),
    };
    let index_bytes = serde_json::to_vec_pretty(&index).map_err(json_error)?;
    let sum = index_sum(&index_bytes);
    files.insert(0, (INDEX.to_owned(), index_bytes));
    files.push((INDEX_SUM.to_owned(), sum));
    let bytes = tarball::write(&files, secs)?;
    // What is written is what a later verification will read: checked the same way first.
    let checked = check(&bytes, &|_| Ok(trusted.clone()))?;
    let mut expired_roles: Vec<String> = verified.expired.iter().map(|r| (*r).to_owned()).collect();
    expired_roles.extend(
        verified
            .unverified
            .iter()
            .filter(|u| u.expired.is_some())
            .map(|u| u.name.clone()),
    );
    let done = Archived {
        gun: gun.clone(),
        path: PathBuf::new(),
        root_versions: newest,
        trusted_root_version: checked.trusted_root_version,
        tags: checked.inventory.tags.len(),
        unverified_roles: checked
            .inventory
            .unverified_roles
            .iter()
            .map(|u| u.role.clone())
            .collect(),
        expired_roles,
    };
    Ok((bytes, done))
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Internal {
        what: format!("cannot serialise the archive's JSON: {e}"),
    }
}
