//! Helpers for the interop suites: locating `keytool`, running the real `notary` and `docker`
//! CLIs, and a notary-server on loopback (with its local trust service, or with a notary-signer
//! as a remote one; in memory, or stored in a private MariaDB) started by
//! `peers/notary-stack.sh`.
//!
//! A missing peer skips a test, unless `KEYTOOL_REQUIRE_PEERS=1` (set by the test command and
//! CI), where it fails: the proof that keytool works is the real peers, never a mock.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod token;

/// The directory of this crate (`tests/`).
pub fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether missing peers must fail the run instead of skipping.
pub fn peers_required() -> bool {
    std::env::var("KEYTOOL_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// `true` when `program` is on PATH; otherwise skips (returns `false`) or panics when peers are
/// required.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !peers_required(),
            "{program} is required (KEYTOOL_REQUIRE_PEERS=1) but not installed; run tests/peers/install-deps.sh"
        );
        eprintln!("SKIPPED: {program} is not installed");
    }
    found
}

/// The `keytool` binary of this workspace, built on demand.
pub fn keytool_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>/keytool
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let bin = profile_dir.join("keytool");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "keytool"]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().expect("cargo runs").success(),
            "building keytool failed"
        );
    }
    bin
}

/// A program built into the same target directory as the running test (a binary of this
/// package or of the workspace), if it is there.
fn sibling_program(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join(name);
    path.is_file().then_some(path)
}

/// A `keytool` command on `trust_dir` with no inherited passphrase variables.
pub fn keytool(trust_dir: &Path) -> Command {
    let mut cmd = Command::new(keytool_bin());
    clean_env(&mut cmd);
    cmd.arg("--trust-dir")
        .arg(trust_dir)
        .arg("--non-interactive");
    cmd
}

/// A `notary` command on `trust_dir` with no inherited passphrase variables.
pub fn notary(trust_dir: &Path) -> Command {
    let mut cmd = Command::new("notary");
    clean_env(&mut cmd);
    cmd.arg("-d").arg(trust_dir);
    cmd
}

fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE")
            || k.starts_with("KEYTOOL_")
            || k.starts_with("NOTARY_")
            || k.starts_with("DOCKER_")
        {
            cmd.env_remove(k);
        }
    }
}

/// Runs a command, panicking with its output when it fails.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts that a finished command exited with `code`, showing its output otherwise.
#[track_caller]
pub fn exits(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{} instead of exit code {code}:\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One row of `notary key list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotaryKey {
    /// ROLE column.
    pub role: String,
    /// GUN column (notary cuts long GUNs to `...` + their last 22 characters).
    pub gun: String,
    /// KEY ID column.
    pub id: String,
}

/// Parses `notary key list` output.
pub fn notary_key_list(trust_dir: &Path) -> Vec<NotaryKey> {
    let out = ok(notary(trust_dir).args(["key", "list"]));
    stdout(&out)
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let id_at = cols
                .iter()
                .position(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))?;
            Some(NotaryKey {
                role: cols[0].to_owned(),
                gun: if id_at == 2 {
                    cols[1].to_owned()
                } else {
                    String::new()
                },
                id: cols[id_at].to_owned(),
            })
        })
        .collect()
}

/// Whether notary's (possibly cut) GUN column shows `gun`.
pub fn gun_matches(column: &str, gun: &str) -> bool {
    match column.strip_prefix("...") {
        Some(tail) => gun.ends_with(tail),
        None => column == gun,
    }
}

/// Which trust service a [`Stack`]'s notary-server uses for the keys it manages itself (the
/// timestamp key, and the snapshot key when that is server-managed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustService {
    /// `trust_service.type = "local"`: Ed25519 keys inside notary-server.
    Local,
    /// `trust_service.type = "remote"`: ECDSA keys held by a notary-signer (gRPC with mutual
    /// TLS, memory storage on loopback) that the stack starts as well.
    Remote,
}

impl TrustService {
    /// The TUF `keytype` of the server-managed keys in this mode.
    pub fn key_type(self) -> &'static str {
        match self {
            TrustService::Local => "ed25519",
            TrustService::Remote => "ecdsa",
        }
    }
}

/// Whether `KEYTOOL_STACK_DB` asks for every [`Stack`] to store its data in MariaDB
/// (`mariadb`) rather than in memory (unset, empty or `memory`).
fn stack_db_from_env() -> bool {
    match std::env::var("KEYTOOL_STACK_DB").as_deref() {
        Ok("mariadb") => true,
        Ok("" | "memory") | Err(_) => false,
        Ok(other) => panic!("KEYTOOL_STACK_DB={other}: expected memory or mariadb"),
    }
}

/// The private MariaDB server of a [`Stack`] started with [`Stack::start_with_database`].
#[derive(Clone, Debug)]
pub struct Database {
    /// Its Unix socket, where the administrator connects without a password.
    pub socket: PathBuf,
    /// The administrator account (root, or the user running the tests).
    pub admin_user: String,
    /// Its TCP port on 127.0.0.1 (where notary-server and notary-signer connect).
    pub port: u16,
}

impl Database {
    /// Runs `sql` as the administrator and returns the rows, tab-separated, without headers.
    pub fn query(&self, sql: &str) -> String {
        stdout(&ok(Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args([
                "-u",
                &self.admin_user,
                "--batch",
                "--skip-column-names",
                "-e",
                sql,
            ])))
    }
}

/// The docker-registry a [`Stack`] starts beside notary-server.
#[derive(Clone, Copy, Debug)]
enum Registry<'a> {
    /// None.
    None,
    /// Plain HTTP, no authentication.
    Open,
    /// Plain HTTP, token authentication with these `auth: token` options (a JSON file).
    Token(&'a Path),
}

/// A notary-server (TLS, memory storage or a private MariaDB) on loopback, stopped on drop.
pub struct Stack {
    /// The work directory of the stack.
    pub dir: tempfile::TempDir,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA certificate clients must trust.
    pub ca: PathBuf,
    /// The server's trust service (as recorded by the start script).
    pub trust_service: TrustService,
    /// The database notary-server and notary-signer store their data in; `None`: memory.
    pub database: Option<Database>,
}

impl Stack {
    /// Starts the stack with the local trust service (Ed25519 server keys), or returns `None`
    /// (skip) when notary-server is missing.
    pub fn start() -> Option<Stack> {
        Stack::start_in(TrustService::Local)
    }

    /// Starts the stack in "remote" mode: a notary-signer on loopback as the server's trust
    /// service, so the timestamp (and server-managed snapshot) keys are ECDSA keys. Returns
    /// `None` (skip) when notary-server or notary-signer is missing.
    pub fn start_with_signer() -> Option<Stack> {
        Stack::start_in(TrustService::Remote)
    }

    /// Starts the production-shaped stack: notary-server with a notary-signer as its trust
    /// service, both storing their data in a private MariaDB server on loopback (the schema
    /// and accounts of keytool's sandbox). Returns `None` (skip) when a peer is missing.
    pub fn start_with_database() -> Option<Stack> {
        Stack::start_with(TrustService::Remote, true)
    }

    /// Starts the stack with the given trust service; see [`Stack::start`] and
    /// [`Stack::start_with_signer`].
    pub fn start_in(trust_service: TrustService) -> Option<Stack> {
        Stack::start_with(trust_service, false)
    }

    /// Starts the stack (local trust service, memory or `KEYTOOL_STACK_DB`) with token
    /// authentication: `options` is the JSON of the `auth` section's options (see
    /// [`token::TokenIssuer::server_options`]). Returns `None` (skip) when notary-server is
    /// missing.
    pub fn start_with_token_auth(options: &Path) -> Option<Stack> {
        Stack::start_full(TrustService::Local, false, Some(options), Registry::None)
    }

    /// The stack (local trust service, memory or `KEYTOOL_STACK_DB`) plus a docker-registry
    /// (plain HTTP, no authentication) on loopback: [`Stack::registry_host`]. Returns `None`
    /// (skip) when notary-server or docker-registry is missing.
    pub fn start_with_registry() -> Option<Stack> {
        if !have("docker-registry") {
            return None;
        }
        Stack::start_full(TrustService::Local, false, None, Registry::Open)
    }

    /// [`Stack::start_with_token_auth`] plus a docker-registry (plain HTTP, no authentication)
    /// on loopback: [`Stack::registry_host`].
    pub fn start_with_token_auth_and_registry(options: &Path) -> Option<Stack> {
        if !have("docker-registry") {
            return None;
        }
        Stack::start_full(TrustService::Local, false, Some(options), Registry::Open)
    }

    /// The stack (local trust service, memory or `KEYTOOL_STACK_DB`; no authentication) plus a
    /// docker-registry (plain HTTP) on loopback with token authentication: `options` is the JSON
    /// of the registry's `auth: token` section ([`token::TokenIssuer::server_options`] writes
    /// it). Returns `None` (skip) when notary-server or docker-registry is missing.
    pub fn start_with_registry_token_auth(options: &Path) -> Option<Stack> {
        if !have("docker-registry") {
            return None;
        }
        Stack::start_full(TrustService::Local, false, None, Registry::Token(options))
    }

    /// [`Stack::start_with_token_auth`] plus a docker-registry (plain HTTP) on loopback with
    /// token authentication, both with the token service of `options` (as Docker Hub: one
    /// credential, a scope per server).
    pub fn start_with_token_auth_everywhere(options: &Path) -> Option<Stack> {
        if !have("docker-registry") {
            return None;
        }
        Stack::start_full(
            TrustService::Local,
            false,
            Some(options),
            Registry::Token(options),
        )
    }

    /// `127.0.0.1:<port>` of the stack's docker-registry (started by
    /// [`Stack::start_with_registry`], [`Stack::start_with_token_auth_and_registry`],
    /// [`Stack::start_with_registry_token_auth`] or [`Stack::start_with_token_auth_everywhere`]).
    pub fn registry_host(&self) -> String {
        self.env_value("REGISTRY_HOST")
    }

    fn start_with(trust_service: TrustService, database: bool) -> Option<Stack> {
        Stack::start_full(trust_service, database, None, Registry::None)
    }

    fn start_full(
        trust_service: TrustService,
        database: bool,
        token_auth: Option<&Path>,
        registry: Registry<'_>,
    ) -> Option<Stack> {
        // KEYTOOL_STACK_DB=mariadb runs every suite's stacks in the production shape: on the
        // database, with notary-signer as the trust service (CI runs the publish and rotate
        // suites that way besides the default memory store and local trust service).
        let production = stack_db_from_env();
        let database = database || production;
        let trust_service = if production {
            TrustService::Remote
        } else {
            trust_service
        };
        if !have("notary-server") {
            return None;
        }
        if trust_service == TrustService::Remote && !have("notary-signer") {
            return None;
        }
        if database && !(have("mariadbd") && have("mariadb-install-db") && have("mariadb")) {
            return None;
        }
        // Built first, so that its Drop stops whatever was started if anything below panics.
        let mut stack = Stack {
            dir: tempfile::tempdir().expect("tmp"),
            url: String::new(),
            ca: PathBuf::new(),
            trust_service,
            database: None,
        };
        let mut cmd = stack.script("start");
        if trust_service == TrustService::Remote {
            cmd.arg("--signer");
        }
        if database {
            // The first initialisation of the database comes on top of the servers' start-up.
            cmd.args(["--db", "mariadb", "--timeout", "60"]);
        }
        if let Some(options) = token_auth {
            cmd.arg("--token-auth").arg(options);
        }
        match registry {
            Registry::None => {}
            Registry::Open => {
                cmd.args(["--registry-port", "0"]);
            }
            Registry::Token(options) => {
                cmd.args(["--registry-port", "0", "--registry-token-auth"])
                    .arg(options);
            }
        }
        ok(&mut cmd);
        stack.read_env();
        let expected = match trust_service {
            TrustService::Local => "local",
            TrustService::Remote => "remote",
        };
        assert_eq!(
            stack.env_value("TRUST_SERVICE"),
            expected,
            "the stack started with the wrong trust service"
        );
        assert_eq!(
            stack.env_value("DB"),
            if database { "mariadb" } else { "memory" },
            "the stack started with the wrong storage"
        );
        Some(stack)
    }

    /// `notary-stack.sh VERB WORKDIR`. With a database, the schema comes from keytool's
    /// sandbox code through this package's sandbox_schema program, which cargo builds next to
    /// the test binaries (without it the script would `cargo run` it, a build inside the test).
    fn script(&self, verb: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(here().join("peers/notary-stack.sh"))
            .arg(verb)
            .arg(self.dir.path());
        if let Some(tool) = sibling_program("sandbox_schema") {
            cmd.env("KEYTOOL_SCHEMA_CMD", tool);
        }
        cmd
    }

    /// A value of the start script's env file.
    fn env_value(&self, key: &str) -> String {
        let env = std::fs::read_to_string(self.dir.path().join("env")).expect("stack env file");
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_owned())
            .unwrap_or_else(|| panic!("{key} missing in stack env"))
    }

    fn read_env(&mut self) {
        self.url = self.env_value("NOTARY_URL");
        self.ca = PathBuf::from(self.env_value("NOTARY_CA"));
        self.database = (self.env_value("DB") == "mariadb").then(|| Database {
            socket: PathBuf::from(self.env_value("DB_SOCKET")),
            admin_user: self.env_value("DB_ADMIN_USER"),
            port: self.env_value("DB_PORT").parse().expect("DB_PORT"),
        });
    }

    /// Stops every process of the stack (notary-server, notary-signer, the database, the
    /// registry) and starts them again on the same ports with the same certificates and data
    /// (`notary-stack.sh restart`).
    pub fn restart(&mut self) {
        ok(&mut self.script("restart"));
        let url = self.url.clone();
        self.read_env();
        assert_eq!(self.url, url, "the restarted server moved");
    }

    /// The PIDs the start script recorded, by process name (`notary-server`, `notary-signer`,
    /// `mariadbd`, `docker-registry`).
    pub fn pids(&self) -> Vec<(String, u32)> {
        std::fs::read_to_string(self.dir.path().join("pids"))
            .expect("pids")
            .lines()
            .filter_map(|l| {
                let mut cols = l.split_whitespace();
                Some((cols.next()?.to_owned(), cols.next()?.parse().ok()?))
            })
            .collect()
    }

    /// A `notary` command against this server.
    pub fn notary(&self, trust_dir: &Path) -> Command {
        let mut cmd = notary(trust_dir);
        cmd.arg("-s")
            .arg(&self.url)
            .arg("--tlscacert")
            .arg(&self.ca);
        cmd
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let script = here().join("peers/notary-stack.sh");
        let _ = Command::new("bash")
            .arg(&script)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

impl Stack {
    /// `docker trust inspect GUN` against this server with a throwaway docker config (the CA
    /// where docker looks for it, no daemon); returns the parsed JSON of the repository.
    pub fn docker_trust_inspect(&self, work: &Path, gun: &str) -> serde_json::Value {
        let config = work.join("docker-config");
        let port = self.url.rsplit(':').next().expect("port");
        let tls = config.join("tls").join(format!("127.0.0.1:{port}"));
        std::fs::create_dir_all(&tls).expect("mkdir");
        std::fs::copy(&self.ca, tls.join("ca.crt")).expect("ca");
        let out = ok(Command::new("docker")
            .env("DOCKER_CONFIG", &config)
            .env("DOCKER_CONTENT_TRUST_SERVER", &self.url)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .args(["trust", "inspect", gun]));
        let inspect: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        inspect[0].clone()
    }

    /// The four metadata files of `gun` as the server serves them (for a fake server).
    pub fn metadata_files(&self, gun: &str) -> Vec<(String, Vec<u8>)> {
        let client = keystore_client(self);
        let gun: keystore::Gun = gun.parse().expect("gun");
        [
            "root.json",
            "timestamp.json",
            "snapshot.json",
            "targets.json",
        ]
        .into_iter()
        .map(|f| {
            (
                f.to_owned(),
                client.get(&gun, f).expect("get").expect("present"),
            )
        })
        .collect()
    }
}

fn keystore_client(stack: &Stack) -> keystore::notary::NotaryClient {
    keystore::notary::NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client")
}

/// The key ID `docker trust inspect` shows for an administrative key ("Root", "Repository").
pub fn admin_key_id(inspect: &serde_json::Value, name: &str) -> Option<String> {
    inspect["AdministrativeKeys"]
        .as_array()?
        .iter()
        .find(|k| k["Name"] == name)?["Keys"][0]["ID"]
        .as_str()
        .map(str::to_owned)
}

/// Every file below `dir` with its bytes, for byte-for-byte comparisons.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "key") {
                out.push((
                    p.strip_prefix(dir).expect("below dir").to_path_buf(),
                    std::fs::read(&p).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A hostile or broken Notary server: static files served over TLS on loopback with a stack's
/// certificate (GET only; any POST gets 501). Killed on drop.
pub struct Fake {
    child: std::process::Child,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    dir: tempfile::TempDir,
}

impl Fake {
    /// Serves `files` (`(name, bytes)`) as `/v2/<gun>/_trust/tuf/<name>`.
    pub fn serve(stack: &Stack, gun: &str, files: &[(String, Vec<u8>)]) -> Fake {
        Fake::start(stack, gun, files, false)
    }

    /// Like [`Fake::serve`], but every POST is forwarded to the stack's real server, which
    /// accepts it, and then the client's connection is dropped without an answer.
    pub fn accept_then_drop(stack: &Stack, gun: &str, files: &[(String, Vec<u8>)]) -> Fake {
        Fake::start(stack, gun, files, true)
    }

    fn start(stack: &Stack, gun: &str, files: &[(String, Vec<u8>)], forward: bool) -> Fake {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tmp");
        let tuf = dir.path().join("v2").join(gun).join("_trust/tuf");
        std::fs::create_dir_all(&tuf).expect("mkdir");
        for (name, bytes) in files {
            let path = tuf.join(name);
            // Delegated roles (`targets/releases.json`) live in a subdirectory.
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let certs = stack.dir.path().join("certs");
        let mut child = Command::new("python3")
            .arg(here().join("peers/static-tls-server.py"))
            .arg(dir.path())
            .arg(certs.join("notary-server.crt"))
            .arg(certs.join("notary-server.key"))
            .args(if forward {
                vec![stack.url.clone(), stack.ca.display().to_string()]
            } else {
                Vec::new()
            })
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        Fake {
            child,
            url: format!("https://127.0.0.1:{}", line.trim()),
            dir,
        }
    }
}

impl Fake {
    /// How many POST requests the server has received so far.
    pub fn posts(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("posts.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
