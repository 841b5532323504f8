//! `keytool key list`.

use clap::Args;
use keystore::Result;
use keystore::ops;

use crate::cmd::input::{parse_gun, parse_role};
use crate::context::Context;
use crate::render;

/// Arguments of `key list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only keys of this repository
    #[arg(long, value_name = "GUN")]
    repo: Option<String>,
    /// Only keys of this role
    #[arg(long)]
    role: Option<String>,
    /// List retired keys (replaced by rotations or import --force; kept in keytool-retired/,
    /// unseen by notary)
    #[arg(long)]
    retired: bool,
}

/// Runs `key list`.
pub(crate) fn run(ctx: &Context, args: &ListArgs) -> Result<()> {
    let gun = parse_gun(args.repo.as_deref())?;
    let role = parse_role(args.role.as_deref())?;
    let keys = if args.retired {
        ops::list_retired(&ctx.dir, role.as_ref(), gun.as_ref())?
    } else {
        ops::list(&ctx.dir, role.as_ref(), gun.as_ref())?
    };
    render::keys::list(ctx.json, &keys, &ctx.dir.private_dir());
    Ok(())
}
