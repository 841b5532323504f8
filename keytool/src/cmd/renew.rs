//! `keytool renew`: re-sign a published repository's root, targets, snapshot and/or signer
//! (delegated) metadata with a new expiry (content unchanged) and publish it; crash-safe and
//! resumable.

use std::time::Duration;

use clap::Args;
use keystore::ops;
use keystore::{Argument, Error, Gun, Result, Role};

use crate::context::Context;
use crate::context::server::{NoOffline, ServerOptions, server_client};
use crate::render;

/// Arguments of `renew`.
#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    /// Repository (GUN), e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
    /// The role to renew: root, targets, snapshot or a signer role such as targets/releases or
    /// targets/alice (repeat for several) [default: targets]
    #[arg(long, value_name = "ROLE", conflicts_with = "all_roles")]
    role: Vec<String>,
    /// Renew root, targets, every signer role this trust directory holds a key of and, when its
    /// key is here, snapshot (the timestamp, and a snapshot whose key the server holds, are
    /// renewed by the server itself)
    #[arg(long)]
    all_roles: bool,
    /// New validity from now, e.g. 3y, 90d, 12h [default: notary's: root 10y, targets and
    /// snapshot 3y]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    expires: Option<Duration>,
    /// Only print the plan: each role's version and expiry now and what it would become
    #[arg(long)]
    dry_run: bool,
    /// Only complete an interrupted renewal; do nothing if none is pending
    #[arg(long)]
    resume: bool,
}

/// Runs `renew`.
pub(crate) fn run(ctx: &Context, args: &RenewArgs) -> Result<u8> {
    let gun: Gun = args.repo.parse()?;
    let Some(client) = server_client(ctx, &args.server)? else {
        return Err(Error::InvalidArgument {
            what: Argument::Server,
            reason: format!(
                "renew publishes {gun}'s new metadata to its Notary server: name it with --server, DOCKER_CONTENT_TRUST_SERVER or the configuration file's server"
            ),
        });
    };
    if args.resume && !ops::pending_renewal(&ctx.dir, &gun)? {
        render::renew::nothing_to_resume(ctx.json);
        return Ok(0);
    }
    let roles = if args.all_roles {
        ops::RenewRoles::All
    } else if args.role.is_empty() {
        ops::RenewRoles::Only(vec![Role::Targets])
    } else {
        ops::RenewRoles::Only(
            args.role
                .iter()
                .map(|r| r.parse())
                .collect::<Result<Vec<Role>>>()?,
        )
    };
    let source = ctx.passphrases.unlock();
    // Test-only fault point: abort at a step boundary. A renewal must survive a crash or SIGKILL
    // at any point anyway, so aborting on purpose there adds no risk.
    let fault = std::env::var("KEYTOOL_FAULT_POINT").ok();
    let on_step = |step: ops::RenewStep| {
        if fault.as_deref() == Some(step.name()) {
            std::process::abort();
        }
    };
    let options = ops::RenewOptions {
        server: &client,
        roles,
        expires: args.expires,
        dry_run: args.dry_run,
        on_step: &on_step,
    };
    let done = ops::renew(&ctx.dir, &source, &gun, &options, &ctx.kdf)?;
    render::renew::renewed(ctx.json, &done);
    Ok(0)
}
