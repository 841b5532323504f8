//! `provision` and `sandbox push|pull`: the content trust sandbox flow. Arguments and printing
//! only; the work is done by `keystore::ops::{provision, push, pull}`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use keystore::notary::NotaryClient;
use keystore::ops::{self, DockerCli, ImageRef, Outcome, ProvisionOptions, SandboxOptions, Target};
use keystore::{Error, Gun, Result};

use crate::cli::{Global, ServerArgs};
use crate::commands::{Context, chain, check_iterations, server_ca, server_client};
use crate::output;

/// `provision`.
#[derive(Debug, Args)]
pub(crate) struct ProvisionArgs {
    /// Repository (GUN) whose keys are copied, e.g. 127.0.0.1:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    pub(crate) repo: String,
    /// A docker config directory on this machine (keys go to DIR/trust/private)
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "container",
        conflicts_with = "container"
    )]
    pub(crate) dir: Option<PathBuf>,
    /// A running container (keys go to /root/.docker/trust/private there); honours DOCKER_HOST
    #[arg(long, value_name = "NAME")]
    pub(crate) container: Option<String>,
    /// Also copy the root key (keep it offline once the repository is published)
    #[arg(long)]
    pub(crate) with_root: bool,
    #[command(flatten)]
    pub(crate) server: Server,
}

/// The Notary server, for the commands that take no `--repo` of their own.
#[derive(Debug, Args)]
pub(crate) struct Server {
    /// Notary server [default: $DOCKER_CONTENT_TRUST_SERVER, the config file's server]
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// CA certificate of the server [default: $KEYTOOL_TLSCACERT, the config file's tlscacert,
    /// $DOCKER_CONFIG/tls/<host:port>/ca.crt]
    #[arg(long, value_name = "FILE")]
    pub(crate) tlscacert: Option<PathBuf>,
}

/// `sandbox push|pull`.
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
    pub(crate) image: String,
    /// The container that runs the docker client (e.g. trustsandbox); honours DOCKER_HOST
    #[arg(long, value_name = "NAME")]
    pub(crate) container: String,
    #[command(flatten)]
    pub(crate) server: Server,
}

impl Server {
    /// The client, and the CA file to hand on (given or configured, or docker's own for this
    /// server).
    fn client(&self, ctx: &Context) -> Result<Option<(NotaryClient, Option<PathBuf>)>> {
        let args = ServerArgs {
            repo: String::new(),
            server: self.server.clone(),
            tlscacert: self.tlscacert.clone(),
            offline: false,
        };
        let Some(client) = server_client(ctx, &args)? else {
            return Ok(None);
        };
        let ca = server_ca(ctx, client.url(), self.tlscacert.as_deref());
        Ok(Some((client, ca)))
    }

    fn required(&self, ctx: &Context) -> Result<NotaryClient> {
        self.client(ctx)?
            .map(|(c, _)| c)
            .ok_or_else(|| Error::InvalidArgument {
                what: "server URL",
                reason: "content trust needs a Notary server: pass --server URL, set DOCKER_CONTENT_TRUST_SERVER or put server in the configuration file".into(),
            })
    }
}

/// Runs `keytool provision`.
pub(crate) fn provision(ctx: &Context, args: &ProvisionArgs) -> Result<()> {
    let gun: Gun = args.repo.parse()?;
    let target = match (&args.dir, &args.container) {
        (Some(d), _) => Target::Dir(d.clone()),
        (None, Some(name)) => Target::Container {
            docker: DockerCli::default(),
            name: name.clone(),
        },
        (None, None) => {
            return Err(Error::InvalidArgument {
                what: "target",
                reason: "pass --dir DIR or --container NAME".into(),
            });
        }
    };
    let server = args.server.client(ctx)?;
    let options = ProvisionOptions {
        with_root: args.with_root,
        server: server.as_ref().map(|(c, _)| c),
        ca: server.as_ref().and_then(|(_, ca)| ca.as_deref()),
    };
    let done = ops::provision(&ctx.dir, &gun, &target, &options)?;
    if ctx.json {
        output::json(&done);
        return Ok(());
    }
    for f in &done.files {
        let verb = match f.outcome {
            Outcome::Written => "Copied",
            Outcome::Unchanged | Outcome::Replaced => "Already there:",
        };
        eprintln!("{verb} {} -> {}", f.what, f.path);
        println!("{}", f.path);
    }
    if done.published == Some(false) {
        eprintln!(
            "Warning: {gun} is not published on the server; docker push would create its own repository key. Run keytool init --repo {gun} --server URL first."
        );
    }
    eprintln!("Provisioned {gun} into {}.", done.target);
    Ok(())
}

/// Runs `keytool sandbox push|pull`.
pub(crate) fn sandbox(ctx: &Context, g: &Global, cmd: SandboxCommand) -> Result<()> {
    let (push, args) = match cmd {
        SandboxCommand::Push(a) => (true, a),
        SandboxCommand::Pull(a) => (false, a),
    };
    let image = ImageRef::parse(&args.image)?;
    let server = args.server.required(ctx)?;
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
        let source = chain(ctx, g.passphrase_file.as_deref());
        let done = ops::push(&ctx.dir, &source, &image, &options, &ctx.kdf)?;
        if ctx.json {
            output::json(&done);
            return Ok(());
        }
        println!("{}", done.digest);
        eprintln!(
            "Signed and pushed {} ({}, {} bytes) with {} {} in container {}; targets key {}.",
            image.reference(),
            done.digest,
            done.size,
            done.method,
            done.client_version,
            args.container,
            done.signed_by.join(", ")
        );
    } else {
        let done = ops::pull(&ctx.dir, &image, &options)?;
        if ctx.json {
            output::json(&done);
            return Ok(());
        }
        println!("{}", done.digest);
        eprintln!(
            "Pulled {} by its signed digest {} in container {}.",
            image.reference(),
            done.digest,
            args.container
        );
    }
    Ok(())
}
