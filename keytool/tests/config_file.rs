//! The configuration file: defaults below flags and environment variables, `keytool config`
//! explaining where each value comes from, and clear errors for a bad file.

use std::path::Path;
use std::process::{Command, Output};

/// keytool with a clean environment: only `HOME`, `PATH` and what the test adds.
fn keytool(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytool"));
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("keytool runs")
}

fn write_config(home: &Path, text: &str) {
    let dir = home.join(".config/keytool");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("config.toml"), text).expect("write config");
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn generate_passphrase_default_from_the_file_stores_in_the_vault() {
    let home = tempfile::tempdir().expect("tmp");
    write_config(
        home.path(),
        "# keytool defaults\ntrust_dir = \"~/trust\"\ngenerate_passphrase = true\nkeyring = \"none\"\nnon_interactive = true\nkdf_iterations = 4096\n",
    );
    let master = [("KEYTOOL_VAULT_PASSPHRASE", "vault-master-1")];
    let out = keytool(home.path(), &["vault", "init"], &master);
    assert!(out.status.success(), "{}", text(&out));

    // No flag: the file's generate_passphrase = true makes and stores a passphrase.
    let out = keytool(home.path(), &["key", "generate", "--role", "root"], &master);
    assert!(out.status.success(), "{}", text(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let key = home.path().join(format!("trust/private/{id}.key"));
    let pem = std::fs::read_to_string(&key).expect("the key is in the configured trust dir");
    assert!(pem.contains("ENCRYPTED PRIVATE KEY"));

    // A later command finds the passphrase in the vault with no passphrase variable.
    let out = keytool(home.path(), &["passphrase", "explain", &id], &master);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("vault"), "{}", text(&out));

    // The environment beats the file, and an explicit =false beats both: with nothing else to
    // supply a passphrase (non_interactive from the file), creating a key then fails (exit 3).
    for (args, env) in [
        (
            vec!["key", "generate", "--role", "root"],
            vec![("KEYTOOL_GENERATE_PASSPHRASE", "false")],
        ),
        (
            vec![
                "--generate-passphrase=false",
                "key",
                "generate",
                "--role",
                "root",
            ],
            vec![],
        ),
    ] {
        let mut env = env;
        env.extend(master);
        let out = keytool(home.path(), &args, &env);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    }
    let keys = std::fs::read_dir(home.path().join("trust/private"))
        .expect("ls")
        .count();
    assert_eq!(keys, 1, "the refused commands wrote no key");
}

#[test]
fn config_command_explains_each_value() {
    let home = tempfile::tempdir().expect("tmp");
    write_config(
        home.path(),
        "server = \"https://127.0.0.1:4443\"\nkdf_iterations = 300000\n",
    );
    let out = keytool(
        home.path(),
        &["--json", "config"],
        &[("KEYTOOL_KDF_ITERATIONS", "700000")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let setting = |key: &str| {
        v["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .expect("listed")
    };
    assert_eq!(setting("server")["value"], "https://127.0.0.1:4443");
    assert_eq!(setting("server")["origin"], "file");
    assert_eq!(setting("kdf_iterations")["value"], "700000");
    assert_eq!(setting("kdf_iterations")["origin"], "environment");
    assert!(setting("keyring")["value"].is_null());
    assert!(
        v["file"]
            .as_str()
            .is_some_and(|f| f.ends_with(".config/keytool/config.toml"))
    );
}

#[test]
fn a_bad_file_is_a_usage_error_naming_file_and_line() {
    let home = tempfile::tempdir().expect("tmp");
    write_config(
        home.path(),
        "generate_passphrase = true\nroot_passphrase = \"s3cret-canary\"\n",
    );
    let out = keytool(home.path(), &["key", "list"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("config.toml") && msg.contains("line 2"),
        "{msg}"
    );
    assert!(msg.contains("unknown field `root_passphrase`"), "{msg}");
    assert!(
        !msg.contains("s3cret-canary"),
        "the value is not echoed: {msg}"
    );

    // A file named explicitly must exist; the default location is optional.
    let out = keytool(
        home.path(),
        &["--config", "/nonexistent/k.toml", "key", "list"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("/nonexistent/k.toml"), "{}", text(&out));
    std::fs::remove_file(home.path().join(".config/keytool/config.toml")).expect("rm");
    let out = keytool(home.path(), &["key", "list"], &[]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn config_errors_name_file_line_and_key_never_the_value() {
    let home = tempfile::tempdir().expect("tmp");
    let secret = "s3cret-canary-Value";
    for (config, line, key) in [
        (
            format!("kdf_iterations = \"{secret}\"\n"),
            1,
            "kdf_iterations",
        ),
        (
            format!("keyring = \"none\"\ngenerate_passphrase = \"{secret}\"\n"),
            2,
            "generate_passphrase",
        ),
        (format!("trust_dir = [\"{secret}\"]\n"), 1, "trust_dir"),
    ] {
        write_config(home.path(), &config);
        let out = keytool(home.path(), &["key", "list"], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let msg = String::from_utf8_lossy(&out.stderr);
        assert!(!msg.contains(secret), "the value is echoed: {msg}");
        assert!(msg.contains(".config/keytool/config.toml"), "{msg}");
        assert!(msg.contains(&format!("line {line}, key {key}")), "{msg}");
    }
    // A passphrase put in a yes/no variable by mistake is not printed either.
    std::fs::remove_file(home.path().join(".config/keytool/config.toml")).expect("rm");
    let out = keytool(
        home.path(),
        &["--trust-dir", "t", "key", "generate", "--role", "root"],
        &[("KEYTOOL_GENERATE_PASSPHRASE", secret)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(!msg.contains(secret), "the value is echoed: {msg}");
    assert!(msg.contains("KEYTOOL_GENERATE_PASSPHRASE"), "{msg}");
}

#[test]
fn kdf_settings_follow_flag_environment_file_precedence() {
    let home = tempfile::tempdir().expect("tmp");
    write_config(home.path(), "kdf_iterations = 300000\nkeyring = \"none\"\n");
    let pass = ("KEYTOOL_ROOT_PASSPHRASE", "root-pass-123");
    let generate = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(pass);
        let out = keytool(
            home.path(),
            &["--non-interactive", "key", "generate", "--role", "root"],
            &env,
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // Reading with a cap of 2048 iterations tells notary's count from the file's 300,000 (the
    // re-encryption writes notary's count, which the cap allows).
    let opens_with_cap_2048 = |id: &str| {
        let new = home.path().join("new-pass");
        std::fs::write(&new, "another-pass-1\n").expect("write");
        std::fs::set_permissions(&new, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let new = new.display().to_string();
        let out = keytool(
            home.path(),
            &[
                "--non-interactive",
                "--max-kdf-iterations",
                "2048",
                "--notary-compat",
                "key",
                "passwd",
                id,
                "--new-passphrase-file",
                &new,
            ],
            &[pass],
        );
        out.status.success()
    };
    let from_file = generate(&[]);
    assert!(
        !opens_with_cap_2048(&from_file),
        "the file's 300,000 applied"
    );
    let env_wins = generate(&[("KEYTOOL_NOTARY_COMPAT", "1")]);
    assert!(
        opens_with_cap_2048(&env_wins),
        "the environment beats the file"
    );
    let out = keytool(
        home.path(),
        &["key", "list"],
        &[("KEYTOOL_KDF_ITERATIONS", "lots")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("KEYTOOL_KDF_ITERATIONS"),
        "{}",
        text(&out)
    );
}
