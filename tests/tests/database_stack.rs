//! keytool against the production-shaped trust service: notary-server with a notary-signer as
//! its trust service, both storing their data in a private MariaDB (the schema and the two
//! least-privilege accounts of keytool's sandbox), all on loopback. Publishing and rotating work
//! as with the memory store, and everything survives a restart of all three servers: keytool and
//! notary still agree on the repository afterwards, and new publishes are signed by the
//! server-side keys the signer decrypts from the database.

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Stack, exits, keytool, ok, stdout};

const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";
const GUN: &str = "sandboxregistry:5000/test/database";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_SNAPSHOT_PASSPHRASE", REPO_PW)
        .arg("--notary-compat");
    cmd
}

fn on_server<'a>(stack: &Stack, cmd: &'a mut Command) -> &'a mut Command {
    cmd.args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(out)))
}

fn status(stack: &Stack, trust: &Path) -> serde_json::Value {
    let mut cmd = kt(trust);
    cmd.args(["--json", "status", "--repo", GUN]);
    let out = on_server(stack, &mut cmd).output().expect("runs");
    exits(&out, 0);
    json(&out)
}

fn notary(stack: &Stack, trust: &Path) -> Command {
    let mut cmd = stack.notary(trust);
    cmd.env("NOTARY_TARGETS_PASSPHRASE", REPO_PW)
        .env("NOTARY_SNAPSHOT_PASSPHRASE", REPO_PW)
        .env("NOTARY_ROOT_PASSPHRASE", ROOT_PW);
    cmd
}

/// notary signs and publishes a new target with the keys of `trust`.
fn notary_publish(stack: &Stack, trust: &Path, name: &str) {
    let file = trust.join("payload.txt");
    std::fs::write(&file, name.as_bytes()).expect("write");
    ok(notary(stack, trust).args(["add", GUN, name]).arg(&file));
    ok(notary(stack, trust).args(["publish", GUN]));
}

/// The target names `notary list` shows, sorted.
fn notary_targets(stack: &Stack, trust: &Path) -> Vec<String> {
    let out = ok(notary(stack, trust).args(["list", GUN]));
    let mut names: Vec<String> = stdout(&out)
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Whether process `pid` runs with a path inside `dir` on its command line.
fn runs_in(dir: &Path, pid: u32) -> bool {
    let needle = dir.as_os_str().as_encoded_bytes();
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
}

/// The parts of `keytool status` a restart must not change.
fn durable_part(st: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "published": st["published"],
        "expected_root_keys": st["expected_root_keys"],
        "expected_targets_keys": st["expected_targets_keys"],
        "snapshot_server_managed": st["snapshot_server_managed"],
        "root_expires": st["root_expires"],
        "targets_expires": st["targets_expires"],
        "can_sign_targets": st["can_sign_targets"],
        "ready": st["ready"],
    })
}

#[test]
fn publish_and_rotations_survive_a_restart_of_the_whole_service() {
    let Some(mut stack) = Stack::start_with_database() else {
        return;
    };
    let db = stack.database.clone().expect("a database stack");

    // Each account may do only what its service does, on its own database.
    let grants = |account: &str| {
        let mut g: Vec<String> = db
            .query(&format!("SHOW GRANTS FOR '{account}'@'%'"))
            .lines()
            .filter(|l| !l.starts_with("GRANT USAGE ON *.*"))
            .map(str::to_owned)
            .collect();
        g.sort();
        g
    };
    assert_eq!(
        grants("server"),
        [
            "GRANT SELECT, INSERT ON `notaryserver`.`changefeed` TO `server`@`%`",
            "GRANT SELECT, INSERT, DELETE ON `notaryserver`.`tuf_files` TO `server`@`%`",
        ]
    );
    assert_eq!(
        grants("signer"),
        ["GRANT SELECT, INSERT, UPDATE ON `notarysigner`.`private_keys` TO `signer`@`%`"]
    );

    // keytool publishes (with a local snapshot key, as notary init does) and rotates.
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let mut cmd = kt(&trust);
    cmd.args(["--json", "init", "--local-snapshot", "--repo", GUN]);
    let made = json(&ok(on_server(&stack, &mut cmd)));
    assert_eq!(made["already_published"], false);
    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--repo", GUN]);
    let rotated = json(&ok(on_server(&stack, &mut cmd)));
    let targets_key = rotated["new_key"].as_str().expect("new key").to_owned();
    assert_ne!(made["keys"]["targets"], targets_key.as_str());
    let mut cmd = kt(&trust);
    cmd.args([
        "--json",
        "rotate",
        "--role",
        "snapshot",
        "--server-managed",
        "--repo",
        GUN,
    ]);
    assert_eq!(
        json(&ok(on_server(&stack, &mut cmd)))["server_managed"],
        true
    );
    notary_publish(&stack, &trust, "before-restart");

    let before = status(&stack, &trust);
    assert_eq!(before["ready"], true, "{before}");
    assert_eq!(before["snapshot_server_managed"], true, "{before}");
    assert_eq!(
        before["expected_targets_keys"][0]["key_id"],
        targets_key.as_str()
    );
    assert_eq!(notary_targets(&stack, &trust), ["before-restart"]);

    // The data is in the database: every metadata version, and the server-side timestamp and
    // snapshot keys, held by the signer encrypted under its passphrase alias.
    let versions = db.query(&format!(
        "SELECT role, MAX(version) FROM notaryserver.tuf_files WHERE gun = '{GUN}' \
         GROUP BY role ORDER BY role"
    ));
    assert!(versions.contains("root\t"), "{versions}");
    assert!(versions.contains("timestamp\t"), "{versions}");
    let keys = db.query(&format!(
        "SELECT role, algorithm, passphrase_alias, LEFT(private, 3) FROM \
         notarysigner.private_keys WHERE gun = '{GUN}' AND deleted_at IS NULL \
         AND last_used IS NOT NULL ORDER BY role"
    ));
    assert_eq!(
        keys.lines().collect::<Vec<_>>(),
        [
            // A JWE (base64url of `{"alg":"PBES2-...`), never a PEM.
            "snapshot\tecdsa\tkeytoolsandbox\teyJ",
            "timestamp\tecdsa\tkeytoolsandbox\teyJ",
        ],
        "{keys}"
    );

    // Restart notary-server, notary-signer and mariadbd: new processes on the same ports.
    let old_pids = stack.pids();
    let names = |p: &[(String, u32)]| {
        let mut n: Vec<String> = p.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&old_pids),
        ["mariadbd", "notary-server", "notary-signer"]
    );
    stack.restart();
    let new_pids = stack.pids();
    assert_eq!(names(&new_pids), names(&old_pids));
    for (name, pid) in &old_pids {
        assert!(
            !new_pids.contains(&(name.clone(), *pid)),
            "{name} kept its pid"
        );
        assert!(
            !runs_in(stack.dir.path(), *pid),
            "{name} (pid {pid}) still runs after the restart"
        );
    }

    // keytool and notary (this trust dir and a fresh client) still agree.
    let after = status(&stack, &trust);
    assert_eq!(durable_part(&after), durable_part(&before));
    assert_eq!(notary_targets(&stack, &trust), ["before-restart"]);
    let fresh = tmp.path().join("fresh");
    assert_eq!(notary_targets(&stack, &fresh), ["before-restart"]);

    // New publishes work: the signer decrypts its keys from the database to sign snapshot and
    // timestamp, with notary's and with keytool's next rotation.
    notary_publish(&stack, &trust, "after-restart");
    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--repo", GUN]);
    let rotated = json(&ok(on_server(&stack, &mut cmd)));
    let newest = rotated["new_key"].as_str().expect("new key").to_owned();
    let last = status(&stack, &trust);
    assert_eq!(last["ready"], true, "{last}");
    assert_eq!(last["expected_targets_keys"][0]["key_id"], newest.as_str());
    assert_eq!(
        notary_targets(&stack, &fresh),
        ["after-restart", "before-restart"]
    );
    notary_publish(&stack, &trust, "after-rotation");
    assert_eq!(
        notary_targets(&stack, &tmp.path().join("fresher")),
        ["after-restart", "after-rotation", "before-restart"]
    );
}

/// The database dies while a rotation is in flight: keytool crashed after writing the new key
/// (before its publish), then mariadbd is killed (SIGKILL, no shutdown). Completing the rotation
/// fails with a server error and changes nothing (the old key stays where docker and notary find
/// it, the new one stays durable, the journal stays); once the database is back (InnoDB recovers
/// from the kill) the same command completes it, and keytool, notary and a fresh client agree.
#[test]
fn a_database_killed_mid_rotation_leaves_keytool_consistent_and_the_rotation_resumes() {
    let Some(mut stack) = Stack::start_with_database() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let mut cmd = kt(&trust);
    cmd.args(["--json", "init", "--local-snapshot", "--repo", GUN]);
    let made = json(&ok(on_server(&stack, &mut cmd)));
    let old_key = made["keys"]["targets"]
        .as_str()
        .expect("targets key")
        .to_owned();
    notary_publish(&stack, &trust, "before-kill");

    // keytool dies right after the new key is durable, before anything is sent.
    let mut cmd = kt(&trust);
    cmd.env("KEYTOOL_FAULT_POINT", "new-key-written")
        .args(["rotate", "--repo", GUN]);
    let crashed = on_server(&stack, &mut cmd).output().expect("runs");
    assert!(!crashed.status.success(), "the fault point must abort");
    let journal = trust.join("keytool-journal");
    let journaled = || std::fs::read_dir(&journal).map_or(0, |d| d.count());
    assert_eq!(journaled(), 1, "the rotation is journaled");

    // The database is killed, as a crash or an OOM kill would.
    let (_, db_pid) = stack
        .pids()
        .into_iter()
        .find(|(name, _)| name == "mariadbd")
        .expect("mariadbd is recorded");
    ok(Command::new("kill").args(["-KILL", &db_pid.to_string()]));
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{db_pid}")).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = interop_tests::snapshot(&trust);
    let mut cmd = kt(&trust);
    cmd.args(["rotate", "--resume", "--repo", GUN]);
    let refused = on_server(&stack, &mut cmd).output().expect("runs");
    exits(&refused, 5);
    assert_eq!(
        interop_tests::snapshot(&trust),
        before,
        "no key file moves while the server cannot store anything"
    );
    assert_eq!(journaled(), 1, "the rotation stays pending");
    assert!(
        trust
            .join("private")
            .join(format!("{old_key}.key"))
            .is_file(),
        "the old key stays where docker and notary find it"
    );

    // The database is back (with the rest of the service): the same command completes it.
    stack.restart();
    let mut cmd = kt(&trust);
    cmd.args(["--json", "rotate", "--resume", "--repo", GUN]);
    let done = json(&ok(on_server(&stack, &mut cmd)));
    let new_key = done["new_key"].as_str().expect("new key").to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(journaled(), 0, "the journal is closed");
    let st = status(&stack, &trust);
    assert_eq!(st["ready"], true, "{st}");
    assert_eq!(st["expected_targets_keys"][0]["key_id"], new_key.as_str());
    assert_eq!(
        notary_targets(&stack, &tmp.path().join("fresh")),
        ["before-kill"]
    );
    notary_publish(&stack, &trust, "after-kill");
    assert_eq!(
        notary_targets(&stack, &tmp.path().join("fresher")),
        ["after-kill", "before-kill"]
    );
}
