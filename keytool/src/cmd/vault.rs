//! `keytool vault init|status|change-master`: the passphrase vault for machines without an OS
//! keyring.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use keystore::Result;
use keystore::ops;
use keystore::passphrase::vault::KdfParams;

use crate::context::Context;
use crate::render;

/// `keytool vault ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Create the passphrase vault (<trust dir>/keytool-vault.json) under a master passphrase
    Init {
        #[command(flatten)]
        kdf: VaultKdf,
    },
    /// Show the vault's format, Argon2id parameters and entries (key IDs only)
    Status {
        /// Also open it with the master passphrase and report how long that took
        #[arg(long)]
        unlock: bool,
    },
    /// Re-seal the vault under a new master passphrase (and new Argon2id parameters)
    ChangeMaster {
        /// Read the new master passphrase from the first line of FILE (mode 0600)
        #[arg(long, value_name = "FILE")]
        new_vault_passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: VaultKdf,
    },
}

/// Argon2id parameters of a vault being written.
#[derive(Debug, Args)]
pub(crate) struct VaultKdf {
    /// Argon2id memory in KiB [default: 65536; at most 1048576]
    #[arg(long, value_name = "KIB")]
    m_kib: Option<u32>,
    /// Argon2id passes [default: 4; at most 32]
    #[arg(long, value_name = "N")]
    t: Option<u32>,
    /// Argon2id lanes [default: 1; at most 8]
    #[arg(long, value_name = "N")]
    p: Option<u32>,
}

impl VaultKdf {
    fn params(&self) -> KdfParams {
        let d = KdfParams::DEFAULT;
        KdfParams {
            m_kib: self.m_kib.unwrap_or(d.m_kib),
            t: self.t.unwrap_or(d.t),
            p: self.p.unwrap_or(d.p),
        }
    }
}

/// Runs `vault ...`.
pub(crate) fn run(ctx: &Context, cmd: VaultCommand) -> Result<()> {
    match cmd {
        VaultCommand::Init { kdf } => {
            let status = ops::vault_init(&ctx.passphrases, kdf.params())?;
            render::passphrase::vault_created(&status.path, ctx.json.then_some(&status));
        }
        VaultCommand::Status { unlock } => {
            let (status, took) = ops::vault_status(&ctx.dir, unlock.then_some(&ctx.passphrases))?;
            render::passphrase::vault_status(ctx.json, &status, took);
        }
        VaultCommand::ChangeMaster {
            new_vault_passphrase_file,
            kdf,
        } => {
            let path = ops::vault_change_master(
                &ctx.passphrases,
                new_vault_passphrase_file.as_deref(),
                kdf.params(),
            )?;
            render::passphrase::master_changed(&path);
        }
    }
    Ok(())
}
