//! Metadata from a Notary server, which is untrusted until verified: root.json verification
//! (signatures, certificates, thresholds, expiry) and canonical JSON of whatever parses, where
//! the streaming canonicaliser must agree with the tree's whenever it accepts a document.
#![no_main]

use std::time::SystemTime;

use keystore::Gun;
use keystore::tuf::{cjson, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let gun: Gun = "example.com/fuzz/repo".parse().expect("valid GUN");
    let _ = verify::verify_root(data, &gun, SystemTime::now());
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let tree = cjson::to_vec(&value);
        let text = std::str::from_utf8(data).expect("JSON that parsed is UTF-8");
        if let Ok(streamed) = cjson::from_text(text) {
            assert_eq!(Some(streamed), tree.ok(), "the two canonicalisers disagree");
        }
    }
});
