//! A Notary server (spec §6.3): TUF metadata, server-managed keys and the multipart publish.
//!
//! The HTTPS client (ureq, rustls) is the feature `notary-client`, on by default. Without it
//! [`NotaryClient`] and the functions that find a server's CA are still here, so code that takes
//! an `Option<&NotaryClient>` compiles unchanged, but [`NotaryClient::new`] (and so
//! [`NotaryClient::connect`]) is an error that names the feature.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::tuf::TufKey;
/// notary's `trust_pinning`: how a repository's first root is trusted.
pub use crate::tuf::pinning::TrustPinning;

#[cfg(feature = "notary-client")]
pub(crate) mod auth;
pub mod credentials;
#[cfg(not(feature = "notary-client"))]
mod disabled;
#[cfg(feature = "notary-client")]
mod http;

/// A Notary server.
pub struct NotaryClient {
    base: String,
    pinning: TrustPinning,
    #[cfg(feature = "notary-client")]
    transport: http::Transport,
}

impl std::fmt::Debug for NotaryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotaryClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Where docker looks for a Notary server's CA: `<config dir>/tls/<host:port>/ca.crt`.
pub fn docker_ca_path(
    url: &str,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let host = host_port(url)?;
    let config = env("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let path = config.join("tls").join(host).join("ca.crt");
    path.exists().then_some(path)
}

/// The CA file to trust for the server at `url`, as every face resolves it: `given`, else the
/// `KEYTOOL_TLSCACERT` setting, else docker's `$DOCKER_CONFIG/tls/<host:port>/ca.crt` when it
/// exists; `None`: the system's trust store.
pub fn server_ca(
    url: &str,
    given: Option<&Path>,
    settings: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| {
            settings("KEYTOOL_TLSCACERT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| docker_ca_path(url, &settings))
}

/// `host:port` of a server URL, as docker names its `tls/<host:port>/` directory.
pub(crate) fn host_port(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    Some(rest.split('/').next().unwrap_or(rest))
}

impl NotaryClient {
    /// A client of the server at `url` as every face makes one: trusting the CA of
    /// [`server_ca`], and trusting a repository's first root only as notary's trust pinning
    /// allows ([`TrustPinning::load`]: notary's configuration merged with `own_pinning`).
    /// `settings` reads `KEYTOOL_TLSCACERT`, `KEYTOOL_NOTARY_CONFIG`, `DOCKER_CONFIG`, `HOME`.
    /// When the server asks for a token, the registry credentials are docker's, from
    /// `$DOCKER_CONFIG` (else `$HOME/.docker`): see [`credentials`].
    pub fn connect(
        url: &str,
        ca: Option<&Path>,
        settings: impl Fn(&str) -> Option<std::ffi::OsString>,
        own_pinning: Option<TrustPinning>,
    ) -> Result<Self> {
        let ca = server_ca(url, ca, &settings);
        let pinning = TrustPinning::load(None, &settings, own_pinning)?;
        Ok(NotaryClient::new(url, ca.as_deref())?
            .with_pinning(pinning)
            .with_docker_credentials(credentials::docker_config_dir(&settings)))
    }

    /// The same client, trusting a repository's first root only as `pinning` allows (notary's
    /// `trust_pinning`; without it, trust on first use).
    pub fn with_pinning(mut self, pinning: TrustPinning) -> Self {
        self.pinning = pinning;
        self
    }

    /// The trust pinning applied to roots from this server.
    pub fn pinning(&self) -> &TrustPinning {
        &self.pinning
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn url_for(&self, gun: &Gun, file: &str) -> String {
        format!("{}/v2/{}/_trust/tuf/{file}", self.base, gun)
    }

    /// The server-managed public key of `role` (`timestamp` or `snapshot`), created by the server
    /// on first request.
    pub(crate) fn server_key(&self, gun: &Gun, role: &str) -> Result<TufKey> {
        let file = format!("{role}.key");
        let body = self.get(gun, &file)?.ok_or_else(|| Error::ServerRejected {
            url: self.url_for(gun, &file),
            status: 404,
            body: String::new(),
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| Error::InvalidMetadata {
                reason: format!("the server's {role} key is not JSON"),
            })?;
        TufKey::from_json(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_ca_paths() {
        let tmp = tempfile::tempdir().expect("tmp");
        let ca = tmp.path().join("tls/127.0.0.1:4443/ca.crt");
        std::fs::create_dir_all(ca.parent().expect("parent")).expect("mkdir");
        std::fs::write(&ca, b"x").expect("write");
        let root = tmp.path().to_path_buf();
        let env = move |k: &str| (k == "DOCKER_CONFIG").then(|| root.clone().into_os_string());
        assert_eq!(
            docker_ca_path("https://127.0.0.1:4443", &env),
            Some(ca.clone())
        );
        assert_eq!(
            server_ca("https://127.0.0.1:4443/", None, &env),
            Some(ca),
            "docker's CA when nothing else is given"
        );
        assert_eq!(docker_ca_path("https://127.0.0.1:4444", &env), None);
    }
}
