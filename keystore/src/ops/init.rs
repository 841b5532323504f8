//! `init`: prepare a repository's keys, and publish them when a server is named.

use serde::Serialize;

use super::{KdfSettings, Preseeded, Published, preseed, publish};
use crate::error::Result;
use crate::ids::Gun;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;

/// What [`init`] did. Serialises as the inner report (the JSON of `keytool --json init`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Initialized {
    /// No server: the keys are ready in the trust directory, not published.
    Preseeded(Preseeded),
    /// Published on the server (or found already published with the keys this machine holds).
    Published(Published),
}

/// Prepares repository `gun`: reuses the root key (the smallest ID, as docker) and the
/// repository's targets key, or generates them; then, with `server`, publishes root.json and
/// targets.json signed by those keys, so that the next `docker push` signs with them (the
/// snapshot key is the server's unless `local_snapshot`). Without a server nothing is
/// published, and `local_snapshot` does not apply.
pub fn init(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    server: Option<&NotaryClient>,
    local_snapshot: bool,
    kdf: &KdfSettings,
) -> Result<Initialized> {
    match server {
        Some(server) => {
            publish(dir, source, gun, server, local_snapshot, kdf).map(Initialized::Published)
        }
        None => preseed(dir, source, gun, kdf).map(Initialized::Preseeded),
    }
}
