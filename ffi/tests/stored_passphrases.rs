//! The C ABI uses the passphrases keytool stores, like the CLI: a key whose passphrase is in the
//! vault opens from C when the callback has none (it is asked only for the vault's master
//! passphrase), and `kt_keystore_passwd` keeps the stored entry in step with the key file — so
//! the CLI can still open the key afterwards.

use std::ffi::{CStr, CString, c_void};
use std::ptr::null_mut;

use keystore::ops::{self, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::passphrase::store::{GeneratingSource, Slot};
use keystore::passphrase::vault::{KdfParams, MASTER_ROLE, Vault, VaultStore};
use keystore::{Passphrase, Role, TrustDir};
use kt_ffi::*;

const MASTER: &[u8] = b"vault-master-passphrase";
const NEW: &[u8] = b"new-passphrase-from-c";

/// Answers the vault master request, and new-passphrase requests with NEW; has nothing else.
unsafe extern "C" fn master_only(
    _user_data: *mut c_void,
    req: *const kt_passphrase_request,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
) -> i32 {
    // SAFETY: `req` is the live request of this callback.
    let (role, is_new) = unsafe {
        (
            CStr::from_ptr(kt_passphrase_request_role(req)).to_owned(),
            kt_passphrase_request_is_new(req),
        )
    };
    let answer = if role.to_bytes() == MASTER_ROLE.as_bytes() {
        MASTER
    } else if is_new {
        NEW
    } else {
        return kt_status::PassphraseRequired as i32;
    };
    assert!(answer.len() <= buf_len);
    // SAFETY: the library passes `buf_len` writable bytes and a writable `len_out`.
    unsafe {
        std::ptr::copy_nonoverlapping(answer.as_ptr(), buf, answer.len());
        *len_out = answer.len();
    }
    kt_status::Ok as i32
}

#[test]
fn vault_passphrases_are_used_and_kept_in_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = TrustDir::new(tmp.path().to_path_buf());
    let master = Passphrase::new(String::from_utf8(MASTER.to_vec()).expect("utf-8"));
    let cheap = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let lock = dir.lock().expect("lock");
    Vault::create(&dir, &lock, &master, cheap).expect("vault");
    drop(lock);
    // A key whose generated passphrase lives in the vault, as `keytool --generate-passphrase`
    // makes it when there is no OS keyring.
    let vault = VaultStore::new(
        dir.clone(),
        Box::new(FixedSource::new(master.clone(), "test")),
    );
    let kdf = KdfSettings {
        iterations: 2048,
        ..KdfSettings::default()
    };
    let made = ops::generate(&dir, &GeneratingSource::new(vault), Role::Root, None, &kdf)
        .expect("generate");

    let c_dir = CString::new(tmp.path().to_str().expect("utf-8")).expect("no NUL");
    let c_id = CString::new(made.id.as_str()).expect("no NUL");
    let mut store = null_mut();
    let mut sig = [0u8; KT_SIGNATURE_LEN];
    // SAFETY: every pointer is valid for the call; the handle is freed once at the end.
    unsafe {
        assert_eq!(
            kt_keystore_open(c_dir.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        // The callback has no passphrase for the key: the vault's entry opens it.
        assert_eq!(
            kt_keystore_sign(
                store,
                c_id.as_ptr(),
                b"m".as_ptr(),
                1,
                Some(master_only),
                null_mut(),
                sig.as_mut_ptr(),
                null_mut()
            ),
            kt_status::Ok
        );
        // Without even the master passphrase nothing opens the key.
        assert_eq!(
            kt_keystore_sign(
                store,
                c_id.as_ptr(),
                b"m".as_ptr(),
                1,
                None,
                null_mut(),
                sig.as_mut_ptr(),
                null_mut()
            ),
            kt_status::PassphraseRequired
        );
        // passwd: old passphrase from the vault, new one from the callback; the vault follows.
        assert_eq!(
            kt_keystore_passwd(
                store,
                c_id.as_ptr(),
                Some(master_only),
                null_mut(),
                null_mut()
            ),
            kt_status::Ok
        );
        kt_keystore_free(store);
    }
    let opened = Vault::open(&dir, &master).expect("open").expect("exists");
    assert_eq!(
        opened.get(&made.id, Slot::Current).map(Passphrase::expose),
        Some(NEW),
        "the vault holds the new passphrase"
    );
    assert!(
        opened.get(&made.id, Slot::Pending).is_none(),
        "no pending entry left"
    );
    let new = Passphrase::new(String::from_utf8(NEW.to_vec()).expect("utf-8"));
    ops::load_key(&dir, &made.id, &FixedSource::new(new, "test"), &kdf)
        .expect("the key file opens with the new passphrase");
}

/// A rotation from C keeps a managed passphrase managed (issue 19, item 3): the old targets key's
/// generated passphrase is in the vault, so the new key gets a generated passphrase stored there
/// too; the callback's passphrase for new keys (NEW) is not used, and the retired key's entry
/// stays, still opening the retired key.
#[test]
fn rotation_from_c_keeps_a_stored_passphrase_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = TrustDir::new(tmp.path().to_path_buf());
    let master = Passphrase::new(String::from_utf8(MASTER.to_vec()).expect("utf-8"));
    let cheap = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let lock = dir.lock().expect("lock");
    Vault::create(&dir, &lock, &master, cheap).expect("vault");
    drop(lock);
    let vault = VaultStore::new(
        dir.clone(),
        Box::new(FixedSource::new(master.clone(), "test")),
    );
    let kdf = KdfSettings {
        iterations: 2048,
        ..KdfSettings::default()
    };
    let gun: keystore::Gun = "example.com/acme/c".parse().expect("gun");
    let old = ops::generate(
        &dir,
        &GeneratingSource::new(vault),
        Role::Targets,
        Some(gun.clone()),
        &kdf,
    )
    .expect("generate");

    let c_dir = CString::new(tmp.path().to_str().expect("utf-8")).expect("no NUL");
    let c_gun = CString::new(gun.as_str()).expect("no NUL");
    let mut store = null_mut();
    let mut json = null_mut();
    // SAFETY: every pointer is valid for the call; the handle and the string are freed once.
    let report = unsafe {
        assert_eq!(
            kt_keystore_open(c_dir.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        assert_eq!(
            kt_repo_rotate(
                store,
                c_gun.as_ptr(),
                c"targets".as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                false,
                false,
                Some(master_only),
                null_mut(),
                &mut json,
                null_mut()
            ),
            kt_status::Ok
        );
        let report: serde_json::Value =
            serde_json::from_slice(CStr::from_ptr(json).to_bytes()).expect("json");
        kt_string_free(json);
        kt_keystore_free(store);
        report
    };
    let new_id: keystore::KeyId = report["new_key"]
        .as_str()
        .expect("new key")
        .parse()
        .expect("id");
    assert!(
        report["new_passphrase_stored_in"]
            .as_str()
            .is_some_and(|s| s.starts_with("the vault")),
        "{report}"
    );
    let opened = Vault::open(&dir, &master).expect("open").expect("exists");
    let stored = opened
        .get(&new_id, Slot::Current)
        .expect("the new key's passphrase is in the vault")
        .clone();
    assert_ne!(
        stored.expose(),
        NEW,
        "the callback's passphrase was not used"
    );
    ops::load_key(&dir, &new_id, &FixedSource::new(stored, "vault"), &kdf)
        .expect("the vault's entry opens the new key");
    let old_entry = opened
        .get(&old.id, Slot::Current)
        .expect("the retired key's entry stays")
        .clone();
    let retired =
        std::fs::read(dir.retired_dir().join(format!("{}.key", old.id))).expect("retired");
    let file = keystore::key::file::KeyFile::parse(&retired).expect("parse");
    assert!(matches!(
        file.unlock(Some(&old_entry), u32::MAX).expect("unlock"),
        keystore::key::file::Unlock::Key(_)
    ));
}
