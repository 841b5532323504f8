//! `keytool status`: the pre-flight check of a repository (exit code 1 when not ready).

use std::time::Duration;

use clap::Args;
use keystore::ops;
use keystore::{Argument, Error, Gun, Result};

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
    /// Exit with code 7 when root, targets, snapshot (unless the server holds it) or a root
    /// certificate expires within DURATION (e.g. 30d, 12h, 1y): for cron and CI
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    expiring_within: Option<Duration>,
}

/// The exit code of `status --expiring-within` when something expires within the window.
pub(crate) const EXPIRING: u8 = 7;

/// Runs `status`; the exit code is 0 when this machine can sign, else 1; with
/// `--expiring-within`, [`EXPIRING`] when something expires within the window.
pub(crate) fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let gun: Gun = args.repo.parse()?;
    let client = server_client(ctx, &args.server)?;
    // "Ready" means a passphrase source opens the targets key, tried without asking anyone.
    let sources = ctx.passphrases.checking();
    let st = ops::status(&ctx.dir, &gun, client.as_ref(), Some(&sources), &ctx.kdf)?;
    let expiring = match args.expiring_within {
        Some(window) => {
            if st.published != Some(true) {
                return Err(Error::InvalidArgument {
                    what: Argument::Server,
                    reason: format!(
                        "--expiring-within reads the published trust data of {gun}: name the server that has it"
                    ),
                });
            }
            Some((window, st.expiring_within(window)))
        }
        None => None,
    };
    render::repo::status(ctx.json, &st, expiring.as_ref());
    Ok(match expiring {
        Some((_, soon)) if !soon.is_empty() => EXPIRING,
        _ if st.ready => 0,
        _ => 1,
    })
}
