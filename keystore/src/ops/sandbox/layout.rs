//! What a sandbox is called and where its files live: the settings a user may change, and the
//! record `up` keeps of what it made (`sandbox.json` in the state directory), which `status` and
//! `down` read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::daemon::DaemonChoice;
use super::images::ImageSource;
use crate::error::{Argument, Error, Result};
use crate::ids::Gun;
use crate::ops::provision::check_container_name;
use crate::trust_dir::{read_no_follow, write_atomic};

/// The record of a sandbox that is up.
const RECORD: &str = "sandbox.json";
/// Largest record read back.
const MAX_RECORD: u64 = 1 << 20;
/// The repository the walkthrough plays with, below the registry's `host:port`.
const PLAY_REPOSITORY: &str = "test/trusttest";
/// The label put on every container and network the sandbox makes; its value is the state
/// directory, so two sandboxes on one daemon never touch each other's.
pub(crate) const LABEL: &str = "org.keytool.sandbox";

/// The names of the sandbox's network and containers (the seed's by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// The docker network (`sandbox`).
    pub network: String,
    /// The Notary server container (`notaryserver`).
    pub notary: String,
    /// The registry container (`sandboxregistry`).
    pub registry: String,
    /// The docker client container (`trustsandbox`).
    pub client: String,
    /// The notary-signer container of the signer topology (`notarysigner`).
    #[serde(default = "default_signer_name")]
    pub signer: String,
    /// The MariaDB container of the signer topology (`mysql`, the host name notary's
    /// documentation gives the database).
    #[serde(default = "default_database_name")]
    pub database: String,
}

fn default_signer_name() -> String {
    "notarysigner".into()
}

fn default_database_name() -> String {
    "mysql".into()
}

impl Default for Names {
    fn default() -> Self {
        Names {
            network: "sandbox".into(),
            notary: "notaryserver".into(),
            registry: "sandboxregistry".into(),
            client: "trustsandbox".into(),
            signer: default_signer_name(),
            database: default_database_name(),
        }
    }
}

/// Everything a sandbox is made of that a user may choose. The defaults are the seed's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSettings {
    /// Where the sandbox keeps its record, certificates, configuration, trust directory and (for
    /// a private daemon) the daemon's root.
    pub state_dir: PathBuf,
    /// Network and container names.
    pub names: Names,
    /// The Notary server's port, in the network and published on 127.0.0.1 (4443).
    pub notary_port: u16,
    /// The registry's port, in the network and published on 127.0.0.1 (5000).
    pub registry_port: u16,
    /// Which docker daemon runs the sandbox.
    pub daemon: DaemonChoice,
    /// Where the images come from.
    #[serde(default)]
    pub images: ImageSource,
    /// The production-shaped topology: notary-server uses notary-signer (mutual TLS) for the
    /// keys it holds, and both store their data in a MariaDB database.
    #[serde(default)]
    pub signer: bool,
}

impl SandboxSettings {
    /// The seed's names and ports, kept in `state_dir`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        SandboxSettings {
            state_dir: state_dir.into(),
            names: Names::default(),
            notary_port: 4443,
            registry_port: 5000,
            daemon: DaemonChoice::Auto,
            images: ImageSource::Local,
            signer: false,
        }
    }

    /// Checks names and ports before anything is made.
    pub(crate) fn check(&self) -> Result<()> {
        let n = &self.names;
        for name in [
            &n.network,
            &n.notary,
            &n.registry,
            &n.client,
            &n.signer,
            &n.database,
        ] {
            check_container_name(name)?;
        }
        let mut all = vec![&n.notary, &n.registry, &n.client];
        if self.signer {
            all.extend([&n.signer, &n.database]);
        }
        let count = all.len();
        all.sort();
        all.dedup();
        if all.len() != count {
            return Err(Error::InvalidArgument {
                what: Argument::Container,
                reason: "every container of the sandbox needs a name of its own".into(),
            });
        }
        for (what, port) in [
            ("notary port", self.notary_port),
            ("registry port", self.registry_port),
        ] {
            if port == 0 {
                return Err(Error::InvalidArgument {
                    what: Argument::Parameter(what),
                    reason: "a port between 1 and 65535 is needed".into(),
                });
            }
        }
        if self.notary_port == self.registry_port {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("registry port"),
                reason: format!(
                    "the registry and the Notary server cannot share port {}",
                    self.registry_port
                ),
            });
        }
        if self.signer && self.images == ImageSource::Upstream {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("images"),
                reason: "the sandbox with notary-signer and its database is built only from this machine's binaries (local images)".into(),
            });
        }
        if self.state_dir.to_string_lossy().contains(',') {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("state directory"),
                reason: format!(
                    "{} holds a comma, which docker's mount option cannot take; choose another directory",
                    self.state_dir.display()
                ),
            });
        }
        if !self.state_dir.is_absolute() {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("state directory"),
                reason: format!("{} is not an absolute path", self.state_dir.display()),
            });
        }
        Ok(())
    }

    /// The repository the walkthrough plays with: `sandboxregistry:5000/test/trusttest`.
    pub fn repository(&self) -> Result<Gun> {
        format!(
            "{}:{}/{PLAY_REPOSITORY}",
            self.names.registry, self.registry_port
        )
        .parse()
    }

    /// The Notary server's URL inside the network: `https://notaryserver:4443`.
    pub fn container_server(&self) -> String {
        format!("https://{}:{}", self.names.notary, self.notary_port)
    }

    /// The Notary server's URL from this machine: `https://127.0.0.1:4443`.
    pub fn host_server(&self) -> String {
        format!("https://127.0.0.1:{}", self.notary_port)
    }

    /// The registry from this machine: `127.0.0.1:5000`.
    pub fn host_registry(&self) -> String {
        format!("127.0.0.1:{}", self.registry_port)
    }

    /// The label value that marks what this sandbox made.
    pub(crate) fn label(&self) -> String {
        format!("{LABEL}={}", self.state_dir.display())
    }

    /// A path in the state directory.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.state_dir.join(rel)
    }

    /// The sandbox's own trust directory (keytool's keys for the sandbox repository).
    pub fn trust_dir(&self) -> PathBuf {
        self.path("trust")
    }

    /// The sandbox CA's certificate (PEM), which clients of the Notary server trust.
    pub fn ca_file(&self) -> PathBuf {
        self.path("certs/ca.crt")
    }

    /// The file holding the master passphrase of the sandbox trust directory's vault.
    pub fn vault_master_file(&self) -> PathBuf {
        self.path("vault-master")
    }
}

/// The default state directory: `$XDG_STATE_HOME/keytool/sandbox`, else
/// `$HOME/.local/state/keytool/sandbox` (`None` without either). `env` reads the environment.
pub fn default_state_dir(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let base = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local/state"))
        })?;
    Some(base.join("keytool/sandbox"))
}

/// The daemon a sandbox runs on, as `up` recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonRecord {
    /// `private` (started by keytool under the state directory) or `own` (the user's).
    pub kind: String,
    /// `DOCKER_HOST` of a private daemon (`unix://…`); `None` for the user's own, reached as the
    /// user's `docker` reaches it.
    pub host: Option<String>,
    /// The daemon's socket on this machine, mounted into the client container.
    pub socket: PathBuf,
    /// Processes keytool started (a private daemon and its containerd): name and PID.
    pub processes: Vec<(String, u32)>,
    /// The daemon's version.
    pub version: String,
}

/// What `up` made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The settings it was made with.
    pub(crate) settings: SandboxSettings,
    /// The daemon.
    pub(crate) daemon: DaemonRecord,
    /// The images the containers run, by role (`notary`, `registry`, `client`, `play`).
    pub(crate) images: Vec<(String, String)>,
    /// When `up` finished (seconds since the Unix epoch).
    pub(crate) up_since: u64,
    /// The signer topology: the passphrase aliases notary-signer is given, the default (the
    /// one new keys are encrypted with) last. Names only; the passphrases are in the vault.
    #[serde(default)]
    pub(crate) signer_aliases: Vec<String>,
}

impl Record {
    /// Reads the record of the sandbox kept in `state_dir`, if one is up.
    pub(crate) fn load(state_dir: &Path) -> Result<Option<Record>> {
        let path = state_dir.join(RECORD);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let bytes = read_no_follow(&path, MAX_RECORD)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Sandbox {
                action: "read its record".into(),
                reason: format!("{} is damaged ({e}); run down, then up", path.display()),
            })
    }

    /// Writes the record atomically.
    pub(crate) fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Internal {
            what: format!("cannot encode the sandbox record: {e}"),
        })?;
        write_atomic(&self.settings.state_dir, RECORD, &bytes, true)?;
        Ok(())
    }

    /// Removes the record (the sandbox is down).
    pub(crate) fn remove(state_dir: &Path) -> Result<()> {
        match std::fs::remove_file(state_dir.join(RECORD)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &state_dir.join(RECORD), e)),
        }
    }

    /// The image made for `role`.
    pub(crate) fn image(&self, role: &str) -> Option<&str> {
        self.images
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, i)| i.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_seeds() {
        let s = SandboxSettings::new("/var/lib/keytool-sandbox");
        assert_eq!(
            s.repository().expect("gun").as_str(),
            "sandboxregistry:5000/test/trusttest"
        );
        assert_eq!(s.container_server(), "https://notaryserver:4443");
        assert_eq!(s.host_server(), "https://127.0.0.1:4443");
        s.check().expect("defaults are valid");
    }

    #[test]
    fn names_that_look_like_flags_and_clashing_ports_are_refused() {
        let mut s = SandboxSettings::new("/tmp/s");
        s.names.client = "--privileged".into();
        assert!(s.check().is_err());
        let mut s = SandboxSettings::new("/tmp/s");
        s.names.registry = "notaryserver".into();
        assert!(s.check().is_err());
        let mut s = SandboxSettings::new("/tmp/s");
        s.registry_port = 4443;
        assert!(s.check().is_err());
        let s = SandboxSettings::new("relative/dir");
        assert!(s.check().is_err());
    }

    #[test]
    fn the_signer_topology_needs_names_of_its_own_and_local_images() {
        let mut s = SandboxSettings::new("/tmp/s");
        s.signer = true;
        s.check().expect("the seed's names");
        s.names.database = "notaryserver".into();
        assert!(s.check().is_err(), "database named like the server");
        let mut s = SandboxSettings::new("/tmp/s");
        s.signer = true;
        s.names.signer = "--privileged".into();
        assert!(s.check().is_err());
        let mut s = SandboxSettings::new("/tmp/s");
        s.signer = true;
        s.images = ImageSource::Upstream;
        assert!(s.check().is_err());
        // Without the signer, its names do not matter.
        let mut s = SandboxSettings::new("/tmp/s");
        s.names.database = "notaryserver".into();
        s.check().expect("unused names are not compared");
    }

    #[test]
    fn an_older_record_reads_as_the_memory_topology() {
        let mut json = serde_json::to_value(SandboxSettings::new("/tmp/s")).expect("json");
        let obj = json.as_object_mut().expect("object");
        obj.remove("signer");
        let names = obj["names"].as_object_mut().expect("names");
        names.remove("signer");
        names.remove("database");
        let s: SandboxSettings = serde_json::from_value(json).expect("older record");
        assert!(!s.signer);
        assert_eq!(s.names.database, "mysql");
        assert_eq!(s.names.signer, "notarysigner");
    }
}
