//! keytool: the command-line face of the keystore. It parses, prompts and prints; every
//! decision is made in `keystore::ops`.

mod cli;
mod commands;
mod config;
mod messages;
mod output;
mod passphrase_cmd;
mod prompt;
mod sandbox;

use std::process::ExitCode;

use clap::Parser;

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
    match commands::run(cli) {
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
