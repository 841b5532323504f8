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
    let cli = cli::Cli::parse();
    let json = cli.global.json;
    let verbose = cli.global.verbose;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
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
