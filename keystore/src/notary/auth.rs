//! Token authentication, as docker and notary speak it to a Notary server and to a registry (the
//! registry's token protocol): a `401` names a token service in `WWW-Authenticate: Bearer
//! realm=…,service=…,scope=…`; the client asks that realm for a token for exactly the scope the
//! request needs (`repository:<name>:pull` to read, `repository:<name>:pull,push` to write, plus
//! any further action the server's challenge names for the same repository), with the registry
//! credentials of [`super::credentials`] when there are any, and retries the request once with
//! `Authorization: Bearer <token>`. A second refusal is an [`Error::Authentication`] naming the
//! server, the repository, the scope and where the credential came from; never a loop.
//!
//! The repository name is the server's: a Notary server names a repository by its GUN
//! (`registry.example.com/app`), a registry by its path (`app`, see [`crate::registry`]). Both
//! take the credential docker files under the GUN's registry ([`super::credentials::registry_of`]).
//!
//! Rules for the realm: HTTPS, trusted with the same CA as the server; plain HTTP only when the
//! realm's host is loopback. The realm may be on another host than the server (docker's rule
//! too: the server names its token service). Redirects are not followed (neither from the server
//! nor from the realm): a token service that redirects is an error that names it. Answers are
//! bounded ([`MAX_TOKEN_ANSWER`]), tokens must be header-safe text, and a token is cached for its
//! lifetime (`expires_in`, at least 60 s as the protocol says) for the life of the client, that
//! is one command.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ureq::tls::TlsConfig;
use zeroize::Zeroizing;

use super::credentials::{self, Credential};
use crate::error::{Error, Result};

/// Largest answer of a token service read (tokens of real registries are a few KiB).
pub(super) const MAX_TOKEN_ANSWER: usize = 256 * 1024;
/// Largest `WWW-Authenticate` value parsed.
const MAX_CHALLENGE: usize = 8 * 1024;
/// The shortest lifetime the protocol allows a token (`expires_in` below it means 60 s).
const MIN_LIFETIME: u64 = 60;
/// A token is not reused in the last seconds of its life.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// A `Bearer` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Challenge {
    pub(super) realm: String,
    pub(super) service: Option<String>,
    pub(super) scope: Option<String>,
}

/// The first `Bearer` challenge among `WWW-Authenticate` values; `Err(scheme)` names the
/// scheme(s) asked for when there is no Bearer challenge (`None` when there is no header).
pub(super) fn bearer_challenge<'a>(
    values: impl Iterator<Item = &'a str>,
) -> std::result::Result<Challenge, Option<String>> {
    let mut schemes = Vec::new();
    for value in values.take(16) {
        let value = &value[..floor_char_boundary(value, MAX_CHALLENGE)];
        let value = value.trim_start();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            if !scheme.is_empty() {
                schemes.push(scheme.chars().take(32).collect::<String>());
            }
            continue;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        if let Some(realm) = get("realm").filter(|r| !r.is_empty()) {
            return Ok(Challenge {
                realm,
                service: get("service"),
                scope: get("scope"),
            });
        }
        schemes.push("Bearer without a realm".to_owned());
    }
    Err((!schemes.is_empty()).then(|| schemes.join(", ")))
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = s.len().min(max);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `key=value` or `key="quoted \" value"`, comma-separated.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_whitespace() || *c == ',')
        {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' || c.is_ascii_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(char::is_ascii_whitespace) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(char::is_ascii_whitespace) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_ascii_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
        if out.len() > 32 {
            break;
        }
    }
    out
}

/// The scope a request about `repository` (the server's name for it) needs: `pull`, plus `push` to write, plus the actions the server's
/// challenge asks for on the same repository (e.g. notary's `*` to rotate a server key).
pub(crate) fn scope_for(repository: &str, write: bool, challenge: Option<&str>) -> String {
    let mut actions: Vec<String> = vec!["pull".into()];
    if write {
        actions.push("push".into());
    }
    let prefix = format!("repository:{repository}:");
    for part in challenge.unwrap_or("").split(' ') {
        if let Some(asked) = part.strip_prefix(&prefix) {
            for action in asked.split(',') {
                let action = action.trim();
                if !action.is_empty()
                    && action.len() <= 32
                    && action
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'_')
                    && !actions.iter().any(|a| a == action)
                {
                    actions.push(action.to_owned());
                }
            }
        }
    }
    format!("{prefix}{}", actions.join(","))
}

/// A host is loopback: `localhost` or a loopback address.
pub(super) fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of a URL (`scheme://host[:port]/...`), without port.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    Some(if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    })
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a request is sent to and about: the server named in errors, the registry whose
/// credential answers a challenge, the repository named in the scope, and the access asked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Access<'a> {
    /// The server's base URL (`https://notary.example.com`, `http://127.0.0.1:5000`).
    pub(crate) server: &'a str,
    /// The key docker files the credential under: the registry host, or
    /// [`super::credentials::DOCKER_HUB`] ([`super::credentials::registry_of`]).
    pub(crate) registry: &'a str,
    /// The repository (GUN), as errors name it.
    pub(crate) gun: &'a str,
    /// The repository as the server names it in scopes (a Notary server: the GUN; a registry:
    /// the repository path).
    pub(crate) repository: &'a str,
    /// `push` as well as `pull`.
    pub(crate) write: bool,
}

/// An answer of a server.
pub(crate) type Response = ureq::http::Response<ureq::Body>;

/// The token state of a client: where credentials come from, the credentials found (once per
/// registry) and the tokens obtained (per scope), for the life of the client.
pub(crate) struct Auth {
    /// docker's configuration directory; `None`: always anonymous.
    config_dir: Option<PathBuf>,
    tls: TlsConfig,
    timeouts: (Duration, Duration),
    credentials: Mutex<HashMap<String, Option<std::sync::Arc<Credential>>>>,
    tokens: Mutex<HashMap<String, (Zeroizing<String>, Instant)>>,
}

/// The outcome of asking for a token, for the message of a later refusal.
pub(super) struct Obtained {
    pub(super) token: Zeroizing<String>,
    /// "anonymously" or "with the credential from …".
    pub(super) how: String,
}

impl Auth {
    /// Token state asking realms with `tls` (the server's trust) and `timeouts` (connect,
    /// whole request); anonymous until [`Auth::set_config_dir`].
    pub(crate) fn new(tls: TlsConfig, timeouts: (Duration, Duration)) -> Self {
        Auth {
            config_dir: None,
            tls,
            timeouts,
            credentials: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Takes credentials from docker's configuration directory `dir` (`None`: anonymous).
    pub(crate) fn set_config_dir(&mut self, dir: Option<PathBuf>) {
        self.config_dir = dir;
        self.credentials = Mutex::new(HashMap::new());
    }

    /// docker's configuration directory the credentials come from, if any.
    pub(crate) fn config_dir(&self) -> Option<&std::path::Path> {
        self.config_dir.as_deref()
    }

    /// A cached token for `scope` that is still valid.
    pub(super) fn cached(&self, scope: &str) -> Option<Zeroizing<String>> {
        let tokens = self.tokens.lock().ok()?;
        let (token, until) = tokens.get(scope)?;
        (Instant::now() < *until).then(|| token.clone())
    }

    fn credential(&self, registry: &str) -> Result<Option<std::sync::Arc<Credential>>> {
        let Some(dir) = &self.config_dir else {
            return Ok(None);
        };
        if let Some(found) = self
            .credentials
            .lock()
            .ok()
            .and_then(|c| c.get(registry).cloned())
        {
            return Ok(found);
        }
        let found = credentials::lookup(registry, dir)?.map(std::sync::Arc::new);
        if let Ok(mut c) = self.credentials.lock() {
            c.insert(registry.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// Sends a request for `access` (`request` makes it, with a bearer token or none; `network`
    /// words a transport failure). A `401` with a token challenge is answered once: a token for
    /// the scope (`pull`, and `push` when writing, plus what the challenge asks on the same
    /// repository) is fetched, or reused while valid, and the request is sent again; a second
    /// refusal (401 or 403) is [`Error::Authentication`].
    pub(crate) fn send(
        &self,
        access: &Access<'_>,
        request: impl Fn(Option<&str>) -> std::result::Result<Response, ureq::Error>,
        network: impl Fn(ureq::Error) -> Error,
    ) -> Result<Response> {
        let key = scope_for(access.repository, access.write, None);
        let cached = self.cached(&key);
        let response = request(cached.as_deref().map(String::as_str)).map_err(&network)?;
        if response.status().as_u16() != 401 {
            return Ok(response);
        }
        let values: Vec<String> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .take(16)
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        drop(response);
        let challenge = bearer_challenge(values.iter().map(String::as_str)).map_err(|asked| {
            Error::Authentication {
                url: access.server.to_owned(),
                repository: access.gun.to_owned(),
                scope: key.clone(),
                reason: match asked {
                    Some(schemes) => format!(
                        "the server asks for authentication (HTTP 401, {schemes}) but names no Bearer token service, the only kind keytool answers"
                    ),
                    None => "the server asks for authentication (HTTP 401) without a WWW-Authenticate challenge".to_owned(),
                },
            }
        })?;
        if cached.is_some() {
            self.forget(&key);
        }
        let scope = scope_for(access.repository, access.write, challenge.scope.as_deref());
        let obtained = self.fetch(access, &challenge, &scope, &key)?;
        let response = request(Some(obtained.token.as_str())).map_err(&network)?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            self.forget(&key);
            return Err(Error::Authentication {
                url: access.server.to_owned(),
                repository: access.gun.to_owned(),
                scope,
                reason: format!(
                    "the server refused the token obtained {} (HTTP {status}): these credentials lack this access to the repository",
                    obtained.how
                ),
            });
        }
        Ok(response)
    }

    /// Asks the challenge's realm for a token for `scope` (with the credential of
    /// `access.registry`, or anonymously), caches it under `cache_key` and returns it.
    pub(super) fn fetch(
        &self,
        access: &Access<'_>,
        challenge: &Challenge,
        scope: &str,
        cache_key: &str,
    ) -> Result<Obtained> {
        let fail = |reason: String| Error::Authentication {
            url: access.server.to_owned(),
            repository: access.gun.to_owned(),
            scope: scope.to_owned(),
            reason,
        };
        let realm = challenge.realm.as_str();
        let shown: String = realm
            .chars()
            .take(200)
            .filter(|c| !c.is_control())
            .collect();
        let host = url_host(realm).filter(|h| !h.is_empty()).ok_or_else(|| {
            fail(format!(
                "the server names a token service that is not a URL: {shown:?}"
            ))
        })?;
        let loopback = is_loopback(host);
        if realm.starts_with("http://") {
            if !loopback {
                return Err(fail(format!(
                    "the server names a token service over plain HTTP ({shown}); credentials and tokens are sent only over HTTPS, or plain HTTP on loopback"
                )));
            }
        } else if !realm.starts_with("https://") {
            return Err(fail(format!(
                "the server names a token service that is not an https:// URL: {shown:?}"
            )));
        }
        let credential = self.credential(access.registry).map_err(|e| match e {
            Error::Authentication { reason, .. } => fail(reason),
            e => e,
        })?;
        let how = match &credential {
            Some(c) => format!("with the credential from {}", c.origin),
            None => format!(
                "anonymously (no credential for {} in docker's configuration)",
                access.registry
            ),
        };
        let mut query = Vec::new();
        if let Some(service) = &challenge.service {
            query.push(format!("service={}", encode(service)));
        }
        query.push(format!("scope={}", encode(scope)));
        let (connect, total) = self.timeouts;
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(!loopback)
            .timeout_global(Some(total))
            .timeout_connect(Some(connect))
            .max_redirects(0)
            .tls_config(self.tls.clone());
        if loopback {
            config = config.proxy(None);
        }
        let agent = config.build().new_agent();
        let sent = match credential.as_deref() {
            Some(c) if c.identity_token => {
                // docker's OAuth flow: the identity token is a refresh token, POSTed as a form.
                let mut form = Zeroizing::new(query.join("&"));
                form.push_str("&grant_type=refresh_token&client_id=keytool&refresh_token=");
                form.push_str(&encode(&c.secret));
                agent
                    .post(realm)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .send(form.as_bytes())
            }
            other => {
                let sep = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{sep}{}", query.join("&"));
                let mut request = agent.get(&url);
                if let Some(c) = other {
                    let mut pair = Zeroizing::new(String::new());
                    pair.push_str(&c.username);
                    pair.push(':');
                    pair.push_str(&c.secret);
                    let basic = Zeroizing::new(format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
                    ));
                    request = request.header("Authorization", basic.as_str());
                }
                request.call()
            }
        };
        let response = sent.map_err(|e| {
            fail(match e {
                ureq::Error::Timeout(_) => {
                    format!("the token service {shown} did not answer in time")
                }
                ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    format!("the token service {shown} refused the connection")
                }
                e => format!(
                    "the token service {shown} cannot be reached ({})",
                    e.to_string().chars().take(200).collect::<String>()
                ),
            })
        })?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            return Err(fail(format!(
                "the token service {shown} redirects (HTTP {status}); redirects are not followed"
            )));
        }
        if status == 401 || status == 403 {
            return Err(fail(format!(
                "the token service {shown} refused to issue a token {how} (HTTP {status})"
            )));
        }
        if status != 200 {
            return Err(fail(format!(
                "the token service {shown} answered HTTP {status}"
            )));
        }
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_TOKEN_ANSWER as u64)
            .read_to_vec()
            .map_err(|e| {
                fail(match e {
                    ureq::Error::BodyExceedsLimit(_) => format!(
                        "the token service {shown} answered more than {} KiB",
                        MAX_TOKEN_ANSWER / 1024
                    ),
                    _ => format!("the answer of the token service {shown} broke off"),
                })
            })?;
        let body = Zeroizing::new(body);
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| fail(format!("the token service {shown} did not answer JSON")))?;
        let token = ["token", "access_token"]
            .iter()
            .find_map(|f| {
                json.get(f)
                    .and_then(|v| v.as_str())
                    .filter(|t| !t.is_empty())
            })
            .ok_or_else(|| {
                fail(format!(
                    "the answer of the token service {shown} has no token"
                ))
            })?;
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(fail(format!(
                "the token of the token service {shown} is not usable in an HTTP header"
            )));
        }
        let token = Zeroizing::new(token.to_owned());
        let lifetime = json
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(MIN_LIFETIME)
            .clamp(MIN_LIFETIME, 24 * 3600);
        let until = Instant::now() + Duration::from_secs(lifetime) - EXPIRY_MARGIN;
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(cache_key.to_owned(), (token.clone(), until));
        }
        Ok(Obtained { token, how })
    }

    /// Forgets the token cached under `cache_key` (the server refused it).
    pub(super) fn forget(&self, cache_key: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(cache_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = bearer_challenge(
            [r#"Bearer realm="https://auth.example/token",service="notary",scope="repository:a/b:push,pull""#]
                .into_iter(),
        )
        .expect("bearer");
        assert_eq!(c.realm, "https://auth.example/token");
        assert_eq!(c.service.as_deref(), Some("notary"));
        assert_eq!(c.scope.as_deref(), Some("repository:a/b:push,pull"));
        let c = bearer_challenge(
            [
                "Basic realm=x",
                r#"bearer  realm = "h\"q" , error=insufficient_scope"#,
            ]
            .into_iter(),
        )
        .expect("second value");
        assert_eq!(c.realm, "h\"q");
        assert_eq!(c.scope, None);
        assert_eq!(
            bearer_challenge(["Basic realm=\"r\""].into_iter()),
            Err(Some("Basic".into()))
        );
        assert_eq!(bearer_challenge([].into_iter()), Err(None));
        assert!(bearer_challenge(["Bearer service=x"].into_iter()).is_err());
        // Hostile values never panic.
        for v in [
            "Bearer",
            "Bearer realm",
            "Bearer realm=\"",
            "Bearer =,=,=",
            "Bearer realm=\"é\\",
        ] {
            let _ = bearer_challenge([v].into_iter());
        }
        let huge = format!("Bearer realm=\"{}é\"", "x".repeat(20_000));
        let _ = bearer_challenge([huge.as_str()].into_iter());
    }

    #[test]
    fn scopes() {
        let gun = "r.example/a/b";
        assert_eq!(scope_for(gun, false, None), "repository:r.example/a/b:pull");
        assert_eq!(
            scope_for(gun, true, None),
            "repository:r.example/a/b:pull,push"
        );
        assert_eq!(
            scope_for(gun, true, Some("repository:r.example/a/b:*")),
            "repository:r.example/a/b:pull,push,*"
        );
        // Actions on another repository are never asked for.
        assert_eq!(
            scope_for(
                gun,
                false,
                Some("repository:other/x:push repository:r.example/a/b:pull")
            ),
            "repository:r.example/a/b:pull"
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(url_host("http://127.0.0.1:5001/token?x"), Some("127.0.0.1"));
        assert_eq!(url_host("https://[::1]:80/t"), Some("::1"));
        assert_eq!(url_host("https://user@evil/t"), None);
        assert!(is_loopback("localhost") && is_loopback("::1") && is_loopback("127.0.0.2"));
        assert!(!is_loopback("10.0.0.1"));
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    /// A one-shot plain-HTTP token service on loopback answering `reply` to every request.
    fn realm(reply: Vec<u8>) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(&reply);
            }
        });
        format!("http://127.0.0.1:{port}/token")
    }

    fn http(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn ask(realm: &str) -> Result<Obtained> {
        let auth = Auth::new(
            TlsConfig::builder().build(),
            (Duration::from_secs(2), Duration::from_secs(3)),
        );
        let challenge = Challenge {
            realm: realm.to_owned(),
            service: Some("svc".into()),
            scope: None,
        };
        let scope = scope_for("r.example/a", false, None);
        let access = Access {
            server: "https://127.0.0.1:1",
            registry: "r.example",
            gun: "r.example/a",
            repository: "r.example/a",
            write: false,
        };
        let got = auth.fetch(&access, &challenge, &scope, &scope);
        if got.is_ok() {
            assert!(auth.cached(&scope).is_some(), "the token is cached");
        }
        got
    }

    fn refused(realm: &str, expect: &str) {
        match ask(realm) {
            Err(Error::Authentication { reason, scope, .. }) => {
                assert!(reason.contains(expect), "{reason}");
                assert_eq!(scope, "repository:r.example/a:pull");
            }
            Err(other) => panic!("expected an authentication error, got {other}"),
            Ok(_) => panic!("expected {expect:?}, got a token"),
        }
    }

    #[test]
    fn a_good_token_is_cached() {
        let body = br#"{"token":"abc.def.ghi","expires_in":300}"#;
        let got = ask(&realm(http("200 OK", "", body))).expect("token");
        assert_eq!(got.token.as_str(), "abc.def.ghi");
        assert!(got.how.contains("anonymously"));
    }

    /// Hostile or broken token services: typed errors, no panic, no hang.
    #[test]
    fn hostile_token_services_are_refused() {
        let huge = format!(r#"{{"token":"{}"}}"#, "a".repeat(MAX_TOKEN_ANSWER + 10));
        refused(
            &realm(http("200 OK", "", huge.as_bytes())),
            "answered more than",
        );
        refused(&realm(http("200 OK", "", b"<html>")), "did not answer JSON");
        refused(
            &realm(http("200 OK", "", br#"{"expires_in":3}"#)),
            "has no token",
        );
        refused(
            &realm(http("200 OK", "", b"{\"token\":\"a\\r\\nX-Injected: 1\"}")),
            "not usable in an HTTP header",
        );
        refused(
            &realm(http("302 Found", "Location: http://127.0.0.1:9/x\r\n", b"")),
            "redirects are not followed",
        );
        refused(
            &realm(http("401 Unauthorized", "", b"")),
            "refused to issue a token",
        );
        refused(&realm(http("500 Oops", "", b"")), "answered HTTP 500");
        // Plain HTTP off loopback is refused before anything is sent; other schemes too.
        refused("http://10.255.255.1/token", "plain HTTP");
        refused("ftp://127.0.0.1/token", "not an https:// URL");
        refused("https://user@127.0.0.1/token", "not a URL");
        // A service that accepts and never answers: the request's own timeout.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/token", listener.local_addr().expect("addr"));
        refused(&url, "did not answer in time");
        drop(listener);
    }
}
