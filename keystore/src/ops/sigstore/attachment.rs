//! cosign's signature attachment, as cosign writes it and cosign, sigstore-rs and
//! containers/image read it: an OCI image manifest tagged `sha256-<hex>.sig` in the image's
//! repository, whose layers are simple-signing payloads naming the image and its digest, each
//! with its signature (base64 ASN.1 ECDSA) in the `dev.cosignproject.cosign/signature`
//! annotation.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::push::{OCI_MANIFEST, digest};

/// The media type of a simple-signing payload layer.
pub(crate) const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation holding a layer's signature.
pub(crate) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The tag of the signatures of manifest `digest` (`sha256:<hex>` → `sha256-<hex>.sig`).
pub(crate) fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// The simple-signing payload cosign signs for image `reference` (repository, no tag) at
/// manifest `digest`, byte for byte as Go's encoding/json writes cosign's struct.
pub(crate) fn payload(reference: &str, digest: &str) -> Vec<u8> {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":"cosign container image signature"}},"optional":null}}"#,
        quote(reference),
        quote(digest)
    )
    .into_bytes()
}

/// A descriptor of an OCI manifest (config or layer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType")]
    pub(crate) media_type: String,
    pub(crate) size: u64,
    pub(crate) digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// The layer of a new signature: `payload` signed as `signature_der`.
pub(crate) fn layer(payload: &[u8], signature_der: &[u8]) -> Descriptor {
    Descriptor {
        media_type: SIMPLE_SIGNING.into(),
        size: payload.len() as u64,
        digest: digest(payload),
        annotations: Some(BTreeMap::from([(
            SIGNATURE_ANNOTATION.to_owned(),
            STANDARD.encode(signature_der),
        )])),
    }
}

/// The layers of an existing signature manifest.
pub(crate) fn layers_of(manifest: &[u8]) -> Result<Vec<Descriptor>> {
    let parsed: Manifest = serde_json::from_slice(manifest).map_err(|e| Error::Internal {
        what: format!("the registry's signature manifest is not an OCI manifest: {e}"),
    })?;
    Ok(parsed.layers)
}

/// Whether a layer is `payload` signed by the key whose SubjectPublicKeyInfo is `spki` (ECDSA
/// P-256). ECDSA signatures are randomized, so a signature is recognised by verifying it.
pub(crate) fn signed_by(layer: &Descriptor, payload: &[u8], spki: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey as _;
    if layer.media_type != SIMPLE_SIGNING || layer.digest != digest(payload) {
        return false;
    }
    let Some(sig) = layer
        .annotations
        .as_ref()
        .and_then(|a| a.get(SIGNATURE_ANNOTATION))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|der| p256::ecdsa::DerSignature::from_bytes(&der).ok())
    else {
        return false;
    };
    p256::ecdsa::VerifyingKey::from_public_key_der(spki)
        .is_ok_and(|vk| vk.verify(payload, &sig).is_ok())
}

/// The config blob of a signature image with `layers` (go-containerregistry's empty image with
/// one history entry and diff ID per layer, as cosign leaves it).
pub(crate) fn config(layers: &[Descriptor]) -> Vec<u8> {
    let history: Vec<_> = layers
        .iter()
        .map(|_| serde_json::json!({ "created": "0001-01-01T00:00:00Z" }))
        .collect();
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "config": {}
    })
    .to_string()
    .into_bytes()
}

/// The signature manifest: `config` (already uploaded) and `layers`.
pub(crate) fn manifest(config: &[u8], layers: &[Descriptor]) -> Vec<u8> {
    let config = Descriptor {
        media_type: OCI_CONFIG.into(),
        size: config.len() as u64,
        digest: digest(config),
        annotations: None,
    };
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::PrivateKey;

    const DIGEST: &str = "sha256:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";

    #[test]
    fn payload_and_tag_are_cosigns() {
        assert_eq!(
            signature_tag(DIGEST),
            format!("sha256-{}.sig", &DIGEST[7..])
        );
        let p = payload("sandboxregistry:5000/test/trusttest", DIGEST);
        let v: serde_json::Value = serde_json::from_slice(&p).expect("JSON");
        assert_eq!(v["critical"]["type"], "cosign container image signature");
        assert_eq!(v["critical"]["image"]["docker-manifest-digest"], DIGEST);
        assert_eq!(
            v["critical"]["identity"]["docker-reference"],
            "sandboxregistry:5000/test/trusttest"
        );
        assert!(v["optional"].is_null());
    }

    #[test]
    fn a_layer_is_recognised_by_its_signature_only() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let other = PrivateKey::generate_ecdsa().expect("key");
        let p = payload("r/x", DIGEST);
        let ours = layer(&p, &key.sign_der(&p).expect("sign"));
        assert!(signed_by(&ours, &p, key.public().bytes()));
        assert!(!signed_by(&ours, &p, other.public().bytes()));
        let theirs = layer(&p, &other.sign_der(&p).expect("sign"));
        assert!(!signed_by(&theirs, &p, key.public().bytes()));
        let elsewhere = payload("r/y", DIGEST);
        assert!(!signed_by(&ours, &elsewhere, key.public().bytes()));
        // Round trip through a manifest.
        let config = config(std::slice::from_ref(&ours));
        let m = manifest(&config, std::slice::from_ref(&ours));
        assert_eq!(layers_of(&m).expect("layers"), vec![ours]);
    }
}
