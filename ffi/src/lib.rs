//! kt_ffi: the C ABI over [`::keystore::ops`], for C programs and the Go bindings.
//!
//! The conventions (shared by every export, and spelled out in `bindings/c/README.md`):
//! * every name starts with `kt_`; handles (`kt_keystore`, `kt_key`, `kt_error`,
//!   `kt_passphrase_request`) are opaque;
//! * every fallible function returns a [`kt_status`], writes its results through `*_out`
//!   parameters **only on success**, and takes an optional `kt_error **err_out` last, written
//!   **only on failure**; there is no thread-local "last error";
//! * text in is NUL-terminated UTF-8 and borrowed for the call only; NULL where a value is
//!   required gives `KT_STATUS_NULL_ARGUMENT`, invalid UTF-8 `KT_STATUS_INVALID_ARGUMENT`;
//! * everything handed out has exactly one free function; strings and byte buffers are wiped
//!   before they are freed;
//! * a panic never crosses the boundary: it becomes `KT_STATUS_PANIC`.
//!
//! This crate decides nothing: each export translates arguments, calls one `keystore::ops`
//! function and translates the result.

#![allow(non_camel_case_types)]
#![deny(missing_docs)]

/// Rust's heap inside the library wipes every block when it is freed (see keytool's `main.rs`).
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

mod boundary;
mod error;
mod key;
mod keystore;
mod memory;
mod migrate;
mod passphrase;
mod repo;
mod signer;
mod status;
mod unwind;
mod vault;

#[cfg(feature = "test-panic")]
pub use boundary::kt_test_panic;
pub use error::{kt_error, kt_error_code, kt_error_free, kt_error_message};
pub use key::{
    KT_SIGNATURE_LEN, kt_key, kt_key_free, kt_key_generate, kt_key_gun, kt_key_id, kt_key_load,
    kt_key_public_spki, kt_key_role, kt_key_sign, kt_keystore_sign,
};
pub use keystore::{
    kt_keystore, kt_keystore_export, kt_keystore_free, kt_keystore_import, kt_keystore_list_json,
    kt_keystore_open, kt_keystore_passwd,
};
pub use memory::{kt_bytes_free, kt_string_free};
pub use migrate::{
    kt_keystore_export_cosign, kt_keystore_export_notation, kt_repo_migrate_sigstore,
};
pub use passphrase::{
    KT_PASSPHRASE_MAX, kt_passphrase_cb, kt_passphrase_request, kt_passphrase_request_attempt,
    kt_passphrase_request_gun, kt_passphrase_request_is_new, kt_passphrase_request_is_vault_master,
    kt_passphrase_request_key_id, kt_passphrase_request_role,
};
pub use repo::{
    kt_repo_init, kt_repo_renew, kt_repo_rotate, kt_repo_status_checked_json, kt_repo_status_json,
};
pub use signer::{
    kt_sign, kt_signer_add, kt_signer_list_json, kt_signer_remove, kt_signer_rotate, kt_unsign,
};
pub use status::{kt_status, kt_status_str, kt_version};
pub use vault::{kt_vault_change_master, kt_vault_init, kt_vault_status_json};
