//! Registry token authentication for `keytool sign`'s registry check and `keytool migrate
//! sigstore`, against the real docker-registry configured with `auth: token` on loopback and the
//! token issuer this test runs (`interop_tests::token`); the notary-server asks for nothing:
//! 1. images are pushed (curl, with a token) to a private and a public repository;
//! 2. `sign` with docker's credentials (config.json `auths` for the registry host) passes the
//!    registry check, asking the issuer for `repository:<path>:pull` and nothing else, and a
//!    digest the registry does not hold is still refused; with a wrong password, and
//!    anonymously on the private repository, it fails with exit 5 naming the registry, the
//!    repository, the scope and the credential's source, and signs nothing; anonymously on the
//!    public repository (pull for everyone) it signs;
//! 3. `migrate sigstore` with the credentials pushes signatures that sigstore-rs reads (with a
//!    token) and verifies, asking for `pull` and `pull,push` only; with a wrong password, and
//!    anonymously on the public repository (pull only), it fails with exit 5 and pushes
//!    nothing;
//! 4. the password appears in no output.
//!
//! With the notary-server behind the same token service (as Docker Hub), one credential serves
//! both: `sign` asks for the Notary server's scopes by GUN and the registry's by path, nothing
//! else.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use interop_tests::token::{Issued, Policy, SERVICE, TokenIssuer};
use interop_tests::{Stack, exits, have, keytool, peers_required, stdout};

#[path = "support/registry.rs"]
mod registry;
#[path = "support/sigstore_judge.rs"]
mod sigstore_judge;
use registry::{Registry, digest};
use sigstore_judge::{expected, outcomes, sigstore_verifies};

const ROOT_PW: &str = "regauth-root-canary-5521";
const REPO_PW: &str = "regauth-repo-canary-7730";
const SIGSTORE_PW: &str = "regauth-sigstore-canary-1198";
const USER: &str = "bob";
/// The registry password; it must never appear in anything keytool prints.
const PASSWORD: &str = "Pw-registry-c41d9e07";
const WRONG: &str = "Pw-wrong-0b3f";
const PRIVATE: &str = "test/private";
const PUBLIC: &str = "test/public";

struct Env {
    issuer: TokenIssuer,
    stack: Stack,
    work: tempfile::TempDir,
    host: String,
}

impl Env {
    /// A docker configuration directory named `name` holding `config` as config.json.
    fn docker_config(&self, name: &str, config: &serde_json::Value) -> PathBuf {
        let dir = self.work.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("config.json"), config.to_string()).expect("write");
        dir
    }

    /// config.json with `user:password` for the registry host, as `docker login` writes it.
    fn login(&self, name: &str, password: &str) -> PathBuf {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
        self.docker_config(
            name,
            &serde_json::json!({"auths": {self.host.clone(): {"auth": auth}}}),
        )
    }

    /// `keytool --json ARGS --server …` with `DOCKER_CONFIG=docker_config`.
    fn keytool(&self, trust: &Path, docker_config: &Path, args: &[&str]) -> Output {
        let out = keytool(trust)
            .env("DOCKER_CONFIG", docker_config)
            .env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
            .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
            .env("KEYTOOL_DELEGATION_PASSPHRASE", SIGSTORE_PW)
            .env("KEYTOOL_KEYRING", "none")
            .arg("--json")
            .args(args)
            .args(["--server", &self.stack.url, "--tlscacert"])
            .arg(&self.stack.ca)
            .output()
            .expect("keytool runs");
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(PASSWORD) && !text.contains(&b64),
                "a credential leaked: {text}"
            );
        }
        out
    }

    /// The token requests made since `from`.
    fn issued_since(&self, from: usize) -> Vec<Issued> {
        self.issuer.issued()[from..].to_vec()
    }

    /// A token for `scope` from the issuer, asked with the right password (by curl).
    fn token(&self, scope: &str) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--noproxy", "*", "-G", "-u"])
            .arg(format!("{USER}:{PASSWORD}"))
            .args(["--data-urlencode", &format!("service={SERVICE}")])
            .args(["--data-urlencode", &format!("scope={scope}")])
            .arg(&self.issuer.realm)
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        answer["token"].as_str().expect("token").to_owned()
    }

    /// The repository `path` of the registry, driven by curl with a pull,push token.
    fn registry(&self, path: &str) -> Registry {
        let token = self.token(&format!("repository:{path}:pull,push"));
        Registry::new(&self.host, path, Some(token))
    }

    /// The tags the published targets.json of `gun` signs.
    fn signed_tags(&self, gun: &str) -> Vec<String> {
        let files = self.stack.metadata_files(gun);
        let (_, targets) = files
            .iter()
            .find(|(n, _)| n == "targets.json")
            .expect("targets.json");
        let targets: serde_json::Value = serde_json::from_slice(targets).expect("json");
        let mut tags: Vec<String> = targets["signed"]["targets"]
            .as_object()
            .expect("targets")
            .keys()
            .cloned()
            .collect();
        tags.sort();
        tags
    }
}

fn json_error(out: &Output) -> serde_json::Value {
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(|_| {
        panic!(
            "not a JSON error ({}): {}\n{}",
            out.status,
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    err["error"].clone()
}

/// An authentication failure of the registry (exit 5) that names the registry, the repository
/// (GUN), the scope asked and how the token was asked for (`how`).
#[track_caller]
fn refused_by_registry(env: &Env, out: &Output, gun: &str, scope: &str, how: &str) {
    exits(out, 5);
    let err = json_error(out);
    assert_eq!(err["kind"], "AuthenticationFailed", "{err}");
    let message = err["message"].as_str().expect("message");
    for part in [
        format!("http://{}", env.host),
        gun.to_owned(),
        format!("scope {scope}"),
        how.to_owned(),
    ] {
        assert!(message.contains(&part), "{part:?} missing in: {message}");
    }
}

/// The issuer (bob may do anything; anonymous users may pull `test/public`) and the stack:
/// notary-server with token authentication when `notary_too`, else without; docker-registry
/// with it. `None`: skip (a peer is missing).
fn start(notary_too: bool) -> Option<Env> {
    if !have("curl") {
        assert!(!peers_required(), "curl is required");
        return None;
    }
    let work = tempfile::tempdir().expect("tmp");
    let issuer = TokenIssuer::start(
        work.path(),
        Policy {
            users: vec![(USER.into(), PASSWORD.into())],
            refresh_tokens: Vec::new(),
            public: vec![PUBLIC.into()],
        },
    );
    let options = work.path().join("token-auth.json");
    issuer.server_options(&options);
    let stack = if notary_too {
        Stack::start_with_token_auth_everywhere(&options)
    } else {
        Stack::start_with_registry_token_auth(&options)
    };
    let Some(stack) = stack else {
        assert!(
            !peers_required(),
            "notary-server and docker-registry are required"
        );
        return None;
    };
    let host = stack.registry_host();
    Some(Env {
        issuer,
        stack,
        work,
        host,
    })
}

fn asked(issued: &[Issued]) -> Vec<String> {
    let mut all: Vec<String> = issued.iter().flat_map(|i| i.asked.clone()).collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn registry_checks_and_signature_pushes_use_docker_credentials() {
    let Some(env) = start(false) else { return };
    let trust = env.work.path().join("trust");
    let creds = env.login("credentials", PASSWORD);
    let wrong = env.login("wrong-credentials", WRONG);
    let anonymous = env.docker_config("anonymous", &serde_json::json!({}));
    let private = format!("{}/{PRIVATE}", env.host);
    let public = format!("{}/{PUBLIC}", env.host);

    // 1. Images in both repositories; both published (the Notary server needs no token).
    let (d1, s1) = env.registry(PRIVATE).push_image("v1", "private layer one");
    let (d2, s2) = env.registry(PRIVATE).push_image("v2", "private layer two");
    let (p1, ps1) = env.registry(PUBLIC).push_image("v1", "public layer one");
    for gun in [&private, &public] {
        exits(
            &env.keytool(&trust, &anonymous, &["init", "--repo", gun]),
            0,
        );
    }
    let sign = |config: &Path, gun: &str, tag: &str, d: &str, size: u64| {
        env.keytool(
            &trust,
            config,
            &[
                "sign",
                &format!("{gun}:{tag}"),
                "--digest",
                d,
                "--size",
                &size.to_string(),
            ],
        )
    };

    // 2. sign: with the credentials the check passes, asking only for pull on the path.
    let from = env.issuer.issued().len();
    let out = sign(&creds, &private, "v1", &d1, s1);
    exits(&out, 0);
    assert_eq!(
        env.issued_since(from),
        vec![Issued {
            who: USER.into(),
            asked: vec![format!("repository:{PRIVATE}:pull")],
            status: 200,
        }],
        "one token, for pull on the repository path"
    );
    // The token reads for real: a manifest the registry does not hold is still refused.
    let ghost = digest(b"never pushed");
    let out = sign(&creds, &private, "ghost", &ghost, 99);
    exits(&out, 2);
    assert!(
        json_error(&out)["message"]
            .as_str()
            .is_some_and(|m| m.contains("has no manifest")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong password: the issuer refuses; exit 5, nothing signed.
    let out = sign(&wrong, &private, "v2", &d2, s2);
    refused_by_registry(
        &env,
        &out,
        &private,
        &format!("repository:{PRIVATE}:pull"),
        "the auths entry",
    );
    // Anonymous on the private repository: a token without access, refused by the registry.
    let out = sign(&anonymous, &private, "v2", &d2, s2);
    refused_by_registry(
        &env,
        &out,
        &private,
        &format!("repository:{PRIVATE}:pull"),
        "anonymously",
    );
    assert_eq!(env.signed_tags(&private), vec!["v1".to_owned()]);
    // Anonymous on the public repository: pull for everyone, so the check passes.
    exits(&sign(&anonymous, &public, "v1", &p1, ps1), 0);
    assert_eq!(env.signed_tags(&public), vec!["v1".to_owned()]);
    exits(&sign(&creds, &private, "v2", &d2, s2), 0);

    // 3. migrate sigstore with the credentials: both manifests signed, pull and pull,push
    //    asked for the path only, by the user.
    let from = env.issuer.issued().len();
    let public_key = env.work.path().join("sigstore.pub");
    let out = env.keytool(
        &trust,
        &creds,
        &[
            "migrate",
            "sigstore",
            "--repo",
            &private,
            "--generate",
            "--public-key-out",
            public_key.to_str().expect("utf-8 path"),
        ],
    );
    exits(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        outcomes(&report),
        expected(&[(&d1, "signed"), (&d2, "signed")])
    );
    let key_id = report["key_id"].as_str().expect("key id").to_owned();
    let issued = env.issued_since(from);
    assert!(
        issued.iter().all(|i| i.who == USER && i.status == 200),
        "{issued:?}"
    );
    assert_eq!(
        asked(&issued),
        vec![
            format!("repository:{PRIVATE}:pull"),
            format!("repository:{PRIVATE}:pull,push"),
        ]
    );
    let pem = std::fs::read(&public_key).expect("public key written");
    for tag in ["v1", "v2"] {
        let layers = sigstore_verifies(&format!("{private}:{tag}"), &pem, Some((USER, PASSWORD)))
            .unwrap_or_else(|e| panic!("sigstore-rs refuses migrated {tag}: {e}"));
        assert_eq!(layers, 1, "{tag}");
    }

    // A wrong password: exit 5 before anything is pushed.
    let reader = env.registry(PUBLIC);
    let migrate = |config: &Path| {
        env.keytool(
            &trust,
            config,
            &["migrate", "sigstore", "--repo", &public, "--key", &key_id],
        )
    };
    let out = migrate(&wrong);
    refused_by_registry(
        &env,
        &out,
        &public,
        &format!("repository:{PUBLIC}:pull"),
        "the auths entry",
    );
    assert!(reader.signature_layers(&p1).is_empty());
    // Anonymous on the public repository: the manifest is read (pull), the push is refused.
    let from = env.issuer.issued().len();
    let out = migrate(&anonymous);
    refused_by_registry(
        &env,
        &out,
        &public,
        &format!("repository:{PUBLIC}:pull,push"),
        "anonymously",
    );
    assert!(reader.signature_layers(&p1).is_empty(), "nothing pushed");
    let issued = env.issued_since(from);
    assert!(issued.iter().all(|i| i.who == "anonymous"), "{issued:?}");
    assert_eq!(
        asked(&issued),
        vec![
            format!("repository:{PUBLIC}:pull"),
            format!("repository:{PUBLIC}:pull,push"),
        ]
    );
}

#[test]
fn one_credential_for_the_notary_server_and_the_registry() {
    let Some(env) = start(true) else { return };
    let trust = env.work.path().join("trust");
    let creds = env.login("credentials", PASSWORD);
    let gun = format!("{}/{PRIVATE}", env.host);
    let (d1, s1) = env.registry(PRIVATE).push_image("v1", "layer of both");
    exits(&env.keytool(&trust, &creds, &["init", "--repo", &gun]), 0);
    let from = env.issuer.issued().len();
    let out = env.keytool(
        &trust,
        &creds,
        &[
            "sign",
            &format!("{gun}:v1"),
            "--digest",
            &d1,
            "--size",
            &s1.to_string(),
        ],
    );
    exits(&out, 0);
    let issued = env.issued_since(from);
    assert!(
        issued.iter().all(|i| i.who == USER && i.status == 200),
        "{issued:?}"
    );
    let scopes = asked(&issued);
    assert!(
        scopes.contains(&format!("repository:{PRIVATE}:pull")),
        "the registry's scope names the path: {scopes:?}"
    );
    assert!(
        scopes
            .iter()
            .all(|s| s == &format!("repository:{PRIVATE}:pull")
                || s.starts_with(&format!("repository:{gun}:"))),
        "only the repository's scopes: {scopes:?}"
    );
    assert!(
        scopes
            .iter()
            .any(|s| s.starts_with(&format!("repository:{gun}:"))),
        "the Notary server's scope names the GUN: {scopes:?}"
    );
    // Anonymous: the Notary server refuses first (exit 5), the registry is not reached.
    let anonymous = env.docker_config("anonymous", &serde_json::json!({}));
    let (d2, s2) = env
        .registry(PRIVATE)
        .push_image("v2", "second layer of both");
    let out = env.keytool(
        &trust,
        &anonymous,
        &[
            "sign",
            &format!("{gun}:v2"),
            "--digest",
            &d2,
            "--size",
            &s2.to_string(),
        ],
    );
    exits(&out, 5);
    let message = json_error(&out)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains(&env.stack.url), "{message}");
}
