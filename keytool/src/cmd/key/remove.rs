//! `keytool key remove`.

use clap::Args;
use keystore::Result;
use keystore::ops;

use crate::cmd::input::confirm;
use crate::context::Context;
use crate::render;

/// Arguments of `key remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// Key ID or unique prefix
    key_id: String,
    /// Do not ask for confirmation
    #[arg(long)]
    yes: bool,
    /// Retire the key even though a published repository's trust data still names it (this
    /// machine can then no longer sign or rotate that repository with it)
    #[arg(long)]
    force: bool,
}

/// Runs `key remove`: asks (unless `--yes`) once the plan is known, then retires the key.
pub(crate) fn run(ctx: &Context, args: &RemoveArgs) -> Result<()> {
    let id = ops::resolve_key_id(&ctx.dir, &args.key_id)?;
    let confirm_plan = |plan: &ops::RemovalPlan| -> Result<()> {
        if args.yes {
            return Ok(());
        }
        confirm(
            ctx,
            &render::keys::removal_question(plan, &ctx.dir.retired_dir()),
        )
    };
    let done = ops::remove(&ctx.dir, &id, args.force, &confirm_plan)?;
    render::keys::removed(ctx.json, &done, &ctx.dir.private_dir());
    Ok(())
}
