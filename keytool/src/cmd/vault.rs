//! `keytool vault init|status|change-master`: the passphrase vault for machines without an OS
//! keyring.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use keystore::passphrase::vault::{KdfParams, MASTER_ROLE, Vault};
use keystore::passphrase::{Chain, FileSource, PassphraseSource, Purpose, Request};
use keystore::{Error, Passphrase, Result, Role};

use crate::context::Context;
use crate::context::passphrases::master_chain;
use crate::messages::NEW_MASTER_ROLE;
use crate::prompt::TtyPrompt;
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
    let ask_as =
        |source: &dyn PassphraseSource, purpose: Purpose, role: &str| -> Result<Passphrase> {
            source
                .supply(&Request {
                    key_id: None,
                    role: &Role::Other(MASTER_ROLE.into()),
                    gun: None,
                    purpose,
                    attempt: 0,
                })?
                .map(|s| s.passphrase)
                .ok_or_else(|| Error::PassphraseRequired {
                    key: keystore::error::FileLabel::none(),
                    role: role.into(),
                })
        };
    let ask =
        |source: &dyn PassphraseSource, purpose: Purpose| ask_as(source, purpose, MASTER_ROLE);
    match cmd {
        VaultCommand::Init { kdf } => {
            let master = ask(
                &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                Purpose::NewKey,
            )?;
            let lock = ctx.dir.lock()?;
            let v = Vault::create(&ctx.dir, &lock, &master, kdf.params())?;
            let status = if ctx.json {
                Some(Vault::status(&ctx.dir)?)
            } else {
                None
            };
            render::passphrase::vault_created(v.path(), status.as_ref());
        }
        VaultCommand::Status { unlock } => {
            let status = Vault::status(&ctx.dir)?;
            let took = if unlock && status.exists {
                let master = ask(
                    &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                    Purpose::Unlock,
                )?;
                let start = Instant::now();
                Vault::open(&ctx.dir, &master)?;
                Some(start.elapsed())
            } else {
                None
            };
            render::passphrase::vault_status(ctx.json, &status, took);
        }
        VaultCommand::ChangeMaster {
            new_vault_passphrase_file,
            kdf,
        } => {
            let old = ask(
                &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                Purpose::Unlock,
            )?;
            let mut new_chain = Chain::new();
            if let Some(f) = &new_vault_passphrase_file {
                new_chain.push(Box::new(FileSource::new(f)));
            }
            if ctx.interactive {
                new_chain.push(Box::new(TtyPrompt));
            }
            let new = ask_as(&new_chain, Purpose::NewKey, NEW_MASTER_ROLE)?;
            let lock = ctx.dir.lock()?;
            let mut v = Vault::open(&ctx.dir, &old)?.ok_or_else(|| Error::KeyNotFound {
                key_id: "(passphrase vault)".into(),
                dir: keystore::passphrase::vault::vault_path(&ctx.dir),
            })?;
            v.change_master(&new, kdf.params())?;
            v.save(&lock)?;
            render::passphrase::master_changed(v.path());
        }
    }
    Ok(())
}
