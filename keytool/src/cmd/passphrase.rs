//! `keytool passphrase explain|set|generate|remove|reveal`.

use keystore::error::Argument;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use keystore::ops::{self, NewPassphrase};
use keystore::passphrase::Subject;
use keystore::passphrase::store::SecretStore;
use keystore::passphrase::{Purpose, Request};
use keystore::{Error, Result, Role};

use crate::cmd::input::{confirm, resolve_stored_key_id};
use crate::context::{Context, check_iterations};
use crate::prompt::TtyPrompt;
use crate::render;

/// `keytool passphrase ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum PassphraseCommand {
    /// Show, in order, which source would supply a key's passphrase (never the passphrase)
    Explain(ExplainArgs),
    /// Store a key's passphrase (from --passphrase-file, stdin, the environment or a prompt) in
    /// the OS keyring, or the vault when there is no keyring; it must open the key
    Set {
        /// Key ID or unique prefix
        key_id: String,
        /// Store in the vault even when an OS keyring is available
        #[arg(long)]
        vault: bool,
    },
    /// Re-encrypt a key under a new random passphrase (192 bits) kept in a durable store: Secret
    /// Service or the macOS keychain, else the vault (never kernel keyutils alone)
    Generate {
        /// Key ID or unique prefix
        key_id: String,
        /// Store in the vault even when an OS keyring is available
        #[arg(long)]
        vault: bool,
    },
    /// Delete a key's stored passphrase from every OS keyring and the vault that hold one (not
    /// the key)
    Remove {
        /// Key ID or unique prefix (a full ID for a retired or removed key)
        key_id: String,
    },
    /// Show a key's stored passphrase on this terminal, or write it to a new file (mode 0600),
    /// to back it up; asks for confirmation. Never into a pipe, a log or JSON
    Reveal {
        /// Key ID or unique prefix (a full ID for a retired key)
        key_id: String,
        /// Write it to FILE (first line; created with mode 0600; it must not exist yet) instead
        /// of the terminal
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

/// Arguments of `passphrase explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Key ID or unique prefix
    #[arg(required_unless_present = "role", conflicts_with_all = ["role", "repo"])]
    key_id: Option<String>,
    /// A role (root, targets, snapshot, targets/<name>, a signer name) instead of a key ID
    #[arg(long)]
    role: Option<String>,
    /// The repository (GUN) of a targets or snapshot key
    #[arg(long, value_name = "GUN", requires = "role")]
    repo: Option<String>,
}

/// Runs `passphrase ...`.
pub(crate) fn run(ctx: &Context, cmd: PassphraseCommand) -> Result<()> {
    match cmd {
        PassphraseCommand::Explain(args) => explain(ctx, &args),
        PassphraseCommand::Set { key_id, vault } => {
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let store = ctx.passphrases.preferred_store(vault)?;
            let origin = ops::store_passphrase(
                &ctx.dir,
                &id,
                &ctx.passphrases.choosing(),
                store.as_ref(),
                &ctx.kdf,
            )?;
            render::passphrase::stored(ctx.json, &id, "stored", &store.describe(), Some(&origin));
            Ok(())
        }
        PassphraseCommand::Generate { key_id, vault } => {
            check_iterations(&ctx.kdf)?;
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let done = ops::passwd(
                &ctx.passphrases,
                &id,
                NewPassphrase::Generate { vault },
                &ctx.kdf,
            )?;
            let Some(generated) = done.generated else {
                return Err(Error::Internal {
                    what: "a generated passphrase was not recorded".into(),
                });
            };
            let stored_in = generated.stored_in.clone();
            crate::output::record_generated(generated);
            render::passphrase::stored(
                ctx.json,
                &id,
                "re-encrypted under a generated passphrase stored",
                &stored_in,
                None,
            );
            Ok(())
        }
        PassphraseCommand::Remove { key_id } => {
            let id = resolve_stored_key_id(ctx, &key_id)?;
            let every = ctx.passphrases.every_store()?;
            let stores: Vec<&dyn SecretStore> = every.iter().map(|s| s.as_ref()).collect();
            let removed = ops::forget_everywhere(&id, &stores)?;
            render::passphrase::removed(ctx.json, &id, &removed);
            Ok(())
        }
        PassphraseCommand::Reveal {
            key_id,
            output: file,
            yes,
        } => reveal(ctx, &key_id, file.as_deref(), yes),
    }
}

/// `passphrase reveal`: a stored passphrase, on purpose, to a terminal or a new 0600 file only.
fn reveal(ctx: &Context, key_id: &str, file: Option<&Path>, yes: bool) -> Result<()> {
    let id = resolve_stored_key_id(ctx, key_id)?;
    if file.is_none() && (ctx.json || !std::io::stdout().is_terminal()) {
        return Err(Error::InvalidArgument {
            what: Argument::Parameter("output"),
            reason: "standard output is not a terminal (or --json was given): the passphrase \
                     would end up in a pipe, a file or a log. Write it to a new file with \
                     -o FILE (created with mode 0600), or run on a terminal"
                .into(),
        });
    }
    if !yes {
        confirm(ctx, &render::passphrase::reveal_question(&id, file))?;
    }
    let every = ctx.passphrases.every_store()?;
    let stores: Vec<&dyn SecretStore> = every.iter().map(|s| s.as_ref()).collect();
    let revealed = ops::reveal_passphrase(&ctx.dir, &id, &stores, &ctx.kdf)?;
    match file {
        Some(path) => {
            ops::write_passphrase_file(path, &revealed.passphrase)?;
            render::passphrase::revealed_to_file(ctx.json, &id, path, &revealed);
        }
        None => {
            // The passphrase itself: written here, straight to the terminal, never rendered.
            let mut out = std::io::stdout().lock();
            out.write_all(revealed.passphrase.expose())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
                .map_err(|e| Error::Io {
                    action: "write",
                    path: "standard output".into(),
                    source: e,
                })?;
            render::passphrase::revealed_on_terminal(&id, &revealed);
        }
    }
    Ok(())
}

/// `passphrase explain`: the key (or role), and what each source would do for it.
fn explain(ctx: &Context, args: &ExplainArgs) -> Result<()> {
    let (id, role, gun) = match (&args.key_id, &args.role) {
        (Some(k), _) => {
            let id = ops::resolve_key_id(&ctx.dir, k)?;
            let (role, gun) = ops::key_role(&ctx.dir, &id)?;
            (Some(id), role, gun)
        }
        (None, Some(r)) => {
            let role: Role = r.parse()?;
            let gun = args.repo.as_deref().map(str::parse).transpose()?;
            let keys = ops::list(&ctx.dir, Some(&role), gun.as_ref())?;
            let id = match keys.as_slice() {
                [one] => one.id.parse().ok(),
                _ => None,
            };
            (id, role, gun)
        }
        (None, None) => {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("arguments"),
                reason: "give a KEY_ID or --role".into(),
            });
        }
    };
    let request = Request {
        key_id: id.as_ref(),
        role: &role,
        gun: gun.as_ref(),
        purpose: Purpose::Unlock,
        attempt: 0,
        subject: Subject::Key,
    };
    // Every source that answers by itself is tried on the key (no prompt, also not for the
    // vault's master passphrase); a prompt is only listed.
    let mut sources = ctx.passphrases.checking();
    if ctx.interactive {
        sources.push(Box::new(TtyPrompt));
    }
    let checks: Vec<ops::SourceCheck> = match &id {
        Some(id) => ops::check_sources(&ctx.dir, id, &sources, &ctx.kdf)?,
        None => sources
            .explain(&request)
            .into_iter()
            .map(|explained| ops::SourceCheck {
                explained,
                opens: None,
            })
            .collect(),
    };
    render::passphrase::explained(
        ctx.json,
        &render::passphrase::Explained {
            id: id.as_ref(),
            role: &role,
            gun: gun.as_ref(),
            checks: &checks,
            interactive: ctx.interactive,
        },
    );
    Ok(())
}
