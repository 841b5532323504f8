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
pub trait Metadata: Serialize + DeserializeOwned {
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

    /// Reads a `signed` object. Fails, with what is wrong, when a typed member is missing or
    /// of the wrong type.
    fn from_signed(signed: &Value) -> Result<Self> {
        Self::deserialize(signed).map_err(|e| Error::InvalidMetadata {
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

/// The length and hashes of a file (a target, or a metadata file in snapshot/timestamp `meta`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Its exact length in bytes.
    pub length: u64,
    /// Standard base64 digests by algorithm (`sha256`, `sha512`).
    pub hashes: BTreeMap<String, String>,
    /// Other members (`custom`).
    #[serde(flatten)]
    pub extra: Extra,
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
metadata!(Snapshot, "Snapshot", "snapshot");
metadata!(Timestamp, "Timestamp", "timestamp");
