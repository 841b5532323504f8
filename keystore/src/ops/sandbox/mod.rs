//! The content trust sandbox: Docker's "Play in a content trust sandbox" brought up by keytool
//! ([`up`], [`status`], [`down`]), its walkthrough played with keytool's managed keys
//! ([`play`]), and docker push and pull with content trust inside a container ([`push`],
//! [`pull`]).
//!
//! The topology is the seed's: a docker network `sandbox` with the containers `notaryserver`
//! (notary-server, TLS with the sandbox's own CA), `sandboxregistry` (a registry on :5000, its
//! storage under `/var/lib/registry`) and `trustsandbox` (a docker client with content trust on,
//! talking to the daemon through its mounted socket), so the repository is
//! `sandboxregistry:5000/test/trusttest`.

mod certs;
mod compose;
mod daemon;
/// The trust service's MariaDB schema, accounts and DSNs (the signer topology); public with the
/// `internals` feature for the test harness's `sandbox_schema`, which prints the same SQL.
#[cfg(feature = "internals")]
pub mod database;
#[cfg(not(feature = "internals"))]
#[allow(unreachable_pub)]
pub(crate) mod database;
mod images;
mod layout;
mod lifecycle;
mod play;
mod status;
mod trust;
mod trust_service;

pub use compose::compose;
pub use daemon::DaemonChoice;
pub use images::{BuiltImage, ImageSource};
pub use layout::{DaemonRecord, Names, SandboxSettings, default_state_dir};
pub use lifecycle::{Down, Up, down, up};
pub use play::{PlayReport, PlayStep, play, pull_in_sandbox, push_in_sandbox};
pub use status::{ContainerState, SandboxStatus, status};
pub use trust::{
    FIRST_CLIENT_WITHOUT_PUSH_SIGNING, ImageRef, Pulled, Pushed, SandboxOptions, pull, push,
};
pub use trust_service::{SignerRekeyed, rekey_signer};
