//! The docker daemon a sandbox runs on: the user's own, or a private one keytool starts under
//! the state directory (Debian's `dockerd`, vfs storage, no iptables, its own socket, data and
//! exec roots) and stops by PID.
//!
//! In a push or pull the *daemon* talks to the registry, so it must resolve `sandboxregistry`.
//! The private daemon runs in a mount namespace of its own (`unshare --mount`) in which a copy
//! of `/etc/hosts` with `127.0.0.1 sandboxregistry notaryserver` added is mounted over
//! `/etc/hosts`: the host's file is never changed, and the registry's port published on
//! 127.0.0.1 is insecure by default for dockerd (no registry TLS needed). The user's own daemon
//! needs the same line in the host's `/etc/hosts` (as the older sandbox guide does).

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::net::ToSocketAddrs;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::layout::{DaemonRecord, SandboxSettings};
use crate::error::{Error, Result};
use crate::ops::DockerCli;

/// How long a private daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped daemon may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The socket a system containerd listens on; dockerd 20.10 would attach to it instead of
/// starting a private one.
const SYSTEM_CONTAINERD: &str = "/run/containerd/containerd.sock";
/// The default socket of the user's own daemon.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Longest unix socket path (sun_path holds 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 100;

/// Which docker daemon runs the sandbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonChoice {
    /// The user's own daemon when one answers and can reach the registry by name; otherwise a
    /// private one.
    #[default]
    Auto,
    /// The user's own daemon (`DOCKER_HOST` or the default socket), or an error.
    Own,
    /// A private daemon keytool starts (root required).
    Private,
}

impl std::str::FromStr for DaemonChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(DaemonChoice::Auto),
            "own" => Ok(DaemonChoice::Own),
            "private" => Ok(DaemonChoice::Private),
            other => Err(Error::InvalidArgument {
                what: crate::error::Argument::Parameter("daemon"),
                reason: format!(
                    "expected auto, own or private, got {:?}",
                    crate::ids::clip(other)
                ),
            }),
        }
    }
}

fn failed(action: &str, reason: impl Into<String>) -> Error {
    Error::Sandbox {
        action: action.into(),
        reason: reason.into(),
    }
}

/// The daemon's directory in the state directory.
pub(crate) fn private_root(settings: &SandboxSettings) -> PathBuf {
    settings.path("daemon")
}

/// The docker CLI talking to the daemon `record` names: a private daemon through its socket and
/// a client configuration of the sandbox's own (the user's contexts and TLS settings do not
/// apply to it); the user's own daemon exactly as the user's `docker` reaches it.
pub(crate) fn cli(settings: &SandboxSettings, record: &DaemonRecord) -> DockerCli {
    let docker = DockerCli::default();
    match &record.host {
        Some(host) => docker
            .with_env("DOCKER_HOST", Some(OsStr::new(host)))
            .with_env(
                "DOCKER_CONFIG",
                Some(private_root(settings).join("client").as_os_str()),
            )
            .with_env("DOCKER_CONTEXT", None)
            .with_env("DOCKER_TLS_VERIFY", None)
            .with_env("DOCKER_CERT_PATH", None),
        None => docker,
    }
}

/// The server version the daemon behind `docker` reports, or why it does not answer.
pub(crate) fn server_version(docker: &DockerCli) -> std::result::Result<String, String> {
    docker
        .run(
            "the docker daemon",
            "ask its version",
            &["version", "--format", "{{.Server.Version}}"],
            None,
            4096,
        )
        .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
        .map_err(|e| e.to_string())
}

/// Finds the daemon the sandbox will run on, starting a private one when that is the choice.
pub(crate) fn find_or_start(
    settings: &SandboxSettings,
    note: &dyn Fn(&str),
) -> Result<DaemonRecord> {
    let own = || -> std::result::Result<DaemonRecord, String> {
        let docker = DockerCli::default();
        let version = server_version(&docker)?;
        let socket = own_socket()?;
        registry_resolves(settings)?;
        Ok(DaemonRecord {
            kind: "own".into(),
            host: None,
            socket,
            processes: Vec::new(),
            version,
        })
    };
    match settings.daemon {
        DaemonChoice::Own => own().map_err(|reason| failed("use your docker daemon", reason)),
        DaemonChoice::Private => start_private(settings, note),
        DaemonChoice::Auto => match own() {
            Ok(record) => Ok(record),
            Err(reason) => {
                note(&format!(
                    "not using your own docker daemon ({reason}); starting a private one"
                ));
                start_private(settings, note)
            }
        },
    }
}

/// The socket of the user's own daemon, which the client container mounts.
fn own_socket() -> std::result::Result<PathBuf, String> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => host
            .strip_prefix("unix://")
            .map(PathBuf::from)
            .ok_or_else(|| {
                format!("DOCKER_HOST is {host}; the sandbox mounts the daemon's socket, so it needs a unix:// daemon on this machine")
            }),
        _ => Ok(PathBuf::from(DEFAULT_SOCKET)),
    }
}

/// The user's daemon resolves names through the host: `sandboxregistry` must be on loopback.
fn registry_resolves(settings: &SandboxSettings) -> std::result::Result<(), String> {
    let name = &settings.names.registry;
    let loopback = (name.as_str(), settings.registry_port)
        .to_socket_addrs()
        .map(|mut addrs| addrs.any(|a| a.ip().is_loopback()))
        .unwrap_or(false);
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "the daemon pushes to {name}:{port}, so this machine must resolve {name} to 127.0.0.1 (add \"127.0.0.1 {name} {notary}\" to /etc/hosts)",
            port = settings.registry_port,
            notary = settings.names.notary
        ))
    }
}

/// Starts Debian's dockerd under `<state>/daemon`, in a mount namespace whose `/etc/hosts`
/// names the registry and the Notary server, and waits until it answers.
fn start_private(settings: &SandboxSettings, note: &dyn Fn(&str)) -> Result<DaemonRecord> {
    let action = "start a private docker daemon";
    if !rustix::process::geteuid().is_root() {
        return Err(failed(
            action,
            "no docker daemon of yours can run the sandbox, and a private one needs root: run as root (e.g. sudo), or start your own daemon and add \"127.0.0.1 sandboxregistry notaryserver\" to /etc/hosts",
        ));
    }
    let dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            failed(
                action,
                "dockerd is not installed (Debian package docker.io)",
            )
        })?;
    let unshare = Path::new("/usr/bin/unshare");
    if !unshare.is_file() {
        return Err(failed(
            action,
            "unshare is missing (Debian package util-linux)",
        ));
    }
    if Path::new(SYSTEM_CONTAINERD).exists() {
        return Err(failed(
            action,
            format!(
                "a system containerd listens on {SYSTEM_CONTAINERD}; dockerd would share it instead of starting a private one. Run the sandbox on your own docker daemon instead, or stop containerd"
            ),
        ));
    }
    let root = private_root(settings);
    let socket = root.join("docker.sock");
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(failed(
            action,
            format!(
                "the socket path {} is too long for a unix socket; choose a shorter state directory",
                socket.display()
            ),
        ));
    }
    for sub in ["data", "exec", "client"] {
        fs::create_dir_all(root.join(sub)).map_err(|e| Error::io("create", &root.join(sub), e))?;
    }
    fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("protect", &root, e))?;
    let hosts = root.join("hosts");
    let mut text = fs::read_to_string("/etc/hosts").unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "# keytool sandbox: the daemon pushes to the registry published on loopback\n127.0.0.1 {} {}\n",
        settings.names.registry, settings.names.notary
    ));
    write_file(&hosts, text.as_bytes())?;
    // One download attempt: a tampered layer is refused at once, not after a minute of retries.
    write_file(
        &root.join("daemon.json"),
        br#"{"max-download-attempts": 1}"#,
    )?;
    let _ = fs::remove_file(&socket);
    let log_path = root.join("dockerd.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io("open", &log_path, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Error::io("open", &log_path, e))?;
    let host = format!("unix://{}", socket.display());
    let mut cmd = Command::new(unshare);
    cmd.args(["--mount", "--propagation", "private", "/bin/sh", "-ec"])
        .arg(r#"hosts=$1; shift; mount --bind "$hosts" /etc/hosts; exec "$@""#)
        .arg("sh")
        .arg(&hosts)
        .arg(dockerd)
        .arg("--config-file")
        .arg(root.join("daemon.json"))
        .arg("--data-root")
        .arg(root.join("data"))
        .arg("--exec-root")
        .arg(root.join("exec"))
        .arg("--pidfile")
        .arg(root.join("dockerd.pid"))
        .arg("--host")
        .arg(&host)
        .args([
            "--iptables=false",
            "--ip-masq=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Its own process group: a Ctrl-C meant for keytool does not reach the daemon.
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| failed(action, format!("cannot run {}: {e}", unshare.display())))?;
    let pid = child.id();
    note(&format!(
        "started dockerd (pid {pid}), log {}",
        log_path.display()
    ));
    let mut record = DaemonRecord {
        kind: "private".into(),
        host: Some(host),
        socket,
        processes: vec![("dockerd".into(), pid)],
        version: String::new(),
    };
    let docker = cli(settings, &record);
    loop {
        if let Ok(version) = server_version(&docker) {
            record.version = version;
            break;
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || started.elapsed() > START_TIMEOUT {
            let tail = log_tail(&log_path);
            let _ = stop_processes(settings, &record);
            return Err(failed(
                action,
                match exited {
                    Some(status) => {
                        format!("dockerd exited during start-up ({status}); its log ends: {tail}")
                    }
                    None => format!(
                        "dockerd did not answer within {} s; its log ends: {tail}",
                        START_TIMEOUT.as_secs()
                    ),
                },
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(c) = containerd_of(pid, &root) {
        record.processes.push(("containerd".into(), c));
    }
    note(&format!(
        "dockerd {} answers on {} after {} ms",
        record.version,
        record.socket.display(),
        started.elapsed().as_millis()
    ));
    Ok(record)
}

/// Writes `bytes` to `path` (mode 0600), replacing it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("write", path, e))?;
    f.write_all(bytes).map_err(|e| Error::io("write", path, e))
}

/// The last lines of a log, on one line.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Whether PID still runs a process of this sandbox (its command line names the daemon's
/// directory): a guard against PID reuse.
fn is_ours(pid: u32, root: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = root.as_os_str().as_encoded_bytes();
    let running = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false);
    running && cmdline.windows(needle.len()).any(|w| w == needle)
}

/// The containerd that dockerd `parent` started under the daemon's exec root.
fn containerd_of(parent: u32, root: &Path) -> Option<u32> {
    let entries = fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let status = fs::read_to_string(e.path().join("status")).ok()?;
        let ppid: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))?
            .trim()
            .parse()
            .ok()?;
        (ppid == parent && is_ours(pid, root)).then_some(pid)
    })
}

/// Stops the processes keytool started for the sandbox (TERM, then KILL after a grace period),
/// only while they are still ours. Returns the names of those that were running.
pub(crate) fn stop_processes(
    settings: &SandboxSettings,
    record: &DaemonRecord,
) -> Result<Vec<String>> {
    let root = private_root(settings);
    let mut stopped = Vec::new();
    for (name, pid) in &record.processes {
        if !is_ours(*pid, &root) {
            continue;
        }
        let Some(p) = i32::try_from(*pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while is_ours(*pid, &root) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if is_ours(*pid, &root) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            std::thread::sleep(Duration::from_millis(200));
        }
        if is_ours(*pid, &root) {
            return Err(failed(
                "stop the private docker daemon",
                format!("{name} (pid {pid}) is still running"),
            ));
        }
        stopped.push(name.clone());
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_choices_parse() {
        assert_eq!(
            "auto".parse::<DaemonChoice>().ok(),
            Some(DaemonChoice::Auto)
        );
        assert_eq!(
            "private".parse::<DaemonChoice>().ok(),
            Some(DaemonChoice::Private)
        );
        assert!("--own".parse::<DaemonChoice>().is_err());
    }

    #[test]
    fn a_process_is_ours_only_when_its_command_line_names_the_root() {
        let me = std::process::id();
        assert!(!is_ours(me, Path::new("/nonexistent/keytool-sandbox-root")));
        assert!(!is_ours(u32::MAX, Path::new("/")));
    }
}
