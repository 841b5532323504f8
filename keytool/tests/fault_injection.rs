//! The built `keytool` binary under stress: SIGKILL in the middle of `key passwd` never loses or
//! corrupts a key, concurrent writers do not collide, user-facing errors have stable shapes and
//! exit codes, and passphrases never leak into output or files.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use keystore::Passphrase;
use keystore::key::PrivateKey;
use keystore::key::file::{self, KeyFile, Unlock};
use keystore::{Gun, Role};

const KEYTOOL: &str = env!("CARGO_BIN_EXE_keytool");

/// A keytool command with a clean environment: no passphrase variables, no CI, a private HOME.
fn keytool(home: &Path) -> Command {
    let mut cmd = Command::new(KEYTOOL);
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    cmd
}

fn secret_file(path: &Path, text: &str) -> PathBuf {
    fs::write(path, format!("{text}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `bytes` decrypt to the key `id` with `pass`.
fn decrypts(bytes: &[u8], pass: &str, id: &str, max_iterations: u32) -> bool {
    let Ok(file) = KeyFile::parse(bytes) else {
        return false;
    };
    matches!(
        file.unlock(Some(&Passphrase::new(pass.into())), max_iterations),
        Ok(Unlock::Key(k)) if k.id().as_str() == id
    )
}

/// The file names in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A small deterministic generator (xorshift64*), so the kill schedule is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [lo, hi).
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Never lose a key.

/// PBKDF2 iterations of the key under test: enough that `passwd` (one derivation to decrypt,
/// one to encrypt) runs long enough to be interrupted anywhere, few enough to keep the test fast.
const ITERATIONS: u32 = 100_000;
const KILLS: usize = 15;

#[test]
fn sigkill_during_passwd_never_loses_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let trust = home.join("trust");
    let private = trust.join("private");
    let pass = ["old-passphrase-1", "new-passphrase-2"];
    let files = [
        secret_file(&home.join("pass0"), pass[0]),
        secret_file(&home.join("pass1"), pass[1]),
    ];
    let iterations = ITERATIONS.to_string();
    let max = ITERATIONS;

    let out = keytool(home)
        .args(["--trust-dir", trust.to_str().unwrap(), "--non-interactive"])
        .args(["--kdf-iterations", &iterations, "--passphrase-file"])
        .arg(&files[0])
        .args(["key", "generate", "--role", "root"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    let key_name = format!("{id}.key");
    let key_path = private.join(&key_name);
    let mut verified = fs::read(&key_path).unwrap();
    assert!(decrypts(&verified, pass[0], &id, max));

    // `current` is the index of the passphrase the file is encrypted with.
    let mut current = 0usize;
    let passwd = |from: usize| {
        let mut cmd = keytool(home);
        cmd.args(["--trust-dir", trust.to_str().unwrap(), "--non-interactive"])
            .args(["--kdf-iterations", &iterations, "--passphrase-file"])
            .arg(&files[from])
            .args(["key", "passwd", &id, "--new-passphrase-file"])
            .arg(&files[1 - from])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };

    // One uninterrupted run sets the time scale of the kills (it is not asserted on).
    let started = Instant::now();
    let status = passwd(current).status().unwrap();
    let full = started.elapsed();
    assert!(status.success());
    verified = fs::read(&key_path).unwrap();
    assert!(decrypts(&verified, pass[1], &id, max));
    current = 1;

    let mut rng = Rng(0x5eed_0fca_11ab_1e00);
    let (mut killed, mut finished, mut changed) = (0, 0, 0);
    for round in 0..KILLS {
        // Half the kills anywhere in the run, half near its end, where the file is written.
        let fraction = if round % 2 == 0 {
            rng.between(0.0, 1.1)
        } else {
            rng.between(0.8, 1.05)
        };
        let delay = full.mul_f64(fraction);
        let mut child = passwd(current).spawn().unwrap();
        std::thread::sleep(delay);
        let status = match child.try_wait().unwrap() {
            Some(status) => status,
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap()
            }
        };
        match status.signal() {
            Some(9) => killed += 1,
            Some(s) => panic!("round {round}: died of signal {s}"),
            None => {
                assert!(status.success(), "round {round}: passwd failed: {status}");
                finished += 1;
            }
        }

        // The key file is there, private, and opens with the old or the new passphrase.
        let meta = fs::symlink_metadata(&key_path)
            .unwrap_or_else(|e| panic!("round {round}: the key file is gone: {e}"));
        assert!(meta.is_file(), "round {round}");
        assert_eq!(mode(&key_path), 0o600, "round {round}");
        let now = fs::read(&key_path).unwrap();
        if now != verified {
            // Rewritten: it must be complete and encrypted under the other passphrase.
            assert!(
                decrypts(&now, pass[1 - current], &id, max),
                "round {round}: the rewritten key file does not open with the new passphrase \
                 (old one works: {})",
                decrypts(&now, pass[current], &id, max)
            );
            current = 1 - current;
            verified = now;
            changed += 1;
        } else {
            assert!(
                status.signal().is_some(),
                "round {round}: passwd succeeded but changed nothing"
            );
        }
        // Byte-identical to a file already decrypted with `pass[current]`.

        // Nothing notary would list as a key besides the key itself; leftovers are private.
        for name in names(&private) {
            if name == key_name {
                continue;
            }
            assert!(
                name.starts_with(".keytool-tmp-") && !name.ends_with(".key"),
                "round {round}: unexpected file {name} in private/"
            );
            assert_eq!(mode(&private.join(&name)), 0o600, "round {round}: {name}");
        }
    }
    // The final state decrypts for real (not only by comparison).
    assert!(decrypts(&verified, pass[current], &id, max));
    println!(
        "passwd under SIGKILL: {KILLS} rounds, {killed} killed, {finished} finished, {changed} \
         rewrote the key; full run took {full:?}"
    );
    assert!(killed > 0, "no run was interrupted");
}

#[test]
fn concurrent_generates_into_an_empty_trust_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let children: Vec<_> = (0..4)
        .map(|_| {
            keytool(tmp.path())
                .env("KEYTOOL_ROOT_PASSPHRASE", "concurrent-pass")
                .args(["--trust-dir", trust.to_str().unwrap(), "--non-interactive"])
                .args(["--notary-compat", "key", "generate", "--role", "root"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let private = trust.join("private");
    let files = names(&private);
    let expected: Vec<String> = ids.iter().map(|id| format!("{id}.key")).collect();
    assert_eq!(files, expected);
    assert_eq!(mode(&trust), 0o700);
    assert_eq!(mode(&private), 0o700);
    for id in &ids {
        let path = private.join(format!("{id}.key"));
        assert_eq!(mode(&path), 0o600);
        assert!(decrypts(
            &fs::read(&path).unwrap(),
            "concurrent-pass",
            id,
            2048
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// User-facing errors.

fn run(home: &Path, trust: &Path, args: &[&str]) -> Output {
    keytool(home)
        .arg("--trust-dir")
        .arg(trust)
        .arg("--non-interactive")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn missing_passphrase_is_exit_3_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let out = run(tmp.path(), &trust, &["key", "generate", "--role", "root"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("Error: "), "{err}");
    assert!(lines[0].contains("root"), "{err}");
    let hint = lines
        .iter()
        .find(|l| l.starts_with("Hint: "))
        .expect("a Hint: line");
    assert!(hint.contains("KEYTOOL_ROOT_PASSPHRASE"), "{hint}");
    assert!(hint.contains("--passphrase-file"), "{hint}");
    // Nothing was written.
    let private = trust.join("private");
    assert!(!private.exists() || names(&private).is_empty());
}

#[test]
fn unknown_key_is_exit_4() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let absent = "e".repeat(64);
    for args in [
        vec!["key", "passwd", absent.as_str()],
        vec!["key", "remove", "--yes", absent.as_str()],
        vec!["key", "remove", "--yes", "abcd"],
        vec!["key", "export", "--key", "abcd"],
    ] {
        let out = run(tmp.path(), &trust, &args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(err.starts_with("Error: "), "{args:?}: {err}");
        assert!(err.contains("was not found"), "{args:?}: {err}");
        assert!(err.contains("\nHint: "), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn targets_without_repo_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let out = keytool(tmp.path())
        .env("KEYTOOL_TARGETS_PASSPHRASE", "whatever-pass")
        .arg("--trust-dir")
        .arg(&trust)
        .args(["--non-interactive", "key", "generate", "--role", "targets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("Hint: Pass --repo GUN"), "{err}");
    assert!(!trust.join("private").exists() || names(&trust.join("private")).is_empty());
}

#[test]
fn json_errors_have_a_stable_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let absent = "e".repeat(64);
    for (args, code, kind, exit) in [
        (
            vec!["--json", "key", "passwd", absent.as_str()],
            10,
            "NotFound",
            4,
        ),
        (
            vec!["--json", "key", "generate", "--role", "root"],
            31,
            "PassphraseRequired",
            3,
        ),
        (
            vec!["--json", "key", "generate", "--role", "targets"],
            1,
            "InvalidArgument",
            2,
        ),
        // A command line clap refuses is reported the same way under --json.
        (vec!["--json", "key", "frobnicate"], 1, "InvalidArgument", 2),
        (
            vec!["key", "generate", "--json", "--no-such-flag"],
            1,
            "InvalidArgument",
            2,
        ),
    ] {
        let out = run(tmp.path(), &trust, &args);
        assert_eq!(out.status.code(), Some(exit), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one JSON line: {err}");
        let v: serde_json::Value = serde_json::from_str(&err).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 1, "{v}");
        let e = v["error"].as_object().unwrap();
        let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "hint", "kind", "message"], "{v}");
        assert_eq!(e["code"].as_i64(), Some(code), "{v}");
        assert_eq!(e["kind"].as_str(), Some(kind), "{v}");
        let message = e["message"].as_str().unwrap();
        assert!(!message.is_empty() && message.ends_with('.'), "{v}");
        assert!(
            message.chars().next().unwrap().is_uppercase(),
            "a sentence: {v}"
        );
        assert!(e["hint"].is_string(), "{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets never leak.

const CANARY: &str = "canary-Secret-4711";
const CANARY2: &str = "canary-Secret-4712";

fn assert_no_canary(what: &str, bytes: &[u8]) {
    for c in [CANARY, CANARY2, "canary-Secret"] {
        assert!(
            !bytes.windows(c.len()).any(|w| w == c.as_bytes()),
            "{what} contains the passphrase:\n{}",
            text(bytes)
        );
    }
}

/// Runs one step plainly, with `--verbose`, with `--json` and with both, keeping the outputs.
/// Only the plain run's status is checked: repeating a step (a second import of the same
/// unencrypted key, say) may legitimately fail.
fn step_variants(
    outputs: &mut Vec<(String, Output)>,
    home: &Path,
    trust: &str,
    name: &str,
    env: &[(&str, &str)],
    args: &[&str],
    ok: bool,
) {
    for extra in [
        &[][..],
        &["--verbose"][..],
        &["--json"][..],
        &["--json", "--verbose"][..],
    ] {
        let mut cmd = keytool(home);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["--trust-dir", trust, "--non-interactive", "--notary-compat"])
            .args(extra)
            .args(args)
            .output()
            .unwrap();
        if extra.is_empty() {
            assert_eq!(
                out.status.success(),
                ok,
                "{name}: {}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        outputs.push((format!("{name} {extra:?}"), out));
    }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn passphrases_never_appear_in_output_or_files() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let trust = home.join("trust");
    let t = trust.to_str().unwrap();
    let canary_file = secret_file(&home.join("canary"), CANARY);
    let canary2_file = secret_file(&home.join("canary2"), CANARY2);
    let wrong_file = secret_file(&home.join("wrong"), &format!("{CANARY}-wrong"));
    let cf = canary_file.to_str().unwrap();
    let cf2 = canary2_file.to_str().unwrap();
    let wf = wrong_file.to_str().unwrap();

    // Keys to import: one unencrypted, one encrypted with the canary (no path: header).
    let gun: Gun = "example.com/org/repo".parse().unwrap();
    let plain = file::encode(
        &PrivateKey::generate_ecdsa().unwrap(),
        &Role::Targets,
        Some(&gun),
        &Passphrase::new(String::new()),
        1,
    )
    .unwrap();
    let plain_path = home.join("plain.pem");
    fs::write(&plain_path, plain).unwrap();
    let enc = file::encode(
        &PrivateKey::generate_ecdsa().unwrap(),
        &"alice".parse().unwrap(),
        None,
        &Passphrase::new(CANARY.into()),
        2048,
    )
    .unwrap();
    let enc_path = home.join("enc.pem");
    fs::write(&enc_path, enc).unwrap();
    let export_path = home.join("export.pem");

    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut step = |name: &str, env: &[(&str, &str)], args: &[&str], ok: bool| {
        step_variants(&mut outputs, home, t, name, env, args, ok);
    };

    let root_env = [("KEYTOOL_ROOT_PASSPHRASE", CANARY)];
    let repo_env = [("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", CANARY)];
    step(
        "generate root (env)",
        &root_env,
        &["key", "generate", "--role", "root"],
        true,
    );
    step(
        "generate targets (file)",
        &[],
        &[
            "--passphrase-file",
            cf,
            "key",
            "generate",
            "--role",
            "targets",
            "--repo",
            "example.com/org/repo",
        ],
        true,
    );
    step(
        "import unencrypted",
        &repo_env,
        &["key", "import", plain_path.to_str().unwrap()],
        true,
    );
    step(
        "import encrypted",
        &[("KEYTOOL_DELEGATION_PASSPHRASE", CANARY)],
        &["key", "import", enc_path.to_str().unwrap()],
        true,
    );
    step("list", &[], &["key", "list"], true);
    step("export stdout", &[], &["key", "export"], true);
    step(
        "export file",
        &[],
        &[
            "key",
            "export",
            "--force",
            "-o",
            export_path.to_str().unwrap(),
        ],
        true,
    );
    step(
        "init",
        &root_env,
        &[
            "--passphrase-file",
            cf,
            "init",
            "--repo",
            "example.com/org/repo",
        ],
        true,
    );

    // passwd every root key: canary -> canary2, then a wrong old passphrase (fails).
    let listed = keytool(home)
        .args(["--trust-dir", t, "--json", "key", "list", "--role", "root"])
        .output()
        .unwrap();
    let roots: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let root_ids: Vec<String> = roots
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!root_ids.is_empty());
    let mut passwd_outputs = Vec::new();
    for id in &root_ids {
        let mut cmd = keytool(home);
        let out = cmd
            .args([
                "--trust-dir",
                t,
                "--non-interactive",
                "--notary-compat",
                "--verbose",
            ])
            .args([
                "--passphrase-file",
                cf,
                "key",
                "passwd",
                id,
                "--new-passphrase-file",
                cf2,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        passwd_outputs.push((format!("passwd {id}"), out));
        assert!(decrypts(
            &fs::read(trust.join("private").join(format!("{id}.key"))).unwrap(),
            CANARY2,
            id,
            10_000
        ));
    }
    let first_root = root_ids[0].clone();
    step(
        "passwd with a wrong old passphrase",
        &[],
        &[
            "--passphrase-file",
            wf,
            "key",
            "passwd",
            &first_root,
            "--new-passphrase-file",
            cf,
        ],
        false,
    );
    step(
        "passwd with a wrong env passphrase",
        &root_env,
        &["key", "passwd", &first_root, "--new-passphrase-file", cf],
        false,
    );

    outputs.extend(passwd_outputs);
    assert!(outputs.len() > 30);
    for (name, out) in &outputs {
        assert_no_canary(&format!("stdout of {name}"), &out.stdout);
        assert_no_canary(&format!("stderr of {name}"), &out.stderr);
    }
    let mut files = Vec::new();
    all_files(&trust, &mut files);
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        assert_no_canary(&f.display().to_string(), &fs::read(f).unwrap());
    }
    assert_no_canary("the export file", &fs::read(&export_path).unwrap());
}
