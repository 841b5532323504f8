//! Building the `signed` parts of root.json and targets.json as notary lays them out (§9.4),
//! with notary's default expiries (§9.5) and Go's time format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use super::TufKey;
use super::schema::{
    Delegations, Extra, FileMeta, Key, Metadata, RoleEntry, Root, Snapshot, Targets,
};
use crate::ids::KeyId;

/// Root metadata expiry: 10 × 365 days.
pub const ROOT_EXPIRY: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Targets (and snapshot) metadata expiry: 3 × 365 days.
pub const TARGETS_EXPIRY: Duration = Duration::from_secs(3 * 365 * 86_400);

/// The keys of the four base roles of a new repository.
#[derive(Clone, Debug)]
pub struct BaseKeys {
    /// The root certificate key (`ecdsa-x509`).
    pub root: TufKey,
    /// The targets key.
    pub targets: TufKey,
    /// The snapshot key (the server's when it manages snapshots).
    pub snapshot: TufKey,
    /// The server's timestamp key.
    pub timestamp: TufKey,
}

/// The `signed` object of root.json version 1.
pub fn root(keys: &BaseKeys, now: SystemTime) -> Root {
    let role = |k: &TufKey| RoleEntry {
        keyids: vec![k.id().to_string()],
        threshold: 1,
        extra: Extra::new(),
    };
    Root {
        kind: Root::TYPE.into(),
        consistent_snapshot: Some(false),
        expires: go_time(now + ROOT_EXPIRY),
        keys: [&keys.root, &keys.targets, &keys.snapshot, &keys.timestamp]
            .into_iter()
            .map(|k| (k.id().to_string(), Key::from(k)))
            .collect(),
        roles: [
            ("root", &keys.root),
            ("snapshot", &keys.snapshot),
            ("targets", &keys.targets),
            ("timestamp", &keys.timestamp),
        ]
        .into_iter()
        .map(|(name, k)| (name.to_owned(), role(k)))
        .collect(),
        version: 1,
        extra: Extra::new(),
    }
}

/// The `signed` object of an empty targets.json.
pub fn empty_targets(version: u64, now: SystemTime) -> Targets {
    Targets {
        kind: Targets::TYPE.into(),
        delegations: Some(Delegations {
            keys: BTreeMap::new(),
            roles: Vec::new(),
            extra: Extra::new(),
        }),
        expires: go_time(now + TARGETS_EXPIRY),
        targets: BTreeMap::new(),
        version,
        extra: Extra::new(),
    }
}

/// The `signed` object of snapshot.json listing root.json and targets.json.
pub fn snapshot(version: u64, root: &[u8], targets: &[u8], now: SystemTime) -> Snapshot {
    Snapshot {
        kind: Snapshot::TYPE.into(),
        expires: go_time(now + TARGETS_EXPIRY),
        meta: [
            ("root".to_owned(), FileMeta::of(root)),
            ("targets".to_owned(), FileMeta::of(targets)),
        ]
        .into(),
        version,
        extra: Extra::new(),
    }
}

/// Go's `time.Time` JSON form in UTC: RFC 3339 with nanoseconds, trailing zeros trimmed.
pub fn go_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, day, h, mi, s) = crate::key::cert::civil(d.as_secs());
    let mut out = format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}");
    let nanos = d.subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The canonical (file-name) ID of a key listed in root.json: for x509 keys, the ID of the
/// certificate's public key (notary's `CanonicalKeyID`).
pub fn canonical_id(key: &TufKey) -> Option<KeyId> {
    match key.keytype.as_str() {
        "ecdsa-x509" | "rsa-x509" => crate::key::cert::canonical_key_id(&key.public).ok(),
        _ => Some(key.id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_format() {
        let t = UNIX_EPOCH + Duration::new(1_795_341_539, 833_506_502);
        assert_eq!(go_time(t), "2026-11-22T09:58:59.833506502Z");
        assert_eq!(
            go_time(UNIX_EPOCH + Duration::new(1_795_341_539, 500_000_000)),
            "2026-11-22T09:58:59.5Z"
        );
        assert_eq!(
            go_time(UNIX_EPOCH + Duration::from_secs(1_795_341_539)),
            "2026-11-22T09:58:59Z"
        );
    }
}
