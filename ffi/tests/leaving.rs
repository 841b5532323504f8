//! Leaving content trust through the C ABI, judged by a tool that is not keytool's: the cosign
//! export of `kt_keystore_export_cosign` is decrypted by sigstore-rs (the Sigstore project's
//! client) with exactly the passphrase the callback gave, and its public key is the key's; the
//! report names the callback as the source and never holds the passphrase.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::null_mut;

use kt_ffi::*;
use sigstore::crypto::signing_key::SigStoreKeyPair;

const PASSPHRASE: &[u8] = b"ffi-cosign-export-passphrase";

unsafe extern "C" fn fixed(
    _user_data: *mut c_void,
    _req: *const kt_passphrase_request,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
) -> i32 {
    assert!(PASSPHRASE.len() <= buf_len);
    // SAFETY: the library passes `buf_len` writable bytes and a writable `len_out`.
    unsafe {
        std::ptr::copy_nonoverlapping(PASSPHRASE.as_ptr(), buf, PASSPHRASE.len());
        *len_out = PASSPHRASE.len();
    }
    kt_status::Ok as i32
}

fn c_path(path: &std::path::Path) -> CString {
    CString::new(path.to_str().expect("UTF-8")).expect("no NUL")
}

/// Takes a string the library returned.
///
/// # Safety
/// `s` is a string from the library, not yet freed.
unsafe fn take(s: *mut c_char) -> String {
    // SAFETY: by contract.
    let text = unsafe { CStr::from_ptr(s) }
        .to_str()
        .expect("UTF-8")
        .to_owned();
    // SAFETY: by contract; freed once.
    unsafe { kt_string_free(s) };
    text
}

#[test]
fn sigstore_rs_opens_the_cosign_export_with_the_callbacks_passphrase() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let trust = c_path(&tmp.path().join("trust"));
    let output = tmp.path().join("out/cosign.key");
    std::fs::create_dir(tmp.path().join("out")).expect("mkdir");
    // SAFETY: every pointer is valid for its call; each handle and string is freed once.
    let (id, spki, report) = unsafe {
        let mut store = null_mut();
        assert_eq!(
            kt_keystore_open(trust.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        let mut id = null_mut();
        let st = kt_key_generate(
            store,
            c"targets".as_ptr(),
            c"example.com/ffi/cosign".as_ptr(),
            Some(fixed),
            null_mut(),
            &mut id,
            null_mut(),
        );
        assert_eq!(st, kt_status::Ok);
        let id = take(id);
        let cid = CString::new(id.clone()).expect("no NUL");
        let mut key = null_mut();
        let st = kt_key_load(
            store,
            cid.as_ptr(),
            Some(fixed),
            null_mut(),
            &mut key,
            null_mut(),
        );
        assert_eq!(st, kt_status::Ok);
        let (mut spki, mut len) = (null_mut(), 0);
        assert_eq!(
            kt_key_public_spki(key, &mut spki, &mut len, null_mut()),
            kt_status::Ok
        );
        let der = std::slice::from_raw_parts(spki, len).to_vec();
        kt_bytes_free(spki, len);
        kt_key_free(key);

        let mut json = null_mut();
        let out = c_path(&output);
        let st = kt_keystore_export_cosign(
            store,
            cid.as_ptr(),
            out.as_ptr(),
            false,
            Some(fixed),
            null_mut(),
            &mut json,
            null_mut(),
        );
        assert_eq!(st, kt_status::Ok);
        let report = take(json);
        // A second export without overwrite is refused; the file stays.
        let before = std::fs::read(&output).expect("read");
        let mut err = null_mut();
        let st = kt_keystore_export_cosign(
            store,
            cid.as_ptr(),
            out.as_ptr(),
            false,
            Some(fixed),
            null_mut(),
            &mut json,
            &mut err,
        );
        assert_eq!(st, kt_status::AlreadyExists);
        kt_error_free(err);
        assert_eq!(std::fs::read(&output).expect("read"), before);
        kt_keystore_free(store);
        (id, der, report)
    };

    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(report["key_id"], id.as_str());
    assert_eq!(report["passphrase_source"], "the passphrase callback");
    assert_eq!(report["private_key"], output.to_str().expect("UTF-8"));
    let public_path = tmp.path().join("out/cosign.pub");
    assert_eq!(report["public_key"], public_path.to_str().expect("UTF-8"));
    assert!(!report.to_string().contains("ffi-cosign-export-passphrase"));

    let sealed = std::fs::read(&output).expect("read");
    let pair = SigStoreKeyPair::from_encrypted_pem(&sealed, PASSPHRASE)
        .expect("sigstore-rs decrypts the export with the callback's passphrase");
    assert!(matches!(pair, SigStoreKeyPair::ECDSA(_)));
    assert_eq!(
        pair.public_key_to_der().expect("public key"),
        spki,
        "the sealed key is the key of the trust directory"
    );
    assert!(SigStoreKeyPair::from_encrypted_pem(&sealed, b"not-the-passphrase").is_err());
    let public = std::fs::read_to_string(&public_path).expect("read .pub");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let body: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64");
    assert_eq!(der, spki, "cosign.pub is the key's public key");
}
