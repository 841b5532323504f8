//! `vault init|status|change-master`: the passphrase vault of a trust directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::passphrase::Purpose;
use crate::passphrase::policy::Policy;
use crate::passphrase::vault::{KdfParams, Vault, VaultStatus, vault_path};
use crate::trust_dir::TrustDir;

/// Creates the vault of the policy's trust directory, sealed under a new master passphrase from
/// the policy's master sources (the vault passphrase file, `KEYTOOL_VAULT_PASSPHRASE`, a
/// callback or a prompt). An existing vault is never replaced. Returns its status.
pub fn vault_init(policy: &Policy, params: KdfParams) -> Result<VaultStatus> {
    params.check(&vault_path(policy.dir()))?;
    let master = policy.vault_master(Purpose::NewKey)?;
    let lock = policy.dir().lock()?;
    Vault::create(policy.dir(), &lock, &master, params)?;
    drop(lock);
    Vault::status(policy.dir())
}

/// The vault's header (format, Argon2id parameters, entries by key ID; nothing secret) and,
/// with `unlock`, how long opening it with the master passphrase took.
pub fn vault_status(
    dir: &TrustDir,
    unlock: Option<&Policy>,
) -> Result<(VaultStatus, Option<Duration>)> {
    let status = Vault::status(dir)?;
    let took = match unlock {
        Some(policy) if status.exists => {
            let master = policy.vault_master(Purpose::Unlock)?;
            let start = Instant::now();
            Vault::open(dir, &master)?;
            Some(start.elapsed())
        }
        _ => None,
    };
    Ok((status, took))
}

/// Re-seals the vault under a new master passphrase (from `new_file`, else the callback or the
/// prompt) and new Argon2id parameters, atomically. Returns the vault's path.
pub fn vault_change_master(
    policy: &Policy,
    new_file: Option<&Path>,
    params: KdfParams,
) -> Result<PathBuf> {
    let dir = policy.dir();
    params.check(&vault_path(dir))?;
    let old = policy.vault_master(Purpose::Unlock)?;
    let new = policy.new_vault_master(new_file)?;
    let lock = dir.lock()?;
    let mut vault = Vault::open(dir, &old)?.ok_or_else(|| Error::VaultNotFound {
        path: vault_path(dir),
    })?;
    vault.change_master(&new, params)?;
    vault.save(&lock)?;
    Ok(vault.path().to_owned())
}
