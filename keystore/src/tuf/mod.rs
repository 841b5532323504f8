//! TUF metadata in notary's dialect: canonical JSON, the signed envelope, and signature
//! verification over re-canonicalised bytes (spec §9).

pub mod chain;
pub mod cjson;
mod envelope;
pub mod pinning;
pub mod repository;
pub mod roles;
pub mod schema;
pub mod verify;

pub use envelope::{
    Envelope, MAX_METADATA, Signature, TufKey, sign, verify_canonical, verify_signature,
};
pub use schema::Signed;
