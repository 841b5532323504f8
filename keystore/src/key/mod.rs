//! Key material and its formats: IDs, P-256 keys, PEM framing, PKCS#8/PBES2, legacy RFC 1423
//! keys and root certificates.

pub(crate) mod asn1;
pub mod cert;
pub mod file;
pub mod interchange;
pub mod legacy;
pub mod pbes2;
pub mod pem;
pub mod pkcs8;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::ids::KeyId;

/// The public key algorithms notary knows (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// ECDSA on P-256 (everything docker and notary generate).
    Ecdsa,
    /// RSA (import only, in notary).
    Rsa,
    /// Ed25519 in notary's non-standard encoding.
    Ed25519,
}

impl Algorithm {
    /// notary's `keytype` string.
    pub fn keytype(self) -> &'static str {
        match self {
            Algorithm::Ecdsa => "ecdsa",
            Algorithm::Rsa => "rsa",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keytype())
    }
}

/// A public key as TUF sees it: a key type and the bytes that go into `keyval.public`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: Algorithm,
    /// DER SPKI for ecdsa and rsa, the raw 32 bytes for ed25519.
    bytes: Vec<u8>,
}

impl PublicKey {
    /// Builds a public key from its algorithm and `keyval.public` bytes.
    pub fn new(algorithm: Algorithm, bytes: Vec<u8>) -> Self {
        PublicKey { algorithm, bytes }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `keyval.public` bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The TUF key ID exactly as notary computes it (spec §4.1): SHA-256 of
    /// `{"keytype":T,"keyval":{"private":null,"public":B64}}`.
    pub fn key_id(&self) -> KeyId {
        key_id_of(self.algorithm.keytype(), &self.bytes)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm, self.key_id())
    }
}

/// The TUF key ID of any key type and public bytes (also `ecdsa-x509` with PEM text).
pub fn key_id_of(keytype: &str, public: &[u8]) -> KeyId {
    // Both strings are plain ASCII (a fixed key type and base64), so this is canonical JSON.
    let json = format!(
        r#"{{"keytype":"{keytype}","keyval":{{"private":null,"public":"{}"}}}}"#,
        STANDARD.encode(public)
    );
    KeyId::from_digest(&Sha256::digest(json.as_bytes()).into())
}

/// The secret part of a private key.
pub(crate) enum Secret {
    /// A P-256 scalar (zeroized on drop by p256).
    Ecdsa(p256::SecretKey),
    /// An RSA private key in PKCS#1 DER (listed and moved, not used for signing).
    Rsa(Zeroizing<Vec<u8>>),
    /// notary's 96-byte Ed25519 form: pub ‖ seed ‖ pub (listed and moved, not used for signing).
    Ed25519(Zeroizing<Vec<u8>>),
}

/// A decrypted private key. Its `Debug` shows the ID and algorithm only.
pub struct PrivateKey {
    secret: Secret,
    public: PublicKey,
    /// ring's signing key for an ECDSA key, prepared once: ring signs P-256 about as fast as
    /// OpenSSL (p256 took about 200 µs a signature). Boxed so that its scalar lives on the heap,
    /// which keytool's and kt_ffi's zeroizing allocator wipes when the key is dropped.
    signer: Option<Box<EcdsaKeyPair>>,
}

impl PrivateKey {
    /// Generates a new ECDSA P-256 key from the OS random generator.
    pub fn generate_ecdsa() -> Result<Self> {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut bytes[..]).map_err(|e| Error::Internal {
                what: format!("the OS random generator failed: {e}"),
            })?;
            // Rejection sampling: retry the (astronomically rare) zero or out-of-range scalar.
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes[..]) {
                return Self::from_secret(Secret::Ecdsa(secret));
            }
        }
    }

    pub(crate) fn from_secret(secret: Secret) -> Result<Self> {
        let signer = match &secret {
            Secret::Ecdsa(sk) => Some(Box::new(ring_signer(sk)?)),
            _ => None,
        };
        let public = match &secret {
            Secret::Ecdsa(sk) => {
                use p256::pkcs8::EncodePublicKey as _;
                let der = sk
                    .public_key()
                    .to_public_key_der()
                    .map_err(|_| Error::Internal {
                        what: "cannot encode a P-256 public key".into(),
                    })?;
                PublicKey::new(Algorithm::Ecdsa, der.as_bytes().to_vec())
            }
            Secret::Rsa(pkcs1) => PublicKey::new(Algorithm::Rsa, pkcs8::rsa_spki(pkcs1)?),
            Secret::Ed25519(raw) => PublicKey::new(Algorithm::Ed25519, raw[..32].to_vec()),
        };
        Ok(PrivateKey {
            secret,
            public,
            signer,
        })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key ID (the file name notary uses).
    pub fn id(&self) -> KeyId {
        self.public.key_id()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    /// Signs `message` as notary does for ECDSA keys: SHA-256, raw `r‖s` (64 bytes).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        match &self.signer {
            Some(signer) => {
                let sig = signer
                    .sign(&SystemRandom::new(), message)
                    .map_err(|_| Error::Internal {
                        what: "ECDSA signing failed (the OS random generator?)".into(),
                    })?;
                sig.as_ref().try_into().map_err(|_| Error::Internal {
                    what: "a P-256 signature is not 64 bytes".into(),
                })
            }
            None => Err(Error::unsupported(format!(
                "signing with {} keys (keytool signs with ECDSA P-256 keys)",
                self.algorithm()
            ))),
        }
    }

    /// Signs `message` with ECDSA/SHA-256 and returns a DER signature (for X.509).
    pub fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>> {
        let raw = self.sign(message)?;
        let sig = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| Error::Internal {
            what: "a P-256 signature is not 64 bytes".into(),
        })?;
        Ok(sig.to_der().as_bytes().to_vec())
    }

    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }
}

/// ring's key pair for a P-256 scalar (ring checks that the public point belongs to it).
fn ring_signer(sk: &p256::SecretKey) -> Result<EcdsaKeyPair> {
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    let scalar = Zeroizing::new(sk.to_bytes());
    let point = sk.public_key().as_affine().to_sec1_point(false);
    EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &scalar[..],
        point.as_bytes(),
        &SystemRandom::new(),
    )
    .map_err(|e| Error::Internal {
        what: format!("ring refused a P-256 key: {e}"),
    })
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("id", &self.id())
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tv1_key_id() {
        // notary-compat.md §10 TV1: public bytes 00 00 00.
        assert_eq!(
            key_id_of("ecdsa", &[0, 0, 0]).as_str(),
            "fb3530213bcf3f24edd7785c3ab973ade0f94977d5fd617247c34301aa4c1abb"
        );
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        use p256::ecdsa::signature::Verifier as _;
        let key = PrivateKey::generate_ecdsa().expect("generates");
        let sig = key.sign(b"msg").expect("signs");
        let Secret::Ecdsa(sk) = key.secret() else {
            panic!("ecdsa")
        };
        let vk = p256::ecdsa::VerifyingKey::from(&sk.public_key());
        let sig = p256::ecdsa::Signature::from_slice(&sig).expect("64 bytes");
        assert!(vk.verify(b"msg", &sig).is_ok());
        assert!(!format!("{key:?}").contains("secret"));
    }
}
