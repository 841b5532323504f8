//! Raw DER as found inside key files: the PBES2 envelope (checked against an iteration cap before
//! any derivation) and PKCS#8 private keys, including notary's version-1 form.
#![no_main]

use keystore::key::{pbes2, pkcs8};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pbes2::parse(data, 4096);
    let _ = pkcs8::decode(data);
});
