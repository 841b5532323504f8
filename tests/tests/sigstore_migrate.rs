//! `keytool migrate sigstore` against the real notary-server and docker-registry on loopback,
//! judged by sigstore-rs (the Sigstore project's Rust client), which reads the registry itself:
//! 1. three images are pushed to the registry (plain HTTP, by curl); keytool publishes the
//!    repository and signs v1 and v2 (its registry check passes), and v4 with a digest the
//!    registry does not hold; v3 is in the registry but never signed;
//! 2. a server that serves targets.json with one signed byte changed gets nothing signed and no
//!    key generated; `--dry-run` lists v1 and v2 as to be signed and writes nothing;
//! 3. the migration signs v1 and v2 (v4 reported missing from the registry, exit 1);
//!    sigstore-rs (`trusted_signature_layers` + `verify_constraints` with a `PublicKeyVerifier`
//!    of the public key keytool wrote) verifies v1 and v2, and refuses v3 (never migrated) and
//!    v1 against another key;
//! 4. a re-run with the same key adds no second signature; another signature already in the
//!    registry (made by another key) is kept beside keytool's.

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Fake, Stack, have, keytool, peers_required, stdout};

#[path = "support/registry.rs"]
mod registry;
#[path = "support/sigstore_judge.rs"]
mod sigstore_judge;
use registry::{Registry, digest};
use sigstore_judge::{expected, outcomes, sigstore_verifies};

const ROOT_PW: &str = "migrate-root-canary-3391";
const REPO_PW: &str = "migrate-repo-canary-8812";
const SIGSTORE_PW: &str = "migrate-sigstore-canary-2045";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_DELEGATION_PASSPHRASE", SIGSTORE_PW)
        .env("KEYTOOL_KEYRING", "none");
    cmd
}

fn online(stack: &Stack, trust: &Path, args: &[&str]) -> Output {
    kt(trust)
        .arg("--json")
        .args(args)
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("keytool runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON ({}): {}\n{}",
            out.status,
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn migrated_tags_verify_in_sigstore_rs() {
    if !(have("curl") && have("openssl")) {
        assert!(!peers_required(), "curl and openssl are required");
        return;
    }
    let Some(stack) = Stack::start_with_registry() else {
        assert!(
            !peers_required(),
            "notary-server and docker-registry are required"
        );
        return;
    };
    let host = stack.registry_host();
    let gun = format!("{host}/test/migrate");
    let registry = Registry::new(&host, "test/migrate", None);
    let work = tempfile::tempdir().expect("tmp");
    let trust = work.path().join("trust");

    // 1. Images in the registry; v1 and v2 signed through content trust, v3 not.
    let (d1, s1) = registry.push_image("v1", "layer one");
    let (d2, s2) = registry.push_image("v2", "layer two");
    registry.push_image("v3", "layer three");
    let init = online(&stack, &trust, &["init", "--repo", &gun]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    for (tag, d, s) in [("v1", &d1, s1), ("v2", &d2, s2)] {
        let size = s.to_string();
        let image = format!("{gun}:{tag}");
        let out = online(
            &stack,
            &trust,
            &["sign", &image, "--digest", d, "--size", &size],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ghost = digest(b"a manifest that was never pushed");
    let out = online(
        &stack,
        &trust,
        &[
            "sign",
            &format!("{gun}:v4"),
            "--digest",
            &ghost,
            "--size",
            "99",
            "--no-check",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2. A hostile server (targets.json changed after it was signed): nothing is signed, no key
    //    is made.
    let mut tampered = stack.metadata_files(&gun);
    let (_, targets) = tampered
        .iter_mut()
        .find(|(n, _)| n == "targets.json")
        .expect("targets.json");
    let at = targets
        .windows(11)
        .position(|w| w == b"\"expires\":\"")
        .expect("expires")
        + 12;
    targets[at] ^= 0x01;
    let fake = Fake::serve(&stack, &gun, &tampered);
    let hostile = kt(&trust)
        .args(["migrate", "sigstore", "--repo", &gun, "--generate"])
        .args(["--server", &fake.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("keytool runs");
    drop(fake);
    assert_eq!(
        hostile.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&hostile.stderr)
    );
    assert!(
        String::from_utf8_lossy(&hostile.stderr).contains("targets.json"),
        "{}",
        String::from_utf8_lossy(&hostile.stderr)
    );
    let sigstore_keys = || {
        trust
            .join("private")
            .read_dir()
            .expect("private")
            .filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("role: sigstore"))
                })
            })
            .count()
    };
    assert_eq!(
        sigstore_keys(),
        0,
        "no key is generated for a hostile server"
    );
    assert!(registry.signature_layers(&d1).is_empty());

    // A dry run lists and writes nothing.
    let dry = online(
        &stack,
        &trust,
        &["migrate", "sigstore", "--repo", &gun, "--dry-run"],
    );
    let report = json(&dry);
    assert_eq!(
        outcomes(&report),
        expected(&[
            (&d1, "would_sign"),
            (&d2, "would_sign"),
            (&ghost, "not_in_registry")
        ])
    );
    assert!(registry.signature_layers(&d1).is_empty());
    assert!(
        !trust.join("private").read_dir().expect("private").any(|e| {
            std::fs::read_to_string(e.expect("entry").path())
                .is_ok_and(|t| t.contains("role: sigstore"))
        })
    );

    // 3. The migration: v1 and v2 signed, v4 reported (exit 1).
    let public = work.path().join("sigstore.pub");
    let migrated = kt(&trust)
        .args([
            "--json",
            "migrate",
            "sigstore",
            "--repo",
            &gun,
            "--generate",
        ])
        .arg("--public-key-out")
        .arg(&public)
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("keytool runs");
    assert_eq!(
        migrated.status.code(),
        Some(1),
        "a manifest is missing: exit 1"
    );
    let report = json(&migrated);
    let key_id = report["key_id"].as_str().expect("key id").to_owned();
    assert_eq!(report["generated"], true);
    assert_eq!(
        outcomes(&report),
        expected(&[
            (&d1, "signed"),
            (&d2, "signed"),
            (&ghost, "not_in_registry")
        ])
    );
    let pem = std::fs::read(&public).expect("public key written");
    for tag in ["v1", "v2"] {
        let layers = sigstore_verifies(&format!("{gun}:{tag}"), &pem, None)
            .unwrap_or_else(|e| panic!("sigstore-rs refuses migrated {tag}: {e}"));
        assert_eq!(layers, 1, "{tag}");
    }
    assert!(
        sigstore_verifies(&format!("{gun}:v3"), &pem, None).is_err(),
        "sigstore-rs accepts v3, which was never signed"
    );
    let other = keystore::key::PrivateKey::generate_ecdsa().expect("key");
    let other_pem = keystore::key::interchange::public_pem(other.public());
    assert!(
        sigstore_verifies(&format!("{gun}:v1"), other_pem.as_bytes(), None).is_err(),
        "sigstore-rs accepts v1 against a key that never signed it"
    );

    // 4. Re-running with the same key adds nothing; another key's signature is kept beside.
    let again = online(
        &stack,
        &trust,
        &["migrate", "sigstore", "--repo", &gun, "--key", &key_id],
    );
    let report = json(&again);
    assert_eq!(
        outcomes(&report),
        expected(&[
            (&d1, "already_signed"),
            (&d2, "already_signed"),
            (&ghost, "not_in_registry")
        ])
    );
    assert_eq!(registry.signature_layers(&d1).len(), 1);
    // A second keytool key (another signer's): its signature joins, keytool's stays.
    let second = kt(&trust)
        .args(["key", "generate", "--role", "sigstore"])
        .output()
        .expect("keytool runs");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let second_id = stdout(&second).trim().to_owned();
    let second_pub = work.path().join("second.pub");
    let out = kt(&trust)
        .args([
            "--json", "migrate", "sigstore", "--repo", &gun, "--key", &second_id,
        ])
        .arg("--public-key-out")
        .arg(&second_pub)
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("keytool runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(registry.signature_layers(&d1).len(), 2);
    let second_pem = std::fs::read(&second_pub).expect("public key");
    for key in [&pem, &second_pem] {
        sigstore_verifies(&format!("{gun}:v1"), key, None)
            .unwrap_or_else(|e| panic!("sigstore-rs refuses v1 after a second signature: {e}"));
    }
}
