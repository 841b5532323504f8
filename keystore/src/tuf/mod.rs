//! TUF metadata in notary's dialect: canonical JSON, the signed envelope, signature verification
//! over the re-canonicalised `signed` object as received (spec §9), and the typed metadata
//! ([`schema`]) that documents are read as (never what their signatures are checked over).

pub mod chain;
pub mod cjson;
mod envelope;
pub mod pinning;
pub mod repository;
pub mod roles;
pub mod schema;
pub mod verify;

pub use envelope::{
    Envelope, MAX_METADATA, Signature, TufKey, sign, verify_canonical,
};
