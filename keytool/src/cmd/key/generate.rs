//! `keytool key generate`.

use clap::Args;
use keystore::ops;
use keystore::{Result, Role};

use crate::cmd::input::parse_gun;
use crate::context::{Context, check_iterations};
use crate::render;

/// Arguments of `key generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// root, targets, snapshot, targets/<name>, or a docker signer name
    #[arg(long)]
    role: String,
    /// Repository (GUN); required for targets and snapshot keys
    #[arg(long, value_name = "GUN")]
    repo: Option<String>,
}

/// Runs `key generate`.
pub(crate) fn run(ctx: &Context, args: &GenerateArgs) -> Result<()> {
    check_iterations(&ctx.kdf)?;
    let role: Role = args.role.parse()?;
    let gun = parse_gun(args.repo.as_deref())?;
    let made = ops::generate(&ctx.dir, &ctx.passphrases.unlock(), role, gun, &ctx.kdf)?;
    render::keys::generated(ctx.json, &made);
    Ok(())
}
