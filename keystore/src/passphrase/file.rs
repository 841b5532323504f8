//! Passphrases from a file (`--passphrase-file`) or given by the caller (API, FFI).

use crate::error::Argument;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use std::cell::RefCell;
use std::io::Read;

use super::{PassphraseSource, Probe, Request, Supplied};
use crate::error::{Error, Result};
use crate::ids::Role;
use crate::secret::Passphrase;
use crate::trust_dir::read_no_follow_checked;

/// Reads the passphrase from the first line of a file that only its owner can read.
/// The line ending is removed; nothing else is trimmed.
///
/// The file is opened once, never through a symbolic link (`O_NOFOLLOW`) and without blocking
/// on a named pipe (`O_NONBLOCK`); its type and mode are checked with `fstat` on that open
/// descriptor, so the file checked is the file read; at most 64 KiB are read.
pub struct FileSource {
    path: PathBuf,
}

/// Largest passphrase file read.
const MAX_PASSPHRASE_FILE: u64 = 64 * 1024;

impl FileSource {
    /// A source reading `path` when asked.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into() }
    }
}

impl PassphraseSource for FileSource {
    fn describe(&self) -> String {
        format!("passphrase file {}", self.path.display())
    }

    fn supply(&self, _request: &Request<'_>) -> Result<Option<Supplied>> {
        let bytes = read_no_follow_checked(&self.path, MAX_PASSPHRASE_FILE, |meta| {
            if meta.permissions().mode() & 0o077 == 0 {
                Ok(())
            } else {
                Err(Error::InsecureFile {
                    path: self.path.clone(),
                })
            }
        })?;
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        let mut line = Zeroizing::new(bytes[..end].to_vec());
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let passphrase = Passphrase::from_bytes(line).ok_or_else(|| Error::InvalidArgument {
            what: Argument::PassphraseFile,
            reason: format!("{} is not UTF-8 text", self.path.display()),
        })?;
        Ok(Some(Supplied {
            passphrase,
            origin: format!("passphrase file {}", self.path.display()),
            retry_allowed: false,
        }))
    }

    fn probe(&self, _request: &Request<'_>) -> Probe {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.file_type().is_symlink() => Probe::Unavailable(format!(
                "{} is a symbolic link (not followed)",
                self.path.display()
            )),
            Ok(m) if !m.is_file() => {
                Probe::Unavailable(format!("{} is not a regular file", self.path.display()))
            }
            Ok(m) if m.permissions().mode() & 0o077 == 0 => {
                Probe::Answers(format!("first line of {}", self.path.display()))
            }
            Ok(_) => Probe::Unavailable(format!(
                "{} is accessible to other users",
                self.path.display()
            )),
            Err(e) => Probe::Unavailable(format!("{}: {e}", self.path.display())),
        }
    }
}

/// Reads one line from a stream (`--passphrase-stdin`, `--passphrase-fd N`), once, when the
/// first passphrase is needed; every later request gets the same passphrase. Reading stops at
/// the first newline, so an open stdin is never read past it.
pub struct LineSource {
    reader: RefCell<Option<Box<dyn Read>>>,
    line: RefCell<Option<Passphrase>>,
    origin: String,
}

impl LineSource {
    /// A source reading `reader` (named `origin` in messages).
    pub fn new(reader: Box<dyn Read>, origin: impl Into<String>) -> Self {
        LineSource {
            reader: RefCell::new(Some(reader)),
            line: RefCell::new(None),
            origin: origin.into(),
        }
    }
}

impl PassphraseSource for LineSource {
    fn describe(&self) -> String {
        self.origin.clone()
    }

    #[allow(clippy::unbuffered_bytes)]
    fn supply(&self, _request: &Request<'_>) -> Result<Option<Supplied>> {
        if let Some(reader) = self.reader.borrow_mut().take() {
            // Byte by byte on purpose: a buffered reader would consume what follows the
            // newline (the next line of stdin belongs to the next reader).
            let mut line = Zeroizing::new(Vec::with_capacity(1024));
            for byte in reader.bytes().take(64 * 1024) {
                let b =
                    byte.map_err(|e| Error::io("read", std::path::Path::new(&self.origin), e))?;
                if b == b'\n' {
                    break;
                }
                line.push(b);
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let passphrase =
                Passphrase::from_bytes(line).ok_or_else(|| Error::InvalidArgument {
                    what: Argument::Passphrase,
                    reason: format!("{} is not UTF-8 text", self.origin),
                })?;
            *self.line.borrow_mut() = Some(passphrase);
        }
        Ok(self.line.borrow().as_ref().map(|p| Supplied {
            passphrase: p.clone(),
            origin: self.origin.clone(),
            retry_allowed: false,
        }))
    }

    fn probe(&self, _request: &Request<'_>) -> Probe {
        Probe::Answers(format!("one line read from {}", self.origin))
    }
}

/// A passphrase handed over by the caller, optionally only for one role.
pub struct FixedSource {
    passphrase: Passphrase,
    role: Option<Role>,
    origin: String,
}

impl FixedSource {
    /// Answers every request with `passphrase`.
    pub fn new(passphrase: Passphrase, origin: impl Into<String>) -> Self {
        FixedSource {
            passphrase,
            role: None,
            origin: origin.into(),
        }
    }

    /// Answers only requests for `role`.
    pub fn only_for(role: Role, passphrase: Passphrase, origin: impl Into<String>) -> Self {
        FixedSource {
            passphrase,
            role: Some(role),
            origin: origin.into(),
        }
    }
}

impl PassphraseSource for FixedSource {
    fn describe(&self) -> String {
        self.origin.clone()
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        if self.role.as_ref().is_some_and(|r| r != request.role) {
            Probe::Nothing("given for another role".into())
        } else {
            Probe::Answers("given by the caller".into())
        }
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        if self.role.as_ref().is_some_and(|r| r != request.role) {
            return Ok(None);
        }
        Ok(Some(Supplied {
            passphrase: self.passphrase.clone(),
            origin: self.origin.clone(),
            retry_allowed: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Purpose;
    use super::*;

    #[test]
    fn file_source_reads_one_line_and_checks_mode() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("pw");
        std::fs::write(&path, " spaced pass \nsecond line\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let req = Request {
            key_id: None,
            role: &Role::Root,
            gun: None,
            purpose: Purpose::Unlock,
            attempt: 0,
            subject: crate::passphrase::Subject::Key,
        };
        let s = FileSource::new(&path)
            .supply(&req)
            .expect("ok")
            .expect("some");
        assert_eq!(s.passphrase.expose(), b" spaced pass ");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            FileSource::new(&path).supply(&req),
            Err(Error::InsecureFile { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(matches!(
            FileSource::new(&path).supply(&req),
            Err(Error::InsecureFile { .. })
        ));
    }

    fn request() -> Request<'static> {
        Request {
            key_id: None,
            role: &Role::Root,
            gun: None,
            purpose: Purpose::Unlock,
            attempt: 0,
            subject: crate::passphrase::Subject::Key,
        }
    }

    #[test]
    fn file_source_never_follows_a_symlink_nor_waits_on_a_fifo() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("real");
        std::fs::write(&target, "pw\n").expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let source = FileSource::new(&link);
        assert!(matches!(
            source.supply(&request()),
            Err(Error::Symlink { .. })
        ));
        assert!(matches!(source.probe(&request()), Probe::Unavailable(_)));

        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        assert!(made, "mkfifo");
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(FileSource::new(path).supply(&request()).is_err());
        });
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)),
            Ok(true),
            "a FIFO is refused at once"
        );
    }

    /// The file whose mode is checked is the file read: with the path switching between a
    /// private file and a world-readable one (atomic renames), the world-readable one's
    /// contents are never returned. A check by path and a second open could pass the check on
    /// the private file and read the other one.
    #[test]
    fn file_source_checks_the_file_it_reads() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().to_path_buf();
        let private = dir.join("private");
        let loose = dir.join("loose");
        std::fs::write(&private, "private-pass\n").expect("write");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&loose, "loose-pass\n").expect("write");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let path = dir.join("pw");
        std::fs::hard_link(&private, &path).expect("link");

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let (dir, path) = (dir.clone(), path.clone());
            std::thread::spawn(move || {
                let staged = dir.join("staged");
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for from in [&loose, &private] {
                        let _ = std::fs::remove_file(&staged);
                        if std::fs::hard_link(from, &staged).is_ok() {
                            let _ = std::fs::rename(&staged, &path);
                        }
                    }
                }
            })
        };
        let source = FileSource::new(&path);
        let started = std::time::Instant::now();
        let (mut private_reads, mut refused) = (0u32, 0u32);
        let mut leaked = false;
        while started.elapsed() < std::time::Duration::from_millis(1500) {
            match source.supply(&request()) {
                Ok(Some(s)) if s.passphrase.expose() == b"loose-pass" => {
                    leaked = true;
                    break;
                }
                Ok(Some(_)) => private_reads += 1,
                Ok(None) | Err(_) => refused += 1,
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().expect("swapper");
        assert!(
            !leaked,
            "read the world-readable file after checking the private one"
        );
        assert!(
            private_reads > 0 && refused > 0,
            "{private_reads} {refused}"
        );
    }
}
