//! keystore: Docker Content Trust (Notary v1) keys and passphrases, byte-compatible with the
//! files the `notary` and `docker` CLIs read and write.
//!
//! The compatibility contract is `shared/reference/notary-compat.md`; the section numbers in
//! comments (§2.1, …) point into it.

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

pub use error::{Error, ErrorCode, Result};
pub use ids::{Gun, KeyId, Role};
pub use secret::Passphrase;
pub use trust_dir::TrustDir;
