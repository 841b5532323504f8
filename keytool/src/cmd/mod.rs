//! One module per command: its clap arguments and its `run`, which calls `keystore::ops` with
//! the [`Context`](crate::context::Context) and hands the result to [`crate::render`].

pub(crate) mod archive;
pub(crate) mod auth;
pub(crate) mod config;
pub(crate) mod init;
pub(crate) mod input;
pub(crate) mod key;
pub(crate) mod migrate;
pub(crate) mod passphrase;
pub(crate) mod provision;
pub(crate) mod renew;
pub(crate) mod rotate;
pub(crate) mod sandbox;
pub(crate) mod sign;
pub(crate) mod signer;
pub(crate) mod status;
pub(crate) mod vault;
