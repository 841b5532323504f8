//! `keytool rotate` against the real notary-server, notary and docker: the clients follow the
//! new key, and a rotation interrupted anywhere (a crash at every step boundary, a server that
//! refuses the publish, a concurrent rotation) never costs the ability to sign or a key file.

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Fake, Stack, exits, have, keytool, ok, stdout};
use keystore::Gun;
use keystore::notary::NotaryClient;

const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .arg("--notary-compat");
    cmd
}

fn server_args<'a>(stack: &'a Stack, cmd: &'a mut Command, url: &str) -> &'a mut Command {
    cmd.args(["--server", url, "--tlscacert"]).arg(&stack.ca)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON (exit {:?}): {}\nstderr: {}",
            out.status.code(),
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn init(stack: &Stack, trust: &Path, gun: &str) -> serde_json::Value {
    let mut cmd = kt(trust);
    cmd.args(["--json", "init", "--repo", gun]);
    json(&ok(server_args(stack, &mut cmd, &stack.url)))
}

fn rotate(stack: &Stack, trust: &Path, gun: &str, url: &str) -> Output {
    let mut cmd = kt(trust);
    cmd.args(["--json", "rotate", "--repo", gun]);
    server_args(stack, &mut cmd, url).output().expect("runs")
}

fn status(stack: &Stack, trust: &Path, gun: &str) -> (Option<i32>, serde_json::Value) {
    // With the passphrases: "ready" means a source opens the targets key.
    let run = || {
        let mut cmd = kt(trust);
        cmd.args(["--json", "status", "--repo", gun]);
        server_args(stack, &mut cmd, &stack.url)
            .output()
            .expect("runs")
    };
    let mut out = run();
    if out.status.code() == Some(5) && out.stdout.is_empty() {
        // The server (not keytool) failed: on a loaded machine notary-server's storage or
        // notary-signer may answer 5xx once. Said in the log, asked once more; a keytool error
        // of any other kind fails the test.
        eprintln!(
            "status of {gun}: a server error, asking once more: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
        out = run();
    }
    (out.status.code(), json(&out))
}

/// Every key file under private/ and keytool-retired/ (names only).
fn all_keys(trust: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for d in ["private", "keytool-retired"] {
        if let Ok(entries) = std::fs::read_dir(trust.join(d)) {
            names.extend(
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    names.sort();
    names
}

/// notary signs a new target with whatever the trust dir holds; true when the server took it.
fn notary_can_publish(stack: &Stack, trust: &Path, gun: &str, name: &str) -> bool {
    let file = trust.join("payload.txt");
    std::fs::write(&file, name.as_bytes()).expect("write");
    let notary = || {
        let mut cmd = stack.notary(trust);
        cmd.env("NOTARY_TARGETS_PASSPHRASE", REPO_PW);
        cmd
    };
    ok(notary().args(["add", gun, name]).arg(&file));
    let published = notary().args(["publish", gun]).output().expect("runs");
    let _ = std::fs::remove_dir_all(trust.join("tuf").join(gun).join("changelist"));
    published.status.success()
}

#[test]
fn local_rotation_and_missing_keys() {
    let tmp = tempfile::tempdir().expect("tmp");
    let gun = "example.com/rotate/local";
    ok(kt(tmp.path()).args(["init", "--offline", "--repo", gun]));
    let before = all_keys(tmp.path());
    let out = ok(kt(tmp.path()).args(["--json", "rotate", "--offline", "--repo", gun]));
    let done = json(&out);
    assert_eq!(done["published"], false);
    let old = done["old_key"].as_str().expect("old");
    let new = done["new_key"].as_str().expect("new");
    assert!(
        tmp.path()
            .join(format!("keytool-retired/{old}.key"))
            .is_file()
    );
    assert!(tmp.path().join(format!("private/{new}.key")).is_file());
    assert!(!tmp.path().join(format!("private/{old}.key")).exists());
    assert_eq!(
        all_keys(tmp.path()).len(),
        before.len() + 1,
        "no key file lost"
    );
    if have("notary") {
        let listed = interop_tests::notary_key_list(tmp.path());
        assert!(
            listed.iter().all(|k| k.id != old),
            "notary must not see the retired key"
        );
        assert!(listed.iter().any(|k| k.id == new));
    }
    let retired = json(&ok(keytool(tmp.path()).args([
        "--json",
        "key",
        "list",
        "--retired",
    ])));
    assert_eq!(retired[0]["id"], old);
    assert_eq!(retired[0]["location"], "retired");

    let out = kt(tmp.path())
        .args(["rotate", "--offline", "--repo", "example.com/no/keys"])
        .output()
        .expect("runs");
    exits(&out, 4);
}

#[test]
fn published_rotation_is_followed_by_notary_and_docker() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "sandboxregistry:5000/test/trusttest";
    init(&stack, &trust, gun);
    // A client that trusted root v1 before the rotation (TOFU).
    let prior = tmp.path().join("prior");
    ok(stack.notary(&prior).args(["list", gun]));

    let dry = json(&ok(server_args(
        &stack,
        kt(&trust).args(["--json", "rotate", "--dry-run", "--repo", gun]),
        &stack.url,
    )));
    assert_eq!(dry["dry_run"], true);
    let out = rotate(&stack, &trust, gun, &stack.url);
    exits(&out, 0);
    let done = json(&out);
    assert_eq!(done["root_version"].as_u64(), Some(2));
    let old = done["old_key"].as_str().expect("old").to_owned();
    let new = done["new_key"].as_str().expect("new").to_owned();
    assert_eq!(status(&stack, &trust, gun).0, Some(0));

    // notary signs with the new key and makes no key file; old and fresh clients follow.
    let keys = all_keys(&trust);
    assert!(notary_can_publish(&stack, &trust, gun, "after-rotation"));
    assert_eq!(all_keys(&trust), keys);
    assert!(stdout(&ok(stack.notary(&prior).args(["list", gun]))).contains("after-rotation"));
    assert!(
        stdout(&ok(stack
            .notary(&tmp.path().join("fresh"))
            .args(["list", gun])))
        .contains("after-rotation")
    );

    // The old key can no longer sign: with only it in place, the server refuses the publish.
    std::fs::rename(
        trust.join(format!("private/{new}.key")),
        tmp.path().join("new.key"),
    )
    .expect("mv");
    std::fs::rename(
        trust.join(format!("keytool-retired/{old}.key")),
        trust.join(format!("private/{old}.key")),
    )
    .expect("mv");
    assert!(!notary_can_publish(&stack, &trust, gun, "with-the-old-key"));
    std::fs::rename(
        trust.join(format!("private/{old}.key")),
        trust.join(format!("keytool-retired/{old}.key")),
    )
    .expect("mv");
    std::fs::rename(
        tmp.path().join("new.key"),
        trust.join(format!("private/{new}.key")),
    )
    .expect("mv");

    if have("docker") {
        let inspect = stack.docker_trust_inspect(tmp.path(), gun);
        assert_eq!(
            interop_tests::admin_key_id(&inspect, "Repository"),
            Some(new.clone())
        );
    }
}

#[test]
fn a_crash_at_every_step_is_completed_by_the_next_run() {
    let Some(stack) = Stack::start() else { return };
    for step in [
        "journaled",
        "new-key-written",
        "published",
        "retired",
        "cache-refreshed",
    ] {
        let tmp = tempfile::tempdir().expect("tmp");
        let trust = tmp.path().join("trust");
        let gun = format!("example.com/crash/{step}");
        let made = init(&stack, &trust, &gun);
        let old = made["keys"]["targets"].as_str().expect("old").to_owned();

        let mut cmd = kt(&trust);
        cmd.env("KEYTOOL_FAULT_POINT", step)
            .args(["rotate", "--repo", &gun]);
        let out = server_args(&stack, &mut cmd, &stack.url)
            .output()
            .expect("runs");
        assert!(
            !out.status.success(),
            "{step}: the fault point must stop keytool"
        );

        // Whatever happened, the key the server trusts is in private/ and can sign.
        let (_, st) = status(&stack, &trust, &gun);
        assert_eq!(st["can_sign_targets"], true, "{step}: {st}");
        assert_eq!(st["pending_rotation"], true, "{step}: {st}");
        assert!(
            all_keys(&trust).iter().any(|k| k.starts_with(&old)),
            "{step}: old key lost"
        );

        // The next run completes it (no second new key).
        let out = rotate(&stack, &trust, &gun, &stack.url);
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let done = json(&out);
        assert_eq!(done["resumed"], true, "{step}: {done}");
        let (code, st) = status(&stack, &trust, &gun);
        assert_eq!(code, Some(0), "{step}: {st}");
        assert_eq!(st["pending_rotation"], false);
        assert_eq!(
            st["expected_targets_keys"][0]["key_id"], done["new_key"],
            "{step}"
        );
        assert_eq!(
            all_keys(&trust).len(),
            3,
            "{step}: root, old (retired) and new: {:?}",
            all_keys(&trust)
        );
        assert!(notary_can_publish(&stack, &trust, &gun, step), "{step}");
    }
}

#[test]
fn a_refused_publish_keeps_the_old_key_and_resumes() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/refused/publish";
    let made = init(&stack, &trust, gun);
    let old = made["keys"]["targets"].as_str().expect("old").to_owned();

    // A server that serves the real metadata but refuses every POST (501).
    let files = stack.metadata_files(gun);
    let fake = Fake::serve(&stack, gun, &files);
    let out = rotate(&stack, &trust, gun, &fake.url);
    exits(&out, 5);
    assert!(
        trust.join(format!("private/{old}.key")).is_file(),
        "the old key stays in place"
    );
    assert_eq!(
        status(&stack, &trust, gun).0,
        Some(0),
        "still signable with the trusted key"
    );
    assert!(notary_can_publish(&stack, &trust, gun, "while-pending"));

    let out = rotate(&stack, &trust, gun, &stack.url);
    exits(&out, 0);
    assert_eq!(json(&out)["resumed"], true);
    assert!(!trust.join(format!("private/{old}.key")).exists());
    assert!(notary_can_publish(&stack, &trust, gun, "after-resume"));
}

#[test]
fn concurrent_rotations_are_serialised() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/race/repo";
    init(&stack, &trust, gun);
    let spawn = || {
        let mut cmd = kt(&trust);
        cmd.args(["--json", "rotate", "--repo", gun]);
        server_args(&stack, &mut cmd, &stack.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns")
    };
    let (a, b) = (spawn(), spawn());
    for out in [
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    ] {
        exits(&out, 0);
    }
    let (code, st) = status(&stack, &trust, gun);
    assert_eq!(code, Some(0), "{st}");
    assert_eq!(
        all_keys(&trust).len(),
        4,
        "root, two retired targets keys, the current one"
    );
    assert!(notary_can_publish(&stack, &trust, gun, "after-race"));
}

fn root_cert_id(stack: &Stack, gun: &str) -> String {
    let client = NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client");
    let g: Gun = gun.parse().expect("gun");
    let root = client.get(&g, "root.json").expect("get").expect("root");
    let root: keystore::tuf::schema::Root = keystore::tuf::Envelope::parse(&root)
        .and_then(|e| e.typed())
        .expect("parses");
    root.role_key_ids("root")[0].clone()
}

#[test]
fn snapshot_moves_to_the_server_and_back() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/rotate/snapshot";
    let mut cmd = kt(&trust);
    cmd.env("KEYTOOL_SNAPSHOT_PASSPHRASE", REPO_PW).args([
        "init",
        "--local-snapshot",
        "--repo",
        gun,
    ]);
    ok(server_args(&stack, &mut cmd, &stack.url));
    assert_eq!(
        status(&stack, &trust, gun).1["snapshot_server_managed"],
        false
    );

    // To the server: root.json lists the server's key; the local snapshot key is retired.
    let mut cmd = kt(&trust);
    cmd.env("KEYTOOL_SNAPSHOT_PASSPHRASE", REPO_PW).args([
        "--json",
        "rotate",
        "--role",
        "snapshot",
        "--server-managed",
        "--repo",
        gun,
    ]);
    let done = json(&ok(server_args(&stack, &mut cmd, &stack.url)));
    assert_eq!(done["server_managed"], true);
    let old = done["old_key"].as_str().expect("old");
    assert!(trust.join(format!("keytool-retired/{old}.key")).is_file());
    let (code, st) = status(&stack, &trust, gun);
    assert_eq!(
        (code, st["snapshot_server_managed"].clone()),
        (Some(0), true.into()),
        "{st}"
    );
    assert!(notary_can_publish(&stack, &trust, gun, "server-snapshot"));

    // And back to a new local key, which then signs snapshot.json.
    let mut cmd = kt(&trust);
    cmd.env("KEYTOOL_SNAPSHOT_PASSPHRASE", REPO_PW)
        .args(["--json", "rotate", "--role", "snapshot", "--repo", gun]);
    let done = json(&ok(server_args(&stack, &mut cmd, &stack.url)));
    let new = done["new_key"].as_str().expect("new");
    assert!(trust.join(format!("private/{new}.key")).is_file());
    assert_eq!(
        status(&stack, &trust, gun).1["snapshot_server_managed"],
        false
    );
    let file = trust.join("payload.txt");
    std::fs::write(&file, b"x").expect("write");
    let notary = || {
        let mut c = stack.notary(&trust);
        c.env("NOTARY_TARGETS_PASSPHRASE", REPO_PW)
            .env("NOTARY_SNAPSHOT_PASSPHRASE", REPO_PW);
        c
    };
    ok(notary().args(["add", gun, "local-snapshot"]).arg(&file));
    ok(notary().args(["publish", gun]));
}

#[test]
fn root_rotation_is_followed_by_clients_that_trusted_the_old_root() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/rotate/root";
    let made = init(&stack, &trust, gun);
    let old_root = made["keys"]["root"].as_str().expect("root").to_owned();
    // A second repository signed by the same root key.
    let other = "example.com/rotate/root-sibling";
    init(&stack, &trust, other);
    let prior = tmp.path().join("prior");
    ok(stack.notary(&prior).args(["list", gun]));
    let old_cert = root_cert_id(&stack, gun);

    // Without a terminal and without --yes, root rotation refuses and changes nothing.
    let mut cmd = kt(&trust);
    cmd.args(["rotate", "--role", "root", "--repo", gun]);
    let out = server_args(&stack, &mut cmd, &stack.url)
        .output()
        .expect("runs");
    exits(&out, 2);
    assert_eq!(root_cert_id(&stack, gun), old_cert);

    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--role", "root", "--yes", "--repo", gun]);
    let done = json(&ok(server_args(&stack, &mut cmd, &stack.url)));
    let new_root = done["new_key"].as_str().expect("new").to_owned();
    assert!(
        trust.join(format!("private/{old_root}.key")).is_file(),
        "the old root key stays while another repository uses it"
    );
    assert_eq!(done["old_root_still_used_by"], serde_json::json!([other]));
    assert!(trust.join(format!("private/{new_root}.key")).is_file());
    let new_cert = root_cert_id(&stack, gun);
    assert_ne!(new_cert, old_cert);

    // A client that trusted root v1 walks to v2 (signed by the old and the new root key).
    assert!(notary_can_publish(
        &stack,
        &trust,
        gun,
        "after-root-rotation"
    ));
    assert!(stdout(&ok(stack.notary(&prior).args(["list", gun]))).contains("after-root-rotation"));
    // The new root key signs the next rotation.
    let out = rotate(&stack, &trust, gun, &stack.url);
    exits(&out, 0);
    assert!(stdout(&ok(stack.notary(&prior).args(["list", gun]))).contains("after-root-rotation"));
    let (code, st) = status(&stack, &trust, gun);
    assert_eq!(code, Some(0), "{st}");
    assert_eq!(st["expected_root_keys"][0]["key_id"], new_root.as_str());

    // Once the sibling moves to its own new root key, nothing uses the old one: it is retired.
    let mut cmd = kt(&trust);
    cmd.args([
        "--json", "rotate", "--role", "root", "--yes", "--repo", other,
    ]);
    let done = json(&ok(server_args(&stack, &mut cmd, &stack.url)));
    assert_eq!(done["old_root_still_used_by"], serde_json::json!([]));
    assert!(
        trust
            .join(format!("keytool-retired/{old_root}.key"))
            .is_file()
    );
    assert!(!trust.join(format!("private/{old_root}.key")).exists());
    assert_eq!(status(&stack, &trust, other).0, Some(0));
}

#[test]
fn an_existing_key_file_is_adopted() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/rotate/adopt";
    init(&stack, &trust, gun);
    // A key made elsewhere, encrypted with its own passphrase (not the repository one).
    let elsewhere = tmp.path().join("elsewhere");
    let id = stdout(&ok(keytool(&elsewhere)
        .env("KEYTOOL_DELEGATION_PASSPHRASE", "its-own-pass")
        .args(["--notary-compat", "key", "generate", "--role", "adoptee"])))
    .trim()
    .to_owned();
    let file = elsewhere.join(format!("private/{id}.key"));
    let mut cmd = kt(&trust);
    cmd.env("KEYTOOL_DELEGATION_PASSPHRASE", "its-own-pass")
        .args(["--json", "rotate", "--repo", gun, "--key"])
        .arg(&file);
    let done = json(&ok(server_args(&stack, &mut cmd, &stack.url)));
    assert_eq!(done["new_key"], id.as_str());
    let stored = std::fs::read_to_string(trust.join(format!("private/{id}.key"))).expect("stored");
    assert!(
        stored.contains(&format!("gun: {gun}\nrole: targets\n")),
        "{stored}"
    );
    // Stored as it was: it still opens with its own passphrase, and notary signs with it.
    let file = trust.join("payload.txt");
    std::fs::write(&file, b"x").expect("write");
    let notary = || {
        let mut c = stack.notary(&trust);
        c.env("NOTARY_TARGETS_PASSPHRASE", "its-own-pass");
        c
    };
    ok(notary().args(["add", gun, "adopted"]).arg(&file));
    ok(notary().args(["publish", gun]));
}

#[test]
fn many_repositories_one_failure_does_not_stop_the_others() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let guns = [
        "example.com/bulk/a",
        "example.com/bulk/b",
        "example.com/bulk/c",
    ];
    let before: Vec<String> = guns
        .iter()
        .map(|g| {
            init(&stack, &trust, g)["keys"]["targets"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    // An unpublished repository with only a local targets key is not part of --all.
    ok(kt(&trust).args([
        "key",
        "generate",
        "--role",
        "targets",
        "--repo",
        "example.com/bulk/local-only",
    ]));

    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--all"]);
    let out = server_args(&stack, &mut cmd, &stack.url)
        .output()
        .expect("runs");
    exits(&out, 0);
    let rows = json(&out);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (row, old) in rows.iter().zip(&before) {
        assert_eq!(row["ok"], true);
        assert_eq!(row["result"]["old_key"], old.as_str());
    }
    for g in guns {
        assert_eq!(status(&stack, &trust, g).0, Some(0));
    }

    // A published repository whose targets key is no longer on this machine is not taken over
    // by --all (the README's promise: repositories with a local targets key); it is named as
    // skipped, and the server still expects the same key.
    let gone = format!("gun: {}\n", guns[2]);
    for entry in std::fs::read_dir(trust.join("private"))
        .expect("ls")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if text.contains(&gone) && text.contains("role: targets\n") {
            std::fs::remove_file(entry.path()).expect("remove the targets key");
        }
    }
    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--all"]);
    let out = server_args(&stack, &mut cmd, &stack.url)
        .output()
        .expect("runs");
    exits(&out, 0);
    let rows = json(&out);
    let rotated: Vec<&str> = rows
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["gun"].as_str())
        .collect();
    assert_eq!(rotated, &guns[..2], "{rows:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "Skipped {}: published, but no targets key",
            guns[2]
        )),
        "{err}"
    );

    // One repository that cannot be rotated (no keys at all) among good ones.
    let mut cmd = kt(&trust);
    cmd.args([
        "--json",
        "rotate",
        "--repo",
        guns[0],
        "--repo",
        "example.com/bulk/none",
        "--repo",
        guns[1],
    ]);
    let out = server_args(&stack, &mut cmd, &stack.url)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let rows = json(&out);
    let ok_flags: Vec<bool> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["ok"] == true)
        .collect();
    assert_eq!(ok_flags, [true, false, true]);
    assert_eq!(rows[1]["error"]["code"], 10, "not found: {}", rows[1]);
}

#[test]
fn a_publish_whose_answer_is_lost_is_completed_by_the_next_run() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/dropped/answer";
    let made = init(&stack, &trust, gun);
    let old = made["keys"]["targets"].as_str().expect("old").to_owned();
    let files = stack.metadata_files(gun);

    // The server takes the new metadata, but the connection drops before keytool hears so.
    let fake = Fake::accept_then_drop(&stack, gun, &files);
    let out = rotate(&stack, &trust, gun, &fake.url);
    exits(&out, 5);
    // Both keys are still in private/: whichever the server trusts can sign.
    assert!(trust.join(format!("private/{old}.key")).is_file());
    let (_, st) = status(&stack, &trust, gun);
    assert_eq!(st["can_sign_targets"], true, "{st}");
    assert_eq!(st["pending_rotation"], true);
    assert!(notary_can_publish(&stack, &trust, gun, "answer-lost"));

    // The next run sees the server already trusts the new key and only cleans up.
    let out = rotate(&stack, &trust, gun, &stack.url);
    exits(&out, 0);
    let done = json(&out);
    assert_eq!(done["resumed"], true);
    assert!(trust.join(format!("keytool-retired/{old}.key")).is_file());
    assert_eq!(status(&stack, &trust, gun).0, Some(0));
}

/// The targets key the server's root.json names for `gun` (read directly, not through keytool's
/// verification).
fn server_targets_key(stack: &Stack, gun: &str) -> String {
    let client = NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client");
    let g: Gun = gun.parse().expect("gun");
    let root = client.get(&g, "root.json").expect("get").expect("root");
    let root: keystore::tuf::schema::Root = keystore::tuf::Envelope::parse(&root)
        .and_then(|e| e.typed())
        .expect("parses");
    let ids = root.role_key_ids("targets");
    assert_eq!(ids.len(), 1, "{gun}: one targets key");
    ids[0].clone()
}

/// Runs a bulk rotation and returns its JSON rows.
fn rotate_bulk(stack: &Stack, trust: &Path, args: &[&str]) -> Output {
    let mut cmd = kt(trust);
    cmd.args(["--json", "rotate"]).args(args);
    server_args(stack, &mut cmd, &stack.url)
        .output()
        .expect("runs")
}

/// Every repository of `guns`: the server trusts `expected[i]` (when given) and the key in
/// `private/` that keytool's status expects, nothing is pending, and notary signs with it.
fn all_follow(stack: &Stack, trust: &Path, guns: &[String], expected: &[Option<String>]) {
    for (gun, want) in guns.iter().zip(expected) {
        let trusted = server_targets_key(stack, gun);
        if let Some(want) = want {
            assert_eq!(&trusted, want, "{gun}: the server trusts the new key");
        }
        assert!(
            trust.join(format!("private/{trusted}.key")).is_file(),
            "{gun}: the trusted key is in private/"
        );
        let (code, st) = status(stack, trust, gun);
        assert_eq!(code, Some(0), "{gun}: {st}");
        assert_eq!(st["pending_rotation"], false, "{gun}: {st}");
        assert_eq!(st["expected_targets_keys"][0]["key_id"], trusted.as_str());
        assert!(
            notary_can_publish(stack, trust, gun, "after-bulk"),
            "{gun}: notary signs with the new key"
        );
    }
}

#[test]
fn bulk_rotation_with_jobs_rotates_every_repository() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    // Sorted, as --all lists them.
    let guns: Vec<String> = (0..12)
        .map(|i| format!("example.com/jobs/r{i:02}"))
        .collect();
    let before: Vec<String> = guns
        .iter()
        .map(|g| {
            init(&stack, &trust, g)["keys"]["targets"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();

    let out = rotate_bulk(&stack, &trust, &["--all", "--jobs", "4"]);
    exits(&out, 0);
    let rows = json(&out);
    let rows = rows.as_array().expect("array");
    let listed: Vec<&str> = rows.iter().filter_map(|r| r["gun"].as_str()).collect();
    assert_eq!(listed, guns, "rows in input order");
    let mut new = Vec::new();
    for (row, old) in rows.iter().zip(&before) {
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["result"]["old_key"], old.as_str(), "{row}");
        assert_eq!(row["result"]["root_version"], 2, "{row}");
        new.push(Some(
            row["result"]["new_key"].as_str().expect("new").to_owned(),
        ));
        let old_retired = trust.join(format!("keytool-retired/{old}.key"));
        assert!(old_retired.is_file(), "{row}");
    }
    all_follow(&stack, &trust, &guns, &new);
    assert_eq!(all_keys(&trust).len(), 1 + 2 * guns.len(), "no key lost");
    assert!(
        std::fs::read_dir(trust.join("keytool-journal"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "every journal closed"
    );

    // Two keytool processes, each rotating half the repositories with several jobs, at once.
    let spawn = |half: &[String]| {
        let mut cmd = kt(&trust);
        cmd.args(["--json", "rotate", "--jobs", "3"]);
        for g in half {
            cmd.args(["--repo", g]);
        }
        server_args(&stack, &mut cmd, &stack.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns")
    };
    let (a, b) = (spawn(&guns[..6]), spawn(&guns[6..]));
    let mut newer = Vec::new();
    for out in [
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    ] {
        exits(&out, 0);
        for row in json(&out).as_array().expect("array") {
            assert_eq!(row["ok"], true, "{row}");
            assert_eq!(row["result"]["root_version"], 3, "{row}");
            newer.push(Some(
                row["result"]["new_key"].as_str().expect("new").to_owned(),
            ));
        }
    }
    all_follow(&stack, &trust, &guns, &newer);
    assert_eq!(all_keys(&trust).len(), 1 + 3 * guns.len(), "no key lost");
}

#[test]
fn a_crash_in_a_parallel_bulk_rotation_leaves_every_repository_resumable() {
    let Some(stack) = Stack::start() else { return };
    for step in ["new-key-written", "published", "retired"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let trust = tmp.path().join("trust");
        let guns: Vec<String> = (0..8)
            .map(|i| format!("example.com/jobs-crash/{step}/r{i}"))
            .collect();
        let before: Vec<String> = guns
            .iter()
            .map(|g| {
                init(&stack, &trust, g)["keys"]["targets"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();

        // The first worker to reach the step aborts the whole process, the others wherever
        // they are.
        let mut cmd = kt(&trust);
        cmd.env("KEYTOOL_FAULT_POINT", step)
            .args(["rotate", "--all", "--jobs", "4"]);
        let out = server_args(&stack, &mut cmd, &stack.url)
            .output()
            .expect("runs");
        assert!(
            !out.status.success(),
            "{step}: the fault point stops keytool"
        );

        // Every repository can still sign with the key the server trusts; no old key is lost.
        let mut pending = Vec::new();
        for (gun, old) in guns.iter().zip(&before) {
            let trusted = server_targets_key(&stack, gun);
            assert!(
                trust.join(format!("private/{trusted}.key")).is_file(),
                "{step} {gun}: the trusted key {trusted} is in private/"
            );
            let (_, st) = status(&stack, &trust, gun);
            assert_eq!(st["can_sign_targets"], true, "{step} {gun}: {st}");
            if st["pending_rotation"] == true {
                pending.push(gun.clone());
            }
            assert!(
                all_keys(&trust).iter().any(|k| k.starts_with(old.as_str())),
                "{step} {gun}: old key lost"
            );
        }
        assert!(
            !pending.is_empty(),
            "{step}: the crash interrupted a rotation"
        );

        // --resume completes exactly the interrupted ones, several at once.
        let out = rotate_bulk(&stack, &trust, &["--all", "--resume", "--jobs", "4"]);
        let rows = if pending.len() == 1 {
            // One repository prints its result alone.
            vec![serde_json::json!({"gun": pending[0], "ok": true, "result": json(&out)})]
        } else {
            json(&out).as_array().expect("array").clone()
        };
        exits(&out, 0);
        let resumed: Vec<&str> = rows.iter().filter_map(|r| r["gun"].as_str()).collect();
        assert_eq!(resumed, pending, "{step}: the pending ones, in order");
        for row in &rows {
            assert_eq!(row["ok"], true, "{step}: {row}");
            assert_eq!(row["result"]["resumed"], true, "{step}: {row}");
        }
        all_follow(&stack, &trust, &guns, &vec![None; guns.len()]);
        for (gun, old) in guns.iter().zip(&before) {
            let trusted = server_targets_key(&stack, gun);
            let rotated = trusted != *old;
            let old_at = if rotated {
                format!("keytool-retired/{old}.key")
            } else {
                format!("private/{old}.key")
            };
            assert!(trust.join(&old_at).is_file(), "{step} {gun}: {old_at}");
        }
        // Each repository has its old key plus one new key at most: nothing doubled, nothing lost.
        let keys = all_keys(&trust).len();
        assert!(
            keys >= 1 + guns.len() + pending.len() && keys <= 1 + 2 * guns.len(),
            "{step}: {keys} keys"
        );
        // And a plain run rotates them all again.
        exits(&rotate_bulk(&stack, &trust, &["--all", "--jobs", "4"]), 0);
        for gun in &guns {
            assert_eq!(status(&stack, &trust, gun).0, Some(0), "{step} {gun}");
        }
    }
}

#[test]
fn jobs_must_be_at_least_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    for bad in ["0", "300", "many"] {
        let out = kt(tmp.path())
            .args([
                "rotate",
                "--offline",
                "--repo",
                "example.com/a",
                "--jobs",
                bad,
            ])
            .output()
            .expect("runs");
        exits(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--jobs"), "{err}");
    }
    assert!(!tmp.path().join("private").exists(), "nothing was done");
}
