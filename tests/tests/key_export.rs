//! `key export --format cosign|notation`, judged by tools that are not keytool's:
//! - sigstore-rs (the Sigstore project's Rust client) decrypts keytool's cosign export with the
//!   key's passphrase, finds in it the key whose public half keytool wrote beside it, and refuses
//!   a wrong or empty passphrase; an Ed25519 key in notary's 96-byte form comes out as the same
//!   key in RFC 8410 form;
//! - openssl reads notation's files: the certificate's public key is the private key's, it
//!   carries exactly the key usage notation requires, and it is signed by that key;
//! - bad input (two keys, an existing file, a name like a flag, a wrong passphrase) changes
//!   nothing.

use std::path::Path;
use std::process::Command;

use interop_tests::{exits, have, keytool, ok, peers_required, stdout};
use sigstore::crypto::signing_key::SigStoreKeyPair;

const REPO_PW: &str = "export-repo-canary-5521";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_KEYRING", "none");
    cmd
}

/// A new targets key of `example.com/org/app` in `trust`; its ID.
fn targets_key(trust: &Path) -> String {
    let out = ok(kt(trust).args([
        "--kdf-iterations",
        "10000",
        "key",
        "generate",
        "--role",
        "targets",
        "--repo",
        "example.com/org/app",
    ]));
    stdout(&out).trim().to_owned()
}

/// The DER inside the first PEM block of a file.
fn pem_der(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).expect("PEM file");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn sigstore_rs_decrypts_the_cosign_export_with_the_passphrase_only() {
    let work = tempfile::tempdir().expect("tempdir");
    let trust = work.path().join("trust");
    let id = targets_key(&trust);
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let key_path = out_dir.join("cosign.key");
    let done = ok(kt(&trust)
        .args([
            "--json",
            "key",
            "export",
            "--format",
            "cosign",
            "--key",
            &id[..10],
            "-o",
        ])
        .arg(&key_path));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON");
    assert_eq!(report["key_id"], id.as_str());
    assert!(
        !String::from_utf8_lossy(&done.stderr).contains(REPO_PW),
        "the passphrase is never printed"
    );
    assert_eq!(files_in(&out_dir), ["cosign.key", "cosign.pub"]);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key_path)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let sealed = std::fs::read(&key_path).expect("read");
    assert!(sealed.starts_with(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));

    let pair = SigStoreKeyPair::from_encrypted_pem(&sealed, REPO_PW.as_bytes())
        .expect("sigstore-rs decrypts keytool's cosign export with the passphrase");
    assert!(matches!(pair, SigStoreKeyPair::ECDSA(_)));
    let public = pair.public_key_to_der().expect("public key");
    assert_eq!(
        public,
        pem_der(&out_dir.join("cosign.pub")),
        "cosign.pub is the public half of the key in cosign.key"
    );
    // ... and it is the key keytool knows by this ID (the ID hashes the SPKI, spec §4.1).
    assert_eq!(keystore::key::key_id_of("ecdsa", &public).as_str(), id);

    for wrong in [&b"not-the-passphrase"[..], b""] {
        assert!(
            SigStoreKeyPair::from_encrypted_pem(&sealed, wrong).is_err(),
            "sigstore-rs refuses passphrase {:?}",
            String::from_utf8_lossy(wrong)
        );
    }

    // A second export to the same place is refused and changes nothing.
    let again = kt(&trust)
        .args(["key", "export", "--format", "cosign", "--key", &id, "-o"])
        .arg(&key_path)
        .output()
        .expect("runs");
    assert!(!again.status.success());
    assert_eq!(std::fs::read(&key_path).expect("read"), sealed);
}

#[test]
fn bad_input_changes_nothing() {
    let work = tempfile::tempdir().expect("tempdir");
    let trust = work.path().join("trust");
    let a = targets_key(&trust);
    let b = targets_key(&trust);
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");

    // Two keys for a one-key format: exit 2.
    let two = kt(&trust)
        .args([
            "key", "export", "--format", "cosign", "--key", &a, "--key", &b, "-o",
        ])
        .arg(out.join("c.key"))
        .output()
        .expect("runs");
    exits(&two, 2);
    // A wrong passphrase: exit 3, no file.
    let wrong = kt(&trust)
        .env("KEYTOOL_TARGETS_PASSPHRASE", "wrong-passphrase-0000")
        .args(["key", "export", "--format", "cosign", "--key", &a, "-o"])
        .arg(out.join("c.key"))
        .output()
        .expect("runs");
    exits(&wrong, 3);
    // A notation name that looks like a flag: exit 2.
    let flag = kt(&trust)
        .args([
            "key",
            "export",
            "--format",
            "notation",
            "--key",
            &a,
            "--name=-rf",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    exits(&flag, 2);
    // A signingkeys.json that is not notation's: refused, kept as it was.
    std::fs::write(out.join("signingkeys.json"), b"[1,2]").expect("write");
    let foreign = kt(&trust)
        .args(["key", "export", "--format", "notation", "--key", &a, "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    exits(&foreign, 2);
    assert_eq!(files_in(&out), ["signingkeys.json"]);
    assert_eq!(
        std::fs::read(out.join("signingkeys.json")).expect("read"),
        b"[1,2]"
    );
}

#[test]
fn notation_export_satisfies_notation_certificate_rules_per_openssl() {
    if !have("openssl") {
        assert!(!peers_required(), "openssl is required");
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let trust = work.path().join("trust");
    let id = targets_key(&trust);
    let config = work.path().join("notation");
    std::fs::create_dir(&config).expect("mkdir");
    // An existing configuration with another key: kept, and stays the default.
    std::fs::write(
        config.join("signingkeys.json"),
        br#"{"default":"other","keys":[{"name":"other","keyPath":"/o.key","certPath":"/o.crt"}]}"#,
    )
    .expect("write");
    let done = ok(kt(&trust)
        .args([
            "--json", "key", "export", "--format", "notation", "--key", &id,
        ])
        .args(["--name", "wabbit-networks.io", "-o"])
        .arg(&config));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON");
    assert_eq!(report["default_key"], false);
    let key = config.join("localkeys/wabbit-networks.io.key");
    let cert = config.join("localkeys/wabbit-networks.io.crt");

    let keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config.join("signingkeys.json")).expect("read"))
            .expect("JSON");
    assert_eq!(keys["default"], "other");
    let entry = keys["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|e| e["name"] == "wabbit-networks.io"))
        .expect("entry");
    assert_eq!(entry["keyPath"], key.to_str().expect("utf-8"));
    assert_eq!(entry["certPath"], cert.to_str().expect("utf-8"));
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2));

    let openssl = |args: &[&str], file: &Path| -> String {
        stdout(&ok(Command::new("openssl").args(args).arg(file)))
    };
    // The certificate is for the private key: both give the same public key.
    let from_cert = openssl(&["x509", "-noout", "-pubkey", "-in"], &cert);
    let from_key = openssl(&["pkey", "-pubout", "-in"], &key);
    assert_eq!(from_cert, from_key);
    // It is self-signed by that key.
    let verified = Command::new("openssl")
        .args(["verify", "-check_ss_sig", "-partial_chain", "-CAfile"])
        .arg(&cert)
        .arg(&cert)
        .output()
        .expect("openssl verify runs");
    assert!(
        stdout(&verified).contains(": OK"),
        "openssl verify: {}{}",
        stdout(&verified),
        String::from_utf8_lossy(&verified.stderr)
    );
    // Exactly the key usage notation requires: digitalSignature, critical; code signing only;
    // not a CA.
    let text = openssl(&["x509", "-noout", "-text", "-in"], &cert);
    let after = |label: &str| -> String {
        let mut lines = text.lines().skip_while(|l| !l.contains(label));
        let head = lines.next().unwrap_or_default().trim().to_owned();
        let value = lines.next().unwrap_or_default().trim().to_owned();
        format!("{head} | {value}")
    };
    assert_eq!(
        after("X509v3 Key Usage"),
        "X509v3 Key Usage: critical | Digital Signature"
    );
    assert_eq!(
        after("X509v3 Extended Key Usage"),
        "X509v3 Extended Key Usage: | Code Signing"
    );
    assert_eq!(
        after("X509v3 Basic Constraints"),
        "X509v3 Basic Constraints: critical | CA:FALSE"
    );
    assert!(text.contains("Subject: CN = wabbit-networks.io"), "{text}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn an_ed25519_key_in_notarys_form_reaches_sigstore_rs_as_rfc8410() {
    use ring::signature::KeyPair as _;
    // A real Ed25519 key pair; ring's PKCS#8 v2 holds the seed at bytes 16..48.
    let rng = ring::rand::SystemRandom::new();
    let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519");
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("pair");
    let seed = &doc.as_ref()[16..48];
    let public = pair.public_key().as_ref();
    // notary's inner PKCS#8: version 0, GnuPG's Ed25519 OID, public ‖ seed ‖ public.
    let raw = [public, seed, public].concat();
    let mut inner = vec![
        0x30, 0x72, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda,
        0x47, 0x0f, 0x01, 0x04, 0x60,
    ];
    inner.extend_from_slice(&raw);
    let key = keystore::key::pkcs8::decode(&inner)
        .expect("decodes")
        .expect("notary's Ed25519 form");
    let id = key.id().to_string();
    let gun: keystore::Gun = "example.com/org/app".parse().expect("gun");
    let file = keystore::key::file::encode(
        &key,
        &keystore::Role::Targets,
        Some(&gun),
        &keystore::Passphrase::new(REPO_PW.into()),
        10_000,
    )
    .expect("key file");

    let work = tempfile::tempdir().expect("tempdir");
    let trust = work.path().join("trust");
    std::fs::create_dir_all(trust.join("private")).expect("mkdir");
    let path = trust.join("private").join(format!("{id}.key"));
    std::fs::write(&path, file).expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(
        trust.join("private"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");

    let key_path = work.path().join("ed.key");
    ok(kt(&trust)
        .args(["key", "export", "--format", "cosign", "--key", &id, "-o"])
        .arg(&key_path));
    let sealed = std::fs::read(&key_path).expect("read");
    let pair = SigStoreKeyPair::from_encrypted_pem(&sealed, REPO_PW.as_bytes())
        .expect("sigstore-rs decrypts the Ed25519 export");
    assert!(matches!(pair, SigStoreKeyPair::ED25519(_)));
    let spki = pair.public_key_to_der().expect("public key");
    // RFC 8410 SPKI: 302a300506032b6570032100 ‖ the public key sigstore-rs derived from the seed.
    assert_eq!(
        spki[..12],
        [
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
        ]
    );
    assert_eq!(
        &spki[12..],
        public,
        "the seed keytool wrote is the key's own"
    );
    assert_eq!(spki, pem_der(&work.path().join("ed.pub")));
}
