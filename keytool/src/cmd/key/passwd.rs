//! `keytool key passwd`.

use std::path::PathBuf;

use clap::Args;
use keystore::Result;
use keystore::ops;

use crate::context::passphrases::{chain, generated_into, generated_store, holder, plain_chain};
use crate::context::{Context, check_iterations};
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
    let old = chain(ctx, ctx.passphrase_file.as_deref());
    let new = plain_chain(ctx, args.new_passphrase_file.as_deref());
    let store = if ctx.generate_passphrase {
        Some(generated_store(ctx, false)?)
    } else {
        holder(ctx, &id)?
    };
    let how = if ctx.generate_passphrase {
        ops::NewPassphrase::Generate
    } else {
        ops::NewPassphrase::From(&new)
    };
    let path = ops::passwd_stored(&ctx.dir, &id, &old, how, store.as_deref(), &ctx.kdf)?;
    if ctx.generate_passphrase
        && let Some(s) = &store
    {
        generated_into(ctx, &id, s.as_ref())?;
    }
    render::keys::passwd(ctx.json, &id, &path);
    Ok(())
}
