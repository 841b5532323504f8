//! What commands read besides passphrases: repository names and roles, key files (bounded), and
//! confirmations.

use keystore::error::Argument;
use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;

use keystore::ops;
use keystore::{Error, Gun, KeyId, Result, Role};
use zeroize::Zeroizing;

use crate::context::Context;

/// Largest file `key import` reads (a bundle of ~30,000 notary keys).
const MAX_IMPORT_FILE: u64 = 16 << 20;

/// A `--repo` value, if given.
pub(crate) fn parse_gun(text: Option<&str>) -> Result<Option<Gun>> {
    text.map(str::parse).transpose()
}

/// A `--role` value, if given, checked for misspellings of the known roles.
pub(crate) fn parse_role(text: Option<&str>) -> Result<Option<Role>> {
    let role: Option<Role> = text.map(str::parse).transpose()?;
    if let Some(role) = &role {
        role.check_spelling()?;
    }
    Ok(role)
}

/// A key ID for commands on stored passphrases (`passphrase remove|reveal`): a full ID or a
/// unique prefix of a key in the trust directory, or the full ID of a key that is no longer
/// there (retired or removed). An ambiguous prefix is an error that lists the candidates.
pub(crate) fn resolve_stored_key_id(ctx: &Context, text: &str) -> Result<KeyId> {
    match ops::resolve_key_id(&ctx.dir, text) {
        Err(Error::KeyNotFound { .. }) if KeyId::is_valid(text) => text.parse(),
        other => other,
    }
}

/// Standard input, bounded as a key file is.
pub(crate) fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    read_bounded(std::io::stdin().lock(), Path::new("standard input"))
}

/// A key file, bounded (see [`read_bounded`]).
pub(crate) fn read_input(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    read_bounded(file, path)
}

/// Reads `reader` (named `path` in errors) up to [`MAX_IMPORT_FILE`] bytes; more is an error.
fn read_bounded(reader: impl Read, path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    reader
        .take(MAX_IMPORT_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source: e,
        })?;
    if buf.len() as u64 > MAX_IMPORT_FILE {
        return Err(Error::InvalidKeyFile {
            file: keystore::error::FileLabel::path(path),
            reason: format!("larger than {MAX_IMPORT_FILE} bytes"),
        });
    }
    Ok(buf)
}

/// Asks `question` on the terminal; anything but yes cancels. Without a terminal (or with
/// `--non-interactive`) the command fails and names `--yes`.
pub(crate) fn confirm(ctx: &Context, question: &str) -> Result<()> {
    if !ctx.interactive || !std::io::stdin().is_terminal() {
        return Err(Error::InvalidArgument {
            what: Argument::Confirmation,
            reason: "no terminal to ask on; pass --yes to confirm".into(),
        });
    }
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|_| Error::Cancelled)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::Cancelled),
    }
}
