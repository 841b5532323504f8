//! File primitives of the trust directory: atomic private writes, private directories, and
//! reads that never follow a symbolic link.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Largest key file read (notary's are under 4 KiB; export bundles are read elsewhere).
pub(crate) const MAX_KEY_FILE: u64 = 1 << 20;

/// Creates `dir` and its missing parents with mode 0700, whatever the umask.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if meta.file_type().is_symlink() && !dir.is_dir() {
            return Err(Error::Symlink {
                path: dir.to_path_buf(),
            });
        }
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.iter().rev() {
        match fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("set permissions of", d, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create directory", d, e)),
        }
    }
    Ok(())
}

/// Writes `data` to `dir/name` atomically: a 0600 temp file in the same directory, fsync,
/// rename, fsync of the directory. A crash leaves the old file or the new one, never a mix.
/// With `overwrite == false` an existing file is an [`Error::AlreadyExists`].
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    data: &[u8],
    overwrite: bool,
) -> Result<PathBuf> {
    private_dir(dir)?;
    let path = dir.join(name);
    if let Ok(meta) = fs::symlink_metadata(&path)
        && meta.file_type().is_symlink()
    {
        return Err(Error::Symlink { path });
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".keytool-tmp-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    // The mode is forced: the umask could only have narrowed it, but be explicit.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("set permissions of", tmp.path(), e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    if overwrite {
        tmp.persist(&path)
            .map_err(|e| Error::io("rename into place", &path, e.error))?;
    } else {
        tmp.persist_noclobber(&path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::AlreadyExists { path: path.clone() }
            } else {
                Error::io("rename into place", &path, e.error)
            }
        })?;
    }
    sync_dir(dir)?;
    Ok(path)
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))
}

/// Opens a regular file for reading, refusing symbolic links (`O_NOFOLLOW`) and anything that is
/// not a regular file, with its `fstat`: for a caller that streams the file instead of holding it
/// ([`read_no_follow`] reads it whole).
pub(crate) fn open_no_follow(path: &Path) -> Result<(File, fs::Metadata)> {
    // O_NOFOLLOW refuses a link as the last component (ELOOP), so no separate lstat is needed;
    // O_NONBLOCK keeps a FIFO planted as a key file from blocking the open.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::Symlink {
                    path: path.to_path_buf(),
                }
            } else {
                Error::io("read", path, e)
            }
        })?;
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid("not a regular file").in_file(path));
    }
    Ok((file, meta))
}

/// Reads a regular file of at most `limit` bytes, refusing symbolic links (also at open time,
/// with `O_NOFOLLOW`, so a link swapped in after the check is refused too). `O_NONBLOCK` keeps a
/// named pipe planted under a key file's name from blocking the open forever; it is then refused
/// as not a regular file (the flag does not affect reads of regular files).
pub(crate) fn read_no_follow(path: &Path, limit: u64) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    read_no_follow_checked(path, limit, |_| Ok(()))
}

/// Like [`read_no_follow`], also calling `check` with the `fstat` of the opened file (a regular
/// file) before reading it: a check of the file actually read, which a file swapped in after a
/// check by path could not pass.
pub(crate) fn read_no_follow_checked(
    path: &Path,
    limit: u64,
    check: impl FnOnce(&fs::Metadata) -> Result<()>,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let (file, meta) = open_no_follow(path)?;
    check(&meta)?;
    // Sized from fstat, so a key file is read in one or two system calls.
    let size = usize::try_from(meta.len().min(limit)).unwrap_or(0);
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(size + 1));
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("read", path, e))?;
    if buf.len() as u64 > limit {
        return Err(Error::invalid(format!("larger than {limit} bytes")).in_file(path));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_modes_and_noclobber() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("a/b");
        let p = write_atomic(&dir, "x.key", b"one", false).expect("writes");
        assert_eq!(fs::read(&p).expect("read"), b"one");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert!(matches!(
            write_atomic(&dir, "x.key", b"two", false),
            Err(Error::AlreadyExists { .. })
        ));
        write_atomic(&dir, "x.key", b"two", true).expect("overwrites");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        let leftovers: Vec<_> = fs::read_dir(&dir).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    }

    #[test]
    fn symlinks_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("real");
        fs::write(&target, b"x").expect("write");
        let link = tmp.path().join("link.key");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(
            read_no_follow(&link, 10),
            Err(Error::Symlink { .. })
        ));
        assert!(matches!(
            write_atomic(tmp.path(), "link.key", b"y", true),
            Err(Error::Symlink { .. })
        ));
        assert_eq!(fs::read(&target).expect("read"), b"x");
    }
}
