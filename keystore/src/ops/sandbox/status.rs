//! `status`: what runs, where to reach it, which keys the client container holds, and how to
//! point keytool and docker at the sandbox.

use std::path::PathBuf;

use serde::Serialize;

use super::daemon::{self, server_version};
use super::layout::{DaemonRecord, Record, SandboxSettings};
use super::lifecycle::{containers, dk, state_of};
use crate::error::Result;
use crate::ids::Gun;
use crate::ops::provision::CONTAINER_CONFIG_DIR;

/// One container as `status` sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerState {
    /// What it is: `notary`, `registry` or `client`.
    pub role: String,
    /// Its name.
    pub name: String,
    /// docker's state (`running`, `exited`, …) or `missing`.
    pub state: String,
}

/// What [`status`] found.
#[derive(Clone, Debug, Serialize)]
pub struct SandboxStatus {
    /// Whether the sandbox is up: its daemon answers and every container runs.
    pub up: bool,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The daemon, when a sandbox was brought up.
    pub daemon: Option<DaemonRecord>,
    /// Whether the daemon answers.
    pub daemon_answers: bool,
    /// The containers.
    pub containers: Vec<ContainerState>,
    /// The repository to play with.
    pub repository: Gun,
    /// The Notary server from this machine and from inside the network.
    pub server: String,
    /// The Notary server's URL inside the network.
    pub container_server: String,
    /// The registry from this machine.
    pub registry: String,
    /// The CA certificate clients of the Notary server trust.
    pub ca_file: PathBuf,
    /// The sandbox's trust directory (keytool's keys for it).
    pub trust_dir: PathBuf,
    /// Key files in the client container's trust directory (`private/<id>.key`).
    pub provisioned_keys: Vec<String>,
    /// A shell in the client container.
    pub shell: String,
    /// Environment settings that point keytool and docker at the sandbox.
    pub environment: Vec<(String, String)>,
    /// The signer topology: notary-signer's passphrase aliases, the default (the one new keys
    /// are encrypted with) last; empty without notary-signer.
    pub signer_aliases: Vec<String>,
}

/// What runs, where to reach it, and which keys the client container holds.
pub fn status(settings: &SandboxSettings) -> Result<SandboxStatus> {
    let record = Record::load(&settings.state_dir)?;
    let s = record.as_ref().map_or(settings, |r| &r.settings);
    let docker = record.as_ref().map(|r| daemon::cli(s, &r.daemon));
    let daemon_answers = docker.as_ref().is_some_and(|d| server_version(d).is_ok());
    let containers: Vec<ContainerState> = containers(s)
        .iter()
        .map(|(role, name)| ContainerState {
            role: (*role).into(),
            name: (*name).into(),
            state: match &docker {
                Some(d) if daemon_answers => state_of(d, name),
                _ => "missing".into(),
            },
        })
        .collect();
    let up = daemon_answers && containers.iter().all(|c| c.state == "running");
    let provisioned_keys = match &docker {
        Some(d) if up => dk(
            d,
            "list the client's keys",
            &[
                "exec",
                "--",
                &s.names.client,
                "ls",
                &format!("{CONTAINER_CONFIG_DIR}/trust/private"),
            ],
        )
        .map(|out| out.lines().map(str::to_owned).collect())
        .unwrap_or_default(),
        _ => Vec::new(),
    };
    // Only a private daemon has a host of its own; the user's own daemon is the default one.
    let host_prefix = record.as_ref().and_then(|r| r.daemon.host.clone());
    let mut environment = vec![
        (
            "KEYTOOL_TRUST_DIR".to_owned(),
            s.trust_dir().display().to_string(),
        ),
        ("DOCKER_CONTENT_TRUST_SERVER".to_owned(), s.host_server()),
        (
            "KEYTOOL_TLSCACERT".to_owned(),
            s.ca_file().display().to_string(),
        ),
        (
            "KEYTOOL_VAULT_PASSPHRASE_FILE".to_owned(),
            s.vault_master_file().display().to_string(),
        ),
    ];
    if let Some(host) = &host_prefix {
        environment.push(("DOCKER_HOST".to_owned(), host.clone()));
    }
    let shell = match &host_prefix {
        Some(host) => format!("DOCKER_HOST={host} docker exec -it {} sh", s.names.client),
        None => format!("docker exec -it {} sh", s.names.client),
    };
    Ok(SandboxStatus {
        up,
        state_dir: s.state_dir.clone(),
        daemon: record.as_ref().map(|r| r.daemon.clone()),
        daemon_answers,
        containers,
        repository: s.repository()?,
        server: s.host_server(),
        container_server: s.container_server(),
        registry: s.host_registry(),
        ca_file: s.ca_file(),
        trust_dir: s.trust_dir(),
        provisioned_keys,
        shell,
        environment,
        signer_aliases: record
            .as_ref()
            .map(|r| r.signer_aliases.clone())
            .unwrap_or_default(),
    })
}
