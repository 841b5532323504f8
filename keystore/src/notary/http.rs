//! The blocking HTTPS client of the Notary server API (feature `notary-client`): bounded bodies,
//! timeouts, and errors that say what to do.

use crate::error::Argument;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ureq::tls::{PemItem, RootCerts, TlsConfig};

use super::auth::{Access, Auth, Response};
use super::{NotaryClient, credentials, host_port};
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::tuf::pinning::TrustPinning;
use crate::tuf::{MAX_METADATA, TufKey};

/// Time allowed for one request.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed to set up a connection (TCP and TLS): a server that is up answers in
/// milliseconds, so a paused or unreachable one is reported well before [`TIMEOUT`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept for reuse: one for each of a bulk rotation's default workers
/// ([`crate::ops::DEFAULT_JOBS`]), twice over.
const MAX_IDLE_CONNECTIONS: usize = 2 * crate::ops::DEFAULT_JOBS;
/// Largest error body kept for messages.
const MAX_ERROR_BODY: usize = 512;

/// The HTTPS agent of a [`NotaryClient`].
pub(super) struct Transport {
    agent: ureq::Agent,
    /// Connection and whole-request timeouts, named in messages.
    timeouts: (Duration, Duration),
    /// Token authentication: credentials and tokens of this client's life.
    auth: Auth,
}

impl NotaryClient {
    /// A client of the server at `url` (`https://host[:port]`), trusting `ca` when given (a PEM
    /// file) and the system's trust store otherwise. Proxies from the environment are honoured,
    /// except for loopback servers.
    pub fn new(url: &str, ca: Option<&Path>) -> Result<Self> {
        Self::with_timeouts(url, ca, CONNECT_TIMEOUT, TIMEOUT)
    }

    /// [`NotaryClient::new`] with other timeouts (tests).
    pub(crate) fn with_timeouts(
        url: &str,
        ca: Option<&Path>,
        connect: Duration,
        total: Duration,
    ) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidArgument {
            what: Argument::ServerUrl,
            reason: format!("{url:?}: {reason}"),
        };
        let host = host_port(url).ok_or_else(|| bad("must start with https://"))?;
        if !url.starts_with("https://") {
            return Err(bad(
                "must start with https:// (docker refuses plain HTTP for content trust)",
            ));
        }
        let mut tls = TlsConfig::builder();
        if let Some(path) = ca {
            let pem = std::fs::read(path).map_err(|e| Error::io("read CA file", path, e))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(Error::InvalidArgument {
                    what: Argument::CaFile,
                    reason: format!("{} holds no PEM certificate", path.display()),
                });
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        } else {
            // The system's trust store (e.g. a corporate CA installed in /etc/ssl/certs), as
            // docker and notary use it.
            tls = tls.root_certs(RootCerts::PlatformVerifier);
        }
        let hostname = host
            .rsplit_once(':')
            .map_or(host, |(h, _)| h)
            .trim_matches(['[', ']']);
        let loopback =
            hostname == "localhost" || hostname.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let tls = tls.build();
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(true)
            .timeout_global(Some(total))
            .timeout_connect(Some(connect))
            .max_redirects(0)
            // One agent serves every thread of a bulk operation: keep a connection per worker
            // for reuse (ureq keeps 3 per host by default, so more workers would handshake anew).
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .tls_config(tls.clone());
        if loopback {
            config = config.proxy(None);
        }
        Ok(NotaryClient {
            base: url.trim_end_matches('/').to_owned(),
            pinning: TrustPinning::default(),
            transport: Transport {
                agent: config.build().new_agent(),
                timeouts: (connect, total),
                auth: Auth::new(tls, (connect, total)),
            },
        })
    }

    /// The same client, answering a server's token challenge with the registry credentials
    /// docker keeps in `config_dir` (`$DOCKER_CONFIG`; see [`super::credentials`]), or
    /// anonymously when it holds none. `None`, and a client made by [`NotaryClient::new`]: always
    /// anonymous.
    #[must_use]
    pub fn with_docker_credentials(mut self, config_dir: Option<std::path::PathBuf>) -> Self {
        self.transport.auth.set_config_dir(config_dir);
        self
    }

    /// docker's configuration directory this client takes registry credentials from, if any
    /// (the registry a repository's images live in is asked with the same credentials).
    pub(crate) fn docker_config(&self) -> Option<&Path> {
        self.transport.auth.config_dir()
    }

    /// Sends a request about `gun` (`request` makes it, with a bearer token or none), answering a
    /// token challenge with the credential of the GUN's registry: see [`Auth::send`].
    fn send(
        &self,
        gun: &Gun,
        write: bool,
        url: &str,
        request: impl Fn(Option<&str>) -> std::result::Result<Response, ureq::Error>,
    ) -> Result<Response> {
        let registry = credentials::registry_of(gun);
        let access = Access {
            server: &self.base,
            registry: &registry,
            gun: gun.as_str(),
            repository: gun.as_str(),
            write,
        };
        self.transport
            .auth
            .send(&access, request, |e| self.network(url, e))
    }

    /// A transport failure of the request for `url`, in words that say what was being waited
    /// for and what is likely wrong (never the TLS library's bare text).
    fn network(&self, url: &str, e: ureq::Error) -> Error {
        use crate::error::NetworkProblem as P;
        let request = url
            .strip_prefix(&self.base)
            .unwrap_or(url)
            .trim_start_matches("/v2/");
        let host = host_port(&self.base).unwrap_or(&self.base);
        let (connect, total) = self.transport.timeouts;
        let text = e.to_string();
        let (problem, reason) = match &e {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => (
                P::Timeout,
                format!(
                    "no connection to {host} within {} s (TCP and TLS set-up) for {request}; the server is down, paused or unreachable",
                    connect.as_secs()
                ),
            ),
            ureq::Error::Timeout(_) => (
                P::Timeout,
                format!(
                    "no complete answer within {} s to {request}; the server accepted the connection but stopped answering (paused or overloaded?)",
                    total.as_secs()
                ),
            ),
            _ if text.contains("InvalidContentType")
                || text.contains("corrupt message")
                || text.contains("InvalidMessage") =>
            {
                (
                    P::NotTls,
                    format!(
                        "{host} does not speak TLS (the port is plain HTTP or another service); requesting {request}"
                    ),
                )
            }
            _ if text.contains("UnknownIssuer") || text.contains("UnknownCA") => (
                P::UntrustedCertificate,
                format!(
                    "the TLS certificate of {host} is issued by a CA that is not trusted here (the CA file given, else the system's trust store); requesting {request}"
                ),
            ),
            _ if text.contains("NotValidForName") || text.contains("Expired") => (
                P::InvalidCertificate,
                format!(
                    "the TLS certificate of {host} is not valid for this name or has expired ({}); requesting {request}",
                    if text.contains("Expired") {
                        "expired"
                    } else {
                        "wrong name"
                    }
                ),
            ),
            ureq::Error::HostNotFound => (
                P::Unreachable,
                format!("the host name of {host} does not resolve; requesting {request}"),
            ),
            ureq::Error::ConnectionFailed => (
                P::Unreachable,
                format!("the connection to {host} failed; requesting {request}"),
            ),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => (
                P::Unreachable,
                format!(
                    "{host} refused the connection (nothing listens there); requesting {request}"
                ),
            ),
            _ => (P::Other, format!("{text}; requesting {request}")),
        };
        Error::Network {
            url: self.base.clone(),
            reason,
            problem,
        }
    }

    /// The status and body of an answer. A 2xx body over `limit` bytes is an error; of any other
    /// answer only the status matters, so at most [`MAX_ERROR_BODY`] bytes of its body are kept
    /// and the rest, or a body that breaks off, is ignored (a proxy's large 404 page is still a
    /// 404).
    fn read(
        &self,
        url: &str,
        response: ureq::http::Response<ureq::Body>,
        limit: usize,
    ) -> Result<(u16, Vec<u8>)> {
        use std::io::Read as _;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if !(200..300).contains(&status) {
            let mut bytes = Vec::with_capacity(MAX_ERROR_BODY);
            let _ = body
                .as_reader()
                .take(MAX_ERROR_BODY as u64)
                .read_to_end(&mut bytes);
            return Ok((status, bytes));
        }
        // Sized from Content-Length when it is within the limit: a large targets.json arrives in
        // one allocation instead of doubling into a half-empty one (each step a copy, and
        // every freed block is wiped).
        let hint = body
            .content_length()
            .filter(|&n| n <= limit as u64)
            .unwrap_or(0);
        let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
        body.with_config()
            .limit(limit as u64 + 1)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| match ureq::Error::from(e) {
                ureq::Error::BodyExceedsLimit(_) => Error::InvalidMetadata {
                    reason: format!("{url} sent more than {limit} bytes"),
                },
                e => self.network(url, e),
            })?;
        if bytes.len() > limit {
            return Err(Error::InvalidMetadata {
                reason: format!("{url} sent more than {limit} bytes"),
            });
        }
        Ok((status, bytes))
    }

    fn rejected(&self, url: &str, status: u16, body: &[u8]) -> Error {
        let text: String = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        Error::ServerRejected {
            url: url.to_owned(),
            status,
            body: text,
        }
    }

    /// GETs a metadata file of `gun`; `None` when the server has none (404).
    pub fn get(&self, gun: &Gun, file: &str) -> Result<Option<Vec<u8>>> {
        let url = self.url_for(gun, file);
        // notary-server: metadata needs `pull`, the server-managed keys `push` as well.
        let write = file.ends_with(".key");
        let response = self.send(gun, write, &url, |token| {
            let mut request = self.transport.agent.get(&url);
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            request.call()
        })?;
        let (status, body) = self.read(&url, response, MAX_METADATA)?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(self.rejected(&url, status, &body)),
        }
    }

    /// Asks the server for a new key of the server-managed `role` (`snapshot` or `timestamp`);
    /// the server keeps using the old one until a root.json naming the new one is published.
    pub(crate) fn rotate_server_key(&self, gun: &Gun, role: &str) -> Result<TufKey> {
        let url = self.url_for(gun, &format!("{role}.key"));
        let response = self.send(gun, true, &url, |token| {
            let mut request = self.transport.agent.post(&url);
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            request.send_empty()
        })?;
        let (status, body) = self.read(&url, response, 64 * 1024)?;
        if !(200..300).contains(&status) {
            return Err(self.rejected(&url, status, &body));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| Error::InvalidMetadata {
                reason: format!("the server's new {role} key is not JSON"),
            })?;
        TufKey::from_json(&value)
    }

    /// Publishes metadata files (`(role, bytes)`) in one multipart POST, as notary does.
    pub fn publish(&self, gun: &Gun, files: &[(&str, &[u8])]) -> Result<()> {
        let mut boundary_bytes = [0u8; 30];
        getrandom::fill(&mut boundary_bytes).map_err(|e| Error::Internal {
            what: format!("the OS random generator failed: {e}"),
        })?;
        let boundary = hex::encode(boundary_bytes);
        let mut body = Vec::new();
        for (role, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{role}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = format!("{}/v2/{}/_trust/tuf/", self.base, gun);
        let response = self.send(gun, true, &url, |token| {
            let mut request = self.transport.agent.post(&url).header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            );
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            request.send(&body[..])
        })?;
        let (status, reply) = self.read(&url, response, MAX_ERROR_BODY)?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(self.rejected(&url, status, &reply))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(NotaryClient::new("http://127.0.0.1:4443", None).is_err());
        assert!(NotaryClient::new("127.0.0.1:4443", None).is_err());
        let c = NotaryClient::new("https://127.0.0.1:4443/", None).expect("ok");
        let gun: Gun = "a.io/b/c".parse().expect("gun");
        assert_eq!(
            c.url_for(&gun, "root.json"),
            "https://127.0.0.1:4443/v2/a.io/b/c/_trust/tuf/root.json"
        );
    }
}

/// `read` against a real HTTPS server (python3's http.server behind TLS, a throwaway CA made
/// with openssl) that answers with bodies larger than the limits.
#[cfg(test)]
mod read_tests {
    use super::*;
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};

    /// Answers GET `.../root.json` with a 404 and GET `.../timestamp.json` with a 500, each with
    /// a 64 KiB HTML page, and POST with a 200 and a 70 KiB body.
    const SERVER: &str = r#"
import http.server, ssl, sys
page = b"<html>" + b"x" * 65536 + b"</html>"
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
    def do_GET(self):
        self.answer(404 if self.path.endswith("/root.json") else 500, page)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(200, b"{" + b" " * 70000 + b"}")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

    pub(super) struct Server(std::process::Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn openssl(dir: &Path, args: &[&str]) -> bool {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A client of the server, or `None` (skip) without python3 or openssl.
    fn serve(dir: &Path) -> Option<(Server, NotaryClient)> {
        serve_script(dir, SERVER)
    }

    /// A client of the python `script` (args: certificate, key; prints its port) behind TLS.
    pub(super) fn serve_script(dir: &Path, script: &str) -> Option<(Server, NotaryClient)> {
        let made = openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                "/CN=keytool test CA",
            ],
        ) && openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ) && std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").is_ok()
            && openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    "leaf.csr",
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "leaf.crt",
                    "-days",
                    "1",
                    "-extfile",
                    "ext",
                ],
            );
        if !made {
            eprintln!("skipped: openssl could not make test certificates");
            return None;
        }
        let Ok(mut child) = Command::new("python3")
            .args(["-c", script])
            .arg(dir.join("leaf.crt"))
            .arg(dir.join("leaf.key"))
            .stdout(Stdio::piped())
            .spawn()
        else {
            eprintln!("skipped: no python3");
            return None;
        };
        let mut port = String::new();
        let stdout = child.stdout.take()?;
        let server = Server(child);
        std::io::BufReader::new(stdout).read_line(&mut port).ok()?;
        let url = format!("https://127.0.0.1:{}", port.trim());
        let client = NotaryClient::new(&url, Some(&dir.join("ca.crt"))).expect("client");
        Some((server, client))
    }

    #[test]
    fn large_error_pages_keep_their_status() {
        let tmp = tempfile::tempdir().expect("tmp");
        let Some((_server, client)) = serve(tmp.path()) else {
            return;
        };
        let gun: Gun = "example.com/big/page".parse().expect("gun");
        // A proxy's large 404 page: "not published", not an error.
        assert_eq!(
            client.get(&gun, "root.json").expect("a 404 is an answer"),
            None
        );
        // A large 500 page: the server's refusal with its status and the start of the page.
        match client.get(&gun, "timestamp.json") {
            Err(Error::ServerRejected { status, body, .. }) => {
                assert_eq!(status, 500);
                assert!(body.starts_with("<html>xxx"), "{body}");
                assert!(body.len() <= MAX_ERROR_BODY, "{}", body.len());
            }
            other => panic!("expected the 500, got {other:?}"),
        }
        // A 2xx body over the limit is still refused.
        match client.rotate_server_key(&gun, "snapshot") {
            Err(Error::InvalidMetadata { reason }) => {
                assert!(reason.contains("more than 65536 bytes"), "{reason}");
            }
            other => panic!("expected the size limit, got {other:?}"),
        }
    }

    /// A server whose CA this machine does not trust: the message says so (not rustls'
    /// `UnknownIssuer`), and names the request.
    #[test]
    fn untrusted_ca_is_named_as_such() {
        let tmp = tempfile::tempdir().expect("tmp");
        let Some((_server, client)) = serve(tmp.path()) else {
            return;
        };
        let other = tempfile::tempdir().expect("tmp");
        // A CA file holding another certificate (the leaf's CA is not in it).
        std::fs::copy(tmp.path().join("leaf.crt"), other.path().join("ca.crt")).expect("copy");
        let client =
            NotaryClient::new(client.url(), Some(&other.path().join("ca.crt"))).expect("client");
        let gun: Gun = "example.com/tls/untrusted".parse().expect("gun");
        match client.get(&gun, "root.json") {
            Err(Error::Network {
                reason, problem, ..
            }) => {
                assert_eq!(problem, crate::error::NetworkProblem::UntrustedCertificate);
                assert!(reason.contains("not trusted here"), "{reason}");
                assert!(reason.contains("example.com/tls/untrusted"), "{reason}");
                assert!(!reason.contains("UnknownIssuer"), "{reason}");
            }
            other => panic!("expected a network error, got {other:?}"),
        }
    }
}

/// Servers that do not behave: a plain-HTTP port, and one that accepts and never answers.
#[cfg(test)]
mod transport_tests {
    use super::*;
    use crate::error::NetworkProblem;
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;

    #[test]
    fn a_plain_http_port_is_named_not_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let client = NotaryClient::new(&format!("https://127.0.0.1:{port}"), None).expect("client");
        let gun: Gun = "example.com/tls/plain".parse().expect("gun");
        match client.get(&gun, "root.json") {
            Err(Error::Network {
                reason, problem, ..
            }) => {
                assert_eq!(problem, NetworkProblem::NotTls, "{reason}");
                assert!(reason.contains("does not speak TLS"), "{reason}");
                assert!(!reason.contains("InvalidContentType"), "{reason}");
            }
            other => panic!("expected a network error, got {other:?}"),
        }
        let _ = server.join();
    }

    /// A paused server (the kernel accepts, nothing answers): the error comes after the
    /// connection timeout and says what was waited for.
    #[test]
    fn a_server_that_never_answers_is_reported_with_what_was_awaited() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = NotaryClient::with_timeouts(
            &format!("https://127.0.0.1:{port}"),
            None,
            Duration::from_secs(1),
            Duration::from_secs(3),
        )
        .expect("client");
        let gun: Gun = "example.com/paused/server".parse().expect("gun");
        match client.get(&gun, "root.json") {
            Err(Error::Network {
                reason, problem, ..
            }) => {
                assert_eq!(problem, NetworkProblem::Timeout, "{reason}");
                assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
                assert!(reason.contains("within 1 s"), "{reason}");
                assert!(
                    reason.contains("example.com/paused/server/_trust/tuf/root.json"),
                    "{reason}"
                );
                assert!(!reason.contains("timeout: global"), "{reason}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        drop(listener);
    }

    /// Token challenges from a hostile or unusual server: the realm on the same HTTPS port
    /// (trusted with the server's CA), a server that refuses every token (one token request, one
    /// retry, then the error), and challenges keytool does not answer.
    const AUTH_SERVER: &str = r#"
import http.server, ssl, sys, json
hits = {"token": 0}
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        port = self.server.server_address[1]
        realm = 'Bearer realm="https://127.0.0.1:%d/token",service="svc",scope="repository:x:pull"' % port
        if self.path.startswith("/token"):
            hits["token"] += 1
            self.answer(200, json.dumps({"token": "good-token", "expires_in": 120}).encode())
        elif self.path == "/count":
            self.answer(200, str(hits["token"]).encode())
        elif "/good/" in self.path:
            if self.headers.get("Authorization") == "Bearer good-token":
                self.answer(200, b"{}")
            else:
                self.answer(401, b"", [("WWW-Authenticate", realm)])
        elif "/stubborn/" in self.path:
            self.answer(401, b"", [("WWW-Authenticate", realm)])
        elif "/basic/" in self.path:
            self.answer(401, b"", [("WWW-Authenticate", 'Basic realm="x"')])
        elif "/offsite/" in self.path:
            self.answer(401, b"", [("WWW-Authenticate", 'Bearer realm="http://10.255.255.1/token"')])
        else:
            self.answer(401)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

    #[test]
    fn token_challenges() {
        let tmp = tempfile::tempdir().expect("tmp");
        let Some((_server, client)) = super::read_tests::serve_script(tmp.path(), AUTH_SERVER)
        else {
            return;
        };
        let count = || -> String {
            let url = format!("{}/count", client.url());
            let response = client.transport.agent.get(&url).call().expect("count");
            response.into_body().read_to_string().expect("text")
        };
        let gun = |s: &str| -> Gun { s.parse().expect("gun") };
        // An HTTPS realm on the server's own port: one token, reused by the next request.
        assert_eq!(
            client
                .get(&gun("example.com/good/app"), "root.json")
                .expect("ok"),
            Some(b"{}".to_vec())
        );
        assert_eq!(
            client
                .get(&gun("example.com/good/app"), "targets.json")
                .expect("ok"),
            Some(b"{}".to_vec())
        );
        assert_eq!(count(), "1", "the token is cached for its lifetime");
        // A server that refuses every token: one more token request, one retry, then the error.
        match client.get(&gun("example.com/stubborn/app"), "root.json") {
            Err(Error::Authentication {
                repository,
                scope,
                reason,
                ..
            }) => {
                assert_eq!(repository, "example.com/stubborn/app");
                assert_eq!(scope, "repository:example.com/stubborn/app:pull");
                assert!(
                    reason.contains("refused the token obtained anonymously"),
                    "{reason}"
                );
            }
            other => panic!("expected an authentication error, got {other:?}"),
        }
        assert_eq!(count(), "2", "no loop");
        for (repo, expect) in [
            ("example.com/basic/app", "Basic"),
            (
                "example.com/none/app",
                "without a WWW-Authenticate challenge",
            ),
            ("example.com/offsite/app", "plain HTTP"),
        ] {
            match client.get(&gun(repo), "root.json") {
                Err(e @ Error::Authentication { .. }) => {
                    assert!(e.to_string().contains(expect), "{e}");
                    assert_eq!(e.code(), crate::ErrorCode::AuthenticationFailed);
                }
                other => panic!("{repo}: expected an authentication error, got {other:?}"),
            }
        }
    }
}
