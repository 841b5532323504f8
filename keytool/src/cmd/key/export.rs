//! `keytool key export`.

use std::path::PathBuf;

use clap::Args;
use keystore::Result;
use keystore::ops::{self, Selection};

use crate::cmd::input::parse_gun;
use crate::context::Context;
use crate::{output, render};

/// Arguments of `key export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only the keys of this repository
    #[arg(long, value_name = "GUN", conflicts_with = "key")]
    repo: Option<String>,
    /// Only these keys (ID or unique prefix); repeatable
    #[arg(long, value_name = "ID")]
    key: Vec<String>,
    /// Write to FILE (mode 0600) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite FILE if it exists
    #[arg(long)]
    force: bool,
}

/// Runs `key export`: the bundle to a file, or as it is to standard output.
pub(crate) fn run(ctx: &Context, args: &ExportArgs) -> Result<()> {
    let selection = if let Some(g) = parse_gun(args.repo.as_deref())? {
        Selection::Repo(g)
    } else if args.key.is_empty() {
        Selection::All
    } else {
        Selection::Keys(
            args.key
                .iter()
                .map(|k| ops::resolve_key_id(&ctx.dir, k))
                .collect::<Result<_>>()?,
        )
    };
    match &args.output {
        Some(path) => {
            let ids = ops::export_to_file(&ctx.dir, &selection, path, args.force)?;
            render::keys::exported(ctx.json, path, &ids);
        }
        None => {
            let (bundle, _) = ops::export(&ctx.dir, &selection)?;
            output::emit(&bundle);
        }
    }
    Ok(())
}
