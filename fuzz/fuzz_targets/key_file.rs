//! A key file as it may sit in a trust directory (or arrive in an import bundle): PEM framing and
//! headers, then whatever the block claims to be (PBES2, legacy RFC 1423, PKCS#8, SEC1). Must
//! never panic; the iteration cap keeps each input cheap.
#![no_main]

use keystore::Passphrase;
use keystore::key::{file::KeyFile, pem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pem::decode_all(data);
    if let Ok(file) = KeyFile::parse(data) {
        let pass = Passphrase::new("fuzz-passphrase".into());
        let _ = file.unlock(Some(&pass), 4096);
        let _ = file.unlock(None, 4096);
    }
});
