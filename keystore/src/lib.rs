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
//! - `internals` (off): unstable, for this workspace's tests, benches and fuzz targets; no semver
//!   promise. Makes the internal modules public (`key`: key files and their formats; `tuf`:
//!   canonical JSON, metadata, signing and verification; `trust_dir`: the directory's layout,
//!   locks and journal), with the few methods of public types that only tests call (taking the
//!   trust directory's lock, creating and saving a vault, a trust pinning check).
//!
//! # The API
//!
//! [`ops`] has one function per user intent, and the CLI, C and Go faces call nothing below
//! it; [`passphrase`] is where passphrases come from ([`passphrase::policy::Policy`]);
//! [`error`], [`ids`] and [`secret`] are the types they share, with [`TrustDir`] (the directory
//! the operations work on). The types operations return that live in the internal modules are
//! re-exported where they are returned: [`ops::ListedKey`], [`ops::Location`],
//! [`ops::PrivateKey`], [`ops::PublicKey`], [`ops::Algorithm`], [`notary::TrustPinning`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// A type the API hands out must be nameable: an internal type that leaks is re-exported where it
// is returned, or the item that leaks it is internal too.
#![warn(unnameable_types)]

/// Declares modules that are `pub` with the `internals` feature and `pub(crate)` without it.
/// Their items stay `pub` (so the feature exposes them as they are); without the feature they are
/// reachable only through the deliberate re-exports below, hence the `unreachable_pub` allowance.
macro_rules! internal_modules {
    ($($(#[$attr:meta])* mod $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "internals")]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        #[allow(unreachable_pub)]
        pub(crate) mod $name;
    )*};
}

/// An item of a public type that is `pub` with the `internals` feature and `pub(crate)` without
/// it: for the few methods this workspace's tests call that are not part of the API.
macro_rules! internal {
    ($(#[$attr:meta])* pub $($item:tt)*) => {
        $(#[$attr])*
        #[cfg(feature = "internals")]
        pub $($item)*
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        pub(crate) $($item)*
    };
}

pub mod error;
pub mod ids;
pub mod notary;
pub mod ops;
pub mod passphrase;
mod registry;
pub mod secret;

internal_modules! {
    /// Key material and its formats (internal: the `internals` feature makes it public).
    mod key;
    /// The on-disk trust directory (internal: the `internals` feature makes it public).
    mod trust_dir;
    /// TUF metadata (internal: the `internals` feature makes it public).
    mod tuf;
}

pub use error::{Argument, Error, ErrorCode, Result};
pub use ids::{Gun, KeyId, Role};
pub use secret::Passphrase;
pub use trust_dir::TrustDir;
