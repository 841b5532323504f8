//! The Notary server: the options that name it (`--server`, `--tlscacert` and, where a command
//! can do without a server, `--offline`) and the client made from them.

use std::path::{Path, PathBuf};

use clap::Args;
use keystore::Result;
use keystore::notary::{self, NotaryClient};

use super::Context;

/// `--server`, `--tlscacert` and `--offline` (or no `--offline`: [`NoOffline`]), flattened into
/// every command that talks to a Notary server. Commands whose help words a flag differently
/// replace its help with `mut_arg`; names, defaults and conflicts are the same everywhere.
#[derive(Debug, Args)]
pub(crate) struct ServerOptions<O: Args + OfflineFlag = Offline> {
    /// Notary server [default: $DOCKER_CONTENT_TRUST_SERVER, the config file's server]
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// CA certificate of the server [default: $KEYTOOL_TLSCACERT, the config file's tlscacert,
    /// $DOCKER_CONFIG/tls/<host:port>/ca.crt]
    #[arg(long, value_name = "FILE")]
    pub(crate) tlscacert: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) offline: O,
}

/// Help of `--server` for `init` and `status`.
pub(crate) const PUBLISH_SERVER_HELP: &str =
    "Notary server to publish to [default: $DOCKER_CONTENT_TRUST_SERVER, the config file's server]";

/// `--offline`: no server, even when one is configured.
#[derive(Debug, Args)]
pub(crate) struct Offline {
    /// Only prepare the keys locally, even when DOCKER_CONTENT_TRUST_SERVER is set
    #[arg(long, conflicts_with = "server")]
    pub(crate) offline: bool,
}

/// No `--offline` flag: the command always needs or uses the server named.
#[derive(Debug, Args)]
pub(crate) struct NoOffline {}

/// Whether the server options turn the server off.
pub(crate) trait OfflineFlag {
    /// `--offline` was given.
    fn offline(&self) -> bool;
}

impl OfflineFlag for Offline {
    fn offline(&self) -> bool {
        self.offline
    }
}

impl OfflineFlag for NoOffline {
    fn offline(&self) -> bool {
        false
    }
}

/// The Notary server from `--server` or `DOCKER_CONTENT_TRUST_SERVER` (none with `--offline`),
/// trusting `--tlscacert` or docker's `$DOCKER_CONFIG/tls/<host:port>/ca.crt`.
pub(crate) fn server_client<O: Args + OfflineFlag>(
    ctx: &Context,
    args: &ServerOptions<O>,
) -> Result<Option<NotaryClient>> {
    connect(
        ctx,
        args.server.as_deref(),
        args.tlscacert.as_deref(),
        args.offline.offline(),
    )
}

/// The Notary server to use, if any: `server`, else `DOCKER_CONTENT_TRUST_SERVER` or the
/// configuration file's `server`, unless `offline`; trusting `tlscacert`, else
/// `KEYTOOL_TLSCACERT` or the file's `tlscacert`, else docker's CA file for that server.
fn connect(
    ctx: &Context,
    server: Option<&str>,
    tlscacert: Option<&Path>,
    offline: bool,
) -> Result<Option<NotaryClient>> {
    let url = match (server.map(str::to_owned), offline) {
        (_, true) => None,
        (Some(url), false) => Some(url.clone()),
        (None, false) => ctx
            .config
            .var("DOCKER_CONTENT_TRUST_SERVER")
            .map(|s| s.to_string_lossy().into_owned()),
    };
    let Some(url) = url else { return Ok(None) };
    NotaryClient::connect(
        &url,
        tlscacert,
        |k| ctx.config.var(k),
        ctx.config.trust_pinning(),
    )
    .map(Some)
}

/// The CA file for `url`: `tlscacert`, else `KEYTOOL_TLSCACERT` or the configuration file's,
/// else docker's `$DOCKER_CONFIG/tls/<host:port>/ca.crt` when it exists.
pub(crate) fn server_ca(ctx: &Context, url: &str, tlscacert: Option<&Path>) -> Option<PathBuf> {
    notary::server_ca(url, tlscacert, |k| ctx.config.var(k))
}

impl<O: Args + OfflineFlag> ServerOptions<O> {
    /// The client, and the CA file to hand on to docker (given or configured, or docker's own
    /// for this server).
    pub(crate) fn client_and_ca(
        &self,
        ctx: &Context,
    ) -> Result<Option<(NotaryClient, Option<PathBuf>)>> {
        let Some(client) = server_client(ctx, self)? else {
            return Ok(None);
        };
        let ca = server_ca(ctx, client.url(), self.tlscacert.as_deref());
        Ok(Some((client, ca)))
    }
}
