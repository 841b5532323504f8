//! `keytool sandbox push|pull`: docker push and pull with content trust inside a container.

use clap::{Args, Subcommand};
use keystore::error::Argument;
use keystore::ops::{self, DockerCli, ImageRef, SandboxOptions};
use keystore::{Error, Result};

use crate::context::server::{NoOffline, ServerOptions};
use crate::context::{Context, check_iterations};
use crate::render;

/// `keytool sandbox ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// docker push with content trust inside the container, signed with keytool's targets key
    /// (passphrase passed through the exec environment only)
    Push(SandboxArgs),
    /// docker pull with content trust inside the container (by the signed digest)
    Pull(SandboxArgs),
}

/// Arguments of `sandbox push|pull`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// IMAGE[:TAG]; its repository is the GUN, e.g. 127.0.0.1:5000/test/trusttest:latest
    #[arg(value_name = "IMAGE[:TAG]")]
    image: String,
    /// The container that runs the docker client (e.g. trustsandbox); honours DOCKER_HOST
    #[arg(long, value_name = "NAME")]
    container: String,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Runs `sandbox push|pull`.
pub(crate) fn run(ctx: &Context, cmd: SandboxCommand) -> Result<()> {
    let (push, args) = match cmd {
        SandboxCommand::Push(a) => (true, a),
        SandboxCommand::Pull(a) => (false, a),
    };
    let image = ImageRef::parse(&args.image)?;
    let server = args
        .server
        .client_and_ca(ctx)?
        .map(|(c, _)| c)
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::ServerUrl,
            reason: "content trust needs a Notary server: pass --server URL, set DOCKER_CONTENT_TRUST_SERVER or put server in the configuration file".into(),
        })?;
    let docker = DockerCli::default();
    // docker's own output goes to stderr as it comes; stdout carries the result only.
    let show = |line: &str| eprintln!("  {line}");
    let options = SandboxOptions {
        docker: &docker,
        container: &args.container,
        server: &server,
        on_output: &show,
    };
    if push {
        check_iterations(&ctx.kdf)?;
        let source = ctx.passphrases.unlock();
        let done = ops::push(&ctx.dir, &source, &image, &options, &ctx.kdf)?;
        render::sandbox::pushed(ctx.json, &done, &image, &args.container);
    } else {
        let done = ops::pull(&ctx.dir, &image, &options)?;
        render::sandbox::pulled(ctx.json, &done, &image, &args.container);
    }
    Ok(())
}
