//! Several new files written as one: all or nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::trust_dir::write_atomic;

/// One file to write: its directory, name and content.
pub(super) struct NewFile<'a> {
    dir: PathBuf,
    name: String,
    data: &'a [u8],
}

impl<'a> NewFile<'a> {
    /// Splits `path` into directory and file name (refusing a path without a usable name).
    pub(super) fn new(path: &Path, data: &'a [u8]) -> Result<Self> {
        let (dir, name) = crate::ops::output_location(path)?;
        Ok(NewFile { dir, name, data })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// Writes every file atomically with mode 0600. Without `overwrite`, an existing file among them
/// is refused before anything is written; if a write fails, the files this call created are
/// removed again, so a failure leaves no half-export behind.
pub(super) fn write_new_files(files: &[NewFile<'_>], overwrite: bool) -> Result<()> {
    if !overwrite {
        for f in files {
            let path = f.path();
            if std::fs::symlink_metadata(&path).is_ok() {
                return Err(Error::AlreadyExists { path });
            }
        }
    }
    let mut created: Vec<PathBuf> = Vec::new();
    for f in files {
        let existed = std::fs::symlink_metadata(f.path()).is_ok();
        match write_atomic(&f.dir, &f.name, f.data, overwrite) {
            Ok(path) if !existed => created.push(path),
            Ok(_) => {}
            Err(e) => {
                for path in &created {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}
