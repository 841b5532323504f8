//! `kt_status` repeats `keystore::ErrorCode` number for number, and every status has a text.

use std::ffi::CStr;

use keystore::ErrorCode;
use kt_ffi::{kt_status, kt_status_str};

#[test]
fn statuses_equal_error_codes() {
    let codes = [
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::InsecurePermissions,
        ErrorCode::Io,
        ErrorCode::InvalidKeyFile,
        ErrorCode::UnsupportedAlgorithm,
        ErrorCode::ExcessiveKdfCost,
        ErrorCode::WrongPassphrase,
        ErrorCode::PassphraseRequired,
        ErrorCode::Cancelled,
        ErrorCode::WeakPassphrase,
        ErrorCode::ServerRejected,
        ErrorCode::Network,
        ErrorCode::InvalidMetadata,
        ErrorCode::Internal,
    ];
    for code in codes {
        assert_eq!(kt_status::from(code) as i32, code as i32, "{code:?}");
    }
    assert_eq!(kt_status::Ok as i32, 0);
    assert_eq!(kt_status::NullArgument as i32, 2);
    assert_eq!(kt_status::Panic as i32, 99);
}

#[test]
fn every_status_has_a_text() {
    for n in [
        0, 1, 2, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 33, 40, 41, 42, 90, 99,
    ] {
        // SAFETY: kt_status_str returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(kt_status_str(n)) };
        assert_ne!(text.to_str(), Ok("unknown status"), "status {n}");
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(kt_status_str(7)) };
    assert_eq!(unknown.to_str(), Ok("unknown status"));
}

#[test]
fn version_matches_cargo_toml() {
    // SAFETY: kt_version returns a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(kt_ffi::kt_version()) };
    assert_eq!(v.to_str(), Ok(env!("CARGO_PKG_VERSION")));
}
