//! `keytool key import`.

use keystore::error::Argument;
use std::path::PathBuf;

use clap::Args;
use keystore::ops;
use keystore::{Error, Result};

use crate::cmd::input::{parse_gun, parse_role, read_input, read_stdin};
use crate::context::{Context, check_iterations};
use crate::render;

/// Arguments of `key import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Files to import; - reads standard input (e.g. from key export)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Role for keys whose file has no role header
    #[arg(long)]
    role: Option<String>,
    /// Repository for targets/snapshot keys whose file has no gun header
    #[arg(long, value_name = "GUN")]
    repo: Option<String>,
    /// Replace a different file stored under the same key ID (the old one is moved to
    /// keytool-retired/)
    #[arg(long)]
    force: bool,
}

/// Runs `key import`; the exit code is [`PARTIAL`] when some blocks were skipped.
pub(crate) fn run(ctx: &Context, args: &ImportArgs) -> Result<u8> {
    check_iterations(&ctx.kdf)?;
    let options = ops::ImportOptions {
        role: parse_role(args.role.as_deref())?,
        gun: parse_gun(args.repo.as_deref())?,
        force: args.force,
        partial: true,
    };
    let stdin_inputs = args.files.iter().filter(|f| f.as_os_str() == "-").count();
    if stdin_inputs > 1 || (stdin_inputs == 1 && ctx.passphrase_stdin) {
        return Err(Error::InvalidArgument {
            what: Argument::Parameter("input"),
            reason: "standard input (-) can be read once: name it once, and not together with --passphrase-stdin".into(),
        });
    }
    let mut inputs = Vec::with_capacity(args.files.len());
    for f in &args.files {
        if f.as_os_str() == "-" {
            // `key export` writes to standard output; `key import -` reads it back.
            inputs.push(("standard input".to_owned(), read_stdin()?));
        } else {
            inputs.push((f.display().to_string(), read_input(f)?));
        }
    }
    let done = ops::import(
        &ctx.dir,
        &ctx.passphrases.unlock(),
        &inputs,
        &options,
        &ctx.kdf,
    )?;
    render::keys::imported(ctx.json, &done);
    Ok(if done.skipped.is_empty() { 0 } else { PARTIAL })
}

/// The exit code of an import that skipped some blocks and imported the others.
pub(crate) const PARTIAL: u8 = 6;
