//! Metadata from a Notary server, which is untrusted until verified: root.json verification
//! (signatures, certificates, thresholds, expiry) and canonical JSON of whatever parses.
#![no_main]

use std::time::SystemTime;

use keystore::Gun;
use keystore::tuf::{cjson, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let gun: Gun = "example.com/fuzz/repo".parse().expect("valid GUN");
    let _ = verify::verify_root(data, &gun, SystemTime::now());
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = cjson::to_vec(&value);
    }
});
