//! The cost of crossing the C ABI, against the same work done directly in Rust: a trivial call
//! (the version string) and signing 256 bytes with a loaded key. The Go side of the comparison
//! is `bindings/go/keystore/bench_test.go`; the figures are in `docs/ffi.md`.

use std::ffi::{CStr, c_void};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keystore::Role;
use keystore::ops::{self, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::{Passphrase, TrustDir};
use kt_ffi::{
    KT_SIGNATURE_LEN, kt_key, kt_key_free, kt_key_load, kt_key_sign, kt_status, kt_version,
};

const PASSPHRASE: &str = "bench-passphrase";

unsafe extern "C" fn fixed(
    _user_data: *mut c_void,
    _req: *const kt_ffi::kt_passphrase_request,
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
    0
}

fn overhead(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = TrustDir::new(tmp.path());
    let source = FixedSource::new(Passphrase::new(PASSPHRASE.into()), "bench");
    let kdf = KdfSettings::default();
    let made = ops::generate(&dir, &source, Role::Root, None, &kdf).expect("generate");
    let rust_key = ops::load_key(&dir, &made.id, &source, &kdf)
        .expect("load")
        .key;
    let message = [0x5au8; 256];

    c.bench_function("trivial/rust", |b| {
        b.iter(|| black_box(env!("CARGO_PKG_VERSION")).len())
    });
    c.bench_function("trivial/c-abi kt_version", |b| {
        // SAFETY: kt_version returns a static NUL-terminated string.
        b.iter(|| unsafe { CStr::from_ptr(kt_version()) }.to_bytes().len())
    });

    c.bench_function("sign/rust PrivateKey::sign", |b| {
        b.iter(|| rust_key.sign(black_box(&message)).expect("sign"))
    });

    let store_dir = std::ffi::CString::new(tmp.path().to_str().expect("utf-8")).expect("path");
    let id = std::ffi::CString::new(made.id.as_str()).expect("id");
    let mut store = std::ptr::null_mut();
    let mut key: *mut kt_key = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated strings and writable out-parameters; errors are not asked for.
    unsafe {
        assert_eq!(
            kt_ffi::kt_keystore_open(store_dir.as_ptr(), &mut store, std::ptr::null_mut()),
            kt_status::Ok
        );
        assert_eq!(
            kt_key_load(
                store,
                id.as_ptr(),
                Some(fixed),
                std::ptr::null_mut(),
                &mut key,
                std::ptr::null_mut()
            ),
            kt_status::Ok
        );
    }
    c.bench_function("sign/c-abi kt_key_sign", |b| {
        let mut sig = [0u8; KT_SIGNATURE_LEN];
        // SAFETY: `key` is live, `message` readable, `sig` 64 writable bytes.
        b.iter(|| unsafe {
            kt_key_sign(
                key,
                black_box(message.as_ptr()),
                message.len(),
                sig.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        })
    });
    // SAFETY: both handles are live and freed once.
    unsafe {
        kt_key_free(key);
        kt_ffi::kt_keystore_free(store);
    }
}

criterion_group!(benches, overhead);
criterion_main!(benches);
