//! `keytool init`: a repository's root and targets keys, published when a server is named.

use clap::Args;
use keystore::ops;
use keystore::{Gun, Result};

use crate::context::server::{PUBLISH_SERVER_HELP, ServerOptions, server_client};
use crate::context::{Context, check_iterations};
use crate::render;

/// Arguments of `init`.
#[derive(Debug, Args)]
#[command(mut_arg("server", |a| a.help(PUBLISH_SERVER_HELP)))]
pub(crate) struct InitArgs {
    /// Repository (GUN), e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    #[command(flatten)]
    server: ServerOptions,
    /// Keep the snapshot key local (as notary init does) instead of on the server (as docker)
    #[arg(long, conflicts_with = "offline")]
    local_snapshot: bool,
}

/// Runs `init`: keys prepared locally, or published on the server.
pub(crate) fn run(ctx: &Context, args: &InitArgs) -> Result<()> {
    check_iterations(&ctx.kdf)?;
    let gun: Gun = args.repo.parse()?;
    let source = ctx.passphrases.unlock();
    let client = server_client(ctx, &args.server)?;
    match ops::init(
        &ctx.dir,
        &source,
        &gun,
        client.as_ref(),
        args.local_snapshot,
        &ctx.kdf,
    )? {
        ops::Initialized::Preseeded(done) => {
            render::repo::preseeded(ctx.json, &done, &gun, ctx.dir.root());
        }
        ops::Initialized::Published(done) => {
            let url = client.as_ref().map_or("", |c| c.url());
            render::repo::published(ctx.json, &done, &gun, url);
        }
    }
    Ok(())
}
