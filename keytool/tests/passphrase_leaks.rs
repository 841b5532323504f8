//! Leak test for managed passphrases: with known secrets (a vault master passphrase, a key
//! passphrase stored in the vault, a wrong master passphrase), no command's stdout or stderr
//! (plain, --verbose, --json, failing or not) and no file of the trust directory other than the
//! encrypted vault and key files contains them in clear.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const MASTER: &str = "canary-Master-9931";
const WRONG_MASTER: &str = "canary-Wrong-5520";
const KEY_PASS: &str = "canary-KeyPass-7704";

fn keytool(trust: &Path, master: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE") || k.starts_with("KEYTOOL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("KEYTOOL_KEYRING", "none")
        .env("KEYTOOL_VAULT_PASSPHRASE", master)
        .arg("--trust-dir")
        .arg(trust)
        .args(["--non-interactive", "--notary-compat"])
        .stdin(Stdio::null());
    cmd
}

fn assert_clean(what: &str, out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in [MASTER, WRONG_MASTER, KEY_PASS, "canary-"] {
            assert!(!text.contains(secret), "{what}: {secret} leaked in: {text}");
        }
    }
}

#[test]
fn managed_passphrases_never_leak() {
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let pass_file = tmp.path().join("pass");
    std::fs::write(&pass_file, format!("{KEY_PASS}\n")).expect("write");
    std::fs::set_permissions(
        &pass_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");

    let run = |what: &str, master: &str, args: &[&str]| -> Output {
        let mut outs = Vec::new();
        for extra in [
            &[][..],
            &["--verbose"],
            &["--json"],
            &["--json", "--verbose"],
        ] {
            let out = keytool(&trust, master)
                .args(extra)
                .args(args)
                .output()
                .expect("runs");
            assert_clean(&format!("{what} {extra:?}"), &out);
            outs.push(out);
        }
        outs.remove(0)
    };

    assert!(
        run("vault init", MASTER, &["vault", "init"])
            .status
            .success()
    );
    // A key whose passphrase is generated and sealed in the vault.
    let generated = keytool(&trust, MASTER)
        .args(["key", "generate", "--role", "root", "--generate-passphrase"])
        .output()
        .expect("runs");
    assert_clean("generate --generate-passphrase", &generated);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let root = String::from_utf8_lossy(&generated.stdout).trim().to_owned();
    // A key with a known passphrase, then stored in the vault.
    let targets = keytool(&trust, MASTER)
        .env("KEYTOOL_TARGETS_PASSPHRASE", KEY_PASS)
        .args([
            "key",
            "generate",
            "--role",
            "targets",
            "--repo",
            "example.com/leak/test",
        ])
        .output()
        .expect("runs");
    assert_clean("generate", &targets);
    let targets = String::from_utf8_lossy(&targets.stdout).trim().to_owned();
    let mut set = keytool(&trust, MASTER);
    set.args([
        "passphrase",
        "set",
        &targets,
        "--vault",
        "--passphrase-file",
    ])
    .arg(&pass_file);
    let out = set.output().expect("runs");
    assert_clean("passphrase set", &out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Successful and failing commands, in every output mode.
    let succeeds = |what: &str, master: &str, args: &[&str]| {
        let out = run(what, master, args);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let fails = |what: &str, master: &str, args: &[&str]| {
        let out = run(what, master, args);
        assert!(!out.status.success(), "{what} must fail");
    };
    succeeds("explain", MASTER, &["passphrase", "explain", &targets]);
    succeeds("vault status", MASTER, &["vault", "status", "--unlock"]);
    fails(
        "vault status, wrong master",
        WRONG_MASTER,
        &["vault", "status", "--unlock"],
    );
    // The root key opens with its passphrase from the vault (no env, no prompt).
    succeeds(
        "passwd from the vault",
        MASTER,
        &["key", "passwd", &root, "--generate-passphrase"],
    );
    fails(
        "passwd, wrong master",
        WRONG_MASTER,
        &["key", "passwd", &targets],
    );
    succeeds("export", MASTER, &["key", "export"]);
    succeeds("list", MASTER, &["key", "list"]);
    let out = run(
        "import of a bad file",
        MASTER,
        &["key", "import", "/dev/null"],
    );
    assert!(!out.status.success());

    // No file holds a secret in clear (the vault and the key files are encrypted).
    let mut stack = vec![trust.clone()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("ls").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&p).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            for secret in [MASTER, WRONG_MASTER, KEY_PASS] {
                assert!(
                    !text.contains(secret),
                    "{secret} in clear in {}",
                    p.display()
                );
            }
        }
    }
    assert!(
        files >= 3,
        "expected the vault and two key files, found {files}"
    );
}

/// The docker children of `provision --container` and `sandbox pull` (which need no passphrase)
/// inherit none of the passphrase-bearing variables of keytool's environment; the rest of it
/// (e.g. DOCKER_HOST) they do inherit.
#[test]
fn docker_children_inherit_no_passphrase() {
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let dump = tmp.path().join("env.log");
    let docker = bin.join("docker");
    std::fs::write(
        &docker,
        format!(
            "#!/bin/sh\necho \"argv: $*\" >> '{0}'\nenv >> '{0}'\nexit 1\n",
            dump.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let secrets = [
        ("KEYTOOL_ROOT_PASSPHRASE", "canary-kt-root"),
        ("KEYTOOL_TARGETS_PASSPHRASE", "canary-kt-targets"),
        ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "canary-dct-root"),
        (
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            "canary-dct-repo",
        ),
        ("NOTARY_ROOT_PASSPHRASE", "canary-notary-root"),
        ("NOTARY_TARGETS_PASSPHRASE", "canary-notary-targets"),
        ("KEYTOOL_VAULT_PASSPHRASE_FILE", "/canary/vault-pass"),
    ];
    let run = |args: &[&str]| {
        let mut cmd = keytool(&trust, MASTER);
        cmd.env("PATH", &path)
            .env("DOCKER_HOST", "unix:///kt-leak-test.sock")
            .envs(secrets);
        let out = cmd.args(args).output().expect("run keytool");
        assert!(
            !out.status.success(),
            "the fake docker fails every call: {args:?}"
        );
        assert_clean(&format!("{args:?}"), &out);
    };
    let gun = "example.com/leak/app";
    // A targets key so that provision gets as far as docker.
    let out = keytool(&trust, MASTER)
        .env("KEYTOOL_TARGETS_PASSPHRASE", KEY_PASS)
        .args(["key", "generate", "--role", "targets", "--repo", gun])
        .output()
        .expect("generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(&["provision", "--repo", gun, "--container", "trustsandbox"]);
    run(&[
        "sandbox",
        "pull",
        &format!("{gun}:v1"),
        "--container",
        "trustsandbox",
        "--server",
        "https://127.0.0.1:9",
    ]);

    let log = std::fs::read_to_string(&dump).expect("docker ran");
    assert!(log.contains("argv: cp "), "{log}");
    assert!(log.contains("argv: exec "), "{log}");
    assert!(
        log.contains("DOCKER_HOST=unix:///kt-leak-test.sock"),
        "{log}"
    );
    assert!(
        !log.contains("canary"),
        "a passphrase reached docker: {log}"
    );
    for line in log.lines() {
        let name = line.split('=').next().unwrap_or_default();
        assert!(
            !name.contains("PASSPHRASE") && !name.starts_with("KEYTOOL_VAULT"),
            "{line}"
        );
    }
}

/// Registry credentials in docker's config.json (a password in `auths`, an identity token) never
/// appear in what `auth explain` prints (plain, --json, --verbose). The real-server side (every
/// command's output, the server's log, a helper's argv) is `tests/tests/auth.rs`.
#[test]
fn registry_credentials_never_leak() {
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let docker = tmp.path().join("docker");
    std::fs::create_dir(&docker).expect("mkdir");
    // base64 of "canary-user:canary-RegPass-3321", as `docker login` writes it.
    let auth = "Y2FuYXJ5LXVzZXI6Y2FuYXJ5LVJlZ1Bhc3MtMzMyMQ==";
    let write = |config: serde_json::Value| {
        std::fs::write(docker.join("config.json"), config.to_string()).expect("write");
    };
    let explain = |extra: &[&str]| {
        keytool(&trust, MASTER)
            .env("DOCKER_CONFIG", &docker)
            .args(extra)
            .args([
                "auth",
                "explain",
                "--repo",
                "registry.example:5000/leak/app",
            ])
            .output()
            .expect("run keytool")
    };
    let clean = |what: &str, out: &Output| {
        assert_clean(what, out);
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(auth),
                "{what}: the auth entry leaked: {text}"
            );
        }
    };
    write(serde_json::json!({"auths": {
        "registry.example:5000": {"auth": auth, "identitytoken": "canary-IdToken-8812"}
    }}));
    for extra in [&[][..], &["--json"], &["-v"]] {
        let out = explain(extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        clean(&format!("explain {extra:?}"), &out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("registry.example:5000"));
    }
    // A helper named by credsStore wins over the entry, as in docker; explain names it.
    write(
        serde_json::json!({"credsStore": "ktleaktest", "auths": {"registry.example:5000": {"auth": auth}}}),
    );
    let out = explain(&["--json"]);
    assert!(out.status.success());
    clean("explain with a helper", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("docker-credential-ktleaktest"));
}
