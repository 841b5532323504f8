//! `keytool migrate`: notary 0.1-0.3 key layouts to the flat `private/` layout; `keytool migrate
//! sigstore`: a repository's content trust signatures to cosign signatures in its registry.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use keystore::ops;
use keystore::{Error, Result};

use crate::cmd::input::parse_gun;
use crate::cmd::signer::required_server;
use crate::context::server::{NoOffline, ServerOptions};
use crate::context::{Context, check_iterations};
use crate::render;

/// Arguments of `migrate`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct MigrateArgs {
    #[command(subcommand)]
    to: Option<MigrateTo>,
}

/// What `migrate` moves to, besides the flat key layout.
#[derive(Debug, Subcommand)]
enum MigrateTo {
    /// Sign every tag that the repository's verified trust data signs (targets and signers)
    /// with a cosign signature in the registry (the sha256-<digest>.sig tag cosign and
    /// containers/image read), so that the signatures outlive the Notary server. Idempotent:
    /// a signature this key already made is kept, others' signatures stay beside it
    Sigstore(SigstoreArgs),
}

/// Arguments of `migrate sigstore`.
#[derive(Debug, Args)]
struct SigstoreArgs {
    /// The repository, e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    /// Sign with this ECDSA key of the trust directory (ID or unique prefix)
    #[arg(long, value_name = "ID", conflicts_with = "generate", required_unless_present_any = ["generate", "dry_run"])]
    key: Option<String>,
    /// Sign with a new key (role sigstore), written to the trust directory first; re-run with
    /// --key and its ID to resume
    #[arg(long)]
    generate: bool,
    /// List what would be signed; push nothing and make no key (the verified trust data is
    /// cached, as by every command that reads the server)
    #[arg(long)]
    dry_run: bool,
    /// Use this registry (http[s]://host:port) instead of the one the GUN names, e.g. when only
    /// containers resolve the GUN's registry name
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// Reach the registry the GUN names over plain HTTP (loopback registries always are)
    #[arg(long, conflicts_with = "registry")]
    registry_insecure: bool,
    /// Write the signing key's public key (PEM) to FILE, for cosign verify --key FILE
    #[arg(long, value_name = "FILE")]
    public_key_out: Option<PathBuf>,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Runs `migrate` or `migrate sigstore`.
pub(crate) fn run(ctx: &Context, args: &MigrateArgs) -> Result<u8> {
    match &args.to {
        None => run_layout(ctx).map(|()| 0),
        Some(MigrateTo::Sigstore(a)) => run_sigstore(ctx, a),
    }
}

/// `migrate`; key files left in place make it fail.
fn run_layout(ctx: &Context) -> Result<()> {
    let report = ops::migrate(&ctx.dir)?;
    render::repo::migrated(ctx.json, &report);
    if report.kept.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidKeyFile {
            file: keystore::error::FileLabel::none(),
            reason: format!(
                "{} legacy key file(s) could not be migrated and were left in place",
                report.kept.len()
            ),
        })
    }
}

/// `migrate sigstore`: exit 1 when a signed manifest is missing from the registry.
fn run_sigstore(ctx: &Context, args: &SigstoreArgs) -> Result<u8> {
    check_iterations(&ctx.kdf)?;
    let gun = parse_gun(Some(&args.repo))?.ok_or_else(|| Error::InvalidArgument {
        what: keystore::Argument::Repository,
        reason: "give the repository with --repo GUN".into(),
    })?;
    let server = required_server(ctx, &args.server)?;
    let id = args
        .key
        .as_deref()
        .map(|k| ops::resolve_key_id(&ctx.dir, k))
        .transpose()?;
    let key = match &id {
        Some(id) => ops::SigstoreKey::Existing(id),
        None => ops::SigstoreKey::Generate,
    };
    let options = ops::SigstoreOptions {
        key,
        registry: args.registry.as_deref(),
        registry_insecure: args.registry_insecure,
        dry_run: args.dry_run,
        public_key_out: args.public_key_out.as_deref(),
    };
    let bar = if !ctx.json && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let source = ctx.passphrases.unlock();
    let done = ops::migrate_sigstore(
        &ctx.dir,
        &source,
        &server,
        &gun,
        &options,
        &ctx.kdf,
        &mut |n, total, m| {
            bar.set_length(total as u64);
            bar.set_position(n as u64);
            bar.set_message(m.tags.join(", "));
        },
    )?;
    bar.finish_and_clear();
    render::repo::migrated_sigstore(ctx.json, &done, args.public_key_out.as_deref());
    Ok(u8::from(
        done.count(ops::SigstoreOutcome::NotInRegistry) > 0,
    ))
}
