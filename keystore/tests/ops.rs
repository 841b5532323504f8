//! End-to-end tests of `keystore::ops` in temporary trust directories: what each user intent
//! does to the files, checked byte by byte where notary's format is fixed.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use keystore::key::file::{self, Format, KeyFile, Unlock};
use keystore::key::legacy::LegacyCipher;
use keystore::key::pbes2::{Cipher, Prf};
use keystore::key::{PrivateKey, key_id_of, pem, pkcs8};
use keystore::ops::{self, ImportOptions, KdfSettings, Outcome, Provenance, Selection};
use keystore::passphrase::{EnvSource, FixedSource, PassphraseSource, Purpose, Request, Supplied};
use keystore::trust_dir::Location;
use keystore::{ErrorCode, Gun, KeyId, Passphrase, Role, TrustDir};

const KDF: KdfSettings = KdfSettings {
    iterations: 2048,
    max_iterations: 10_000_000,
};
const GUN: &str = "example.com/org/repo";

// ---------------------------------------------------------------------------------------------
// Helpers.

fn tmp_trust() -> (tempfile::TempDir, TrustDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TrustDir::new(tmp.path().join("trust"));
    (tmp, dir)
}

fn fixed(p: &str) -> FixedSource {
    FixedSource::new(Passphrase::new(p.into()), "test source")
}

fn env(vars: &[(&'static str, &'static str)]) -> EnvSource {
    let vars = vars.to_vec();
    EnvSource::with_lookup(move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| OsString::from(*v))
    })
}

/// `ops::passwd` with `old` as the only source of the current passphrase (no OS keyring, no
/// vault) and `new` for the new one.
fn passwd(
    dir: &TrustDir,
    id: &KeyId,
    old: impl keystore::passphrase::PassphraseSource + 'static,
    new: &dyn keystore::passphrase::PassphraseSource,
    kdf: &KdfSettings,
) -> keystore::Result<PathBuf> {
    let policy = keystore::passphrase::policy::Policy::new(dir.clone(), |k| {
        (k == "KEYTOOL_KEYRING").then(|| "none".into())
    })?
    .with_explicit(old);
    ops::passwd(&policy, id, ops::NewPassphrase::From(new), kdf).map(|done| done.path)
}

fn gun() -> Gun {
    GUN.parse().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A passphrase source that answers nothing and records every request.
#[derive(Default)]
struct Recording {
    asked: RefCell<Vec<(Option<String>, String, Purpose)>>,
}

impl PassphraseSource for Recording {
    fn describe(&self) -> String {
        "recording source".into()
    }
    fn supply(&self, r: &Request<'_>) -> keystore::Result<Option<Supplied>> {
        self.asked.borrow_mut().push((
            r.key_id.map(ToString::to_string),
            r.role.to_string(),
            r.purpose,
        ));
        Ok(None)
    }
}

/// A passphrase source that answers by the role and repository of the request.
struct ByRole(Vec<(&'static str, Option<&'static str>, &'static str)>);

impl PassphraseSource for ByRole {
    fn describe(&self) -> String {
        "passphrases by role".into()
    }
    fn supply(&self, r: &Request<'_>) -> keystore::Result<Option<Supplied>> {
        Ok(self
            .0
            .iter()
            .find(|(role, gun, _)| *role == r.role.as_str() && *gun == r.gun.map(|g| g.as_str()))
            .map(|(_, _, p)| Supplied {
                passphrase: Passphrase::new((*p).into()),
                origin: "test".into(),
                retry_allowed: false,
            }))
    }
}

/// Every path under `root` with its mode and, for files, bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u32, Option<Vec<u8>>)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(&p, out);
                out.insert(p, (meta.permissions().mode(), None));
            } else {
                let bytes = fs::read(&p).unwrap();
                out.insert(p, (meta.permissions().mode(), Some(bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// The `*.key` file names in `private/` (flat only).
fn flat_key_names(dir: &TrustDir) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.private_dir())
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn unlock_file(path: &Path, pass: &str) -> Result<PrivateKey, String> {
    let bytes = fs::read(path).unwrap();
    let file = KeyFile::parse(&bytes).map_err(|e| e.to_string())?;
    match file.unlock(Some(&Passphrase::new(pass.into())), KDF.max_iterations) {
        Ok(Unlock::Key(k)) => Ok(k),
        Ok(Unlock::WrongPassphrase) => Err("wrong passphrase".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The headers of the first PEM block of a file, in file order.
fn headers_of(text: &str) -> Vec<(String, String)> {
    pem::decode_first(text.as_bytes()).unwrap().headers
}

fn write_private(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key as an unencrypted, header-less PKCS#8 PEM file that OpenSSL reads.
fn plain_pem_for_openssl(key: &PrivateKey, path: &Path) {
    let der = pkcs8::encode(key).unwrap();
    fs::write(path, pem::encode("PRIVATE KEY", &[], &der)).unwrap();
}

/// An RFC 1423 `EC PRIVATE KEY` made by `openssl ec -<cipher>` from `key`.
fn openssl_legacy(key: &PrivateKey, cipher_flag: &str, pass: &str, work: &Path) -> String {
    let plain = work.join(format!("plain{cipher_flag}.pem"));
    let out = work.join(format!("legacy{cipher_flag}.pem"));
    plain_pem_for_openssl(key, &plain);
    openssl(&[
        "ec",
        "-in",
        plain.to_str().unwrap(),
        cipher_flag,
        "-passout",
        &format!("pass:{pass}"),
        "-out",
        out.to_str().unwrap(),
    ]);
    fs::read_to_string(out).unwrap()
}

fn generate(dir: &TrustDir, role: Role, gun: Option<Gun>, pass: &str) -> KeyId {
    ops::generate(dir, &fixed(pass), role, gun, &KDF)
        .unwrap()
        .id
}

// ---------------------------------------------------------------------------------------------
// generate

#[test]
fn generate_root_targets_and_refusals() {
    let (_tmp, dir) = tmp_trust();
    let source = env(&[
        ("KEYTOOL_ROOT_PASSPHRASE", "root-pass"),
        ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo-pass"),
    ]);

    // A repository does not apply to a root key: an error, not silently dropped.
    let err = ops::generate(&dir, &source, Role::Root, Some(gun()), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(
        err.to_string().contains("not tied to one repository"),
        "{err}"
    );
    assert!(flat_key_names(&dir).iter().all(|n| !n.ends_with(".key")));
    let root = ops::generate(&dir, &source, Role::Root, None, &KDF).unwrap();
    assert_eq!(root.gun, None, "root keys never carry a gun");
    assert_eq!(root.path, dir.key_path(&root.id));
    let text = fs::read_to_string(&root.path).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n"));
    assert_eq!(mode(&root.path), 0o600);
    assert_eq!(mode(&dir.private_dir()), 0o700);
    assert_eq!(mode(dir.root()), 0o700);
    assert_eq!(unlock_file(&root.path, "root-pass").unwrap().id(), root.id);
    let params = KeyFile::parse(text.as_bytes())
        .unwrap()
        .pbes2_params()
        .unwrap();
    assert_eq!(
        (
            params.iterations,
            params.prf,
            params.cipher,
            params.salt.len()
        ),
        (2048, Prf::Sha1, Cipher::Aes256, 8)
    );

    // targets requires a gun; nothing is written without one.
    let before = snapshot(dir.root());
    let err = ops::generate(&dir, &source, Role::Targets, None, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    // timestamp keys are refused outright, even with a gun.
    let err = ops::generate(&dir, &source, Role::Timestamp, Some(gun()), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("timestamp"), "{err}");
    // An empty role is refused.
    let err = ops::generate(&dir, &source, Role::Other(String::new()), None, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert_eq!(snapshot(dir.root()), before);

    let targets = ops::generate(&dir, &source, Role::Targets, Some(gun()), &KDF).unwrap();
    let text = fs::read_to_string(&targets.path).unwrap();
    assert!(text.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: targets\n\n"
    ));
    // The repository passphrase (docker's REPOSITORY variable) encrypted it, not the root one.
    assert_eq!(
        unlock_file(&targets.path, "repo-pass").unwrap().id(),
        targets.id
    );
    assert!(unlock_file(&targets.path, "root-pass").is_err());

    // A docker signer key and a delegation key have no gun, as notary writes them; a repository
    // given for them is an error, and so is a near miss of a base role's name.
    for role in ["alice", "targets/releases"] {
        let err =
            ops::generate(&dir, &source, role.parse().unwrap(), Some(gun()), &KDF).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    }
    let err = ops::generate(&dir, &source, "target".parse().unwrap(), None, &KDF).unwrap_err();
    assert!(err.to_string().ends_with("did you mean targets?"), "{err}");
    for role in ["alice", "targets/releases"] {
        let made = ops::generate(&dir, &source, role.parse().unwrap(), None, &KDF).unwrap();
        assert_eq!(made.gun, None);
        let text = fs::read_to_string(&made.path).unwrap();
        assert_eq!(headers_of(&text), [("role".to_owned(), role.to_owned())]);
    }

    let mut names = flat_key_names(&dir);
    names.retain(|n| !n.starts_with('.'));
    assert_eq!(names.len(), 4);
    for n in &names {
        let id = n.strip_suffix(".key").unwrap();
        assert!(KeyId::is_valid(id), "{n}");
    }
}

#[test]
fn generate_without_a_usable_passphrase_writes_nothing() {
    let (_tmp, dir) = tmp_trust();
    // Only the repository variable is set: it never answers for root (docker's mapping).
    let source = env(&[("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo-pass")]);
    let err = ops::generate(&dir, &source, Role::Root, None, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PassphraseRequired);
    let err = ops::generate(&dir, &fixed(""), Role::Root, None, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    assert!(flat_key_names(&dir).iter().all(|n| !n.ends_with(".key")));
}

#[test]
fn load_key_uses_the_role_variable() {
    let (_tmp, dir) = tmp_trust();
    let root = generate(&dir, Role::Root, None, "root-pass");
    let only_repo = env(&[("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "root-pass")]);
    let err = ops::load_key(&dir, &root, &only_repo, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PassphraseRequired);
    let notary = env(&[("NOTARY_ROOT_PASSPHRASE", "root-pass")]);
    let loaded = ops::load_key(&dir, &root, &notary, &KDF).unwrap();
    assert_eq!(loaded.key.id(), root);
    assert_eq!(loaded.role, Role::Root);
    let wrong = env(&[("NOTARY_ROOT_PASSPHRASE", "root-pass ")]);
    let err = ops::load_key(&dir, &root, &wrong, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongPassphrase);
    assert!(err.to_string().contains("NOTARY_ROOT_PASSPHRASE"), "{err}");
    assert!(!err.to_string().contains("root-pass"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// list

#[test]
fn list_sorts_root_first_then_gun_role_id() {
    let (_tmp, dir) = tmp_trust();
    let other: Gun = "docker.io/library/alpine".parse().unwrap();
    let mut made = [
        (
            generate(&dir, Role::Targets, Some(gun()), "p"),
            "targets",
            Some(GUN),
        ),
        (generate(&dir, Role::Root, None, "p"), "root", None),
        (
            generate(&dir, Role::Snapshot, Some(gun()), "p"),
            "snapshot",
            Some(GUN),
        ),
        (
            generate(&dir, Role::Targets, Some(other.clone()), "p"),
            "targets",
            Some("docker.io/library/alpine"),
        ),
        (generate(&dir, Role::Root, None, "p"), "root", None),
        (
            generate(&dir, "alice".parse().unwrap(), None, "p"),
            "alice",
            None,
        ),
        (
            generate(&dir, "targets/releases".parse().unwrap(), None, "p"),
            "targets/releases",
            None,
        ),
        (
            generate(&dir, Role::Targets, Some(gun()), "p"),
            "targets",
            Some(GUN),
        ),
    ];
    // Expected order, computed independently: roots (by ID), then gun (none first), role, ID.
    made.sort_by(|a, b| {
        let key = |m: &(KeyId, &str, Option<&str>)| {
            (
                m.1 != "root",
                m.2.map(str::to_owned),
                m.1.to_owned(),
                m.0.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let listed = ops::list(&dir, None, None).unwrap();
    let got: Vec<(String, String, Option<String>)> = listed
        .iter()
        .map(|k| (k.id.clone(), k.role.clone(), k.gun.clone()))
        .collect();
    let want: Vec<(String, String, Option<String>)> = made
        .iter()
        .map(|(id, role, gun)| (id.to_string(), (*role).to_owned(), gun.map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(listed[0].role, "root");
    assert_eq!(listed[1].role, "root");
    for k in &listed {
        assert!(k.encrypted);
        assert_eq!(k.location, Location::Flat);
        assert_eq!(k.problem, None);
        assert_eq!(k.algorithm, Some(keystore::key::Algorithm::Ecdsa));
    }

    let targets = ops::list(&dir, Some(&Role::Targets), None).unwrap();
    assert_eq!(targets.len(), 3);
    let of_gun = ops::list(&dir, None, Some(&gun())).unwrap();
    assert_eq!(of_gun.len(), 3);
    assert!(of_gun.iter().all(|k| k.gun.as_deref() == Some(GUN)));
    let of_other = ops::list(&dir, Some(&Role::Targets), Some(&other)).unwrap();
    assert_eq!(of_other.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// export and import

#[test]
fn export_has_notary_path_headers() {
    let (_tmp, dir) = tmp_trust();
    let root = generate(&dir, Role::Root, None, "p");
    let targets = generate(&dir, Role::Targets, Some(gun()), "p");
    let (bundle, ids) =
        ops::export(&dir, &Selection::Keys(vec![targets.clone(), root.clone()])).unwrap();
    assert_eq!(ids, [targets.clone(), root.clone()]);
    let blocks = pem::decode_all(bundle.as_bytes()).unwrap();
    assert_eq!(blocks.len(), 2);
    let header_lines = |b: &pem::PemBlock| -> Vec<String> {
        b.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect()
    };
    assert_eq!(
        header_lines(&blocks[0]),
        [
            format!("gun: {GUN}"),
            format!("path: {targets}"),
            "role: targets".to_owned()
        ]
    );
    assert_eq!(
        header_lines(&blocks[1]),
        [format!("path: {root}"), "role: root".to_owned()]
    );
    // The exact text of the first block: notary's layout, the stored body unchanged.
    let stored = fs::read_to_string(dir.key_path(&targets)).unwrap();
    let expected = stored.replace(
        "role: targets\n",
        &format!("path: {targets}\nrole: targets\n"),
    );
    assert!(bundle.starts_with(&expected), "{bundle}");
}

#[test]
fn export_then_import_recreates_identical_files() {
    let (tmp, a) = tmp_trust();
    let other: Gun = "docker.io/library/alpine".parse().unwrap();
    let root = generate(&a, Role::Root, None, "root-pass");
    let t1 = generate(&a, Role::Targets, Some(gun()), "repo-pass");
    let s1 = generate(&a, Role::Snapshot, Some(gun()), "repo-pass");
    let t2 = generate(&a, Role::Targets, Some(other), "other-pass");
    let signer = generate(&a, "alice".parse().unwrap(), None, "alice-pass");
    let all = [&root, &t1, &s1, &t2, &signer];
    let passphrases = ByRole(vec![
        ("root", None, "root-pass"),
        ("targets", Some(GUN), "repo-pass"),
        ("snapshot", Some(GUN), "repo-pass"),
        ("targets", Some("docker.io/library/alpine"), "other-pass"),
        ("alice", None, "alice-pass"),
    ]);

    let selections = [
        ("all", Selection::All, all.to_vec()),
        ("repo", Selection::Repo(gun()), vec![&t1, &s1]),
        (
            "keys",
            Selection::Keys(vec![signer.clone(), root.clone()]),
            vec![&signer, &root],
        ),
    ];
    for (name, selection, expected) in selections {
        let (bundle, ids) = ops::export(&a, &selection).unwrap();
        let mut got: Vec<&KeyId> = ids.iter().collect();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "{name}");

        let b = TrustDir::new(tmp.path().join(format!("import-{name}")));
        // Encrypted blocks with a path header are decrypted to check the ID they claim, then
        // stored as they are.
        let nothing = Recording::default();
        let err = ops::import(
            &b,
            &nothing,
            &[(format!("{name}.pem"), bundle.as_bytes())],
            &ImportOptions::default(),
            &KDF,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::PassphraseRequired, "{name}: {err}");
        assert!(!nothing.asked.borrow().is_empty(), "{name}");
        assert!(flat_key_names(&b).is_empty(), "{name}: nothing written");
        let done = ops::import(
            &b,
            &passphrases,
            &[(format!("{name}.pem"), bundle.as_bytes())],
            &ImportOptions::default(),
            &KDF,
        )
        .unwrap()
        .imported;
        assert_eq!(done.len(), expected.len(), "{name}");
        for imp in &done {
            assert_eq!(imp.outcome, Outcome::Written);
            assert!(!imp.reencrypted);
            assert!(imp.id_verified);
            let original = fs::read(a.key_path(&imp.id)).unwrap();
            let copy = fs::read(b.key_path(&imp.id)).unwrap();
            assert_eq!(original, copy, "{name}: {} differs", imp.id);
            assert_eq!(mode(&b.key_path(&imp.id)), 0o600);
        }
        let mut names = flat_key_names(&b);
        names.retain(|n| n.ends_with(".key"));
        assert_eq!(names.len(), expected.len(), "{name}: {names:?}");

        // Importing the same bundle again changes nothing.
        let before = snapshot(b.root());
        let again = ops::import(
            &b,
            &passphrases,
            &[(format!("{name}.pem"), bundle.as_bytes())],
            &ImportOptions::default(),
            &KDF,
        )
        .unwrap()
        .imported;
        assert!(again.iter().all(|i| i.outcome == Outcome::Unchanged));
        assert_eq!(snapshot(b.root()), before);
    }

    // A repository with no keys is "not found"; root keys are not part of a repository export.
    let none: Gun = "example.com/none".parse().unwrap();
    assert_eq!(
        ops::export(&a, &Selection::Repo(none)).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn export_to_file_is_private_and_does_not_clobber() {
    let (tmp, dir) = tmp_trust();
    let root = generate(&dir, Role::Root, None, "p");
    let out = tmp.path().join("backup.pem");
    let ids = ops::export_to_file(&dir, &Selection::All, &out, false).unwrap();
    assert_eq!(ids, [root]);
    assert_eq!(mode(&out), 0o600);
    let first = fs::read(&out).unwrap();
    let err = ops::export_to_file(&dir, &Selection::All, &out, false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AlreadyExists);
    assert_eq!(fs::read(&out).unwrap(), first);
    ops::export_to_file(&dir, &Selection::All, &out, true).unwrap();
    assert_eq!(fs::read(&out).unwrap(), first);
}

#[test]
fn import_of_an_unencrypted_key_encrypts_it() {
    let (_tmp, dir) = tmp_trust();
    let key = PrivateKey::generate_ecdsa().unwrap();
    let plain = file::encode(
        &key,
        &Role::Targets,
        Some(&gun()),
        &Passphrase::new(String::new()),
        1,
    )
    .unwrap();
    assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let done = ops::import(
        &dir,
        &fixed("new-pass"),
        &[("plain.pem".to_string(), plain.as_bytes())],
        &ImportOptions::default(),
        &KDF,
    )
    .unwrap()
    .imported;
    assert_eq!(done.len(), 1);
    let imp = &done[0];
    assert_eq!(imp.id, key.id());
    assert_eq!(
        (imp.outcome, imp.reencrypted, imp.id_verified),
        (Outcome::Written, true, true)
    );
    assert_eq!(imp.gun.as_ref(), Some(&gun()));
    let stored = fs::read_to_string(dir.key_path(&key.id())).unwrap();
    assert!(stored.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: targets\n\n"
    ));
    assert!(
        !stored.contains(&plain[40..80]),
        "the plaintext body must not survive"
    );
    let params = KeyFile::parse(stored.as_bytes())
        .unwrap()
        .pbes2_params()
        .unwrap();
    assert_eq!((params.iterations, params.prf), (KDF.iterations, Prf::Sha1));
    assert_eq!(
        unlock_file(&dir.key_path(&key.id()), "new-pass")
            .unwrap()
            .id(),
        key.id()
    );
    assert_eq!(mode(&dir.key_path(&key.id())), 0o600);

    // An OpenSSL-made unencrypted key has no role header: the caller must name one.
    let (_tmp2, dir2) = tmp_trust();
    let bare = pem::encode("PRIVATE KEY", &[], &pkcs8::encode(&key).unwrap());
    let input = [("bare.pem".to_string(), bare.as_bytes())];
    let err = ops::import(&dir2, &fixed("x"), &input, &ImportOptions::default(), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    // ... and a targets key needs a gun.
    let targets_no_gun = ImportOptions {
        role: Some(Role::Targets),
        ..ImportOptions::default()
    };
    let err = ops::import(&dir2, &fixed("x"), &input, &targets_no_gun, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    // An empty new passphrase would leave it unencrypted: refused.
    let as_alice = ImportOptions {
        role: Some("alice".parse().unwrap()),
        gun: Some(gun()),
        force: false,
        partial: false,
    };
    let err = ops::import(&dir2, &fixed(""), &input, &as_alice, &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    assert!(!dir2.key_path(&key.id()).exists());
    // A signer name with a gun given: the gun is dropped, as notary does.
    let done = ops::import(&dir2, &fixed("alice-pass"), &input, &as_alice, &KDF)
        .unwrap()
        .imported;
    assert_eq!(done[0].gun, None);
    let stored = fs::read_to_string(dir2.key_path(&key.id())).unwrap();
    assert_eq!(
        headers_of(&stored),
        [("role".to_owned(), "alice".to_owned())]
    );
}

#[test]
fn import_of_an_encrypted_key_without_path_stores_it_verbatim() {
    let (_tmp, dir) = tmp_trust();
    let key = PrivateKey::generate_ecdsa().unwrap();
    // A foreign iteration count survives: the file is not rewritten.
    let text = file::encode(&key, &Role::Root, None, &Passphrase::new("pw".into()), 4096).unwrap();
    let input = [("root.pem".to_string(), text.as_bytes())];

    let err = ops::import(
        &dir,
        &fixed("not-pw"),
        &input,
        &ImportOptions::default(),
        &KDF,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongPassphrase);
    assert!(!dir.key_path(&key.id()).exists());

    let done = ops::import(&dir, &fixed("pw"), &input, &ImportOptions::default(), &KDF)
        .unwrap()
        .imported;
    assert_eq!(done[0].id, key.id(), "the ID was found by decrypting");
    assert_eq!(
        (done[0].outcome, done[0].reencrypted, done[0].id_verified),
        (Outcome::Written, false, true)
    );
    assert_eq!(fs::read_to_string(dir.key_path(&key.id())).unwrap(), text);
}

#[test]
fn import_of_an_openssl_sha256_key_reencrypts_it_for_notary() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let key = PrivateKey::generate_ecdsa().unwrap();
    let plain = work.join("plain.pem");
    plain_pem_for_openssl(&key, &plain);

    // The ID computed from OpenSSL's view of the public key, independently of keystore's parser.
    let spki = work.join("pub.der");
    openssl(&[
        "pkey",
        "-in",
        plain.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
        "-out",
        spki.to_str().unwrap(),
    ]);
    let openssl_id = key_id_of("ecdsa", &fs::read(&spki).unwrap());
    assert_eq!(openssl_id, key.id());

    for (prf, expect_reencrypted) in [("hmacWithSHA256", true), ("hmacWithSHA1", false)] {
        let enc = work.join(format!("enc-{prf}.pem"));
        openssl(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-v2prf",
            prf,
            "-iter",
            "3000",
            "-in",
            plain.to_str().unwrap(),
            "-passout",
            "pass:openssl-pass",
            "-out",
            enc.to_str().unwrap(),
        ]);
        let bytes = fs::read(&enc).unwrap();
        let parsed = KeyFile::parse(&bytes).unwrap();
        assert_eq!(parsed.notary_readable(), !expect_reencrypted, "{prf}");

        let target = TrustDir::new(work.join(format!("trust-{prf}")));
        let options = ImportOptions {
            role: Some(Role::Root),
            ..ImportOptions::default()
        };
        let done = ops::import(
            &target,
            &fixed("openssl-pass"),
            &[(enc.display().to_string(), &bytes[..])],
            &options,
            &KDF,
        )
        .unwrap()
        .imported;
        assert_eq!(done[0].id, openssl_id, "{prf}");
        assert_eq!(done[0].reencrypted, expect_reencrypted, "{prf}");
        let stored = fs::read_to_string(target.key_path(&openssl_id)).unwrap();
        let file = KeyFile::parse(stored.as_bytes()).unwrap();
        assert!(file.notary_readable(), "{prf}");
        assert_eq!(file.role(), &Role::Root);
        let params = file.pbes2_params().unwrap();
        if expect_reencrypted {
            // notary's own format: SHA-1 PRF (field omitted), AES-256-CBC, our iteration count.
            assert_eq!(
                (
                    params.prf,
                    params.cipher,
                    params.iterations,
                    params.salt.len()
                ),
                (Prf::Sha1, Cipher::Aes256, KDF.iterations, 8)
            );
        } else {
            assert_eq!(params.iterations, 3000, "stored as OpenSSL wrote it");
            assert_eq!(file.pbes2_params(), parsed.pbes2_params());
        }
        assert_eq!(
            unlock_file(&target.key_path(&openssl_id), "openssl-pass")
                .unwrap()
                .id(),
            openssl_id
        );
    }
}

#[test]
fn import_conflict_needs_force() {
    let (_tmp, dir) = tmp_trust();
    let key = PrivateKey::generate_ecdsa().unwrap();
    let pass = Passphrase::new("pw".into());
    let first = file::encode(&key, &Role::Root, None, &pass, 2048).unwrap();
    let second = file::encode(&key, &Role::Root, None, &pass, 2048).unwrap();
    assert_ne!(first, second, "fresh salt and IV");
    let import = |text: &str, force: bool| {
        ops::import(
            &dir,
            &fixed("pw"),
            &[("k.pem".to_string(), text.as_bytes())],
            &ImportOptions {
                force,
                ..ImportOptions::default()
            },
            &KDF,
        )
    };
    assert_eq!(
        import(&first, false).unwrap().imported[0].outcome,
        Outcome::Written
    );
    assert_eq!(
        import(&first, false).unwrap().imported[0].outcome,
        Outcome::Unchanged
    );

    let before = snapshot(dir.root());
    let err = import(&second, false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AlreadyExists);
    assert_eq!(snapshot(dir.root()), before, "a conflict changes nothing");

    assert_eq!(
        import(&second, true).unwrap().imported[0].outcome,
        Outcome::Replaced
    );
    assert_eq!(fs::read_to_string(dir.key_path(&key.id())).unwrap(), second);
    assert_eq!(mode(&dir.key_path(&key.id())), 0o600);

    // One input holding the same key twice with different bytes is refused before writing.
    let (_tmp2, dir2) = tmp_trust();
    let both = format!("{first}{second}");
    let err = ops::import(
        &dir2,
        &fixed("pw"),
        &[("both.pem".to_string(), both.as_bytes())],
        &ImportOptions::default(),
        &KDF,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidKeyFile);
    assert!(!dir2.key_path(&key.id()).exists());
}

#[test]
fn import_force_checks_the_claimed_id_and_retires_the_replaced_file() {
    let (_tmp, dir) = tmp_trust();
    let victim = generate(&dir, Role::Root, None, "victim-pass");
    let original = fs::read(dir.key_path(&victim)).unwrap();
    let force = ImportOptions {
        force: true,
        ..ImportOptions::default()
    };
    let bundle = |key: &PrivateKey, pass: &str| {
        let text =
            file::encode(key, &Role::Root, None, &Passphrase::new(pass.into()), 2048).unwrap();
        KeyFile::parse(text.as_bytes())
            .unwrap()
            .export_pem(victim.as_str())
    };

    // A bundle whose path header names the victim's ID but holds another key: refused, with
    // or without its passphrase, and nothing changes.
    let forged = bundle(&PrivateKey::generate_ecdsa().unwrap(), "evil");
    let before = snapshot(dir.root());
    let nothing = Recording::default();
    for (source, code) in [
        (
            &fixed("evil") as &dyn PassphraseSource,
            ErrorCode::InvalidKeyFile,
        ),
        (&nothing, ErrorCode::PassphraseRequired),
    ] {
        let err = ops::import(
            &dir,
            source,
            &[("forged.pem".to_string(), forged.as_bytes())],
            &force,
            &KDF,
        )
        .unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(snapshot(dir.root()), before, "{err}");
    }
    assert_eq!(fs::read(dir.key_path(&victim)).unwrap(), original);

    // The same key under a new passphrase replaces the file; the old file is retired.
    let key = ops::load_key(&dir, &victim, &fixed("victim-pass"), &KDF)
        .unwrap()
        .key;
    let import = |text: &str, pass: &str| {
        ops::import(
            &dir,
            &fixed(pass),
            &[("k.pem".to_string(), text.as_bytes())],
            &force,
            &KDF,
        )
        .unwrap()
        .imported
    };
    let done = import(&bundle(&key, "second-pass"), "second-pass");
    assert_eq!(
        (done[0].outcome, done[0].id_verified),
        (Outcome::Replaced, true)
    );
    let second = fs::read(dir.key_path(&victim)).unwrap();
    assert_eq!(
        unlock_file(&dir.key_path(&victim), "second-pass")
            .unwrap()
            .id(),
        victim
    );
    let retired = dir.retired_dir().join(format!("{victim}.key"));
    assert_eq!(fs::read(&retired).unwrap(), original);
    assert_eq!(mode(&retired), 0o600);

    // Replacing it again keeps both earlier files.
    import(&bundle(&key, "third-pass"), "third-pass");
    assert_eq!(fs::read(&retired).unwrap(), original);
    let again = dir.retired_dir().join("2").join(format!("{victim}.key"));
    assert_eq!(fs::read(&again).unwrap(), second);
    assert_eq!(mode(again.parent().unwrap()), 0o700);
    let listed = ops::list_retired(&dir, None, None).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|k| k.id == victim.as_str()));
    assert_eq!(
        unlock_file(&dir.key_path(&victim), "third-pass")
            .unwrap()
            .id(),
        victim
    );
}

// ---------------------------------------------------------------------------------------------
// passwd, remove, prefixes, preseed

#[test]
fn passwd_changes_the_passphrase_and_keeps_role_and_gun() {
    let (_tmp, dir) = tmp_trust();
    let id = generate(&dir, Role::Targets, Some(gun()), "old-pass");
    let path = dir.key_path(&id);
    let original = fs::read(&path).unwrap();

    // A wrong old passphrase or an empty new one change nothing.
    let err = passwd(&dir, &id, fixed("nope"), &fixed("new-pass"), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongPassphrase);
    let err = passwd(&dir, &id, fixed("old-pass"), &fixed(""), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    assert_eq!(fs::read(&path).unwrap(), original);

    let kdf = KdfSettings {
        iterations: 3000,
        ..KDF
    };
    let written = passwd(&dir, &id, fixed("old-pass"), &fixed("new-pass"), &kdf).unwrap();
    assert_eq!(written, path);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        unlock_file(&path, "old-pass").unwrap_err(),
        "wrong passphrase"
    );
    assert_eq!(unlock_file(&path, "new-pass").unwrap().id(), id);
    let err = ops::load_key(&dir, &id, &fixed("old-pass"), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongPassphrase);
    let loaded = ops::load_key(&dir, &id, &fixed("new-pass"), &KDF).unwrap();
    assert_eq!(loaded.key.id(), id);
    assert_eq!(loaded.role, Role::Targets);
    assert_eq!(loaded.gun, Some(gun()));
    assert_eq!(loaded.path, path);
    let file = KeyFile::parse(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.pbes2_params().unwrap().iterations, 3000);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: targets\n\n"
    ));
    // Only the key file (and keytool's lock file) remain: no temporary files.
    let names = flat_key_names(&dir);
    assert_eq!(names, [format!("{id}.key")], "{names:?}");
}

#[test]
fn passwd_refuses_the_current_passphrase_as_the_new_one() {
    let (_tmp, dir) = tmp_trust();
    let id = generate(&dir, Role::Targets, Some(gun()), "old-pass");
    let path = dir.key_path(&id);
    let original = fs::read(&path).unwrap();
    let repo = || env(&[("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "old-pass")]);
    // The same variable answers both questions: the old passphrase twice.
    let err = passwd(&dir, &id, repo(), &repo(), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    assert!(err.to_string().contains("same as the current one"), "{err}");
    assert!(!err.to_string().contains("old-pass"), "{err}");
    // The same source, whatever it is.
    let err = passwd(&dir, &id, fixed("old-pass"), &fixed("old-pass"), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    // An environment variable is never a deliberate new passphrase when it equals the old one.
    let err = passwd(&dir, &id, fixed("old-pass"), &repo(), &KDF).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WeakPassphrase);
    assert_eq!(fs::read(&path).unwrap(), original);
    // A distinct, deliberate source may keep the passphrase (re-encryption, new KDF setting).
    let deliberate = FixedSource::new(Passphrase::new("old-pass".into()), "new passphrase file");
    let kdf = KdfSettings {
        iterations: 3000,
        ..KDF
    };
    passwd(&dir, &id, repo(), &deliberate, &kdf).unwrap();
    assert_ne!(fs::read(&path).unwrap(), original);
    assert_eq!(unlock_file(&path, "old-pass").unwrap().id(), id);
}

fn no_confirm(_: &ops::RemovalPlan) -> keystore::Result<()> {
    Ok(())
}

/// Writes a cached root.json for `gun` whose `role` lists `key` (as a verified publish leaves it).
fn cache_root_naming(dir: &TrustDir, gun: &Gun, role: &str, key: &PrivateKey) {
    let public = key.public();
    let tuf = keystore::tuf::TufKey {
        keytype: public.algorithm().keytype().into(),
        public: public.bytes().to_vec(),
    };
    let id = tuf.id().to_string();
    let root = serde_json::json!({
        "signed": {
            "_type": "Root",
            "expires": "2030-01-01T00:00:00Z",
            "keys": {id.clone(): tuf.to_json()},
            "roles": {role: {"keyids": [id], "threshold": 1}},
            "version": 1,
        },
        "signatures": [],
    });
    let meta = dir.metadata_dir(gun);
    fs::create_dir_all(&meta).unwrap();
    fs::write(meta.join("root.json"), serde_json::to_vec(&root).unwrap()).unwrap();
}

#[test]
fn remove_retires_never_deletes() {
    let (_tmp, dir) = tmp_trust();
    let root = generate(&dir, Role::Root, None, "p");
    let targets = generate(&dir, Role::Targets, Some(gun()), "p");
    let bytes = fs::read(dir.key_path(&root)).unwrap();
    let done = ops::remove(&dir, &root, false, &no_confirm).unwrap();
    assert_eq!(done.path, dir.key_path(&root));
    assert_eq!(
        done.retired_to,
        dir.retired_dir().join(format!("{root}.key"))
    );
    assert!(done.still_named_by.is_empty());
    assert!(!dir.key_path(&root).exists());
    // Recoverable, byte for byte, and listed as retired.
    assert_eq!(fs::read(&done.retired_to).unwrap(), bytes);
    assert!(
        ops::list_retired(&dir, None, None)
            .unwrap()
            .iter()
            .any(|k| k.id == root.as_str())
    );
    assert_eq!(
        ops::load_key(&dir, &root, &fixed("p"), &KDF)
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        ops::remove(&dir, &root, false, &no_confirm)
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    assert!(ops::load_key(&dir, &targets, &fixed("p"), &KDF).is_ok());
    // A refused confirmation changes nothing.
    let err = ops::remove(&dir, &targets, false, &|_| Err(keystore::Error::Cancelled)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled);
    assert!(dir.key_path(&targets).is_file());
}

#[test]
fn remove_refuses_a_key_that_cached_trust_data_names() {
    let (_tmp, dir) = tmp_trust();
    let targets = generate(&dir, Role::Targets, Some(gun()), "p");
    let key = ops::load_key(&dir, &targets, &fixed("p"), &KDF)
        .unwrap()
        .key;
    cache_root_naming(&dir, &gun(), "targets", &key);
    assert_eq!(
        ops::key_uses(&dir, &targets).unwrap(),
        [format!("the targets key of {GUN}")]
    );
    let before = snapshot(dir.root());
    let asked = RefCell::new(0);
    let err = ops::remove(&dir, &targets, false, &|_| {
        *asked.borrow_mut() += 1;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("still in use"), "{err}");
    assert!(err.to_string().contains(GUN), "{err}");
    assert_eq!(*asked.borrow(), 0, "refused before asking");
    assert_eq!(snapshot(dir.root()), before, "nothing changed");

    // Forced: retired (not deleted), and the result says who still names it.
    let done = ops::remove(&dir, &targets, true, &|plan| {
        assert_eq!(plan.still_named_by, [format!("the targets key of {GUN}")]);
        Ok(())
    })
    .unwrap();
    assert_eq!(done.still_named_by, [format!("the targets key of {GUN}")]);
    assert!(!dir.key_path(&targets).exists());
    assert!(done.retired_to.is_file());
}

#[test]
fn key_id_prefixes() {
    let (_tmp, dir) = tmp_trust();
    let real = generate(&dir, Role::Root, None, "p");
    let content = fs::read(dir.key_path(&real)).unwrap();
    // Names drive resolution (as notary's listing does), so crafted names are enough.
    let a = format!("abcd{}", "0".repeat(60));
    let b = format!("abcd{}", "1".repeat(60));
    let nested = format!("abce{}", "2".repeat(60));
    for name in [&a, &b] {
        write_private(&dir.private_dir().join(format!("{name}.key")), &content);
    }
    write_private(
        &dir.private_dir().join(format!("sub/{nested}.key")),
        &content,
    );

    assert_eq!(
        ops::resolve_key_id(&dir, &real.as_str()[..8]).unwrap(),
        real
    );
    assert_eq!(ops::resolve_key_id(&dir, real.as_str()).unwrap(), real);
    assert_eq!(ops::resolve_key_id(&dir, "abcd0").unwrap().as_str(), a);
    assert_eq!(ops::resolve_key_id(&dir, "abcd1").unwrap().as_str(), b);
    let err = ops::resolve_key_id(&dir, "abcd").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("matches 2 keys"), "{err}");
    // Nested files are not loadable by ID, so a prefix does not find them.
    assert_eq!(
        ops::resolve_key_id(&dir, "abce").unwrap_err().code(),
        ErrorCode::NotFound
    );
    let absent = if real.as_str().starts_with("ffff") {
        "eeee"
    } else {
        "ffff"
    };
    assert_eq!(
        ops::resolve_key_id(&dir, absent).unwrap_err().code(),
        ErrorCode::NotFound
    );
    for bad in ["abc", "ABCD", "abcg", "", "../x"] {
        assert_eq!(
            ops::resolve_key_id(&dir, bad).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{bad:?}"
        );
    }
    // A full ID resolves even when absent; loading it then says "not found".
    let full = "9".repeat(64);
    let id = ops::resolve_key_id(&dir, &full).unwrap();
    assert_eq!(
        ops::load_key(&dir, &id, &fixed("p"), &KDF)
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[test]
fn preseed_is_idempotent_and_picks_the_smallest_root() {
    let (_tmp, dir) = tmp_trust();
    let roots: Vec<KeyId> = (0..3)
        .map(|_| generate(&dir, Role::Root, None, "p"))
        .collect();
    let smallest = roots.iter().min().unwrap().clone();
    // A nested copy of a root key with an even smaller name is not usable by ID: ignored.
    let content = fs::read(dir.key_path(&smallest)).unwrap();
    write_private(
        &dir.private_dir()
            .join(format!("nested/{}.key", "0".repeat(64))),
        &content,
    );

    let first = ops::preseed(&dir, &fixed("p"), &gun(), &KDF).unwrap();
    assert_eq!(first.root, smallest);
    assert_eq!(first.root_provenance, Provenance::Reused);
    assert_eq!(first.targets_provenance, Provenance::Created);
    let text = fs::read_to_string(dir.key_path(&first.targets)).unwrap();
    assert!(text.contains("gun: example.com/org/repo\nrole: targets\n"));

    let before = snapshot(dir.root());
    let second = ops::preseed(&dir, &fixed("p"), &gun(), &KDF).unwrap();
    assert_eq!(
        (second.root.clone(), second.targets.clone()),
        (first.root, first.targets)
    );
    assert_eq!(
        (second.root_provenance, second.targets_provenance),
        (Provenance::Reused, Provenance::Reused)
    );
    assert_eq!(
        snapshot(dir.root()),
        before,
        "a second preseed changes nothing"
    );

    // An empty directory gets both keys.
    let (_tmp2, empty) = tmp_trust();
    let made = ops::preseed(&empty, &fixed("p"), &gun(), &KDF).unwrap();
    assert_eq!(
        (made.root_provenance, made.targets_provenance),
        (Provenance::Created, Provenance::Created)
    );
    assert!(ops::load_key(&empty, &made.root, &fixed("p"), &KDF).is_ok());
}

// ---------------------------------------------------------------------------------------------
// legacy keys and migration

#[test]
fn legacy_rfc1423_keys_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate_ecdsa().unwrap();
    for (flag, cipher, dek_name) in [
        ("-des3", LegacyCipher::DesEde3, "DES-EDE3-CBC"),
        ("-aes128", LegacyCipher::Aes128, "AES-128-CBC"),
        ("-aes256", LegacyCipher::Aes256, "AES-256-CBC"),
    ] {
        let text = openssl_legacy(&key, flag, "legacy-pass", tmp.path());
        assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"));
        assert!(text.contains(&format!("DEK-Info: {dek_name},")), "{text}");
        let file = KeyFile::parse(text.as_bytes()).unwrap();
        match file.format() {
            Format::Legacy { dek: Some(d), .. } => assert_eq!(d.cipher, cipher),
            other => panic!("{flag}: {other:?}"),
        }
        assert!(file.is_encrypted());
        match file
            .unlock(Some(&Passphrase::new("legacy-pass".into())), 1)
            .unwrap()
        {
            Unlock::Key(k) => assert_eq!(k.id(), key.id(), "{flag}"),
            Unlock::WrongPassphrase => panic!("{flag}: refused the right passphrase"),
        }
        assert!(matches!(
            file.unlock(Some(&Passphrase::new("legacy-pasS".into())), 1)
                .unwrap(),
            Unlock::WrongPassphrase
        ));
    }
}

#[test]
fn migrate_notary_0_1_layout() {
    let (tmp, dir) = tmp_trust();
    let private = dir.private_dir();
    let root = PrivateKey::generate_ecdsa().unwrap();
    let targets = PrivateKey::generate_ecdsa().unwrap();
    let snapshot_key = PrivateKey::generate_ecdsa().unwrap();

    // notary 0.1: RFC 1423 EC keys, the role in the file name, the gun in the directories.
    let root_legacy = openssl_legacy(&root, "-aes256", "root-pass", tmp.path());
    let targets_legacy = openssl_legacy(&targets, "-des3", "repo-pass", tmp.path());
    let root_path = private.join(format!("root_keys/{}_root.key", root.id()));
    let targets_path = private.join(format!("tuf_keys/{GUN}/{}_targets.key", targets.id()));
    write_private(&root_path, root_legacy.as_bytes());
    write_private(&targets_path, targets_legacy.as_bytes());
    // notary 0.3: PKCS#8 with a role header, the gun in the directories.
    let snapshot_text = file::encode(
        &snapshot_key,
        &Role::Snapshot,
        None,
        &Passphrase::new("repo-pass".into()),
        2048,
    )
    .unwrap();
    let snapshot_path = private.join(format!("tuf_keys/{GUN}/{}.key", snapshot_key.id()));
    write_private(&snapshot_path, snapshot_text.as_bytes());
    // A corrupt legacy file: notary would delete it; keytool keeps it and says why.
    let corrupt_id = "c".repeat(64);
    let corrupt_path = private.join(format!("root_keys/{corrupt_id}_root.key"));
    write_private(
        &corrupt_path,
        b"-----BEGIN EC PRIVATE KEY-----\nnot base64!\n",
    );

    let listed = ops::list(&dir, None, None).unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|k| k.location == Location::Legacy));

    let report = ops::migrate(&dir).unwrap();
    assert_eq!(report.migrated.len(), 3, "{report:?}");
    assert_eq!(report.kept.len(), 1, "{report:?}");
    assert_eq!(report.kept[0].path, corrupt_path);
    assert!(!report.kept[0].reason.is_empty());
    assert_eq!(
        fs::read(&corrupt_path).unwrap(),
        b"-----BEGIN EC PRIVATE KEY-----\nnot base64!\n",
        "the corrupt file is kept as it was"
    );
    for p in [&root_path, &targets_path, &snapshot_path] {
        assert!(!p.exists(), "{} was not removed", p.display());
    }
    assert!(
        !private.join("tuf_keys").exists(),
        "the emptied tuf_keys/ is removed"
    );
    assert!(
        private.join("root_keys").exists(),
        "root_keys/ still holds the kept file"
    );

    // Headers in notary's order: Proc-Type, DEK-Info, gun, role; the body is unchanged.
    let body = |text: &str| -> Vec<u8> { pem::decode_first(text.as_bytes()).unwrap().der.to_vec() };
    let check = |key: &PrivateKey, legacy: &str, gun: Option<&str>, role: &str, pass: &str| {
        let path = dir.key_path(&key.id());
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let legacy_lines: Vec<&str> = legacy.lines().collect();
        assert_eq!(lines[0], "-----BEGIN EC PRIVATE KEY-----");
        assert_eq!(lines[1], "Proc-Type: 4,ENCRYPTED");
        assert_eq!(lines[2], legacy_lines[2], "DEK-Info is kept");
        assert!(lines[2].starts_with("DEK-Info: "));
        let mut i = 3;
        if let Some(g) = gun {
            assert_eq!(lines[i], format!("gun: {g}"));
            i += 1;
        }
        assert_eq!(lines[i], format!("role: {role}"));
        assert_eq!(lines[i + 1], "");
        assert_eq!(body(&text), body(legacy), "not re-encrypted");
        assert_eq!(mode(&path), 0o600);
        let back = ops::load_key(&dir, &key.id(), &fixed(pass), &KDF).unwrap();
        assert_eq!(back.key.id(), key.id());
        assert_eq!(back.role.as_str(), role);
        assert_eq!(back.gun.as_ref().map(Gun::as_str), gun);
    };
    check(&root, &root_legacy, None, "root", "root-pass");
    check(&targets, &targets_legacy, Some(GUN), "targets", "repo-pass");
    let snap = fs::read_to_string(dir.key_path(&snapshot_key.id())).unwrap();
    assert!(snap.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: snapshot\n\n"
    ));
    assert_eq!(body(&snap), body(&snapshot_text));

    // Running it again converts nothing more and still keeps the corrupt file.
    let before = snapshot(dir.root());
    let again = ops::migrate(&dir).unwrap();
    assert_eq!((again.migrated.len(), again.kept.len()), (0, 1));
    assert_eq!(snapshot(dir.root()), before);

    // passwd turns a migrated legacy key into notary's PKCS#8, keeping role and gun.
    passwd(
        &dir,
        &targets.id(),
        fixed("repo-pass"),
        &fixed("fresh-pass"),
        &KDF,
    )
    .unwrap();
    let text = fs::read_to_string(dir.key_path(&targets.id())).unwrap();
    assert!(text.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: targets\n\n"
    ));
    assert_eq!(
        unlock_file(&dir.key_path(&targets.id()), "fresh-pass")
            .unwrap()
            .id(),
        targets.id()
    );
}

// ---------------------------------------------------------------------------------------------
// hostile trust directory

#[test]
fn a_named_pipe_as_lock_file_is_an_error_not_a_hang() {
    let (_tmp, dir) = tmp_trust();
    fs::create_dir_all(dir.root()).unwrap();
    let lock = dir.root().join(keystore::trust_dir::LOCK_FILE);
    let made = Command::new("mkfifo").arg(&lock).status().unwrap();
    assert!(made.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let d = dir.clone();
    std::thread::spawn(move || {
        let r = ops::generate(&d, &fixed("p"), Role::Root, None, &KDF).map(|g| g.id);
        let _ = tx.send(r.map_err(|e| e.code()));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("generate blocked on a named pipe planted as the lock file");
    assert_eq!(result.unwrap_err(), ErrorCode::Io);
    assert!(flat_key_names(&dir).is_empty());
}

// ---------------------------------------------------------------------------------------------
// docker children

/// A fake `docker` that appends its argv to `log` whenever it runs.
fn fake_docker(dir: &Path, log: &Path) -> ops::DockerCli {
    let program = dir.join("docker");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexit 1\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    ops::DockerCli::new(program)
}

#[test]
fn container_names_that_look_like_options_are_refused_before_docker_runs() {
    let (tmp, dir) = tmp_trust();
    generate(&dir, Role::Targets, Some(gun()), "repo-pass");
    let log = tmp.path().join("docker.log");
    let docker = fake_docker(tmp.path(), &log);
    let server = keystore::notary::NotaryClient::new("https://127.0.0.1:9", None).unwrap();
    let image = ops::ImageRef::parse(&format!("{GUN}:v1")).unwrap();
    let quiet = |_: &str| {};
    for name in ["--help", "-v", "--", "-"] {
        let target = ops::Target::Container {
            docker: docker.clone(),
            name: name.to_owned(),
        };
        let err =
            ops::provision(&dir, &gun(), &target, &ops::ProvisionOptions::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{name}: {err}");
        assert!(err.to_string().contains("container name"), "{err}");

        let options = ops::SandboxOptions {
            docker: &docker,
            container: name,
            server: &server,
            container_server: None,
            on_output: &quiet,
        };
        let err = ops::pull(&dir, &image, &options).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{name}: {err}");
        let err = ops::push(&dir, &fixed("repo-pass"), &image, &options, &KDF).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{name}: {err}");
    }
    assert!(!log.exists(), "docker ran: {:?}", fs::read_to_string(&log));

    // A valid name does reach docker, with `--` before it.
    let target = ops::Target::Container {
        docker: docker.clone(),
        name: "trustsandbox".into(),
    };
    ops::provision(&dir, &gun(), &target, &ops::ProvisionOptions::default()).unwrap_err();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "cp -- trustsandbox:/root/.docker -\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Rotation journals are data from disk: validated before anything is acted on.

/// The journal name keytool uses for a rotation of `gun`'s `role`.
fn journal_path(dir: &TrustDir, gun: &str, role: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(gun.as_bytes()));
    dir.root()
        .join("keytool-journal")
        .join(format!("rotate-{role}-{}.json", &digest[..16]))
}

#[test]
fn a_forged_rotation_journal_retires_nothing() {
    let (_tmp, dir) = tmp_trust();
    let src = fixed("journal-pass-1");
    let keys = ops::preseed(&dir, &src, &gun(), &KDF).unwrap();
    let new = ops::generate(&dir, &src, Role::Targets, Some(gun()), &KDF).unwrap();
    let path = journal_path(&dir, GUN, "targets");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let options = ops::RotateOptions {
        server: None,
        server_managed: false,
        new_key_file: None,
        dry_run: false,
        on_step: &|_| {},
        stores: &[],
        new_passphrase: ops::NewKeyPassphrase::Keep,
    };
    let forged = |old: &str, journal_gun: &str| {
        serde_json::json!({
            "gun": journal_gun, "role": "targets", "old_key": old, "new_key": new.id.as_str(),
            "server_managed": false, "published_repository": false, "phase": "begun"
        })
    };
    // The key it would retire is the root key, not this repository's targets key.
    for (journal, expected) in [
        (forged(keys.root.as_str(), GUN), "not the targets key"),
        (
            forged(keys.targets.as_str(), "example.com/other/repo"),
            "not of the targets key",
        ),
        (forged("not-a-key-id", GUN), "malformed"),
    ] {
        fs::write(&path, serde_json::to_vec(&journal).unwrap()).unwrap();
        let err = ops::rotate(&dir, &src, &gun(), &Role::Targets, &options, &KDF)
            .expect_err("a forged journal is refused");
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert!(err.to_string().contains(expected), "{err}");
        for id in [&keys.root, &keys.targets, &new.id] {
            assert!(dir.key_path(id).is_file(), "{id} stays in private/");
        }
        assert!(!dir.retired_dir().exists(), "nothing is retired");
    }
}
