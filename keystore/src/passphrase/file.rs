//! Passphrases from a file (`--passphrase-file`) or given by the caller (API, FFI).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use std::cell::RefCell;
use std::io::Read;

use super::{PassphraseSource, Probe, Request, Supplied};
use crate::error::{Error, Result};
use crate::ids::Role;
use crate::secret::Passphrase;
use crate::trust_dir::read_no_follow;

/// Reads the passphrase from the first line of a file that only its owner can read.
/// The line ending is removed; nothing else is trimmed.
pub struct FileSource {
    path: PathBuf,
}

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
        let meta = std::fs::metadata(&self.path).map_err(|e| Error::io("read", &self.path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::InsecureFile {
                path: self.path.clone(),
            });
        }
        let bytes = read_no_follow(&self.path, 64 * 1024)?;
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        let mut line = Zeroizing::new(bytes[..end].to_vec());
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let passphrase = Passphrase::from_bytes(line).ok_or_else(|| Error::InvalidArgument {
            what: "passphrase file",
            reason: format!("{} is not UTF-8 text", self.path.display()),
        })?;
        Ok(Some(Supplied {
            passphrase,
            origin: format!("passphrase file {}", self.path.display()),
            retry_allowed: false,
        }))
    }

    fn probe(&self, _request: &Request<'_>) -> Probe {
        match std::fs::metadata(&self.path) {
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
                    what: "passphrase",
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
    }
}
