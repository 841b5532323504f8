//! The on-disk trust directory shared with docker and notary (spec §1): `private/<id>.key`,
//! legacy layouts, an exclusive lock for every change, atomic private writes.

mod fsutil;
pub mod legacy;

use crate::error::Argument;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId};
use crate::key::Algorithm;
use crate::key::file::KeyFile;

pub(crate) use fsutil::{
    MAX_KEY_FILE, open_no_follow, read_no_follow, read_no_follow_checked, sync_dir, write_atomic,
};

/// Name of the private key directory.
pub const PRIVATE_DIR: &str = "private";
/// Name of keytool's lock file in the trust directory (notary ignores it).
pub const LOCK_FILE: &str = ".keytool.lock";
/// Where retired keys go: outside `private/`, so notary and docker never list or use them, but
/// recoverable (`keytool key list --retired`).
pub const RETIRED_DIR: &str = "keytool-retired";
/// Where interrupted operations leave their journal.
pub const JOURNAL_DIR: &str = "keytool-journal";
/// Held for a whole rotation (which asks for passphrases, so it cannot hold [`LOCK_FILE`]):
/// shared by rotations of a repository's targets or snapshot key (each also holds its
/// repository's lock in [`REPO_LOCK_DIR`]), exclusive for root rotations, renewals and signer
/// rotations.
pub const ROTATION_LOCK_FILE: &str = ".keytool-rotate.lock";
/// One lock file per repository (named by a digest of the GUN), held for a whole rotation of one
/// of its keys under the shared [`ROTATION_LOCK_FILE`]: rotations of different repositories run
/// at the same time, two of one repository never.
pub const REPO_LOCK_DIR: &str = "keytool-locks";

thread_local! {
    /// The lock files this thread holds: taking one again (a passphrase callback calling back
    /// into the library while a lock is held) is an error instead of a deadlock.
    static HELD: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a key file sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// `private/<id>.key`, where notary and docker look.
    Flat,
    /// A notary 0.1–0.3 layout (`private/root_keys/`, `private/tuf_keys/`): needs `migrate`.
    Legacy,
    /// Any other subdirectory of `private/`: notary lists it but cannot load it by ID.
    Nested,
    /// `keytool-retired/`: replaced by a rotation, kept for recovery, unseen by notary.
    Retired,
}

/// One key file as listed (from its name and headers; nothing is decrypted).
#[derive(Clone, Debug, Serialize)]
pub struct ListedKey {
    /// The key ID the file name claims.
    pub id: String,
    /// The role (`""` when the file has none, as notary lists it).
    pub role: String,
    /// The GUN, for repository keys.
    pub gun: Option<String>,
    /// The algorithm, when it can be told without decrypting.
    pub algorithm: Option<Algorithm>,
    /// Whether the key is encrypted at rest.
    pub encrypted: bool,
    /// The file.
    pub path: PathBuf,
    /// Where the file sits.
    pub location: Location,
    /// Why the file cannot be used, if it cannot.
    pub problem: Option<String>,
}

/// The trust directory (`~/.docker/trust` or another).
#[derive(Clone, Debug)]
pub struct TrustDir {
    root: PathBuf,
}

/// Proof that the caller holds the trust directory's exclusive lock. Dropping it unlocks.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        forget_held(&self.path);
    }
}

/// Removes one entry for `path` from this thread's held locks.
fn forget_held(path: &Path) {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        if let Some(i) = held.iter().rposition(|p| p == path) {
            held.remove(i);
        }
    });
}

/// The locks of one repository's rotation ([`TrustDir::repository_lock`]). Dropping it unlocks.
#[derive(Debug)]
pub(crate) struct RepositoryLock {
    // Field order is drop order: the repository's lock goes first.
    _own: DirLock,
    _shared: DirLock,
}

/// This thread counts as holding a lock it does not hold ([`TrustDir::mark_rotation_held`]).
#[derive(Debug)]
pub(crate) struct HeldMark {
    path: PathBuf,
}

impl Drop for HeldMark {
    fn drop(&mut self) {
        forget_held(&self.path);
    }
}

/// Hex SHA-256 of a GUN: file names for per-repository files (GUNs hold `/` and `:`).
pub(crate) fn gun_digest(gun: &Gun) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(gun.as_str().as_bytes()))
}

impl TrustDir {
    /// Uses `root` as the trust directory (it need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        TrustDir { root: root.into() }
    }

    /// Resolves the trust directory as the CLI contract says: `explicit` (`--trust-dir`) >
    /// `KEYTOOL_TRUST_DIR` > `$DOCKER_CONFIG/trust` > `$HOME/.docker/trust`.
    pub fn resolve(
        explicit: Option<&Path>,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self> {
        let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
        let root = if let Some(p) = explicit {
            p.to_path_buf()
        } else if let Some(p) = nonempty("KEYTOOL_TRUST_DIR") {
            PathBuf::from(p)
        } else if let Some(p) = nonempty("DOCKER_CONFIG") {
            PathBuf::from(p).join("trust")
        } else if let Some(home) = nonempty("HOME") {
            PathBuf::from(home).join(".docker").join("trust")
        } else {
            return Err(Error::InvalidArgument {
                what: Argument::TrustDir,
                reason: "none of KEYTOOL_TRUST_DIR, DOCKER_CONFIG and HOME is set, so there is no default"
                    .into(),
            });
        };
        Ok(TrustDir::new(root))
    }

    /// The trust directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `private/`.
    pub fn private_dir(&self) -> PathBuf {
        self.root.join(PRIVATE_DIR)
    }

    /// The path of a key file in the flat layout.
    pub fn key_path(&self, id: &KeyId) -> PathBuf {
        self.private_dir().join(format!("{id}.key"))
    }

    internal! {
        /// Takes the exclusive lock, creating the directory (0700) when needed. Blocks while
        /// another keytool process (or thread) holds it; fails at once if this thread already
        /// holds it (a re-entrant call, e.g. from a passphrase callback, would otherwise wait
        /// forever).
        pub fn lock(&self) -> Result<DirLock> {
            self.lock_file(LOCK_FILE)
        }
    }

    /// Removes the trust directory if it holds nothing but keytool's lock files, none of them
    /// held (checked with a non-blocking lock of each): what a command leaves behind when it
    /// created the directory (say a misspelt `--trust-dir`) and then wrote nothing. Returns
    /// whether it was removed; anything else in it, or a lock in use, leaves it alone.
    pub fn remove_if_unused(&self) -> Result<bool> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Ok(false);
        };
        let mut locks = Vec::new();
        let mut repo_locks = None;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", &self.root, e))?;
            let name = entry.file_name();
            if name == REPO_LOCK_DIR && entry.file_type().is_ok_and(|t| t.is_dir()) {
                // Repository locks only: `<digest>.lock` files.
                let inner = fs::read_dir(entry.path()).map_err(|e| Error::io("list", &entry.path(), e))?;
                for lock in inner {
                    let lock = lock.map_err(|e| Error::io("list", &entry.path(), e))?;
                    let is_lock = lock.file_name().to_str().is_some_and(|n| n.ends_with(".lock"));
                    if !is_lock || !lock.file_type().is_ok_and(|t| t.is_file()) {
                        return Ok(false);
                    }
                    locks.push(lock.path());
                }
                repo_locks = Some(entry.path());
                continue;
            }
            let is_lock = name == LOCK_FILE || name == ROTATION_LOCK_FILE;
            if !is_lock || !entry.file_type().is_ok_and(|t| t.is_file()) {
                return Ok(false);
            }
            locks.push(entry.path());
        }
        // Hold every lock while removing, so that no keytool process is using the directory.
        let mut held = Vec::new();
        for path in &locks {
            let Ok(file) = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(path)
            else {
                return Ok(false);
            };
            if file.try_lock().is_err() {
                return Ok(false);
            }
            held.push(file);
        }
        for path in &locks {
            fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
        }
        drop(held);
        if let Some(dir) = repo_locks
            && fs::remove_dir(&dir).is_err()
        {
            return Ok(false);
        }
        Ok(fs::remove_dir(&self.root).is_ok())
    }

    /// Takes the rotation lock ([`ROTATION_LOCK_FILE`]) exclusively, as [`TrustDir::lock`] does:
    /// no other rotation or renewal of this trust directory runs meanwhile.
    pub(crate) fn rotation_lock(&self) -> Result<DirLock> {
        self.lock_path(&self.root, ROTATION_LOCK_FILE, true)
    }

    /// Takes the rotation lock shared, then `gun`'s own lock in [`REPO_LOCK_DIR`] exclusively
    /// (always in that order): rotations of other repositories may run meanwhile, a root
    /// rotation or a renewal (exclusive) may not, nor another rotation of `gun`.
    pub(crate) fn repository_lock(&self, gun: &Gun) -> Result<RepositoryLock> {
        let shared = self.lock_path(&self.root, ROTATION_LOCK_FILE, false)?;
        let name = format!("{}.lock", &gun_digest(gun)[..32]);
        let own = self.lock_path(&self.root.join(REPO_LOCK_DIR), &name, true)?;
        Ok(RepositoryLock {
            _own: own,
            _shared: shared,
        })
    }

    /// Marks the rotation lock as held by this thread until the mark is dropped, without taking
    /// it: the thread that answers passphrase requests for rotations running on other threads
    /// (which hold it) then fails at once, instead of waiting forever, when a passphrase
    /// callback calls back into an operation that takes it.
    pub(crate) fn mark_rotation_held(&self) -> HeldMark {
        let path = self.root.join(ROTATION_LOCK_FILE);
        HELD.with(|held| held.borrow_mut().push(path.clone()));
        HeldMark { path }
    }

    fn lock_file(&self, name: &str) -> Result<DirLock> {
        self.lock_path(&self.root, name, true)
    }

    fn lock_path(&self, dir: &Path, name: &str, exclusive: bool) -> Result<DirLock> {
        fsutil::private_dir(dir)?;
        let path = dir.join(name);
        if HELD.with(|held| held.borrow().contains(&path)) {
            return Err(Error::InvalidArgument {
                what: Argument::Call,
                reason: format!(
                    "this thread already holds {}: a passphrase callback may not call back into an operation that changes the same trust directory",
                    path.display()
                ),
            });
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            // O_NONBLOCK: a named pipe planted as the lock file fails the open (ENXIO) instead
            // of blocking it forever; it does not affect regular files or `lock()` below.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|e| Error::io("lock", &path, e))?;
        HELD.with(|held| held.borrow_mut().push(path.clone()));
        Ok(DirLock { _file: file, path })
    }

    /// Reads and parses the key file of `id` in the flat layout.
    pub(crate) fn read_key(&self, id: &KeyId) -> Result<(PathBuf, KeyFile)> {
        let path = self.key_path(id);
        let bytes = match read_no_follow(&path, MAX_KEY_FILE) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::KeyNotFound {
                    key_id: id.to_string(),
                    dir: self.private_dir(),
                });
            }
            other => other?,
        };
        let file = KeyFile::parse(&bytes).map_err(|e| e.in_file(&path))?;
        Ok((path, file))
    }

    /// Writes a key file atomically as `private/<id>.key` (0600 in a 0700 directory).
    pub(crate) fn write_key(
        &self,
        _lock: &DirLock,
        id: &KeyId,
        pem: &str,
        overwrite: bool,
    ) -> Result<PathBuf> {
        write_atomic(
            &self.private_dir(),
            &format!("{id}.key"),
            pem.as_bytes(),
            overwrite,
        )
    }

    /// `tuf/<gun>/metadata/`, where notary and docker cache a repository's metadata.
    pub fn metadata_dir(&self, gun: &crate::ids::Gun) -> PathBuf {
        self.root.join("tuf").join(gun.as_str()).join("metadata")
    }

    /// Writes `tuf/<gun>/metadata/<role>.json` atomically (`<role>` may be `targets/<name>`) (the exact bytes, as notary caches).
    pub(crate) fn write_metadata(
        &self,
        _lock: &DirLock,
        gun: &crate::ids::Gun,
        role: &str,
        bytes: &[u8],
    ) -> Result<PathBuf> {
        // A delegated role (`targets/releases`) lives in a subdirectory, as notary caches it;
        // its name was checked to be a plain one (`tuf::schema::is_signer_role`).
        let (sub, name) = role.rsplit_once('/').unwrap_or(("", role));
        write_atomic(
            &self.metadata_dir(gun).join(sub),
            &format!("{name}.json"),
            bytes,
            true,
        )
    }

    /// `keytool-retired/`.
    pub fn retired_dir(&self) -> PathBuf {
        self.root.join(RETIRED_DIR)
    }

    /// Moves `private/<id>.key` to `keytool-retired/<id>.key` with one atomic rename (both are
    /// in the trust directory, so on one file system) and makes both directories durable.
    /// Retiring a key that is already retired is a no-op. A different file retired earlier
    /// under the same ID (a key replaced twice by `key import --force`) is never overwritten:
    /// the newer one goes to `keytool-retired/<n>/<id>.key` (n = 2, 3, ...).
    pub(crate) fn retire_key(&self, _lock: &DirLock, id: &KeyId) -> Result<PathBuf> {
        let from = self.key_path(id);
        let dir = self.retired_dir();
        let name = format!("{id}.key");
        let mut to = dir.join(&name);
        if !from.exists() && to.exists() {
            return Ok(to);
        }
        fsutil::private_dir(&dir)?;
        if let Ok(meta) = fs::symlink_metadata(&from)
            && meta.file_type().is_symlink()
        {
            return Err(Error::Symlink { path: from });
        }
        let same = |a: &Path, b: &Path| {
            matches!(
                (read_no_follow(a, MAX_KEY_FILE), read_no_follow(b, MAX_KEY_FILE)),
                (Ok(x), Ok(y)) if x == y
            )
        };
        let mut n = 1u32;
        while fs::symlink_metadata(&to).is_ok() && !same(&from, &to) {
            n += 1;
            to = dir.join(n.to_string()).join(&name);
        }
        let parent = to.parent().unwrap_or(&dir).to_path_buf();
        fsutil::private_dir(&parent)?;
        fs::rename(&from, &to).map_err(|e| Error::io("retire", &from, e))?;
        sync_dir(&parent)?;
        if parent != dir {
            sync_dir(&dir)?;
        }
        sync_dir(&self.private_dir())?;
        Ok(to)
    }

    /// Lists retired keys (same fields as [`TrustDir::list`]).
    pub fn list_retired(&self) -> Result<Vec<ListedKey>> {
        let dir = self.retired_dir();
        let mut files = Vec::new();
        walk(&dir, &mut files)?;
        let mut keys = self.describe_all(&dir, &files);
        for k in &mut keys {
            k.location = Location::Retired;
        }
        keys.sort_by(|a, b| (&a.gun, &a.role, &a.id).cmp(&(&b.gun, &b.role, &b.id)));
        Ok(keys)
    }

    /// Writes a journal entry atomically (`keytool-journal/<name>.json`).
    pub(crate) fn write_journal(&self, _lock: &DirLock, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(
            &self.root.join(JOURNAL_DIR),
            &format!("{name}.json"),
            bytes,
            true,
        )
        .map(|_| ())
    }

    /// Reads a journal entry, if there is one.
    pub(crate) fn read_journal(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.root.join(JOURNAL_DIR).join(format!("{name}.json"));
        match read_no_follow(&path, 1 << 20) {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Names of the pending journal entries.
    pub fn journal_names(&self) -> Result<Vec<String>> {
        let dir = self.root.join(JOURNAL_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &dir, e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Deletes a journal entry durably (closing the operation it recorded).
    pub(crate) fn remove_journal(&self, _lock: &DirLock, name: &str) -> Result<()> {
        let dir = self.root.join(JOURNAL_DIR);
        let path = dir.join(format!("{name}.json"));
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }

    /// Lists every `*.key` file under `private/` (recursively, as notary does), flat, legacy
    /// and nested, sorted as notary sorts: root first, then by GUN, role and ID.
    pub fn list(&self) -> Result<Vec<ListedKey>> {
        let private = self.private_dir();
        let mut files = Vec::new();
        walk(&private, &mut files)?;
        let mut keys = self.describe_all(&private, &files);
        keys.sort_by(|a, b| {
            (a.role != "root", &a.gun, &a.role, &a.id).cmp(&(
                b.role != "root",
                &b.gun,
                &b.role,
                &b.id,
            ))
        });
        Ok(keys)
    }

    /// Describes `files`, keeping their order. Large directories are split into contiguous
    /// chunks read on a few threads: listing is mostly the latency of opening and reading
    /// thousands of small files, which overlaps well.
    fn describe_all(&self, private: &Path, files: &[(PathBuf, bool)]) -> Vec<ListedKey> {
        let serial = |chunk: &[(PathBuf, bool)]| -> Vec<ListedKey> {
            chunk
                .iter()
                .map(|(path, is_link)| self.describe(private, path, *is_link))
                .collect()
        };
        if files.len() < PARALLEL_LIST_MIN {
            return serial(files);
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, MAX_LIST_THREADS);
        if threads == 1 {
            return serial(files);
        }
        let mut chunks = files.chunks(files.len().div_ceil(threads));
        let first = chunks.next().unwrap_or_default();
        std::thread::scope(|scope| {
            // A thread that cannot be started leaves its chunk to this one.
            let others: Vec<_> = chunks
                .map(|chunk| {
                    std::thread::Builder::new()
                        .name("keytool-list".into())
                        .spawn_scoped(scope, move || serial(chunk))
                        .map_err(|_| chunk)
                })
                .collect();
            let mut keys = Vec::with_capacity(files.len());
            keys.extend(serial(first));
            for other in others {
                match other {
                    Ok(handle) => match handle.join() {
                        Ok(part) => keys.extend(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    Err(chunk) => keys.extend(serial(chunk)),
                }
            }
            keys
        })
    }

    fn describe(&self, private: &Path, path: &Path, is_link: bool) -> ListedKey {
        let rel = path.strip_prefix(private).unwrap_or(path).to_path_buf();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let legacy_name = legacy::interpret(&rel);
        let location = if legacy_name.is_some() {
            Location::Legacy
        } else if rel.components().count() > 1 {
            Location::Nested
        } else {
            Location::Flat
        };
        let mut key = ListedKey {
            id: stem,
            role: String::new(),
            gun: None,
            algorithm: None,
            encrypted: false,
            path: path.to_path_buf(),
            location,
            problem: None,
        };
        if is_link {
            key.problem =
                Some("symbolic link: not used (key files are never read through links)".into());
            return key;
        }
        match read_no_follow(path, MAX_KEY_FILE).and_then(|b| KeyFile::parse(&b)) {
            Ok(file) => {
                key.role = file.role().as_str().to_owned();
                key.gun = file.gun().map(|g| g.to_string());
                key.algorithm = file.algorithm_hint();
                key.encrypted = file.is_encrypted();
            }
            Err(e) => key.problem = Some(e.to_string()),
        }
        if let Some(name) = legacy_name {
            key.id = name.id;
            if let Some(role) = name.role {
                key.role = role;
            }
            if name.gun.is_some() {
                key.gun = name.gun;
            }
        }
        key
    }
}

/// Fewest files for which [`TrustDir::list`] reads on several threads (with 100 files the
/// thread start-up costs about what it saves).
const PARALLEL_LIST_MIN: usize = 128;
/// Most threads [`TrustDir::list`] reads on.
const MAX_LIST_THREADS: usize = 8;

/// Collects `*.key` regular files and symlinks below `dir`; a missing `dir` is empty.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let ft = entry.file_type().map_err(|e| Error::io("list", dir, e))?;
        let path = entry.path();
        if ft.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "key") && (ft.is_file() || ft.is_symlink())
        {
            out.push((path, ft.is_symlink()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unused_directory_of_lock_files_is_removed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = TrustDir::new(tmp.path().join("trust"));
        assert!(!dir.remove_if_unused().expect("nothing there"));
        // A lock in use keeps the directory.
        let held = dir.lock().expect("lock");
        assert!(!dir.remove_if_unused().expect("checked"));
        assert!(dir.root().join(LOCK_FILE).exists());
        drop(held);
        // Anything but lock files keeps it.
        std::fs::write(dir.root().join("other"), b"x").expect("write");
        assert!(!dir.remove_if_unused().expect("checked"));
        std::fs::remove_file(dir.root().join("other")).expect("rm");
        drop(dir.rotation_lock().expect("lock"));
        assert!(dir.remove_if_unused().expect("removed"));
        assert!(!dir.root().exists());
    }

    #[test]
    fn resolution_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        let all = env(&[
            ("KEYTOOL_TRUST_DIR", "/k"),
            ("DOCKER_CONFIG", "/d"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            TrustDir::resolve(Some(Path::new("/x")), all)
                .expect("ok")
                .root(),
            Path::new("/x")
        );
        assert_eq!(
            TrustDir::resolve(None, all).expect("ok").root(),
            Path::new("/k")
        );
        let no_kt = env(&[("DOCKER_CONFIG", "/d"), ("HOME", "/h")]);
        assert_eq!(
            TrustDir::resolve(None, no_kt).expect("ok").root(),
            Path::new("/d/trust")
        );
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            TrustDir::resolve(None, home).expect("ok").root(),
            Path::new("/h/.docker/trust")
        );
        assert!(TrustDir::resolve(None, env(&[])).is_err());
    }

    #[test]
    fn taking_a_held_lock_again_in_one_thread_fails_instead_of_hanging() {
        let tmp = tempfile::tempdir().expect("tmp");
        let td = TrustDir::new(tmp.path().join("trust"));
        let first = td.lock().expect("locks");
        let err = td.lock().expect_err("re-entrant lock");
        assert!(err.to_string().contains("already holds"), "{err}");
        // The rotation lock is another lock: both can be held.
        let rotation = td.rotation_lock().expect("rotation lock");
        drop(first);
        let again = td.lock().expect("free again after drop");
        drop((again, rotation));
    }

    #[test]
    fn repository_locks_let_other_repositories_rotate_but_not_root_or_the_same_one() {
        let tmp = tempfile::tempdir().expect("tmp");
        let td = TrustDir::new(tmp.path().join("trust"));
        let (a, b): (Gun, Gun) = ("example.com/a".parse().expect("a"), "example.com/b".parse().expect("b"));
        let held_a = td.repository_lock(&a).expect("a");
        // Another thread (a worker) rotates b meanwhile; a is taken.
        std::thread::scope(|s| {
            s.spawn(|| {
                let held_b = td.repository_lock(&b).expect("b while a is held");
                let own = |g: &Gun| {
                    td.root()
                        .join(REPO_LOCK_DIR)
                        .join(format!("{}.lock", &gun_digest(g)[..32]))
                };
                let other = File::open(own(&a)).expect("open");
                assert!(other.try_lock().is_err(), "a second rotation of a waits");
                drop(held_b);
                assert!(File::open(own(&b)).expect("open").try_lock().is_ok());
            });
        });
        // A root rotation (exclusive) waits for every repository rotation; shared ones do not.
        let rotation = File::open(td.root().join(ROTATION_LOCK_FILE)).expect("open");
        assert!(rotation.try_lock().is_err(), "exclusive while a repository rotates");
        assert!(rotation.try_lock_shared().is_ok(), "shared with other repositories");
        rotation.unlock().expect("unlock");
        drop(held_a);
        assert!(rotation.try_lock().is_ok(), "free once no repository rotates");
        rotation.unlock().expect("unlock");
        // A thread that answers the workers' passphrase requests refuses to re-enter.
        let mark = td.mark_rotation_held();
        let err = td.repository_lock(&a).expect_err("re-entrant");
        assert!(err.to_string().contains("already holds"), "{err}");
        drop(mark);
        drop(td.rotation_lock().expect("free again"));
        // What a failed first command leaves behind is still cleaned up.
        assert!(td.remove_if_unused().expect("checked"));
    }

    #[test]
    fn lock_is_exclusive_across_handles() {
        let tmp = tempfile::tempdir().expect("tmp");
        let td = TrustDir::new(tmp.path().join("trust"));
        let first = td.lock().expect("locks");
        let path = td.root().join(LOCK_FILE);
        let other = File::open(&path).expect("open");
        assert!(
            other.try_lock().is_err(),
            "a second lock must fail while the first is held"
        );
        drop(first);
        assert!(other.try_lock().is_ok());
    }
}
