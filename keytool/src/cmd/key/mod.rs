//! `keytool key generate|list|import|export|passwd|remove`: one module per subcommand.

mod export;
mod generate;
mod import;
mod list;
mod passwd;
mod remove;

use clap::Subcommand;
use keystore::Result;

use crate::context::Context;

/// `keytool key ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate an ECDSA P-256 key and print its ID
    Generate(generate::GenerateArgs),
    /// List keys: ID, role, algorithm, encryption; the repository (and an unusual file) on the
    /// line below, within 100 columns (--json for every field)
    List(list::ListArgs),
    /// Import key files: notary export bundles, unencrypted keys, encrypted keys
    Import(import::ImportArgs),
    /// Export keys in notary's format (encrypted, with path headers)
    Export(export::ExportArgs),
    /// Re-encrypt a key under a new passphrase (and the current KDF setting)
    Passwd(passwd::PasswdArgs),
    /// Take a key out of use: its file moves to keytool-retired/ (never deleted; move it back to
    /// undo). A key that a published repository still names is refused without --force
    Remove(remove::RemoveArgs),
}

/// Runs `keytool key ...`; the result is the exit code (`key import` may report a partial
/// import).
pub(crate) fn run(ctx: &Context, cmd: KeyCommand) -> Result<u8> {
    match cmd {
        KeyCommand::Generate(args) => generate::run(ctx, &args).map(|()| 0),
        KeyCommand::List(args) => list::run(ctx, &args).map(|()| 0),
        KeyCommand::Import(args) => import::run(ctx, &args),
        KeyCommand::Export(args) => export::run(ctx, &args).map(|()| 0),
        KeyCommand::Passwd(args) => passwd::run(ctx, &args).map(|()| 0),
        KeyCommand::Remove(args) => remove::run(ctx, &args).map(|()| 0),
    }
}
