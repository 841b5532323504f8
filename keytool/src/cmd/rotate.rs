//! `keytool rotate`: replace a repository's targets, snapshot or root key, crash-safely; several
//! repositories at once (`--jobs`).

use keystore::error::Argument;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::Args;
use keystore::notary::NotaryClient;
use keystore::ops;
use keystore::{Error, Gun, Result, Role};

use crate::cmd::input::{confirm, read_input};
use crate::context::server::{ServerOptions, server_client};
use crate::context::{Context, check_iterations};
use crate::render;
use crate::render::rotate::Row;

/// Help of `--offline` for `rotate`.
const OFFLINE_HELP: &str =
    "Rotate locally only (unpublished repositories), even when DOCKER_CONTENT_TRUST_SERVER is set";

/// Most repositories `--jobs` rotates at once (each is a thread and a connection to the server).
const MAX_JOBS: i64 = 256;

/// Arguments of `rotate`.
#[derive(Debug, Args)]
#[command(mut_arg("offline", |a| a.help(OFFLINE_HELP)))]
pub(crate) struct RotateArgs {
    /// Repository (GUN); repeat to rotate several
    #[arg(long = "repo", value_name = "GUN", required_unless_present = "all")]
    repos: Vec<String>,
    /// Every repository with a local targets key that the server has published (or whose root
    /// this machine trusts); published ones without a local targets key are skipped
    #[arg(long, conflicts_with = "repos")]
    all: bool,
    #[command(flatten)]
    server: ServerOptions,
    /// The role to rotate: targets, snapshot or root
    #[arg(long, default_value = "targets")]
    role: String,
    /// Snapshot only: have the server hold the (new) snapshot key, as docker sets up
    #[arg(long)]
    server_managed: bool,
    /// Adopt this key file as the new key (decrypted with its own passphrase)
    #[arg(long, value_name = "FILE", conflicts_with = "server_managed")]
    key: Option<PathBuf>,
    /// Replace this signer's key instead (targets/NAME and targets/releases); its files are
    /// re-signed by the new key, the old key retired once the server accepted
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["all", "server_managed", "key", "dry_run", "resume", "ask_new_passphrase"]
    )]
    signer: Option<String>,
    /// Rotate the root key without asking for confirmation
    #[arg(long)]
    yes: bool,
    /// Only print the plan: old key, whether it is published, what would change
    #[arg(long)]
    dry_run: bool,
    /// Only complete an interrupted rotation; do nothing if none is pending
    #[arg(long)]
    resume: bool,
    /// With several repositories: how many to rotate at once (1: one after another). Root
    /// rotations always run one at a time
    #[arg(
        long,
        value_name = "N",
        default_value_t = ops::DEFAULT_JOBS as u16,
        value_parser = clap::value_parser!(u16).range(1..=MAX_JOBS),
        conflicts_with = "signer"
    )]
    jobs: u16,
    /// Take the new key's passphrase from --passphrase-file, the environment or a prompt even
    /// when the old key's passphrase is stored (by default the new key then gets a generated
    /// passphrase stored where the old one is)
    #[arg(long)]
    ask_new_passphrase: bool,
}

/// Runs `rotate`; with several repositories the exit code is 1 when any failed.
pub(crate) fn run(ctx: &Context, args: &RotateArgs) -> Result<u8> {
    check_iterations(&ctx.kdf)?;
    let role: Role = args.role.parse()?;
    let client = server_client(ctx, &args.server)?;
    if let Some(name) = &args.signer {
        return rotate_signer(ctx, args, name, client.as_ref()).map(|()| 0);
    }
    let guns: Vec<Gun> = if let (true, Some(server)) = (args.all, &client) {
        let published = ops::published_repositories(&ctx.dir, server)?;
        for gun in &published.without_targets_key {
            render::rotate::skipped(gun);
        }
        published.rotate
    } else if args.all {
        return Err(Error::InvalidArgument {
            what: Argument::Parameter("--all"),
            reason: "--all rotates the repositories a Notary server has published; name it with --server, DOCKER_CONTENT_TRUST_SERVER or the configuration file's server".into(),
        });
    } else {
        args.repos
            .iter()
            .map(|r| r.parse())
            .collect::<Result<_>>()?
    };
    if args.resume {
        let mut pending = Vec::new();
        for gun in guns {
            if ops::pending_rotation(&ctx.dir, &gun)? {
                pending.push(gun);
            }
        }
        if pending.is_empty() {
            render::rotate::nothing_to_resume(ctx.json);
            return Ok(0);
        }
        return rotate_each(ctx, args, &role, client.as_ref(), &pending);
    }
    if role == Role::Root && !args.yes && !args.dry_run {
        confirm(ctx, &render::rotate::root_question(&guns))?;
    }
    rotate_each(ctx, args, &role, client.as_ref(), &guns)
}

/// `rotate --signer NAME --repo GUN`: one repository, the server required.
fn rotate_signer(
    ctx: &Context,
    args: &RotateArgs,
    name: &str,
    client: Option<&NotaryClient>,
) -> Result<()> {
    let [repo] = args.repos.as_slice() else {
        return Err(Error::InvalidArgument {
            what: Argument::Parameter("--repo"),
            reason: "--signer rotates a signer of one repository: give exactly one --repo".into(),
        });
    };
    let gun: Gun = repo.parse()?;
    let server = client.ok_or_else(|| Error::InvalidArgument {
        what: Argument::Server,
        reason: "a signer's keys are listed in the repository on the Notary server".into(),
    })?;
    let source = ctx.passphrases.unlock();
    // Test-only fault point, as for the other rotations.
    let fault = std::env::var("KEYTOOL_FAULT_POINT").ok();
    let on_step = |step: ops::Step| {
        if fault.as_deref() == Some(step.name()) {
            std::process::abort();
        }
    };
    let done = ops::signer_rotate(&ctx.dir, &source, server, &gun, name, &on_step, &ctx.kdf)?;
    render::signer::rotated(ctx.json, &done);
    Ok(())
}

/// Rotates each repository; one failure does not stop the others. One repository prints its
/// result (or fails with its error); several print a summary and exit 1 if any failed.
fn rotate_each(
    ctx: &Context,
    args: &RotateArgs,
    role: &Role,
    client: Option<&NotaryClient>,
    guns: &[Gun],
) -> Result<u8> {
    let key_file = args.key.as_deref().map(read_input).transpose()?;
    let source = ctx.passphrases.unlock();
    // Test-only fault point: abort at a step boundary. Rotation must survive a crash or SIGKILL
    // at any point anyway, so aborting on purpose there adds no risk.
    let fault = std::env::var("KEYTOOL_FAULT_POINT").ok();
    let on_step = |step: ops::Step| {
        if fault.as_deref() == Some(step.name()) {
            std::process::abort();
        }
    };
    // The stores the chain reads, for the old key's passphrase policy (managed stays managed).
    let stored = ctx.passphrases.stores();
    let stores: Vec<&dyn keystore::passphrase::store::SecretStore> =
        stored.iter().map(|s| s.as_ref()).collect();
    let options = ops::RotateOptions {
        server: client,
        server_managed: args.server_managed,
        new_key_file: key_file.as_ref().map(|k| k.as_slice()),
        dry_run: args.dry_run,
        on_step: &on_step,
        stores: &stores,
        new_passphrase: if args.ask_new_passphrase {
            ops::NewKeyPassphrase::Ask
        } else {
            ops::NewKeyPassphrase::Keep
        },
    };
    if let [gun] = guns {
        let done = ops::rotate(&ctx.dir, &source, gun, role, &options, &ctx.kdf)?;
        render::rotate::rotated(ctx.json, &done);
        return Ok(0);
    }
    let bar = if !ctx.json && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(guns.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let jobs = NonZeroUsize::new(usize::from(args.jobs)).unwrap_or(NonZeroUsize::MIN);
    let outcomes = ops::rotate_many(
        &ctx.dir,
        &source,
        guns,
        role,
        &options,
        jobs,
        &ctx.kdf,
        &mut |i, _| {
            bar.set_message(guns[i].to_string());
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    let rows: Vec<Row> = guns
        .iter()
        .zip(outcomes)
        .map(|(gun, outcome)| {
            if let Ok(done) = &outcome {
                render::rotate::record_managed(done);
            }
            Row {
                gun: gun.clone(),
                outcome,
            }
        })
        .collect();
    render::rotate::summary(ctx.json, &rows);
    Ok(u8::from(rows.iter().any(|r| r.outcome.is_err())))
}
