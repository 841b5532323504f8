//! The registry a repository's images live in, asked one question before a digest is signed:
//! does it hold manifest D, and how many bytes is it? (`HEAD /v2/<name>/manifests/<digest>`.)
//!
//! The registry is named by the GUN, as docker names it: the first part when it holds a `.` or
//! a `:` or is `localhost` (`docker.io` is `registry-1.docker.io`). A loopback registry is asked
//! over plain HTTP, as docker treats `127.0.0.0/8` registries as insecure; every other over
//! HTTPS with the system's trust store.
//!
//! A registry that asks for a token (`401` with `WWW-Authenticate: Bearer …`, as Docker Hub and
//! every registry with `auth: token` do) gets one through the Notary client's token code
//! ([`crate::notary::auth`]): the scope names the repository path (`repository:<path>:pull` to
//! read, `repository:<path>:pull,push` to push), and the credential is the one docker keeps for
//! the GUN's registry ([`crate::notary::credentials::registry_of`]) in the docker configuration
//! the Notary client was given ([`crate::notary::NotaryClient::with_docker_credentials`]), or
//! none (anonymous).

#[cfg(feature = "notary-client")]
pub(crate) mod push;

#[cfg(feature = "notary-client")]
use std::path::Path;
#[cfg(feature = "notary-client")]
use std::time::Duration;

use crate::error::{Argument, Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
#[cfg(feature = "notary-client")]
use crate::notary::auth::{Access, Auth, Response};
#[cfg(feature = "notary-client")]
use crate::notary::credentials;

/// Time allowed for one request to a registry.
#[cfg(feature = "notary-client")]
const TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed to set up a connection to a registry (or its token service).
#[cfg(feature = "notary-client")]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the registry says of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
// Without the HTTP client (feature notary-client) the registry is never asked.
#[cfg_attr(not(feature = "notary-client"), allow(dead_code))]
pub(crate) enum Manifest {
    /// It holds the manifest; its size when the registry said.
    Present(Option<u64>),
    /// It does not (404).
    Absent,
}

/// The registry base URL and repository path of `gun`; `base` overrides the URL.
pub(crate) fn locate(gun: &Gun, base: Option<&str>) -> Result<(String, String)> {
    let text = gun.as_str();
    let (first, rest) = text.split_once('/').unwrap_or(("", text));
    let named = first.contains('.') || first.contains(':') || first == "localhost";
    let (host, path) = if named {
        (first, rest.to_owned())
    } else {
        ("docker.io", text.to_owned())
    };
    if let Some(base) = base {
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::InvalidArgument {
                what: Argument::ServerUrl,
                reason: format!("the registry URL {base:?} must start with https:// or http://"),
            });
        }
        return Ok((base.trim_end_matches('/').to_owned(), path));
    }
    let host = if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    };
    let hostname = host
        .rsplit_once(':')
        .map_or(host, |(h, _)| h)
        .trim_matches(['[', ']']);
    let loopback = hostname == "localhost"
        || hostname
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme = if loopback { "http" } else { "https" };
    Ok((format!("{scheme}://{host}"), path))
}

/// One repository of one registry, with the token state of one command.
#[cfg(feature = "notary-client")]
pub(crate) struct Repository {
    agent: ureq::Agent,
    base: String,
    path: String,
    /// The GUN, as errors name the repository.
    gun: String,
    /// The key docker files this registry's credential under.
    registry: String,
    auth: Auth,
}

#[cfg(feature = "notary-client")]
impl Repository {
    /// The repository of `gun` at its registry (or at `base`), answering token challenges with
    /// the credential docker keeps in `docker_config` for the GUN's registry (`None`:
    /// anonymously).
    pub(crate) fn open(
        gun: &Gun,
        base: Option<&str>,
        docker_config: Option<&Path>,
    ) -> Result<Self> {
        use ureq::tls::{RootCerts, TlsConfig};
        let (base, path) = locate(gun, base)?;
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::PlatformVerifier)
            .build();
        let mut auth = Auth::new(tls.clone(), (CONNECT_TIMEOUT, TIMEOUT));
        auth.set_config_dir(docker_config.map(Path::to_path_buf));
        Ok(Repository {
            agent: agent(&base, tls),
            registry: credentials::registry_of(gun),
            gun: gun.to_string(),
            base,
            path,
            auth,
        })
    }

    /// The registry's base URL (`https://host[:port]`).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// What a request needs: `pull`, and `push` when `write`.
    fn access(&self, write: bool) -> Access<'_> {
        Access {
            server: &self.base,
            registry: &self.registry,
            gun: &self.gun,
            repository: &self.path,
            write,
        }
    }

    /// An error of `action` at this registry.
    fn failed(&self, action: String, reason: String) -> Error {
        Error::Target {
            target: format!("registry {}", self.base),
            action,
            reason,
        }
    }

    /// Sends `method` to `url` (below this registry), with a bearer token once the registry
    /// asks for one (see [`Auth::send`]); `action` words a failure.
    fn send(
        &self,
        write: bool,
        action: &dyn Fn() -> String,
        request: impl Fn(&ureq::Agent, Option<&str>) -> std::result::Result<Response, ureq::Error>,
    ) -> Result<Response> {
        self.auth.send(
            &self.access(write),
            |token| request(&self.agent, token),
            |e| self.failed(action(), e.to_string()),
        )
    }

    /// Asks the registry whether it holds manifest `digest`.
    pub(crate) fn manifest(&self, digest: &str) -> Result<Manifest> {
        let url = format!("{}/v2/{}/manifests/{digest}", self.base, self.path);
        let action = || format!("look up manifest {digest} of {}", self.path);
        let response = self.send(false, &action, |agent, token| {
            with_token(agent.head(&url), token)
                .header(
                    "Accept",
                    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                )
                .call()
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match response.status().as_u16() {
            200 => {
                if let Some(served) = header("docker-content-digest")
                    && served != digest
                {
                    return Err(self.failed(
                        action(),
                        format!(
                            "the registry answers with manifest {} instead",
                            crate::ids::clip(&served)
                        ),
                    ));
                }
                Ok(Manifest::Present(
                    header("content-length").and_then(|v| v.parse().ok()),
                ))
            }
            404 => Ok(Manifest::Absent),
            status => Err(self.failed(action(), format!("the registry answered HTTP {status}"))),
        }
    }
}

/// `request` with `Authorization: Bearer <token>` when there is a token.
#[cfg(feature = "notary-client")]
fn with_token<B>(request: ureq::RequestBuilder<B>, token: Option<&str>) -> ureq::RequestBuilder<B> {
    match token {
        Some(token) => request.header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// Asks the registry of `gun` (or `base`) whether it holds manifest `digest`, with the docker
/// credentials `server` was given.
#[cfg(feature = "notary-client")]
pub(crate) fn manifest(
    server: &NotaryClient,
    gun: &Gun,
    digest: &str,
    base: Option<&str>,
) -> Result<Manifest> {
    Repository::open(gun, base, server.docker_config())?.manifest(digest)
}

/// An HTTP agent for a registry: statuses are answers, not errors; bounded in time; a plain
/// HTTP (loopback) registry is never reached through a proxy.
#[cfg(feature = "notary-client")]
fn agent(base: &str, tls: ureq::tls::TlsConfig) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .max_redirects(3)
        .tls_config(tls);
    if base.starts_with("http://") {
        config = config.proxy(None);
    }
    config.build().new_agent()
}

/// Always an error in this build: keystore was built without the feature `notary-client`,
/// which holds the HTTP client.
#[cfg(not(feature = "notary-client"))]
pub(crate) fn manifest(
    _server: &NotaryClient,
    _gun: &Gun,
    _digest: &str,
    _base: Option<&str>,
) -> Result<Manifest> {
    Err(Error::InvalidArgument {
        what: Argument::NotaryServer,
        reason: "this build of keystore has no HTTP client (feature notary-client)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gun_names_the_registry() {
        let at = |g: &str| locate(&g.parse().expect("gun"), None).expect("locate");
        assert_eq!(
            at("127.0.0.1:5000/test/trusttest"),
            ("http://127.0.0.1:5000".into(), "test/trusttest".into())
        );
        assert_eq!(
            at("registry.example.com/app"),
            ("https://registry.example.com".into(), "app".into())
        );
        assert_eq!(
            at("docker.io/library/alpine"),
            (
                "https://registry-1.docker.io".into(),
                "library/alpine".into()
            )
        );
        assert_eq!(
            at("localhost:5000/a"),
            ("http://localhost:5000".into(), "a".into())
        );
        let gun: Gun = "sandboxregistry:5000/test/trusttest".parse().expect("gun");
        assert_eq!(
            locate(&gun, Some("http://127.0.0.1:5000/")).expect("override"),
            ("http://127.0.0.1:5000".into(), "test/trusttest".into())
        );
        assert!(locate(&gun, Some("ftp://x")).is_err());
    }

    /// A registry's token scope names the repository path; its credential is the one docker
    /// files under the GUN's registry (Docker Hub's key for `docker.io`), also when another URL
    /// reaches the registry.
    #[cfg(feature = "notary-client")]
    #[test]
    fn scopes_and_credential_keys() {
        use crate::notary::auth::scope_for;
        let open = |g: &str, base: Option<&str>| {
            Repository::open(&g.parse().expect("gun"), base, None).expect("open")
        };
        let scopes = |r: &Repository| {
            let (read, write) = (r.access(false), r.access(true));
            (
                scope_for(read.repository, read.write, None),
                scope_for(write.repository, write.write, None),
            )
        };
        let local = open("127.0.0.1:5000/test/trusttest", None);
        let access = local.access(false);
        assert_eq!(access.server, "http://127.0.0.1:5000");
        assert_eq!(access.registry, "127.0.0.1:5000");
        assert_eq!(access.gun, "127.0.0.1:5000/test/trusttest");
        assert_eq!(
            scopes(&local),
            (
                "repository:test/trusttest:pull".to_owned(),
                "repository:test/trusttest:pull,push".to_owned()
            )
        );
        let hub = open("docker.io/library/alpine", None);
        assert_eq!(hub.access(false).registry, credentials::DOCKER_HUB);
        assert_eq!(hub.access(false).server, "https://registry-1.docker.io");
        assert_eq!(scopes(&hub).0, "repository:library/alpine:pull");
        let elsewhere = open(
            "sandboxregistry:5000/test/trusttest",
            Some("http://127.0.0.1:5000"),
        );
        assert_eq!(elsewhere.access(true).registry, "sandboxregistry:5000");
        assert_eq!(elsewhere.access(true).server, "http://127.0.0.1:5000");
        assert_eq!(scopes(&elsewhere).1, "repository:test/trusttest:pull,push");
    }
}
