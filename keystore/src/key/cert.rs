//! Root certificates in root.json (`ecdsa-x509` keys) and notary's `CanonicalKeyID` mapping
//! from a certificate to the ID of the private key file (spec §4.2).

use der::{Decode, Encode};
use x509_cert::Certificate;

use super::{Algorithm, PublicKey, asn1, key_id_of, pem};
use crate::error::{Error, Result};
use crate::ids::KeyId;

/// The `ecdsa-x509` / `rsa-x509` key ID: a hash over the certificate's PEM text.
pub fn x509_key_id(keytype: &str, cert_pem: &[u8]) -> KeyId {
    key_id_of(keytype, cert_pem)
}

/// The public key inside the first header-less CERTIFICATE block of `cert_pem`.
pub fn certificate_public_key(cert_pem: &[u8]) -> Result<PublicKey> {
    let blocks = pem::decode_all(cert_pem)?;
    let block = blocks
        .iter()
        .find(|b| b.label == "CERTIFICATE" && b.headers.is_empty())
        .ok_or_else(|| Error::invalid("no CERTIFICATE block without headers"))?;
    let cert = Certificate::from_der(&block.der)
        .map_err(|_| Error::invalid("the certificate is not valid X.509 DER"))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let der = spki.to_der().map_err(|_| Error::Internal {
        what: "cannot re-encode a certificate public key".into(),
    })?;
    let algorithm = match spki.algorithm.oid {
        o if o == asn1::EC_PUBLIC_KEY => Algorithm::Ecdsa,
        o if o == asn1::RSA => Algorithm::Rsa,
        o => return Err(Error::unsupported(format!("certificate key algorithm {o}"))),
    };
    Ok(PublicKey::new(algorithm, der))
}

/// notary's `CanonicalKeyID` for an x509 key: the ID of the certificate's public key, which is
/// the name of the private key file.
pub fn canonical_key_id(cert_pem: &[u8]) -> Result<KeyId> {
    Ok(certificate_public_key(cert_pem)?.key_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// notary-compat.md §10 TV3.
    const TV3: &str = "-----BEGIN CERTIFICATE-----
MIIBcTCCARegAwIBAgIQCJaVmMgyZT7tCKzM3BgQsDAKBggqhkjOPQQDAjAfMR0w
GwYDVQQDExRleGFtcGxlLmNvbS9vcmcvcmVwbzAeFw0yNjExMjIwOTU4NTlaFw0z
NjExMTkwOTU4NTlaMB8xHTAbBgNVBAMTFGV4YW1wbGUuY29tL29yZy9yZXBvMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhYAmI8m7c+4Spx6r32jzjkT+EUQjCbz+
hebyL3gIO57V4d01visSJPvX0ZQof6UOOYTChjvv93pBvj7lNXZAMKM1MDMwDgYD
VR0PAQH/BAQDAgWgMBMGA1UdJQQMMAoGCCsGAQUFBwMDMAwGA1UdEwEB/wQCMAAw
CgYIKoZIzj0EAwIDSAAwRQIgAmS+vDM9bFHS7fI8/XLc755gxHzBbFcAduEd9nDO
kaACIQDYW8KUd0cqvVMMyjd9mrjUv0zAmBW0lEEyUJakyczwKw==
-----END CERTIFICATE-----
";

    #[test]
    fn tv3_ids() {
        assert_eq!(
            x509_key_id("ecdsa-x509", TV3.as_bytes()).as_str(),
            "f67549f7376387d74bfa543d92a19cbf2ba0828a6a9e9b9cd13cda30f9a4c252"
        );
        assert_eq!(
            canonical_key_id(TV3.as_bytes()).expect("parses").as_str(),
            "23161cb1681ee89cba69d824790ef782d8db7f135a78e853f7f0be45edd66136"
        );
    }
}
