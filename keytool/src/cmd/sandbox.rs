//! `keytool sandbox up|play|status|down|compose`: the content trust sandbox itself, and
//! `sandbox push|pull`: docker push and pull with content trust inside a container.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

use clap::{Args, Subcommand};
use keystore::error::Argument;
use keystore::ops::{self, DaemonChoice, DockerCli, ImageRef, SandboxOptions, SandboxSettings};
use keystore::{Error, Result};

use crate::context::server::{NoOffline, ServerOptions};
use crate::context::{Context, check_iterations};
use crate::render;

/// `keytool sandbox ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Build and start the sandbox: network `sandbox`, containers `notaryserver`,
    /// `sandboxregistry` and `trustsandbox`, on your docker daemon or a private one (root).
    /// Idempotent: on a sandbox that is up it changes nothing
    Up(UpArgs),
    /// Play the walkthrough: unsigned pull refused, keytool's keys published and provisioned,
    /// signed push, verified pull, tampered layer refused, rotation, push with the new key
    Play(StateArgs),
    /// What runs, where to reach it, which keys the client container holds, how to get a shell
    Status(StateArgs),
    /// Remove the containers and network and stop a private daemon (nothing left running);
    /// keytool's sandbox keys stay unless --forget-keys
    Down(DownArgs),
    /// Move notary-signer's keys to a new passphrase (sandbox up --signer): a new alias with a
    /// generated passphrase, kept in the sandbox's vault, becomes the default; older aliases stay
    /// while they encrypt a key, and one that no longer does is dropped with its passphrase
    RekeySigner(StateArgs),
    /// Print a docker-compose.yml of the same sandbox with upstream images (for machines that
    /// can pull them)
    Compose(UpArgs),
    /// docker push with content trust inside the container, signed with keytool's targets key
    /// (passphrase passed through the exec environment only)
    Push(SandboxArgs),
    /// docker pull with content trust inside the container (by the signed digest)
    Pull(SandboxArgs),
}

/// Where the sandbox keeps its state.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The sandbox's state directory [default: $XDG_STATE_HOME/keytool/sandbox, else
    /// ~/.local/state/keytool/sandbox]
    #[arg(long, value_name = "DIR", env = "KEYTOOL_SANDBOX_DIR")]
    state_dir: Option<PathBuf>,
}

impl StateArgs {
    /// The state directory, absolute.
    fn dir(&self) -> Result<PathBuf> {
        let dir = match &self.state_dir {
            Some(d) => d.clone(),
            None => ops::default_sandbox_dir(|k| std::env::var_os(k)).ok_or_else(|| {
                Error::InvalidArgument {
                    what: Argument::Parameter("state directory"),
                    reason: "HOME is not set; pass --state-dir DIR".into(),
                }
            })?,
        };
        std::path::absolute(&dir).map_err(|e| Error::InvalidArgument {
            what: Argument::Parameter("state directory"),
            reason: format!("{}: {e}", dir.display()),
        })
    }

    /// The settings of the sandbox in that directory (as `up` recorded them when it is up).
    fn settings(&self) -> Result<SandboxSettings> {
        Ok(SandboxSettings::new(self.dir()?))
    }
}

/// Arguments of `sandbox up` and `sandbox compose`.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Which docker daemon: your own (DOCKER_HOST or the default socket) when it answers and
    /// resolves the registry's name, else a private one (auto); only yours (own); a private
    /// dockerd under the state directory, root required (private)
    #[arg(long, value_name = "auto|own|private", default_value = "auto")]
    daemon: DaemonChoice,
    /// Where the images come from: built here from this machine's Debian binaries (local), or
    /// pulled (upstream: notary:server-0.7.0, registry:2, docker:28-cli, busybox)
    #[arg(long, value_name = "local|upstream", default_value = "local")]
    images: ops::ImageSource,
    /// The docker network
    #[arg(long, value_name = "NAME", default_value = "sandbox")]
    network: String,
    /// The Notary server container
    #[arg(long, value_name = "NAME", default_value = "notaryserver")]
    notary_name: String,
    /// The registry container
    #[arg(long, value_name = "NAME", default_value = "sandboxregistry")]
    registry_name: String,
    /// The docker client container
    #[arg(long, value_name = "NAME", default_value = "trustsandbox")]
    client_name: String,
    /// The Notary server's port (in the network, and published on 127.0.0.1)
    #[arg(long, value_name = "PORT", default_value_t = 4443)]
    notary_port: u16,
    /// The registry's port (in the network, and published on 127.0.0.1)
    #[arg(long, value_name = "PORT", default_value_t = 5000)]
    registry_port: u16,
    /// The production-shaped sandbox: notary-server keeps its keys in notary-signer (mutual
    /// TLS) and both store their data in a MariaDB database; the signer's passphrases are
    /// generated and kept in the sandbox's vault
    #[arg(long)]
    signer: bool,
    /// The notary-signer container (with --signer)
    #[arg(long, value_name = "NAME", default_value = "notarysigner")]
    signer_name: String,
    /// The database container (with --signer)
    #[arg(long, value_name = "NAME", default_value = "mysql")]
    database_name: String,
}

impl UpArgs {
    fn settings(&self) -> Result<SandboxSettings> {
        let mut s = self.state.settings()?;
        s.daemon = self.daemon;
        s.images = self.images;
        s.names = ops::Names {
            network: self.network.clone(),
            notary: self.notary_name.clone(),
            registry: self.registry_name.clone(),
            client: self.client_name.clone(),
            signer: self.signer_name.clone(),
            database: self.database_name.clone(),
        };
        s.signer = self.signer;
        s.notary_port = self.notary_port;
        s.registry_port = self.registry_port;
        Ok(s)
    }
}

/// Arguments of `sandbox down`.
#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Also remove the images' state: the private daemon's root (its images and containers'
    /// data), or the images built on your own daemon
    #[arg(long)]
    volumes: bool,
    /// Also remove the sandbox's trust directory and vault (keytool's keys for the sandbox
    /// repository)
    #[arg(long)]
    forget_keys: bool,
}

/// Arguments of `sandbox push|pull`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// IMAGE[:TAG]; its repository is the GUN, e.g. sandboxregistry:5000/test/trusttest:mine
    #[arg(value_name = "IMAGE[:TAG]")]
    image: String,
    /// The container that runs the docker client; honours DOCKER_HOST. Without it: the
    /// sandbox's trustsandbox, with the sandbox's server, keys and vault
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Runs `sandbox ...`.
pub(crate) fn run(ctx: &Context, cmd: SandboxCommand) -> Result<()> {
    let note = |line: &str| {
        if !ctx.json {
            eprintln!("  {line}");
        }
    };
    match cmd {
        SandboxCommand::Up(args) => {
            let done = ops::sandbox_up(&args.settings()?, &note)?;
            render::sandbox::up(ctx.json, &done, &ops::sandbox_status(&args.settings()?)?);
        }
        SandboxCommand::Play(args) => {
            check_iterations(&ctx.kdf)?;
            let settings = args.settings()?;
            let json = ctx.json;
            // Ctrl-C (or TERM) ends the walkthrough between steps, so that no step is cut in
            // half by keytool's exit (a tampered layer is always put back).
            let interrupted = Arc::new(AtomicBool::new(false));
            for signal in [SIGINT, SIGTERM] {
                signal_hook::flag::register(signal, Arc::clone(&interrupted)).map_err(|e| {
                    Error::Internal {
                        what: format!("cannot watch for interrupts: {e}"),
                    }
                })?;
            }
            let done = ops::sandbox_play(
                &settings,
                &ctx.kdf,
                &|step| render::sandbox::step(json, step),
                &|_| {},
                &|| interrupted.load(Ordering::SeqCst),
            )?;
            render::sandbox::played(json, &done, &ops::sandbox_status(&settings)?);
        }
        SandboxCommand::Status(args) => {
            let st = ops::sandbox_status(&args.settings()?)?;
            render::sandbox::status(ctx.json, &st);
            if !st.up {
                return Err(Error::Sandbox {
                    action: "find it".into(),
                    reason: format!("it is not up in {}", st.state_dir.display()),
                });
            }
        }
        SandboxCommand::Down(args) => {
            let done = ops::sandbox_down(&args.state.settings()?, args.volumes, args.forget_keys)?;
            render::sandbox::down(ctx.json, &done);
        }
        SandboxCommand::RekeySigner(args) => {
            let done = ops::sandbox_rekey_signer(&args.settings()?)?;
            render::sandbox::rekeyed(ctx.json, &done);
        }
        SandboxCommand::Compose(args) => {
            print!("{}", ops::sandbox_compose(&args.settings()?)?);
        }
        SandboxCommand::Push(args) => trust(ctx, true, &args)?,
        SandboxCommand::Pull(args) => trust(ctx, false, &args)?,
    }
    Ok(())
}

/// `sandbox push|pull`.
fn trust(ctx: &Context, push: bool, args: &SandboxArgs) -> Result<()> {
    let image = ImageRef::parse(&args.image)?;
    // docker's own output goes to stderr as it comes; stdout carries the result only.
    let show = |line: &str| eprintln!("  {line}");
    let Some(container) = &args.container else {
        let settings = args.state.settings()?;
        let client = "the sandbox's client container";
        if push {
            check_iterations(&ctx.kdf)?;
            let done = ops::push_in_sandbox(&settings, &image, &ctx.kdf, &show)?;
            render::sandbox::pushed(ctx.json, &done, &image, client);
        } else {
            let done = ops::pull_in_sandbox(&settings, &image, &show)?;
            render::sandbox::pulled(ctx.json, &done, &image, client);
        }
        return Ok(());
    };
    let server = args
        .server
        .client_and_ca(ctx)?
        .map(|(c, _)| c)
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::ServerUrl,
            reason: "content trust needs a Notary server: pass --server URL, set DOCKER_CONTENT_TRUST_SERVER or put server in the configuration file".into(),
        })?;
    let docker = DockerCli::default();
    let options = SandboxOptions {
        docker: &docker,
        container,
        server: &server,
        container_server: None,
        on_output: &show,
    };
    if push {
        check_iterations(&ctx.kdf)?;
        let source = ctx.passphrases.unlock();
        let done = ops::push(&ctx.dir, &source, &image, &options, &ctx.kdf)?;
        render::sandbox::pushed(ctx.json, &done, &image, &format!("container {container}"));
    } else {
        let done = ops::pull(&ctx.dir, &image, &options)?;
        render::sandbox::pulled(ctx.json, &done, &image, &format!("container {container}"));
    }
    Ok(())
}
