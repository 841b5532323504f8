//! `keytool provision`: a repository's targets key (and root key) and the Notary CA into a
//! docker config directory or a container.

use keystore::error::Argument;
use std::path::PathBuf;

use clap::Args;
use keystore::ops::{self, DockerCli, ProvisionOptions, Target};
use keystore::{Error, Gun, Result};

use crate::context::Context;
use crate::context::server::{NoOffline, ServerOptions};
use crate::render;

/// Arguments of `provision`.
#[derive(Debug, Args)]
pub(crate) struct ProvisionArgs {
    /// Repository (GUN) whose keys are copied, e.g. 127.0.0.1:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    repo: String,
    /// A docker config directory on this machine (keys go to DIR/trust/private)
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "container",
        conflicts_with = "container"
    )]
    dir: Option<PathBuf>,
    /// A running container (keys go to /root/.docker/trust/private there); honours DOCKER_HOST
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
    /// Also copy the root key (keep it offline once the repository is published)
    #[arg(long)]
    with_root: bool,
    /// Copy this signer's key instead of the repository key (repeat for several): what a
    /// signer's machine needs for `docker trust sign`
    #[arg(long = "signer", value_name = "NAME")]
    signers: Vec<String>,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Runs `provision`.
pub(crate) fn run(ctx: &Context, args: &ProvisionArgs) -> Result<()> {
    let gun: Gun = args.repo.parse()?;
    let target = match (&args.dir, &args.container) {
        (Some(d), _) => Target::Dir(d.clone()),
        (None, Some(name)) => Target::Container {
            docker: DockerCli::default(),
            name: name.clone(),
        },
        (None, None) => {
            return Err(Error::InvalidArgument {
                what: Argument::Parameter("target"),
                reason: "pass --dir DIR or --container NAME".into(),
            });
        }
    };
    let server = args.server.client_and_ca(ctx)?;
    let options = ProvisionOptions {
        with_root: args.with_root,
        server: server.as_ref().map(|(c, _)| c),
        ca: server.as_ref().and_then(|(_, ca)| ca.as_deref()),
        signers: &args.signers,
    };
    let done = ops::provision(&ctx.dir, &gun, &target, &options)?;
    render::sandbox::provisioned(ctx.json, &done, &gun);
    Ok(())
}
