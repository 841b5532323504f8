//! A whole repository verified the way a TUF client walks it, independent of where the files
//! come from (the Notary client in `ops`, or a fuzzer):
//! 1. root: from the trusted root through every newer version ([`chain`]), or trusted on first
//!    use under trust pinning;
//! 2. timestamp -> snapshot -> targets: signed by the keys the new root names, unexpired, each
//!    matching the length and hashes the level above signed for, and no version lower than the
//!    cached one (rollback), unless the role's keys changed with the root (TUF §5.3.11);
//! 3. the delegated roles docker signs into (`targets/releases`, `targets/<signer>`: direct
//!    children of targets) that snapshot lists: signed by the keys and threshold targets.json
//!    gives them, unexpired, matching snapshot's length and hashes, no rollback. A delegation
//!    snapshot does not list has no file yet (notary's clients treat it as empty). Deeper
//!    delegations are not walked: docker neither signs nor reads them. A delegation file whose
//!    signatures no longer meet its threshold (its signer was removed), or that has expired, is
//!    set aside as unverified, as notary's clients skip it with a warning; nothing of it is
//!    trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::Deserialize;

use super::Envelope;
use super::chain::{self, TrustedRoot};
use super::pinning::TrustPinning;
use super::schema::{
    FileMeta, Metadata, Root, Snapshot, Targets, TargetsRole, TargetsSummary, Timestamp,
    is_signer_role,
};
use super::verify::{self, RoleKeys};
use crate::error::{Error, Result};
use crate::ids::Gun;

/// A repository whose every file verified.
#[derive(Clone, Debug)]
pub struct Verified<T = Targets> {
    /// The root now trusted.
    pub root: TrustedRoot,
    /// timestamp.json's `signed` object.
    pub timestamp: Timestamp,
    /// snapshot.json's `signed` object.
    pub snapshot: Snapshot,
    /// targets.json's `signed` object.
    pub targets: T,
    /// The verified bytes by role (`root`, `timestamp`, `snapshot`, `targets`), as the cache
    /// keeps them.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// The delegated roles that have a file, verified, in targets.json's order.
    pub delegations: Vec<Delegated<T>>,
    /// Delegated roles whose file is not signed by a threshold of the keys now trusted for it.
    pub unverified: Vec<Unverified<T>>,
    /// Roles (`root`, `timestamp`, `snapshot`, `targets`) that verified but have expired (for
    /// root: root.json or a root certificate): only ever non-empty from
    /// [`verify_allowing_expired`].
    pub expired: Vec<&'static str>,
}

/// A delegated role's file that does not verify now: none of its targets are trusted.
#[derive(Clone, Debug)]
pub struct Unverified<T = Targets> {
    /// The role.
    pub name: String,
    /// The version the file claims (only to publish a newer one over it).
    pub version: u64,
    /// Why it does not verify.
    pub reason: String,
    /// For a file that a threshold of its keys signed but that has expired: its content, which
    /// a re-signature renews (no newer file replaced it: the version floor held).
    pub expired: Option<T>,
}

/// At most this many delegated roles are walked; a targets.json delegating more is refused
/// (docker makes two per signer).
pub const MAX_DELEGATIONS: usize = 256;

/// A verified delegated role's file.
#[derive(Clone, Debug)]
pub struct Delegated<T = Targets> {
    /// The role (`targets/releases`).
    pub name: String,
    /// Its `signed` object.
    pub targets: T,
    /// The listed IDs of the keys whose signatures verified.
    pub signers: BTreeSet<String>,
    /// The file as served (what the cache keeps).
    pub bytes: Vec<u8>,
}

/// The delegated roles' files: those that verified, and those set aside.
type DelegatedFiles<T> = (Vec<Delegated<T>>, Vec<Unverified<T>>);

/// What verifying the roles below root needs.
struct Walk<'a> {
    gun: &'a Gun,
    root: &'a Root,
    previous_root: Option<Root>,
    cached: &'a dyn Fn(&str) -> Result<Option<u64>>,
    served: &'a mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    now: SystemTime,
    files: Vec<(&'static str, Vec<u8>)>,
    /// Accept expired roles below root (recorded in `expired`).
    expired_ok: bool,
    expired: Vec<&'static str>,
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
        let checked: T = if self.expired_ok {
            let checked = verify::verify_role_signed(&bytes, self.root)?;
            if verify::check_expiry(&checked, &file, self.now).is_err() {
                self.expired.push(role);
            }
            checked
        } else {
            verify::verify_role(&bytes, self.root, self.now)?
        };
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

    /// Fetches and verifies the delegated roles of `targets` that `snapshot` lists.
    fn delegations<T: TargetsRole>(
        &mut self,
        targets: &T,
        snapshot: &Snapshot,
    ) -> Result<DelegatedFiles<T>> {
        let gun = self.gun;
        let Some(delegations) = targets.delegations() else {
            return Ok((Vec::new(), Vec::new()));
        };
        if delegations.roles.len() > MAX_DELEGATIONS {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "the server's targets.json of {gun} delegates {} roles; at most {MAX_DELEGATIONS} are accepted",
                    delegations.roles.len()
                ),
            });
        }
        let mut out = Vec::new();
        let mut unverified = Vec::new();
        for role in &delegations.roles {
            let name = &role.name;
            let seen = out.iter().any(|d: &Delegated<T>| &d.name == name)
                || unverified.iter().any(|u: &Unverified<T>| &u.name == name);
            if !is_signer_role(name) || seen {
                continue;
            }
            let Some(meta) = snapshot.meta.get(name) else {
                continue;
            };
            let file = format!("{name}.json");
            let bytes = (self.served)(&file)?.ok_or_else(|| Error::InvalidMetadata {
                reason: format!("the server's snapshot of {gun} lists {file}, which it does not serve"),
            })?;
            verify::check_meta(Some(meta), &file, &bytes)?;
            let check = verify::check_delegation::<T>(&bytes, delegations, name)?;
            if let Some(floor) = self.version_floor(name)?
                && check.signed.version() < floor
            {
                return Err(Error::InvalidMetadata {
                    reason: format!(
                        "the server's {file} of {gun} is version {}, older than version {floor} this machine already saw: a rollback",
                        check.signed.version()
                    ),
                });
            }
            let expired = check.expires.is_none_or(|at| at < self.now);
            if !check.meets_threshold() || expired {
                let reason = if check.meets_threshold() {
                    format!(
                        "{file} expired{}",
                        check
                            .expires
                            .map(|at| format!(" at {}", super::roles::go_time(at)))
                            .unwrap_or_default()
                    )
                } else {
                    format!(
                        "{file} carries {} valid signature(s) from the keys now trusted for it; {} needed",
                        check.signers.len(),
                        check.threshold
                    )
                };
                unverified.push(Unverified {
                    name: name.clone(),
                    version: check.signed.version(),
                    reason,
                    expired: check.meets_threshold().then_some(check.signed),
                });
                continue;
            }
            let (signed, signers) = (check.signed, check.signers);
            out.push(Delegated {
                name: name.clone(),
                targets: signed,
                signers,
                bytes,
            });
        }
        Ok((out, unverified))
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
            r if r == "targets" || r.starts_with("targets/") => &["targets"],
            _ => &["timestamp", "snapshot"],
        };
        if related
            .iter()
            .any(|r| keys(previous_root, r) != keys(self.root, r))
        {
            return Ok(None);
        }
        (self.cached)(role)
    }
}

/// The `signed.version` of a metadata file read from `reader` as it streams: every other member
/// is skipped without being held, so a cached targets.json of any size costs a buffer's worth of
/// memory. `None` when the text is not a metadata envelope with a version: such a file is no
/// evidence of one. Cached files verified when they were written; this reads, it does not verify.
pub fn version_from_reader(reader: impl std::io::Read) -> Option<u64> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    #[derive(Deserialize)]
    struct File {
        signed: Versioned,
        #[serde(rename = "signatures")]
        _signatures: serde::de::IgnoredAny,
    }
    serde_json::from_reader::<_, File>(reader)
        .ok()
        .map(|f| f.signed.version)
}

/// Verifies `gun`'s metadata. `trusted_root` is the cached root (if any), `cached(role)` the
/// version of the cached file of another role (for rollback floors; [`version_from_reader`]
/// reads it), `latest` the server's root.json and
/// `served(file)` any other file of the server (`None`: it has none).
pub fn verify(
    gun: &Gun,
    trusted_root: Option<&[u8]>,
    cached: &dyn Fn(&str) -> Result<Option<u64>>,
    latest: Vec<u8>,
    served: &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
) -> Result<Verified> {
    walk(gun, trusted_root, cached, latest, served, pinning, now, false)
}

/// [`verify`], reading the targets roles without their target maps ([`TargetsSummary`]): every
/// file is verified as fully, in memory that does not grow with the number of targets. For
/// reporting on a repository; nothing read this way can be re-signed.
pub fn verify_summary(
    gun: &Gun,
    trusted_root: Option<&[u8]>,
    cached: &dyn Fn(&str) -> Result<Option<u64>>,
    latest: Vec<u8>,
    served: &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
) -> Result<Verified<TargetsSummary>> {
    walk(gun, trusted_root, cached, latest, served, pinning, now, false)
}

/// [`verify`], except that root (root.json or its root certificates), timestamp, snapshot and
/// targets may have expired (they are listed in [`Verified::expired`]); every signature, hash,
/// version and the root chain are checked as always. For renewing a repository whose metadata
/// expired.
pub fn verify_allowing_expired(
    gun: &Gun,
    trusted_root: Option<&[u8]>,
    cached: &dyn Fn(&str) -> Result<Option<u64>>,
    latest: Vec<u8>,
    served: &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
) -> Result<Verified> {
    walk(gun, trusted_root, cached, latest, served, pinning, now, true)
}

#[allow(clippy::too_many_arguments)]
fn walk<T: TargetsRole>(
    gun: &Gun,
    trusted_root: Option<&[u8]>,
    cached: &dyn Fn(&str) -> Result<Option<u64>>,
    latest: Vec<u8>,
    served: &mut dyn FnMut(&str) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
    expired_ok: bool,
) -> Result<Verified<T>> {
    let root = chain::update(
        gun,
        trusted_root,
        latest,
        &mut |version| served(&format!("{version}.root.json")),
        pinning,
        now,
        expired_ok,
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
        expired_ok,
        expired: if root.expired.is_some() {
            vec!["root"]
        } else {
            Vec::new()
        },
    };
    let timestamp: Timestamp = walk.role(None)?;
    let snapshot: Snapshot = walk.role(Some(&timestamp.meta))?;
    let targets: T = walk.role(Some(&snapshot.meta))?;
    let (delegations, unverified) = walk.delegations(&targets, &snapshot)?;
    let files = walk.files;
    let expired = walk.expired;
    Ok(Verified {
        root,
        timestamp,
        snapshot,
        targets,
        files,
        delegations,
        unverified,
        expired,
    })
}

#[cfg(test)]
mod tests {
    use super::version_from_reader;

    #[test]
    fn a_cached_version_is_read_from_the_envelope_alone() {
        let big = format!(
            r#"{{"signed":{{"_type":"Targets","targets":{{{}}},"version":7}},"signatures":[{{"keyid":"a"}}]}}"#,
            (0..1000)
                .map(|i| format!(r#""t{i}":{{"length":1}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(version_from_reader(big.as_bytes()), Some(7));
        // Not an envelope, no version, or a version that is not a count: no evidence.
        for text in [
            r#"{"signed":{"version":7}}"#,
            r#"{"signed":{},"signatures":[]}"#,
            r#"{"signed":{"version":-1},"signatures":[]}"#,
            r#"{"signed":{"version":7},"signatures":[]} trailing"#,
            "",
        ] {
            assert_eq!(version_from_reader(text.as_bytes()), None, "{text}");
        }
    }
}
