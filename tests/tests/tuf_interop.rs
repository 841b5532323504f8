//! keytool's TUF code against metadata the real notary published: canonical JSON byte for byte
//! (including Go's escaping of `&<>` in the envelope), and keytool verifies notary's chain.

use std::time::SystemTime;

use interop_tests::{Stack, ok};
use keystore::Gun;
use keystore::notary::NotaryClient;
use keystore::tuf::schema::{Snapshot, Targets, Timestamp};
use keystore::tuf::{Envelope, cjson, verify};

const GUN: &str = "example.com/notary/published";

#[test]
fn keytool_reproduces_and_verifies_notary_metadata() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let target = tmp.path().join("t.txt");
    std::fs::write(&target, b"payload").expect("write");
    let notary = || {
        let mut cmd = stack.notary(&trust);
        cmd.env("NOTARY_ROOT_PASSPHRASE", "root-pass-1")
            .env("NOTARY_TARGETS_PASSPHRASE", "targets-pass-1")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "snapshot-pass-1");
        cmd
    };
    // notary init -p keeps the snapshot key local: all four roles are signed by the client or
    // the server, and a target name with HTML characters exercises Go's envelope escaping.
    ok(notary().args(["init", "-p", GUN]));
    ok(notary().args(["add", GUN, "a&b<c>é\u{7f}"]).arg(&target));
    ok(notary().args(["publish", GUN]));

    let client = NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client");
    let gun: Gun = GUN.parse().expect("gun");
    let fetch = |f: &str| client.get(&gun, f).expect("get").expect("present");
    let files: Vec<(&str, Vec<u8>)> = ["root", "targets", "snapshot", "timestamp"]
        .into_iter()
        .map(|r| (r, fetch(&format!("{r}.json"))))
        .collect();

    for (role, bytes) in &files {
        let env = Envelope::parse(bytes).expect("parses");
        // Straight from the text, and through a tree: the same bytes, notary's.
        let canonical = env.canonical().expect("canonical");
        let tree: serde_json::Value = serde_json::from_str(env.signed.get()).expect("JSON");
        assert_eq!(
            canonical,
            cjson::to_vec(&tree).expect("canonical"),
            "{role}.json"
        );
        let ours = cjson::go_html_escape(&canonical);
        let mut expected_prefix = b"{\"signed\":".to_vec();
        expected_prefix.extend_from_slice(&ours);
        expected_prefix.extend_from_slice(b",\"signatures\":");
        assert!(
            bytes.starts_with(&expected_prefix),
            "{role}.json: keytool's canonical JSON differs from notary's:\nnotary: {}\nkeytool: {}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&expected_prefix)
        );
    }
    let targets_text = String::from_utf8_lossy(&files[1].1);
    assert!(
        targets_text.contains("a\\u0026b\\u003cc\\u003eé"),
        "{targets_text}"
    );

    // keytool verifies notary's whole chain.
    let now = SystemTime::now();
    let root = verify::verify_root(&files[0].1, &gun, now).expect("root verifies");
    let timestamp: Timestamp = verify::verify_role(&files[3].1, &root, now).expect("timestamp");
    verify::check_meta(timestamp.meta.get("snapshot"), "snapshot.json", &files[2].1).expect("meta");
    let snapshot: Snapshot = verify::verify_role(&files[2].1, &root, now).expect("snapshot");
    verify::check_meta(snapshot.meta.get("targets"), "targets.json", &files[1].1).expect("meta");
    let targets: Targets = verify::verify_role(&files[1].1, &root, now).expect("targets");
    assert!(targets.targets.contains_key("a&b<c>é\u{7f}"));
}

#[test]
fn local_snapshot_repositories_are_signed_by_notary_with_keytool_keys() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/keytool/local-snapshot";
    let out = ok(interop_tests::keytool(&trust)
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "root-pass-1")
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo-pass-1")
        .args([
            "--json",
            "--notary-compat",
            "init",
            "--local-snapshot",
            "--repo",
            gun,
            "--server",
            &stack.url,
            "--tlscacert",
        ])
        .arg(&stack.ca));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(made["snapshot_server_managed"], false);
    let keys_before = interop_tests::snapshot(&trust);
    assert_eq!(keys_before.len(), 3, "root, targets and snapshot keys");

    let target = tmp.path().join("t.txt");
    std::fs::write(&target, b"payload").expect("write");
    let notary = || {
        let mut cmd = stack.notary(&trust);
        cmd.env("NOTARY_TARGETS_PASSPHRASE", "repo-pass-1")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "repo-pass-1");
        cmd
    };
    ok(notary().args(["add", gun, "v1"]).arg(&target));
    ok(notary().args(["publish", gun]));
    assert_eq!(
        interop_tests::snapshot(&trust),
        keys_before,
        "notary signed with keytool's keys"
    );

    let out = ok(interop_tests::keytool(&trust)
        .env("KEYTOOL_TARGETS_PASSPHRASE", "repo-pass-1")
        .args([
            "--json",
            "status",
            "--repo",
            gun,
            "--server",
            &stack.url,
            "--tlscacert",
        ])
        .arg(&stack.ca));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(st["ready"], true);
    assert_eq!(st["snapshot_server_managed"], false);
}
