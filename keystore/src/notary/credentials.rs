//! Registry credentials as docker finds them, for a Notary server's token service.
//!
//! docker (`cli/config/credentials`) picks one store per registry: the credential helper of
//! `credHelpers[<host>]` in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), else
//! the helper of `credsStore`, else the file's own `auths` entry (`auth`: base64 of
//! `user:password`; `identitytoken`: an OAuth refresh token). The registry is the first component
//! of the GUN when it names a host (has a `.` or `:`, or is `localhost`), else Docker Hub, whose
//! credentials docker keeps under `https://index.docker.io/v1/`. No entry: anonymous.
//!
//! A helper is run as `docker-credential-<name> get` with the registry on its standard input
//! and answers JSON on its standard output (`{"ServerURL","Username","Secret"}`, a `Username` of
//! `<token>` meaning the secret is an identity token). Nothing is ever passed in argv, stored,
//! logged, or put in an error message; the credential type has no `Display` and a redacted `Debug`.
// Without the HTTPS client only `explain` is used; the lookup stays compiled (and unit-tested)
// so that both builds keep one definition of docker's rules.
#![cfg_attr(not(feature = "notary-client"), allow(dead_code))]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::{Argument, Error, Result};
use crate::ids::Gun;

/// Largest `config.json` read.
const MAX_CONFIG: u64 = 1024 * 1024;
/// Largest answer read from a credential helper.
const MAX_HELPER_OUTPUT: u64 = 64 * 1024;
/// Time a credential helper may take (an unlocked keyring answers in milliseconds; a locked one
/// may show an unlock prompt).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);
/// The key docker files Docker Hub's credentials under.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Where docker's client configuration is: `$DOCKER_CONFIG`, else `$HOME/.docker`.
pub fn docker_config_dir(settings: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    settings("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            settings("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".docker"))
        })
}

/// The registry whose credentials docker uses for `gun`: its host (`registry.example.com:5000`),
/// or [`DOCKER_HUB`] for Docker Hub names.
pub fn registry_of(gun: &Gun) -> String {
    let first = gun.as_str().split('/').next().unwrap_or("");
    let names_host = gun.as_str().contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if !names_host || first == "docker.io" || first == "index.docker.io" {
        DOCKER_HUB.to_owned()
    } else {
        first.to_owned()
    }
}

/// docker's `ConvertToHostname`: a config key without scheme and path.
fn hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// Where the credential for a registry would come from (never the credential itself).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialOrigin {
    /// An `auths` entry of docker's `config.json`.
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The entry's key as written in the file.
        key: String,
        /// The entry holds an identity token (else a user name and password).
        identity_token: bool,
    },
    /// A credential helper, `docker-credential-<name>`, named by `credHelpers` or `credsStore`.
    Helper {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// `credHelpers` or `credsStore`.
        setting: &'static str,
        /// The configuration file that names it.
        config: PathBuf,
        /// Whether the program is found on this process's PATH (where it would be run from).
        installed: bool,
    },
    /// No credential: tokens are asked for anonymously.
    Anonymous {
        /// The configuration file looked in (`None`: neither `DOCKER_CONFIG` nor `HOME` is set).
        config: Option<PathBuf>,
        /// Whether that file exists.
        exists: bool,
    },
}

/// What [`explain`] found for a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialLookup {
    /// The registry the credential is filed under ([`registry_of`]).
    pub registry: String,
    /// Where it would come from.
    pub origin: CredentialOrigin,
}

/// A credential for a token service. No `Display`; `Debug` shows only the kind.
pub(crate) struct Credential {
    /// The user name (empty with an identity token from a helper).
    pub(crate) username: Zeroizing<String>,
    /// The password or the identity token.
    pub(crate) secret: Zeroizing<String>,
    /// `secret` is an identity token (an OAuth refresh token), not a password.
    pub(crate) identity_token: bool,
    /// Where it came from, for messages.
    pub(crate) origin: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("identity_token", &self.identity_token)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// docker's configuration file, parsed.
struct DockerConfig {
    path: PathBuf,
    exists: bool,
    json: serde_json::Value,
}

impl DockerConfig {
    fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DockerConfig {
                    path,
                    exists: false,
                    json: serde_json::Value::Null,
                });
            }
            Err(e) => return Err(Error::io("read docker's configuration", &path, e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read docker's configuration", &path, e))?;
        let bytes = Zeroizing::new(bytes);
        let bad = |reason: &str| Error::InvalidArgument {
            what: Argument::Setting("DOCKER_CONFIG"),
            reason: format!("docker's configuration {}: {reason}", path.display()),
        };
        if bytes.len() as u64 > MAX_CONFIG {
            return Err(bad("larger than 1 MiB"));
        }
        let json: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?
        };
        if !(json.is_object() || json.is_null()) {
            return Err(bad("not a JSON object"));
        }
        Ok(DockerConfig {
            path,
            exists: true,
            json,
        })
    }

    /// The helper for `registry`: `credHelpers[registry]`, else `credsStore`.
    fn helper(&self, registry: &str) -> Option<(String, &'static str)> {
        let by_host = self.json.get("credHelpers").and_then(|h| {
            h.get(registry).or_else(|| {
                h.as_object()?
                    .iter()
                    .find(|(k, _)| hostname(k) == hostname(registry))
                    .map(|(_, v)| v)
            })
        });
        if let Some(name) = by_host.and_then(|v| v.as_str()).filter(|s| !s.is_empty()) {
            return Some((name.to_owned(), "credHelpers"));
        }
        self.json
            .get("credsStore")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(|name| (name.to_owned(), "credsStore"))
    }

    /// The `auths` entry for `registry`: its exact key, else a key with the same host name.
    fn auth_entry(&self, registry: &str) -> Option<(&str, &serde_json::Value)> {
        let auths = self.json.get("auths")?.as_object()?;
        auths
            .get_key_value(registry)
            .or_else(|| {
                auths
                    .iter()
                    .find(|(k, _)| hostname(k) == hostname(registry))
            })
            .map(|(k, v)| (k.as_str(), v))
            .filter(|(_, v)| {
                ["auth", "identitytoken", "password"].iter().any(|f| {
                    v.get(f)
                        .and_then(|x| x.as_str())
                        .is_some_and(|s| !s.is_empty())
                })
            })
    }

    fn bad_entry(&self, key: &str, why: &str) -> Error {
        Error::InvalidArgument {
            what: Argument::Setting("DOCKER_CONFIG"),
            reason: format!(
                "the auths entry {key:?} of docker's configuration {}: {why}",
                self.path.display()
            ),
        }
    }
}

/// Checks a helper name: `docker-credential-<name>` must be a plain program name.
fn helper_program(name: &str, config: &Path) -> Result<String> {
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        || name.starts_with('.')
    {
        return Err(Error::InvalidArgument {
            what: Argument::Setting("DOCKER_CONFIG"),
            reason: format!(
                "docker's configuration {} names a credential helper that is not a plain name",
                config.display()
            ),
        });
    }
    Ok(format!("docker-credential-{name}"))
}

/// Whether `program` is an executable file in a directory of this process's PATH.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Where the credential for `gun`'s registry would come from, looking in the docker
/// configuration directory `config_dir` (see [`docker_config_dir`]). Runs no helper and
/// reveals no credential.
pub fn explain(gun: &Gun, config_dir: Option<&Path>) -> Result<CredentialLookup> {
    let registry = registry_of(gun);
    let Some(dir) = config_dir else {
        return Ok(CredentialLookup {
            registry,
            origin: CredentialOrigin::Anonymous {
                config: None,
                exists: false,
            },
        });
    };
    let config = DockerConfig::load(dir)?;
    let origin = if let Some((name, setting)) = config.helper(&registry) {
        let program = helper_program(&name, &config.path)?;
        CredentialOrigin::Helper {
            installed: on_path(&program),
            program,
            setting,
            config: config.path.clone(),
        }
    } else if let Some((key, entry)) = config.auth_entry(&registry) {
        CredentialOrigin::ConfigFile {
            path: config.path.clone(),
            key: key.to_owned(),
            identity_token: entry
                .get("identitytoken")
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty()),
        }
    } else {
        CredentialOrigin::Anonymous {
            config: Some(config.path.clone()),
            exists: config.exists,
        }
    };
    Ok(CredentialLookup { registry, origin })
}

/// The credential for `registry` (as [`registry_of`] names it), or `None`: anonymous.
pub(crate) fn lookup(registry: &str, config_dir: &Path) -> Result<Option<Credential>> {
    let config = DockerConfig::load(config_dir)?;
    if let Some((name, setting)) = config.helper(registry) {
        let program = helper_program(&name, &config.path)?;
        return run_helper(&program, registry).map(|found| {
            found.map(|mut c| {
                c.origin = format!("{program} ({setting} of {})", config.path.display());
                c
            })
        });
    }
    let Some((key, entry)) = config.auth_entry(registry) else {
        return Ok(None);
    };
    let text = |f: &str| entry.get(f).and_then(|v| v.as_str()).unwrap_or("");
    let (mut username, mut password) = (
        Zeroizing::new(text("username").to_owned()),
        Zeroizing::new(text("password").to_owned()),
    );
    if !text("auth").is_empty() {
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text("auth").trim())
                .map_err(|_| config.bad_entry(key, "\"auth\" is not base64"))?,
        );
        let decoded = std::str::from_utf8(&decoded)
            .map_err(|_| config.bad_entry(key, "\"auth\" is not text"))?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or_else(|| config.bad_entry(key, "\"auth\" is not user:password"))?;
        username = Zeroizing::new(user.to_owned());
        password = Zeroizing::new(pass.to_owned());
    }
    let origin = format!("the auths entry {key:?} of {}", config.path.display());
    let token = text("identitytoken");
    if !token.is_empty() {
        return Ok(Some(Credential {
            username,
            secret: Zeroizing::new(token.to_owned()),
            identity_token: true,
            origin,
        }));
    }
    if username.is_empty() {
        return Err(config.bad_entry(key, "it has a password but no user name"));
    }
    Ok(Some(Credential {
        username,
        secret: password,
        identity_token: false,
        origin,
    }))
}

/// Runs `program get` with `registry` on its standard input; `None` when it has no credential.
fn run_helper(program: &str, registry: &str) -> Result<Option<Credential>> {
    let failed = |reason: String| Error::Authentication {
        url: registry.to_owned(),
        repository: String::new(),
        scope: String::new(),
        reason: format!("the credential helper {program} {reason}"),
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            failed(if e.kind() == std::io::ErrorKind::NotFound {
                "is not installed (not found on PATH)".to_owned()
            } else {
                format!("cannot be started: {e}")
            })
        })?;
    let mut stdin = child.stdin.take();
    if let Some(s) = stdin.as_mut() {
        // A helper that exits without reading is reported by its exit status below.
        let _ = s.write_all(registry.as_bytes());
    }
    drop(stdin);
    let mut stdout = child.stdout.take();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Zeroizing::new(Vec::new());
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(MAX_HELPER_OUTPUT + 1).read_to_end(&mut out);
        }
        let _ = sender.send(out);
    });
    let deadline = Instant::now() + HELPER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "did not answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("could not be waited for: {e}"))),
        }
    };
    // The pipe closes with the helper, unless a process it left behind holds it open: that
    // reader is then abandoned rather than waited for.
    let out = received
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| failed("exited but left its output open".to_owned()))?;
    if !status.success() {
        // docker-credential-helpers' "not found" answer (credentials.errCredentialsNotFound).
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        return Err(failed(match status.code() {
            Some(code) => format!("failed (exit status {code})"),
            None => "was killed by a signal".to_owned(),
        }));
    }
    if out.len() as u64 > MAX_HELPER_OUTPUT {
        return Err(failed("answered more than 64 KiB".to_owned()));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out).map_err(|_| failed("did not answer JSON".to_owned()))?;
    let field = |f: &str| {
        Zeroizing::new(
            json.get(f)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
        )
    };
    let (username, secret) = (field("Username"), field("Secret"));
    if secret.is_empty() {
        return Ok(None);
    }
    let identity_token = username.as_str() == "<token>";
    Ok(Some(Credential {
        username: if identity_token {
            Zeroizing::new(String::new())
        } else {
            username
        },
        secret,
        identity_token,
        origin: program.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gun(s: &str) -> Gun {
        s.parse().expect("gun")
    }

    #[test]
    fn registries() {
        assert_eq!(registry_of(&gun("example.com/a/b")), "example.com");
        assert_eq!(registry_of(&gun("127.0.0.1:5000/a")), "127.0.0.1:5000");
        assert_eq!(registry_of(&gun("localhost/a")), "localhost");
        assert_eq!(registry_of(&gun("library/alpine")), DOCKER_HUB);
        assert_eq!(registry_of(&gun("docker.io/library/alpine")), DOCKER_HUB);
        assert_eq!(registry_of(&gun("alpine")), DOCKER_HUB);
    }

    fn config(json: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("config.json"), json).expect("write");
        dir
    }

    #[test]
    fn auths_entries() {
        // "alice:s3cret:with:colons"
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with:colons");
        let dir = config(&format!(
            r#"{{"auths":{{"https://reg.example:5000/v1/":{{"auth":"{auth}"}},"other.example":{{}}}}}}"#
        ));
        let c = lookup("reg.example:5000", dir.path())
            .expect("ok")
            .expect("found by host name");
        assert_eq!(c.username.as_str(), "alice");
        assert_eq!(c.secret.as_str(), "s3cret:with:colons");
        assert!(!c.identity_token);
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("alice"),
            "{debug}"
        );
        assert!(lookup("other.example", dir.path()).expect("ok").is_none());
        assert!(lookup("third.example", dir.path()).expect("ok").is_none());
        let e = explain(&gun("reg.example:5000/a"), Some(dir.path())).expect("explain");
        assert!(matches!(
            e.origin,
            CredentialOrigin::ConfigFile { ref key, identity_token: false, .. } if key == "https://reg.example:5000/v1/"
        ));
        let e = explain(&gun("other.example/a"), Some(dir.path())).expect("explain");
        assert!(matches!(
            e.origin,
            CredentialOrigin::Anonymous { exists: true, .. }
        ));
    }

    #[test]
    fn identity_tokens_and_bad_entries() {
        let dir =
            config(r#"{"auths":{"r.example":{"auth":"Ym9iOg==","identitytoken":"tok-123"}}}"#);
        let c = lookup("r.example", dir.path()).expect("ok").expect("found");
        assert!(c.identity_token);
        assert_eq!(c.secret.as_str(), "tok-123");
        let dir = config(r#"{"auths":{"r.example":{"auth":"!!!not base64 s3cret"}}}"#);
        let e = lookup("r.example", dir.path()).expect_err("bad base64");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let dir = config("{not json s3cret");
        let e = lookup("r.example", dir.path()).expect_err("bad json");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(e.to_string().contains("not JSON"), "{e}");
        let empty = tempfile::tempdir().expect("tmp");
        assert!(lookup("r.example", empty.path()).expect("ok").is_none());
    }

    #[test]
    fn helpers_are_chosen_like_docker() {
        let dir = config(
            r#"{"auths":{"r.example":{"auth":"Ym9iOnB3"}},"credsStore":"nosuchstore-kt","credHelpers":{"h.example":"nosuchhelper-kt"}}"#,
        );
        let e = explain(&gun("h.example/a"), Some(dir.path())).expect("explain");
        assert!(matches!(
            e.origin,
            CredentialOrigin::Helper { ref program, setting: "credHelpers", installed: false, .. } if program == "docker-credential-nosuchhelper-kt"
        ));
        // credsStore wins over the auths entry, as in docker.
        let e = explain(&gun("r.example/a"), Some(dir.path())).expect("explain");
        assert!(matches!(
            e.origin,
            CredentialOrigin::Helper {
                setting: "credsStore",
                ..
            }
        ));
        let err = lookup("h.example", dir.path()).expect_err("missing helper");
        assert!(err.to_string().contains("not installed"), "{err}");
        let dir = config(r#"{"credsStore":"../../bin/sh"}"#);
        assert!(explain(&gun("r.example/a"), Some(dir.path())).is_err());
    }

    /// A helper (a shell script) that reads the registry from stdin, as the protocol says.
    #[test]
    fn helper_protocol() {
        let bin = tempfile::tempdir().expect("tmp");
        let script = bin.path().join("docker-credential-kttest");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r host\ncase \"$host\" in\n  known.example) printf '{\"ServerURL\":\"%s\",\"Username\":\"carol\",\"Secret\":\"pw-1\"}' \"$host\";;\n  token.example) printf '{\"Username\":\"<token>\",\"Secret\":\"idt\"}';;\n  *) echo 'credentials not found in native keychain'; exit 1;;\nesac\n",
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let program = script.display().to_string();
        let c = run_helper(&program, "known.example")
            .expect("ok")
            .expect("found");
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("carol", "pw-1"));
        let c = run_helper(&program, "token.example")
            .expect("ok")
            .expect("found");
        assert!(c.identity_token && c.secret.as_str() == "idt" && c.username.is_empty());
        assert!(
            run_helper(&program, "unknown.example")
                .expect("ok")
                .is_none()
        );
    }
}
