//! Text and JSON output of the commands: each function prints one command's result (JSON on
//! stdout with `--json`, else lines and tables on stdout and notes on stderr). Commands compute;
//! these only print.

pub(crate) mod archive;
pub(crate) mod config;
pub(crate) mod keys;
pub(crate) mod passphrase;
pub(crate) mod renew;
pub(crate) mod repo;
pub(crate) mod rotate;
pub(crate) mod sandbox;
pub(crate) mod signer;
