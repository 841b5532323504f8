//! `kt_status`: the numbered outcome of every fallible call, equal number for number and name for
//! name to [`keystore::ErrorCode`] (the one definition of the table), plus the codes only the C
//! ABI has (OK, NULL argument, panic). cbindgen reads this enum to write the header, so its
//! variants are spelt out here; `From<ErrorCode>` does not build without a status for every code,
//! and `ffi/tests/status_codes.rs` fails on any other drift (number, name, header).

use std::ffi::{CStr, c_char};

use keystore::ErrorCode;

use crate::unwind::infallible;

/// The outcome of a call. The numbers are stable and never reused; `KT_STATUS_OK` (0) is success.
/// Functions take and return it as a plain `int32_t`, so an unknown number from a newer library is
/// never undefined behaviour.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kt_status {
    /// Success.
    Ok = 0,
    /// An argument was malformed (bad key ID, GUN, role, URL; text that is not UTF-8).
    InvalidArgument = 1,
    /// A pointer that must not be NULL was NULL (C ABI only; the Go binding never passes NULL).
    NullArgument = 2,
    /// The key, file or repository does not exist.
    NotFound = 10,
    /// The target exists and would be overwritten.
    AlreadyExists = 11,
    /// A file is reachable through a symbolic link or has unsafe permissions.
    InsecurePermissions = 12,
    /// The operating system refused an I/O operation.
    Io = 13,
    /// A key file is malformed or hostile.
    InvalidKeyFile = 20,
    /// The key file uses an algorithm keytool does not support.
    UnsupportedAlgorithm = 21,
    /// The key file asks for more key-derivation work than allowed.
    ExcessiveKdfCost = 22,
    /// The passphrase does not decrypt the key.
    WrongPassphrase = 30,
    /// No source (no callback, or the callback returned `KT_STATUS_PASSPHRASE_REQUIRED`) could
    /// supply a needed passphrase.
    PassphraseRequired = 31,
    /// Cancelled: the passphrase callback returned an error.
    Cancelled = 32,
    /// A new passphrase does not meet the rules (for example it is empty).
    WeakPassphrase = 33,
    /// The Notary server answered with an error status.
    ServerRejected = 40,
    /// The Notary server could not be reached (connection, TLS, timeout).
    Network = 41,
    /// TUF metadata is malformed, badly signed, expired or rolled back.
    InvalidMetadata = 42,
    /// The Notary server wants a token and none granting the access was obtained (no
    /// credentials in docker's configuration, refused credentials, or a failing token service).
    AuthenticationFailed = 43,
    /// An unexpected failure: a bug.
    Internal = 90,
    /// Rust panicked inside the call (C ABI only): a bug. The library stays usable.
    Panic = 99,
}

impl From<ErrorCode> for kt_status {
    /// Exhaustive on purpose: a new `ErrorCode` does not build until it has a status here.
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => kt_status::InvalidArgument,
            ErrorCode::NotFound => kt_status::NotFound,
            ErrorCode::AlreadyExists => kt_status::AlreadyExists,
            ErrorCode::InsecurePermissions => kt_status::InsecurePermissions,
            ErrorCode::Io => kt_status::Io,
            ErrorCode::InvalidKeyFile => kt_status::InvalidKeyFile,
            ErrorCode::UnsupportedAlgorithm => kt_status::UnsupportedAlgorithm,
            ErrorCode::ExcessiveKdfCost => kt_status::ExcessiveKdfCost,
            ErrorCode::WrongPassphrase => kt_status::WrongPassphrase,
            ErrorCode::PassphraseRequired => kt_status::PassphraseRequired,
            ErrorCode::Cancelled => kt_status::Cancelled,
            ErrorCode::WeakPassphrase => kt_status::WeakPassphrase,
            ErrorCode::ServerRejected => kt_status::ServerRejected,
            ErrorCode::Network => kt_status::Network,
            ErrorCode::InvalidMetadata => kt_status::InvalidMetadata,
            ErrorCode::AuthenticationFailed => kt_status::AuthenticationFailed,
            ErrorCode::Internal => kt_status::Internal,
        }
    }
}

impl kt_status {
    /// A static, NUL-terminated description.
    fn describe(self) -> &'static CStr {
        match self {
            kt_status::Ok => c"ok",
            kt_status::InvalidArgument => c"invalid argument",
            kt_status::NullArgument => c"a required pointer argument is NULL",
            kt_status::NotFound => c"not found",
            kt_status::AlreadyExists => c"already exists",
            kt_status::InsecurePermissions => c"insecure file permissions or symbolic link",
            kt_status::Io => c"input/output error",
            kt_status::InvalidKeyFile => c"invalid key file",
            kt_status::UnsupportedAlgorithm => c"unsupported algorithm",
            kt_status::ExcessiveKdfCost => c"key file asks for too much key-derivation work",
            kt_status::WrongPassphrase => c"wrong passphrase",
            kt_status::PassphraseRequired => c"a passphrase is required and none was supplied",
            kt_status::Cancelled => c"cancelled",
            kt_status::WeakPassphrase => c"the new passphrase is not acceptable",
            kt_status::ServerRejected => c"the Notary server refused the request",
            kt_status::Network => c"cannot reach the Notary server",
            kt_status::InvalidMetadata => c"invalid trust metadata",
            kt_status::AuthenticationFailed => c"not authorized by the Notary server",
            kt_status::Internal => c"internal error (a bug)",
            kt_status::Panic => c"panic inside the library (a bug)",
        }
    }

    /// Every status, in numeric order: one per [`ErrorCode`] (same number, same name) and the
    /// C ABI's own `Ok`, `NullArgument` and `Panic`. The Go constants are generated from this
    /// list (`ffi/tests/go_bindings.rs`).
    pub fn all() -> impl Iterator<Item = kt_status> {
        let mut all: Vec<kt_status> = kt_status::unordered().collect();
        all.sort_by_key(|s| *s as i32);
        all.into_iter()
    }

    /// Every status, the C ABI's own first.
    fn unordered() -> impl Iterator<Item = kt_status> {
        C_ONLY
            .into_iter()
            .chain(ErrorCode::ALL.iter().map(|&code| kt_status::from(code)))
    }

    /// The status with this number, if any.
    fn from_i32(n: i32) -> Option<Self> {
        kt_status::unordered().find(|s| *s as i32 == n)
    }
}

/// The statuses only the C ABI has; every other one is an [`ErrorCode`]'s.
const C_ONLY: [kt_status; 3] = [kt_status::Ok, kt_status::NullArgument, kt_status::Panic];

/// Returns a static description of a status number, such as "wrong passphrase".
///
/// Takes a plain `int32_t`: an unknown number gives "unknown status". The string is static:
/// never free it. Never returns NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn kt_status_str(status: i32) -> *const c_char {
    infallible(c"unknown status".as_ptr(), || {
        kt_status::from_i32(status)
            .map_or(c"unknown status", kt_status::describe)
            .as_ptr()
    })
}

/// Returns the library version ("0.2.0"), a static NUL-terminated string: never free it.
/// Never returns NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn kt_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the package version holds a NUL byte"),
        };
    VERSION.as_ptr()
}
