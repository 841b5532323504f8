//! `key passwd` and `passphrase generate`: re-encrypt a key under a new passphrase, keeping the
//! passphrase keytool stores for it in step, crash-safely.

use std::path::PathBuf;

use super::KdfSettings;
use super::stored::{Reencrypt, reencrypt};
use crate::error::Result;
use crate::ids::KeyId;
use crate::passphrase::PassphraseSource;
use crate::passphrase::policy::Policy;
use crate::passphrase::store::GeneratedPassphrase;

/// Where the new passphrase of [`passwd`] comes from.
pub enum NewPassphrase<'a> {
    /// From a source (a file, the environment, a prompt or a callback): see
    /// [`Policy::choosing`].
    From(&'a dyn PassphraseSource),
    /// Generated (192 bits) and kept in a durable store ([`Policy::generated_store`]; with
    /// `vault`, the vault even when the OS keyring is durable).
    Generate {
        /// Keep it in the vault.
        vault: bool,
    },
}

/// What [`passwd`] did.
#[derive(Debug)]
pub struct Passwd {
    /// The rewritten key file.
    pub path: PathBuf,
    /// Where a generated passphrase went (never the passphrase).
    pub generated: Option<GeneratedPassphrase>,
}

/// Re-encrypts key `id` under a new passphrase, in notary's format and the current iteration
/// setting, keeping its ID, role and GUN. The current passphrase comes from the policy's
/// sources ([`Policy::unlock`]). A passphrase keytool stores for the key (OS keyring, vault)
/// follows it crash-safely: the new one is stored as the *pending* entry, the key file is
/// replaced atomically, then the pending entry becomes the current one; a crash anywhere leaves
/// the key openable. A generated passphrase goes to a durable store, and the old one's entries
/// elsewhere are removed.
pub fn passwd(
    policy: &Policy,
    id: &KeyId,
    new: NewPassphrase<'_>,
    kdf: &KdfSettings,
) -> Result<Passwd> {
    let old = policy.unlock();
    let (store, how) = match new {
        NewPassphrase::From(source) => (policy.holder(id)?, Reencrypt::From(source)),
        NewPassphrase::Generate { vault } => {
            (Some(policy.generated_store(vault)?), Reencrypt::Generate)
        }
    };
    let generate = matches!(how, Reencrypt::Generate);
    let path = reencrypt(policy.dir(), id, &old, how, store.as_deref(), kdf)?;
    let generated = match (&store, generate) {
        (Some(s), true) => Some(policy.generated_into(id, s.as_ref())?),
        _ => None,
    };
    Ok(Passwd { path, generated })
}
