//! A root certificate as listed in root.json: its PEM and X.509 parsing to find the root key's
//! canonical key ID.
#![no_main]

use keystore::key::cert;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cert::canonical_key_id(data);
});
