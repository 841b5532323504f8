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
    /// The root certificate for [`GUN`], made once (a new one has another ID).
    root_cert: TufKey,
    targets: PrivateKey,
    snapshot: PrivateKey,
    timestamp: PrivateKey,
}

impl Keys {
    fn new(now: SystemTime) -> Self {
        let root = PrivateKey::generate_ecdsa().expect("key");
        let gun: Gun = GUN.parse().expect("gun");
        Keys {
            root_cert: TufKey {
                keytype: "ecdsa-x509".into(),
                public: cert::root_certificate(&root, &gun, now)
                    .expect("cert")
                    .into_bytes(),
            },
            root,
            targets: PrivateKey::generate_ecdsa().expect("key"),
            snapshot: PrivateKey::generate_ecdsa().expect("key"),
            timestamp: PrivateKey::generate_ecdsa().expect("key"),
        }
    }
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
        root: if cert_gun == GUN {
            keys.root_cert.clone()
        } else {
            TufKey {
                keytype: "ecdsa-x509".into(),
                public: cert::root_certificate(&keys.root, &gun, now)
                    .expect("cert")
                    .into_bytes(),
            }
        },
        targets: tuf_key(&keys.targets),
        snapshot: tuf_key(&keys.snapshot),
        timestamp: tuf_key(&keys.timestamp),
    };
    let sign = |role: &str, mut signed: Value, key: &PrivateKey, id: &keystore::KeyId| {
        tweak(role, &mut signed);
        tuf::sign(&signed, &[(id, key)]).expect("signs")
    };
    let root = sign(
        "root",
        serde_json::to_value(roles::root(&base, now)).expect("encodes"),
        &keys.root,
        &base.root.id(),
    );
    let targets = sign(
        "targets",
        serde_json::to_value(roles::empty_targets(1, now)).expect("encodes"),
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
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "pw-123456")
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
    let now = SystemTime::now();
    let keys = Keys::new(now);
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
        let mut signed: Value = serde_json::from_str(env.signed.get()).expect("JSON");
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
            "carries 0 valid signature",
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

/// Runs keytool with `args` against `fake`, with the passphrases of [`trust_dir`]'s keys.
fn run(stack: &Stack, fake: &Fake, trust: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = keytool(trust)
        .env("KEYTOOL_ROOT_PASSPHRASE", "pw-123456")
        .env("KEYTOOL_TARGETS_PASSPHRASE", "pw-123456")
        .args(args)
        .args(["--repo", GUN, "--server", &fake.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

/// Adds the root key (role root) to a trust directory made by [`trust_dir`].
fn add_root_key(keys: &Keys, trust: &Path) {
    let pem = file::encode(
        &keys.root,
        &Role::Root,
        None,
        &Passphrase::new("pw-123456".into()),
        2048,
    )
    .expect("encodes");
    std::fs::write(
        trust
            .join("private")
            .join(format!("{}.key", keys.root.id())),
        pem,
    )
    .expect("write");
}

/// Asserts that two [`everything`] listings are equal, naming the files that differ.
#[track_caller]
fn unchanged(before: &[(PathBuf, Vec<u8>)], after: &[(PathBuf, Vec<u8>)], what: &str) {
    let differ: Vec<&PathBuf> = before
        .iter()
        .chain(after)
        .filter(|f| !before.contains(f) || !after.contains(f))
        .map(|(p, _)| p)
        .collect();
    assert!(differ.is_empty(), "{what}: these files changed: {differ:?}");
}

/// Every file of the trust directory (keys, cache, journal) with its bytes.
fn everything(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".lock"))
            {
                out.push((p.clone(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The attacker's repository: root.json `version` that keeps the victim's root certificate in
/// the root role (threshold 1), adds the attacker's, and is signed by the attacker alone; the
/// other roles are the attacker's keys.
fn forged_repository(victim: &Keys, attacker: &Keys, now: SystemTime, version: u64) -> Files {
    let victim_id = victim.root_cert.id().to_string();
    let victim_cert = victim.root_cert.to_json();
    repository(attacker, now, GUN, &move |role, s| {
        if role == "root" {
            s["keys"][&victim_id] = victim_cert.clone();
            let attacker_id = s["roles"]["root"]["keyids"][0].clone();
            s["roles"]["root"]["keyids"] = json!([victim_id.clone(), attacker_id]);
            s["version"] = version.into();
        }
    })
}

#[test]
fn a_compromised_server_gets_no_signature() {
    let Some(stack) = Stack::start() else { return };
    let now = SystemTime::now();
    let victim = Keys::new(now);
    let attacker = Keys::new(now);
    let trust = trust_dir(&victim);
    add_root_key(&victim, trust.path());

    // The machine trusts root v1 of the real repository.
    let good = repository(&victim, now, GUN, &|_, _| {});
    let fake = Fake::serve(&stack, GUN, &good);
    let (code, text) = run(&stack, &fake, trust.path(), &["status"]);
    assert_eq!(code, Some(0), "{text}");
    drop(fake);
    let cached = trust
        .path()
        .join("tuf")
        .join(GUN)
        .join("metadata/root.json");
    assert_eq!(std::fs::read(&cached).expect("cached root"), good[0].1);

    // The server is compromised: root v2 keeps the victim's certificate, is signed by the
    // attacker only, and the attacker's keys sign everything else. Versioned roots are served.
    let mut forged = forged_repository(&victim, &attacker, now, 2);
    forged.push(("1.root.json".into(), good[0].1.clone()));
    forged.push(("2.root.json".into(), forged[0].1.clone()));
    let fake = Fake::serve(&stack, GUN, &forged);
    let before = everything(trust.path());
    for args in [
        &["status"][..],
        &["rotate", "--role", "targets"],
        &["rotate", "--role", "root", "--yes"],
        &["rotate", "--role", "snapshot"],
        &["init"],
        &["renew", "--role", "targets"],
        &["renew", "--all-roles"],
    ] {
        let (code, text) = run(&stack, &fake, trust.path(), args);
        assert_eq!(code, Some(1), "{args:?} must refuse:\n{text}");
        assert!(
            text.contains("signed by 0 of the root keys of version 1"),
            "{args:?}: {text}"
        );
        assert_eq!(fake.posts(), 0, "{args:?} sent something to the attacker");
        unchanged(&before, &everything(trust.path()), &format!("{args:?}"));
    }
    drop(fake);

    // No cached root, but the root key is here: first contact with the compromised server. The
    // root lists this machine's certificate but was not signed by it: nothing is signed, and
    // nothing is trusted from it.
    std::fs::remove_dir_all(trust.path().join("tuf")).expect("rm cache");
    let forged = forged_repository(&victim, &attacker, now, 1);
    let fake = Fake::serve(&stack, GUN, &forged);
    let before = everything(trust.path());
    for args in [
        &["rotate", "--role", "targets"][..],
        &["rotate", "--role", "root", "--yes"],
        &["renew", "--role", "targets"],
        &["renew", "--role", "root"],
    ] {
        let (code, text) = run(&stack, &fake, trust.path(), args);
        assert_eq!(code, Some(1), "{args:?} must refuse:\n{text}");
        assert!(text.contains("was not signed by it"), "{args:?}: {text}");
        assert_eq!(fake.posts(), 0, "{args:?} sent something to the attacker");
        unchanged(&before, &everything(trust.path()), &format!("{args:?}"));
    }
}

#[test]
fn forged_chains_and_rollbacks_are_refused() {
    let Some(stack) = Stack::start() else { return };
    let now = SystemTime::now();
    let keys = Keys::new(now);
    let trust = trust_dir(&keys);
    let good = repository(&keys, now, GUN, &|_, _| {});
    let metadata = trust.path().join("tuf").join(GUN).join("metadata");
    // Trust the good repository afresh (root v1, every role v1).
    let trust_good = || {
        let _ = std::fs::remove_dir_all(&metadata);
        let fake = Fake::serve(&stack, GUN, &good);
        let (code, text) = status(&stack, &fake, trust.path());
        assert_eq!(code, Some(0), "{text}");
    };
    let refused = |what: &str, files: &Files, expected: &str| {
        let before = everything(trust.path());
        let fake = Fake::serve(&stack, GUN, files);
        let (code, text) = status(&stack, &fake, trust.path());
        assert_eq!(code, Some(1), "{what}: must be refused:\n{text}");
        assert!(
            text.contains(expected),
            "{what}: expected {expected:?} in:\n{text}"
        );
        unchanged(&before, &everything(trust.path()), what);
    };
    trust_good();

    let new_root = Keys::new(now);
    // root v2 naming another root key; `signers` sign it.
    let root_v2 = |signers: &[&PrivateKey], listed: &[&TufKey]| -> Vec<u8> {
        let mut signed: Value = signed_value(&good[0].1);
        let ids: Vec<String> = listed.iter().map(|k| k.id().to_string()).collect();
        for k in listed {
            signed["keys"][k.id().as_str()] = k.to_json();
        }
        signed["roles"]["root"]["keyids"] = json!(ids);
        signed["version"] = 2.into();
        let with_ids: Vec<(keystore::KeyId, &PrivateKey)> = signers
            .iter()
            .map(|k| {
                let id = if std::ptr::eq(*k, &keys.root) {
                    keys.root_cert.id()
                } else {
                    new_root.root_cert.id()
                };
                (id, *k)
            })
            .collect();
        let pairs: Vec<(&keystore::KeyId, &PrivateKey)> =
            with_ids.iter().map(|(i, k)| (i, *k)).collect();
        tuf::sign(&signed, &pairs).expect("signs")
    };
    let with_root = |root: Vec<u8>, extra: &[(&str, Vec<u8>)]| -> Files {
        let mut files = good.clone();
        files[0].1 = root;
        files.extend(extra.iter().map(|(n, b)| ((*n).to_owned(), b.clone())));
        files
    };
    refused(
        "root v2 signed by the new root key only",
        &with_root(root_v2(&[&new_root.root], &[&new_root.root_cert]), &[]),
        "signed by 0 of the root keys of version 1",
    );
    refused(
        "root v2 signed by the old root key only",
        &with_root(root_v2(&[&keys.root], &[&new_root.root_cert]), &[]),
        "root.json version 2 carries 0 valid signature",
    );
    // A legitimate v2 (old and new sign) exists, but the server skips it: serves v3 only.
    let v2 = root_v2(&[&keys.root, &new_root.root], &[&new_root.root_cert]);
    let v3 = {
        let mut signed: Value = signed_value(&v2);
        signed["version"] = 3.into();
        tuf::sign(&signed, &[(&new_root.root_cert.id(), &new_root.root)]).expect("signs")
    };
    refused(
        "root v3 with no 2.root.json",
        &with_root(v3.clone(), &[]),
        "does not serve version 2",
    );
    refused(
        "root v3 skipping to v3 signed by keys v1 never trusted",
        &with_root(v3.clone(), &[("2.root.json", v3.clone())]),
        "claims to be version 3",
    );
    // Threshold 2 met by one key listed twice.
    let doubled = {
        let mut signed: Value = signed_value(&good[0].1);
        let id = keys.root_cert.id().to_string();
        signed["roles"]["root"] = json!({"keyids": [id, id], "threshold": 2});
        signed["version"] = 2.into();
        let id = keys.root_cert.id();
        tuf::sign(&signed, &[(&id, &keys.root), (&id, &keys.root)]).expect("signs")
    };
    refused(
        "threshold 2 met by one key listed twice",
        &with_root(doubled, &[]),
        "1 valid signature",
    );

    // Rollback of each role: the machine saw version 5, the server serves version 1.
    for role in ["timestamp", "snapshot", "targets"] {
        let newer = repository(&keys, now, GUN, &|r, s| {
            if r == role {
                s["version"] = 5.into()
            }
        });
        let _ = std::fs::remove_dir_all(&metadata);
        let fake = Fake::serve(&stack, GUN, &newer);
        let (code, text) = status(&stack, &fake, trust.path());
        assert_eq!(code, Some(0), "{text}");
        drop(fake);
        refused(
            &format!("{role} rollback"),
            &good,
            &format!("{role}.json of {GUN} is version 1, older than version 5"),
        );
    }
    trust_good();

    // Expired targets and snapshot (re-signed with a past expiry, consistently hashed).
    let past = roles::go_time(now - Duration::from_secs(3600));
    for role in ["targets", "snapshot"] {
        let expired = repository(&keys, now, GUN, &|r, s| {
            if r == role {
                s["expires"] = past.clone().into();
            }
        });
        refused(
            &format!("expired {role}"),
            &expired,
            &format!("{role}.json expired"),
        );
    }

    // Mix and match: the timestamp and snapshot of a newer set with the targets of an older one.
    let newer = repository(&keys, now, GUN, &|r, s| {
        if r != "root" {
            s["version"] = 2.into()
        }
    });
    let mixed: Files = newer
        .iter()
        .map(|(n, b)| {
            if n == "targets.json" {
                (n.clone(), good[1].1.clone())
            } else {
                (n.clone(), b.clone())
            }
        })
        .collect();
    refused(
        "targets.json from an older snapshot",
        &mixed,
        "targets.json does not match the hash",
    );
}

/// The `signed` object of a metadata file, as a tree to edit.
fn signed_value(bytes: &[u8]) -> Value {
    let env = tuf::Envelope::parse(bytes).expect("parses");
    serde_json::from_str(env.signed.get()).expect("JSON")
}
