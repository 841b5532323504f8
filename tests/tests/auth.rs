//! Token authentication against the real notary-server configured with its `auth` section
//! (type `token`), on loopback, with a token issuer this test runs (`interop_tests::token`):
//! anonymous reads of a public repository, writes that fail without credentials and succeed
//! with docker's credentials (config.json `auths`, an identity token, a real credential helper
//! from Debian), the docker CLI against the same server, and no credential in any output, log or
//! argv.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use interop_tests::token::{Policy, TokenIssuer};
use interop_tests::{Stack, exits, have, keytool, stdout};

const ROOT_PW: &str = "root-passphrase-auth-1";
const REPO_PW: &str = "repo-passphrase-auth-1";
/// The registry password; it must never appear anywhere keytool writes or passes.
const PASSWORD: &str = "Pw-registry-7f3c9e1a";
const IDENTITY_TOKEN: &str = "idtok-5d2b8a0c6e";
const USER: &str = "alice";
/// The registry host of every GUN here (docker files credentials by it).
const REGISTRY: &str = "127.0.0.1:5000";

struct Env {
    issuer: TokenIssuer,
    stack: Stack,
    work: tempfile::TempDir,
}

fn start(public: &[&str]) -> Option<Env> {
    let work = tempfile::tempdir().expect("tmp");
    let issuer = TokenIssuer::start(
        work.path(),
        Policy {
            users: vec![(USER.into(), PASSWORD.into())],
            refresh_tokens: vec![IDENTITY_TOKEN.into()],
            public: public.iter().map(|s| (*s).to_owned()).collect(),
        },
    );
    let options = work.path().join("auth-options.json");
    issuer.server_options(&options);
    let stack = Stack::start_with_token_auth(&options)?;
    Some(Env {
        issuer,
        stack,
        work,
    })
}

impl Env {
    /// A docker configuration directory named `name` holding `config` as config.json.
    fn docker_config(&self, name: &str, config: &serde_json::Value) -> PathBuf {
        let dir = self.work.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("config.json"), config.to_string()).expect("write");
        dir
    }

    fn keytool(&self, trust: &Path, docker_config: &Path, args: &[&str]) -> Output {
        let out = keytool(trust)
            .env("DOCKER_CONFIG", docker_config)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
            .args(args)
            .args(["--server", &self.stack.url, "--tlscacert"])
            .arg(&self.stack.ca)
            .output()
            .expect("keytool runs");
        no_secret(&out);
        out
    }

    /// The token requests made since `from`.
    fn issued_since(&self, from: usize) -> Vec<interop_tests::token::Issued> {
        self.issuer.issued()[from..].to_vec()
    }
}

/// No credential in a command's output.
#[track_caller]
fn no_secret(out: &Output) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in [PASSWORD, IDENTITY_TOKEN, b64.as_str()] {
            assert!(!text.contains(secret), "a credential leaked: {text}");
        }
    }
}

fn auths(user: &str, password: &str) -> serde_json::Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    serde_json::json!({"auths": {REGISTRY: {"auth": auth}}})
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn token_authentication_with_docker_config_credentials() {
    let public = format!("{REGISTRY}/auth/public");
    let private = format!("{REGISTRY}/auth/private");
    let Some(env) = start(&[&public]) else { return };
    let trust = env.work.path().join("trust");
    let none = env.docker_config("no-credentials", &serde_json::json!({}));
    let creds = env.docker_config("credentials", &auths(USER, PASSWORD));

    // init without credentials: a clear authentication error (exit 5) naming the repository and
    // the scope, as its own kind in --json.
    let out = env.keytool(&trust, &none, &["--json", "init", "--repo", &public]);
    exits(&out, 5);
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).expect("json error");
    assert_eq!(err["error"]["kind"], "AuthenticationFailed", "{err}");
    assert_eq!(err["error"]["code"], 43, "{err}");
    let message = err["error"]["message"].as_str().expect("message");
    assert!(message.contains(&public), "{message}");
    assert!(
        message.contains(&format!("repository:{public}:pull,push")),
        "{message}"
    );
    assert!(message.contains("anonymously"), "{message}");
    assert!(
        err["error"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("auth explain")),
        "{err}"
    );
    assert!(
        env.issuer.issued().iter().all(|i| i.who == "anonymous"),
        "{:?}",
        env.issuer.issued()
    );

    // With docker login's credentials in config.json: published. One token per scope (cached
    // for the command), and the credentials went to the token service only.
    let from = env.issuer.issued().len();
    let out = env.keytool(&trust, &creds, &["--json", "init", "--repo", &public]);
    exits(&out, 0);
    let issued = env.issued_since(from);
    assert!(
        issued.iter().all(|i| i.who == USER && i.status == 200),
        "{issued:?}"
    );
    assert!(
        issued
            .iter()
            .any(|i| i.asked == [format!("repository:{public}:pull,push")]),
        "{issued:?}"
    );
    assert!(
        issued.len() <= 2,
        "a token per scope, reused for the command's requests: {issued:?}"
    );
    let out = env.keytool(&trust, &creds, &["init", "--repo", &private]);
    exits(&out, 0);

    // An anonymous status of the public repository, from a machine with no keys: read through
    // an anonymous pull token.
    let reader = env.work.path().join("reader-trust");
    let from = env.issuer.issued().len();
    let out = env.keytool(&reader, &none, &["--json", "status", "--repo", &public]);
    assert_ne!(out.status.code(), Some(5), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(
        status["published"], true,
        "the server's trust data was read: {status}"
    );
    assert_eq!(
        status["expected_targets_keys"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    let issued = env.issued_since(from);
    assert_eq!(
        issued
            .iter()
            .map(|i| (i.who.as_str(), i.asked.clone()))
            .collect::<Vec<_>>(),
        vec![("anonymous", vec![format!("repository:{public}:pull")])],
        "exactly one anonymous pull token"
    );

    // The private repository is not readable anonymously: the token grants nothing, and the
    // second refusal is the error (not a loop).
    let from = env.issuer.issued().len();
    let out = env.keytool(&reader, &none, &["status", "--repo", &private]);
    exits(&out, 5);
    let text = stderr(&out);
    assert!(
        text.contains(&format!("repository:{private}:pull")),
        "{text}"
    );
    assert!(text.contains("the server refused the token"), "{text}");
    assert_eq!(
        env.issued_since(from).len(),
        1,
        "one token request, one retry"
    );

    // rotate: refused without credentials, done with them.
    let out = env.keytool(&trust, &none, &["rotate", "--repo", &public]);
    exits(&out, 5);
    assert!(stderr(&out).contains("pull,push"), "{}", stderr(&out));
    let out = env.keytool(&trust, &creds, &["--json", "rotate", "--repo", &public]);
    exits(&out, 0);

    // A wrong password: the token service refuses, the message says whose credential was used
    // (where it came from, never what it is).
    let wrong = env.docker_config("wrong", &auths(USER, "not-the-password"));
    let out = env.keytool(&trust, &wrong, &["rotate", "--repo", &public]);
    exits(&out, 5);
    let text = stderr(&out);
    assert!(text.contains("refused to issue a token"), "{text}");
    assert!(text.contains("auths entry"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    // An identity token (docker's OAuth refresh token) works as well.
    let idt = env.docker_config(
        "identity-token",
        &serde_json::json!({"auths": {format!("https://{REGISTRY}"): {"auth": "YWxpY2U6", "identitytoken": IDENTITY_TOKEN}}}),
    );
    let from = env.issuer.issued().len();
    let out = env.keytool(
        &trust,
        &idt,
        &["init", "--repo", &format!("{REGISTRY}/auth/oauth")],
    );
    exits(&out, 0);
    assert!(
        env.issued_since(from)
            .iter()
            .all(|i| i.who == "refresh-token"),
        "{:?}",
        env.issued_since(from)
    );

    // auth explain says where the credential comes from, without it.
    for (dir, expect) in [
        (&creds, "auths entry"),
        (&none, "anonymously"),
        (&idt, "identity token"),
    ] {
        let out = keytool(&trust)
            .env("DOCKER_CONFIG", dir)
            .args(["auth", "explain", "--repo", &public])
            .output()
            .expect("runs");
        exits(&out, 0);
        no_secret(&out);
        assert!(stdout(&out).contains(expect), "{}", stdout(&out));
    }

    // No credential in the server's log, the trust directory, or the docker configuration
    // keytool may have written (it writes none).
    let log = std::fs::read_to_string(env.stack.dir.path().join("logs/notary-server.log"))
        .expect("server log");
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert!(
        !log.contains(PASSWORD) && !log.contains(&b64),
        "the password reached the server's log"
    );
    let config = std::fs::read_to_string(env.stack.dir.path().join("config/server.json"))
        .expect("server config");
    assert!(
        config.contains("\"token\""),
        "token auth is configured: {config}"
    );
    for (path, bytes) in files_below(&trust) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PASSWORD) && !text.contains(IDENTITY_TOKEN),
            "a credential in {}",
            path.display()
        );
    }
}

fn files_below(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

/// The same through a real credential helper from Debian: docker-credential-secretservice with
/// a private gnome-keyring (tests/peers/secret-service.sh), named by `credsStore`.
#[test]
fn credentials_from_a_real_credential_helper() {
    if !(have("docker-credential-secretservice")
        && have("dbus-run-session")
        && have("gnome-keyring-daemon"))
    {
        return;
    }
    let gun = format!("{REGISTRY}/auth/helper");
    let Some(env) = start(&[]) else { return };
    let trust = env.work.path().join("trust");
    let config = env.docker_config(
        "helper",
        &serde_json::json!({"credsStore": "secretservice"}),
    );
    // Inside one private D-Bus session: store the credential with the helper (its stdin), then
    // run keytool init, which asks the helper; then remove it and see the anonymous refusal.
    let script = r#"
set -eu
printf '%s' "$STORE_JSON" | docker-credential-secretservice store
"$KEYTOOL" --trust-dir "$TRUST" --non-interactive init --repo "$GUN" --server "$URL" --tlscacert "$CA" \
    >"$OUT/init.out" 2>"$OUT/init.err" || echo "init: $?" >>"$OUT/codes"
"$KEYTOOL" --trust-dir "$TRUST" auth explain --repo "$GUN" >"$OUT/explain.out" 2>&1
printf '%s' "$REGISTRY" | docker-credential-secretservice erase
"$KEYTOOL" --trust-dir "$TRUST" --non-interactive rotate --repo "$GUN" --server "$URL" --tlscacert "$CA" \
    >"$OUT/rotate.out" 2>"$OUT/rotate.err" || echo "rotate: $?" >>"$OUT/codes"
"#;
    let out_dir = env.work.path().join("helper-out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let store = serde_json::json!({"ServerURL": REGISTRY, "Username": USER, "Secret": PASSWORD});
    let out = Command::new("dbus-run-session")
        .arg("--")
        .arg("bash")
        .arg(interop_tests::here().join("peers/secret-service.sh"))
        .args(["bash", "-c", script])
        .env("STORE_JSON", store.to_string())
        .env("KEYTOOL", interop_tests::keytool_bin())
        .env("TRUST", &trust)
        .env("GUN", &gun)
        .env("URL", &env.stack.url)
        .env("CA", &env.stack.ca)
        .env("OUT", &out_dir)
        .env("REGISTRY", REGISTRY)
        .env("DOCKER_CONFIG", &config)
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
        .env_remove("KEYTOOL_KEYRING")
        .output()
        .expect("dbus-run-session runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |f: &str| std::fs::read_to_string(out_dir.join(f)).unwrap_or_default();
    let codes = read("codes");
    assert_eq!(
        codes.trim(),
        "rotate: 5",
        "init succeeds with the helper's credential; rotate is refused once it is erased\ninit: {}\nrotate: {}",
        read("init.err"),
        read("rotate.err")
    );
    let issued = env.issuer.issued();
    assert!(
        issued.iter().any(|i| i.who == USER && i.status == 200),
        "the helper's credential reached the token service: {issued:?}"
    );
    assert!(
        read("explain.out").contains("docker-credential-secretservice"),
        "{}",
        read("explain.out")
    );
    assert!(
        read("rotate.err").contains("anonymously"),
        "{}",
        read("rotate.err")
    );
    for f in [
        "init.out",
        "init.err",
        "explain.out",
        "rotate.out",
        "rotate.err",
    ] {
        assert!(!read(f).contains(PASSWORD), "{f}: {}", read(f));
    }
}

/// The docker CLI signs with content trust against the same token-protected server, with the
/// same config.json credentials (`docker trust signer add` initialises the repository and
/// publishes; no daemon is needed), and keytool reads what docker signed; docker reads what
/// keytool published.
#[test]
fn docker_and_keytool_share_one_authenticated_server() {
    if !have("docker") {
        return;
    }
    let docker_gun = format!("{REGISTRY}/auth/by-docker");
    let keytool_gun = format!("{REGISTRY}/auth/by-keytool");
    let Some(env) = start(&[]) else { return };
    // docker's configuration: the credentials, and the server's CA where docker looks for it.
    let config = env.docker_config("docker-config", &auths(USER, PASSWORD));
    let port = env.stack.url.rsplit(':').next().expect("port");
    let tls = config.join("tls").join(format!("127.0.0.1:{port}"));
    std::fs::create_dir_all(&tls).expect("mkdir");
    std::fs::copy(&env.stack.ca, tls.join("ca.crt")).expect("ca");
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .env("DOCKER_CONFIG", &config)
            .env("DOCKER_CONTENT_TRUST_SERVER", &env.stack.url)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .current_dir(env.work.path())
            .args(args)
            .output()
            .expect("docker runs");
        no_secret(&out);
        out
    };
    let out = docker(&["trust", "key", "generate", "carol"]);
    exits(&out, 0);
    let from = env.issuer.issued().len();
    let out = docker(&[
        "trust",
        "signer",
        "add",
        "--key",
        "carol.pub",
        "carol",
        &docker_gun,
    ]);
    exits(&out, 0);
    assert!(
        env.issued_since(from).iter().any(|i| i.who == USER
            && i.asked
                .iter()
                .any(|s| s.contains(&docker_gun) && s.contains("push"))),
        "docker pushed with the user's token: {:?}",
        env.issued_since(from)
    );
    let inspect = |gun: &str| {
        let out = docker(&["trust", "inspect", gun]);
        exits(&out, 0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v[0].clone()
    };
    let by_docker = inspect(&docker_gun);
    let docker_targets =
        interop_tests::admin_key_id(&by_docker, "Repository").expect("docker's targets key");

    // keytool reads what docker signed, with the same credentials (the repository is private).
    let trust = env.work.path().join("trust");
    let out = env.keytool(
        &trust,
        &config,
        &["--json", "status", "--repo", &docker_gun],
    );
    assert_ne!(out.status.code(), Some(5), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["published"], true, "{status}");
    assert_eq!(
        status["expected_targets_keys"][0]["key_id"], docker_targets,
        "{status}"
    );
    // Without them it cannot.
    let none = env.docker_config("none", &serde_json::json!({}));
    let out = env.keytool(&trust, &none, &["status", "--repo", &docker_gun]);
    exits(&out, 5);

    // docker reads what keytool published with the same credentials.
    let out = env.keytool(&trust, &config, &["--json", "init", "--repo", &keytool_gun]);
    exits(&out, 0);
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let by_keytool = inspect(&keytool_gun);
    let targets = interop_tests::admin_key_id(&by_keytool, "Repository").expect("targets");
    assert!(
        init.to_string().contains(&targets),
        "docker sees keytool's targets key {targets}: {init}"
    );
}

/// A credential helper named by `credHelpers` for the registry's host is run once per command,
/// with `get` as its only argument and the registry on its standard input (the credential only
/// ever travels on its standard output).
#[test]
fn credential_helpers_get_nothing_in_argv() {
    let gun = format!("{REGISTRY}/auth/helper-argv");
    let Some(env) = start(&[]) else { return };
    let bin = env.work.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = env.work.path().join("helper.log");
    let helper = bin.join("docker-credential-ktlog");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\necho \"argv: $*\" >> '{log}'\nread -r registry\necho \"stdin: $registry\" >> '{log}'\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$registry\"\n",
            log = log.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let config = env.docker_config(
        "helper-argv",
        &serde_json::json!({"credHelpers": {REGISTRY: "ktlog"}, "auths": {REGISTRY: {}}}),
    );
    let trust = env.work.path().join("trust");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = keytool(&trust)
        .env("PATH", &path)
        .env("DOCKER_CONFIG", &config)
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
        .args([
            "init",
            "--repo",
            &gun,
            "--server",
            &env.stack.url,
            "--tlscacert",
        ])
        .arg(&env.stack.ca)
        .output()
        .expect("keytool runs");
    no_secret(&out);
    exits(&out, 0);
    let logged = std::fs::read_to_string(&log).expect("the helper ran");
    assert_eq!(
        logged,
        format!("argv: get\nstdin: {REGISTRY}\n"),
        "run once, argv only \"get\""
    );
    assert!(
        env.issuer.issued().iter().any(|i| i.who == USER),
        "{:?}",
        env.issuer.issued()
    );
}

/// `docker push` with content trust (the docker 28 client, a private dockerd, the stack's
/// registry) against the token-protected notary-server, with config.json credentials; keytool
/// reads what docker signed with the same credentials, and not without them.
#[test]
fn docker_push_with_content_trust_through_tokens() {
    const DOCKER: &str = "/usr/local/bin/docker";
    if !(have("dockerd") && have("busybox") && Path::new(DOCKER).exists()) {
        return;
    }
    let work = tempfile::tempdir().expect("tmp");
    let issuer = TokenIssuer::start(
        work.path(),
        Policy {
            users: vec![(USER.into(), PASSWORD.into())],
            refresh_tokens: Vec::new(),
            public: Vec::new(),
        },
    );
    let options = work.path().join("auth-options.json");
    issuer.server_options(&options);
    let Some(stack) = Stack::start_with_token_auth_and_registry(&options) else {
        return;
    };
    let registry = stack.registry_host();
    let gun = format!("{registry}/auth/pushed");
    // A private daemon, stopped by PID on drop.
    struct Daemon(PathBuf);
    impl Drop for Daemon {
        fn drop(&mut self) {
            let _ = Command::new("bash")
                .arg(interop_tests::here().join("peers/dockerd.sh"))
                .arg("stop")
                .arg(&self.0)
                .status();
        }
    }
    let daemon = Daemon(work.path().join("dockerd"));
    std::fs::create_dir_all(&daemon.0).expect("mkdir");
    for verb in ["start", "sandbox"] {
        interop_tests::ok(
            Command::new("bash")
                .arg(interop_tests::here().join("peers/dockerd.sh"))
                .arg(verb)
                .arg(&daemon.0),
        );
    }
    let config = work.path().join("docker-config");
    let port = stack.url.rsplit(':').next().expect("port");
    let tls = config.join("tls").join(format!("127.0.0.1:{port}"));
    std::fs::create_dir_all(&tls).expect("mkdir");
    std::fs::copy(&stack.ca, tls.join("ca.crt")).expect("ca");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        config.join("config.json"),
        serde_json::json!({"auths": {registry.clone(): {"auth": auth}}}).to_string(),
    )
    .expect("write");
    let docker = |args: &[&str]| {
        let out = Command::new(DOCKER)
            .env(
                "DOCKER_HOST",
                format!("unix://{}/docker.sock", daemon.0.display()),
            )
            .env("DOCKER_CONFIG", &config)
            .env("DOCKER_CONTENT_TRUST", "1")
            .env("DOCKER_CONTENT_TRUST_SERVER", &stack.url)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
            .args(args)
            .output()
            .expect("docker runs");
        no_secret(&out);
        out
    };
    exits(
        &docker(&["tag", "trustsandbox:latest", &format!("{gun}:v1")]),
        0,
    );
    let out = docker(&["push", &format!("{gun}:v1")]);
    exits(&out, 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Signing and pushing trust metadata"),
        "docker signed on push: {}",
        stdout(&out)
    );
    assert!(
        issuer.issued().iter().any(|i| i.who == USER
            && i.asked
                .iter()
                .any(|s| s.contains(&gun) && s.contains("push"))),
        "{:?}",
        issuer.issued()
    );
    // keytool reads what docker signed, with the same credentials; not without them.
    let trust = work.path().join("trust");
    let status = |config: &Path| {
        let out = keytool(&trust)
            .env("DOCKER_CONFIG", config)
            .args([
                "--json",
                "status",
                "--repo",
                &gun,
                "--server",
                &stack.url,
                "--tlscacert",
            ])
            .arg(&stack.ca)
            .output()
            .expect("keytool runs");
        no_secret(&out);
        out
    };
    let out = status(&config);
    assert_ne!(out.status.code(), Some(5), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["published"], true, "{v}");
    let empty = work.path().join("empty-config");
    std::fs::create_dir_all(&empty).expect("mkdir");
    exits(&status(&empty), 5);
}
