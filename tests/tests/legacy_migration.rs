//! notary 0.1-style key layouts: `keytool migrate` produces the same files as notary's own
//! migration, keeps what it cannot convert (notary deletes it), and the result opens in both.

use std::path::Path;
use std::process::Command;

use interop_tests::{have, keytool, notary_key_list, ok, snapshot};
use keystore::key::file::{KeyFile, Unlock};

const GUN: &str = "docker.com/notary0.1/samplerepo";
const PASS: &str = "legacy-pass-1";

/// A P-256 key as OpenSSL writes a legacy RFC 1423 file; returns (encrypted PEM, key ID).
fn legacy_key(work: &Path, name: &str, cipher: &str) -> (Vec<u8>, String) {
    let plain = work.join(format!("{name}.pem"));
    let enc = work.join(format!("{name}.enc.pem"));
    ok(Command::new("openssl")
        .args([
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
        ])
        .arg(&plain));
    ok(Command::new("openssl")
        .args(["ec", cipher, "-passout", &format!("pass:{PASS}"), "-in"])
        .arg(&plain)
        .arg("-out")
        .arg(&enc));
    let file = KeyFile::parse(&std::fs::read(&plain).expect("read")).expect("parses");
    let Ok(Unlock::Key(key)) = file.unlock(None, 1) else {
        panic!("plain SEC1 decodes")
    };
    (std::fs::read(&enc).expect("read"), key.id().to_string())
}

fn layout(dir: &Path, files: &[(String, &[u8])]) {
    for (rel, bytes) in files {
        let p = dir.join("private").join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
    }
}

#[test]
fn keytool_migrate_matches_notary_migration() {
    if !have("notary") || !have("openssl") {
        return;
    }
    let work = tempfile::tempdir().expect("tmp");
    let (root, root_id) = legacy_key(work.path(), "root", "-aes256");
    let (targets, targets_id) = legacy_key(work.path(), "targets", "-des3");
    let files = vec![
        (format!("root_keys/{root_id}_root.key"), root.as_slice()),
        (
            format!("tuf_keys/{GUN}/{targets_id}_targets.key"),
            targets.as_slice(),
        ),
    ];
    let by_notary = tempfile::tempdir().expect("tmp");
    let by_keytool = tempfile::tempdir().expect("tmp");
    layout(by_notary.path(), &files);
    layout(by_keytool.path(), &files);

    // keytool lists the legacy layout before migrating.
    let out = ok(keytool(by_keytool.path()).args(["--json", "key", "list"]));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        listed
            .as_array()
            .expect("array")
            .iter()
            .all(|k| k["location"] == "legacy")
    );

    // Any notary command migrates; keytool migrates on request.
    notary_key_list(by_notary.path());
    ok(keytool(by_keytool.path()).arg("migrate"));
    let ours = snapshot(by_keytool.path());
    assert_eq!(ours, snapshot(by_notary.path()), "same files, same bytes");
    let root_file = ours
        .iter()
        .find(|(p, _)| p.ends_with(format!("{root_id}.key")))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("migrated root key");
    assert!(
        root_file.contains("Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"),
        "{root_file}"
    );
    assert!(!by_keytool.path().join("private/root_keys").exists());

    // notary lists the migrated keys with their roles, and keytool opens them.
    let listed = notary_key_list(by_keytool.path());
    assert!(listed.iter().any(|k| k.id == root_id && k.role == "root"));
    assert!(
        listed
            .iter()
            .any(|k| k.id == targets_id && k.role == "targets")
    );
    // The same passphrase on purpose: through --new-passphrase-file (the environment holds the
    // current one, and passwd refuses it as the new one).
    let same = work.path().join("same-passphrase");
    std::fs::write(&same, format!("{PASS}\n")).expect("write");
    std::fs::set_permissions(&same, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    for id in [&root_id, &targets_id] {
        // passwd rewrites the legacy RFC 1423 blocks as PKCS#8, as `notary key passwd` does.
        ok(keytool(by_keytool.path())
            .env("NOTARY_ROOT_PASSPHRASE", PASS)
            .env("NOTARY_TARGETS_PASSPHRASE", PASS)
            .args([
                "--notary-compat",
                "key",
                "passwd",
                id,
                "--new-passphrase-file",
            ])
            .arg(&same));
    }
    let after = notary_key_list(by_keytool.path());
    assert_eq!(after.len(), 2);
    let text = std::fs::read_to_string(by_keytool.path().join(format!("private/{root_id}.key")))
        .expect("read");
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n"),
        "{text}"
    );
}

#[test]
fn keytool_keeps_what_it_cannot_migrate() {
    if !have("openssl") {
        return;
    }
    let work = tempfile::tempdir().expect("tmp");
    let (root, root_id) = legacy_key(work.path(), "root", "-aes256");
    let bad =
        b"-----BEGIN EC PRIVATE KEY-----\nnot base64!\n-----END EC PRIVATE KEY-----\n".to_vec();
    let bad_name = format!("root_keys/{}_root.key", "ab".repeat(32));
    let dir = tempfile::tempdir().expect("tmp");
    layout(
        dir.path(),
        &[
            (format!("root_keys/{root_id}_root.key"), root.as_slice()),
            (bad_name.clone(), bad.as_slice()),
        ],
    );

    let out = keytool(dir.path()).arg("migrate").output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "a kept file makes migrate fail");
    let kept = dir.path().join("private").join(&bad_name);
    assert_eq!(std::fs::read(&kept).expect("kept, untouched"), bad);
    assert!(dir.path().join(format!("private/{root_id}.key")).exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 migrated, 1 kept"));
}
