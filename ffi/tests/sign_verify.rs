//! Signatures made through the C ABI verify with RustCrypto's `p256` (the same check notary's
//! verifier does: ECDSA P-256 over SHA-256, raw r‖s), for a key made through the C ABI too; and,
//! when the Go suite left one (`KT_GO_SIGNATURE=FILE`, written by `go test` with
//! `KT_GO_SIGNATURE_OUT`), for a key generated and used through Go.

use std::ffi::{CStr, CString, c_void};
use std::ptr::null_mut;

use kt_ffi::*;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

const PASSPHRASE: &[u8] = b"rust-side-passphrase";

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

fn verify(spki: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let key = VerifyingKey::from_public_key_der(spki).expect("SPKI parses");
    let sig = Signature::from_slice(sig).expect("64-byte signature");
    key.verify(message, &sig).is_ok()
}

#[test]
fn c_abi_signature_verifies_with_p256() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = CString::new(tmp.path().to_str().expect("utf-8")).expect("no NUL");
    let role = CString::new("targets").expect("no NUL");
    let gun = CString::new("example.com/rust/app").expect("no NUL");
    let message = b"bytes signed through kt_key_sign";
    let mut store = null_mut();
    let mut id = null_mut();
    let mut key = null_mut();
    let mut spki = null_mut();
    let mut spki_len = 0;
    let mut sig = [0u8; KT_SIGNATURE_LEN];
    // SAFETY: every pointer is valid for the call; handles are freed once at the end.
    unsafe {
        assert_eq!(
            kt_keystore_open(dir.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        assert_eq!(
            kt_key_generate(
                store,
                role.as_ptr(),
                gun.as_ptr(),
                Some(fixed),
                null_mut(),
                &mut id,
                null_mut()
            ),
            kt_status::Ok
        );
        assert_eq!(
            kt_key_load(store, id, Some(fixed), null_mut(), &mut key, null_mut()),
            kt_status::Ok
        );
        assert_eq!(
            kt_key_public_spki(key, &mut spki, &mut spki_len, null_mut()),
            kt_status::Ok
        );
        assert_eq!(
            kt_key_sign(
                key,
                message.as_ptr(),
                message.len(),
                sig.as_mut_ptr(),
                null_mut()
            ),
            kt_status::Ok
        );
        let spki_bytes = std::slice::from_raw_parts(spki, spki_len).to_vec();
        assert!(verify(&spki_bytes, message, &sig));
        assert!(!verify(&spki_bytes, b"other bytes", &sig));
        // The key ID is notary's: SHA-256 of the canonical JSON of the SPKI.
        let expected = keystore::key::key_id_of("ecdsa", &spki_bytes).to_string();
        assert_eq!(CStr::from_ptr(id).to_str(), Ok(expected.as_str()));
        kt_bytes_free(spki, spki_len);
        kt_string_free(id);
        kt_key_free(key);
        kt_keystore_free(store);
    }
}

#[test]
fn go_signature_verifies_with_p256() {
    let Some(path) = std::env::var_os("KT_GO_SIGNATURE") else {
        eprintln!("KT_GO_SIGNATURE not set: no signature from the Go suite to check");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read the Go suite's signature file");
    let fields: Vec<Vec<u8>> = text
        .lines()
        .map(|l| hex::decode(l.trim()).expect("hex"))
        .collect();
    let [spki, message, sig] = fields.as_slice() else {
        panic!("expected 3 lines (spki, message, signature) in {path:?}");
    };
    assert!(
        verify(spki, message, sig),
        "p256 rejects the Go-made signature"
    );
}

/// The C ABI parses GUNs and role names as the CLI does (through keystore): a tag, upper case, a
/// near miss of a role name and a repository for a root key are invalid arguments whose message
/// names the fix.
#[test]
fn c_abi_refuses_names_docker_cannot_use() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = CString::new(tmp.path().to_str().expect("utf-8")).expect("no NUL");
    let mut store = null_mut();
    // SAFETY: every pointer is valid for the call; handles are freed once at the end.
    unsafe {
        assert_eq!(
            kt_keystore_open(dir.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        for (role, gun, fix) in [
            (
                "targets",
                Some("host/acme/web:latest"),
                "did you mean host/acme/web?",
            ),
            (
                "targets",
                Some("host/Acme/Web"),
                "did you mean host/acme/web?",
            ),
            ("target", Some("host/acme/web"), "did you mean targets?"),
            (
                "root",
                Some("host/acme/web"),
                "only targets and snapshot keys",
            ),
        ] {
            let role_c = CString::new(role).expect("no NUL");
            let gun_c = gun.map(|g| CString::new(g).expect("no NUL"));
            let mut id = null_mut();
            let mut err = null_mut();
            let st = kt_key_generate(
                store,
                role_c.as_ptr(),
                gun_c.as_ref().map_or(std::ptr::null(), |g| g.as_ptr()),
                Some(fixed),
                null_mut(),
                &mut id,
                &mut err,
            );
            assert_eq!(st, kt_status::InvalidArgument, "{role} {gun:?}");
            let message = CStr::from_ptr(kt_error_message(err))
                .to_string_lossy()
                .into_owned();
            assert!(message.contains(fix), "{role} {gun:?}: {message}");
            kt_error_free(err);
            assert!(id.is_null());
        }
        kt_keystore_free(store);
    }
    let private = tmp.path().join("private");
    assert!(
        !private.exists() || std::fs::read_dir(&private).expect("ls").next().is_none(),
        "nothing was written"
    );
}
