//! Secret-holding types: never printed, wiped from memory when dropped.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

/// A passphrase. Its `Debug` prints `[REDACTED]`; it has no `Display`; it is wiped on drop.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase, taking ownership so no unwiped copy is left behind.
    pub fn new(mut text: String) -> Self {
        if text.capacity() == text.len() {
            return Passphrase(SecretString::from(text));
        }
        // Boxing would shrink (reallocate) the buffer and free the old one unwiped: copy into an
        // exact-size buffer instead and wipe the original.
        let exact = Passphrase::copy_of(&text);
        text.zeroize();
        exact
    }

    /// Builds a passphrase from raw bytes (C and Go callers, files). Invalid UTF-8 is an error.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Option<Self> {
        Self::from_utf8(&bytes)
    }

    /// Copies a passphrase out of a buffer the caller wipes (decrypted vault contents, a read
    /// line). Invalid UTF-8 is `None`.
    pub fn from_utf8(bytes: &[u8]) -> Option<Self> {
        std::str::from_utf8(bytes).ok().map(Passphrase::copy_of)
    }

    fn copy_of(text: &str) -> Self {
        // `String::from` allocates exactly `text.len()` bytes, so boxing does not reallocate.
        Passphrase(SecretString::from(String::from(text)))
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

    /// The copy path of `new` (a string with spare capacity) keeps the text; that the original
    /// buffer is wiped is not observable from safe code, so it is not asserted here.
    #[test]
    fn a_string_with_spare_capacity_keeps_its_text() {
        let mut text = String::with_capacity(64);
        text.push_str("typed-passphrase");
        let p = Passphrase::new(text);
        assert_eq!(p.expose(), b"typed-passphrase");
        assert!(Passphrase::from_utf8(b"\xff").is_none());
    }
}
