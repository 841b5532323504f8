//! `keytool signer add|remove|list`: a repository's signers, as `docker trust signer` makes
//! them (`targets/<name>` and `targets/releases`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use keystore::notary::NotaryClient;
use keystore::ops;
use keystore::{Argument, Error, Gun, Result};

use crate::cmd::input::{confirm, read_input};
use crate::context::server::{NoOffline, ServerOptions, server_client};
use crate::context::{Context, check_iterations};
use crate::render;

/// `keytool signer ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SignerCommand {
    /// Let NAME sign REPO's tags (docker trust signer add): NAME's key joins targets/NAME and
    /// targets/releases; `docker trust sign` by NAME then changes what `docker pull` pulls
    Add(AddArgs),
    /// Remove NAME from REPO's signers (docker trust signer remove); its key file stays
    Remove(RemoveArgs),
    /// List REPO's signers and their keys (verified against the trusted root)
    List(ListArgs),
}

/// The repository and its server.
#[derive(Debug, Args)]
pub(crate) struct RepoArgs {
    /// Repository (GUN), e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Arguments of `signer add`.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The signer's name: lowercase letters, digits, '-' and '_' (docker's rule)
    name: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// The signer's public key (PEM, as `docker trust key generate NAME` writes NAME.pub)
    #[arg(long, value_name = "PUBFILE", required_unless_present = "generate")]
    key: Option<PathBuf>,
    /// Generate the signer's key here (role NAME, its passphrase from the usual sources)
    #[arg(long, conflicts_with = "key")]
    generate: bool,
}

/// Arguments of `signer remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The signer's name
    name: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Remove the signer even when the tags of targets/releases would no longer verify
    #[arg(long)]
    yes: bool,
}

/// Arguments of `signer list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    repo: RepoArgs,
}

/// Runs `signer ...`.
pub(crate) fn run(ctx: &Context, command: SignerCommand) -> Result<()> {
    match command {
        SignerCommand::Add(args) => {
            check_iterations(&ctx.kdf)?;
            let (gun, server) = repo(ctx, &args.repo)?;
            let public;
            let key = match &args.key {
                Some(path) => {
                    public = read_input(path)?;
                    ops::SignerKey::Public(&public)
                }
                None => ops::SignerKey::Generate,
            };
            let source = ctx.passphrases.unlock();
            let done =
                ops::signer_add(&ctx.dir, &source, &server, &gun, &args.name, key, &ctx.kdf)?;
            render::signer::added(ctx.json, &done, server.url());
        }
        SignerCommand::Remove(args) => {
            let (gun, server) = repo(ctx, &args.repo)?;
            let source = ctx.passphrases.unlock();
            let remove = |confirmed| {
                ops::signer_remove(
                    &ctx.dir, &source, &server, &gun, &args.name, confirmed, &ctx.kdf,
                )
            };
            let done = match remove(args.yes) {
                Err(Error::InvalidArgument {
                    what: Argument::Confirmation,
                    reason,
                }) if ctx.interactive => {
                    confirm(
                        ctx,
                        &format!("{reason}.\nRemove {} anyway? [y/N] ", args.name),
                    )?;
                    remove(true)?
                }
                other => other?,
            };
            render::signer::removed(ctx.json, &done, server.url());
        }
        SignerCommand::List(args) => {
            let (gun, server) = repo(ctx, &args.repo)?;
            let list = ops::signer_list(&ctx.dir, &server, &gun)?;
            render::signer::list(ctx.json, &list);
        }
    }
    Ok(())
}

/// The repository and the server that holds its signers (required).
pub(crate) fn repo(ctx: &Context, args: &RepoArgs) -> Result<(Gun, NotaryClient)> {
    let gun: Gun = args.repo.parse()?;
    Ok((gun, required_server(ctx, &args.server)?))
}

/// The Notary server, which signer and signing commands cannot do without.
pub(crate) fn required_server(
    ctx: &Context,
    args: &ServerOptions<NoOffline>,
) -> Result<NotaryClient> {
    server_client(ctx, args)?.ok_or_else(|| Error::InvalidArgument {
        what: Argument::Server,
        reason: "signers and signatures live on the Notary server".into(),
    })
}
