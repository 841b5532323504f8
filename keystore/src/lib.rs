//! keystore: Docker Content Trust (Notary v1) keys and passphrases, byte-compatible with the
//! files the `notary` and `docker` CLIs read and write.
//!
//! The compatibility contract is `shared/reference/notary-compat.md`; the section numbers in
//! comments (§2.1, …) point into it.
//!
//! # Features
//!
//! Default features keep the full build; a library that only handles keys and passphrases can
//! turn off the dependencies it does not want (`default-features = false`):
//!
//! - `notary-client` (default): the HTTPS client of the Notary server (ureq, rustls). Without it
//!   [`notary::NotaryClient`] is still a type and the operations still take one, but
//!   [`notary::NotaryClient::new`] is an error that names the feature.
//! - `os-keyring` (default): the OS keyring (keyring-core; on Linux Secret Service and kernel
//!   keyutils). Without it [`passphrase::keyring::Keyring::open_os`] finds no keyring (a
//!   `KEYTOOL_KEYRING` that names a store is an error) and passphrases are kept in the vault.
//! - `macos-keychain` (default, implies `os-keyring`): the login keychain on macOS.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod ids;
pub mod key;
pub mod notary;
pub mod ops;
pub mod passphrase;
pub mod secret;
pub mod trust_dir;
pub mod tuf;

pub use error::{Argument, Error, ErrorCode, Result};
pub use ids::{Gun, KeyId, Role};
pub use secret::Passphrase;
pub use trust_dir::TrustDir;
