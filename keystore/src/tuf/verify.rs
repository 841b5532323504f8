//! Checks notary clients apply to TUF metadata (spec §4.4, §9.2, §9.6): every root key is a valid
//! certificate for the GUN, key IDs are recomputed, a threshold of *distinct* keys signed the
//! `signed` object (canonicalised once per document), nothing has expired, and each role matches
//! the length and hashes the level above signed for. The root chain itself (each root signed by
//! its predecessor) is in [`super::chain`].

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Decode;
use x509_cert::Certificate;

use super::schema::{Delegations, FileMeta, Metadata, Root, RoleEntry, Signed, Targets, TargetsRole};
use super::{Envelope, Signature, TufKey, roles, verify_canonical};
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::key::pem;

/// At most this many signatures of one document are considered; a document carrying more is
/// refused (notary signs root with the old and new root keys: two or three signatures).
pub const MAX_SIGNATURES: usize = 64;

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        reason: reason.into(),
    }
}

/// The keys of one role, as a root `signed` object gives them: distinct listed IDs, each key
/// present with a matching ID, and the role's threshold (at least 1).
#[derive(Clone, Debug)]
pub struct RoleKeys {
    /// `(listed ID, key)`, without duplicates.
    pub keys: Vec<(String, TufKey)>,
    /// How many distinct keys must sign.
    pub threshold: u64,
}

impl RoleKeys {
    /// The keys and threshold of `role` in `root`. A listed key that is missing, or whose ID
    /// does not match its content, is an error for the root role and skipped for the others (it
    /// can then only fail the threshold).
    pub fn of(root: &Root, role: &str) -> Result<Self> {
        let entry = root
            .roles
            .get(role)
            .ok_or_else(|| bad(format!("root.json has no {role} role")))?;
        Self::listed(entry, role, role == "root", |id| root.key(id))
    }

    /// The keys and threshold of delegated role `name` as targets.json's `delegations` give
    /// them (a listed key that is missing or mismatched is skipped, as for the base roles below
    /// root).
    pub fn of_delegation(delegations: &Delegations, name: &str) -> Result<Self> {
        let entry = delegations
            .roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| bad(format!("targets.json delegates no role {name}")))?;
        Self::listed(&entry.role, name, false, |id| delegations.key(id))
    }

    fn listed(
        entry: &RoleEntry,
        role: &str,
        strict: bool,
        key: impl Fn(&str) -> Option<TufKey>,
    ) -> Result<Self> {
        let mut ids = entry.keyids.clone();
        ids.sort();
        ids.dedup();
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            match key(&id) {
                Some(key) => keys.push((id, key)),
                None if strict => {
                    return Err(bad(format!(
                        "{role} key {} is missing or its ID does not match its content",
                        crate::ids::clip(&id)
                    )));
                }
                None => {}
            }
        }
        if entry.threshold < 1 {
            return Err(bad(format!("the {role} role has a threshold below 1")));
        }
        Ok(RoleKeys {
            keys,
            threshold: entry.threshold,
        })
    }

    /// The listed IDs of the keys whose signature among `signatures` is valid over `canonical`
    /// (the canonical bytes of the `signed` object as received). Two listed IDs of one public key
    /// count as one signer.
    pub fn signers(&self, signatures: &[Signature], canonical: &[u8]) -> Result<BTreeSet<String>> {
        if signatures.len() > MAX_SIGNATURES {
            return Err(bad(format!(
                "the document carries {} signatures; at most {MAX_SIGNATURES} are accepted",
                signatures.len()
            )));
        }
        let mut signers = BTreeSet::new();
        let mut distinct = BTreeSet::new();
        for (id, key) in &self.keys {
            let signed = signatures
                .iter()
                .filter(|s| &s.keyid == id)
                .any(|s| verify_canonical(canonical, s, key).unwrap_or(false));
            if signed {
                let public = roles::canonical_id(key).map_or_else(|| id.clone(), |k| k.to_string());
                if distinct.insert(public) {
                    signers.insert(id.clone());
                }
            }
        }
        Ok(signers)
    }

    /// Checks that a threshold of distinct keys signed `canonical`; returns who did.
    pub fn check(
        &self,
        signatures: &[Signature],
        canonical: &[u8],
        what: &str,
    ) -> Result<BTreeSet<String>> {
        let signers = self.signers(signatures, canonical)?;
        if (signers.len() as u64) < self.threshold {
            return Err(bad(format!(
                "{what} carries {} valid signature(s) from the keys trusted for it; {} needed",
                signers.len(),
                self.threshold
            )));
        }
        Ok(signers)
    }
}

/// A root.json whose own root role's threshold signed it.
#[derive(Clone, Debug)]
pub struct CheckedRoot {
    /// The typed document.
    pub document: Signed<Root>,
    /// Canonical bytes of its `signed` object as received (what the signatures cover).
    pub canonical: Vec<u8>,
    /// Its version (at least 1).
    pub version: u64,
    /// The listed IDs of its own root keys that validly signed it.
    pub signers: BTreeSet<String>,
}

impl CheckedRoot {
    /// The `signed` object.
    pub fn signed(&self) -> &Root {
        &self.document.signed
    }
}

/// Checks a root.json for `gun` on its own: type, version, the four base roles, every root key a
/// certificate for `gun`, and a threshold of its own root keys signed it. With `now`, the
/// document and its root certificates must also be valid at that time; without it (a past root
/// in the chain) their dates are not checked.
pub fn check_root(bytes: &[u8], gun: &Gun, now: Option<SystemTime>) -> Result<CheckedRoot> {
    Ok(check_root_dated(bytes, gun, now, false)?.0)
}

/// [`check_root`] at `now`, except that an expired root.json or root certificate is accepted:
/// returns, with the root, what has expired (`None`: nothing). A certificate that is not valid
/// yet, and everything else, is refused as always. For renewing a root that has expired.
pub fn check_root_allowing_expired(
    bytes: &[u8],
    gun: &Gun,
    now: SystemTime,
) -> Result<(CheckedRoot, Option<String>)> {
    check_root_dated(bytes, gun, Some(now), true)
}

fn check_root_dated(
    bytes: &[u8],
    gun: &Gun,
    now: Option<SystemTime>,
    expired_ok: bool,
) -> Result<(CheckedRoot, Option<String>)> {
    let envelope = Envelope::parse(bytes)?;
    let signed: Root = envelope.typed()?;
    if signed.kind != Root::TYPE {
        return Err(bad("root.json is not of type Root"));
    }
    if signed.version < 1 {
        return Err(bad("root.json has no valid version"));
    }
    for role in ["root", "targets", "snapshot", "timestamp"] {
        if signed.role_key_ids(role).is_empty() {
            return Err(bad(format!("root.json lists no {role} key")));
        }
    }
    let mut expired = Vec::new();
    if let Some(now) = now {
        match check_expiry(&signed, "root.json", now) {
            Err(e) if expired_ok && parse_time(&signed.expires).is_some() => {
                expired.push(e.to_string());
            }
            checked => {
                checked?;
            }
        }
    }
    let root_role = RoleKeys::of(&signed, "root")?;
    for (_, key) in &root_role.keys {
        if check_certificate(key, gun, now, expired_ok)? == Validity::Expired {
            expired.push(format!("the root certificate {} has expired", key.id()));
        }
    }
    // The signatures cover the document as received, not as it would re-serialise.
    let canonical = envelope.canonical()?;
    let version = signed.version;
    let signers = root_role.check(
        &envelope.signatures,
        &canonical,
        &format!("root.json version {version}"),
    )?;
    let root = CheckedRoot {
        document: Signed {
            signed,
            signatures: envelope.signatures,
        },
        canonical,
        version,
        signers,
    };
    Ok((root, (!expired.is_empty()).then(|| expired.join("; "))))
}

/// Verifies a root.json for `gun` as a client trusting it on first use would (signed by its own
/// root keys, certificates valid, not expired), and returns its `signed` object. Whether a root
/// may be trusted at all is decided by [`super::chain`] (which the library uses; this is for
/// tests, benches and fuzz targets).
#[cfg(any(test, feature = "internals"))]
pub fn verify_root(bytes: &[u8], gun: &Gun, now: SystemTime) -> Result<Root> {
    Ok(check_root(bytes, gun, Some(now))?.document.signed)
}

/// Verifies a role's metadata (targets, snapshot or timestamp) against the keys and threshold
/// root.json gives that role, its type and its expiry; returns its `signed` object. The
/// signatures are checked over the `signed` object as received, before it is read as `T`.
pub fn verify_role<T: Metadata>(bytes: &[u8], root: &Root, now: SystemTime) -> Result<T> {
    let signed: T = verify_role_signed(bytes, root)?;
    check_expiry(&signed, &format!("{}.json", T::ROLE), now)?;
    Ok(signed)
}

/// [`verify_role`] without the expiry check: for renewing metadata that has already expired
/// (everything else — type, keys, threshold — is checked).
pub fn verify_role_signed<T: Metadata>(bytes: &[u8], root: &Root) -> Result<T> {
    let role = T::ROLE;
    if role == Root::ROLE {
        return Err(bad("root.json is verified with verify_root"));
    }
    let env = Envelope::parse(bytes)?;
    // Signatures first, over the canonical bytes (dropped before the typed read, so that a
    // large document is held once as text and once typed, never twice more).
    let canonical = env.canonical()?;
    RoleKeys::of(root, role)?.check(&env.signatures, &canonical, &format!("{role}.json"))?;
    drop(canonical);
    let signed: T = env.typed()?;
    if signed.kind() != T::TYPE {
        return Err(bad(format!("{role}.json is not of type {}", T::TYPE)));
    }
    Ok(signed)
}

/// A delegated role's file, checked for everything but its signatures' threshold.
#[derive(Clone, Debug)]
pub struct DelegationCheck<T = Targets> {
    /// Its `signed` object.
    pub signed: T,
    /// The listed IDs of the keys the parent trusts for it whose signatures verified.
    pub signers: BTreeSet<String>,
    /// How many distinct keys must have signed.
    pub threshold: u64,
    /// When it expires (`None`: no valid expiry, which counts as expired).
    pub expires: Option<SystemTime>,
}

impl<T> DelegationCheck<T> {
    /// Whether a threshold of the keys trusted for the role signed it.
    pub fn meets_threshold(&self) -> bool {
        self.signers.len() as u64 >= self.threshold
    }
}

/// Checks a delegated role's metadata (`targets/releases.json`, ...): its type, and which of the
/// keys `delegations` (the verified parent's) trusts for it signed it. Whether they meet the
/// threshold, and whether it has expired, is the caller's decision
/// ([`DelegationCheck::meets_threshold`], [`DelegationCheck::expires`]): notary's clients skip
/// such a role with a warning rather than fail the whole repository.
pub fn check_delegation<T: TargetsRole>(
    bytes: &[u8],
    delegations: &Delegations,
    name: &str,
) -> Result<DelegationCheck<T>> {
    let env = Envelope::parse(bytes)?;
    let canonical = env.canonical()?;
    let keys = RoleKeys::of_delegation(delegations, name)?;
    let signers = keys.signers(&env.signatures, &canonical)?;
    drop(canonical);
    let signed: T = env.typed()?;
    let file = format!("{name}.json");
    if signed.kind() != T::TYPE {
        return Err(bad(format!("{file} is not of type {}", T::TYPE)));
    }
    Ok(DelegationCheck {
        expires: parse_time(signed.expires()),
        signed,
        signers,
        threshold: keys.threshold,
    })
}

/// Checks that `bytes` are the file `meta` (a snapshot/timestamp `meta` entry, `None` when there
/// is none) describes: the exact length, the SHA-256 and, when recorded, the SHA-512 (spec §9.3:
/// hashes cover the exact file bytes).
pub fn check_meta(meta: Option<&FileMeta>, file: &str, bytes: &[u8]) -> Result<()> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256, Sha512};
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((length, sha256)) = meta.and_then(|m| Some((m.length, m.hashes.get("sha256")?)))
    else {
        return Err(bad(format!("no length and sha256 are recorded for {file}")));
    };
    if length != bytes.len() as u64 {
        return Err(bad(format!(
            "{file} is {} bytes; {length} were signed for",
            bytes.len()
        )));
    }
    let sha512_ok = match meta.and_then(|m| m.hashes.get("sha512")) {
        None => true,
        Some(v) => *v == b64.encode(Sha512::digest(bytes)),
    };
    if b64.encode(Sha256::digest(bytes)) != *sha256 || !sha512_ok {
        return Err(bad(format!(
            "{file} does not match the hash it was signed with"
        )));
    }
    Ok(())
}

/// Fails when `signed`'s expiry is in the past (or unreadable); returns it.
pub fn check_expiry<T: Metadata>(signed: &T, what: &str, now: SystemTime) -> Result<SystemTime> {
    let expires =
        parse_time(signed.expires()).ok_or_else(|| bad(format!("{what} has no valid expiry")))?;
    if expires < now {
        return Err(bad(format!(
            "{what} expired at {}",
            roles::go_time(expires)
        )));
    }
    Ok(expires)
}

/// Whether a root certificate's common name admits `gun`, as notary's `MatchCNToGun` decides: the
/// CN equals the GUN, or the CN ends in `*` and what precedes the stars is a prefix of the GUN.
pub fn cn_matches(cn: &str, gun: &Gun) -> bool {
    if cn.ends_with('*') {
        return gun.as_str().starts_with(cn.trim_end_matches('*'));
    }
    cn == gun.as_str()
}

/// Signature algorithms notary refuses in root certificates (SHA-1 based).
const SHA1_SIGNATURES: [&str; 3] = [
    "1.2.840.113549.1.1.5",
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
];

/// Whether a root certificate is valid at the time it was checked against.
#[derive(Debug, PartialEq, Eq)]
enum Validity {
    /// Valid (or its dates were not checked).
    Valid,
    /// Expired, and that was allowed.
    Expired,
}

/// Checks root key `key`: a certificate for `gun`, not signed with SHA-1 and, with `now`, valid
/// then (an expired one only when `expired_ok`, reported as [`Validity::Expired`]).
fn check_certificate(
    key: &TufKey,
    gun: &Gun,
    now: Option<SystemTime>,
    expired_ok: bool,
) -> Result<Validity> {
    if key.keytype != "ecdsa-x509" && key.keytype != "rsa-x509" {
        return Err(bad(format!(
            "root key type {} is not a certificate",
            crate::ids::clip(&key.keytype)
        )));
    }
    let block = pem::decode_first(&key.public).map_err(|_| bad("a root certificate is not PEM"))?;
    let cert =
        Certificate::from_der(&block.der).map_err(|_| bad("a root certificate is not X.509"))?;
    if SHA1_SIGNATURES.contains(&cert.signature_algorithm().oid.to_string().as_str()) {
        return Err(bad("a root certificate is signed with SHA-1"));
    }
    let tbs = cert.tbs_certificate();
    let cn = tbs
        .subject()
        .common_name()
        .ok()
        .flatten()
        .map(|d| d.value().into_owned())
        .unwrap_or_default();
    if !cn_matches(&cn, gun) {
        return Err(bad(format!(
            "the root certificate is for {:?}, not {gun}",
            crate::ids::clip(&cn)
        )));
    }
    let Some(now) = now else {
        return Ok(Validity::Valid);
    };
    let validity = tbs.validity();
    if validity.not_before.to_system_time() > now + Duration::from_secs(86_400) {
        return Err(bad("the root certificate is not valid yet"));
    }
    if validity.not_after.to_system_time() < now {
        if expired_ok {
            return Ok(Validity::Expired);
        }
        return Err(bad("the root certificate has expired"));
    }
    Ok(Validity::Valid)
}

/// When a root certificate (an `ecdsa-x509` / `rsa-x509` key of root.json) stops being valid;
/// `None` for a key that is not a readable certificate.
pub(crate) fn certificate_not_after(key: &TufKey) -> Option<SystemTime> {
    let block = pem::decode_first(&key.public).ok()?;
    let cert = Certificate::from_der(&block.der).ok()?;
    Some(cert.tbs_certificate().validity().not_after.to_system_time())
}

/// Parses RFC 3339 times as Go writes them (`2026-11-22T09:58:59.833506502Z`, or with an offset).
/// Total: any input gives a time or `None`, never a panic.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20
        || !b.is_ascii()
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    // ASCII from here on, so every byte index is a character boundary.
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let digits = b.get(r)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
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
    let offset: i64 = match rest.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: &u8, b: &u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(h1, h2)?, two(m1, m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = (oh * 60 + om) * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    // days from civil (Howard Hinnant)
    let (y, m) = if mo <= 2 {
        (y.checked_sub(1)?, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe;
    let secs =
        i64::try_from(days.checked_sub(719_468)? * 86_400 + h * 3600 + mi * 60 + s).ok()? - offset;
    Some(UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{PrivateKey, cert};

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
            // Non-ASCII where the offset goes: the old parser sliced inside a character.
            "2026-11-22T09:58:59+0é:0",
            "2026-11-22T09:58:59é",
            "2026-11-22T09:58:59.5+é0:00",
            "0000-01-01T00:00:00Z",
            "2026-11-22T09:58:59+99:00",
            "+026-11-22T09:58:59Z",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cn_matching_follows_notary() {
        let gun: Gun = "example.com/a/b".parse().expect("gun");
        assert!(cn_matches("example.com/a/b", &gun));
        assert!(cn_matches("example.com/a/*", &gun));
        assert!(cn_matches("example.com/a/**", &gun));
        assert!(!cn_matches("example.com/a/b/", &gun));
        assert!(!cn_matches("example.com/a/c", &gun));
        assert!(!cn_matches("example.com/a/b*x", &gun));
    }

    struct Fixture {
        gun: Gun,
        now: SystemTime,
        root: PrivateKey,
        keys: roles::BaseKeys,
    }

    fn fixture() -> Fixture {
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
        Fixture {
            gun,
            now,
            root,
            keys,
        }
    }

    #[test]
    fn own_root_verifies_and_tampering_is_caught() {
        let Fixture {
            gun,
            now,
            root,
            keys,
        } = fixture();
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
        // A past root in the chain is checked without dates.
        assert!(
            check_root(&bytes, &gun, None).is_ok(),
            "dates are not checked without a time"
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

    #[test]
    fn a_key_listed_twice_counts_once() {
        let Fixture {
            gun,
            now,
            root,
            keys,
        } = fixture();
        let id = keys.root.id();
        let mut signed = roles::root(&keys, now);
        let role = signed.roles.get_mut("root").expect("root role");
        role.keyids = vec![id.to_string(), id.to_string()];
        role.threshold = 2;
        // Two signatures by the one key, under the one ID.
        let bytes = super::super::sign(&signed, &[(&id, &root), (&id, &root)]).expect("signs");
        let err = verify_root(&bytes, &gun, now).expect_err("threshold 2 needs two keys");
        assert!(err.to_string().contains("1 valid signature"), "{err}");
    }

    #[test]
    fn too_many_signatures_are_refused() {
        let Fixture {
            gun,
            now,
            root,
            keys,
        } = fixture();
        let id = keys.root.id();
        let signers: Vec<(&crate::ids::KeyId, &PrivateKey)> =
            (0..=MAX_SIGNATURES).map(|_| (&id, &root)).collect();
        let bytes = super::super::sign(&roles::root(&keys, now), &signers).expect("signs");
        let err = verify_root(&bytes, &gun, now).expect_err("over the cap");
        assert!(err.to_string().contains("at most"), "{err}");
    }
}
