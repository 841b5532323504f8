//! Typed TUF metadata in notary's dialect (spec §9.4): [`Signed`] envelopes of [`Root`],
//! [`Targets`], [`Snapshot`] and [`Timestamp`].
//!
//! Only what keytool reads or writes is typed; every other member, at every level, is kept in an
//! `extra` map and written back unchanged, so that re-signing metadata made by notary (or any
//! other tool) never drops data. Typed members missing or of the wrong JSON type are an
//! [`Error::InvalidMetadata`], never a default.
//!
//! Signatures are not computed over these structs as they re-serialise: they are verified over
//! the `signed` value as received ([`super::Envelope`]), and computed over the canonical JSON of
//! the serialised struct ([`super::sign`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Signature, TufKey};
use crate::error::{Error, Result};

/// Members of a metadata object (or a nested object) that keytool does not interpret.
pub type Extra = BTreeMap<String, Value>;

/// A metadata document: the `signed` object and its signatures.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed<T> {
    /// The signed object.
    pub signed: T,
    /// Its signatures.
    pub signatures: Vec<Signature>,
}

/// What the four top-level metadata types have in common.
pub trait Metadata: DeserializeOwned {
    /// The `_type` value (`Root`, `Targets`, …).
    const TYPE: &'static str;
    /// The role, which is also the file name without `.json`.
    const ROLE: &'static str;
    /// The `_type` the document claims.
    fn kind(&self) -> &str;
    /// The version.
    fn version(&self) -> u64;
    /// The expiry as written (RFC 3339; checked by [`super::verify::check_expiry`]).
    fn expires(&self) -> &str;

    /// Reads a `signed` object from its JSON text (no tree is built). Fails, with what is wrong,
    /// when a typed member is missing or of the wrong type.
    fn from_signed(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::InvalidMetadata {
            reason: format!(
                "{}.json is not valid {} metadata ({})",
                Self::ROLE,
                Self::TYPE,
                crate::ids::clip(&e.to_string())
            ),
        })
    }
}

/// A present member must be a value, not `null` (which would not be written back).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// root.json's `signed` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Root {
    /// `Root`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Whether the repository uses consistent snapshots (notary always writes it; kept absent
    /// when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub consistent_snapshot: Option<bool>,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// Every key any role names, by TUF key ID.
    pub keys: BTreeMap<String, Key>,
    /// The base roles (`root`, `targets`, `snapshot`, `timestamp`).
    pub roles: BTreeMap<String, RoleEntry>,
    /// The version (at least 1).
    pub version: u64,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A public key in `keys`: `{"keytype":…,"keyval":{"private":null,"public":…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// `ecdsa`, `ecdsa-x509`, `ed25519`, `rsa`, `rsa-x509`.
    pub keytype: String,
    /// The key material.
    pub keyval: KeyVal,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key's `keyval`. Its `private` member (always `null` in metadata) is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyVal {
    /// Standard base64 of the public key (or PEM certificate), kept as written.
    pub public: String,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Key {
    /// The decoded key; `None` when `keyval.public` is not base64.
    pub fn decode(&self) -> Option<TufKey> {
        Some(TufKey {
            keytype: self.keytype.clone(),
            public: STANDARD.decode(&self.keyval.public).ok()?,
        })
    }
}

impl From<&TufKey> for Key {
    fn from(key: &TufKey) -> Self {
        Key {
            keytype: key.keytype.clone(),
            keyval: KeyVal {
                public: STANDARD.encode(&key.public),
                extra: [("private".to_owned(), Value::Null)].into(),
            },
            extra: Extra::new(),
        }
    }
}

/// A role in root.json's `roles` (or a delegation): the key IDs that may sign it and how many
/// must.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleEntry {
    /// The TUF IDs of its keys.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign (checked to be at least 1 where it is used).
    pub threshold: u64,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `keys` and the key of `id` in them, with its ID checked (computed, never taken from the JSON
/// as received, spec trap 4).
fn checked_key(keys: &BTreeMap<String, Key>, id: &str) -> Option<TufKey> {
    let key = keys.get(id)?.decode()?;
    (key.id().as_str() == id).then_some(key)
}

impl Root {
    /// The key IDs `role` lists (none when root.json has no such role).
    pub fn role_key_ids(&self, role: &str) -> &[String] {
        self.roles.get(role).map_or(&[], |r| r.keyids.as_slice())
    }

    /// The key of `id`, with its ID checked; `None` when it is missing, undecodable or its ID
    /// does not match its content.
    pub fn key(&self, id: &str) -> Option<TufKey> {
        checked_key(&self.keys, id)
    }

    /// The canonical (file-name) IDs of `role`'s keys that root.json holds, in listed order.
    pub fn canonical_ids(&self, role: &str) -> Vec<crate::ids::KeyId> {
        self.role_key_ids(role)
            .iter()
            .filter_map(|id| self.key(id))
            .filter_map(|k| super::roles::canonical_id(&k))
            .collect()
    }
}

/// targets.json's `signed` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// `Targets`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Delegated roles (notary always writes them, possibly empty; kept absent when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub delegations: Option<Delegations>,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// The signed targets by name.
    pub targets: BTreeMap<String, FileMeta>,
    /// The version.
    pub version: u64,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `targets` role's `signed` object as the repository walk reads it: in full ([`Targets`]), or
/// without its target map ([`TargetsSummary`]).
pub trait TargetsRole: Metadata + Clone + std::fmt::Debug {
    /// Its delegations, when it has them.
    fn delegations(&self) -> Option<&Delegations>;
}

impl TargetsRole for Targets {
    fn delegations(&self) -> Option<&Delegations> {
        self.delegations.as_ref()
    }
}

/// A `targets` role's `signed` object without its targets, for reporting on a repository in
/// memory that does not grow with the number of targets (each target is still read and checked
/// to be well formed, then dropped). It cannot be written back: it is not the whole document.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TargetsSummary {
    /// `Targets`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Delegated roles.
    #[serde(default, deserialize_with = "present")]
    pub delegations: Option<Delegations>,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// How many targets it signs.
    #[serde(rename = "targets", deserialize_with = "count_targets")]
    pub target_count: u64,
    /// The version.
    pub version: u64,
}

impl TargetsRole for TargetsSummary {
    fn delegations(&self) -> Option<&Delegations> {
        self.delegations.as_ref()
    }
}

/// Counts the members of a target map, reading each as a [`FileMeta`] (so that a malformed one
/// is refused as [`Targets`] would refuse it) without keeping any.
fn count_targets<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    struct Count;

    impl<'de> Visitor<'de> for Count {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of targets")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<u64, A::Error> {
            let mut count = 0;
            while map.next_key::<IgnoredAny>()?.is_some() {
                map.next_value::<FileMeta>()?;
                count += 1;
            }
            Ok(count)
        }
    }

    d.deserialize_map(Count)
}

/// targets.json's `delegations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delegations {
    /// The delegations' keys by TUF key ID.
    pub keys: BTreeMap<String, Key>,
    /// The delegated roles.
    pub roles: Vec<DelegatedRole>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Delegations {
    /// The key of `id`, with its ID checked (see [`Root::key`]).
    pub fn key(&self, id: &str) -> Option<TufKey> {
        checked_key(&self.keys, id)
    }
}

/// One delegated role (`targets/releases`, …). Its `paths` are kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// The role name.
    pub name: String,
    /// Its keys and threshold.
    #[serde(flatten)]
    pub role: RoleEntry,
}

impl DelegatedRole {
    /// Whether the role may sign target `name`: one of its `paths` is a prefix of it (notary's
    /// `""` admits every name). A role without `paths` (notary's `path_hash_prefixes` are never
    /// written by docker or notary's CLI) admits none.
    pub fn admits(&self, name: &str) -> bool {
        self.role
            .extra
            .get("paths")
            .and_then(Value::as_array)
            .is_some_and(|paths| {
                paths
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|p| name.starts_with(p))
            })
    }
}

/// Whether `name` is a delegated role that docker signs into: a direct child of `targets`
/// (`targets/releases`, `targets/alice`) whose last part is a plain name (letters, digits,
/// `_`, `-`, `.`, not starting with `.`), so that it is also a safe file name in the cache.
pub fn is_signer_role(name: &str) -> bool {
    name.strip_prefix("targets/").is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 255
            && !n.starts_with('.')
            && n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    })
}

/// The length and hashes of a file (a target, or a metadata file in snapshot/timestamp `meta`).
///
/// Read and written by hand rather than with `#[serde(flatten)]`: a targets.json lists
/// thousands of these, and flatten's buffering cost signing 1,000 targets about 10 % more
/// (docs/benchmarks.md).
#[derive(Clone, Debug, PartialEq)]
pub struct FileMeta {
    /// Its exact length in bytes.
    pub length: u64,
    /// Standard base64 digests by algorithm (`sha256`, `sha512`).
    pub hashes: BTreeMap<String, String>,
    /// Other members (`custom`).
    pub extra: Extra,
}

impl Serialize for FileMeta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2 + self.extra.len()))?;
        map.serialize_entry("length", &self.length)?;
        map.serialize_entry("hashes", &self.hashes)?;
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for FileMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error as _, MapAccess, Visitor};

        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = FileMeta;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object with a length and hashes")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<FileMeta, A::Error> {
                let (mut length, mut hashes, mut extra) = (None, None, Extra::new());
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "length" if length.is_none() => length = Some(map.next_value()?),
                        "hashes" if hashes.is_none() => hashes = Some(map.next_value()?),
                        "length" | "hashes" => {
                            return Err(A::Error::custom(format!("duplicate field `{key}`")));
                        }
                        _ => {
                            let value = map.next_value()?;
                            extra.insert(key, value);
                        }
                    }
                }
                Ok(FileMeta {
                    length: length.ok_or_else(|| A::Error::missing_field("length"))?,
                    hashes: hashes.ok_or_else(|| A::Error::missing_field("hashes"))?,
                    extra,
                })
            }
        }

        d.deserialize_map(Members)
    }
}

impl FileMeta {
    /// The `meta` entry of `bytes`: exact length and SHA-256/512 of the exact bytes (spec §9.3).
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256, Sha512};
        FileMeta {
            length: bytes.len() as u64,
            hashes: [
                ("sha256".to_owned(), STANDARD.encode(Sha256::digest(bytes))),
                ("sha512".to_owned(), STANDARD.encode(Sha512::digest(bytes))),
            ]
            .into(),
            extra: Extra::new(),
        }
    }
}

/// snapshot.json's `signed` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `Snapshot`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// root.json, targets.json (and delegations) by role.
    pub meta: BTreeMap<String, FileMeta>,
    /// The version.
    pub version: u64,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

/// timestamp.json's `signed` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timestamp {
    /// `Timestamp`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// snapshot.json by role.
    pub meta: BTreeMap<String, FileMeta>,
    /// The version.
    pub version: u64,
    /// Other members.
    #[serde(flatten)]
    pub extra: Extra,
}

macro_rules! metadata {
    ($t:ty, $kind:literal, $role:literal) => {
        impl Metadata for $t {
            const TYPE: &'static str = $kind;
            const ROLE: &'static str = $role;
            fn kind(&self) -> &str {
                &self.kind
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> &str {
                &self.expires
            }
        }
    };
}

metadata!(Root, "Root", "root");
metadata!(Targets, "Targets", "targets");
metadata!(TargetsSummary, "Targets", "targets");
metadata!(Snapshot, "Snapshot", "snapshot");
metadata!(Timestamp, "Timestamp", "timestamp");

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use serde_json::json;

    use super::*;
    use crate::ids::Gun;
    use crate::key::{PrivateKey, cert};
    use crate::tuf::{Envelope, cjson, roles, sign, verify};

    /// notary-compat.md §10 TV4, as notary wrote it.
    const TV4: &str = r#"{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2029-11-21T09:58:59.833506502Z","targets":{},"version":1},"signatures":[{"keyid":"45ef91c4cf25c5a524c1337ee370d82a4d65ec3d795b55c8687d6da63107bf4d","method":"ecdsa","sig":"4dXgc1Mezcapo+KdV2EG+Derww4Nsz6zQZAumERrH7TQqj5MHhgL8vblA0rnPd20dN0AiQ5yeFvbbPutwBTADA=="}]}"#;

    fn ecdsa(k: &PrivateKey) -> TufKey {
        TufKey {
            keytype: "ecdsa".into(),
            public: k.public().bytes().to_vec(),
        }
    }

    #[test]
    fn notary_metadata_re_serialises_to_the_same_canonical_bytes() {
        let env = Envelope::parse(TV4.as_bytes()).expect("parses");
        let targets: Targets = env.typed().expect("typed");
        assert_eq!(targets.version, 1);
        let back = serde_json::to_value(&targets).expect("encodes");
        let signed: Value = serde_json::from_str(env.signed.get()).expect("JSON");
        assert_eq!(back, signed);
        assert_eq!(
            cjson::to_vec(&back).expect("canonical"),
            env.canonical().expect("canonical")
        );
    }

    #[test]
    fn a_summary_reads_what_the_full_read_reads_without_the_targets() {
        let text = |targets: Value| {
            json!({"_type": "Targets", "delegations": {"keys": {}, "roles": [], "x": 1},
                   "expires": "2030-01-01T00:00:00Z", "targets": targets, "version": 9, "x-other": [1]})
            .to_string()
        };
        let two = text(json!({"a": {"hashes": {"sha256": "x"}, "length": 1},
                              "b": {"custom": null, "hashes": {}, "length": 2}}));
        let full = Targets::from_signed(&two).expect("full");
        let summary = TargetsSummary::from_signed(&two).expect("summary");
        assert_eq!(summary.target_count, full.targets.len() as u64);
        assert_eq!(summary.target_count, 2);
        assert_eq!(
            (summary.version, summary.expires.as_str(), summary.kind.as_str()),
            (full.version, full.expires.as_str(), full.kind.as_str())
        );
        assert_eq!(summary.delegations, full.delegations);
        for bad in [
            json!({"a": {"hashes": {"sha256": 1}, "length": 1}}),
            json!({"a": {"hashes": {}}}),
            json!({"a": {"hashes": {}, "length": -1}}),
            json!(["a"]),
        ] {
            assert!(Targets::from_signed(&text(bad.clone())).is_err(), "{bad}");
            assert!(TargetsSummary::from_signed(&text(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn builders_lay_metadata_out_as_notary_does() {
        let now = SystemTime::now();
        let key = |_: ()| ecdsa(&PrivateKey::generate_ecdsa().expect("key"));
        let keys = roles::BaseKeys {
            root: key(()),
            targets: key(()),
            snapshot: key(()),
            timestamp: key(()),
        };
        let mut map = serde_json::Map::new();
        for k in [&keys.root, &keys.targets, &keys.snapshot, &keys.timestamp] {
            map.insert(k.id().to_string(), k.to_json());
        }
        let role = |k: &TufKey| json!({"keyids": [k.id().to_string()], "threshold": 1});
        let expected = json!({
            "_type": "Root",
            "consistent_snapshot": false,
            "expires": roles::go_time(now + roles::ROOT_EXPIRY),
            "keys": map,
            "roles": {
                "root": role(&keys.root),
                "snapshot": role(&keys.snapshot),
                "targets": role(&keys.targets),
                "timestamp": role(&keys.timestamp),
            },
            "version": 1,
        });
        let root = roles::root(&keys, now);
        assert_eq!(serde_json::to_value(&root).expect("encodes"), expected);
        let targets = roles::empty_targets(3, now);
        assert_eq!(
            serde_json::to_value(&targets).expect("encodes"),
            json!({
                "_type": "Targets",
                "delegations": {"keys": {}, "roles": []},
                "expires": roles::go_time(now + roles::TARGETS_EXPIRY),
                "targets": {},
                "version": 3,
            })
        );
        let snapshot = roles::snapshot(2, b"root", b"targets", now);
        assert_eq!(
            serde_json::to_value(&snapshot.meta["root"]).expect("encodes"),
            json!({
                "hashes": {
                    "sha256": "SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=",
                    "sha512": "ma3CMbBFMx5RSlFrS3aA9YjjgjITq+kBc4vDrWey9vyzxk77k9GAAliNPMwaSe+64c4gy0PfNrOGUfEfp1Z46A==",
                },
                "length": 4,
            })
        );
    }

    /// A root.json made by another tool, with members keytool does not know at the top level, in
    /// a key, in a key's `keyval` and in a role, survives parse -> modify -> re-sign -> verify.
    #[test]
    fn unknown_members_survive_a_re_sign() {
        let gun: Gun = "example.com/schema/repo".parse().expect("gun");
        let now = SystemTime::now();
        let root_key = PrivateKey::generate_ecdsa().expect("key");
        let root_cert = TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert::root_certificate(&root_key, &gun, now)
                .expect("cert")
                .into_bytes(),
        };
        let targets = ecdsa(&PrivateKey::generate_ecdsa().expect("key"));
        let keys = roles::BaseKeys {
            root: root_cert.clone(),
            targets: targets.clone(),
            snapshot: ecdsa(&PrivateKey::generate_ecdsa().expect("key")),
            timestamp: ecdsa(&PrivateKey::generate_ecdsa().expect("key")),
        };
        let mut foreign = serde_json::to_value(roles::root(&keys, now)).expect("encodes");
        let unknown = json!({"tool": "other", "list": [1, "two", null, {"nested": true}]});
        foreign["x-top"] = unknown.clone();
        foreign["keys"][targets.id().as_str()]["x-key"] = json!("key note");
        foreign["keys"][targets.id().as_str()]["keyval"]["x-keyval"] = json!(7);
        foreign["roles"]["targets"]["x-role"] = json!({"paths": ["a/", "b/"]});
        let root_id = root_cert.id();
        let bytes = sign(&foreign, &[(&root_id, &root_key)]).expect("signs");

        // Parse (verified over the received bytes), then modify the typed document as a
        // rotation does: a new targets key, the next version.
        let mut root = verify::verify_root(&bytes, &gun, now).expect("verifies");
        assert_eq!(serde_json::to_value(&root).expect("encodes"), foreign);
        let new_targets = ecdsa(&PrivateKey::generate_ecdsa().expect("key"));
        root.keys
            .insert(new_targets.id().to_string(), Key::from(&new_targets));
        let role = root.roles.get_mut("targets").expect("targets role");
        role.keyids = vec![new_targets.id().to_string()];
        root.version += 1;
        let resigned = sign(&root, &[(&root_id, &root_key)]).expect("signs");

        let again = verify::verify_root(&resigned, &gun, now).expect("verifies");
        assert_eq!(again.version, 2);
        assert_eq!(
            again.role_key_ids("targets"),
            [new_targets.id().to_string()]
        );
        let value: Value =
            serde_json::from_str(Envelope::parse(&resigned).expect("parses").signed.get())
                .expect("JSON");
        assert_eq!(value["x-top"], unknown);
        assert_eq!(value["keys"][targets.id().as_str()]["x-key"], "key note");
        assert_eq!(
            value["keys"][targets.id().as_str()]["keyval"]["x-keyval"],
            7
        );
        assert_eq!(value["roles"]["targets"]["x-role"]["paths"][1], "b/");
        assert_eq!(
            value["keys"][new_targets.id().as_str()],
            new_targets.to_json(),
            "new keys are written as notary writes them"
        );
    }

    #[test]
    fn unknown_members_of_targets_and_snapshots_survive() {
        let signed = json!({
            "_type": "Targets",
            "delegations": {
                "keys": {"k": {"keytype": "ecdsa", "keyval": {"private": null, "public": "AA=="}, "x": 1}},
                "roles": [{"keyids": ["k"], "name": "targets/releases", "paths": [""], "threshold": 1}],
                "x-delegations": "d",
            },
            "expires": "2030-01-01T00:00:00Z",
            "targets": {"latest": {"custom": {"a": 1}, "hashes": {"sha256": "x"}, "length": 3}},
            "version": 4,
            "x-targets": [],
        });
        let targets = Targets::from_signed(&signed.to_string()).expect("parses");
        assert_eq!(
            targets.delegations.as_ref().expect("present").roles[0]
                .role
                .threshold,
            1
        );
        assert_eq!(serde_json::to_value(&targets).expect("encodes"), signed);
        let signed = json!({
            "_type": "Snapshot",
            "expires": "2030-01-01T00:00:00Z",
            "meta": {"root": {"hashes": {"sha256": "x", "md5": "y"}, "length": 3, "x": null}},
            "version": 4,
        });
        let snapshot = Snapshot::from_signed(&signed.to_string()).expect("parses");
        assert_eq!(serde_json::to_value(&snapshot).expect("encodes"), signed);
        // Optional members stay absent when absent.
        let signed = json!({"_type": "Targets", "expires": "e", "targets": {}, "version": 1});
        let targets = Targets::from_signed(&signed.to_string()).expect("parses");
        assert_eq!(serde_json::to_value(&targets).expect("encodes"), signed);
    }

    #[test]
    fn missing_or_ill_typed_members_are_errors_not_defaults() {
        let good = json!({
            "_type": "Root",
            "consistent_snapshot": false,
            "expires": "2030-01-01T00:00:00Z",
            "keys": {"k": {"keytype": "ecdsa", "keyval": {"private": null, "public": "AA=="}}},
            "roles": {"root": {"keyids": ["k"], "threshold": 1}},
            "version": 1,
        });
        assert!(Root::from_signed(&good.to_string()).is_ok());
        type Breakage = (&'static str, fn(&mut Value));
        let broken: Vec<Breakage> = vec![
            ("no version", |v| {
                drop(v.as_object_mut().map(|m| m.remove("version")))
            }),
            ("version as text", |v| v["version"] = json!("1")),
            ("negative version", |v| v["version"] = json!(-1)),
            ("fractional version", |v| v["version"] = json!(1.5)),
            ("version past u64", |v| v["version"] = json!(1e30)),
            ("no expiry", |v| {
                drop(v.as_object_mut().map(|m| m.remove("expires")))
            }),
            ("null consistent_snapshot", |v| {
                v["consistent_snapshot"] = Value::Null
            }),
            ("threshold missing", |v| {
                drop(
                    v["roles"]["root"]
                        .as_object_mut()
                        .map(|m| m.remove("threshold")),
                )
            }),
            ("threshold as text", |v| {
                v["roles"]["root"]["threshold"] = json!("1")
            }),
            ("keyids not a list", |v| {
                v["roles"]["root"]["keyids"] = json!("k")
            }),
            ("key without keytype", |v| {
                drop(v["keys"]["k"].as_object_mut().map(|m| m.remove("keytype")))
            }),
            ("public not text", |v| {
                v["keys"]["k"]["keyval"]["public"] = json!(5)
            }),
            ("keys a list", |v| v["keys"] = json!([])),
            ("not an object", |v| *v = json!([1, 2])),
        ];
        for (what, f) in broken {
            let mut v = good.clone();
            f(&mut v);
            let err = Root::from_signed(&v.to_string()).expect_err(what);
            assert!(
                matches!(err, Error::InvalidMetadata { .. }),
                "{what}: {err}"
            );
            assert!(
                err.to_string()
                    .contains("root.json is not valid Root metadata"),
                "{what}: {err}"
            );
        }
        let meta = json!({"_type": "Timestamp", "expires": "e", "meta": {"snapshot": {"hashes": {"sha256": 1}, "length": 1}}, "version": 1});
        assert!(
            Timestamp::from_signed(&meta.to_string()).is_err(),
            "a hash that is not text"
        );
        let meta = json!({"_type": "Timestamp", "expires": "e", "meta": {"snapshot": {"hashes": {}}}, "version": 1});
        assert!(Timestamp::from_signed(&meta.to_string()).is_err(), "no length");
    }

    fn extras() -> impl proptest::strategy::Strategy<Value = Vec<(String, Value)>> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        let value = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        // Names keytool does not type (they all start with `x-`).
        proptest::collection::vec(("x-[a-z_]{0,8}", value), 0..4)
    }

    proptest::proptest! {
        /// Whatever unknown members a root.json carries, at the top, in a key, in its keyval or
        /// in a role, reading and writing it back gives the same value.
        #[test]
        fn unknown_members_round_trip(
            top in extras(), key in extras(), keyval in extras(), role in extras()
        ) {
            let mut v = json!({
                "_type": "Root",
                "expires": "2030-01-01T00:00:00Z",
                "keys": {"k": {"keytype": "ecdsa", "keyval": {"private": null, "public": "AA=="}}},
                "roles": {"root": {"keyids": ["k"], "threshold": 1}},
                "version": 1,
            });
            for (name, value) in top {
                v[name] = value;
            }
            for (name, value) in key {
                v["keys"]["k"][name] = value;
            }
            for (name, value) in keyval {
                v["keys"]["k"]["keyval"][name] = value;
            }
            for (name, value) in role {
                v["roles"]["root"][name] = value;
            }
            let root = Root::from_signed(&v.to_string()).expect("parses");
            proptest::prop_assert_eq!(serde_json::to_value(&root).expect("encodes"), v);
        }
    }
}
