//! Secret-holding types: never printed, wiped from memory when dropped.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// A passphrase. Its `Debug` prints `[REDACTED]`; it has no `Display`; it is wiped on drop.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase, taking ownership so no unwiped copy is left behind.
    pub fn new(text: String) -> Self {
        Passphrase(SecretString::from(text))
    }

    /// Builds a passphrase from raw bytes (C and Go callers, files). Invalid UTF-8 is an error.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Option<Self> {
        let text = std::str::from_utf8(&bytes).ok()?;
        Some(Passphrase(SecretString::from(text.to_owned())))
    }

    /// The passphrase bytes, exactly as given (nothing is normalised, as in notary).
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    /// Length in characters.
    pub fn char_len(&self) -> usize {
        self.0.expose_secret().chars().count()
    }

    /// Whether the passphrase is empty.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::new("hunter2-canary".into());
        assert!(!format!("{p:?}").contains("hunter2"));
        assert_eq!(p.expose(), b"hunter2-canary");
    }
}
