//! Writes seed inputs for the `tuf_repository` fuzz target (fuzz/fuzz_targets/tuf_repository.rs):
//! valid repositories at the target's fixed clock, so that the fuzzer starts from inputs that pass
//! every check and mutates its way into each one.
//!
//! ```text
//! cargo run -p keystore --example tuf_fuzz_seeds -- DIR
//! ```
//!
//! The input layout is in `fuzz/tuf_input.rs`, included here.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keystore::key::{PrivateKey, cert};
use keystore::tuf::pinning::TrustPinning;
use keystore::tuf::schema::{FileMeta, Key};
use keystore::tuf::{TufKey, repository, roles, sign};
use keystore::{Gun, KeyId};
use serde::Serialize;
use serde_json::json;

#[path = "../../fuzz/tuf_input.rs"]
mod tuf_input;

fn key(k: &PrivateKey) -> TufKey {
    TufKey {
        keytype: "ecdsa".into(),
        public: k.public().bytes().to_vec(),
    }
}

fn root_cert(k: &PrivateKey, gun: &Gun, now: SystemTime) -> TufKey {
    TufKey {
        keytype: "ecdsa-x509".into(),
        public: cert::root_certificate(k, gun, now)
            .expect("certificate")
            .into_bytes(),
    }
}

fn signed<T: Serialize>(value: &T, signers: &[(&KeyId, &PrivateKey)]) -> Vec<u8> {
    sign(value, signers).expect("signs")
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: tuf_fuzz_seeds DIR");
        return ExitCode::from(2);
    };
    std::fs::create_dir_all(&dir).expect("mkdir");
    let gun: Gun = "example.com/fuzz/repo".parse().expect("gun");
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (root1, root2) = (
        PrivateKey::generate_ecdsa().expect("key"),
        PrivateKey::generate_ecdsa().expect("key"),
    );
    let (targets, snapshot, timestamp) = (
        PrivateKey::generate_ecdsa().expect("key"),
        PrivateKey::generate_ecdsa().expect("key"),
        PrivateKey::generate_ecdsa().expect("key"),
    );
    let (cert1, cert2) = (root_cert(&root1, &gun, now), root_cert(&root2, &gun, now));
    let base = roles::BaseKeys {
        root: cert1.clone(),
        targets: key(&targets),
        snapshot: key(&snapshot),
        timestamp: key(&timestamp),
    };
    let v1_signed = roles::root(&base, now);
    let v1 = signed(&v1_signed, &[(&cert1.id(), &root1)]);
    // v2: rotated to root2, signed by both.
    let mut v2_signed = v1_signed.clone();
    v2_signed
        .keys
        .insert(cert2.id().to_string(), Key::from(&cert2));
    v2_signed.roles.get_mut("root").expect("root role").keyids = vec![cert2.id().to_string()];
    v2_signed.version = 2;
    let v2 = signed(&v2_signed, &[(&cert1.id(), &root1), (&cert2.id(), &root2)]);

    let mut targets_signed = roles::empty_targets(2, now);
    targets_signed.targets.insert(
        "latest".into(),
        FileMeta {
            length: 0,
            hashes: [(
                "sha256".to_owned(),
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_owned(),
            )]
            .into(),
            extra: Default::default(),
        },
    );
    // A signer, as docker's `trust signer add` makes one: targets/releases delegated to its key.
    let releaser = PrivateKey::generate_ecdsa().expect("key");
    let releaser_id = releaser.id().to_string();
    let delegations = targets_signed.delegations.as_mut().expect("delegations");
    delegations
        .keys
        .insert(releaser_id.clone(), Key::from(&key(&releaser)));
    delegations.roles.push(
        serde_json::from_value(json!({
            "name": "targets/releases", "keyids": [releaser_id], "threshold": 1, "paths": [""]
        }))
        .expect("a delegated role"),
    );
    let mut releases = roles::empty_targets(1, now);
    releases.targets = targets_signed.targets.clone();
    let targets_bytes = signed(&targets_signed, &[(&targets.id(), &targets)]);
    let releases_bytes = signed(&releases, &[(&releaser.id(), &releaser)]);
    let files = |root: &[u8]| -> (Vec<u8>, Vec<u8>) {
        let mut listed = roles::snapshot(2, root, &targets_bytes, now);
        listed
            .meta
            .insert("targets/releases".into(), FileMeta::of(&releases_bytes));
        let snap = signed(&listed, &[(&snapshot.id(), &snapshot)]);
        let ts = signed(
            &json!({"_type": "Timestamp", "expires": roles::go_time(now + roles::TARGETS_EXPIRY), "meta": {"snapshot": FileMeta::of(&snap)}, "version": 2}),
            &[(&timestamp.id(), &timestamp)],
        );
        (ts, snap)
    };
    let input = |cached: &[u8], latest: &[u8], versioned: &[&[u8]]| -> Vec<u8> {
        let (ts, snap) = files(latest);
        let mut parts: Vec<&[u8]> =
            vec![cached, latest, &ts, &snap, &targets_bytes, &releases_bytes];
        parts.extend_from_slice(versioned);
        let bytes = tuf_input::join(&parts);
        // A seed must pass every check as the fuzz target reads it, or the fuzzer starts from a
        // rejection.
        let read = tuf_input::split(&bytes);
        let part = |i: usize| read.get(i).copied().filter(|p| !p.is_empty());
        let served = |file: &str| part(tuf_input::served_index(file)?).map(<[u8]>::to_vec);
        let verified = repository::verify(
            &gun,
            part(0),
            &|_| Ok(None),
            part(1).expect("a served root").to_vec(),
            &mut |file| Ok(served(file)),
            &TrustPinning::default(),
            now,
        )
        .expect("a seed verifies");
        assert_eq!(verified.delegations.len(), 1, "the signer's file verifies");
        bytes
    };
    let seeds = [
        ("first-use", input(b"", &v1, &[])),
        ("same-version", input(&v1, &v1, &[&v1])),
        ("root-rotation", input(&v1, &v2, &[&v1, &v2])),
        ("first-use-rotated", input(b"", &v2, &[&v1, &v2])),
    ];
    for (name, bytes) in seeds {
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("write");
    }
    ExitCode::SUCCESS
}
