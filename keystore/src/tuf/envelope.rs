//! The `{"signed":…,"signatures":[…]}` envelope: written as notary writes it, parsed with a
//! size bound, and verified the way notary verifies (re-canonicalise `signed`, then check).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::cjson;
use super::schema::{Metadata, Signed};
use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::key::{PrivateKey, key_id_of};

/// Largest metadata file accepted (notary-server's own limit for one role is of this order).
pub const MAX_METADATA: usize = 16 << 20;

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The TUF ID of the signing key (for root keys: the `ecdsa-x509` ID).
    pub keyid: String,
    /// `ecdsa`, `eddsa`, `rsapss`, … (notary lower-cases it on parse).
    pub method: String,
    /// Standard base64 of the signature (raw `r‖s` for ECDSA).
    pub sig: String,
}

/// A parsed envelope borrowing its `signed` object, exactly as received, from the document's
/// bytes: no tree is built. Signatures are verified over its canonical form
/// ([`Envelope::canonical`]), then it is read as typed metadata ([`Envelope::typed`]).
pub type Envelope<'a> = Signed<&'a RawValue>;

impl<'a> Envelope<'a> {
    /// Parses metadata bytes (at most [`MAX_METADATA`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_METADATA {
            return Err(Error::InvalidMetadata {
                reason: format!(
                    "metadata of {} bytes is over the {MAX_METADATA}-byte limit",
                    bytes.len()
                ),
            });
        }
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            signed: &'a RawValue,
            signatures: Vec<Signature>,
        }
        let raw: Raw<'a> = serde_json::from_slice(bytes).map_err(|e| Error::InvalidMetadata {
            reason: format!("not a signed TUF document ({})", json_problem(&e)),
        })?;
        Ok(Envelope {
            signed: raw.signed,
            signatures: raw.signatures,
        })
    }

    /// The canonical bytes of the `signed` object: what its signatures cover.
    pub fn canonical(&self) -> Result<Vec<u8>> {
        cjson::from_text(self.signed.get())
    }

    /// The `signed` object read as `T` (see [`Metadata::from_signed`]).
    pub fn typed<T: Metadata>(&self) -> Result<T> {
        T::from_signed(self.signed.get())
    }
}

/// A short description of a JSON error, without echoing the input.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected structure",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// A public key as it appears in root.json's `keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TufKey {
    /// `ecdsa`, `ecdsa-x509`, `ed25519`, `rsa`, `rsa-x509`.
    pub keytype: String,
    /// The decoded `keyval.public` bytes.
    pub public: Vec<u8>,
}

impl TufKey {
    /// Parses `{"keytype":…,"keyval":{"public":…,"private":null}}` in any key order.
    pub fn from_json(value: &Value) -> Result<Self> {
        let bad = |what: &str| Error::InvalidMetadata {
            reason: format!("a key in the metadata has {what}"),
        };
        let keytype = value["keytype"]
            .as_str()
            .ok_or_else(|| bad("no keytype"))?
            .to_owned();
        let public = value["keyval"]["public"]
            .as_str()
            .and_then(|p| STANDARD.decode(p).ok())
            .ok_or_else(|| bad("no base64 public value"))?;
        Ok(TufKey { keytype, public })
    }

    /// The key ID, computed (never taken from the JSON as received, spec trap 4).
    pub fn id(&self) -> KeyId {
        key_id_of(&self.keytype, &self.public)
    }

    /// The key as canonical JSON-ready value (tests build metadata with it).
    #[cfg(any(test, feature = "internals"))]
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "keytype": self.keytype,
            "keyval": {"private": null, "public": STANDARD.encode(&self.public)},
        })
    }
}

/// Signs `signed` (typed metadata, or a JSON value) with each `(TUF key ID, key)` and returns the
/// envelope bytes exactly as notary writes them: the canonical JSON of `signed`, Go-escaped, no
/// whitespace, no trailing newline.
pub fn sign<T: Serialize + ?Sized>(
    signed: &T,
    signers: &[(&KeyId, &PrivateKey)],
) -> Result<Vec<u8>> {
    let value = serde_json::to_value(signed).map_err(|e| Error::Internal {
        what: format!("cannot encode metadata to sign: {e}"),
    })?;
    let canonical = cjson::to_vec(&value)?;
    let mut out = Vec::with_capacity(canonical.len() + 160 * signers.len() + 32);
    out.extend_from_slice(b"{\"signed\":");
    out.extend_from_slice(&cjson::go_html_escape(&canonical));
    out.extend_from_slice(b",\"signatures\":[");
    for (i, (id, key)) in signers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let sig = key.sign(&canonical)?;
        let entry = format!(
            r#"{{"keyid":"{id}","method":"ecdsa","sig":"{}"}}"#,
            STANDARD.encode(sig)
        );
        out.extend_from_slice(entry.as_bytes());
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// Checks one signature over `canonical`, the canonical bytes of a `signed` object (computed once
/// per document by the caller) with `key`. Supports `ecdsa` and `ecdsa-x509` keys (raw 64-byte
/// `r‖s`, as notary requires) and the `ed25519` keys (method `eddsa`) of notary-server's local
/// signer.
pub fn verify_canonical(canonical: &[u8], signature: &Signature, key: &TufKey) -> Result<bool> {
    let Ok(sig) = STANDARD.decode(&signature.sig) else {
        return Ok(false);
    };
    if signature.method.eq_ignore_ascii_case("eddsa") && key.keytype == "ed25519" {
        let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key.public);
        return Ok(pk.verify(canonical, &sig).is_ok());
    }
    if !signature.method.eq_ignore_ascii_case("ecdsa") {
        return Err(Error::unsupported(format!(
            "signature method {:?}",
            crate::ids::clip(&signature.method)
        )));
    }
    let spki = match key.keytype.as_str() {
        "ecdsa" => key.public.clone(),
        "ecdsa-x509" => crate::key::cert::certificate_public_key(&key.public)?
            .bytes()
            .to_vec(),
        other => {
            return Err(Error::unsupported(format!(
                "key type {:?} for an ECDSA signature",
                crate::ids::clip(other)
            )));
        }
    };
    // p256 checks the SPKI (algorithm, curve, a point on the curve); ring verifies, about as
    // fast as OpenSSL. The FIXED form takes exactly 64 bytes: notary rejects DER signatures.
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    use p256::pkcs8::DecodePublicKey as _;
    let Ok(pk) = p256::PublicKey::from_public_key_der(&spki) else {
        return Ok(false);
    };
    let point = pk.as_affine().to_sec1_point(false);
    let vk = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        point.as_bytes(),
    );
    Ok(vk.verify(canonical, &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One signature over the re-canonicalised `signed` value.
    fn verify_signature(signed: &Value, signature: &Signature, key: &TufKey) -> Result<bool> {
        verify_canonical(&cjson::to_vec(signed)?, signature, key)
    }

    /// notary-compat.md §10 TV4.
    const TV4: &str = r#"{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2029-11-21T09:58:59.833506502Z","targets":{},"version":1},"signatures":[{"keyid":"45ef91c4cf25c5a524c1337ee370d82a4d65ec3d795b55c8687d6da63107bf4d","method":"ecdsa","sig":"4dXgc1Mezcapo+KdV2EG+Derww4Nsz6zQZAumERrH7TQqj5MHhgL8vblA0rnPd20dN0AiQ5yeFvbbPutwBTADA=="}]}"#;
    const TV4_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETaokDBRC/+OgYuQUe+urx1gR7pmu08kwgyU3WrBOiW3aZZ/FXdBq6Ufork8Dja8/6fMA70zltp52y9b2S265Jg==";

    #[test]
    fn tv4_verifies_and_recanonicalises() {
        assert_eq!(TV4.len(), 341);
        let env = Envelope::parse(TV4.as_bytes()).expect("parses");
        let key = TufKey {
            keytype: "ecdsa".into(),
            public: STANDARD.decode(TV4_SPKI).expect("b64"),
        };
        assert_eq!(key.id().as_str(), env.signatures[0].keyid);
        let signed: Value = serde_json::from_str(env.signed.get()).expect("json");
        assert!(verify_signature(&signed, &env.signatures[0], &key).expect("ok"));
        let canonical = env.canonical().expect("canonical");
        assert_eq!(canonical, cjson::to_vec(&signed).expect("canonical"));
        assert!(TV4.contains(std::str::from_utf8(&canonical).expect("utf8")));
        // A changed byte breaks the signature.
        let mut tampered = signed.clone();
        tampered["version"] = 2.into();
        assert!(!verify_signature(&tampered, &env.signatures[0], &key).expect("ok"));
        // The snapshot hash of TV4 as notary computed it.
        use sha2::{Digest, Sha256};
        assert_eq!(
            STANDARD.encode(Sha256::digest(TV4.as_bytes())),
            "4o4qwzZL+siUMQ+dsgLSMT2i9iWWA7Is8AdBMSYhuMk="
        );
    }

    #[test]
    fn sign_then_verify_and_envelope_shape() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let id = key.id();
        let signed = serde_json::json!({"_type": "Targets", "targets": {"a&b<c>": {"length": 1}}, "version": 1});
        let bytes = sign(&signed, &[(&id, &key)]).expect("signs");
        let text = String::from_utf8(bytes.clone()).expect("utf8");
        assert!(
            text.starts_with(
                "{\"signed\":{\"_type\":\"Targets\",\"targets\":{\"a\\u0026b\\u003cc\\u003e\""
            ),
            "{text}"
        );
        let env = Envelope::parse(&bytes).expect("parses");
        let tuf = TufKey {
            keytype: "ecdsa".into(),
            public: key.public().bytes().to_vec(),
        };
        assert!(verify_canonical(&env.canonical().expect("canonical"), &env.signatures[0], &tuf).expect("ok"));
    }
}
