//! `passphrase explain`: each source of the chain, what it would do with a key's passphrase
//! request, and whether its answer actually opens the key.

use serde::Serialize;

use super::{KdfSettings, unlock_with};
use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::passphrase::{Chain, Explained, Probe, Purpose, Request};
use crate::trust_dir::TrustDir;

/// Whether a source's answer opens the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum Opens {
    /// It decrypts the key.
    Yes,
    /// It is the wrong passphrase.
    No,
    /// It could not be checked (why; never a secret).
    Unknown(String),
}

/// One source, what it would do, and (for a source that answers) whether the answer opens the
/// key.
#[derive(Clone, Debug)]
pub struct SourceCheck {
    /// The source and its probe.
    pub explained: Explained,
    /// `None` for a source that does not answer by itself (a prompt, a callback, nothing set).
    pub opens: Option<Opens>,
}

/// Explains `chain` for key `id` and tries the answer of every source that answers by itself
/// (files, environment, stored passphrases) on the key; sources that would ask a person are
/// not asked. Give a chain whose stores do not prompt either (e.g. for a vault's master
/// passphrase). No lock is held while sources are asked.
pub fn check_sources(
    dir: &TrustDir,
    id: &KeyId,
    chain: &Chain,
    kdf: &KdfSettings,
) -> Result<Vec<SourceCheck>> {
    let (path, file) = dir.read_key(id)?;
    let request = Request {
        key_id: Some(id),
        role: file.role(),
        gun: file.gun(),
        purpose: Purpose::Unlock,
        attempt: 0,
        subject: crate::passphrase::Subject::Key,
    };
    let mut out = Vec::new();
    for (explained, source) in chain.explain(&request).into_iter().zip(chain.sources()) {
        let opens = match explained.probe {
            Probe::Answers(_) if !file.is_encrypted() => Some(Opens::Yes),
            Probe::Answers(_) => Some(
                match unlock_with(&file, Some(id), source, kdf).map_err(|e| e.in_file(&path)) {
                    Ok(_) => Opens::Yes,
                    Err(Error::WrongPassphrase { .. }) => Opens::No,
                    Err(Error::PassphraseRequired { .. }) => {
                        Opens::Unknown("it gave no passphrase when asked".into())
                    }
                    Err(e) => Opens::Unknown(e.to_string()),
                },
            ),
            _ => None,
        };
        out.push(SourceCheck { explained, opens });
    }
    Ok(out)
}
