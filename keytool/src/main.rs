//! keytool: the command-line face of the keystore. It parses, prompts and prints; every
//! decision is made in `keystore::ops`.
//!
//! - [`cli`]: the top-level command line (`Cli`, the global options, the `Command` enum);
//! - [`cmd`]: one module per command, each with its clap arguments and its `run`;
//! - [`context`]: the settings a command runs with (flags, environment, configuration file),
//!   the Notary server options and client, and the passphrase chains and stores;
//! - [`render`]: what each command prints, as text or JSON;
//! - [`config`]: the configuration file; [`prompt`]: the terminal prompt; [`output`]: stdout,
//!   tables and JSON; [`messages`]: error sentences, hints and exit codes.
//!
//! Dependencies between these modules go one way (`keytool/tests/module_graph.rs` checks that
//! there is no cycle): this file uses `cli`, `cmd` and `context`; `cli` names the arguments
//! defined in `cmd`; the commands in `cmd` use `context` and `render`; `context` and `render`
//! use only the modules of the last line, which use none of the others.

/// `println!` through [`output::emit`] for the whole crate: a closed pipe (`keytool sandbox status
/// | head`) ends the program quietly instead of panicking, as other Unix tools do.
macro_rules! println {
    () => {
        $crate::output::emit("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod cli;
mod cmd;
mod config;
mod context;
mod messages;
mod output;
mod prompt;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Command;
use crate::context::{Context, Flags};

/// Every heap block is wiped when freed, so that copies of secrets made inside dependencies
/// (rpassword's growing buffer, JSON and HTTP scratch space) do not outlive their use.
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

fn main() -> ExitCode {
    protect_memory();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let json = cli.global.json;
    let verbose = cli.global.verbose;
    match run(cli) {
        Ok(code) => {
            if !json {
                for note in output::generated_notes() {
                    eprintln!("{note}");
                }
            }
            ExitCode::from(code)
        }
        Err(error) => {
            report(&error, json, verbose);
            ExitCode::from(messages::exit_code(error.code()))
        }
    }
}

/// Runs the command; the result is the exit code on success (`status` uses 1 for "not ready").
fn run(cli: cli::Cli) -> keystore::Result<u8> {
    let g = &cli.global;
    let ctx = Context::resolve(&Flags {
        config: g.config.as_deref(),
        trust_dir: g.trust_dir.as_deref(),
        json: g.json,
        non_interactive: g.non_interactive,
        passphrase_file: g.passphrase_file.as_deref(),
        passphrase_fd: g.passphrase_fd,
        passphrase_stdin: g.passphrase_stdin,
        vault_passphrase_file: g.vault_passphrase_file.as_deref(),
        generate_passphrase: g.generate_passphrase,
        kdf_iterations: g.kdf_iterations,
        notary_compat: g.notary_compat,
        max_kdf_iterations: g.max_kdf_iterations,
    })?;
    // A directory this command created and left empty but for lock files (a misspelt
    // --trust-dir, a command that failed before writing) is removed again.
    let existed = ctx.dir.root().exists();
    let result = dispatch(&ctx, cli.command);
    if !existed {
        let _ = ctx.dir.remove_if_unused();
    }
    result
}

/// Hands the command to its module.
fn dispatch(ctx: &Context, command: Command) -> keystore::Result<u8> {
    match command {
        Command::Key(c) => cmd::key::run(ctx, c),
        Command::Config => {
            cmd::config::run(ctx);
            Ok(0)
        }
        Command::Init(args) => cmd::init::run(ctx, &args).map(|()| 0),
        Command::Status(args) => cmd::status::run(ctx, &args),
        Command::Rotate(args) => cmd::rotate::run(ctx, &args),
        Command::Renew(args) => cmd::renew::run(ctx, &args),
        Command::Signer(c) => cmd::signer::run(ctx, c).map(|()| 0),
        Command::Sign(args) => cmd::sign::run_sign(ctx, &args).map(|()| 0),
        Command::Unsign(args) => cmd::sign::run_unsign(ctx, &args).map(|()| 0),
        Command::Archive(args) => cmd::archive::run(ctx, &args),
        Command::Migrate(args) => cmd::migrate::run(ctx, &args),
        Command::Provision(args) => cmd::provision::run(ctx, &args).map(|()| 0),
        Command::Sandbox(c) => cmd::sandbox::run(ctx, c).map(|()| 0),
        Command::Passphrase(c) => cmd::passphrase::run(ctx, c).map(|()| 0),
        Command::Vault(c) => cmd::vault::run(ctx, c).map(|()| 0),
        Command::Auth(c) => cmd::auth::run(ctx, c).map(|()| 0),
    }
}

/// Keys and passphrases live in this process's memory: no core dump may write them to disk, and
/// (on Linux) no other process of the same user may read that memory (ptrace, /proc/PID/mem).
/// Best effort: a refusal by the system changes nothing else.
fn protect_memory() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let hard = getrlimit(Resource::Core).maximum;
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: hard,
        },
    );
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// A command line clap refuses: with `--json` anywhere on it, the error is the same JSON object
/// as every other error (kind `InvalidArgument`, exit code 2); otherwise clap's own text, headed
/// `Error:` like every other error. Help and version requests print as usual.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args_os().skip(1).any(|a| a == "--json");
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let rendered = e.render().to_string();
    if !wants_json {
        let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
        let mut chars = text.chars();
        let head: String = chars
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default();
        eprint!("Error: {head}{}", chars.as_str());
        return ExitCode::from(messages::exit_code(keystore::ErrorCode::InvalidArgument));
    }
    // The message is everything before the usage line: for a missing argument, clap names it on
    // the lines after the first ("the following required arguments were not provided:").
    let first = rendered
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect::<Vec<_>>()
        .join(" ");
    let first = first.trim_start_matches("error: ").trim_end_matches('.');
    // A sentence, like every other error message.
    let mut chars = first.chars();
    let message = match chars.next() {
        Some(c) => format!("{}{}.", c.to_uppercase(), chars.as_str()),
        None => "Invalid command line.".to_owned(),
    };
    let value = serde_json::json!({
        "error": {
            "code": keystore::ErrorCode::InvalidArgument as i32,
            "kind": "InvalidArgument",
            "message": message,
            "hint": "See keytool --help.",
        }
    });
    eprintln!("{value}");
    ExitCode::from(messages::exit_code(keystore::ErrorCode::InvalidArgument))
}

fn report(error: &keystore::Error, json: bool, verbose: bool) {
    if json {
        let value = serde_json::json!({
            "error": {
                "code": error.code() as i32,
                "kind": format!("{:?}", error.code()),
                "message": messages::sentence(error),
                "hint": messages::hint(error),
            }
        });
        eprintln!("{value}");
        return;
    }
    eprintln!("Error: {}", messages::sentence(error));
    if let Some(hint) = messages::hint(error) {
        eprintln!("Hint: {hint}");
    }
    if verbose {
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
    }
}
