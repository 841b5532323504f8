//! Keys in the encodings other tools read: standard PKCS#8 (RFC 5208/5958, Ed25519 as RFC 8410),
//! SubjectPublicKeyInfo, and cosign's encrypted key (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt and
//! NaCl secretbox in the JSON envelope of go-securesystemslib's `encrypted` package).
//!
//! notary's own forms differ: its PKCS#8 is version 1 without a public key, RSA keys carry no NULL
//! parameters and Ed25519 keys use GnuPG's OID with a 96-byte payload. cosign (Go's
//! `x509.ParsePKCS8PrivateKey`), notation and sigstore-rs want the standard forms.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use zeroize::Zeroizing;

use super::{Algorithm, PrivateKey, PublicKey, Secret, asn1, pem};
use crate::error::{Error, Result};

/// The PEM label cosign writes since 1.x (older versions wrote `ENCRYPTED COSIGN PRIVATE KEY`;
/// every version reads this one).
pub const COSIGN_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";

/// cosign's scrypt cost (`encrypted.Encrypt` in go-securesystemslib): N = 2^15, r = 8, p = 1.
/// cosign reads the parameters from the file, and every version since 1.0 writes these.
pub const COSIGN_SCRYPT_LOG_N: u8 = 15;
const COSIGN_SCRYPT_R: u32 = 8;
const COSIGN_SCRYPT_P: u32 = 1;

/// The private key as a standard PKCS#8 `PrivateKeyInfo` (version 0): SEC1 with the public key
/// for P-256, PKCS#1 with NULL parameters for RSA, RFC 8410 for Ed25519.
pub fn standard_pkcs8(key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>> {
    let version = asn1::uint(0);
    let (alg, payload) = match key.secret() {
        Secret::Ecdsa(sk) => {
            use p256::pkcs8::EncodePrivateKey as _;
            let doc = sk.to_pkcs8_der().map_err(|_| Error::Internal {
                what: "cannot encode a P-256 key as PKCS#8".into(),
            })?;
            return Ok(Zeroizing::new(doc.as_bytes().to_vec()));
        }
        Secret::Rsa(pkcs1) => (
            asn1::seq(&[&asn1::oid(&asn1::RSA), &[0x05, 0x00]]),
            Zeroizing::new(pkcs1.to_vec()),
        ),
        Secret::Ed25519(raw) => {
            // notary's form is public ‖ seed ‖ public; RFC 8410 wants the 32-byte seed, itself
            // wrapped in an OCTET STRING (CurvePrivateKey).
            let seed = raw.get(32..64).ok_or_else(|| Error::Internal {
                what: "an Ed25519 key is shorter than 64 bytes".into(),
            })?;
            (
                asn1::seq(&[&asn1::oid(&asn1::RFC8410_ED25519)]),
                Zeroizing::new(asn1::octets(seed)),
            )
        }
    };
    let octets = Zeroizing::new(asn1::octets(&payload));
    Ok(Zeroizing::new(asn1::seq(&[&version, &alg, &octets])))
}

/// The public key as DER SubjectPublicKeyInfo (what `PUBLIC KEY` PEM holds).
pub fn spki(public: &PublicKey) -> Vec<u8> {
    match public.algorithm() {
        Algorithm::Ecdsa | Algorithm::Rsa => public.bytes().to_vec(),
        Algorithm::Ed25519 => {
            let mut bits = vec![0u8];
            bits.extend_from_slice(public.bytes());
            asn1::seq(&[
                &asn1::seq(&[&asn1::oid(&asn1::RFC8410_ED25519)]),
                &asn1::tlv(0x03, &bits),
            ])
        }
    }
}

/// The public key as `PUBLIC KEY` PEM.
pub fn public_pem(public: &PublicKey) -> String {
    pem::encode("PUBLIC KEY", &[], &spki(public))
}

/// The private key as unencrypted `PRIVATE KEY` PEM (standard PKCS#8).
pub fn private_pem(key: &PrivateKey) -> Result<Zeroizing<String>> {
    let der = standard_pkcs8(key)?;
    Ok(Zeroizing::new(pem::encode("PRIVATE KEY", &[], &der)))
}

/// The private key in cosign's encrypted format, sealed under `passphrase` with a fresh random
/// salt and nonce.
pub fn cosign_encrypted_pem(key: &PrivateKey, passphrase: &[u8]) -> Result<String> {
    let der = standard_pkcs8(key)?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut nonce))
        .map_err(|e| Error::Internal {
            what: format!("the OS random generator failed: {e}"),
        })?;
    let sealing = scrypt_key(passphrase, &salt, COSIGN_SCRYPT_LOG_N)?;
    let ciphertext = XSalsa20Poly1305::new((&*sealing).into())
        .encrypt(Nonce::from_slice(&nonce), der.as_slice())
        .map_err(|_| Error::Internal {
            what: "NaCl secretbox refused to seal the key".into(),
        })?;
    // Field order and names as Go's encoding/json writes go-securesystemslib's envelope.
    let envelope = format!(
        r#"{{"kdf":{{"name":"scrypt","params":{{"N":{},"r":{COSIGN_SCRYPT_R},"p":{COSIGN_SCRYPT_P}}},"salt":"{}"}},"cipher":{{"name":"nacl/secretbox","nonce":"{}"}},"ciphertext":"{}"}}"#,
        1u64 << COSIGN_SCRYPT_LOG_N,
        STANDARD.encode(salt),
        STANDARD.encode(nonce),
        STANDARD.encode(&ciphertext),
    );
    Ok(pem::encode(COSIGN_LABEL, &[], envelope.as_bytes()))
}

/// The 32-byte secretbox key scrypt derives from a passphrase.
fn scrypt_key(passphrase: &[u8], salt: &[u8], log_n: u8) -> Result<Zeroizing<[u8; 32]>> {
    let params = scrypt::Params::new(log_n, COSIGN_SCRYPT_R, COSIGN_SCRYPT_P).map_err(|e| {
        Error::Internal {
            what: format!("scrypt parameters refused: {e}"),
        }
    })?;
    let mut out = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, salt, &params, &mut out[..]).map_err(|e| Error::Internal {
        what: format!("scrypt failed: {e}"),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode as _;

    /// Opens an envelope the way go-securesystemslib's `encrypted.Decrypt` does.
    fn open(pem_text: &str, passphrase: &[u8]) -> Option<Vec<u8>> {
        let block = pem::decode_first(pem_text.as_bytes()).expect("PEM");
        assert_eq!(block.label, COSIGN_LABEL);
        let env: serde_json::Value = serde_json::from_slice(&block.der).expect("JSON");
        assert_eq!(env["kdf"]["name"], "scrypt");
        assert_eq!(env["kdf"]["params"]["N"], 32768);
        assert_eq!(env["cipher"]["name"], "nacl/secretbox");
        let b64 = |v: &serde_json::Value| STANDARD.decode(v.as_str().expect("string")).expect("b64");
        let salt = b64(&env["kdf"]["salt"]);
        let nonce = b64(&env["cipher"]["nonce"]);
        assert_eq!((salt.len(), nonce.len()), (32, 24));
        let key = scrypt_key(passphrase, &salt, COSIGN_SCRYPT_LOG_N).expect("scrypt");
        XSalsa20Poly1305::new((&*key).into())
            .decrypt(Nonce::from_slice(&nonce), b64(&env["ciphertext"]).as_slice())
            .ok()
    }

    #[test]
    fn cosign_envelope_opens_with_the_passphrase_only() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let text = cosign_encrypted_pem(&key, b"correct horse").expect("seals");
        let der = open(&text, b"correct horse").expect("opens");
        assert_eq!(der, *standard_pkcs8(&key).expect("pkcs8"));
        assert!(open(&text, b"wrong horse").is_none());
        // Two exports of one key differ (fresh salt and nonce).
        assert_ne!(text, cosign_encrypted_pem(&key, b"correct horse").expect("seals"));
    }

    #[test]
    fn ecdsa_pkcs8_is_standard_and_holds_the_same_key() {
        use p256::pkcs8::DecodePrivateKey as _;
        let key = PrivateKey::generate_ecdsa().expect("key");
        let der = standard_pkcs8(&key).expect("pkcs8");
        let sk = p256::SecretKey::from_pkcs8_der(&der).expect("strict PKCS#8 parser accepts it");
        let Secret::Ecdsa(ours) = key.secret() else {
            panic!("ecdsa")
        };
        assert_eq!(sk.to_bytes(), ours.to_bytes());
        assert_eq!(spki(key.public()), key.public().bytes());
    }

    #[test]
    fn ed25519_is_re_encoded_as_rfc8410() {
        let seed = [7u8; 32];
        let public = [9u8; 32];
        let raw = [&public[..], &seed[..], &public[..]].concat();
        let key = PrivateKey::from_secret(Secret::Ed25519(Zeroizing::new(raw))).expect("key");
        let der = standard_pkcs8(&key).expect("pkcs8");
        // 302e 020100 3005 0603 2b6570 0422 0420 <seed>: RFC 8410 §10.3's layout.
        let mut expected = hex::decode("302e020100300506032b657004220420").expect("hex");
        expected.extend_from_slice(&seed);
        assert_eq!(*der, expected);
        let spki = spki(key.public());
        assert_eq!(&spki[..12], hex::decode("302a300506032b6570032100").expect("hex"));
        assert_eq!(&spki[12..], &public);
        spki::SubjectPublicKeyInfoRef::from_der(&spki).expect("SPKI parses");
    }
}
