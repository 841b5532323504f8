//! `keytool archive --repo GUN [-o FILE]`, `keytool archive --all [-o DIR]`: write a verified
//! snapshot of a repository's trust data; `keytool archive verify FILE [--repo GUN]`: verify
//! one offline and list its tags.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use keystore::ops;
use keystore::{Argument, Error, Gun, Result};

use crate::context::Context;
use crate::context::server::{NoOffline, ServerOptions, server_client};
use crate::render;

/// Arguments of `archive` (which writes an archive unless a subcommand is given).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ArchiveArgs {
    #[command(subcommand)]
    command: Option<ArchiveCommand>,
    /// Repository (GUN) to archive, e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN", conflicts_with = "all")]
    repo: Option<String>,
    /// Archive every repository this trust directory has keys or a trusted root for, each into
    /// its own file in the output directory
    #[arg(long)]
    all: bool,
    /// The archive file [default: GUN.tar with ':' and '/' percent-encoded, in the current
    /// directory]; with --all the directory [default: .]. An existing file is never replaced
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// The subcommands of `archive`.
#[derive(Debug, Subcommand)]
enum ArchiveCommand {
    /// Verify an archive offline (root chain from version 1, signatures, thresholds, hashes;
    /// expiry is reported, not fatal) and list its tags (exit code 0 when it verifies, 1 when
    /// not)
    Verify(VerifyArgs),
}

/// Arguments of `archive verify`.
#[derive(Debug, Args)]
struct VerifyArgs {
    /// The archive file
    file: PathBuf,
    /// The repository the archive must be of; when this trust directory trusts a root of it,
    /// the archived root chain must reach that root
    #[arg(long, value_name = "GUN")]
    repo: Option<String>,
}

/// Runs `archive` or `archive verify`; the exit code is 1 when `--all` could not archive a
/// repository the server has.
pub(crate) fn run(ctx: &Context, args: &ArchiveArgs) -> Result<u8> {
    if let Some(ArchiveCommand::Verify(v)) = &args.command {
        let gun = v.repo.as_deref().map(str::parse::<Gun>).transpose()?;
        let report = ops::verify_archive(&ctx.dir, &v.file, gun.as_ref())?;
        render::archive::verified(ctx.json, &report);
        return Ok(0);
    }
    // The repository first: a usage mistake is told before anything is looked up.
    let gun = match (&args.repo, args.all) {
        (Some(repo), _) => Some(repo.parse::<Gun>()?),
        (None, true) => None,
        (None, false) => {
            return Err(Error::InvalidArgument {
                what: Argument::Repository,
                reason: "name the repository to archive with --repo GUN, or archive every one with --all".into(),
            });
        }
    };
    let server = server_client(ctx, &args.server)?.ok_or_else(|| Error::InvalidArgument {
        what: Argument::Server,
        reason: "archive reads the trust data from the Notary server".into(),
    })?;
    let Some(gun) = gun else {
        let out = args.output.clone().unwrap_or_else(|| PathBuf::from("."));
        let all = ops::archive_all(&ctx.dir, &server, &out)?;
        render::archive::archived_all(ctx.json, &all);
        return Ok(u8::from(!all.failed.is_empty()));
    };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(ops::archive_file_name(&gun)));
    let done = ops::archive(&ctx.dir, &server, &gun, &out)?;
    render::archive::archived(ctx.json, &done);
    Ok(0)
}
