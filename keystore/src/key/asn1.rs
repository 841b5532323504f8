//! The few DER building blocks notary's byte layout needs, and the OIDs of the spec (TV5).
//!
//! Writing is by hand so that the bytes match notary's exactly; reading goes through `der`.

use der::asn1::ObjectIdentifier as Oid;

/// PBES2 (RFC 8018).
pub(crate) const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");
/// PBKDF2 (RFC 8018).
pub(crate) const PBKDF2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.12");
/// scrypt, recognised only to name it in errors.
pub(crate) const SCRYPT: Oid = Oid::new_unwrap("1.3.6.1.4.1.11591.4.11");
/// HMAC-SHA1, the implicit PRF default.
pub(crate) const HMAC_SHA1: Oid = Oid::new_unwrap("1.2.840.113549.2.7");
/// HMAC-SHA256.
pub(crate) const HMAC_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.2.9");
/// HMAC-SHA512.
pub(crate) const HMAC_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.2.11");
/// AES-128-CBC.
pub(crate) const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
/// AES-192-CBC.
pub(crate) const AES192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
/// AES-256-CBC.
pub(crate) const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
/// id-ecPublicKey.
pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// The P-256 curve.
pub(crate) const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// rsaEncryption.
pub(crate) const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// notary's (GnuPG's) Ed25519 OID.
pub(crate) const NOTARY_ED25519: Oid = Oid::new_unwrap("1.3.6.1.4.1.11591.15.1");
/// RFC 8410 Ed25519, recognised only to name it in errors.
pub(crate) const RFC8410_ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// Encodes one TLV with a definite, minimal length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// An OCTET STRING.
pub(crate) fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

/// An OBJECT IDENTIFIER.
pub(crate) fn oid(oid: &Oid) -> Vec<u8> {
    tlv(0x06, oid.as_bytes())
}

/// A non-negative INTEGER, minimally encoded.
pub(crate) fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    tlv(0x02, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_lengths() {
        assert_eq!(uint(2048), [0x02, 0x02, 0x08, 0x00]);
        assert_eq!(uint(0), [0x02, 0x01, 0x00]);
        assert_eq!(uint(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(600_000), [0x02, 0x03, 0x09, 0x27, 0xc0]);
        assert_eq!(&tlv(0x04, &[0; 160])[..3], [0x04, 0x81, 0xa0]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }
}
