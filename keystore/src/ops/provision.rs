//! `provision`: copy the keys a `docker push` needs (a repository's targets key, and the root key
//! only when asked) into another docker config directory's trust directory, plus the Notary
//! server's CA where docker looks for it (`tls/<host:port>/ca.crt`).
//!
//! The target is a local docker config directory or one inside a container. Key files are copied
//! byte for byte (they stay encrypted; no passphrase is needed), as `trust/private/<id>.key`
//! with mode 0600 in 0700 directories, owned by root in a container. Provisioning is idempotent
//! and never overwrites a different file of the same name: every conflict is found before
//! anything is written.
//!
//! # Containers: the docker CLI, not the engine API
//!
//! keytool reaches containers through the `docker` CLI (`docker cp`, `docker exec`) rather than
//! the engine's HTTP API, because:
//! * the CLI already resolves where the engine is exactly as the user's own `docker` does:
//!   `DOCKER_HOST` (honoured because the CLI inherits keytool's environment), contexts,
//!   `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, ssh:// hosts; the API would need all of that
//!   reimplemented, plus an HTTP client over unix sockets that the blocking HTTPS client here
//!   does not have;
//! * `docker exec -e NAME` copies NAME's value from the calling process's environment, so
//!   passphrases reach the container without appearing in any argv or file; with the API the
//!   value would have to be put into a JSON request body by hand;
//! * streaming an exec's output through the API means a hijacked, multiplexed connection; the
//!   CLI gives plain pipes;
//! * the CLI is already a requirement: the push and pull run the docker CLI inside the container.
//!
//! The cost is one process per call (tens of milliseconds), which is why a container's docker
//! config directory is read once, as one tar stream, and written once.

use crate::error::Argument;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::status::key_status;
use super::{Outcome, list};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::notary::{NotaryClient, host_port};
use crate::passphrase::is_secret_env;
use crate::trust_dir::{Location, MAX_KEY_FILE, TrustDir, read_no_follow, write_atomic};

/// docker's config directory in a container, as root sees it.
pub const CONTAINER_CONFIG_DIR: &str = "/root/.docker";
/// Largest docker config directory read back from a container (as a tar stream).
const MAX_CONFIG_TAR: u64 = 32 << 20;
/// Largest error output of a docker command kept for messages.
const MAX_ERROR_TEXT: usize = 400;

/// The docker CLI used to reach containers. It inherits keytool's environment, so `DOCKER_HOST`
/// and every other docker setting apply as they do for the user's own `docker` — except the
/// variables that may hold a passphrase (`*_PASSPHRASE`, `*_PASSPHRASE_FILE`, `KEYTOOL_VAULT_*`),
/// which docker never gets unless a caller hands it one explicitly.
#[derive(Clone, Debug)]
pub struct DockerCli {
    program: PathBuf,
    /// Variables set (`Some`) or removed (`None`) on top of the inherited environment.
    env: Vec<(OsString, Option<OsString>)>,
}

impl Default for DockerCli {
    fn default() -> Self {
        DockerCli::new("docker")
    }
}

impl DockerCli {
    /// The docker CLI at `program` (a path, or a name looked up on `PATH`).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        DockerCli {
            program: program.into(),
            env: Vec::new(),
        }
    }

    /// The same CLI with `name` set to `value` (`None`: removed) in every command's environment,
    /// e.g. `DOCKER_HOST` for a daemon of keytool's own.
    #[must_use]
    pub fn with_env(mut self, name: &str, value: Option<&std::ffi::OsStr>) -> Self {
        self.env
            .push((OsString::from(name), value.map(std::ffi::OsStr::to_owned)));
        self
    }

    /// A `docker` command with `args`, with keytool's environment minus its secrets.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(args, std::env::vars_os())
    }

    /// A `docker` command with `args` whose environment is `parent` minus every variable that
    /// may hold a passphrase ([`crate::passphrase::is_secret_env`]).
    pub(crate) fn command_in(
        &self,
        args: &[&str],
        parent: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .env_clear()
            .envs(parent.into_iter().filter(|(name, _)| !is_secret_env(name)));
        for (name, value) in &self.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    /// Runs `docker args…` with `stdin`, returning standard output (at most `limit` bytes).
    /// A failure is an [`Error::Target`] naming `target` and `action`.
    pub(crate) fn run(
        &self,
        target: &str,
        action: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let failed = |reason: String| Error::Target {
            target: target.to_owned(),
            action: action.to_owned(),
            reason,
        };
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot run {}: {e}", self.program.display())))?;
        let writer = stdin.map(|bytes| {
            let mut pipe = child.stdin.take();
            let bytes = bytes.to_vec();
            std::thread::spawn(move || {
                if let Some(p) = pipe.as_mut() {
                    let _ = std::io::Write::write_all(p, &bytes);
                }
            })
        });
        let mut err_pipe = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(p) = err_pipe.as_mut() {
                let _ = p.take(64 << 10).read_to_end(&mut text);
            }
            text
        });
        let mut out = Vec::new();
        if let Some(p) = child.stdout.take() {
            p.take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| failed(format!("cannot read docker's output: {e}")))?;
        }
        if out.len() as u64 > limit {
            let _ = child.kill();
        }
        let status = child
            .wait()
            .map_err(|e| failed(format!("docker did not finish: {e}")))?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        let err_text = errors.join().unwrap_or_default();
        if out.len() as u64 > limit {
            return Err(failed(format!(
                "docker's output is larger than {limit} bytes"
            )));
        }
        if !status.success() {
            return Err(failed(last_line(&String::from_utf8_lossy(&err_text))));
        }
        Ok(out)
    }
}

/// Checks a container name or ID against docker's grammar, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, so a
/// name such as `--help` or `-v` never reaches the docker CLI, where it would be read as an
/// option.
pub(crate) fn check_container_name(name: &str) -> Result<()> {
    let valid = name
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what: Argument::Container,
            reason: format!(
                "{:?} is not a container name or ID: it must start with a letter or digit and hold only letters, digits and _ . - (as docker requires)",
                crate::ids::clip(name)
            ),
        })
    }
}

/// The last non-empty line of docker's error output, control characters removed and bounded.
pub(crate) fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error message");
    line.chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT)
        .collect()
}

/// Where provisioned files go: a docker config directory, local or in a container.
pub enum Target {
    /// A docker config directory on this machine (`DOCKER_CONFIG`, e.g. `~/.docker`).
    Dir(PathBuf),
    /// `/root/.docker` in a running container, reached through the docker CLI.
    Container {
        /// The docker CLI.
        docker: DockerCli,
        /// The container name or ID.
        name: String,
    },
}

/// A file to place in the target, relative to its docker config directory.
struct Wanted {
    rel: String,
    bytes: Vec<u8>,
    mode: u32,
    what: String,
}

impl Target {
    /// How the target is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Dir(d) => format!("docker config directory {}", d.display()),
            Target::Container { name, .. } => format!("container {name}"),
        }
    }

    /// The target's path of a file relative to its docker config directory.
    fn shown(&self, rel: &str) -> String {
        match self {
            Target::Dir(d) => d.join(rel).display().to_string(),
            Target::Container { .. } => format!("{CONTAINER_CONFIG_DIR}/{rel}"),
        }
    }

    /// Places `files`; returns the outcome of each. Conflicts are checked before any write.
    fn place(&self, files: &[Wanted]) -> Result<Vec<Outcome>> {
        let current = TargetContents::default();
        let outcomes = files
            .iter()
            .map(|f| match self.read(&current, &f.rel)? {
                None => Ok(Outcome::Written),
                Some(b) if b == f.bytes => Ok(Outcome::Unchanged),
                Some(_) => Err(Error::Conflict {
                    target: self.describe(),
                    path: self.shown(&f.rel),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        let new: Vec<&Wanted> = files
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == Outcome::Written)
            .map(|(f, _)| f)
            .collect();
        if !new.is_empty() {
            self.write(&current, &new)?;
        }
        Ok(outcomes)
    }

    fn read(&self, current: &TargetContents, rel: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Target::Dir(d) => {
                let path = d.join(rel);
                match read_no_follow(&path, MAX_KEY_FILE) {
                    Ok(b) => Ok(Some(b.to_vec())),
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
            Target::Container { .. } => {
                let entries = self.container_contents(current)?;
                Ok(entries.get(rel).and_then(|e| e.bytes.clone()))
            }
        }
    }

    fn write(&self, current: &TargetContents, files: &[&Wanted]) -> Result<()> {
        match self {
            Target::Dir(d) => {
                // Key files under the trust directory's lock, as every keytool writer does.
                let _lock = TrustDir::new(d.join("trust")).lock()?;
                for f in files {
                    let path = d.join(&f.rel);
                    let (parent, name) = split_parent(&path)?;
                    write_atomic(parent, name, &f.bytes, false)?;
                }
                Ok(())
            }
            Target::Container { docker, name } => {
                let existing = self.container_contents(current)?;
                // Missing directories ("" is the config directory itself) are created 0700;
                // existing ones get no entry, since extracting one would change its mode.
                // Sorted, a parent comes before its children.
                let mut dirs = std::collections::BTreeSet::new();
                for f in files {
                    dirs.insert(String::new());
                    let mut at = 0;
                    while let Some(i) = f.rel[at..].find('/') {
                        dirs.insert(f.rel[..at + i].to_owned());
                        at += i + 1;
                    }
                }
                let base = config_base();
                let mut tar = TarWriter::default();
                for d in dirs.iter().filter(|d| !existing.contains_key(*d)) {
                    let path = if d.is_empty() {
                        base.to_owned()
                    } else {
                        format!("{base}/{d}")
                    };
                    tar.dir(&path, 0o700)?;
                }
                for f in files {
                    tar.file(&format!("{base}/{}", f.rel), &f.bytes, f.mode)?;
                }
                let dest = format!("{name}:{}", config_parent());
                docker.run(
                    &self.describe(),
                    "copy keys",
                    &["cp", "--", "-", &dest],
                    Some(&tar.finish()),
                    1 << 20,
                )?;
                Ok(())
            }
        }
    }

    /// The container's docker config directory, read once per provisioning.
    fn container_contents<'a>(
        &self,
        current: &'a TargetContents,
    ) -> Result<&'a BTreeMap<String, TarEntry>> {
        if let Some(c) = current.0.get() {
            return Ok(c);
        }
        let Target::Container { docker, name } = self else {
            return Err(Error::Internal {
                what: "container contents asked of a directory target".into(),
            });
        };
        let src = format!("{name}:{CONTAINER_CONFIG_DIR}");
        let entries = match docker.run(
            &self.describe(),
            "read the docker config directory",
            &["cp", "--", &src, "-"],
            None,
            MAX_CONFIG_TAR,
        ) {
            Ok(tar) => read_tar(&tar, config_base()).map_err(|reason| Error::Target {
                target: self.describe(),
                action: "read the docker config directory".into(),
                reason,
            })?,
            // A container without /root/.docker yet: everything is created.
            Err(Error::Target { reason, .. })
                if reason.contains("Could not find the file")
                    || reason.contains("No such container:path") =>
            {
                BTreeMap::new()
            }
            Err(e) => return Err(e),
        };
        Ok(current.0.get_or_init(|| entries))
    }
}

/// What a container's config directory holds, read lazily.
#[derive(Default)]
struct TargetContents(OnceCell<BTreeMap<String, TarEntry>>);

fn config_base() -> &'static str {
    CONTAINER_CONFIG_DIR
        .rsplit('/')
        .next()
        .unwrap_or(CONTAINER_CONFIG_DIR)
}

fn config_parent() -> &'static str {
    CONTAINER_CONFIG_DIR
        .rsplit_once('/')
        .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p })
}

fn split_parent(path: &Path) -> Result<(&Path, &str)> {
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(Error::Internal {
            what: format!("{} has no parent directory", path.display()),
        }),
    }
}

/// What to provision.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProvisionOptions<'a> {
    /// Also copy the root key (it should stay offline once the repository is published).
    pub with_root: bool,
    /// The Notary server: the keys it expects are chosen, and its CA goes to `tls/<host:port>/`.
    pub server: Option<&'a NotaryClient>,
    /// The server's CA certificate (PEM) to provision.
    pub ca: Option<&'a Path>,
    /// Signers whose keys are copied **instead of** the repository's keys (a signer's machine
    /// needs only its own key: `docker trust sign` signs into its delegations). Published
    /// repositories: the signer's keys the verified targets.json lists that are local; else the
    /// local keys of role NAME.
    pub signers: &'a [String],
}

/// The local keys of signer `name` of `gun`: those the server's verified targets.json lists for
/// `targets/<name>` when a server is given, else the local keys of role `name`.
fn signer_keys(
    dir: &TrustDir,
    gun: &Gun,
    name: &str,
    server: Option<&NotaryClient>,
) -> Result<Vec<KeyId>> {
    super::signer::check_signer_name(name)?;
    let ids: Vec<KeyId> = match server {
        Some(server) => {
            let remote = super::signer::published(dir, server, gun)?;
            remote
                .targets
                .delegations
                .as_ref()
                .map(|d| super::edit::local_delegation_keys(dir, d, &format!("targets/{name}")))
                .unwrap_or_default()
                .into_iter()
                .map(|(_, canonical)| canonical)
                .collect()
        }
        None => list(dir, Some(&Role::Other(name.to_owned())), None)?
            .into_iter()
            .map(|k| k.id.parse())
            .collect::<Result<_>>()?,
    };
    if ids.is_empty() {
        return Err(Error::KeyNotFound {
            key_id: format!("(a key of signer {name} of {gun})"),
            dir: dir.private_dir(),
        });
    }
    Ok(ids)
}

/// One file provisioned.
#[derive(Clone, Debug, Serialize)]
pub struct ProvisionedFile {
    /// What it is (`"targets key <id>"`, `"root key <id>"`, `"Notary CA"`).
    pub what: String,
    /// Where it is, as the target sees it.
    pub path: String,
    /// Written, or already there unchanged.
    pub outcome: Outcome,
}

/// The result of [`provision`].
#[derive(Clone, Debug, Serialize)]
pub struct Provisioned {
    /// The repository.
    pub gun: Gun,
    /// The target, as named in messages.
    pub target: String,
    /// Whether the server has the repository (`None` when no server was given).
    pub published: Option<bool>,
    /// The files, in the order written.
    pub files: Vec<ProvisionedFile>,
}

/// Copies the keys of `gun` (and the server's CA) into `target`'s trust directory.
///
/// With a server, the keys are those its verified root.json expects for `gun`; an unpublished
/// repository (or no server) gets the targets keys of `gun` in `private/` and the root key docker
/// would pick (the smallest ID).
pub fn provision(
    dir: &TrustDir,
    gun: &Gun,
    target: &Target,
    options: &ProvisionOptions<'_>,
) -> Result<Provisioned> {
    if let Target::Container { name, .. } = target {
        check_container_name(name)?;
    }
    let st = key_status(dir, gun, options.server)?;
    let published = st.published;
    let not_found = |role: &str| Error::KeyNotFound {
        key_id: format!("(the {role} key of {gun})"),
        dir: dir.private_dir(),
    };
    let pick = |expected: &[super::ExpectedKey], local: &[String], role: &str| {
        let ids: Vec<String> = if published == Some(true) {
            expected
                .iter()
                .filter(|k| k.local)
                .filter_map(|k| k.key_id.clone())
                .collect()
        } else {
            local.to_vec()
        };
        if ids.is_empty() {
            Err(not_found(role))
        } else {
            Ok(ids)
        }
    };
    let mut keys: Vec<(Role, String)> = Vec::new();
    if options.signers.is_empty() {
        for id in pick(&st.expected_targets_keys, &st.local_targets_keys, "targets")? {
            keys.push((Role::Targets, id));
        }
    }
    for name in options.signers {
        for id in signer_keys(dir, gun, name, options.server)? {
            keys.push((Role::Other(name.clone()), id.to_string()));
        }
    }
    if options.with_root {
        let mut roots = pick(&st.expected_root_keys, &st.local_root_keys, "root")?;
        if published != Some(true) {
            // The one docker would sign a new repository with.
            roots.sort();
            roots.truncate(1);
        }
        for id in roots {
            keys.push((Role::Root, id));
        }
    }
    let mut wanted = Vec::new();
    for (role, id) in keys {
        let id: KeyId = id.parse()?;
        let path = dir.key_path(&id);
        let bytes = read_no_follow(&path, MAX_KEY_FILE)?;
        wanted.push(Wanted {
            rel: format!("trust/private/{id}.key"),
            bytes: bytes.to_vec(),
            mode: 0o600,
            what: format!("{role} key {id}"),
        });
    }
    if let (Some(server), Some(ca)) = (options.server, options.ca) {
        let host = host_port(server.url()).ok_or_else(|| Error::InvalidArgument {
            what: Argument::ServerUrl,
            reason: format!("no host in {}", server.url()),
        })?;
        let bytes = std::fs::read(ca).map_err(|e| Error::io("read", ca, e))?;
        wanted.push(Wanted {
            rel: format!("tls/{host}/ca.crt"),
            bytes,
            mode: 0o644,
            what: "Notary CA".into(),
        });
    }
    let outcomes = target.place(&wanted)?;
    Ok(Provisioned {
        gun: gun.clone(),
        target: target.describe(),
        published,
        files: wanted
            .iter()
            .zip(outcomes)
            .map(|(w, outcome)| ProvisionedFile {
                what: w.what.clone(),
                path: target.shown(&w.rel),
                outcome,
            })
            .collect(),
    })
}

/// The targets keys of `gun` that a push signs with: the ones the server expects when it knows
/// the repository, else the local ones.
pub(crate) fn targets_keys(
    dir: &TrustDir,
    gun: &Gun,
    server: Option<&NotaryClient>,
) -> Result<(Vec<KeyId>, Option<bool>)> {
    let st = key_status(dir, gun, server)?;
    let ids: Vec<String> = if st.published == Some(true) {
        st.expected_targets_keys
            .iter()
            .filter(|k| k.local)
            .filter_map(|k| k.key_id.clone())
            .collect()
    } else {
        list(dir, Some(&Role::Targets), Some(gun))?
            .into_iter()
            .filter(|k| k.location == Location::Flat && k.problem.is_none())
            .map(|k| k.id)
            .collect()
    };
    let ids = ids
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<KeyId>>>()?;
    Ok((ids, st.published))
}

// ---------------------------------------------------------------------------------------------
// A minimal tar (ustar, with PAX and GNU long names when reading): what `docker cp` speaks.
// ---------------------------------------------------------------------------------------------

/// One entry read from a tar stream.
struct TarEntry {
    /// File contents; `None` for directories and other non-regular entries.
    bytes: Option<Vec<u8>>,
}

/// Reads a tar stream into a map from the path below `base` ("" for `base` itself) to entries.
fn read_tar(data: &[u8], base: &str) -> std::result::Result<BTreeMap<String, TarEntry>, String> {
    let mut out = BTreeMap::new();
    let mut at = 0usize;
    let mut long_name: Option<String> = None;
    while at + 512 <= data.len() {
        let h = &data[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&h[124..136]).ok_or("a tar header has a bad size field")?;
        let size = usize::try_from(size).map_err(|_| "a tar entry is too large")?;
        let body_at = at + 512;
        let body = data
            .get(
                body_at
                    ..body_at
                        .checked_add(size)
                        .ok_or("a tar entry is too large")?,
            )
            .ok_or("the tar stream is truncated")?;
        at = body_at + size.div_ceil(512) * 512;
        let kind = h[156];
        match kind {
            b'x' => {
                long_name = pax_path(body);
                continue;
            }
            b'L' => {
                long_name = Some(cstr(body));
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        let name = long_name.take().unwrap_or_else(|| {
            let name = cstr(&h[0..100]);
            let prefix = if &h[257..262] == b"ustar" {
                cstr(&h[345..500])
            } else {
                String::new()
            };
            if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            }
        });
        let name = name.trim_start_matches("./").trim_end_matches('/');
        let rel = if name == base {
            String::new()
        } else if let Some(r) = name.strip_prefix(&format!("{base}/")) {
            r.to_owned()
        } else {
            continue;
        };
        let bytes = matches!(kind, b'0' | 0).then(|| body.to_vec());
        out.insert(rel, TarEntry { bytes });
    }
    Ok(out)
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn octal(b: &[u8]) -> Option<u64> {
    let text = cstr(b);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The `path` record of a PAX extended header ("<len> path=<value>\n" records).
fn pax_path(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.lines().find_map(|rec| {
        let (_, kv) = rec.split_once(' ')?;
        kv.strip_prefix("path=").map(str::to_owned)
    })
}

/// Builds a ustar stream with entries owned by root (uid and gid 0).
#[derive(Default)]
pub(crate) struct TarWriter {
    out: Vec<u8>,
}

impl TarWriter {
    /// A directory.
    pub(crate) fn dir(&mut self, path: &str, mode: u32) -> Result<()> {
        self.header(&format!("{path}/"), 0, mode, b'5', "")
    }

    /// A symbolic link at `path` to `target`.
    pub(crate) fn symlink(&mut self, path: &str, target: &str) -> Result<()> {
        self.header(path, 0, 0o777, b'2', target)
    }

    /// A regular file.
    pub(crate) fn file(&mut self, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        self.header(path, bytes.len(), mode, b'0', "")?;
        self.out.extend_from_slice(bytes);
        let pad = bytes.len().div_ceil(512) * 512 - bytes.len();
        self.out.extend(std::iter::repeat_n(0u8, pad));
        Ok(())
    }

    fn header(&mut self, path: &str, size: usize, mode: u32, kind: u8, link: &str) -> Result<()> {
        let mut h = [0u8; 512];
        if link.len() > 100 {
            return Err(Error::Internal {
                what: format!("link target too long for a tar entry: {link}"),
            });
        }
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        let (prefix, name) = if path.len() <= 100 {
            ("", path)
        } else {
            // ustar: prefix (155) + "/" + name (100), split at a slash.
            path.char_indices()
                .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100)
                .map(|(i, _)| (&path[..i], &path[i + 1..]))
                .next()
                .ok_or_else(|| Error::Internal {
                    what: format!("path too long for a tar entry: {path}"),
                })?
        };
        h[..name.len()].copy_from_slice(name.as_bytes());
        let field = |h: &mut [u8; 512], at: usize, width: usize, value: u64| {
            let text = format!("{value:0w$o}\0", w = width - 1);
            h[at..at + width].copy_from_slice(text.as_bytes());
        };
        field(&mut h, 100, 8, u64::from(mode));
        field(&mut h, 108, 8, 0);
        field(&mut h, 116, 8, 0);
        field(&mut h, 124, 12, size as u64);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        field(&mut h, 136, 12, now);
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let text = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(text.as_bytes());
        self.out.extend_from_slice(&h);
        Ok(())
    }

    /// The stream, with its end-of-archive blocks.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.extend(std::iter::repeat_n(0u8, 1024));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_docker_grammar() {
        for good in ["trustsandbox", "a", "0abc", "my_box.1-x", &"f".repeat(64)] {
            assert!(check_container_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-v",
            "--help",
            "-",
            "--",
            "_x",
            ".x",
            "a b",
            "a/b",
            "a:b",
            "/trustsandbox",
            "x\n",
            "é",
        ] {
            let err = check_container_name(bad).expect_err(bad);
            assert!(
                matches!(
                    err,
                    Error::InvalidArgument {
                        what: Argument::Container,
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn tar_round_trip() {
        let mut w = TarWriter::default();
        w.dir(".docker", 0o700).expect("dir");
        w.file(".docker/trust/private/ab.key", b"PEM", 0o600)
            .expect("file");
        let long = format!(".docker/tls/{}/ca.crt", "h".repeat(120));
        w.file(&long, b"CA", 0o644).expect("long");
        let map = read_tar(&w.finish(), ".docker").expect("read");
        assert!(map.get("").expect("base").bytes.is_none());
        assert_eq!(
            map.get("trust/private/ab.key")
                .and_then(|e| e.bytes.as_deref()),
            Some(&b"PEM"[..])
        );
        let rel = long.strip_prefix(".docker/").expect("prefix");
        assert_eq!(
            map.get(rel).and_then(|e| e.bytes.as_deref()),
            Some(&b"CA"[..])
        );
    }

    #[test]
    fn tar_reader_refuses_truncation() {
        let mut w = TarWriter::default();
        w.file(".docker/x", &[1u8; 600], 0o600).expect("file");
        let data = w.finish();
        assert!(read_tar(&data[..700], ".docker").is_err());
    }

    #[test]
    fn directory_target_is_idempotent_and_never_overwrites() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = Target::Dir(tmp.path().join("cfg"));
        let want = |bytes: &[u8]| Wanted {
            rel: "trust/private/k.key".into(),
            bytes: bytes.to_vec(),
            mode: 0o600,
            what: "key".into(),
        };
        assert_eq!(
            target.place(&[want(b"one")]).expect("first"),
            vec![Outcome::Written]
        );
        assert_eq!(
            target.place(&[want(b"one")]).expect("again"),
            vec![Outcome::Unchanged]
        );
        assert!(matches!(
            target.place(&[want(b"two")]),
            Err(Error::Conflict { .. })
        ));
        let path = tmp.path().join("cfg/trust/private/k.key");
        assert_eq!(std::fs::read(&path).expect("read"), b"one");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&tmp.path().join("cfg/trust/private")), 0o700);
    }
}
