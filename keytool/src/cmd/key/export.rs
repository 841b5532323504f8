//! `keytool key export`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use keystore::ops::{self, Selection};
use keystore::{Argument, Error, Result};

use crate::cmd::input::parse_gun;
use crate::context::Context;
use crate::{output, render};

/// The formats `key export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// notary's export bundle (encrypted, with path headers): notary key import, keytool key
    /// import and docker trust key load read it
    Notary,
    /// cosign's encrypted key (ENCRYPTED SIGSTORE PRIVATE KEY, sealed with the key's own
    /// passphrase, which COSIGN_PASSWORD must then give) and its public key beside it (.pub)
    Cosign,
    /// notation's local key: the unencrypted key and a self-signed code-signing certificate in
    /// <DIR>/localkeys, and the key's entry in <DIR>/signingkeys.json
    Notation,
}

/// Arguments of `key export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only the keys of this repository
    #[arg(long, value_name = "GUN", conflicts_with = "key")]
    repo: Option<String>,
    /// Only these keys (ID or unique prefix); repeatable. cosign and notation take exactly one
    #[arg(long, value_name = "ID")]
    key: Vec<String>,
    /// The format to write
    #[arg(long, value_enum, default_value_t = Format::Notary)]
    format: Format,
    /// notary: write the bundle to FILE (mode 0600) instead of standard output. cosign: the
    /// private key's file [default: cosign.key], the public key goes beside it (.pub).
    /// notation: notation's configuration directory [default: $XDG_CONFIG_HOME/notation,
    /// ~/.config/notation]
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// notation: the key's name there (notation sign --key NAME) [default:
    /// keytool-<first 12 digits of the key ID>]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// notation: how long the certificate is valid
    #[arg(long, value_name = "DURATION", default_value = "3650days", value_parser = humantime::parse_duration)]
    valid_for: Duration,
    /// Overwrite existing files (and a notation entry of the same name)
    #[arg(long)]
    force: bool,
}

/// Runs `key export`: notary's bundle to a file or standard output, or one key for cosign or
/// notation.
pub(crate) fn run(ctx: &Context, args: &ExportArgs) -> Result<()> {
    if args.format != Format::Notary {
        return export_one(ctx, args);
    }
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

/// cosign and notation: one key, written to files (never to standard output).
fn export_one(ctx: &Context, args: &ExportArgs) -> Result<()> {
    let [key] = args.key.as_slice() else {
        return Err(Error::InvalidArgument {
            what: Argument::Parameter("--key"),
            reason: format!(
                "--format {} exports one key: give exactly one --key ID",
                format_name(args.format)
            ),
        });
    };
    let id = ops::resolve_key_id(&ctx.dir, key)?;
    let source = ctx.passphrases.unlock();
    if args.format == Format::Cosign {
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from("cosign.key"));
        let done = ops::export_cosign(&ctx.dir, &id, &source, &ctx.kdf, &output, args.force)?;
        render::keys::exported_cosign(ctx.json, &done);
        return Ok(());
    }
    let config_dir = match &args.output {
        Some(dir) => dir.clone(),
        None => notation_config_dir()?,
    };
    let opts = ops::NotationOptions {
        config_dir: &config_dir,
        name: args.name.as_deref(),
        validity: args.valid_for,
        overwrite: args.force,
    };
    let done = ops::export_notation(&ctx.dir, &id, &source, &ctx.kdf, &opts)?;
    render::keys::exported_notation(ctx.json, &done);
    Ok(())
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Notary => "notary",
        Format::Cosign => "cosign",
        Format::Notation => "notation",
    }
}

/// notation's configuration directory: Go's `os.UserConfigDir()` + `notation`.
fn notation_config_dir() -> Result<PathBuf> {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let base = if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| Path::new(v).is_absolute())
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".config")))
    };
    base.map(|b| b.join("notation"))
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::OutputFile,
            reason: "neither XDG_CONFIG_HOME nor HOME is set: give notation's configuration \
                     directory with -o DIR"
                .into(),
        })
}
