//! Issue 19, as a new user meets keytool: answers that must be true and defaults that must not
//! lose a key. `key passwd` changes something or says why not; `init` without a passphrase names
//! the key it wanted to create, with a hint that works; `key remove` never deletes a key and
//! refuses one that published trust data still names; `status` is ready only when a passphrase
//! source actually opens the targets key, and `passphrase explain` says whether each answer does.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use keystore::Passphrase;
use keystore::key::file::{KeyFile, Unlock};

const KEYTOOL: &str = env!("CARGO_BIN_EXE_keytool");
const GUN: &str = "example.com/acme/web";

/// A keytool command with a clean environment (no passphrase variables, no keyring, no CI, a
/// private HOME), never interactive.
fn keytool(home: &Path, trust: &Path) -> Command {
    let mut cmd = Command::new(KEYTOOL);
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KEYTOOL_KEYRING", "none")
        .arg("--trust-dir")
        .arg(trust)
        .env("KEYTOOL_KDF_ITERATIONS", "2048")
        .arg("--non-interactive")
        .stdin(Stdio::null());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn both(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn secret_file(path: &Path, text: &str) -> PathBuf {
    fs::write(path, format!("{text}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

fn opens(path: &Path, pass: &str) -> bool {
    let file = KeyFile::parse(&fs::read(path).unwrap()).unwrap();
    matches!(
        file.unlock(Some(&Passphrase::new(pass.into())), 10_000_000),
        Ok(Unlock::Key(_))
    )
}

/// Generates a key and returns its ID.
fn generate(
    home: &Path,
    trust: &Path,
    role: &str,
    repo: Option<&str>,
    env: (&str, &str),
) -> String {
    let mut cmd = keytool(home, trust);
    cmd.env(env.0, env.1)
        .args(["key", "generate", "--role", role]);
    if let Some(r) = repo {
        cmd.args(["--repo", r]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", both(&out));
    text(&out.stdout).trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Item 5: key passwd with the old passphrase as the new one.

#[test]
fn passwd_with_only_the_old_passphrase_in_the_environment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, trust) = (tmp.path(), tmp.path().join("trust"));
    let var = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE";
    let id = generate(home, &trust, "targets", Some(GUN), (var, "old-pass-1"));
    let path = trust.join("private").join(format!("{id}.key"));
    let before = fs::read(&path).unwrap();

    // The new passphrase would come from the very variable that holds the old one.
    let out = keytool(home, &trust)
        .env(var, "old-pass-1")
        .args(["key", "passwd", &id])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("Successfully"), "{err}");
    assert!(err.contains("same as the current one"), "{err}");
    assert!(err.contains(var), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        err.contains("Hint: ") && err.contains("--new-passphrase-file"),
        "{err}"
    );
    assert!(!err.contains("old-pass-1"), "{err}");
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the key file must not change"
    );

    // --json: the same error, code 33 (WeakPassphrase).
    let out = keytool(home, &trust)
        .env(var, "old-pass-1")
        .args(["--json", "key", "passwd", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(v["error"]["code"], 33, "{v}");

    // A distinct, deliberate source: a different new passphrase is applied...
    let new_file = secret_file(&home.join("new"), "new-pass-2");
    let out = keytool(home, &trust)
        .env(var, "old-pass-1")
        .args(["key", "passwd", &id, "--new-passphrase-file"])
        .arg(&new_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    assert!(text(&out.stderr).contains("Successfully updated passphrase"));
    assert!(opens(&path, "new-pass-2") && !opens(&path, "old-pass-1"));

    // ...and the same passphrase from --new-passphrase-file is a deliberate re-encryption
    // (e.g. under another iteration count).
    let same_file = secret_file(&home.join("same"), "new-pass-2");
    let before = fs::read(&path).unwrap();
    let out = keytool(home, &trust)
        .env(var, "new-pass-2")
        .args([
            "--kdf-iterations",
            "3000",
            "key",
            "passwd",
            &id,
            "--new-passphrase-file",
        ])
        .arg(&same_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    assert_ne!(fs::read(&path).unwrap(), before);
    assert!(opens(&path, "new-pass-2"));

    // The same file for the old and the new passphrase is the same source: refused.
    let out = keytool(home, &trust)
        .arg("--passphrase-file")
        .arg(&same_file)
        .args(["key", "passwd", &id, "--new-passphrase-file"])
        .arg(&same_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", both(&out));
    assert!(text(&out.stderr).contains("same as the current one"));
}

// ---------------------------------------------------------------------------------------------
// Item 6: init without any passphrase source.

#[test]
fn init_without_a_passphrase_names_the_new_key_and_the_hint_works() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, trust) = (tmp.path(), tmp.path().join("trust"));
    let init = |env: &[(&str, &str)]| {
        let mut cmd = keytool(home, &trust);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["init", "--repo", GUN]).output().unwrap()
    };
    let first = init(&[]);
    let second = init(&[]);
    for out in [&first, &second] {
        assert_eq!(out.status.code(), Some(3), "{}", both(out));
        let err = text(&out.stderr);
        assert!(err.contains("A passphrase for the new root key"), "{err}");
        assert!(err.contains("no key was created"), "{err}");
        let hint = err
            .lines()
            .find(|l| l.starts_with("Hint: "))
            .expect("a hint");
        for needed in [
            "KEYTOOL_ROOT_PASSPHRASE",
            "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE",
            "--generate-passphrase",
            "--passphrase-file",
            "terminal",
        ] {
            assert!(hint.contains(needed), "{needed}: {hint}");
        }
        // No key ID of a key that was never saved, and no hint that cannot work.
        assert!(!hint.contains("explain"), "{hint}");
        assert!(
            !err.split(|c: char| !c.is_ascii_hexdigit())
                .any(|w| w.len() == 64),
            "an unsaved key ID: {err}"
        );
    }
    // The same words every run.
    assert_eq!(text(&first.stderr), text(&second.stderr));

    // Root there, targets not: the message names the targets key of the repository.
    let out = init(&[("KEYTOOL_ROOT_PASSPHRASE", "root-pass-1")]);
    assert_eq!(out.status.code(), Some(3), "{}", both(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("A passphrase for the new targets key of {GUN}")),
        "{err}"
    );
    assert!(
        err.contains("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"),
        "{err}"
    );

    // Following the hint works.
    let out = init(&[
        ("KEYTOOL_ROOT_PASSPHRASE", "root-pass-1"),
        ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo-pass-1"),
    ]);
    assert!(out.status.success(), "{}", both(&out));
}

// ---------------------------------------------------------------------------------------------
// Item 4 (offline half): passphrase explain says whether an answer opens the key.

#[test]
fn explain_says_whether_each_answer_opens_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, trust) = (tmp.path(), tmp.path().join("trust"));
    let var = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE";
    let id = generate(home, &trust, "targets", Some(GUN), (var, "right-pass-1"));
    let explain = |value: &str, json: bool| {
        let mut cmd = keytool(home, &trust);
        cmd.env(var, value);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.args(["passphrase", "explain", &id]).output().unwrap();
        assert!(out.status.success(), "{}", both(&out));
        assert!(!both(&out).contains(value), "a secret in: {}", both(&out));
        text(&out.stdout)
    };
    let wrong = explain("stale-pass-0", false);
    assert!(
        wrong.contains(&format!("{var} is set) -- WRONG: does not open the key")),
        "{wrong}"
    );
    assert!(wrong.contains("does NOT open the key"), "{wrong}");
    assert!(!wrong.contains("and it opens the key"), "{wrong}");
    let right = explain("right-pass-1", false);
    assert!(right.contains("-- opens the key"), "{right}");
    assert!(right.contains("and it opens the key"), "{right}");
    let v: serde_json::Value = serde_json::from_str(&explain("stale-pass-0", true)).unwrap();
    let used = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["used"] == true)
        .expect("a used source");
    assert_eq!(used["opens"]["result"], "no", "{v}");
}

// ---------------------------------------------------------------------------------------------
// Item 2 (offline half): key remove retires, never deletes.

#[test]
fn key_remove_retires_and_says_how_to_undo() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, trust) = (tmp.path(), tmp.path().join("trust"));
    let id = generate(
        home,
        &trust,
        "root",
        None,
        ("KEYTOOL_ROOT_PASSPHRASE", "root-pass-1"),
    );
    let path = trust.join("private").join(format!("{id}.key"));
    let before = fs::read(&path).unwrap();
    // Without --yes and without a terminal: refused, nothing changed.
    let out = keytool(home, &trust)
        .args(["key", "remove", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(path.is_file());
    let out = keytool(home, &trust)
        .args(["key", "remove", &id[..8], "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let err = text(&out.stderr);
    let retired = trust.join("keytool-retired").join(format!("{id}.key"));
    assert!(err.contains("Retired root key"), "{err}");
    assert!(err.contains(&retired.display().to_string()), "{err}");
    assert!(err.contains("to undo"), "{err}");
    assert!(!path.exists());
    assert_eq!(fs::read(&retired).unwrap(), before, "kept byte for byte");
    let out = keytool(home, &trust)
        .args(["--json", "key", "list", "--retired"])
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains(&id));
}
