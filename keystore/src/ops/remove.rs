//! `key remove`: delete a key file (the CLI asks first).

use std::path::PathBuf;

use crate::error::Result;
use crate::ids::KeyId;
use crate::trust_dir::TrustDir;

/// Deletes `private/<id>.key` durably. The caller confirms with the user first.
pub fn remove(dir: &TrustDir, id: &KeyId) -> Result<PathBuf> {
    dir.read_key(id)?;
    let lock = dir.lock()?;
    dir.remove_key(&lock, id)
}
