//! The mistakes a new user makes (issue 19, items 8-12): names docker cannot use, near misses of
//! role names, options that do not apply, and hints that must point at something that exists.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// keytool with a clean environment (no keyring, non-interactive): only `HOME`, `PATH`, the
/// trust directory and what the test adds.
fn keytool(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
    cmd.arg("--trust-dir")
        .arg(home.join("trust"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KEYTOOL_NON_INTERACTIVE", "1")
        .env("KEYTOOL_KDF_ITERATIONS", "1000");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("keytool runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The key files in the trust directory.
fn keys(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("trust/private"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".key"))
                .collect()
        })
        .unwrap_or_default()
}

const PASSPHRASES: [(&str, &str); 2] = [
    ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "root-passphrase-1"),
    (
        "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
        "repo-passphrase-1",
    ),
];

/// Item 8: a tag or upper case in a GUN is a usage error (exit 2) that suggests the fix, and
/// nothing is created; the GUNs docker uses still work.
#[test]
fn guns_docker_cannot_use_are_usage_errors_with_the_fix() {
    let home = tempfile::tempdir().expect("tmp");
    for gun in ["host/acme/web:latest", "host/Acme/Web"] {
        let out = keytool(
            home.path(),
            &["init", "--repo", gun, "--offline"],
            &PASSPHRASES,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{gun}: {err}");
        assert!(err.starts_with("Error: "), "{err}");
        assert!(err.contains("did you mean host/acme/web?"), "{err}");
        assert!(err.contains("Hint: "), "{err}");
        assert!(
            keys(home.path()).is_empty(),
            "{gun}: {:?}",
            keys(home.path())
        );
    }
    // The same through --json: kind InvalidArgument, code 1, exit 2.
    let out = keytool(
        home.path(),
        &[
            "--json",
            "key",
            "generate",
            "--role",
            "targets",
            "--repo",
            "host/Acme/Web",
        ],
        &PASSPHRASES,
    );
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).expect("JSON error");
    assert_eq!(v["error"]["kind"], "InvalidArgument");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean host/acme/web?")),
        "{v}"
    );
    for gun in [
        "127.0.0.1:5000/test/trusttest",
        "sandboxregistry:5000/test/trusttest",
        "docker.io/library/x",
    ] {
        let out = keytool(
            home.path(),
            &["init", "--repo", gun, "--offline"],
            &PASSPHRASES,
        );
        assert!(out.status.success(), "{gun}: {}", stderr(&out));
    }
}

/// Item 9: `--role target` is not taken as a signer named "target", and `--repo` where it does
/// not apply is an error; nothing is written.
#[test]
fn role_near_misses_and_a_repo_that_does_not_apply_are_refused() {
    let home = tempfile::tempdir().expect("tmp");
    for (role, fix) in [
        ("target", "did you mean targets?"),
        ("root-key", "did you mean root?"),
        ("snapshots", "did you mean snapshot?"),
        ("timestamps", "did you mean timestamp?"),
    ] {
        let out = keytool(
            home.path(),
            &[
                "key",
                "generate",
                "--role",
                role,
                "--repo",
                "example.com/a/b",
            ],
            &PASSPHRASES,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{role}: {err}");
        assert!(err.contains(fix), "{role}: {err}");
    }
    let out = keytool(
        home.path(),
        &[
            "key",
            "generate",
            "--role",
            "root",
            "--repo",
            "example.com/a/b",
        ],
        &PASSPHRASES,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not tied to one repository"), "{err}");
    assert!(
        err.contains("Hint: Give --repo only with targets and snapshot keys"),
        "{err}"
    );
    // `key list --role target` is the same near miss.
    let out = keytool(home.path(), &["key", "list", "--role", "target"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(keys(home.path()).is_empty(), "{:?}", keys(home.path()));
    // A signer name still works, without --repo.
    let out = keytool(
        home.path(),
        &["key", "generate", "--role", "alice"],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Item 11: hints name flags and settings that exist and are not already in effect.
#[test]
fn vault_and_keyring_hints_are_right() {
    let home = tempfile::tempdir().expect("tmp");
    let none = ("KEYTOOL_KEYRING", "none");
    let master = ("KEYTOOL_VAULT_PASSPHRASE", "vault-master-1");

    // No keyring (KEYTOOL_KEYRING=none) and no vault: the hint is to create the vault, not to
    // set what is already set.
    let out = keytool(
        home.path(),
        &["--generate-passphrase", "key", "generate", "--role", "root"],
        &[none, master],
    );
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("Hint: Create the vault") && err.contains("keytool vault init"),
        "{err}"
    );
    assert!(!err.contains("Set KEYTOOL_KEYRING=none"), "{err}");

    // vault init twice: there is no --force to suggest.
    let out = keytool(home.path(), &["vault", "init"], &[none, master]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keytool(home.path(), &["vault", "init"], &[none, master]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("--force"), "{err}");
    assert!(err.contains("keytool vault status"), "{err}");

    // vault change-master without a new master passphrase: the flag that supplies it.
    let out = keytool(home.path(), &["vault", "change-master"], &[none, master]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("new vault master"), "{err}");
    assert!(err.contains("--new-vault-passphrase-file FILE"), "{err}");
    assert!(!err.contains("Set KEYTOOL_VAULT_PASSPHRASE"), "{err}");
}

/// Item 11: a server URL pointing at a plain-HTTP port is named as such, not with the TLS
/// library's text, and the hint is about the port.
#[test]
fn a_plain_http_port_is_explained() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        for s in listener.incoming().take(1) {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let home = tempfile::tempdir().expect("tmp");
    let url = format!("https://127.0.0.1:{port}");
    let out = keytool(
        home.path(),
        &[
            "status",
            "--repo",
            "example.com/plain/http",
            "--server",
            &url,
        ],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("does not speak TLS"), "{err}");
    assert!(!err.contains("InvalidContentType"), "{err}");
    assert!(
        err.contains("Hint: --server must name the server's TLS port"),
        "{err}"
    );
    let _ = server.join();
}

/// Item 12: a command-line mistake prints `Error:` like every other error, and its JSON form
/// keeps the name of the missing argument; the JSON code is the library's, the exit code 2.
#[test]
fn usage_errors_read_like_other_errors() {
    let home = tempfile::tempdir().expect("tmp");
    let out = keytool(home.path(), &["init"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("Error: The following required arguments"),
        "{err}"
    );
    assert!(err.contains("--repo <GUN>"), "{err}");

    let out = keytool(home.path(), &["--json", "init"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).expect("JSON error");
    assert_eq!(v["error"]["code"], 1);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("--repo <GUN>"), "{message}");
}

/// Item 12: an ambiguous key-ID prefix lists the candidates.
#[test]
fn an_ambiguous_prefix_lists_the_candidates() {
    let home = tempfile::tempdir().expect("tmp");
    let out = keytool(
        home.path(),
        &["key", "generate", "--role", "root"],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let private = home.path().join("trust/private");
    let file = std::fs::read(private.join(format!("{id}.key"))).expect("key");
    let a = format!("abcd{}", "0".repeat(60));
    let b = format!("abcd{}", "1".repeat(60));
    for name in [&a, &b] {
        std::fs::write(private.join(format!("{name}.key")), &file).expect("copy");
    }
    // Also where a full ID of a key no longer here is accepted (passphrase remove and reveal):
    // an ambiguous prefix is never taken for such an ID.
    let backup = home.path().join("backup");
    let backup = backup.to_str().expect("utf-8");
    for args in [
        &["key", "passwd", "abcd"][..],
        &["passphrase", "remove", "abcd"],
        &["passphrase", "reveal", "abcd", "-o", backup, "--yes"],
    ] {
        let out = keytool(home.path(), args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("matches 2 keys"), "{args:?}: {err}");
        assert!(err.contains(&a) && err.contains(&b), "{args:?}: {err}");
    }
}

/// Item 12: a misspelt KEYTOOL_KEYRING is an error, not silently "no keyring".
#[test]
fn a_misspelt_keyring_choice_is_an_error() {
    let home = tempfile::tempdir().expect("tmp");
    let out = keytool(
        home.path(),
        &["key", "generate", "--role", "root"],
        &[PASSPHRASES[0], ("KEYTOOL_KEYRING", "nonee")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("KEYTOOL_KEYRING"), "{err}");
    assert!(err.contains("\"nonee\""), "{err}");
    assert!(keys(home.path()).is_empty());
}

/// Item 12: `key import -` reads standard input, so `key export | key import -` works.
#[test]
fn key_import_dash_reads_standard_input() {
    let from = tempfile::tempdir().expect("tmp");
    let out = keytool(
        from.path(),
        &["key", "generate", "--role", "root"],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = keytool(from.path(), &["key", "export", "--key", &id], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = out.stdout;

    let to = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keytool"))
        .arg("--trust-dir")
        .arg(to.path().join("trust"))
        .args(["key", "import", "-"])
        .env_clear()
        .env("HOME", to.path())
        .env("KEYTOOL_NON_INTERACTIVE", "1")
        .env(PASSPHRASES[0].0, PASSPHRASES[0].1)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("keytool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bundle)
        .expect("write");
    let out = child.wait_with_output().expect("waits");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(keys(to.path()), [format!("{id}.key")]);
}

/// Item 12: `keytool config` shows the built-in defaults that apply, not "-".
#[test]
fn config_shows_effective_defaults() {
    let home = tempfile::tempdir().expect("tmp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
    let out = cmd
        .arg("config")
        .env_clear()
        .env("HOME", home.path())
        .output()
        .expect("keytool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("kdf_iterations").contains("600000"), "{text}");
    assert!(line("max_kdf_iterations").contains("10000000"), "{text}");
    assert!(line("keyring").contains("auto"), "{text}");
    let trust = home.path().join(".docker/trust");
    assert!(
        line("trust_dir").contains(&trust.display().to_string()),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("-")),
        "{text}"
    );
}

/// Item 12: a command that wrote nothing does not leave a misspelt --trust-dir behind with a
/// lock file in it; a directory that existed before is kept.
#[test]
fn a_misspelt_trust_dir_is_not_left_behind() {
    let home = tempfile::tempdir().expect("tmp");
    for args in [
        &["rotate", "--repo", "example.com/a/b", "--offline"][..],
        &["migrate"][..],
    ] {
        let typo = home.path().join("trsut");
        let out = Command::new(env!("CARGO_BIN_EXE_keytool"))
            .arg("--trust-dir")
            .arg(&typo)
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("KEYTOOL_NON_INTERACTIVE", "1")
            .output()
            .expect("keytool runs");
        assert!(
            !typo.exists(),
            "{args:?} left {} behind: {}",
            typo.display(),
            stderr(&out)
        );
    }
    // An existing (empty) directory stays.
    let trust = home.path().join("trust");
    std::fs::create_dir(&trust).expect("mkdir");
    let out = keytool(home.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(trust.is_dir());
}

/// Item 12: `key list` fits 100 columns, with the full key IDs and the repository.
#[test]
fn key_list_fits_100_columns() {
    let home = tempfile::tempdir().expect("tmp");
    let gun = "sandboxregistry:5000/test/trusttest";
    let out = keytool(
        home.path(),
        &["init", "--repo", gun, "--offline"],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keytool(
        home.path(),
        &["key", "generate", "--role", "targets/releases"],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keytool(home.path(), &["key", "list"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    for k in keys(home.path()) {
        assert!(text.contains(k.trim_end_matches(".key")), "{text}");
    }
    assert!(text.contains(&format!("repository {gun}")), "{text}");
}

/// A key in notary 0.1-0.3's layout (`private/tuf_keys/<gun>/<id>.key`) that `key list` shows is
/// not "not found" for `key passwd`: the error says where it is and the hint says to migrate;
/// after `keytool migrate` the same command works.
#[test]
fn a_key_in_the_legacy_layout_points_at_migrate() {
    let home = tempfile::tempdir().expect("tmp");
    let gun = "example.com/acme/web";
    let out = keytool(
        home.path(),
        &["key", "generate", "--role", "targets", "--repo", gun],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let private = home.path().join("trust/private");
    let legacy = private.join("tuf_keys").join(gun);
    std::fs::create_dir_all(&legacy).expect("mkdir");
    std::fs::rename(
        private.join(format!("{id}.key")),
        legacy.join(format!("{id}.key")),
    )
    .expect("move to the legacy layout");

    let listed = keytool(home.path(), &["key", "list"], &[]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id[..12]));
    for asked in [id.as_str(), &id[..8]] {
        let out = keytool(home.path(), &["key", "passwd", asked], &PASSPHRASES);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("tuf_keys"), "{err}");
        assert!(err.contains("keytool migrate"), "{err}");
    }

    let migrated = keytool(home.path(), &["migrate"], &PASSPHRASES);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let new_pass = home.path().join("new-pass");
    std::fs::write(&new_pass, "a-new-passphrase-2\n").expect("write");
    std::fs::set_permissions(
        &new_pass,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let out = keytool(
        home.path(),
        &[
            "key",
            "passwd",
            &id[..8],
            "--new-passphrase-file",
            &new_pass.display().to_string(),
        ],
        &PASSPHRASES,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}
