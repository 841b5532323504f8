//! Issue 19 against the real notary-server: `status` is ready only when a passphrase source
//! actually opens the targets key the server expects (none set, a wrong value, a stale one after
//! `key passwd` are "not ready", exit 1), and `key remove` of a key the published repository
//! still names is refused without `--force`, and even then retires the key instead of deleting it.

use std::path::Path;
use std::process::Output;

use interop_tests::{Stack, exits, keytool, ok};

const GUN: &str = "example.com/promises/web";
const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";
const REPO_VAR: &str = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE";

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `keytool status` with `env` as the only passphrase variables (no keyring).
fn status(stack: &Stack, trust: &Path, env: &[(&str, &str)], json_out: bool) -> Output {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_KEYRING", "none");
    for (k, v) in env {
        cmd.env(k, v);
    }
    if json_out {
        cmd.arg("--json");
    }
    cmd.args([
        "status",
        "--repo",
        GUN,
        "--server",
        &stack.url,
        "--tlscacert",
    ])
    .arg(&stack.ca)
    .output()
    .expect("keytool runs")
}

fn problems(st: &serde_json::Value) -> String {
    st["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn init(stack: &Stack, trust: &Path) -> serde_json::Value {
    json(&ok(keytool(trust)
        .env("KEYTOOL_KEYRING", "none")
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env(REPO_VAR, REPO_PW)
        .args(["--json", "--notary-compat", "init", "--repo", GUN])
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)))
}

#[test]
fn status_is_ready_only_when_a_source_opens_the_targets_key() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let made = init(&stack, &trust);
    let targets = made["keys"]["targets"]
        .as_str()
        .expect("targets")
        .to_owned();

    // No source at all: the key is here, but nothing opens it.
    let out = status(&stack, &trust, &[], true);
    exits(&out, 1);
    let st = json(&out);
    assert_eq!(st["can_sign_targets"], true, "{st}");
    assert_eq!(st["ready"], false, "{st}");
    assert_eq!(st["passphrase_checked"], true, "{st}");
    assert!(st["targets_passphrase"].is_null(), "{st}");
    assert!(
        problems(&st).contains(&format!(
            "no passphrase source opens the targets key {targets}"
        )),
        "{st}"
    );
    let out = status(&stack, &trust, &[], false);
    exits(&out, 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Ready: NO"), "{text}");
    assert!(!text.contains("Ready: yes"), "{text}");

    // A wrong value: not ready, and the variable is named (its value never is).
    let out = status(&stack, &trust, &[(REPO_VAR, "not-the-passphrase")], true);
    exits(&out, 1);
    let st = json(&out);
    assert_eq!(st["ready"], false, "{st}");
    assert!(
        problems(&st).contains(&format!("the passphrase from {REPO_VAR} does not open")),
        "{st}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not-the-passphrase"));

    // The right one: ready, and the source that opens it is named.
    let out = status(&stack, &trust, &[(REPO_VAR, REPO_PW)], true);
    exits(&out, 0);
    let st = json(&out);
    assert_eq!(st["ready"], true, "{st}");
    assert_eq!(st["targets_passphrase"], REPO_VAR, "{st}");
    let out = status(&stack, &trust, &[(REPO_VAR, REPO_PW)], false);
    exits(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Ready: yes"));

    // A stale value after key passwd: not ready until the new one is given.
    let new_file = tmp.path().join("new");
    std::fs::write(&new_file, "repo-pass-changed\n").expect("write");
    std::fs::set_permissions(
        &new_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    ok(keytool(&trust)
        .env("KEYTOOL_KEYRING", "none")
        .env(REPO_VAR, REPO_PW)
        .args(["--notary-compat", "key", "passwd", &targets])
        .arg("--new-passphrase-file")
        .arg(&new_file));
    exits(&status(&stack, &trust, &[(REPO_VAR, REPO_PW)], true), 1);
    exits(
        &status(&stack, &trust, &[(REPO_VAR, "repo-pass-changed")], true),
        0,
    );

    // passphrase explain says whether the answer opens the key.
    let explain = |value: &str| {
        let out = keytool(&trust)
            .env("KEYTOOL_KEYRING", "none")
            .env(REPO_VAR, value)
            .args(["passphrase", "explain", &targets])
            .output()
            .expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let wrong = explain(REPO_PW);
    assert!(wrong.contains("does NOT open the key"), "{wrong}");
    let right = explain("repo-pass-changed");
    assert!(right.contains("and it opens the key"), "{right}");
    assert!(!right.contains("repo-pass-changed"), "{right}");
}

#[test]
fn key_remove_of_a_published_key_refuses_and_force_retires() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let made = init(&stack, &trust);
    let remove = |id: &str, extra: &[&str]| {
        keytool(&trust)
            .env("KEYTOOL_KEYRING", "none")
            .args(["key", "remove", id, "--yes"])
            .args(extra)
            .output()
            .expect("runs")
    };
    for role in ["targets", "root"] {
        let id = made["keys"][role].as_str().expect("id");
        let path = trust.join(format!("private/{id}.key"));
        let before = std::fs::read(&path).expect("key");
        let out = remove(id, &[]);
        exits(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("still in use"), "{err}");
        assert!(err.contains(&format!("the {role} key of {GUN}")), "{err}");
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read(&path).expect("still there"), before);
    }
    assert!(!trust.join("keytool-retired").exists());

    // --force retires the targets key: out of private/, byte for byte in keytool-retired/.
    let targets = made["keys"]["targets"].as_str().expect("id");
    let path = trust.join(format!("private/{targets}.key"));
    let before = std::fs::read(&path).expect("key");
    let out = ok(keytool(&trust)
        .env("KEYTOOL_KEYRING", "none")
        .args(["--json", "key", "remove", targets, "--yes", "--force"]));
    let done = json(&out);
    assert_eq!(
        done["still_named_by"][0],
        format!("the targets key of {GUN}")
    );
    assert!(!path.exists());
    let retired = trust.join(format!("keytool-retired/{targets}.key"));
    assert_eq!(done["retired_to"], retired.to_string_lossy().as_ref());
    assert_eq!(std::fs::read(&retired).expect("retired"), before);
    let st = json(&status(&stack, &trust, &[(REPO_VAR, REPO_PW)], true));
    assert_eq!(st["can_sign_targets"], false, "{st}");

    // Moving it back is the undo.
    std::fs::rename(&retired, &path).expect("restore");
    exits(&status(&stack, &trust, &[(REPO_VAR, REPO_PW)], true), 0);
}
