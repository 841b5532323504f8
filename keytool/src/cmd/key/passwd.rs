//! `keytool key passwd`.

use std::path::PathBuf;

use clap::Args;
use keystore::Result;
use keystore::ops;

use crate::context::{Context, check_iterations};
use crate::output;
use crate::render;

/// Arguments of `key passwd`.
#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// Key ID or unique prefix
    key_id: String,
    /// Read the new passphrase from the first line of FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    new_passphrase_file: Option<PathBuf>,
}

/// Runs `key passwd`: the stored passphrase follows the key file (crash-safely, see
/// `ops::passwd_stored`).
pub(crate) fn run(ctx: &Context, args: &PasswdArgs) -> Result<()> {
    check_iterations(&ctx.kdf)?;
    let id = ops::resolve_key_id(&ctx.dir, &args.key_id)?;
    let new = ctx
        .passphrases
        .choosing_from(args.new_passphrase_file.as_deref());
    let how = if ctx.passphrases.generates() {
        ops::NewPassphrase::Generate { vault: false }
    } else {
        ops::NewPassphrase::From(&new)
    };
    let done = ops::passwd(&ctx.passphrases, &id, how, &ctx.kdf)?;
    if let Some(generated) = done.generated {
        output::record_generated(generated);
    }
    let path = done.path;
    render::keys::passwd(ctx.json, &id, &path);
    Ok(())
}
