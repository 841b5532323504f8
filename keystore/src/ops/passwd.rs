//! `key passwd`: re-encrypt a key under a new passphrase, atomically.

use std::path::PathBuf;

use super::{KdfSettings, check_new_differs, load_key_with, new_passphrase};
use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::key::file;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::{MAX_KEY_FILE, TrustDir, read_no_follow};

/// Decrypts key `id` with `old`, and rewrites it in notary's format under a passphrase from
/// `new` (and the current iteration setting), keeping its role and GUN. A crash leaves either
/// the old file or the new one, each decryptable with its own passphrase.
pub fn passwd(
    dir: &TrustDir,
    id: &KeyId,
    old: &dyn PassphraseSource,
    new: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<PathBuf> {
    let (path, file, key, current) = load_key_with(dir, id, old, kdf)?;
    let before = read_no_follow(&path, MAX_KEY_FILE)?;
    let supplied = new_passphrase(new, id, file.role(), file.gun(), true)?;
    check_new_differs(id, current.as_ref(), &supplied)?;
    let pem = file::encode(
        &key,
        file.role(),
        file.gun(),
        &supplied.passphrase,
        kdf.iterations,
    )?;
    let lock = dir.lock()?;
    if read_no_follow(&path, MAX_KEY_FILE)? != before {
        return Err(Error::Io {
            action: "update",
            path,
            source: std::io::Error::other(
                "the key file changed while the passphrase was asked for; retry",
            ),
        });
    }
    dir.write_key(&lock, id, &pem, true)
}
