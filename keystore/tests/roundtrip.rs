//! Property tests: what keytool writes it reads back — keys, roles, GUNs and passphrases of any
//! shape — and PEM framing round-trips arbitrary bodies and headers.

#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use keystore::key::PrivateKey;
use keystore::key::file::{self, ENCRYPTED_LABEL, Format, KeyFile, PLAIN_LABEL, Unlock};
use keystore::key::pem;
use keystore::{Gun, Passphrase, Role};
use proptest::prelude::*;

/// A few keys made once (key generation is not what is under test).
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..4)
            .map(|_| PrivateKey::generate_ecdsa().unwrap())
            .collect()
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        // Failures are reproduced from the printed seed; no persistence files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Passphrases: ASCII, any Unicode (including controls and astral characters), long ones.
fn passphrase() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{1,40}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        "[äöüßéñ日本語🔑\u{0}\t ]{1,24}",
        "[a-zA-Z0-9]{200,600}",
    ]
}

/// Roles as written in `role:` headers, with whether notary keeps a GUN for them (spec §2.1:
/// only targets, snapshot and timestamp keys carry one).
fn role() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        Just(("root".to_owned(), false)),
        Just(("targets".to_owned(), true)),
        Just(("snapshot".to_owned(), true)),
        Just(("timestamp".to_owned(), true)),
        "targets/[a-z0-9_-]{1,12}(/[a-z0-9_-]{1,8})?".prop_map(|r| (r, false)),
        // docker signer names (`^[a-z0-9][a-z0-9\_\-]*$`), and notary's import default.
        "[a-z0-9][a-z0-9_-]{0,20}"
            .prop_filter("not a base role", |r| {
                !matches!(r.as_str(), "root" | "targets" | "snapshot" | "timestamp")
            })
            .prop_map(|r| (r, false)),
        Just(("delegation".to_owned(), false)),
    ]
}

/// Valid GUNs: 1–4 segments of `[A-Za-z0-9._:-]`, never `.` or `..`.
/// Any GUN a key file's `gun:` header may carry (notary accepts more than docker's grammar, so
/// key files are read with `Gun::stored`).
fn gun() -> impl Strategy<Value = String> {
    prop::collection::vec(
        "[A-Za-z0-9._:-]{1,16}".prop_filter("not . or ..", |s| s != "." && s != ".."),
        1..=4,
    )
    .prop_map(|segs| segs.join("/"))
}

proptest! {
    #![proptest_config(config())]

    /// generate → encode → parse → unlock gives the same key, role and (per notary's rule) GUN.
    #[test]
    fn encode_parse_unlock(
        key_index in 0..4usize,
        pass in passphrase(),
        (role_text, keeps_gun) in role(),
        gun_text in proptest::option::of(gun()),
        iterations in 1..=16u32,
    ) {
        let key = &keys()[key_index];
        let role: Role = role_text.parse().unwrap();
        let gun: Option<Gun> = gun_text.as_deref().map(|g| Gun::stored(g).unwrap());
        let passphrase = Passphrase::new(pass.clone());
        let text = file::encode(key, &role, gun.as_ref(), &passphrase, iterations).unwrap();

        // The header block, literally, as Go's pem.Encode writes it.
        let expect_gun = gun_text.as_deref().filter(|_| keeps_gun);
        let mut head = format!("-----BEGIN {ENCRYPTED_LABEL}-----\n");
        if let Some(g) = expect_gun {
            head.push_str(&format!("gun: {g}\n"));
        }
        head.push_str(&format!("role: {role_text}\n\n"));
        prop_assert!(text.starts_with(&head), "{text}");
        let end = format!("-----END {ENCRYPTED_LABEL}-----\n");
        prop_assert!(text.ends_with(&end));
        prop_assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("gun: ")));

        let parsed = KeyFile::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(parsed.role().as_str(), role_text.as_str());
        prop_assert_eq!(parsed.gun().map(Gun::as_str), expect_gun);
        prop_assert_eq!(parsed.format(), &Format::EncryptedPkcs8);
        prop_assert!(parsed.is_encrypted());
        prop_assert!(parsed.notary_readable());
        let params = parsed.pbes2_params().unwrap();
        prop_assert_eq!(params.iterations, iterations);
        prop_assert_eq!(params.salt.len(), 8);

        match parsed.unlock(Some(&passphrase), 16).unwrap() {
            Unlock::Key(back) => prop_assert_eq!(back.id(), key.id()),
            Unlock::WrongPassphrase => prop_assert!(false, "the right passphrase was refused"),
        }
        let wrong = Passphrase::new(format!("{pass}x"));
        prop_assert!(matches!(parsed.unlock(Some(&wrong), 16).unwrap(), Unlock::WrongPassphrase));
        // The cap is checked before any derivation.
        if iterations > 1 {
            let err = parsed.unlock(Some(&passphrase), iterations - 1).unwrap_err();
            prop_assert_eq!(err.code(), keystore::ErrorCode::ExcessiveKdfCost);
        }
    }

    /// An empty passphrase writes an unencrypted `PRIVATE KEY` block with the same headers.
    #[test]
    fn empty_passphrase_is_plain_pkcs8(
        key_index in 0..4usize,
        (role_text, keeps_gun) in role(),
        gun_text in proptest::option::of(gun()),
    ) {
        let key = &keys()[key_index];
        let role: Role = role_text.parse().unwrap();
        let gun: Option<Gun> = gun_text.as_deref().map(|g| Gun::stored(g).unwrap());
        let text = file::encode(key, &role, gun.as_ref(), &Passphrase::new(String::new()), 2048)
            .unwrap();
        prop_assert!(text.starts_with(&format!("-----BEGIN {PLAIN_LABEL}-----\n")), "{text}");
        prop_assert!(!text.contains("ENCRYPTED"));
        let parsed = KeyFile::parse(text.as_bytes()).unwrap();
        prop_assert!(!parsed.is_encrypted());
        prop_assert_eq!(parsed.format(), &Format::Pkcs8);
        prop_assert_eq!(parsed.role().as_str(), role_text.as_str());
        prop_assert_eq!(parsed.gun().map(Gun::as_str), gun_text.as_deref().filter(|_| keeps_gun));
        match parsed.unlock(None, 1).unwrap() {
            Unlock::Key(back) => prop_assert_eq!(back.id(), key.id()),
            Unlock::WrongPassphrase => prop_assert!(false, "a plain key asked for a passphrase"),
        }
    }

    /// PEM encode → decode gives back the label, the body and the headers (in Go's order:
    /// `Proc-Type` first, then sorted by name, duplicates kept in order).
    #[test]
    fn pem_round_trip(
        label in "[A-Z][A-Z0-9 ]{0,20}[A-Z0-9]",
        body in prop::collection::vec(any::<u8>(), 0..2000),
        headers in prop::collection::vec(
            (
                prop_oneof![
                    Just("Proc-Type".to_owned()),
                    Just("DEK-Info".to_owned()),
                    Just("role".to_owned()),
                    Just("gun".to_owned()),
                    Just("path".to_owned()),
                    "[A-Za-z][A-Za-z0-9_-]{0,15}",
                ],
                // Values are trimmed on reading (as Go does), so none starts or ends in a space.
                prop_oneof![
                    Just(String::new()),
                    "[!-~]([ -~]{0,60}[!-~])?",
                    "[a-zäöü日本:/]{1,30}",
                ],
            ),
            0..6,
        ),
    ) {
        let pairs: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let text = pem::encode(&label, &pairs, &body);

        // Layout: 64-column base64, LF only, one blank line only when there are headers.
        prop_assert!(!text.contains('\r'));
        prop_assert_eq!(text.contains("\n\n"), !headers.is_empty());
        let body_lines: Vec<&str> = text
            .lines()
            .skip(1 + headers.len() + usize::from(!headers.is_empty()))
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        for (i, l) in body_lines.iter().enumerate() {
            if i + 1 < body_lines.len() {
                prop_assert_eq!(l.len(), 64);
            } else {
                prop_assert!(!l.is_empty() && l.len() <= 64);
            }
        }

        let mut expected = headers.clone();
        expected.sort_by(|a, b| {
            let rank = |k: &str| u8::from(k != "Proc-Type");
            (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0))
        });
        let block = pem::decode_first(text.as_bytes()).unwrap();
        prop_assert_eq!(&block.label, &label);
        prop_assert_eq!(&block.headers, &expected);
        prop_assert_eq!(&block.der[..], &body[..]);

        // Text around the block is skipped; several blocks decode in order.
        let bundle = format!("leading junk\n{text}between\n{text}");
        let all = pem::decode_all(bundle.as_bytes()).unwrap();
        prop_assert_eq!(all.len(), 2);
        prop_assert_eq!(&all[1].der[..], &body[..]);
    }

}

proptest! {
    // Cheap cases (one PBKDF2 iteration), so more of them.
    #![proptest_config(ProptestConfig { cases: 512, ..config() })]

    /// Parsing arbitrary bytes, or a valid key file with one byte changed, never panics:
    /// it gives a key, "wrong passphrase" or a typed error.
    #[test]
    fn mutated_files_never_panic(
        key_index in 0..4usize,
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        garbage in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let pass = Passphrase::new("mutate-me".into());
        let text = file::encode(&keys()[key_index], &Role::Root, None, &pass, 1).unwrap();
        let mut bytes = text.into_bytes();
        let i = position.index(bytes.len());
        bytes[i] = byte;
        for input in [&bytes[..], &garbage[..]] {
            if let Ok(parsed) = KeyFile::parse(input) {
                let _ = parsed.algorithm_hint();
                let _ = parsed.unlock(Some(&pass), 16);
                let _ = parsed.unlock(None, 16);
            }
        }
    }
}
