//! `sandbox push|pull`: the docker CLI inside a container (the content trust sandbox's
//! `trustsandbox`) pushes or pulls with content trust on, signing with the keys `provision` put
//! there.
//!
//! Passphrases reach the container only through the exec environment: keytool sets
//! `DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE` in the environment of its `docker exec` child and
//! passes `-e DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE` without a value, so docker copies it
//! from there. It never appears in an argv, and nothing is written to a file in the container.
//! Every other passphrase-bearing variable of keytool's environment (`*_PASSPHRASE`, the vault's)
//! is removed from the child's environment: docker gets exactly the one it needs.
//! The passphrase is checked against the local copy of the key first, so a wrong one is
//! keytool's clear error rather than docker's.
//!
//! The digest reported is the one in the server's targets.json, verified (signatures by the keys
//! root.json names, hashes, expiry) and compared with what docker printed.

use crate::error::Argument;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use base64::Engine as _;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId};
use crate::notary::NotaryClient;
use crate::ops::provision::{DockerCli, check_container_name, last_line, targets_keys};
use crate::ops::{KdfSettings, remote, unlock_with};
use crate::passphrase::PassphraseSource;
use crate::secret::Passphrase;
use crate::trust_dir::TrustDir;

/// The first docker client version whose `push` no longer signs (content trust moved to the
/// `docker trust` plugin).
pub const FIRST_CLIENT_WITHOUT_PUSH_SIGNING: u32 = 29;
/// The environment variable docker reads the repository (targets) key's passphrase from.
const REPOSITORY_PASSPHRASE: &str = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE";
/// Lines of docker's output kept to explain a failure.
const KEPT_LINES: usize = 200;
/// Longest output line kept or shown.
const MAX_LINE: usize = 2048;

/// Where and how to run docker.
pub struct SandboxOptions<'a> {
    /// The docker CLI on this machine (it honours `DOCKER_HOST`).
    pub docker: &'a DockerCli,
    /// The container that runs the docker client.
    pub container: &'a str,
    /// The Notary server, as keytool reaches it.
    pub server: &'a NotaryClient,
    /// The server's URL as the container reaches it (`https://notaryserver:4443` in the
    /// sandbox); `None`: the same URL as keytool's (host networking).
    pub container_server: Option<&'a str>,
    /// Receives docker's output, line by line, as it comes.
    pub on_output: &'a dyn Fn(&str),
}

/// An image reference split the way content trust sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// The repository, normalised as docker does (`docker.io/library/…` for short names).
    pub gun: Gun,
    /// The tag (`latest` when none is given).
    pub tag: String,
}

impl ImageRef {
    /// Parses `NAME[:TAG]`; digests are refused (content trust signs tags).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidArgument {
            what: Argument::Image,
            reason: format!("{reason}, got {:?}", crate::ids::clip(text)),
        };
        if text.contains('@') {
            return Err(bad(
                "content trust signs tags; give NAME[:TAG], not a digest",
            ));
        }
        let (name, tag) = match text.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (text, "latest"),
        };
        // docker's grammar: a tag starts with a letter, digit or _, and every part of the name
        // with a letter or digit, so nothing here can reach docker as an option (`-v`).
        if tag.is_empty()
            || tag.len() > 128
            || tag.starts_with(['-', '.'])
            || !tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(bad("invalid tag"));
        }
        if !name.split('/').all(|part| {
            part.as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphanumeric)
        }) {
            return Err(bad(
                "every part of an image name must start with a letter or digit",
            ));
        }
        let first = name.split('/').next().unwrap_or_default();
        let qualified = first.contains('.') || first.contains(':') || first == "localhost";
        let gun = if qualified && name.contains('/') {
            name.to_owned()
        } else if name.contains('/') {
            format!("docker.io/{name}")
        } else {
            format!("docker.io/library/{name}")
        };
        Ok(ImageRef {
            gun: gun.parse()?,
            tag: tag.to_owned(),
        })
    }

    /// `GUN:TAG`, the reference given to docker.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.gun, self.tag)
    }
}

/// The result of [`push`].
#[derive(Clone, Debug, Serialize)]
pub struct Pushed {
    /// The image pushed and signed.
    pub image: ImageRef,
    /// The signed manifest digest (`sha256:…`), from the verified targets.json.
    pub digest: String,
    /// The manifest size the signature covers.
    pub size: u64,
    /// The targets key(s) the server's root.json names, which signed targets.json.
    pub signed_by: Vec<String>,
    /// The docker client version in the container.
    pub client_version: String,
    /// How docker was asked to sign: `docker push` or `docker trust sign`.
    pub method: String,
}

/// The result of [`pull`].
#[derive(Clone, Debug, Serialize)]
pub struct Pulled {
    /// The image pulled.
    pub image: ImageRef,
    /// The digest docker pulled by, equal to the one the verified targets.json signs.
    pub digest: String,
}

/// Pushes `image` from the container with content trust, signed by the repository's targets key
/// that keytool holds (provisioned into the container beforehand).
pub fn push(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    image: &ImageRef,
    options: &SandboxOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Pushed> {
    check_container_name(options.container)?;
    let target = format!("container {}", options.container);
    let action = format!("push {} with content trust", image.reference());
    let (ids, published) = targets_keys(dir, &image.gun, Some(options.server))?;
    if published != Some(true) {
        return Err(Error::Target {
            target,
            action,
            reason: format!(
                "{} is not published on {}, so docker would create a repository key of its own",
                image.gun,
                options.server.url()
            ),
        });
    }
    let id = ids.first().ok_or_else(|| Error::KeyNotFound {
        key_id: format!("(the targets key {} expects)", options.server.url()),
        dir: dir.private_dir(),
    })?;
    // The passphrase docker will need, checked against keytool's copy of the key.
    let (path, file) = dir.read_key(id)?;
    let supplied = unlock_with(&file, Some(id), source, kdf)
        .map_err(|e| e.in_file(&path))?
        .1;

    let version = client_version(options)?;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let method = if major < FIRST_CLIENT_WITHOUT_PUSH_SIGNING {
        "docker push"
    } else {
        // docker 29 moved content trust out of push; `docker trust sign` pushes and signs.
        options
            .docker
            .run(
                &target,
                "find the docker trust command",
                &["exec", "--", options.container, "docker", "trust", "--help"],
                None,
                1 << 20,
            )
            .map_err(|_| Error::Target {
                target: target.clone(),
                action: action.clone(),
                reason: format!(
                    "the docker client {version} in the container no longer signs on push (since docker {FIRST_CLIENT_WITHOUT_PUSH_SIGNING}) and has no `docker trust` command; install the docker trust plugin there, or use a docker client before {FIRST_CLIENT_WITHOUT_PUSH_SIGNING}"
                ),
            })?;
        "docker trust sign"
    };
    let reference = image.reference();
    let inner: Vec<&str> = method.split(' ').chain(["--", &reference]).collect();
    let cmd = exec_command(
        options.docker,
        options.container,
        options.container_server.unwrap_or(options.server.url()),
        &inner,
        supplied.as_ref().map(|s| &s.passphrase),
        std::env::vars_os(),
    );
    let (ok, lines) = stream(cmd, options.on_output, &target, &action)?;
    if !ok {
        return Err(Error::Target {
            target,
            action,
            reason: last_line(&lines.join("\n")),
        });
    }
    let printed = docker_digest(&lines, "digest: ");
    let (digest, size, signed_by) =
        signed_target(dir, options.server, image)?.ok_or_else(|| Error::InvalidMetadata {
            reason: format!(
                "docker reported a signed push, but {} has no signed {} in targets.json",
                options.server.url(),
                image.reference()
            ),
        })?;
    check_same(printed.as_deref(), &digest, image)?;
    Ok(Pushed {
        image: image.clone(),
        digest,
        size,
        signed_by,
        client_version: version,
        method: method.into(),
    })
}

/// Pulls `image` in the container with content trust: docker resolves the tag through the
/// Notary server and pulls by digest. A refusal (unsigned tag, content that does not match the
/// signed digest) is an [`Error::VerificationFailed`].
pub fn pull(dir: &TrustDir, image: &ImageRef, options: &SandboxOptions<'_>) -> Result<Pulled> {
    check_container_name(options.container)?;
    let target = format!("container {}", options.container);
    let action = format!("pull {} with content trust", image.reference());
    let reference = image.reference();
    let cmd = exec_command(
        options.docker,
        options.container,
        options.container_server.unwrap_or(options.server.url()),
        &["docker", "pull", "--", &reference],
        None,
        std::env::vars_os(),
    );
    let (ok, lines) = stream(cmd, options.on_output, &target, &action)?;
    if !ok {
        return Err(classify_pull_failure(image, &target, &action, &lines));
    }
    let printed = docker_digest(&lines, "@");
    let (digest, _, _) =
        signed_target(dir, options.server, image)?.ok_or_else(|| Error::VerificationFailed {
            image: image.reference(),
            reason: format!(
                "docker pulled it, but {} has no signed tag {}",
                options.server.url(),
                image.tag
            ),
        })?;
    check_same(printed.as_deref(), &digest, image)?;
    Ok(Pulled {
        image: image.clone(),
        digest,
    })
}

/// `docker exec … -- CONTAINER inner…` with content trust on for `server`. Its environment is
/// `parent` without any passphrase-bearing variable ([`DockerCli::command_in`]), plus the
/// content trust settings and, for a push, `passphrase` as the repository passphrase: exactly
/// the one secret the child needs, and only in its environment.
fn exec_command(
    docker: &DockerCli,
    container: &str,
    server: &str,
    inner: &[&str],
    passphrase: Option<&Passphrase>,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> Command {
    let mut cmd = docker.command_in(&exec_args(container, passphrase.is_some()), parent);
    cmd.args(inner)
        .env("DOCKER_CONTENT_TRUST", "1")
        .env("DOCKER_CONTENT_TRUST_SERVER", server);
    if let Some(p) = passphrase {
        cmd.env(REPOSITORY_PASSPHRASE, OsStr::from_bytes(p.expose()));
    }
    cmd
}

/// `exec -e … -- CONTAINER`: the variables are named without values, so docker copies them from
/// its own environment (set by keytool) and none appears in an argv.
fn exec_args(container: &str, with_passphrase: bool) -> Vec<&str> {
    let mut args = vec![
        "exec",
        "-e",
        "DOCKER_CONTENT_TRUST",
        "-e",
        "DOCKER_CONTENT_TRUST_SERVER",
    ];
    if with_passphrase {
        args.extend(["-e", REPOSITORY_PASSPHRASE]);
    }
    args.extend(["--", container]);
    args
}

/// The docker client version inside the container.
fn client_version(options: &SandboxOptions<'_>) -> Result<String> {
    let out = options.docker.run(
        &format!("container {}", options.container),
        "run the docker client",
        &[
            "exec",
            "--",
            options.container,
            "docker",
            "version",
            "--format",
            "{{.Client.Version}}",
        ],
        None,
        4096,
    )?;
    let text = String::from_utf8_lossy(&out).trim().to_owned();
    if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Error::Target {
            target: format!("container {}", options.container),
            action: "run the docker client".into(),
            reason: format!("unexpected version {:?}", crate::ids::clip(&text)),
        });
    }
    Ok(text)
}

/// Runs `cmd`, handing each line of its stdout and stderr to `on_output` as it comes. Returns
/// whether it succeeded and the last lines of output.
fn stream(
    mut cmd: Command,
    on_output: &dyn Fn(&str),
    target: &str,
    action: &str,
) -> Result<(bool, Vec<String>)> {
    let failed = |reason: String| Error::Target {
        target: target.to_owned(),
        action: action.to_owned(),
        reason,
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run docker: {e}")))?;
    let (tx, rx) = mpsc::channel::<String>();
    let forward = |pipe: Option<Box<dyn Read + Send>>, tx: mpsc::Sender<String>| {
        std::thread::spawn(move || {
            let Some(pipe) = pipe else { return };
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line: String = line
                            .trim_end_matches(['\n', '\r'])
                            .chars()
                            .filter(|c| !c.is_control() || *c == '\t')
                            .take(MAX_LINE)
                            .collect();
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        })
    };
    let out = forward(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        tx.clone(),
    );
    let err = forward(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        tx,
    );
    let mut kept = std::collections::VecDeque::with_capacity(KEPT_LINES);
    for line in rx {
        on_output(&line);
        if kept.len() == KEPT_LINES {
            kept.pop_front();
        }
        kept.push_back(line);
    }
    let _ = out.join();
    let _ = err.join();
    let status = child
        .wait()
        .map_err(|e| failed(format!("docker did not finish: {e}")))?;
    Ok((status.success(), kept.into()))
}

/// The first `sha256:<64 hex>` that follows `marker` in docker's output.
fn docker_digest(lines: &[String], marker: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        let at = l.find(&format!("{marker}sha256:"))? + marker.len();
        let hex: String = l[at + 7..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        (hex.len() == 64).then(|| format!("sha256:{hex}"))
    })
}

fn check_same(printed: Option<&str>, signed: &str, image: &ImageRef) -> Result<()> {
    match printed {
        Some(p) if p != signed => Err(Error::VerificationFailed {
            image: image.reference(),
            reason: format!("docker used {p}, but the signed digest is {signed}"),
        }),
        _ => Ok(()),
    }
}

/// The verified digest and size of `image`'s tag where `docker pull` looks it up —
/// `targets/releases` first, then targets.json (notary's `GetTargetByName(tag, releases,
/// targets)`) — and the key IDs that signed it there; `None` when the tag is not signed.
fn signed_target(
    dir: &TrustDir,
    server: &NotaryClient,
    image: &ImageRef,
) -> Result<Option<(String, u64, Vec<String>)>> {
    let Some(remote) = remote::fetch(dir, server, &image.gun)? else {
        return Ok(None);
    };
    let releases = remote
        .delegations
        .iter()
        .find(|d| d.name == super::super::RELEASES)
        .and_then(|d| Some((d.targets.targets.get(&image.tag)?, d)));
    let (entry, signed_by): (_, Vec<String>) = match releases {
        Some((entry, file)) => (entry, file.signers.iter().cloned().collect()),
        None => {
            let Some(entry) = remote.targets.targets.get(&image.tag) else {
                return Ok(None);
            };
            let ids = remote.root.canonical_ids("targets");
            (entry, ids.iter().map(KeyId::to_string).collect())
        }
    };
    let Some(hash) = entry.hashes.get("sha256") else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!("the sha256 of {} in targets.json is malformed", image.tag),
        })?;
    let size = entry.length;
    Ok(Some((
        format!("sha256:{}", hex::encode(bytes)),
        size,
        signed_by,
    )))
}

/// A failed content-trust pull: refused by content trust, or another failure.
fn classify_pull_failure(image: &ImageRef, target: &str, action: &str, lines: &[String]) -> Error {
    let text = lines.join("\n");
    let lower = text.to_ascii_lowercase();
    let reason = last_line(&text);
    if lower.contains("does not have trust data")
        || lower.contains("no trust data for")
        || lower.contains("no valid trust data")
        || lower.contains("remote trust data does not exist")
    {
        return Error::VerificationFailed {
            image: image.reference(),
            reason: format!("the tag is not signed ({reason})"),
        };
    }
    // Past the trust lookup ("Pull (1 of 1): …@sha256:…"), a download that does not match the
    // signed digest fails verification; a tampered blob of another length ends early instead.
    let resolved = lines
        .iter()
        .any(|l| l.starts_with("Pull (") && l.contains("@sha256:"));
    if lower.contains("verification failed")
        || lower.contains("digest mismatch")
        || lower.contains("did not match")
        || (resolved && lower.contains("unexpected eof"))
    {
        return Error::VerificationFailed {
            image: image.reference(),
            reason: format!("the registry's content does not match the signed digest ({reason})"),
        };
    }
    Error::Target {
        target: target.to_owned(),
        action: action.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_normalise_like_docker() {
        let r = ImageRef::parse("127.0.0.1:5000/test/trusttest").expect("parse");
        assert_eq!(r.gun.as_str(), "127.0.0.1:5000/test/trusttest");
        assert_eq!(r.tag, "latest");
        let r = ImageRef::parse("127.0.0.1:5000/test/trusttest:v1").expect("parse");
        assert_eq!(r.reference(), "127.0.0.1:5000/test/trusttest:v1");
        assert_eq!(
            ImageRef::parse("busybox").expect("parse").gun.as_str(),
            "docker.io/library/busybox"
        );
        assert_eq!(
            ImageRef::parse("acme/app:1").expect("parse").gun.as_str(),
            "docker.io/acme/app"
        );
        assert!(ImageRef::parse("x/y@sha256:00").is_err());
        assert!(ImageRef::parse("x/y:").is_err());
    }

    #[test]
    fn image_references_that_docker_would_read_as_options_are_refused() {
        for bad in [
            "-v",
            "--help",
            "-evil.example.com/a/b",
            "--config=/tmp/x:latest",
            "localhost:5000/-a/b",
            "acme/app:-v",
            "acme/app:.x",
            "/acme/app",
        ] {
            let err = ImageRef::parse(bad).expect_err(bad);
            assert!(
                matches!(
                    err,
                    Error::InvalidArgument {
                        what: Argument::Image,
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
        for good in ["a", "0x/y:_v", "localhost:5000/a-b/c_d:v1.0-rc"] {
            assert!(ImageRef::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn exec_arguments_end_options_before_the_container() {
        assert_eq!(
            exec_args("c1", true),
            [
                "exec",
                "-e",
                "DOCKER_CONTENT_TRUST",
                "-e",
                "DOCKER_CONTENT_TRUST_SERVER",
                "-e",
                REPOSITORY_PASSPHRASE,
                "--",
                "c1"
            ]
        );
    }

    #[test]
    fn exec_child_gets_only_the_passphrase_it_needs() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tmp");
        let dump = tmp.path().join("env");
        let argv = tmp.path().join("argv");
        let program = tmp.path().join("docker");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nenv > '{}'\nprintf '%s\\n' \"$@\" > '{}'\n",
                dump.display(),
                argv.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let docker = DockerCli::new(&program);
        // keytool's own environment, as the child would inherit it.
        let parent: Vec<(OsString, OsString)> = [
            ("PATH", "/usr/bin:/bin"),
            ("DOCKER_HOST", "unix:///kt-test.sock"),
            ("KEYTOOL_ROOT_PASSPHRASE", "canary-keytool-root"),
            ("KEYTOOL_TARGETS_PASSPHRASE", "canary-keytool-targets"),
            ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "canary-dct-root"),
            (
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "canary-stale-repo",
            ),
            ("NOTARY_ROOT_PASSPHRASE", "canary-notary-root"),
            ("NOTARY_DELEGATION_PASSPHRASE", "canary-notary-delegation"),
            ("KEYTOOL_VAULT_PASSPHRASE", "canary-vault-master"),
            ("KEYTOOL_VAULT_PASSPHRASE_FILE", "/canary/master-file"),
            ("OTHER_TOOL_PASSPHRASE", "canary-other"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let repo = Passphrase::new("the-repository-passphrase".into());
        for passphrase in [Some(&repo), None] {
            let status = exec_command(
                &docker,
                "c1",
                "https://notary:4443",
                &["docker", "push", "--", "r/a:v"],
                passphrase,
                parent.clone(),
            )
            .status()
            .expect("run the fake docker");
            assert!(status.success());
            let env = std::fs::read_to_string(&dump).expect("env dump");
            assert!(!env.contains("canary"), "{env}");
            let secrets: Vec<&str> = env
                .lines()
                .filter(|l| {
                    l.split('=')
                        .next()
                        .is_some_and(|n| n.contains("PASSPHRASE"))
                })
                .collect();
            let want: &[&str] = match passphrase {
                Some(_) => {
                    &["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=the-repository-passphrase"]
                }
                None => &[],
            };
            assert_eq!(secrets, want, "{env}");
            for kept in [
                "DOCKER_HOST=unix:///kt-test.sock",
                "DOCKER_CONTENT_TRUST=1",
                "DOCKER_CONTENT_TRUST_SERVER=https://notary:4443",
            ] {
                assert!(env.lines().any(|l| l == kept), "{kept} missing: {env}");
            }
            let args = std::fs::read_to_string(&argv).expect("argv");
            assert!(!args.contains("the-repository-passphrase"), "{args}");
            assert!(
                args.ends_with("--\nc1\ndocker\npush\n--\nr/a:v\n"),
                "{args}"
            );
        }
    }

    #[test]
    fn digests_are_found_in_docker_output() {
        let d = "a".repeat(64);
        let lines = vec![
            "Pushed".to_owned(),
            format!("latest: digest: sha256:{d} size: 527"),
        ];
        assert_eq!(
            docker_digest(&lines, "digest: "),
            Some(format!("sha256:{d}"))
        );
        let lines = vec![format!("Pull (1 of 1): r:latest@sha256:{d}")];
        assert_eq!(docker_digest(&lines, "@"), Some(format!("sha256:{d}")));
    }

    #[test]
    fn pull_failures_are_classified() {
        let image = ImageRef::parse("127.0.0.1:1/a/b:c").expect("parse");
        let unsigned = vec!["No valid trust data for c".to_owned(),
            "remote trust data does not exist for 127.0.0.1:1/a/b: 127.0.0.1:1 does not have trust data for 127.0.0.1:1/a/b".to_owned()];
        assert!(matches!(
            classify_pull_failure(&image, "t", "a", &unsigned),
            Error::VerificationFailed { .. }
        ));
        let tampered = vec![
            format!("Pull (1 of 1): r:c@sha256:{}", "b".repeat(64)),
            "filesystem layer verification failed for digest sha256:00".to_owned(),
        ];
        assert!(matches!(
            classify_pull_failure(&image, "t", "a", &tampered),
            Error::VerificationFailed { .. }
        ));
        let other = vec!["Cannot connect to the Docker daemon".to_owned()];
        assert!(matches!(
            classify_pull_failure(&image, "t", "a", &other),
            Error::Target { .. }
        ));
    }
}
