//! Trust pinning: what a root.json must be signed by before keytool trusts it, beyond "the first
//! one seen" (notary's `trust_pinning` client configuration, honoured the way notary applies it).
//!
//! For a GUN, the first rule that applies is used:
//! 1. `certs`: the GUN (or a `prefix*` entry, longest prefix first) maps to certificate IDs; a
//!    threshold of the root's signatures must come from root keys with one of those IDs (the
//!    `ecdsa-x509` ID root.json lists, or the ID of the key inside the certificate).
//! 2. `ca`: the longest GUN prefix maps to a PEM bundle of CA certificates; a threshold of the
//!    root's signatures must come from root certificates issued and signed by one of them.
//! 3. Otherwise trust on first use, unless `disable_tofu` is set and no root is trusted yet.
//!
//! Like notary, the rule is checked for every root keytool accepts, not only the first.

use crate::error::Argument;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::verify::{CheckedRoot, RoleKeys};
use super::{TufKey, roles};
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::key::pem;

/// The `trust_pinning` settings (notary's client configuration, or keytool's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct TrustPinning {
    /// GUN (or `prefix*`) → pinned root certificate IDs.
    pub certs: BTreeMap<String, Vec<String>>,
    /// GUN prefix → a PEM file of CA certificates that must have issued the root certificates.
    pub ca: BTreeMap<String, PathBuf>,
    /// Refuse to trust a repository's first root when nothing pins it.
    pub disable_tofu: bool,
}

/// The rule that applies to a GUN.
#[derive(Debug, PartialEq, Eq)]
enum Rule<'a> {
    Certs(&'a [String]),
    Ca(&'a Path),
    TrustOnFirstUse,
}

fn bad(reason: String) -> Error {
    Error::InvalidMetadata { reason }
}

impl TrustPinning {
    /// Reads the `trust_pinning` section of a notary client configuration file
    /// (`~/.notary/config.json`); relative CA paths are relative to the file's directory, as
    /// notary resolves them. A missing file pins nothing.
    pub fn from_notary_config(path: &Path) -> Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io("read notary configuration", path, e)),
        };
        #[derive(Deserialize)]
        struct NotaryConfig {
            #[serde(default)]
            trust_pinning: TrustPinning,
        }
        let config: NotaryConfig =
            serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArgument {
                what: Argument::NotaryConfig,
                reason: format!(
                    "{}: its trust_pinning section cannot be read (line {}); fix the file",
                    path.display(),
                    e.line()
                ),
            })?;
        let mut pins = config.trust_pinning;
        let base = path.parent().unwrap_or(Path::new("."));
        for ca in pins.ca.values_mut() {
            if ca.is_relative() {
                *ca = base.join(&*ca);
            }
        }
        Ok(pins)
    }

    /// The pinning in force: notary's client configuration (`notary_config`, else
    /// `$KEYTOOL_NOTARY_CONFIG`, else notary's default `$HOME/.notary/config.json`) merged with
    /// keytool's own settings (`own`), which win where both pin the same GUN. Every face (CLI, C,
    /// Go) resolves it here.
    pub fn load(
        notary_config: Option<&Path>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
        own: Option<TrustPinning>,
    ) -> Result<Self> {
        let nonempty = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let path = notary_config
            .map(Path::to_path_buf)
            .or_else(|| nonempty("KEYTOOL_NOTARY_CONFIG"))
            .or_else(|| nonempty("HOME").map(|h| h.join(".notary").join("config.json")));
        let notary = match path {
            Some(p) => Self::from_notary_config(&p)?,
            None => Self::default(),
        };
        Ok(match own {
            Some(own) => notary.merge(own),
            None => notary,
        })
    }

    /// Adds `other`'s rules; where both pin the same GUN (or prefix), `other` wins.
    /// `disable_tofu` holds if either sets it.
    pub fn merge(mut self, other: TrustPinning) -> Self {
        self.certs.extend(other.certs);
        self.ca.extend(other.ca);
        self.disable_tofu |= other.disable_tofu;
        self
    }

    /// Whether nothing is pinned and first use is trusted.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.ca.is_empty() && !self.disable_tofu
    }

    fn rule(&self, gun: &Gun) -> Rule<'_> {
        if let Some(ids) = self.certs.get(gun.as_str()) {
            return Rule::Certs(ids);
        }
        let wildcard = self
            .certs
            .iter()
            .filter_map(|(pattern, ids)| Some((pattern.strip_suffix('*')?, ids)))
            .filter(|(prefix, _)| gun.as_str().starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len());
        if let Some((_, ids)) = wildcard {
            return Rule::Certs(ids);
        }
        let ca = self
            .ca
            .iter()
            .filter(|(prefix, _)| gun.as_str().starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        match ca {
            Some((_, path)) => Rule::Ca(path),
            None => Rule::TrustOnFirstUse,
        }
    }

    internal! {
        /// Checks `root` (already verified on its own) against the rule for `gun`.
        /// `first_contact`: no root of the GUN is trusted yet.
        pub fn check(
            &self,
            root: &CheckedRoot,
            gun: &Gun,
            first_contact: bool,
            now: SystemTime,
        ) -> Result<()> {
            let role = RoleKeys::of(root.signed(), "root")?;
            let pinned: Vec<&String> = match self.rule(gun) {
                Rule::TrustOnFirstUse if first_contact && self.disable_tofu => {
                    return Err(bad(format!(
                        "this machine trusts no root of {gun} yet, trust on first use is disabled (trust_pinning.disable_tofu) and no certificate or CA is pinned for it; pin its root certificate ID in trust_pinning.certs"
                    )));
                }
                Rule::TrustOnFirstUse => return Ok(()),
                Rule::Certs(ids) => role
                    .keys
                    .iter()
                    .filter(|(listed, key)| {
                        ids.iter().any(|pin| {
                            pin == listed
                                || roles::canonical_id(key).is_some_and(|c| c.as_str() == pin)
                        })
                    })
                    .map(|(listed, _)| listed)
                    .collect(),
                Rule::Ca(path) => {
                    let cas = load_cas(path, now)?;
                    role.keys
                        .iter()
                        .filter(|(_, key)| issued_by_any(key, &cas))
                        .map(|(listed, _)| listed)
                        .collect()
                }
            };
            let count = root.signers.iter().filter(|s| pinned.contains(s)).count() as u64;
            if count < role.threshold {
                return Err(bad(format!(
                    "root.json version {} of {gun} is signed by {count} root certificate(s) that trust_pinning allows; {} needed. The server's root does not match what is pinned for this repository",
                    root.version, role.threshold
                )));
            }
            Ok(())
        }
    }
}

/// The CA certificates of a pinned bundle that are valid at `now`.
fn load_cas(path: &Path, now: SystemTime) -> Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read pinned CA bundle", path, e))?;
    let cas: Vec<Certificate> = pem::decode_all(&bytes)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .filter_map(|b| Certificate::from_der(&b.der).ok())
        .filter(|c| {
            let v = c.tbs_certificate().validity();
            v.not_before.to_system_time() <= now && now <= v.not_after.to_system_time()
        })
        .collect();
    if cas.is_empty() {
        return Err(Error::InvalidArgument {
            what: Argument::PinnedCa,
            reason: format!(
                "{} holds no CA certificate valid now; fix trust_pinning.ca",
                path.display()
            ),
        });
    }
    Ok(cas)
}

/// Whether the certificate of root key `key` was issued and signed by one of `cas`.
fn issued_by_any(key: &TufKey, cas: &[Certificate]) -> bool {
    let Ok(block) = pem::decode_first(&key.public) else {
        return false;
    };
    let Ok(leaf) = Certificate::from_der(&block.der) else {
        return false;
    };
    cas.iter().any(|ca| signed_by(&leaf, ca))
}

/// Whether `ca` issued `leaf` (issuer = CA subject) and its key made the leaf's signature.
fn signed_by(leaf: &Certificate, ca: &Certificate) -> bool {
    use ring::signature as sig;
    if leaf.tbs_certificate().issuer() != ca.tbs_certificate().subject() {
        return false;
    }
    let Ok(tbs) = leaf.tbs_certificate().to_der() else {
        return false;
    };
    let spki = ca.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let algorithm: &dyn sig::VerificationAlgorithm = match (
        leaf.signature_algorithm().oid.to_string().as_str(),
        curve.as_deref(),
    ) {
        ("1.2.840.10045.4.3.2", Some("1.2.840.10045.3.1.7")) => &sig::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some("1.2.840.10045.3.1.7")) => &sig::ECDSA_P256_SHA384_ASN1,
        ("1.2.840.10045.4.3.2", Some("1.3.132.0.34")) => &sig::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some("1.3.132.0.34")) => &sig::ECDSA_P384_SHA384_ASN1,
        ("1.2.840.113549.1.1.11", _) => &sig::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", _) => &sig::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", _) => &sig::RSA_PKCS1_2048_8192_SHA512,
        _ => return false,
    };
    let Some(signature) = leaf.signature().as_bytes() else {
        return false;
    };
    let Some(public) = spki.subject_public_key.as_bytes() else {
        return false;
    };
    sig::UnparsedPublicKey::new(algorithm, public)
        .verify(&tbs, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(certs: &[(&str, &[&str])], ca: &[(&str, &str)], disable_tofu: bool) -> TrustPinning {
        TrustPinning {
            certs: certs
                .iter()
                .map(|(g, ids)| {
                    (
                        (*g).to_owned(),
                        ids.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
                .collect(),
            ca: ca
                .iter()
                .map(|(g, p)| ((*g).to_owned(), PathBuf::from(p)))
                .collect(),
            disable_tofu,
        }
    }

    #[test]
    fn the_most_specific_rule_applies() {
        let gun: Gun = "example.com/team/app".parse().expect("gun");
        let p = pins(
            &[("example.com/*", &["a"]), ("example.com/team/*", &["b"])],
            &[("example.com/", "/ca.pem")],
            false,
        );
        assert_eq!(p.rule(&gun), Rule::Certs(&["b".to_owned()]));
        let p = pins(
            &[
                ("example.com/team/app", &["exact"]),
                ("example.com/*", &["a"]),
            ],
            &[],
            false,
        );
        assert_eq!(p.rule(&gun), Rule::Certs(&["exact".to_owned()]));
        let p = pins(
            &[],
            &[("example.com/", "/a.pem"), ("example.com/team", "/b.pem")],
            false,
        );
        assert_eq!(p.rule(&gun), Rule::Ca(Path::new("/b.pem")));
        let p = pins(&[("other.io/*", &["x"])], &[("other.io/", "/c.pem")], true);
        assert_eq!(p.rule(&gun), Rule::TrustOnFirstUse);
    }

    #[test]
    fn notary_config_is_read() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("config.json");
        std::fs::write(
            &path,
            br#"{"remote_server":{"url":"https://x"},"trust_pinning":{"certs":{"a.io/b":["1234"]},"ca":{"a.io/":"ca.pem"},"disable_tofu":true}}"#,
        )
        .expect("write");
        let p = TrustPinning::from_notary_config(&path).expect("reads");
        assert_eq!(p.certs["a.io/b"], vec!["1234".to_owned()]);
        assert_eq!(p.ca["a.io/"], tmp.path().join("ca.pem"));
        assert!(p.disable_tofu);
        assert_eq!(
            TrustPinning::from_notary_config(&tmp.path().join("none.json")).expect("missing"),
            TrustPinning::default()
        );
        std::fs::write(&path, b"{\"trust_pinning\": 7}").expect("write");
        assert!(TrustPinning::from_notary_config(&path).is_err());
    }
}
