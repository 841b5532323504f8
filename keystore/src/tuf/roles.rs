//! Building the `signed` parts of root.json and targets.json as notary lays them out (§9.4),
//! with notary's default expiries (§9.5) and Go's time format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::TufKey;
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
pub fn root(keys: &BaseKeys, now: SystemTime) -> Value {
    let mut map = serde_json::Map::new();
    for k in [&keys.root, &keys.targets, &keys.snapshot, &keys.timestamp] {
        map.insert(k.id().to_string(), k.to_json());
    }
    let role = |k: &TufKey| json!({"keyids": [k.id().to_string()], "threshold": 1});
    json!({
        "_type": "Root",
        "consistent_snapshot": false,
        "expires": go_time(now + ROOT_EXPIRY),
        "keys": map,
        "roles": {
            "root": role(&keys.root),
            "snapshot": role(&keys.snapshot),
            "targets": role(&keys.targets),
            "timestamp": role(&keys.timestamp),
        },
        "version": 1,
    })
}

/// The `signed` object of an empty targets.json.
pub fn empty_targets(version: u64, now: SystemTime) -> Value {
    json!({
        "_type": "Targets",
        "delegations": {"keys": {}, "roles": []},
        "expires": go_time(now + TARGETS_EXPIRY),
        "targets": {},
        "version": version,
    })
}

/// The `meta` entry of a file in snapshot/timestamp metadata: exact length and SHA-256/512 of the
/// exact bytes (spec §9.3).
pub fn file_meta(bytes: &[u8]) -> Value {
    use base64::Engine as _;
    use sha2::{Digest, Sha256, Sha512};
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({
        "hashes": {"sha256": b64.encode(Sha256::digest(bytes)), "sha512": b64.encode(Sha512::digest(bytes))},
        "length": bytes.len(),
    })
}

/// The `signed` object of snapshot.json listing root.json and targets.json.
pub fn snapshot(version: u64, root: &[u8], targets: &[u8], now: SystemTime) -> Value {
    json!({
        "_type": "Snapshot",
        "expires": go_time(now + TARGETS_EXPIRY),
        "meta": {"root": file_meta(root), "targets": file_meta(targets)},
        "version": version,
    })
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

/// The key IDs a role of a root `signed` object lists.
pub fn role_key_ids(root: &Value, role: &str) -> Vec<String> {
    root["roles"][role]["keyids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The key of `id` in a root `signed` object, with its ID checked.
pub fn root_key(root: &Value, id: &str) -> Option<TufKey> {
    let key = TufKey::from_json(&root["keys"][id]).ok()?;
    (key.id().as_str() == id).then_some(key)
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
