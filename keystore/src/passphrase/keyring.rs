//! The OS keyring through `keyring-core`: on Linux, Secret Service (gnome-keyring, KWallet) when
//! a D-Bus session bus answers, otherwise the kernel's keyutils (headless Linux; needs a session
//! keyring, e.g. `keyctl session -` or a PAM login); on macOS the login keychain (feature
//! `macos-keychain`, on by default). keytool is POSIX-only (the trust directory relies on file
//! modes, `O_NOFOLLOW` and atomic rename), so there is no Windows store.
//!
//! One entry per key: service `keytool`, user = the key ID (`<id>.pending` for the pending entry
//! of `key passwd`), with `keytool:role` and `keytool:gun` attributes where the store keeps
//! attributes (Secret Service).
//!
//! The stores are the feature `os-keyring` (on by default). Without it [`Keyring`] keeps its
//! functions except `with_store` (which takes a `keyring-core` store), but no value of it can be
//! made: [`Keyring::open_os`] finds no keyring, and passphrases are kept in the vault.

use crate::error::Argument;
use std::ffi::OsString;

use crate::error::{Error, Result};

#[cfg(not(feature = "os-keyring"))]
mod disabled;
#[cfg(feature = "os-keyring")]
mod os;

#[cfg(not(feature = "os-keyring"))]
pub use disabled::Keyring;
#[cfg(feature = "os-keyring")]
pub use os::Keyring;

/// The keyring service name of every keytool entry.
pub const SERVICE: &str = "keytool";

/// The environment variable that chooses the store: `auto` (default), `secret-service`,
/// `keyutils` (Linux), `native` (the macOS keychain) or `none`.
pub const KEYRING_ENV: &str = "KEYTOOL_KEYRING";

/// The store [`KEYRING_ENV`] chooses, checked without opening anything: a misspelt value (say
/// `nonee`) is an error, never a silent fallback to no keyring or to another store.
pub fn check_choice(env: impl Fn(&str) -> Option<OsString>) -> Result<String> {
    let raw = env(KEYRING_ENV).unwrap_or_default();
    let choice = raw
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::Setting("KEYTOOL_KEYRING"),
            reason: "the value is not UTF-8 text".into(),
        })?;
    match choice.as_str() {
        "" | "auto" | "secret-service" | "keyutils" | "native" | "none" => Ok(choice),
        other => Err(Error::InvalidArgument {
            what: Argument::Setting("KEYTOOL_KEYRING"),
            reason: format!(
                "expected auto, secret-service, keyutils, native or none, got {:?}",
                crate::ids::clip(other)
            ),
        }),
    }
}
