//! `up`, `status` and `down`: the sandbox's daemon, images, network and containers, made and
//! removed as one unit. Everything made carries the label `org.keytool.sandbox=<state dir>`,
//! and `down` removes only what carries it.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::certs;
use super::daemon::{self, server_version, stop_processes};
use super::images::{self, BuiltImage, REGISTRY_STORAGE};
use super::layout::{DaemonRecord, LABEL, Record, SandboxSettings};
use super::trust_service;
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::ops::DockerCli;
use crate::ops::provision::CONTAINER_CONFIG_DIR;

/// How long the services may take to listen after their containers started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The image roles, in the order the containers start.
const ROLES: [&str; 4] = ["registry", "notary", "client", "play"];
/// The image roles of the signer topology.
const SIGNER_ROLES: [&str; 6] = ["registry", "database", "signer", "notary", "client", "play"];

/// The image roles of a sandbox made with `settings`.
fn roles(settings: &SandboxSettings) -> &'static [&'static str] {
    if settings.signer {
        &SIGNER_ROLES
    } else {
        &ROLES
    }
}

fn failed(action: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Sandbox {
        action: action.into(),
        reason: reason.into(),
    }
}

/// What [`up`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Up {
    /// `true`: the sandbox was already up and nothing was changed.
    pub already_up: bool,
    /// The daemon (`private` or `own`), its socket and version.
    pub daemon: DaemonRecord,
    /// The images, built now or found built.
    pub images: Vec<BuiltImage>,
    /// The containers (notary server, registry, client), all running.
    pub containers: Vec<String>,
    /// The repository to play with.
    pub repository: Gun,
    /// The Notary server from this machine, and its CA.
    pub server: String,
    /// The CA certificate clients of the Notary server trust.
    pub ca_file: PathBuf,
    /// How long `up` took, in milliseconds.
    pub took_ms: u128,
}

/// What [`down`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Down {
    /// Whether a sandbox was up (or half up).
    pub was_up: bool,
    /// Containers removed.
    pub containers: Vec<String>,
    /// Networks removed.
    pub networks: Vec<String>,
    /// Processes stopped (a private daemon and its containerd).
    pub stopped: Vec<String>,
    /// Paths removed (`--volumes`: the private daemon's images and state; the sandbox's keys only
    /// when asked).
    pub removed: Vec<PathBuf>,
}

/// What `play` needs of a sandbox that is up.
pub(crate) struct Connected {
    pub(crate) record: Record,
    pub(crate) docker: DockerCli,
    pub(crate) server: NotaryClient,
}

pub(crate) fn connected(settings: &SandboxSettings) -> Result<Connected> {
    let record = Record::load(&settings.state_dir)?.ok_or_else(|| {
        failed(
            "find it",
            format!(
                "no sandbox is up in {}; bring it up first",
                settings.state_dir.display()
            ),
        )
    })?;
    let docker = daemon::cli(&record.settings, &record.daemon);
    let server = NotaryClient::new(
        &record.settings.host_server(),
        Some(&record.settings.ca_file()),
    )?;
    Ok(Connected {
        record,
        docker,
        server,
    })
}

/// A lock on the state directory, so that two `up`/`down` never interleave.
pub(super) struct StateLock(fs::File);

pub(super) fn lock(settings: &SandboxSettings) -> Result<StateLock> {
    fs::create_dir_all(&settings.state_dir)
        .map_err(|e| Error::io("create", &settings.state_dir, e))?;
    let path = settings.path("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(StateLock(file)),
        Err(fs::TryLockError::WouldBlock) => Err(failed(
            "lock its state directory",
            format!(
                "another command is bringing the sandbox in {} up or down; wait for it to finish",
                settings.state_dir.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Runs `docker args…` for the sandbox.
pub(super) fn dk(docker: &DockerCli, action: &str, args: &[&str]) -> Result<String> {
    docker
        .run("the sandbox", action, args, None, 1 << 20)
        .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
}

/// The sandbox label of container or network `name` (`None`: it does not exist).
fn label_of(docker: &DockerCli, kind: &str, name: &str) -> Option<String> {
    let format = if kind == "network" {
        format!("{{{{index .Labels \"{LABEL}\"}}}}")
    } else {
        format!("{{{{index .Config.Labels \"{LABEL}\"}}}}")
    };
    dk(
        docker,
        "inspect",
        &[kind, "inspect", "--format", &format, "--", name],
    )
    .ok()
}

/// The state of container `name` (`missing` when there is none).
pub(super) fn state_of(docker: &DockerCli, name: &str) -> String {
    dk(
        docker,
        "inspect",
        &[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            "--",
            name,
        ],
    )
    .unwrap_or_else(|_| "missing".into())
}

/// The containers of a sandbox made with `settings`: role and name.
pub(super) fn containers(settings: &SandboxSettings) -> Vec<(&'static str, &str)> {
    let mut out = vec![
        ("notary", settings.names.notary.as_str()),
        ("registry", settings.names.registry.as_str()),
        ("client", settings.names.client.as_str()),
    ];
    if settings.signer {
        out.push(("signer", settings.names.signer.as_str()));
        out.push(("database", settings.names.database.as_str()));
    }
    out
}

/// Refuses a name the sandbox would take when something else already has it.
fn claim(docker: &DockerCli, settings: &SandboxSettings, kind: &str, name: &str) -> Result<()> {
    let ours = settings.state_dir.display().to_string();
    match label_of(docker, kind, name) {
        None => Ok(()),
        Some(label) if label == ours => {
            if kind == "network" {
                dk(
                    docker,
                    "remove a stale network",
                    &["network", "rm", "--", name],
                )?;
            } else {
                dk(
                    docker,
                    "remove a stale container",
                    &["rm", "-f", "-v", "--", name],
                )?;
            }
            Ok(())
        }
        Some(_) => Err(failed(
            format!("create the {kind} {name}"),
            format!(
                "a {kind} named {name} already exists and is not this sandbox's; remove it, or choose another name"
            ),
        )),
    }
}

fn port_free(port: u16, what: &str) -> Result<()> {
    TcpListener::bind(("127.0.0.1", port))
        .map(drop)
        .map_err(|e| {
            failed(
                format!("publish the {what} on 127.0.0.1:{port}"),
                format!("the port is taken ({e}); stop what uses it, or choose another port"),
            )
        })
}

/// Brings the sandbox up: a daemon (the user's, or a private one), the images, the network
/// `sandbox` and the containers `notaryserver`, `sandboxregistry` and `trustsandbox`, each
/// answering. On a sandbox that is up it changes nothing; a half-made one is removed first; a
/// failure removes what this call made.
pub fn up(settings: &SandboxSettings, note: &dyn Fn(&str)) -> Result<Up> {
    settings.check()?;
    let started = Instant::now();
    let _lock = lock(settings)?;
    if let Some(record) = Record::load(&settings.state_dir)? {
        let docker = daemon::cli(&record.settings, &record.daemon);
        let running = server_version(&docker).is_ok()
            && containers(&record.settings)
                .iter()
                .all(|(_, name)| state_of(&docker, name) == "running");
        if running && record.images.len() == roles(&record.settings).len() {
            if record.settings != *settings {
                note("the sandbox is up with other settings; bring it down first to change them");
            }
            return Ok(Up {
                already_up: true,
                daemon: record.daemon.clone(),
                images: record
                    .images
                    .iter()
                    .map(|(role, tag)| BuiltImage {
                        role: role.clone(),
                        tag: tag.clone(),
                        built: false,
                    })
                    .collect(),
                containers: containers(&record.settings)
                    .iter()
                    .map(|(_, n)| (*n).to_owned())
                    .collect(),
                repository: record.settings.repository()?,
                server: record.settings.host_server(),
                ca_file: record.settings.ca_file(),
                took_ms: started.elapsed().as_millis(),
            });
        }
        note("a sandbox was left half up here; removing it first");
        teardown(&record, false)?;
        Record::remove(&settings.state_dir)?;
    }
    port_free(settings.notary_port, "Notary server")?;
    port_free(settings.registry_port, "registry")?;
    let daemon = daemon::find_or_start(settings, note)?;
    // Recorded at once, so that a `down` after a crash finds the daemon.
    let mut record = Record {
        settings: settings.clone(),
        daemon,
        images: Vec::new(),
        up_since: 0,
        signer_aliases: if settings.signer {
            trust_service::first_aliases()
        } else {
            Vec::new()
        },
    };
    record.save()?;
    match make(&mut record, note) {
        Ok(images) => Ok(Up {
            already_up: false,
            daemon: record.daemon.clone(),
            images,
            containers: containers(settings)
                .iter()
                .map(|(_, n)| (*n).to_owned())
                .collect(),
            repository: settings.repository()?,
            server: settings.host_server(),
            ca_file: settings.ca_file(),
            took_ms: started.elapsed().as_millis(),
        }),
        Err(e) => {
            note("bringing the sandbox up failed; removing what was made");
            let _ = teardown(&record, false);
            let _ = Record::remove(&settings.state_dir);
            Err(e)
        }
    }
}

/// Everything after the daemon: images, certificates, network, containers, readiness.
fn make(record: &mut Record, note: &dyn Fn(&str)) -> Result<Vec<BuiltImage>> {
    let settings = record.settings.clone();
    let docker = daemon::cli(&settings, &record.daemon);
    let t = Instant::now();
    let built = images::ensure(&docker, settings.images, roles(&settings))?;
    note(&format!(
        "images: {} ({} ms)",
        built
            .iter()
            .map(|b| format!("{}{}", b.tag, if b.built { " built" } else { " cached" }))
            .collect::<Vec<_>>()
            .join(", "),
        t.elapsed().as_millis()
    ));
    record.images = built
        .iter()
        .map(|b| (b.role.clone(), b.tag.clone()))
        .collect();
    record.save()?;
    certs::write(&settings)?;
    // A new Notary server knows nothing: trust data cached from an earlier sandbox would look
    // like a rollback. Keys stay.
    let cache = settings.trust_dir().join("tuf");
    if cache.exists() {
        fs::remove_dir_all(&cache).map_err(|e| Error::io("remove", &cache, e))?;
    }
    let n = &settings.names;
    claim(&docker, &settings, "network", &n.network)?;
    for (_, name) in containers(&settings) {
        claim(&docker, &settings, "container", name)?;
    }
    let label = settings.label();
    dk(
        &docker,
        "create the network",
        &["network", "create", "--label", &label, "--", &n.network],
    )?;

    let image = |role: &str| record.image(role).unwrap_or_default().to_owned();
    let rp = settings.registry_port.to_string();
    let np = settings.notary_port.to_string();
    let registry_addr = format!("REGISTRY_HTTP_ADDR=:{rp}");
    let registry_publish = format!("127.0.0.1:{rp}:{rp}");
    let registry_image = image("registry");
    dk(
        &docker,
        "start the registry",
        &[
            "run",
            "-d",
            "--name",
            &n.registry,
            "--network",
            &n.network,
            "--label",
            &label,
            "-e",
            &registry_addr,
            "-p",
            &registry_publish,
            "--",
            &registry_image,
        ],
    )?;
    let secrets = if settings.signer {
        let secrets = trust_service::Secrets::load(&settings, &record.signer_aliases)?;
        let t = Instant::now();
        trust_service::start_database(&docker, &settings, &image("database"), &secrets)?;
        note(&format!(
            "{} (MariaDB) answers, the trust service's schema and accounts made ({} ms)",
            n.database,
            t.elapsed().as_millis()
        ));
        trust_service::start_signer(&docker, &settings, &image("signer"), &secrets)?;
        Some(secrets)
    } else {
        None
    };
    let (server_docker, server_env) = match &secrets {
        Some(secrets) => {
            let (cli, env) = trust_service::server_cli(&docker, &settings, secrets)?;
            (cli, env.to_vec())
        }
        None => (docker.clone(), Vec::new()),
    };
    let notary_mount = format!(
        "type=bind,src={},dst={},readonly",
        settings.path("notary").display(),
        images::NOTARY_CONFIG_DIR
    );
    let notary_publish = format!("127.0.0.1:{np}:{np}");
    let notary_config = format!("{}/server.json", images::NOTARY_CONFIG_DIR);
    let notary_image = image("notary");
    let mut notary_args = vec![
        "run",
        "-d",
        "--name",
        &n.notary,
        "--network",
        &n.network,
        "--label",
        &label,
        "--mount",
        &notary_mount,
        "-p",
        &notary_publish,
    ];
    notary_args.extend(server_env);
    notary_args.extend([
        "--entrypoint",
        images::notary_binary(settings.images),
        "--",
        &notary_image,
        "-config",
        &notary_config,
    ]);
    dk(&server_docker, "start the Notary server", &notary_args)?;
    let socket_mount = format!(
        "type=bind,src={},dst=/var/run/docker.sock",
        record.daemon.socket.display()
    );
    let ca_mount = format!(
        "type=bind,src={},dst={CONTAINER_CONFIG_DIR}/tls/{}:{np}/ca.crt,readonly",
        settings.ca_file().display(),
        n.notary
    );
    let trust_server = format!(
        "DOCKER_CONTENT_TRUST_SERVER={}",
        settings.container_server()
    );
    let client_image = image("client");
    dk(
        &docker,
        "start the docker client",
        &[
            "run",
            "-d",
            "--name",
            &n.client,
            "--network",
            &n.network,
            "--label",
            &label,
            "--mount",
            &socket_mount,
            "--mount",
            &ca_mount,
            "-e",
            "DOCKER_CONTENT_TRUST=1",
            "-e",
            &trust_server,
            "--entrypoint",
            "sleep",
            "--",
            &client_image,
            "2147483647",
        ],
    )?;
    wait_ready(&docker, &settings)?;
    if settings.signer {
        let t = Instant::now();
        trust_service::wait_signer(&docker, &settings, &settings.repository()?)?;
        note(&format!(
            "{} signs for {} over mutual TLS ({} ms)",
            n.signer,
            n.notary,
            t.elapsed().as_millis()
        ));
    }
    note(&format!(
        "{} on {}, {} on {}, {} running",
        n.notary,
        settings.host_server(),
        n.registry,
        settings.host_registry(),
        n.client
    ));
    record.up_since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    record.save()?;
    Ok(built)
}

/// Waits until the registry and the Notary server answer (the server over TLS with the
/// sandbox's CA).
fn wait_ready(docker: &DockerCli, settings: &SandboxSettings) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let gun = settings.repository()?;
    let server = NotaryClient::new(&settings.host_server(), Some(&settings.ca_file()))?;
    for (role, name, port) in [
        ("registry", &settings.names.registry, settings.registry_port),
        ("notary", &settings.names.notary, settings.notary_port),
    ] {
        loop {
            let listening =
                TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
                    .is_ok();
            let answers = listening && (role != "notary" || server.get(&gun, "root.json").is_ok());
            if answers {
                break;
            }
            let state = state_of(docker, name);
            if state != "running" || Instant::now() > deadline {
                let logs = docker
                    .run(
                        "the sandbox",
                        "read logs",
                        &["logs", "--tail", "5", "--", name],
                        None,
                        1 << 16,
                    )
                    .map(|o| String::from_utf8_lossy(&o).replace('\n', " | "))
                    .unwrap_or_default();
                return Err(failed(
                    format!("start {name}"),
                    format!(
                        "it is {state} and does not answer on 127.0.0.1:{port}; its log ends: {logs}"
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Removes the containers and network of `record` (only those labelled as this sandbox's) and
/// stops a private daemon. With `volumes`, also removes the images' state: the private
/// daemon's root, or the images built on the user's own daemon.
fn teardown(record: &Record, volumes: bool) -> Result<Down> {
    let settings = &record.settings;
    let docker = daemon::cli(settings, &record.daemon);
    let mut done = Down {
        was_up: true,
        ..Down::default()
    };
    let ours = settings.state_dir.display().to_string();
    if server_version(&docker).is_ok() {
        for (_, name) in containers(settings) {
            if label_of(&docker, "container", name).as_deref() == Some(ours.as_str()) {
                dk(
                    &docker,
                    "remove a container",
                    &["rm", "-f", "-v", "--", name],
                )?;
                done.containers.push(name.to_owned());
            }
        }
        let net = &settings.names.network;
        if label_of(&docker, "network", net).as_deref() == Some(ours.as_str()) {
            dk(&docker, "remove the network", &["network", "rm", "--", net])?;
            done.networks.push(net.clone());
        }
        if volumes && record.daemon.kind == "own" {
            for (_, tag) in &record.images {
                let _ = dk(&docker, "remove an image", &["rmi", "--", tag]);
            }
        }
    }
    done.stopped = stop_processes(settings, &record.daemon)?;
    if volumes && record.daemon.kind == "private" {
        let root = daemon::private_root(settings);
        if root.exists() {
            fs::remove_dir_all(&root).map_err(|e| Error::io("remove", &root, e))?;
            done.removed.push(root);
        }
    }
    Ok(done)
}

/// Takes the sandbox down: containers and network removed, a private daemon stopped (no process
/// or mount left). `volumes` also removes the images' state; `forget_keys` also removes the
/// sandbox's trust directory and vault (keytool's keys for the sandbox repository). Taking down
/// a sandbox that is not up is not an error.
pub fn down(settings: &SandboxSettings, volumes: bool, forget_keys: bool) -> Result<Down> {
    settings.check()?;
    let _lock = lock(settings)?;
    let mut done = match Record::load(&settings.state_dir)? {
        Some(record) => {
            let d = teardown(&record, volumes)?;
            Record::remove(&settings.state_dir)?;
            d
        }
        None => Down::default(),
    };
    if volumes {
        let root = daemon::private_root(settings);
        if root.exists() {
            fs::remove_dir_all(&root).map_err(|e| Error::io("remove", &root, e))?;
            done.removed.push(root);
        }
    }
    if forget_keys {
        for path in [settings.trust_dir(), settings.vault_master_file()] {
            if path.is_dir() {
                fs::remove_dir_all(&path).map_err(|e| Error::io("remove", &path, e))?;
                done.removed.push(path);
            } else if path.exists() {
                fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
                done.removed.push(path);
            }
        }
    }
    Ok(done)
}

/// The registry's storage directory of blob `digest` inside the registry container.
pub(crate) fn blob_path(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| {
        format!(
            "{REGISTRY_STORAGE}/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_are_built_only_from_real_digests() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            blob_path(&d).as_deref(),
            Some(
                format!(
                    "/var/lib/registry/docker/registry/v2/blobs/sha256/ab/{}/data",
                    "ab".repeat(32)
                )
                .as_str()
            )
        );
        assert!(blob_path("sha256:../../etc/passwd").is_none());
        assert!(blob_path(&format!("sha256:{}", "AB".repeat(32))).is_none());
        assert!(blob_path("md5:abc").is_none());
    }
}
