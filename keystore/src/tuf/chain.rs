//! The trusted-root chain (TUF client workflow, spec §5.3; notary-compat §9.6).
//!
//! keytool trusts, per GUN, the root.json in its metadata cache. A newer root is accepted only
//! through the chain: every version from the trusted one up to the server's newest, none
//! skipped, each signed by a threshold of the *previous* root's root keys **and** by a threshold
//! of its own. Only the newest must be unexpired (with valid certificates); older links are
//! checked without dates, so a repository whose trusted root has since expired can still move
//! on. With no trusted root, the server's root is trusted on first use, unless trust pinning
//! says otherwise ([`TrustPinning`]).

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::pinning::TrustPinning;
use super::verify::{CheckedRoot, RoleKeys, check_root, check_root_allowing_expired};
use crate::error::{Error, Result};
use crate::ids::Gun;

/// At most this many root versions are walked in one update.
pub const MAX_ROOT_STEPS: u64 = 1024;

fn bad(reason: String) -> Error {
    Error::InvalidMetadata { reason }
}

/// The root a client may now trust, with how it got there.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    /// The root.json bytes (the newest version, as served).
    pub bytes: Vec<u8>,
    /// The verified document.
    pub root: CheckedRoot,
    /// What of it has expired (root.json, root certificates), when that was allowed
    /// ([`update`]'s `expired_ok`); `None`: nothing.
    pub expired: Option<String>,
}

impl TrustedRoot {
    /// The listed IDs of root keys that validly signed the trusted root (its own root role).
    pub fn signers(&self) -> &BTreeSet<String> {
        &self.root.signers
    }
}

/// Walks from `trusted` (the cached root's bytes, if any) to `latest` (the server's root.json),
/// fetching each intermediate version with `fetch_version` (`<N>.root.json`; `None` when the
/// server does not have it). `now` is the time every date of the newest root is checked against;
/// with `expired_ok`, an expired newest root.json or root certificate is accepted and reported in
/// [`TrustedRoot::expired`] (for renewing it; everything else is checked as always).
pub fn update(
    gun: &Gun,
    trusted: Option<&[u8]>,
    latest: Vec<u8>,
    fetch_version: &mut dyn FnMut(u64) -> Result<Option<Vec<u8>>>,
    pinning: &TrustPinning,
    now: SystemTime,
    expired_ok: bool,
) -> Result<TrustedRoot> {
    let (newest, expired) = if expired_ok {
        check_root_allowing_expired(&latest, gun, now)?
    } else {
        (check_root(&latest, gun, Some(now))?, None)
    };
    let Some(trusted) = trusted else {
        pinning.check(&newest, gun, true, now)?;
        return Ok(TrustedRoot {
            bytes: latest,
            root: newest,
            expired,
        });
    };
    // The cached root is this machine's own record, checked on its own without dates (it may
    // have expired since; the chain moves on from it).
    let mut current = check_root(trusted, gun, None).map_err(|e| {
        bad(format!(
            "the cached root.json of {gun} is not a valid root ({e}); move tuf/{gun}/metadata away to trust the server's anew"
        ))
    })?;
    let from = current.version;
    if newest.version < from {
        return Err(bad(format!(
            "the server's root.json of {gun} is version {}, older than version {from} this machine already trusts: a rollback",
            newest.version
        )));
    }
    if newest.version - from > MAX_ROOT_STEPS {
        return Err(bad(format!(
            "the server's root.json of {gun} is version {}, more than {MAX_ROOT_STEPS} versions past the trusted version {from}; refusing to walk that far",
            newest.version
        )));
    }
    if newest.version == from {
        // The same version again: it must still be signed by the trusted root keys.
        signed_by_previous(&current, &newest, gun)?;
        pinning.check(&newest, gun, false, now)?;
        return Ok(TrustedRoot {
            bytes: latest,
            root: newest,
            expired,
        });
    }
    for version in from + 1..newest.version {
        let bytes = fetch_version(version)?.ok_or_else(|| {
            bad(format!(
                "the server does not serve version {version} of {gun}'s root ({version}.root.json), so the chain from the trusted version {from} to version {} cannot be followed",
                newest.version
            ))
        })?;
        let next = check_root(&bytes, gun, None)?;
        if next.version != version {
            return Err(bad(format!(
                "{version}.root.json of {gun} claims to be version {}",
                next.version
            )));
        }
        signed_by_previous(&current, &next, gun)?;
        current = next;
    }
    signed_by_previous(&current, &newest, gun)?;
    pinning.check(&newest, gun, false, now)?;
    Ok(TrustedRoot {
        bytes: latest,
        root: newest,
        expired,
    })
}

/// `next` must be signed by a threshold of `previous`'s root keys (it is signed by its own
/// already, [`check_root`]).
fn signed_by_previous(previous: &CheckedRoot, next: &CheckedRoot, gun: &Gun) -> Result<()> {
    let role = RoleKeys::of(previous.signed(), "root")?;
    let signers = role.signers(&next.document.signatures, &next.canonical)?;
    if (signers.len() as u64) < role.threshold {
        return Err(bad(format!(
            "root.json version {} of {gun} is signed by {} of the root keys of version {}; {} needed. It is not a successor of the root this machine trusts (a forged root, or a rotation that skipped the old root key)",
            next.version,
            signers.len(),
            previous.version,
            role.threshold
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::ids::KeyId;
    use crate::key::{PrivateKey, cert};
    use crate::tuf::{TufKey, roles, sign};

    struct Root {
        key: PrivateKey,
        cert: TufKey,
    }

    fn root_key(gun: &Gun, now: SystemTime) -> Root {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let cert = TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert::root_certificate(&key, gun, now)
                .expect("cert")
                .into_bytes(),
        };
        Root { key, cert }
    }

    /// root.json `version` whose root role is `listed`, signed by `signers`.
    fn root(
        version: u64,
        listed: &[&Root],
        signers: &[&Root],
        other: &TufKey,
        now: SystemTime,
    ) -> Vec<u8> {
        let base = roles::BaseKeys {
            root: listed[0].cert.clone(),
            targets: other.clone(),
            snapshot: other.clone(),
            timestamp: other.clone(),
        };
        let mut signed = roles::root(&base, now);
        for r in listed {
            signed
                .keys
                .insert(r.cert.id().to_string(), (&r.cert).into());
        }
        let ids: Vec<String> = listed.iter().map(|r| r.cert.id().to_string()).collect();
        signed.roles.get_mut("root").expect("root role").keyids = ids;
        signed.version = version;
        let ids: Vec<KeyId> = signers.iter().map(|r| r.cert.id()).collect();
        let pairs: Vec<(&KeyId, &PrivateKey)> =
            ids.iter().zip(signers.iter().map(|r| &r.key)).collect();
        sign(&signed, &pairs).expect("signs")
    }

    fn walk(
        gun: &Gun,
        trusted: Option<&[u8]>,
        latest: &[u8],
        served: &BTreeMap<u64, Vec<u8>>,
        now: SystemTime,
    ) -> Result<TrustedRoot> {
        update(
            gun,
            trusted,
            latest.to_vec(),
            &mut |v| Ok(served.get(&v).cloned()),
            &TrustPinning::default(),
            now,
            false,
        )
    }

    #[test]
    fn the_chain_is_walked_and_forgeries_are_refused() {
        let gun: Gun = "example.com/chain/repo".parse().expect("gun");
        let now = SystemTime::now();
        let (a, b, c, evil) = (
            root_key(&gun, now),
            root_key(&gun, now),
            root_key(&gun, now),
            root_key(&gun, now),
        );
        let other = TufKey {
            keytype: "ecdsa".into(),
            public: PrivateKey::generate_ecdsa()
                .expect("key")
                .public()
                .bytes()
                .to_vec(),
        };
        let v1 = root(1, &[&a], &[&a], &other, now);
        // Legitimate rotations: a -> b -> c, each signed by old and new.
        let v2 = root(2, &[&b], &[&a, &b], &other, now);
        let v3 = root(3, &[&c], &[&b, &c], &other, now);
        let served: BTreeMap<u64, Vec<u8>> =
            [(1, v1.clone()), (2, v2.clone()), (3, v3.clone())].into();
        let t = walk(&gun, Some(&v1), &v3, &served, now).expect("walks 1 -> 3");
        assert_eq!(t.root.version, 3);
        assert!(
            walk(&gun, Some(&v3), &v3, &served, now).is_ok(),
            "same version"
        );
        assert!(walk(&gun, None, &v3, &served, now).is_ok(), "first use");

        let refused = |trusted: &[u8],
                       latest: &[u8],
                       served: &BTreeMap<u64, Vec<u8>>,
                       what: &str,
                       text: &str| {
            let err = walk(&gun, Some(trusted), latest, served, now).expect_err(what);
            assert!(err.to_string().contains(text), "{what}: {err}");
        };
        // A forged successor that keeps the victim's certificate but is signed by the attacker.
        let forged = root(2, &[&a, &evil], &[&evil], &other, now);
        refused(
            &v1,
            &forged,
            &served,
            "forged v2",
            "signed by 0 of the root keys of version 1",
        );
        // Signed by the new keys only.
        let new_only = root(2, &[&b], &[&b], &other, now);
        refused(
            &v1,
            &new_only,
            &served,
            "new keys only",
            "signed by 0 of the root keys",
        );
        // Signed by the old keys only (the new root role's own threshold is not met).
        let old_only = root(2, &[&b], &[&a], &other, now);
        refused(
            &v1,
            &old_only,
            &served,
            "old keys only",
            "carries 0 valid signature",
        );
        // A skipped version: the server does not serve 2.root.json.
        let no_v2: BTreeMap<u64, Vec<u8>> = [(1, v1.clone()), (3, v3.clone())].into();
        refused(
            &v1,
            &v3,
            &no_v2,
            "skipped version",
            "does not serve version 2",
        );
        // An intermediate that claims another version.
        let mislabelled: BTreeMap<u64, Vec<u8>> = [(2, v3.clone())].into();
        refused(
            &v1,
            &v3,
            &mislabelled,
            "mislabelled",
            "claims to be version 3",
        );
        // A forged intermediate.
        let forged_mid: BTreeMap<u64, Vec<u8>> =
            [(2, root(2, &[&b], &[&evil, &b], &other, now))].into();
        refused(
            &v1,
            &v3,
            &forged_mid,
            "forged intermediate",
            "signed by 0 of the root keys of version 1",
        );
        // Rollback.
        refused(&v3, &v1, &served, "rollback", "a rollback");
        // Same version, different signer.
        let same = root(3, &[&evil], &[&evil], &other, now);
        refused(
            &v3,
            &same,
            &served,
            "same version by a stranger",
            "signed by 0 of the root keys of version 3",
        );
        // Expired newest root; an expired trusted root is fine to walk from.
        let later = now + roles::ROOT_EXPIRY + Duration::from_secs(86_400 * 400);
        let fresh_c = root_key(&gun, later);
        let v4 = root(4, &[&fresh_c], &[&c, &fresh_c], &other, later);
        let mut all = served.clone();
        all.insert(4, v4.clone());
        assert!(
            walk(&gun, Some(&v1), &v4, &all, later).is_ok(),
            "from an expired trusted root to a current one"
        );
        let err = walk(&gun, Some(&v1), &v3, &served, later).expect_err("expired newest");
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn an_expired_newest_root_is_accepted_only_when_asked_and_says_what_expired() {
        let gun: Gun = "example.com/chain/expired".parse().expect("gun");
        let now = SystemTime::now();
        let (a, b) = (root_key(&gun, now), root_key(&gun, now));
        let other = b.cert.clone();
        let v1 = root(1, &[&a], &[&a], &other, now);
        let v2 = root(2, &[&a], &[&a], &other, now);
        let none: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let update_at = |at: SystemTime, expired_ok: bool, latest: &[u8]| {
            update(
                &gun,
                Some(&v1),
                latest.to_vec(),
                &mut |v| Ok(none.get(&v).cloned()),
                &TrustPinning::default(),
                at,
                expired_ok,
            )
        };
        // root.json expires (root defaults: 10 years), its certificate with it.
        let later = now + roles::ROOT_EXPIRY + Duration::from_secs(86_400 * 400);
        assert!(update_at(later, false, &v2).is_err());
        let accepted = update_at(later, true, &v2).expect("expired root, when asked");
        let what = accepted.expired.expect("reported");
        assert!(what.contains("root.json expired"), "{what}");
        assert!(what.contains("root certificate"), "{what}");
        // Valid now: nothing to report.
        let fresh = update_at(now, true, &v2).expect("valid root");
        assert!(fresh.expired.is_none());
        // Allowing expiry allows nothing else: a forged root is still refused...
        let evil = root_key(&gun, now);
        let forged = root(2, &[&evil], &[&evil], &other, now);
        assert!(update_at(later, true, &forged).is_err());
        // ...and so is a certificate that is not valid yet.
        let future = root_key(&gun, now + Duration::from_secs(86_400 * 30));
        let early = root(2, &[&future], &[&a, &future], &other, now);
        let err = update_at(now, true, &early).expect_err("not valid yet");
        assert!(err.to_string().contains("not valid yet"), "{err}");
    }

    #[test]
    fn pinning_applies_on_first_use() {
        let gun: Gun = "example.com/pinned/repo".parse().expect("gun");
        let now = SystemTime::now();
        let (a, other_root) = (root_key(&gun, now), root_key(&gun, now));
        let other = other_root.cert.clone();
        let v1 = root(1, &[&a], &[&a], &other, now);
        // No versioned roots are served: these are first contacts or same-version updates.
        let check = |trusted: Option<&[u8]>, pins: &TrustPinning| {
            update(&gun, trusted, v1.clone(), &mut |_| Ok(None), pins, now, false)
        };
        let mut pins = TrustPinning::default();
        pins.certs
            .insert(gun.to_string(), vec![other_root.cert.id().to_string()]);
        let err = check(None, &pins).expect_err("pinned to another certificate");
        assert!(err.to_string().contains("trust_pinning"), "{err}");
        pins.certs
            .insert(gun.to_string(), vec![a.cert.id().to_string()]);
        assert!(check(None, &pins).is_ok());
        // The key's own ID (the private key file's name) pins too.
        let canonical = roles::canonical_id(&a.cert).expect("id").to_string();
        pins.certs.insert(gun.to_string(), vec![canonical]);
        assert!(check(None, &pins).is_ok());
        let tofu_off = TrustPinning {
            disable_tofu: true,
            ..TrustPinning::default()
        };
        let err = check(None, &tofu_off).expect_err("no trust on first use");
        assert!(err.to_string().contains("disable_tofu"), "{err}");
        assert!(
            check(Some(&v1), &tofu_off).is_ok(),
            "a trusted root needs no first use"
        );
    }
}
