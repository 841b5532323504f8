//! The registry a repository's images live in, asked one question before a digest is signed:
//! does it hold manifest D, and how many bytes is it? (`HEAD /v2/<name>/manifests/<digest>`,
//! anonymously.)
//!
//! The registry is named by the GUN, as docker names it: the first part when it holds a `.` or
//! a `:` or is `localhost` (`docker.io` is `registry-1.docker.io`). A loopback registry is asked
//! over plain HTTP, as docker treats `127.0.0.0/8` registries as insecure; every other over
//! HTTPS with the system's trust store.

#[cfg(feature = "notary-client")]
pub(crate) mod push;

use crate::error::{Argument, Error, Result};
use crate::ids::Gun;

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

/// Asks the registry of `gun` (or `base`) whether it holds manifest `digest`.
#[cfg(feature = "notary-client")]
pub(crate) fn manifest(gun: &Gun, digest: &str, base: Option<&str>) -> Result<Manifest> {
    let (base, path) = locate(gun, base)?;
    let url = format!("{base}/v2/{path}/manifests/{digest}");
    let failed = |reason: String| Error::Target {
        target: format!("registry {base}"),
        action: format!("look up manifest {digest} of {path}"),
        reason,
    };
    let response = agent(&base)
        .head(&url)
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        )
        .call()
        .map_err(|e| failed(format!("{e}")))?;
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
                return Err(failed(format!(
                    "the registry answers with manifest {} instead",
                    crate::ids::clip(&served)
                )));
            }
            Ok(Manifest::Present(
                header("content-length").and_then(|v| v.parse().ok()),
            ))
        }
        404 => Ok(Manifest::Absent),
        401 | 403 => Err(failed(
            "the registry asks for credentials, which this check does not send; skip the registry check to sign anyway"
                .into(),
        )),
        status => Err(failed(format!("the registry answered HTTP {status}"))),
    }
}

/// An HTTP agent for a registry: statuses are answers, not errors; bounded in time; a plain
/// HTTP (loopback) registry is never reached through a proxy.
#[cfg(feature = "notary-client")]
pub(crate) fn agent(base: &str) -> ureq::Agent {
    use std::time::Duration;
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .timeout_connect(Some(Duration::from_secs(10)))
        .max_redirects(3);
    if base.starts_with("http://") {
        config = config.proxy(None);
    }
    config.build().new_agent()
}

/// Always an error in this build: keystore was built without the feature `notary-client`,
/// which holds the HTTP client.
#[cfg(not(feature = "notary-client"))]
pub(crate) fn manifest(_gun: &Gun, _digest: &str, _base: Option<&str>) -> Result<Manifest> {
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
}
