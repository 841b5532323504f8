//! The inner (unencrypted) PKCS#8 `PrivateKeyInfo`: written as notary writes it (version 1, no
//! public key field), read leniently (versions 0 and 1, optional attributes and public key),
//! because strict parsers reject notary's form (spec §2.2, trap 2).

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, Tag, TagNumber};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::{PrivateKey, Secret, asn1};
use crate::error::{Error, Result};

/// Encodes a key's inner PKCS#8 exactly as notary does.
pub fn encode(key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>> {
    let (version, alg, payload): (u64, Vec<u8>, Zeroizing<Vec<u8>>) = match key.secret() {
        Secret::Ecdsa(sk) => {
            let sec1 = sk.to_sec1_der().map_err(|_| Error::Internal {
                what: "cannot encode a P-256 key as SEC1".into(),
            })?;
            let alg = asn1::seq(&[&asn1::oid(&asn1::EC_PUBLIC_KEY), &asn1::oid(&asn1::P256)]);
            (1, alg, sec1)
        }
        Secret::Rsa(pkcs1) => {
            let alg = asn1::seq(&[&asn1::oid(&asn1::RSA)]);
            (0, alg, Zeroizing::new(pkcs1.to_vec()))
        }
        Secret::Ed25519(raw) => {
            let alg = asn1::seq(&[&asn1::oid(&asn1::NOTARY_ED25519)]);
            (0, alg, Zeroizing::new(raw.to_vec()))
        }
    };
    let version = asn1::uint(version);
    let octets = Zeroizing::new(asn1::octets(&payload));
    Ok(Zeroizing::new(asn1::seq(&[&version, &alg, &octets])))
}

/// Decodes an inner PKCS#8 `PrivateKeyInfo` leniently. `Ok(None)` means "not PKCS#8 at all",
/// which after a decryption signals a wrong passphrase.
pub fn decode(der: &[u8]) -> Result<Option<PrivateKey>> {
    let Ok(any) = AnyRef::from_der(der) else {
        return Ok(None);
    };
    let parsed = any.sequence(|r| {
        let version: u8 = r.decode()?;
        let alg: AlgorithmIdentifierRef<'_> = r.decode()?;
        let key: &OctetStringRef = r.decode()?;
        // Optional [0] attributes and [1] public key: read and ignored.
        while !r.is_finished() {
            let tag = Tag::peek(r)?;
            if !matches!(tag, Tag::ContextSpecific { number, .. } if number == TagNumber(0) || number == TagNumber(1))
            {
                return Err(der::Error::from(der::ErrorKind::TrailingData {
                    decoded: r.position(),
                    remaining: r.remaining_len(),
                }));
            }
            let _: AnyRef<'_> = r.decode()?;
        }
        Ok::<_, der::Error>((version, alg.oid, alg.parameters, key.as_bytes()))
    });
    let Ok((version, oid, params, key)) = parsed else {
        return Ok(None);
    };
    if version > 1 {
        return Ok(None);
    }
    let secret = secret_from_oid(oid, params, key)?;
    PrivateKey::from_secret(secret).map(Some)
}

fn secret_from_oid(
    oid: ObjectIdentifier,
    params: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Secret> {
    if oid == asn1::EC_PUBLIC_KEY {
        let curve = params
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| Error::invalid("the EC key names no curve"))?;
        if curve != asn1::P256 {
            return Err(Error::unsupported(format!(
                "EC curve {curve} (keytool supports P-256, which docker and notary generate)"
            )));
        }
        return sec1(key);
    }
    if oid == asn1::RSA {
        rsa_spki(key)?; // validates the structure
        return Ok(Secret::Rsa(Zeroizing::new(key.to_vec())));
    }
    if oid == asn1::NOTARY_ED25519 {
        return ed25519(key);
    }
    if oid == asn1::RFC8410_ED25519 {
        return Err(Error::unsupported(
            "RFC 8410 Ed25519 keys (notary cannot read them; it uses its own encoding)",
        ));
    }
    Err(Error::unsupported(format!("key algorithm {oid}")))
}

/// A SEC1 `ECPrivateKey` on P-256.
pub(crate) fn sec1(der: &[u8]) -> Result<Secret> {
    p256::SecretKey::from_sec1_der(der)
        .map(Secret::Ecdsa)
        .map_err(|_| Error::invalid("the EC private key is not a valid P-256 SEC1 key"))
}

/// notary's raw 96-byte Ed25519 form: pub ‖ seed ‖ pub.
pub(crate) fn ed25519(raw: &[u8]) -> Result<Secret> {
    if raw.len() != 96 || raw[..32] != raw[64..] {
        return Err(Error::invalid(
            "the Ed25519 key is not notary's 96-byte form",
        ));
    }
    Ok(Secret::Ed25519(Zeroizing::new(raw.to_vec())))
}

/// The DER SPKI (with NULL parameters, as Go writes) of a PKCS#1 RSA private key.
pub(crate) fn rsa_spki(pkcs1: &[u8]) -> Result<Vec<u8>> {
    let bad = |_| Error::invalid("the RSA private key is not valid PKCS#1");
    let (n, e) = AnyRef::from_der(pkcs1)
        .map_err(bad)?
        .sequence(|r| {
            let _version: u8 = r.decode()?;
            let n = r.tlv_bytes()?;
            let e = r.tlv_bytes()?;
            while !r.is_finished() {
                let _: AnyRef<'_> = r.decode()?;
            }
            Ok::<_, der::Error>((n.to_vec(), e.to_vec()))
        })
        .map_err(bad)?;
    if n.first() != Some(&0x02) || e.first() != Some(&0x02) {
        return Err(Error::invalid("the RSA private key is not valid PKCS#1"));
    }
    let rsa_public = asn1::seq(&[&n, &e]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&rsa_public);
    let alg = asn1::seq(&[&asn1::oid(&asn1::RSA), &[0x05, 0x00]]);
    Ok(asn1::seq(&[&alg, &asn1::tlv(0x03, &bits)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notary_layout_round_trips() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let der = encode(&key).expect("encodes");
        assert_eq!(der.len(), 150, "notary's inner DER for P-256 is 150 bytes");
        assert_eq!(&der[..6], [0x30, 0x81, 0x93, 0x02, 0x01, 0x01]);
        let back = decode(&der).expect("decodes").expect("is pkcs8");
        assert_eq!(back.id(), key.id());
    }

    #[test]
    fn garbage_is_not_pkcs8() {
        assert!(matches!(decode(b"\x30\x03\x02\x01\x05"), Ok(None)));
        assert!(matches!(decode(&[0xff; 40]), Ok(None)));
    }
}
