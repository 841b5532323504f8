//! `keytool status`: the pre-flight check of a repository (exit code 1 when not ready).

use clap::Args;
use keystore::ops;
use keystore::{Gun, Result};

use crate::context::Context;
use crate::context::server::{PUBLISH_SERVER_HELP, ServerOptions, server_client};
use crate::render;

/// Arguments of `status`.
#[derive(Debug, Args)]
#[command(mut_arg("server", |a| a.help(PUBLISH_SERVER_HELP)))]
pub(crate) struct StatusArgs {
    /// Repository (GUN), e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    #[command(flatten)]
    server: ServerOptions,
}

/// Runs `status`; the exit code is 0 when this machine can sign, else 1.
pub(crate) fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let gun: Gun = args.repo.parse()?;
    let client = server_client(ctx, &args.server)?;
    // "Ready" means a passphrase source opens the targets key, tried without asking anyone.
    let sources = ctx.passphrases.checking();
    let st = ops::status(&ctx.dir, &gun, client.as_ref(), Some(&sources), &ctx.kdf)?;
    render::repo::status(ctx.json, &st);
    Ok(if st.ready { 0 } else { 1 })
}
