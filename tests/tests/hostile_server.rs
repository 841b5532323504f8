//! A hostile Notary server on loopback: a repository signed with keys the test controls, then
//! broken one way at a time. keytool must refuse each with a clear error and write nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use interop_tests::{Fake, Stack, keytool, snapshot};
use keystore::key::{PrivateKey, cert, file};
use keystore::tuf::{self, TufKey, roles};
use keystore::{Gun, Passphrase, Role};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const GUN: &str = "example.com/hostile/repo";

/// Metadata files by name, as the fake server serves them.
type Files = Vec<(String, Vec<u8>)>;

struct Keys {
    root: PrivateKey,
    targets: PrivateKey,
    snapshot: PrivateKey,
    timestamp: PrivateKey,
}

fn tuf_key(k: &PrivateKey) -> TufKey {
    TufKey {
        keytype: "ecdsa".into(),
        public: k.public().bytes().to_vec(),
    }
}

fn meta(bytes: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({"hashes": {"sha256": b64.encode(Sha256::digest(bytes))}, "length": bytes.len()})
}

/// The four files of a valid repository; `tweak` may alter each `signed` object before signing.
fn repository(
    keys: &Keys,
    now: SystemTime,
    cert_gun: &str,
    tweak: &dyn Fn(&str, &mut Value),
) -> Files {
    let gun: Gun = cert_gun.parse().expect("gun");
    let base = roles::BaseKeys {
        root: TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert::root_certificate(&keys.root, &gun, now)
                .expect("cert")
                .into_bytes(),
        },
        targets: tuf_key(&keys.targets),
        snapshot: tuf_key(&keys.snapshot),
        timestamp: tuf_key(&keys.timestamp),
    };
    let sign = |role: &str, mut signed: Value, key: &PrivateKey, id: &keystore::KeyId| {
        tweak(role, &mut signed);
        tuf::sign(&signed, &[(id, key)]).expect("signs")
    };
    let root = sign("root", roles::root(&base, now), &keys.root, &base.root.id());
    let targets = sign(
        "targets",
        roles::empty_targets(1, now),
        &keys.targets,
        &keys.targets.id(),
    );
    let expires = roles::go_time(now + Duration::from_secs(86_400 * 30));
    let snap = sign(
        "snapshot",
        json!({"_type": "Snapshot", "expires": expires, "meta": {"root": meta(&root), "targets": meta(&targets)}, "version": 1}),
        &keys.snapshot,
        &keys.snapshot.id(),
    );
    let ts = sign(
        "timestamp",
        json!({"_type": "Timestamp", "expires": expires, "meta": {"snapshot": meta(&snap)}, "version": 1}),
        &keys.timestamp,
        &keys.timestamp.id(),
    );
    vec![
        ("root.json".into(), root),
        ("targets.json".into(), targets),
        ("snapshot.json".into(), snap),
        ("timestamp.json".into(), ts),
    ]
}

/// A trust dir holding the repository's targets key (so a good repository is "ready").
fn trust_dir(keys: &Keys) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let gun: Gun = GUN.parse().expect("gun");
    let pem = file::encode(
        &keys.targets,
        &Role::Targets,
        Some(&gun),
        &Passphrase::new("pw-123456".into()),
        2048,
    )
    .expect("encodes");
    let private = dir.path().join("private");
    std::fs::create_dir_all(&private).expect("mkdir");
    std::fs::write(private.join(format!("{}.key", keys.targets.id())), pem).expect("write");
    dir
}

fn status(stack: &Stack, fake: &Fake, trust: &Path) -> (Option<i32>, String) {
    let out = keytool(trust)
        .args([
            "status",
            "--repo",
            GUN,
            "--server",
            &fake.url,
            "--tlscacert",
        ])
        .arg(&stack.ca)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = snapshot(dir);
    let meta = dir.join("tuf").join(GUN).join("metadata");
    for f in ["root.json", "targets.json"] {
        if let Ok(b) = std::fs::read(meta.join(f)) {
            v.push((meta.join(f), b));
        }
    }
    v
}

#[test]
fn hostile_servers_are_refused() {
    let Some(stack) = Stack::start() else { return };
    let keys = Keys {
        root: PrivateKey::generate_ecdsa().expect("key"),
        targets: PrivateKey::generate_ecdsa().expect("key"),
        snapshot: PrivateKey::generate_ecdsa().expect("key"),
        timestamp: PrivateKey::generate_ecdsa().expect("key"),
    };
    let now = SystemTime::now();
    let trust = trust_dir(&keys);

    // The untampered repository verifies: ready.
    let good = repository(&keys, now, GUN, &|_, _| {});
    let fake = Fake::serve(&stack, GUN, &good);
    let (code, text) = status(&stack, &fake, trust.path());
    assert_eq!(code, Some(0), "a valid repository must verify: {text}");
    drop(fake);

    let stranger = PrivateKey::generate_ecdsa().expect("key");
    let replace = |name: &str, bytes: Vec<u8>| {
        let mut files = good.clone();
        files.iter_mut().find(|(n, _)| n == name).expect("file").1 = bytes;
        files
    };
    let resign = |name: &str, key: &PrivateKey, f: &dyn Fn(&mut Value)| {
        let env = tuf::Envelope::parse(&good.iter().find(|(n, _)| n == name).expect("file").1)
            .expect("parses");
        let mut signed = env.signed;
        f(&mut signed);
        let id = keystore::KeyId::from_digest(&[0; 32]);
        let keyid = env.signatures[0].keyid.parse().unwrap_or(id);
        tuf::sign(&signed, &[(&keyid, key)]).expect("signs")
    };
    let expired = roles::go_time(now - Duration::from_secs(3600));
    let cases: Vec<(&str, Files, &str)> = vec![
        (
            "root signed by an unknown key",
            replace("root.json", resign("root.json", &stranger, &|_| {})),
            "valid root signature",
        ),
        (
            "root certificate for another repository",
            repository(&keys, now, "example.com/other/repo", &|_, _| {}),
            "not example.com/hostile/repo",
        ),
        (
            "expired timestamp",
            replace(
                "timestamp.json",
                resign("timestamp.json", &keys.timestamp, &|s| {
                    s["expires"] = expired.clone().into()
                }),
            ),
            "timestamp.json expired",
        ),
        (
            "timestamp signed by a stranger",
            replace(
                "timestamp.json",
                resign("timestamp.json", &stranger, &|_| {}),
            ),
            "timestamp.json carries 0 valid signature",
        ),
        (
            "snapshot whose hash does not match",
            replace(
                "snapshot.json",
                resign("snapshot.json", &keys.snapshot, &|s| {
                    s["version"] = 2.into()
                }),
            ),
            "snapshot.json",
        ),
        (
            "targets whose hash does not match",
            replace(
                "targets.json",
                resign("targets.json", &keys.targets, &|s| s["version"] = 7.into()),
            ),
            "targets.json",
        ),
        (
            "oversized root.json",
            replace("root.json", vec![b' '; 17 << 20]),
            "more than",
        ),
        (
            "truncated root.json",
            replace("root.json", good[0].1[..100].to_vec()),
            "not a signed TUF document",
        ),
        (
            "missing timestamp",
            good.iter()
                .filter(|(n, _)| n != "timestamp.json")
                .cloned()
                .collect(),
            "no timestamp.json",
        ),
    ];
    for (what, files, expected) in cases {
        let before = all_files(trust.path());
        let fake = Fake::serve(&stack, GUN, &files);
        let (code, text) = status(&stack, &fake, trust.path());
        assert_eq!(
            code,
            Some(1),
            "{what}: must be refused with exit code 1:\n{text}"
        );
        assert!(text.contains("Error:"), "{what}: {text}");
        assert!(
            text.contains(expected),
            "{what}: expected {expected:?} in:\n{text}"
        );
        assert_eq!(
            all_files(trust.path()),
            before,
            "{what}: nothing may be written"
        );
        // init against a hostile server that already has the repository changes nothing either.
        let out = keytool(trust.path())
            .env("KEYTOOL_ROOT_PASSPHRASE", "pw-123456")
            .env("KEYTOOL_TARGETS_PASSPHRASE", "pw-123456")
            .args(["init", "--repo", GUN, "--server", &fake.url, "--tlscacert"])
            .arg(&stack.ca)
            .output()
            .expect("runs");
        if what.starts_with("root") || what.contains("root.json") {
            assert!(!out.status.success(), "{what}: init must refuse");
        }
        assert_eq!(
            all_files(trust.path()),
            before,
            "{what}: init must write nothing"
        );
    }

    // A rollback: the cache holds a newer root than the server serves.
    let newer = repository(&keys, now, GUN, &|role, s| {
        if role == "root" {
            s["version"] = 2.into()
        }
    });
    let meta = trust.path().join("tuf").join(GUN).join("metadata");
    std::fs::create_dir_all(&meta).expect("mkdir");
    std::fs::write(meta.join("root.json"), &newer[0].1).expect("write");
    let fake = Fake::serve(&stack, GUN, &good);
    let (code, text) = status(&stack, &fake, trust.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rollback"), "{text}");
}
