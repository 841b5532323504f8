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

use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::trust_dir::TrustDir;
use crate::tuf::repository::{self, Delegated, Unverified};
use crate::tuf::schema::{Root, Snapshot, Targets, TargetsRole, TargetsSummary, Timestamp};

/// Verified metadata of a published repository (its targets roles in full, or summarised:
/// [`fetch_summary`]).
#[derive(Clone, Debug)]
pub(crate) struct Remote<T = Targets> {
    /// root.json as served.
    pub(crate) root_bytes: Vec<u8>,
    /// Its `signed` object.
    pub(crate) root: Root,
    /// The listed IDs of the root keys that validly signed it.
    pub(crate) root_signers: BTreeSet<String>,
    /// timestamp.json's `signed` object.
    pub(crate) timestamp: Timestamp,
    /// snapshot.json's `signed` object.
    pub(crate) snapshot: Snapshot,
    /// targets.json's `signed` object.
    pub(crate) targets: T,
    /// The delegated roles (signers) that have a file, verified.
    pub(crate) delegations: Vec<Delegated<T>>,
    /// Delegated roles whose file no threshold of their trusted keys signed (nothing of them is
    /// trusted).
    pub(crate) unverified: Vec<Unverified<T>>,
    /// Roles below root that verified but have expired (only from
    /// [`fetch_verified_allowing_expired`]).
    pub(crate) expired: Vec<&'static str>,
    /// The verified files (`root`, `timestamp`, `snapshot`, `targets`), for the cache.
    files: Vec<(&'static str, Vec<u8>)>,
}

impl<T> Remote<T> {
    /// Records the verified files in the cache (only those that changed), under the trust
    /// directory's lock, taken here only for these writes. From now on this root is the trusted
    /// one and these versions the lowest accepted.
    pub(crate) fn record(&self, dir: &TrustDir, gun: &Gun) -> Result<()> {
        let mut changed = Vec::new();
        let files = self.files.iter().map(|(role, bytes)| (*role, bytes));
        let delegated = self.delegations.iter().map(|d| (d.name.as_str(), &d.bytes));
        for (role, bytes) in files.chain(delegated) {
            if !same_as_cached(dir, gun, role, bytes)? {
                changed.push((role, bytes));
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

/// A cached metadata file of `gun`, if there is one (bounded, never through a link).
pub(crate) fn cached(dir: &TrustDir, gun: &Gun, role: &str) -> Result<Option<Vec<u8>>> {
    let path = dir.metadata_dir(gun).join(format!("{role}.json"));
    match crate::trust_dir::read_no_follow(&path, crate::tuf::MAX_METADATA as u64) {
        // Metadata is public: moved out of the wiping wrapper, not copied.
        Ok(mut bytes) => Ok(Some(std::mem::take(&mut *bytes))),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the cached file of `role` holds exactly `bytes`, compared as it streams from disk: a
/// large targets.json is not held twice.
fn same_as_cached(dir: &TrustDir, gun: &Gun, role: &str, bytes: &[u8]) -> Result<bool> {
    use std::io::Read as _;
    let path = dir.metadata_dir(gun).join(format!("{role}.json"));
    let (mut file, meta) = match crate::trust_dir::open_no_follow(&path) {
        Ok(opened) => opened,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    if meta.len() != bytes.len() as u64 {
        return Ok(false);
    }
    let mut chunk = vec![0; 64 << 10];
    let mut rest = bytes;
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => return Ok(rest.is_empty()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        // A file that grew since its fstat differs.
        if n > rest.len() || chunk[..n] != rest[..n] {
            return Ok(false);
        }
        rest = &rest[n..];
    }
}

/// The `signed.version` of the cached file of `role`, read as it streams from disk (the rest of
/// the file is skipped, not held); `None` when there is no such file or it cannot be read as
/// metadata: an unreadable file is no evidence of a version.
pub(crate) fn cached_version(dir: &TrustDir, gun: &Gun, role: &str) -> Result<Option<u64>> {
    use std::io::Read as _;
    let path = dir.metadata_dir(gun).join(format!("{role}.json"));
    let file = match crate::trust_dir::open_no_follow(&path) {
        Ok((file, _)) => file,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let reader = std::io::BufReader::new(file.take(crate::tuf::MAX_METADATA as u64));
    Ok(crate::tuf::repository::version_from_reader(reader))
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

/// [`fetch`], reading the targets roles without their target maps: what a report on a
/// repository needs, in memory that does not grow with its number of targets.
pub(crate) fn fetch_summary(
    dir: &TrustDir,
    server: &NotaryClient,
    gun: &Gun,
) -> Result<Option<Remote<TargetsSummary>>> {
    let remote = fetch_with(dir, server, gun, repository::verify_summary)?;
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
    fetch_with(dir, server, gun, repository::verify)
}

/// [`fetch_verified`], accepting timestamp, snapshot and targets that have expired (listed in
/// [`Remote::expired`]; everything else is verified as always): for renewing them, and for
/// reporting them.
pub(crate) fn fetch_verified_allowing_expired(
    dir: &TrustDir,
    server: &NotaryClient,
    gun: &Gun,
) -> Result<Option<Remote>> {
    fetch_with(dir, server, gun, repository::verify_allowing_expired)
}

/// How a repository's files are verified ([`repository::verify`] and its variants).
type Walker<T> = fn(
    &Gun,
    Option<&[u8]>,
    &dyn Fn(&str) -> Result<Option<u64>>,
    Vec<u8>,
    &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    &crate::tuf::pinning::TrustPinning,
    SystemTime,
) -> Result<repository::Verified<T>>;

fn fetch_with<T: TargetsRole>(
    dir: &TrustDir,
    server: &NotaryClient,
    gun: &Gun,
    verify: Walker<T>,
) -> Result<Option<Remote<T>>> {
    let now = SystemTime::now();
    let cached_root = cached(dir, gun, "root")?;
    let Some(latest) = server.get(gun, "root.json")? else {
        if cached_root.is_some() {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "{} says {gun} is not published, but this machine trusts a root of it ({}). The server lost its data or hides it; nothing was changed. If the server was reset on purpose, or that root was never published (notary init without a publish), move that directory away and publish again",
                    server.url(),
                    dir.metadata_dir(gun).display()
                ),
            });
        }
        return Ok(None);
    };
    let verified = verify(
        gun,
        cached_root.as_deref(),
        &|role| cached_version(dir, gun, role),
        latest,
        &mut |file| server.get(gun, file),
        server.pinning(),
        now,
    )?;
    Ok(Some(Remote {
        root_bytes: verified.root.bytes.clone(),
        root_signers: verified.root.signers().clone(),
        root: verified.root.root.signed().clone(),
        timestamp: verified.timestamp,
        snapshot: verified.snapshot,
        targets: verified.targets,
        delegations: verified.delegations,
        unverified: verified.unverified,
        expired: verified.expired,
        files: verified.files,
    }))
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
    for listed in remote.root.role_key_ids("root") {
        let Some(canonical) = remote
            .root
            .key(listed)
            .and_then(|k| crate::tuf::roles::canonical_id(&k))
        else {
            continue;
        };
        if !dir.key_path(&canonical).is_file() {
            continue;
        }
        listed_locally = true;
        if remote.root_signers.contains(listed) {
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
