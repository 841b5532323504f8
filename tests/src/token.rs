//! A token issuer for a notary-server with token authentication (the registry's token
//! protocol), run by the test itself on 127.0.0.1: it answers `GET /token?service=…&scope=…`
//! (with `Authorization: Basic` or anonymously) and the OAuth `POST /token` with a refresh
//! token, and signs ES256 JWTs with a P-256 key whose self-signed certificate is the server's
//! `rootcertbundle` (the JWT names the key by `kid`, libtrust's key ID, which notary-server
//! derives from the certificate).
//!
//! Policy: a known user with the right password gets every action asked for; a valid refresh
//! token the same; an anonymous request gets `pull` on the public repositories only, nothing
//! else; a wrong password or refresh token is a 401. Every request is recorded (user or
//! "anonymous", the scopes asked and granted; never a password).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use sha2::Digest as _;

/// The service name the server and the issuer agree on.
pub const SERVICE: &str = "keytool-test-notary";
/// The issuer name in the tokens and the server's configuration.
pub const ISSUER: &str = "keytool-test-issuer";

/// One request the issuer answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The user, `anonymous`, or `refresh-token`.
    pub who: String,
    /// The scopes asked for.
    pub asked: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// Who may do what.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `(user, password)` pairs.
    pub users: Vec<(String, String)>,
    /// Refresh (identity) tokens accepted by the OAuth flow.
    pub refresh_tokens: Vec<String>,
    /// Repositories anonymous requests may pull.
    pub public: Vec<String>,
}

/// The running issuer; stopped (its thread left blocked on a closed listener) on drop.
pub struct TokenIssuer {
    /// `http://127.0.0.1:<port>/token`.
    pub realm: String,
    /// The certificate file (PEM), the server's `rootcertbundle`.
    pub cert: PathBuf,
    /// What was asked, in order.
    pub log: Arc<Mutex<Vec<Issued>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    port: u16,
}

impl TokenIssuer {
    /// Starts an issuer with `policy`, writing its certificate into `dir`.
    pub fn start(dir: &Path, policy: Policy) -> TokenIssuer {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let signing =
            p256::ecdsa::SigningKey::from_pkcs8_der(&key_pair.serialize_der()).expect("p256 key");
        let params = rcgen::CertificateParams::new(vec![ISSUER.to_owned()]).expect("params");
        let cert = params.self_signed(&key_pair).expect("self-signed");
        let cert_path = dir.join("token-issuer.crt");
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        let kid = libtrust_key_id(&signing);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = answer(stream, &policy, &signing, &kid, &log2);
            }
        });
        TokenIssuer {
            realm: format!("http://127.0.0.1:{port}/token"),
            cert: cert_path,
            log,
            stop,
            port,
        }
    }

    /// Writes the options of notary-server's `auth` section (type token) to `path`; the same
    /// object is docker-registry's `auth: token` section.
    pub fn server_options(&self, path: &Path) {
        let options = serde_json::json!({
            "realm": self.realm,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": self.cert,
        });
        std::fs::write(path, options.to_string()).expect("write auth options");
    }

    /// The requests answered so far.
    pub fn issued(&self) -> Vec<Issued> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// libtrust's key ID: SHA-256 of the SubjectPublicKeyInfo, first 240 bits, base32, in groups of
/// four joined by `:`.
fn libtrust_key_id(key: &p256::ecdsa::SigningKey) -> String {
    // The DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point.
    let mut spki = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    spki.extend_from_slice(key.verifying_key().to_sec1_point(false).as_bytes());
    let digest = sha2::Sha256::digest(&spki);
    let b32 = base32(&digest[..30]);
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn answer(
    stream: TcpStream,
    policy: &Policy,
    signing: &p256::ecdsa::SigningKey,
    kid: &str,
    log: &Mutex<Vec<Issued>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if headers.len() > 100 {
            break;
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut params = form(query);
    if method == "POST" {
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            .min(64 * 1024);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        params.extend(form(&String::from_utf8_lossy(&body)));
    }
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let asked: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    // Who is asking: Basic credentials, a refresh token, or nobody.
    let who: Result<Option<String>, ()> = if method == "POST" {
        match param("refresh_token") {
            Some(t) if policy.refresh_tokens.contains(&t) => Ok(Some("refresh-token".into())),
            _ => Err(()),
        }
    } else if let Some(basic) =
        header("authorization").and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .unwrap_or_default();
        let (user, pass) = decoded.split_once(':').unwrap_or(("", ""));
        if policy.users.iter().any(|(u, p)| u == user && p == pass) {
            Ok(Some(user.to_owned()))
        } else {
            Err(())
        }
    } else {
        Ok(None)
    };
    let mut stream = stream;
    let (status, body) = match &who {
        Err(()) => (401, r#"{"details":"invalid credentials"}"#.to_owned()),
        Ok(user) if param("service").as_deref() == Some(SERVICE) => {
            let access: Vec<serde_json::Value> = asked
                .iter()
                .filter_map(|scope| {
                    // "repository:host:5000/a/b:pull,push": the name may hold a colon.
                    let (kind, rest) = scope.split_once(':')?;
                    let (name, actions) = rest.rsplit_once(':')?;
                    let granted: Vec<&str> = actions
                        .split(',')
                        .filter(|a| {
                            user.is_some()
                                || (*a == "pull" && policy.public.iter().any(|p| p == name))
                        })
                        .collect();
                    (!granted.is_empty()).then(
                        || serde_json::json!({"type": kind, "name": name, "actions": granted}),
                    )
                })
                .collect();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("time")
                .as_secs();
            let mut jti = [0u8; 16];
            getrandom::fill(&mut jti).expect("random");
            let claims = serde_json::json!({
                "iss": ISSUER,
                "sub": user.clone().unwrap_or_default(),
                "aud": SERVICE,
                "exp": now + 300,
                "nbf": now - 10,
                "iat": now,
                "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "access": access,
            });
            let head = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": kid});
            let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            let input = format!(
                "{}.{}",
                b64(head.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let sig: p256::ecdsa::Signature = signing.sign(input.as_bytes());
            let jwt = format!("{input}.{}", b64(&sig.to_bytes()));
            (
                200,
                serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300})
                    .to_string(),
            )
        }
        Ok(_) => (400, r#"{"details":"unknown service"}"#.to_owned()),
    };
    if let Ok(mut log) = log.lock() {
        log.push(Issued {
            who: match &who {
                Ok(Some(u)) => u.clone(),
                Ok(None) => "anonymous".into(),
                Err(()) => "refused".into(),
            },
            asked,
            status,
        });
    }
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
