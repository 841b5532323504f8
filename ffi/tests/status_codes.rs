//! `kt_status` repeats `keystore::ErrorCode` (the one definition of the table) number for number
//! and name for name, the committed header spells the same table, and every status has a text.

use std::collections::BTreeMap;
use std::ffi::CStr;

use keystore::ErrorCode;
use kt_ffi::{kt_status, kt_status_str};

/// The statuses only the C ABI has, with their numbers.
const C_ONLY: [(kt_status, &str, i32); 3] = [
    (kt_status::Ok, "Ok", 0),
    (kt_status::NullArgument, "NullArgument", 2),
    (kt_status::Panic, "Panic", 99),
];

/// cbindgen's spelling of a variant (`ExcessiveKdfCost` → `KT_STATUS_EXCESSIVE_KDF_COST`).
fn c_name(rust: &str) -> String {
    let mut out = String::from("KT_STATUS");
    for c in rust.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn statuses_equal_error_codes() {
    for &code in ErrorCode::ALL {
        let status = kt_status::from(code);
        assert_eq!(status as i32, code as i32, "number of {code:?}");
        assert_eq!(format!("{status:?}"), code.name(), "name of {code:?}");
    }
    for (status, name, n) in C_ONLY {
        assert_eq!(status as i32, n, "{name}");
        assert_eq!(format!("{status:?}"), name);
        assert!(
            ErrorCode::ALL.iter().all(|&c| c as i32 != n),
            "{name} ({n}) is the C ABI's own status, yet an ErrorCode has its number"
        );
    }
    // Every status is a code's or one of the C ABI's own, in numeric order, without duplicates.
    let all: Vec<i32> = kt_status::all().map(|s| s as i32).collect();
    assert_eq!(all.len(), ErrorCode::ALL.len() + C_ONLY.len());
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
}

/// The `kt_status` enum of the committed header (itself checked against the sources by
/// tests/header.rs) holds exactly the table: same names, same numbers.
#[test]
fn header_spells_the_same_table() {
    let header = include_str!("../../bindings/c/include/kt_ffi.h");
    let start = header
        .find("enum kt_status")
        .expect("the header has enum kt_status");
    let body = &header[start..];
    let body = &body[..body.find("};").expect("enum kt_status ends")];
    let in_header: BTreeMap<String, i32> = body
        .lines()
        .filter_map(|l| l.trim().strip_suffix(','))
        .filter_map(|l| l.split_once(" = "))
        .map(|(name, n)| (name.to_owned(), n.parse().expect("a number")))
        .collect();
    let expected: BTreeMap<String, i32> = kt_status::all()
        .map(|s| (c_name(&format!("{s:?}")), s as i32))
        .collect();
    assert_eq!(in_header, expected);
}

#[test]
fn every_status_has_a_text() {
    for status in kt_status::all() {
        let n = status as i32;
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
