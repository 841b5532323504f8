//! The terminal prompt, driven through a real pseudo-terminal by `expect`: notary's texts,
//! confirmation of new passphrases, the 8-character rule, retries, and no prompt at all under
//! `--non-interactive`.

use std::path::Path;
use std::process::Command;

fn have_expect() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v expect"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("KEYTOOL_REQUIRE_PEERS").as_deref() != Ok("1"),
            "expect is required; run tests/peers/install-deps.sh"
        );
        eprintln!("SKIPPED: expect is not installed");
    }
    found
}

/// Runs an expect script after spawning keytool with `args`; returns (exit code, output).
fn expect(trust: &Path, args: &str, script: &str) -> (i32, String) {
    let spawn = format!(
        "{} --trust-dir {} {args}",
        env!("CARGO_BIN_EXE_keytool"),
        trust.display()
    );
    expect_spawn(&spawn, script)
}

/// The end of every script: wait for the spawned process to exit; one that is still running
/// after the timeout is killed (by its PID) and the script fails, instead of hanging the test.
const FINISH: &str = r#"expect {
    eof {}
    timeout { puts "\nHUNG: killing [exp_pid]"; exec kill -9 [exp_pid]; exit 99 }
}
catch wait result
exit [lindex $result 3]
"#;

/// Runs an expect script after `spawn COMMAND`; returns (exit code, output).
fn expect_spawn(command: &str, script: &str) -> (i32, String) {
    let full = format!("set timeout 20\nlog_user 1\nspawn {command}\n{script}\n{FINISH}");
    let mut cmd = Command::new("expect");
    // These tests are about the prompt: no OS keyring answers in their place.
    cmd.arg("-c")
        .arg(full)
        .env_remove("CI")
        .env("KEYTOOL_KEYRING", "none");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().ends_with("_PASSPHRASE") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("expect runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// keytool (with `args`, on `trust`) under `sh`, which then prints `rc=<exit status>` and the
/// terminal's settings (`stty -a`), so a test can check both after keytool has gone.
fn keytool_then_stty(trust: &Path, args: &str) -> String {
    format!(
        "sh -c {{{} --trust-dir {} {args}; echo rc=$?; stty -a}}",
        env!("CARGO_BIN_EXE_keytool"),
        trust.display()
    )
}

/// `stty -a`'s words: the terminal modes keytool must have put back.
fn assert_terminal_restored(out: &str) {
    let words: Vec<&str> = out.split_whitespace().collect();
    for mode in ["echo", "icanon", "isig"] {
        assert!(
            words.contains(&mode) && !words.contains(&format!("-{mode}").as_str()),
            "terminal mode {mode} restored: {out}"
        );
    }
}

#[test]
fn ctrl_c_at_the_prompt_restores_the_terminal() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, out) = expect_spawn(
        &keytool_then_stty(tmp.path(), "key generate --role root"),
        r#"
expect -re "Enter passphrase for new root key with ID \[0-9a-f\]{7}: "
send "typed-so-far"
send "\003"
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rc=130"), "ended as interrupted: {out}");
    assert_terminal_restored(&out);
    assert!(!out.contains("typed-so-far"), "{out}");
    let keys = std::fs::read_dir(tmp.path().join("private")).map_or(0, |d| d.count());
    assert_eq!(keys, 0, "an interrupted generate leaves no key");
}

#[test]
fn new_key_confirmation_short_and_mismatch() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, out) = expect(
        tmp.path(),
        "--notary-compat key generate --role root",
        r#"
expect "You are about to create a new root signing key passphrase"
expect -re "Enter passphrase for new root key with ID \[0-9a-f\]{7}: "
send "short\r"
expect "Passphrase is too short"
expect "Enter passphrase for new root key"
send "long-enough-1\r"
expect "Repeat passphrase for new root key"
send "long-enough-2\r"
expect "Passphrases do not match. Please retry."
expect "Enter passphrase for new root key"
send "  long-enough-1  \r"
expect "Repeat passphrase for new root key"
send "long-enough-1\r"
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("long-enough"),
        "typed passphrases must not echo: {out}"
    );

    // The typed passphrase was trimmed, as notary does: the key opens with the trimmed value.
    let id = std::fs::read_dir(tmp.path().join("private"))
        .expect("ls")
        .flatten()
        .find_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".key")
                .map(str::to_owned)
        })
        .expect("a key file");
    // passwd to another passphrase succeeds only if the trimmed one opened the key.
    let next = tmp.path().join("next-passphrase");
    std::fs::write(&next, "another-passphrase-9\n").expect("write");
    std::fs::set_permissions(&next, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let status = Command::new(env!("CARGO_BIN_EXE_keytool"))
        .arg("--trust-dir")
        .arg(tmp.path())
        .args(["--non-interactive", "--notary-compat", "key", "passwd", &id])
        .arg("--new-passphrase-file")
        .arg(&next)
        .env("KEYTOOL_ROOT_PASSPHRASE", "long-enough-1")
        .output()
        .expect("runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn wrong_passphrase_is_retried_three_times() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let made = Command::new(env!("CARGO_BIN_EXE_keytool"))
        .arg("--trust-dir")
        .arg(tmp.path())
        .args([
            "--non-interactive",
            "--notary-compat",
            "key",
            "generate",
            "--role",
            "targets",
            "--repo",
            "example.com/a/b",
        ])
        .env("KEYTOOL_TARGETS_PASSPHRASE", "right-pass-1")
        .output()
        .expect("runs");
    assert!(made.status.success());
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();

    // Two wrong tries, then the right one: unlocked; then the new passphrase is asked for.
    let (code, out) = expect(
        tmp.path(),
        &format!("--notary-compat key passwd {id}"),
        &format!(
            r#"
expect "Enter passphrase for targets key with ID {short}: "
send "wrong-1\r"
expect "Passphrase incorrect. Please retry."
send "wrong-2\r"
expect "Passphrase incorrect. Please retry."
send "right-pass-1\r"
expect "Enter passphrase for new targets key with ID {short}: "
send "new-pass-123\r"
expect "Repeat passphrase for new targets key with ID {short}: "
send "new-pass-123\r"
expect "Successfully updated passphrase for key ID: {id}"
"#,
            short = &id[..7]
        ),
    );
    assert_eq!(code, 0, "{out}");

    let (code, out) = expect(
        tmp.path(),
        &format!("--notary-compat key passwd {id}"),
        &format!(
            r#"
expect "Enter passphrase for targets key with ID {short}: "
send "wrong-1\r"
expect "Passphrase incorrect. Please retry."
send "wrong-2\r"
expect "Passphrase incorrect. Please retry."
send "wrong-3\r"
"#,
            short = &id[..7]
        ),
    );
    assert_eq!(code, 3, "three wrong passphrases give exit code 3: {out}");
    assert!(
        out.contains("wrong passphrase from the terminal prompt"),
        "{out}"
    );
}

#[test]
fn non_interactive_never_prompts() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, out) = expect(tmp.path(), "--non-interactive key generate --role root", "");
    assert_eq!(code, 3, "{out}");
    assert!(!out.contains("Enter passphrase"), "{out}");
    assert!(out.contains("Hint: Set KEYTOOL_ROOT_PASSPHRASE"), "{out}");
}

#[test]
fn the_vault_master_passphrase_is_asked_on_the_terminal() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let kt = |args: &[&str], master: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
        cmd.arg("--trust-dir")
            .arg(tmp.path())
            .args(["--non-interactive", "--notary-compat"]);
        cmd.args(args)
            .env("KEYTOOL_KEYRING", "none")
            .env_remove("KEYTOOL_VAULT_PASSPHRASE");
        if let Some(m) = master {
            cmd.env("KEYTOOL_VAULT_PASSPHRASE", m);
        }
        cmd.output().expect("runs")
    };
    assert!(
        kt(&["vault", "init"], Some("master-pass-123"))
            .status
            .success()
    );
    let made = kt(
        &["key", "generate", "--role", "root", "--generate-passphrase"],
        Some("master-pass-123"),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();

    // No env: the key's passphrase is in the vault, whose master passphrase is typed.
    let (code, out) = expect(
        tmp.path(),
        &format!("--notary-compat key passwd {id} --generate-passphrase"),
        r#"
expect "Enter passphrase for vault master key"
send "master-pass-123\r"
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Successfully updated passphrase"), "{out}");
    // The vault both supplies the old passphrase and stores the new one: asked for once.
    assert_eq!(
        out.matches("Enter passphrase for vault master key").count(),
        1,
        "{out}"
    );
    assert!(
        !out.contains("master-pass-123"),
        "the typed master passphrase must not echo: {out}"
    );
}

#[test]
fn passphrases_from_stdin_and_a_file_descriptor() {
    let tmp = tempfile::tempdir().expect("tmp");
    let keytool = env!("CARGO_BIN_EXE_keytool");
    let trust = tmp.path().display().to_string();
    let sh = |script: &str| {
        Command::new("bash")
            .args(["-c", script])
            .env("KEYTOOL_KEYRING", "none")
            .env_remove("KEYTOOL_ROOT_PASSPHRASE")
            .output()
            .expect("bash runs")
    };
    // One line from stdin creates the key...
    let out = sh(&format!(
        "printf 'from-stdin-1\\n' | {keytool} --trust-dir {trust} --non-interactive --notary-compat --passphrase-stdin key generate --role root"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // ...and file descriptor 3 opens it; the new passphrase comes from a private file.
    let new_pass = tmp.path().join("new-pass");
    std::fs::write(&new_pass, "new-pass-22\n").expect("write");
    std::fs::set_permissions(
        &new_pass,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let out = sh(&format!(
        "{keytool} --trust-dir {trust} --non-interactive --notary-compat --passphrase-fd 3 key passwd {id} --new-passphrase-file {} 3< <(printf 'from-stdin-1\\n')",
        new_pass.display()
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The new passphrase now opens it, through stdin again.
    let out = sh(&format!(
        "printf 'new-pass-22\\n' | {keytool} --trust-dir {trust} --non-interactive --notary-compat --passphrase-stdin key passwd {id} --new-passphrase-file {}",
        new_pass.display()
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong passphrase on the descriptor is an error (exit 3), never a prompt or a hang.
    let out = sh(&format!(
        "{keytool} --trust-dir {trust} --non-interactive --notary-compat --passphrase-fd 3 key passwd {id} 3< <(printf 'wrong\\n')"
    ));
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_core_dump_while_a_passphrase_is_typed() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    // Core dumps allowed (the shell raises the soft limit), then keytool in the same process;
    // while it waits at the prompt, read its resource limits from /proc.
    let spawn = format!(
        "sh -c {{ulimit -c unlimited && exec {} --trust-dir {} key generate --role root}}",
        env!("CARGO_BIN_EXE_keytool"),
        tmp.path().display()
    );
    let (_, out) = expect_spawn(
        &spawn,
        r#"
expect -re "Enter passphrase for new root key with ID \[0-9a-f\]{7}: "
set pid [exp_pid]
set limits [exec cat /proc/$pid/limits]
puts "\nLIMITS-BEGIN\n$limits\nLIMITS-END"
send "\003"
"#,
    );
    let core = out
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no limits read: {out}"));
    let soft = core
        .trim_start_matches("Max core file size")
        .split_whitespace()
        .next();
    assert_eq!(soft, Some("0"), "core dumps are off: {core}");
}

#[test]
fn sigterm_at_the_prompt_restores_the_terminal() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    // SIGTERM from outside (a supervisor, `timeout`) while the terminal is raw.
    let (code, out) = expect_spawn(
        &keytool_then_stty(tmp.path(), "key generate --role root"),
        r#"
expect -re "Enter passphrase for new root key with ID \[0-9a-f\]{7}: "
exec pkill -TERM -P [exp_pid]
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rc=143"), "ended by SIGTERM: {out}");
    assert_terminal_restored(&out);
}

#[test]
fn ctrl_c_still_works_after_a_prompt() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    // A key whose unlocking takes seconds (4,000,000 PBKDF2 iterations), so that keytool is
    // still deriving when the interrupt comes, after the prompt has given the terminal back.
    let made = Command::new(env!("CARGO_BIN_EXE_keytool"))
        .arg("--trust-dir")
        .arg(tmp.path())
        .args([
            "--non-interactive",
            "--kdf-iterations",
            "4000000",
            "key",
            "generate",
            "--role",
            "root",
        ])
        .env("KEYTOOL_ROOT_PASSPHRASE", "right-pass-1")
        .env("KEYTOOL_KEYRING", "none")
        .output()
        .expect("runs");
    assert!(made.status.success());
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let (code, out) = expect_spawn(
        &keytool_then_stty(tmp.path(), &format!("key passwd {id}")),
        r#"
expect "Enter passphrase for root key"
send "wrong-pass-1\r"
after 300
exec pkill -INT -P [exp_pid]
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rc=130"), "interrupted while deriving: {out}");
    assert!(!out.contains("Passphrase incorrect"), "{out}");
    assert_terminal_restored(&out);
}

/// `passphrase reveal` on a terminal (issue 19, item 1): it asks first; "no" shows nothing;
/// "yes" (then the vault's master passphrase) prints the stored passphrase, the same one that
/// `-o FILE` writes.
#[test]
fn reveal_on_a_terminal_asks_first() {
    if !have_expect() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let kt = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
        cmd.arg("--trust-dir")
            .arg(tmp.path())
            .args(["--non-interactive", "--kdf-iterations", "2048"])
            .args(args)
            .env("KEYTOOL_KEYRING", "none")
            .env("KEYTOOL_VAULT_PASSPHRASE", "master-pass-456");
        cmd.output().expect("runs")
    };
    assert!(
        kt(&["vault", "init", "--m-kib", "64", "--t", "1"])
            .status
            .success()
    );
    let made = kt(&["key", "generate", "--role", "root", "--generate-passphrase"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let file = tmp.path().join("backup");
    let out = kt(&[
        "passphrase",
        "reveal",
        &id,
        "--yes",
        "-o",
        file.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = std::fs::read_to_string(&file).expect("backup");
    let stored = stored.trim();
    assert_eq!(stored.len(), 32);

    let (code, out) = expect(
        tmp.path(),
        &format!("passphrase reveal {id}"),
        "expect \"Reveal the passphrase of key\"\nsend \"no\\r\"\n",
    );
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains(stored), "shown without a yes: {out}");
    let (code, out) = expect(
        tmp.path(),
        &format!("passphrase reveal {id}"),
        r#"
expect "Reveal the passphrase of key"
send "yes\r"
expect "Enter passphrase for vault master key"
send "master-pass-456\r"
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(stored), "{out}");
    assert!(out.contains("it opens the key"), "{out}");
}
