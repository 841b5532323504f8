//! Root certificates in root.json (`ecdsa-x509` keys) and notary's `CanonicalKeyID` mapping
//! from a certificate to the ID of the private key file (spec §4.2).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use x509_cert::Certificate;

use super::{Algorithm, PrivateKey, PublicKey, asn1, pem};
use crate::error::{Argument, Error, Result};
use crate::ids::{Gun, KeyId};

/// Validity of root certificates: 10 × 365 days, as notary (`notary.Year*10`).
pub const ROOT_CERT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Builds the self-signed root certificate notary makes for `gun` (spec §4.3): X.509 v3, random
/// 128-bit serial, CN = GUN as subject and issuer, valid from `now` for 10 years, keyUsage
/// (critical) digitalSignature|keyEncipherment, extKeyUsage codeSigning, basicConstraints
/// (critical) CA:FALSE, ecdsa-with-SHA256. Returns the PEM text as Go encodes it (the exact bytes
/// root.json carries).
pub fn root_certificate(key: &PrivateKey, gun: &Gun, now: SystemTime) -> Result<String> {
    self_signed(key, gun.as_str(), ROOT_KEY_USAGE, now, ROOT_CERT_VALIDITY)
}

/// notary's root key usage: digitalSignature | keyEncipherment (BIT STRING, 5 unused bits).
const ROOT_KEY_USAGE: [u8; 2] = [0x05, 0xa0];
/// A code-signing leaf's key usage: digitalSignature only (7 unused bits), as notation requires.
const SIGNING_KEY_USAGE: [u8; 2] = [0x07, 0x80];

/// Builds a self-signed code-signing certificate for `key` that satisfies notation's rules for a
/// signing certificate (the Notary Project's certificate requirements): CN = `common_name`,
/// keyUsage (critical) digitalSignature only, extKeyUsage codeSigning, basicConstraints
/// (critical) CA:FALSE, ecdsa-with-SHA256, valid from `now` for `validity`. Notary's root
/// certificates also allow keyEncipherment, which notation refuses. PEM text.
pub fn signing_certificate(
    key: &PrivateKey,
    common_name: &str,
    now: SystemTime,
    validity: Duration,
) -> Result<String> {
    self_signed(key, common_name, SIGNING_KEY_USAGE, now, validity)
}

fn self_signed(
    key: &PrivateKey,
    common_name: &str,
    key_usage: [u8; 2],
    now: SystemTime,
    validity: Duration,
) -> Result<String> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| Error::Internal {
        what: format!("the OS random generator failed: {e}"),
    })?;
    let start = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::Internal {
            what: "the clock is before 1970".into(),
        })?
        .as_secs();
    // X.509 times end with the year 9999; a longer validity is refused, not wrapped around.
    let not_after = start
        .checked_add(validity.as_secs())
        .filter(|&end| civil(end).0 <= 9999)
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::Expiry,
            reason: format!(
                "a certificate valid for {} days would end after the year 9999, the last one \
                 X.509 can express",
                validity.as_secs() / 86_400
            ),
        })?;
    let profile = Profile {
        common_name,
        key_usage,
        not_before: start,
        not_after,
    };
    let tbs = tbs_certificate(key.public(), &serial, &profile);
    let signature = key.sign_der(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let cert = asn1::seq(&[&tbs, &ecdsa_sha256(), &asn1::tlv(0x03, &bits)]);
    Ok(pem::encode("CERTIFICATE", &[], &cert))
}

/// What differs between the certificates keytool makes.
struct Profile<'a> {
    common_name: &'a str,
    key_usage: [u8; 2],
    not_before: u64,
    not_after: u64,
}

const ECDSA_WITH_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

fn ecdsa_sha256() -> Vec<u8> {
    asn1::seq(&[&asn1::oid(&ECDSA_WITH_SHA256)])
}

/// The to-be-signed part, separated so that tests can compare it with notary's bytes.
fn tbs_certificate(public: &PublicKey, serial: &[u8; 16], profile: &Profile<'_>) -> Vec<u8> {
    let oid = |s: &str| asn1::oid(&der::asn1::ObjectIdentifier::new_unwrap(s));
    // Go marshals a positive big.Int minimally, with a leading zero if the top bit is set.
    let skip = serial.iter().take_while(|&&b| b == 0).count().min(15);
    let mut serial_bytes = Vec::with_capacity(17);
    if serial[skip] & 0x80 != 0 {
        serial_bytes.push(0);
    }
    serial_bytes.extend_from_slice(&serial[skip..]);
    // Go uses PrintableString when every character allows it, else UTF8String.
    let cn = profile.common_name;
    let printable = cn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b));
    let cn = asn1::tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    let name = asn1::seq(&[&asn1::tlv(0x31, &asn1::seq(&[&oid("2.5.4.3"), &cn]))]);
    let validity = asn1::seq(&[
        &der_time(profile.not_before),
        &der_time(profile.not_after),
    ]);
    let critical = [0x01, 0x01, 0xff];
    let key_usage = asn1::seq(&[
        &oid("2.5.29.15"),
        &critical,
        &asn1::octets(&asn1::tlv(0x03, &profile.key_usage)),
    ]);
    let ext_key_usage = asn1::seq(&[
        &oid("2.5.29.37"),
        &asn1::octets(&asn1::seq(&[&oid("1.3.6.1.5.5.7.3.3")])),
    ]);
    let basic = asn1::seq(&[&oid("2.5.29.19"), &critical, &asn1::octets(&asn1::seq(&[]))]);
    let extensions = asn1::tlv(0xa3, &asn1::seq(&[&key_usage, &ext_key_usage, &basic]));
    asn1::seq(&[
        &[0xa0, 0x03, 0x02, 0x01, 0x02],
        &asn1::tlv(0x02, &serial_bytes),
        &ecdsa_sha256(),
        &name,
        &validity,
        &name,
        public.bytes(),
        &extensions,
    ])
}

/// UTCTime before 2050, GeneralizedTime from then on (RFC 5280, as Go).
fn der_time(unix: u64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil(unix);
    if y < 2050 {
        asn1::tlv(
            0x17,
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes(),
        )
    } else {
        asn1::tlv(
            0x18,
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes(),
        )
    }
}

/// UTC calendar fields of a Unix time (Howard Hinnant's days-to-civil algorithm).
pub(crate) fn civil(unix: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
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
    use crate::key::key_id_of;

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
    fn tbs_matches_notary_byte_for_byte() {
        // TV3 was made for TV2's key with this serial and validity.
        let tv3 = pem::decode_first(TV3.as_bytes()).expect("pem");
        let cert = Certificate::from_der(&tv3.der).expect("x509");
        let notary_tbs = cert.tbs_certificate().to_der().expect("der");
        let public = certificate_public_key(TV3.as_bytes()).expect("key");
        let serial: [u8; 16] = hex::decode("08969598c832653eed08acccdc1810b0")
            .expect("hex")
            .try_into()
            .expect("16");
        // 2026-11-22T09:58:59Z and 3650 days later.
        let start = 1_795_341_539;
        assert_eq!(civil(start), (2026, 11, 22, 9, 58, 59));
        let gun: Gun = "example.com/org/repo".parse().expect("gun");
        let profile = Profile {
            common_name: gun.as_str(),
            key_usage: ROOT_KEY_USAGE,
            not_before: start,
            not_after: start + ROOT_CERT_VALIDITY.as_secs(),
        };
        let ours = tbs_certificate(&public, &serial, &profile);
        assert_eq!(hex::encode(ours), hex::encode(notary_tbs));
    }

    #[test]
    fn signing_certificates_carry_digital_signature_only() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let pem_text = signing_certificate(
            &key,
            "keytool signer",
            SystemTime::now(),
            Duration::from_secs(86_400),
        )
        .expect("cert");
        assert_eq!(canonical_key_id(pem_text.as_bytes()).expect("id"), key.id());
        let block = pem::decode_first(pem_text.as_bytes()).expect("pem");
        let cert = Certificate::from_der(&block.der).expect("x509");
        let exts = cert.tbs_certificate().extensions().expect("extensions");
        let usage = exts
            .iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.15")
            .expect("keyUsage");
        assert!(usage.critical);
        assert_eq!(usage.extn_value.as_bytes(), [0x03, 0x02, 0x07, 0x80]);
        let basic = exts
            .iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.19")
            .expect("basicConstraints");
        assert!(basic.critical);
        assert_eq!(basic.extn_value.as_bytes(), [0x30, 0x00]);
    }

    #[test]
    fn a_validity_past_the_year_9999_is_refused_not_wrapped() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for days in [u64::MAX / 86_400, 3_000_000] {
            let e = signing_certificate(&key, "k", now, Duration::from_secs(days * 86_400))
                .expect_err("too long");
            assert!(
                matches!(&e, Error::InvalidArgument { what: Argument::Expiry, .. }),
                "{e}"
            );
        }
        // Up to the end of 9999 is fine (GeneralizedTime).
        let end = 253_402_300_799 - 1_800_000_000;
        let pem_text =
            signing_certificate(&key, "k", now, Duration::from_secs(end)).expect("cert");
        let block = pem::decode_first(pem_text.as_bytes()).expect("pem");
        assert!(Certificate::from_der(&block.der).is_ok());
    }

    #[test]
    fn generated_root_certificates_parse_and_map_to_the_key() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let gun: Gun = "sandboxregistry:5000/test/trusttest".parse().expect("gun");
        let pem_text = root_certificate(&key, &gun, SystemTime::now()).expect("cert");
        assert!(
            pem_text.starts_with("-----BEGIN CERTIFICATE-----\n")
                && pem_text.ends_with("-----END CERTIFICATE-----\n")
        );
        assert_eq!(canonical_key_id(pem_text.as_bytes()).expect("id"), key.id());
        let block = pem::decode_first(pem_text.as_bytes()).expect("pem");
        let cert = Certificate::from_der(&block.der).expect("x509");
        // Self-signed: the signature verifies with the key.
        use p256::ecdsa::signature::Verifier as _;
        use p256::pkcs8::DecodePublicKey as _;
        let vk = p256::ecdsa::VerifyingKey::from_public_key_der(key.public().bytes()).expect("vk");
        let sig =
            p256::ecdsa::DerSignature::from_bytes(cert.signature().raw_bytes()).expect("der sig");
        let tbs = cert.tbs_certificate().to_der().expect("der");
        assert!(vk.verify(&tbs, &sig).is_ok());
    }

    #[test]
    fn tv3_ids() {
        assert_eq!(
            key_id_of("ecdsa-x509", TV3.as_bytes()).as_str(),
            "f67549f7376387d74bfa543d92a19cbf2ba0828a6a9e9b9cd13cda30f9a4c252"
        );
        assert_eq!(
            canonical_key_id(TV3.as_bytes()).expect("parses").as_str(),
            "23161cb1681ee89cba69d824790ef782d8db7f135a78e853f7f0be45edd66136"
        );
    }
}
