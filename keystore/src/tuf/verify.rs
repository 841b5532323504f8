//! Checks notary clients apply to root.json (spec §4.4, §9.2): every root key is a valid
//! certificate for the GUN, key IDs are recomputed, a threshold of root signatures verifies over
//! the re-canonicalised `signed` bytes, and nothing has expired.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Decode;
use serde_json::Value;
use x509_cert::Certificate;

use super::{Envelope, TufKey, roles, verify_signature};
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::key::pem;

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        reason: reason.into(),
    }
}

/// Verifies a root.json for `gun` as a client trusting it on first use would, and returns its
/// `signed` object.
pub fn verify_root(bytes: &[u8], gun: &Gun, now: SystemTime) -> Result<Value> {
    let env = Envelope::parse(bytes)?;
    let signed = &env.signed;
    if signed["_type"] != "Root" {
        return Err(bad("root.json is not of type Root"));
    }
    if signed["version"].as_u64().is_none_or(|v| v < 1) {
        return Err(bad("root.json has no valid version"));
    }
    for role in ["root", "targets", "snapshot", "timestamp"] {
        if roles::role_key_ids(signed, role).is_empty() {
            return Err(bad(format!("root.json lists no {role} key")));
        }
    }
    check_expiry(signed, "root.json", now)?;
    let threshold = signed["roles"]["root"]["threshold"].as_u64().unwrap_or(0);
    if threshold < 1 {
        return Err(bad("root.json has a root threshold below 1"));
    }
    let mut root_keys = Vec::new();
    for id in roles::role_key_ids(signed, "root") {
        let key = roles::root_key(signed, &id).ok_or_else(|| {
            bad(format!(
                "root key {id} is missing or its ID does not match its content"
            ))
        })?;
        check_certificate(&key, gun, now)?;
        root_keys.push((id, key));
    }
    let mut valid = 0u64;
    for (id, key) in &root_keys {
        let signed_by_key = env
            .signatures
            .iter()
            .filter(|s| &s.keyid == id)
            .any(|s| verify_signature(signed, s, key).unwrap_or(false));
        if signed_by_key {
            valid += 1;
        }
    }
    if valid < threshold {
        return Err(bad(format!(
            "root.json carries {valid} valid root signature(s); {threshold} needed"
        )));
    }
    Ok(env.signed)
}

/// Refuses a server root.json older than the one cached in `tuf/<gun>/metadata/root.json`
/// (a rollback). A missing or unreadable cache is no evidence either way.
pub fn check_not_rolled_back(
    dir: &crate::trust_dir::TrustDir,
    gun: &Gun,
    root: &Value,
) -> Result<()> {
    let cached = dir.metadata_dir(gun).join("root.json");
    let Ok(bytes) = std::fs::read(&cached) else {
        return Ok(());
    };
    let Ok(env) = Envelope::parse(&bytes) else {
        return Ok(());
    };
    let (Some(have), Some(got)) = (env.signed["version"].as_u64(), root["version"].as_u64()) else {
        return Ok(());
    };
    if got < have {
        return Err(bad(format!(
            "the server's root.json is version {got}, older than version {have} cached in {}: a rollback",
            cached.display()
        )));
    }
    Ok(())
}

/// Verifies a role's metadata against the keys and threshold root.json gives that role, and
/// its expiry; returns its `signed` object.
pub fn verify_role(bytes: &[u8], role: &str, root: &Value, now: SystemTime) -> Result<Value> {
    let env = Envelope::parse(bytes)?;
    let expected_type = match role {
        "targets" => "Targets",
        "snapshot" => "Snapshot",
        "timestamp" => "Timestamp",
        _ => return Err(bad(format!("cannot verify role {role}"))),
    };
    if env.signed["_type"] != expected_type {
        return Err(bad(format!("{role}.json is not of type {expected_type}")));
    }
    let threshold = root["roles"][role]["threshold"]
        .as_u64()
        .unwrap_or(0)
        .max(1);
    let mut valid = 0u64;
    for id in roles::role_key_ids(root, role) {
        let Some(key) = roles::root_key(root, &id) else {
            continue;
        };
        if env
            .signatures
            .iter()
            .filter(|s| s.keyid == id)
            .any(|s| verify_signature(&env.signed, s, &key).unwrap_or(false))
        {
            valid += 1;
        }
    }
    if valid < threshold {
        return Err(bad(format!(
            "{role}.json carries {valid} valid signature(s) from the keys root.json names; {threshold} needed"
        )));
    }
    check_expiry(&env.signed, &format!("{role}.json"), now)?;
    Ok(env.signed)
}

/// Checks that `bytes` are the file `meta` (a snapshot/timestamp `meta` entry) describes: the
/// exact length and SHA-256 (spec §9.3: hashes cover the exact file bytes).
pub fn check_meta(meta: &Value, file: &str, bytes: &[u8]) -> Result<()> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let length = meta["length"].as_u64();
    let sha256 = meta["hashes"]["sha256"].as_str();
    let (Some(length), Some(sha256)) = (length, sha256) else {
        return Err(bad(format!("no length and sha256 are recorded for {file}")));
    };
    if length != bytes.len() as u64 {
        return Err(bad(format!(
            "{file} is {} bytes; {length} were signed for",
            bytes.len()
        )));
    }
    if base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes)) != sha256 {
        return Err(bad(format!(
            "{file} does not match the hash it was signed with"
        )));
    }
    Ok(())
}

/// Fails when `signed.expires` is in the past (or unreadable).
pub fn check_expiry(signed: &Value, what: &str, now: SystemTime) -> Result<SystemTime> {
    let expires = signed["expires"]
        .as_str()
        .and_then(parse_time)
        .ok_or_else(|| bad(format!("{what} has no valid expiry")))?;
    if expires < now {
        return Err(bad(format!(
            "{what} expired at {}",
            roles::go_time(expires)
        )));
    }
    Ok(expires)
}

fn check_certificate(key: &TufKey, gun: &Gun, now: SystemTime) -> Result<()> {
    if key.keytype != "ecdsa-x509" && key.keytype != "rsa-x509" {
        return Err(bad(format!(
            "root key type {} is not a certificate",
            key.keytype
        )));
    }
    let block = pem::decode_first(&key.public).map_err(|_| bad("a root certificate is not PEM"))?;
    let cert =
        Certificate::from_der(&block.der).map_err(|_| bad("a root certificate is not X.509"))?;
    let tbs = cert.tbs_certificate();
    let cn = tbs
        .subject()
        .common_name()
        .ok()
        .flatten()
        .map(|d| d.value().into_owned())
        .unwrap_or_default();
    let matches = cn == gun.as_str()
        || cn
            .strip_suffix('*')
            .is_some_and(|p| gun.as_str().starts_with(p));
    if !matches {
        return Err(bad(format!(
            "the root certificate is for {cn:?}, not {gun}"
        )));
    }
    let validity = tbs.validity();
    if validity.not_before.to_system_time() > now + Duration::from_secs(86_400) {
        return Err(bad("the root certificate is not valid yet"));
    }
    if validity.not_after.to_system_time() < now {
        return Err(bad("the root certificate has expired"));
    }
    Ok(())
}

/// Parses RFC 3339 times as Go writes them (`2026-11-22T09:58:59.833506502Z`, or with an offset).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac[..digits].parse::<u32>().ok()? * 10u32.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let offset: i64 = match rest {
        "Z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let mins = (o[1..3].parse::<i64>().ok()? * 60) + o[4..6].parse::<i64>().ok()?;
            if o.starts_with('+') {
                mins * 60
            } else {
                -mins * 60
            }
        }
        _ => return None,
    };
    // days from civil (Howard Hinnant)
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe;
    let secs = (days.checked_sub(719_468)? * 86_400 + h * 3600 + mi * 60 + s) as i64 - offset;
    Some(UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = parse_time("2026-11-22T09:58:59.833506502Z").expect("parses");
        assert_eq!(roles::go_time(t), "2026-11-22T09:58:59.833506502Z");
        let t = parse_time("2026-11-22T04:58:59-05:00").expect("parses");
        assert_eq!(roles::go_time(t), "2026-11-22T09:58:59Z");
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-11-22 09:58:59Z",
            "2026-11-22T09:58:59",
            "2026-11-22T09:58:59.Z",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn own_root_verifies_and_tampering_is_caught() {
        use crate::key::{PrivateKey, cert};
        let gun: Gun = "example.com/a/b".parse().expect("gun");
        let now = SystemTime::now();
        let root = PrivateKey::generate_ecdsa().expect("key");
        let other = |k: &PrivateKey| TufKey {
            keytype: "ecdsa".into(),
            public: k.public().bytes().to_vec(),
        };
        let keys = roles::BaseKeys {
            root: TufKey {
                keytype: "ecdsa-x509".into(),
                public: cert::root_certificate(&root, &gun, now)
                    .expect("cert")
                    .into_bytes(),
            },
            targets: other(&PrivateKey::generate_ecdsa().expect("key")),
            snapshot: other(&PrivateKey::generate_ecdsa().expect("key")),
            timestamp: other(&PrivateKey::generate_ecdsa().expect("key")),
        };
        let id = keys.root.id();
        let bytes = super::super::sign(&roles::root(&keys, now), &[(&id, &root)]).expect("signs");
        assert!(verify_root(&bytes, &gun, now).is_ok());
        // Wrong GUN, expired, a stranger's signature, tampered content.
        let other_gun: Gun = "example.com/a/c".parse().expect("gun");
        assert!(verify_root(&bytes, &other_gun, now).is_err());
        assert!(
            verify_root(
                &bytes,
                &gun,
                now + roles::ROOT_EXPIRY + Duration::from_secs(86_400)
            )
            .is_err()
        );
        let stranger = PrivateKey::generate_ecdsa().expect("key");
        let forged =
            super::super::sign(&roles::root(&keys, now), &[(&id, &stranger)]).expect("signs");
        assert!(verify_root(&forged, &gun, now).is_err());
        let tampered = String::from_utf8(bytes)
            .expect("utf8")
            .replace("\"version\":1", "\"version\":2");
        assert!(verify_root(tampered.as_bytes(), &gun, now).is_err());
    }
}
