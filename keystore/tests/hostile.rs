//! Malformed and hostile key files: every one must give a typed error, never a panic or a hang,
//! and must change nothing in the trust directory — neither when a key is loaded from it nor
//! when the same bytes are imported.
//!
//! Each case is derived from TV2 of `notary-compat.md` §10 (a real notary root key) by one
//! mutation, built with the small DER encoder below, so every case is one step away from a file
//! that works (checked first, in `baseline_is_tv2_and_loads`).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keystore::key::PrivateKey;
use keystore::key::file::{KeyFile, Unlock};
use keystore::key::{pbes2, pkcs8};
use keystore::ops::{self, ImportOptions, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::{Error, ErrorCode, KeyId, Passphrase, Role, TrustDir};

// ---------------------------------------------------------------------------------------------
// TV2 (notary-compat.md §10).

const TV2_PEM: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
role: root

MIHuMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAjlKTB9V2EZZwICCAAw
HQYJYIZIAWUDBAEqBBBU0qDbd9KZAc7JPyXLdTL9BIGgnH1ZmkldStm1eITSrIoZ
0p0+R6Dtj/fxhHf2cf8eKMA+2NVvYgMCu+UUe1nTEU98M0oVFnUYbfSpm8r9SIJC
ZvSXjIFkJmSr86L3Nmc92S3aEsE9S/Lw/BhfhehDrapJqD0phB053QUjL3P7Ecxn
oRC8Zrbp/2xS0o8KB4J+tXmew5ya9EiT8glZrYSE9qSQnHcAO2FyTU0POG++7/4g
fQ==
-----END ENCRYPTED PRIVATE KEY-----
";
const TV2_ID: &str = "23161cb1681ee89cba69d824790ef782d8db7f135a78e853f7f0be45edd66136";
const TV2_PASS: &str = "rootpass123";
const TV2_SALT: &str = "e529307d57611967";
const TV2_IV: &str = "54d2a0db77d29901cec93f25cb7532fd";
/// The inner PKCS#8 of TV2 (150 bytes, notary's version-1 form).
const TV2_INNER: &str = "308193020101301306072a8648ce3d020106082a8648ce3d030107047930770201010420509a232645af9b7e72daf43773a2219701b8d11aab05960671c3d04006811c41a00a06082a8648ce3d030107a1440342000485802623c9bb73ee12a71eabdf68f38e44fe11442309bcfe85e6f22f78083b9ed5e1dd35be2b1224fbd7d194287fa50e3984c2863beff77a41be3ee535764030";

const PBES2: &str = "1.2.840.113549.1.5.13";
const PBKDF2: &str = "1.2.840.113549.1.5.12";
const AES256_CBC: &str = "2.16.840.1.101.3.4.1.42";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

const KDF: KdfSettings = KdfSettings {
    iterations: 2048,
    max_iterations: 10_000_000,
};

// ---------------------------------------------------------------------------------------------
// A tiny DER encoder (independent of the one in the crate).

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut chunk = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            chunk.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    tlv(0x06, &body)
}

/// An INTEGER from its raw content bytes (two's complement, as given).
fn int_raw(content: &[u8]) -> Vec<u8> {
    tlv(0x02, content)
}

/// A non-negative INTEGER, minimally encoded.
fn uint(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = Vec::new();
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    int_raw(&content)
}

fn alg(oid_str: &str, params: Option<&[u8]>) -> Vec<u8> {
    match params {
        Some(p) => seq(&[&oid(oid_str), p]),
        None => seq(&[&oid(oid_str)]),
    }
}

// ---------------------------------------------------------------------------------------------
// The PBES2 envelope, field by field.

#[derive(Clone)]
struct Envelope {
    scheme: String,
    /// The encoded PBES2 parameters; `None` builds them from the fields below.
    scheme_params: Option<Vec<u8>>,
    kdf: String,
    salt: Vec<u8>,
    /// The encoded INTEGER.
    iterations: Vec<u8>,
    key_length: Option<Vec<u8>>,
    prf: Option<Vec<u8>>,
    cipher: String,
    /// The encoded cipher parameter (normally an OCTET STRING IV).
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// TV2 exactly.
    fn tv2() -> Self {
        Self::encrypting(&hex::decode(TV2_INNER).unwrap())
    }

    /// `plain` encrypted like TV2 (same passphrase, salt, IV and iteration count).
    fn encrypting(plain: &[u8]) -> Self {
        let salt = hex::decode(TV2_SALT).unwrap();
        let iv: [u8; 16] = hex::decode(TV2_IV).unwrap().try_into().unwrap();
        let der = pbes2::encrypt(plain, TV2_PASS.as_bytes(), 2048, &salt, iv);
        let ct_len = (plain.len() / 16 + 1) * 16;
        Envelope {
            scheme: PBES2.into(),
            scheme_params: None,
            kdf: PBKDF2.into(),
            salt,
            iterations: uint(2048),
            key_length: None,
            prf: None,
            cipher: AES256_CBC.into(),
            iv: octets(&iv),
            ciphertext: der[der.len() - ct_len..].to_vec(),
        }
    }

    fn der(&self) -> Vec<u8> {
        let mut kdf_params = vec![octets(&self.salt), self.iterations.clone()];
        kdf_params.extend(self.key_length.clone());
        kdf_params.extend(self.prf.clone());
        let kdf_params: Vec<&[u8]> = kdf_params.iter().map(Vec::as_slice).collect();
        let kdf = alg(&self.kdf, Some(&seq(&kdf_params)));
        let enc = alg(&self.cipher, Some(&self.iv));
        let params = self
            .scheme_params
            .clone()
            .unwrap_or_else(|| seq(&[&kdf, &enc]));
        let scheme = alg(&self.scheme, Some(&params));
        seq(&[&scheme, &octets(&self.ciphertext)])
    }

    fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// PEM assembly (raw, so hostile header values go out exactly as given).

fn pem_raw(label: &str, headers: &[(&str, &[u8])], der: &[u8]) -> Vec<u8> {
    let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    if !headers.is_empty() {
        out.push(b'\n');
    }
    let b64 = STANDARD.encode(der);
    for chunk in b64.as_bytes().chunks(64) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {label}-----\n").as_bytes());
    out
}

fn pem(label: &str, headers: &[(&str, &str)], der: &[u8]) -> Vec<u8> {
    let h: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
    pem_raw(label, &h, der)
}

fn encrypted_root(env: &Envelope) -> Vec<u8> {
    pem("ENCRYPTED PRIVATE KEY", &[("role", "root")], &env.der())
}

fn plain_root(inner: &[u8]) -> Vec<u8> {
    pem("PRIVATE KEY", &[("role", "root")], inner)
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// What sits at `private/<TV2_ID>.key`.
enum Plant {
    /// A regular file with these bytes; the same bytes are then imported.
    Bytes(Vec<u8>),
    /// A symbolic link to the good key's file; TV2 itself is then imported (onto the link).
    SymlinkToGood,
    /// A directory; TV2 itself is then imported (onto the directory).
    Dir,
    /// A named pipe (nobody ever writes to it); TV2 itself is then imported (onto the pipe).
    Fifo,
}

struct Case {
    name: &'static str,
    plant: Plant,
    /// The code `ops::load_key` must give.
    load: ErrorCode,
    /// The code `ops::import` must give.
    import: ErrorCode,
    /// For `ExcessiveKdfCost`: the iteration count the error must name.
    iterations: Option<u64>,
    /// `KeyFile::parse` + `unlock` succeed (only `load_key`'s file-name check catches it).
    direct_ok: bool,
}

fn case(name: &'static str, bytes: Vec<u8>, code: ErrorCode) -> Case {
    Case {
        name,
        plant: Plant::Bytes(bytes),
        load: code,
        import: code,
        iterations: None,
        direct_ok: false,
    }
}

fn p384_pkcs8() -> Vec<u8> {
    const SECP384R1: &str = "1.3.132.0.34";
    let sec1 = seq(&[&uint(1), &octets(&[0x11; 48]), &tlv(0xa0, &oid(SECP384R1))]);
    seq(&[
        &uint(0),
        &alg(EC_PUBLIC_KEY, Some(&oid(SECP384R1))),
        &octets(&sec1),
    ])
}

fn cases(other_key: &PrivateKey) -> Vec<Case> {
    use ErrorCode::*;
    let tv2 = Envelope::tv2;
    let inner = hex::decode(TV2_INNER).unwrap();
    let good_der = tv2().der();
    let mut cases = vec![
        // --- PEM framing
        case("empty file", Vec::new(), InvalidKeyFile),
        case(
            "binary garbage, no PEM block",
            (0..=255u8).cycle().take(3000).collect(),
            InvalidKeyFile,
        ),
        case(
            "truncated PEM (no END line)",
            TV2_PEM.as_bytes()[..TV2_PEM.len() - 40].to_vec(),
            InvalidKeyFile,
        ),
        case(
            "END line with another label",
            TV2_PEM
                .replace("END ENCRYPTED PRIVATE KEY", "END PRIVATE KEY")
                .into_bytes(),
            InvalidKeyFile,
        ),
        case(
            "BEGIN line without closing dashes",
            TV2_PEM
                .replace(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                    "-----BEGIN ENCRYPTED PRIVATE KEY",
                )
                .into_bytes(),
            InvalidKeyFile,
        ),
        case(
            "bad base64",
            TV2_PEM.replacen("MIHu", "MI!u", 1).into_bytes(),
            InvalidKeyFile,
        ),
        case(
            "empty body",
            pem("ENCRYPTED PRIVATE KEY", &[("role", "root")], &[]),
            InvalidKeyFile,
        ),
        case(
            "label CERTIFICATE",
            pem("CERTIFICATE", &[("role", "root")], &good_der),
            UnsupportedAlgorithm,
        ),
        case(
            "label PUBLIC KEY",
            pem("PUBLIC KEY", &[("role", "root")], &good_der),
            UnsupportedAlgorithm,
        ),
        // --- headers
        case(
            "gun: ../../x",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &[("gun", "../../x"), ("role", "targets")],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "gun: with a newline (continuation line ends the headers)",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &[("gun", "example.com/org\n\trepo"), ("role", "targets")],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "gun: with ESC and CR control characters",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &[("gun", "example.com/\x1b[2Jorg\rrepo"), ("role", "targets")],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "role: with BEL and NUL control characters",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &[("role", "ro\x07o\0t")],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "role: 300 characters",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &[("role", &"r".repeat(300))],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "header value not UTF-8",
            pem_raw(
                "ENCRYPTED PRIVATE KEY",
                &[("role", b"ro\xff\xfeot")],
                &good_der,
            ),
            InvalidKeyFile,
        ),
        case(
            "65 headers",
            {
                let names: Vec<String> = (0..65).map(|i| format!("x-{i}")).collect();
                let h: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
                pem("ENCRYPTED PRIVATE KEY", &h, &good_der)
            },
            InvalidKeyFile,
        ),
        // --- outer DER
        case(
            "trailing garbage after the DER",
            encrypted_root_raw(&[good_der.clone(), vec![0xde, 0xad, 0xbe, 0xef]].concat()),
            InvalidKeyFile,
        ),
        case(
            "DER length overflow (0x84 ffffffff)",
            encrypted_root_raw(
                &[&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..], &good_der[3..]].concat(),
            ),
            InvalidKeyFile,
        ),
        case(
            "DER indefinite length (BER)",
            encrypted_root_raw(&[&[0x30, 0x80][..], &good_der[3..], &[0, 0]].concat()),
            InvalidKeyFile,
        ),
        case(
            "DER non-minimal length (0x82 00ee)",
            encrypted_root_raw(&[&[0x30, 0x82, 0x00, 0xee][..], &good_der[3..]].concat()),
            InvalidKeyFile,
        ),
        // --- scheme, KDF, PRF, cipher
        case(
            "PBES1 pbeWithSHA1AndDES-CBC",
            encrypted_root(&tv2().with(|e| {
                e.scheme = "1.2.840.113549.1.5.10".into();
                e.scheme_params = Some(seq(&[&octets(&[1; 8]), &uint(2048)]));
            })),
            UnsupportedAlgorithm,
        ),
        case(
            "PBES2 parameters NULL",
            encrypted_root(&tv2().with(|e| e.scheme_params = Some(vec![0x05, 0x00]))),
            InvalidKeyFile,
        ),
        case(
            "scrypt KDF",
            encrypted_root(&tv2().with(|e| e.kdf = "1.3.6.1.4.1.11591.4.11".into())),
            UnsupportedAlgorithm,
        ),
        case(
            "unknown PRF (hmacWithSHA384)",
            encrypted_root(
                &tv2().with(|e| e.prf = Some(alg("1.2.840.113549.2.10", Some(&[5, 0])))),
            ),
            UnsupportedAlgorithm,
        ),
        case(
            "AES-128-GCM cipher",
            encrypted_root(&tv2().with(|e| {
                e.cipher = "2.16.840.1.101.3.4.1.6".into();
                e.iv = seq(&[&octets(&[7; 12]), &uint(16)]);
            })),
            UnsupportedAlgorithm,
        ),
        case(
            "15-byte IV",
            encrypted_root(&tv2().with(|e| e.iv = octets(&[9; 15]))),
            InvalidKeyFile,
        ),
        case(
            "17-byte IV",
            encrypted_root(&tv2().with(|e| e.iv = octets(&[9; 17]))),
            InvalidKeyFile,
        ),
        case(
            "IV is an INTEGER, not an OCTET STRING",
            encrypted_root(&tv2().with(|e| e.iv = uint(12345))),
            InvalidKeyFile,
        ),
        case(
            "ciphertext not a multiple of 16",
            encrypted_root(&tv2().with(|e| {
                e.ciphertext.pop();
            })),
            InvalidKeyFile,
        ),
        case(
            "empty ciphertext",
            encrypted_root(&tv2().with(|e| e.ciphertext.clear())),
            InvalidKeyFile,
        ),
        // --- iteration count, salt, key length
        Case {
            iterations: Some(1 << 31),
            ..case(
                "2^31 iterations",
                encrypted_root(&tv2().with(|e| e.iterations = uint(1 << 31))),
                ExcessiveKdfCost,
            )
        },
        Case {
            iterations: Some(u64::MAX),
            ..case(
                "2^64 iterations (9-byte INTEGER; reported saturated)",
                encrypted_root(
                    &tv2().with(|e| e.iterations = int_raw(&[1, 0, 0, 0, 0, 0, 0, 0, 0])),
                ),
                ExcessiveKdfCost,
            )
        },
        Case {
            iterations: Some(10_000_001),
            ..case(
                "one iteration over the limit",
                encrypted_root(&tv2().with(|e| e.iterations = uint(10_000_001))),
                ExcessiveKdfCost,
            )
        },
        case(
            "zero iterations",
            encrypted_root(&tv2().with(|e| e.iterations = uint(0))),
            InvalidKeyFile,
        ),
        case(
            "negative iterations",
            encrypted_root(&tv2().with(|e| e.iterations = int_raw(&[0xff, 0x00]))),
            InvalidKeyFile,
        ),
        case(
            "empty salt",
            encrypted_root(&tv2().with(|e| e.salt.clear())),
            InvalidKeyFile,
        ),
        case(
            "2000-byte salt",
            encrypted_root(&tv2().with(|e| e.salt = vec![0x5a; 2000])),
            InvalidKeyFile,
        ),
        case(
            "keyLength 16 with AES-256",
            encrypted_root(&tv2().with(|e| e.key_length = Some(uint(16)))),
            InvalidKeyFile,
        ),
        // --- passphrase and decrypted content
        case(
            "wrong passphrase",
            {
                let salt = hex::decode(TV2_SALT).unwrap();
                let iv = hex::decode(TV2_IV).unwrap().try_into().unwrap();
                let der = pbes2::encrypt(&inner, b"not-the-passphrase", 2048, &salt, iv);
                pem("ENCRYPTED PRIVATE KEY", &[("role", "root")], &der)
            },
            WrongPassphrase,
        ),
        case(
            "well-padded plaintext that is not PKCS#8",
            encrypted_root(&Envelope::encrypting(&[0x42; 150])),
            WrongPassphrase,
        ),
        case(
            "encrypted inner PKCS#8 version 5",
            encrypted_root(&Envelope::encrypting(&with_version(&inner, 5))),
            WrongPassphrase,
        ),
        case(
            "encrypted P-384 PKCS#8",
            encrypted_root(&Envelope::encrypting(&p384_pkcs8())),
            UnsupportedAlgorithm,
        ),
        // --- unencrypted PKCS#8
        case(
            "unencrypted inner PKCS#8 version 5",
            plain_root(&with_version(&inner, 5)),
            InvalidKeyFile,
        ),
        case(
            "unencrypted P-384 PKCS#8",
            plain_root(&p384_pkcs8()),
            UnsupportedAlgorithm,
        ),
        case(
            "RFC 8410 Ed25519 PKCS#8",
            plain_root(&seq(&[
                &uint(0),
                &alg("1.3.101.112", None),
                &octets(&octets(&[0x33; 32])),
            ])),
            UnsupportedAlgorithm,
        ),
        case(
            "DSA PKCS#8",
            plain_root(&seq(&[
                &uint(0),
                &alg(
                    "1.2.840.10040.4.1",
                    Some(&seq(&[&uint(23), &uint(11), &uint(4)])),
                ),
                &octets(&uint(3)),
            ])),
            UnsupportedAlgorithm,
        ),
        case(
            "EC PKCS#8 naming no curve",
            plain_root(&seq(&[
                &uint(0),
                &alg(EC_PUBLIC_KEY, None),
                &octets(&seq(&[&uint(1), &octets(&[0x11; 32])])),
            ])),
            InvalidKeyFile,
        ),
        case(
            "P-256 scalar out of range",
            plain_root(&seq(&[
                &uint(0),
                &alg(EC_PUBLIC_KEY, Some(&oid("1.2.840.10045.3.1.7"))),
                &octets(&seq(&[&uint(1), &octets(&[0xff; 32])])),
            ])),
            InvalidKeyFile,
        ),
        case(
            "notary Ed25519 of 95 bytes",
            plain_root(&seq(&[
                &uint(0),
                &alg("1.3.6.1.4.1.11591.15.1", None),
                &octets(&[0x44; 95]),
            ])),
            InvalidKeyFile,
        ),
        case(
            "RSA PKCS#8 with a garbage PKCS#1 body",
            plain_root(&seq(&[
                &uint(0),
                &alg("1.2.840.113549.1.1.1", Some(&[5, 0])),
                &octets(b"not pkcs#1"),
            ])),
            InvalidKeyFile,
        ),
        Case {
            direct_ok: true,
            ..case(
                "file named TV2's ID holding another key (path: names TV2 too)",
                {
                    let other = pkcs8::encode(other_key).unwrap();
                    pem("PRIVATE KEY", &[("path", TV2_ID), ("role", "root")], &other)
                },
                InvalidKeyFile,
            )
        },
        // --- legacy RFC 1423
        case(
            "Proc-Type: 4,ENCRYPTED without DEK-Info",
            pem(
                "EC PRIVATE KEY",
                &[("Proc-Type", "4,ENCRYPTED"), ("role", "root")],
                &[0x17; 128],
            ),
            InvalidKeyFile,
        ),
        case(
            "DEK-Info with an unknown cipher",
            pem(
                "EC PRIVATE KEY",
                &[
                    ("Proc-Type", "4,ENCRYPTED"),
                    ("DEK-Info", "RC2-CBC,0011223344556677"),
                    ("role", "root"),
                ],
                &[0x17; 128],
            ),
            UnsupportedAlgorithm,
        ),
        case(
            "DEK-Info IV of the wrong length",
            pem(
                "EC PRIVATE KEY",
                &[
                    ("Proc-Type", "4,ENCRYPTED"),
                    ("DEK-Info", "AES-256-CBC,00112233445566778899AABBCCDD"),
                    ("role", "root"),
                ],
                &[0x17; 128],
            ),
            InvalidKeyFile,
        ),
        case(
            "DEK-Info IV not hex",
            pem(
                "EC PRIVATE KEY",
                &[
                    ("Proc-Type", "4,ENCRYPTED"),
                    ("DEK-Info", "DES-EDE3-CBC,zz11223344556677"),
                    ("role", "root"),
                ],
                &[0x17; 128],
            ),
            InvalidKeyFile,
        ),
        case(
            "Proc-Type 4,MIC-ONLY",
            pem(
                "EC PRIVATE KEY",
                &[("Proc-Type", "4,MIC-ONLY"), ("role", "root")],
                &[0x17; 128],
            ),
            UnsupportedAlgorithm,
        ),
        case(
            "legacy body not a multiple of the block size",
            pem(
                "EC PRIVATE KEY",
                &[
                    ("Proc-Type", "4,ENCRYPTED"),
                    ("DEK-Info", "AES-128-CBC,00112233445566778899AABBCCDDEEFF"),
                    ("role", "root"),
                ],
                &[0x17; 121],
            ),
            InvalidKeyFile,
        ),
        // --- the file system
        case(
            "2 MiB file",
            {
                let mut f = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n".to_vec();
                for _ in 0..(2 << 20) / 65 {
                    f.extend_from_slice(&[b'A'; 64]);
                    f.push(b'\n');
                }
                f.extend_from_slice(b"-----END ENCRYPTED PRIVATE KEY-----\n");
                f
            },
            InvalidKeyFile,
        ),
        Case {
            plant: Plant::SymlinkToGood,
            ..case("symlink to the good key", Vec::new(), InsecurePermissions)
        },
        Case {
            plant: Plant::Dir,
            ..case("directory named <id>.key", Vec::new(), InvalidKeyFile)
        },
        Case {
            plant: Plant::Fifo,
            ..case("named pipe <id>.key", Vec::new(), InvalidKeyFile)
        },
    ];
    cases.sort_by_key(|c| c.name);
    cases
}

fn encrypted_root_raw(der: &[u8]) -> Vec<u8> {
    pem("ENCRYPTED PRIVATE KEY", &[("role", "root")], der)
}

/// The PKCS#8 `inner` with its version INTEGER (at offset 5 of `30 81 93 02 01 vv`) replaced.
fn with_version(inner: &[u8], version: u8) -> Vec<u8> {
    assert_eq!(&inner[..5], [0x30, 0x81, 0x93, 0x02, 0x01]);
    let mut v = inner.to_vec();
    v[5] = version;
    v
}

// ---------------------------------------------------------------------------------------------
// The trust directory and its snapshot.

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Link(PathBuf),
    Other,
}

type Snapshot = BTreeMap<PathBuf, (u32, Entry)>;

fn snapshot(root: &Path) -> Snapshot {
    fn walk(dir: &Path, out: &mut Snapshot) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            let ft = meta.file_type();
            let e = if ft.is_symlink() {
                Entry::Link(fs::read_link(&path).unwrap())
            } else if ft.is_dir() {
                walk(&path, out);
                Entry::Dir
            } else if ft.is_file() {
                Entry::File(fs::read(&path).unwrap())
            } else {
                Entry::Other // never opened: a FIFO would block
            };
            out.insert(path, (mode, e));
        }
    }
    let mut out = Snapshot::new();
    walk(root, &mut out);
    out
}

struct Fixture {
    tmp: tempfile::TempDir,
    dir: TrustDir,
    good: KeyId,
    hostile_path: PathBuf,
}

/// A trust directory holding one good root key (same passphrase as TV2) and, at
/// `private/<TV2_ID>.key`, the planted case.
fn fixture(good_pem: &str, good: &KeyId, plant: &Plant) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TrustDir::new(tmp.path().join("trust"));
    let private = dir.private_dir();
    fs::create_dir_all(&private).unwrap();
    fs::set_permissions(dir.root(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    drop(dir.lock().unwrap()); // the lock file exists before the snapshot
    let good_path = dir.key_path(good);
    fs::write(&good_path, good_pem).unwrap();
    fs::set_permissions(&good_path, fs::Permissions::from_mode(0o600)).unwrap();
    let hostile_path = private.join(format!("{TV2_ID}.key"));
    match plant {
        Plant::Bytes(b) => {
            fs::write(&hostile_path, b).unwrap();
            fs::set_permissions(&hostile_path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        Plant::SymlinkToGood => symlink(&good_path, &hostile_path).unwrap(),
        Plant::Dir => fs::create_dir(&hostile_path).unwrap(),
        Plant::Fifo => {
            let ok = std::process::Command::new("mkfifo")
                .arg(&hostile_path)
                .status()
                .unwrap()
                .success();
            assert!(ok, "mkfifo failed");
        }
    }
    Fixture {
        tmp,
        dir,
        good: good.clone(),
        hostile_path,
    }
}

fn source() -> FixedSource {
    FixedSource::new(Passphrase::new(TV2_PASS.into()), "test passphrase")
}

fn import_options() -> ImportOptions {
    ImportOptions {
        role: Some(Role::Root),
        gun: None,
        force: false,
        partial: false,
    }
}

/// Runs one case; returns a description of every broken expectation, and what happened.
fn run_case(c: &Case, good_pem: &str, good: &KeyId) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let mut seen = String::new();
    let fx = fixture(good_pem, good, &c.plant);
    let id: KeyId = TV2_ID.parse().unwrap();
    let before = snapshot(fx.dir.root());

    // (a) load_key gives the expected typed error.
    match ops::load_key(&fx.dir, &id, &source(), &KDF) {
        Ok(_) => problems.push("load_key succeeded".into()),
        Err(e) => {
            seen = format!("load: {e}");
            if e.code() != c.load {
                problems.push(format!(
                    "load_key gave {:?} ({e}), expected {:?}",
                    e.code(),
                    c.load
                ));
            }
            if let Some(n) = c.iterations {
                match &e {
                    Error::ExcessiveKdfCost { iterations, .. } if *iterations == n => {}
                    other => {
                        problems.push(format!("expected ExcessiveKdfCost({n}), got {other:?}"))
                    }
                }
                if !e.to_string().contains(&n.to_string()) {
                    problems.push(format!("the message does not name {n}: {e}"));
                }
            }
            if matches!(c.plant, Plant::Bytes(_))
                && c.load != ErrorCode::WrongPassphrase
                && !e
                    .to_string()
                    .contains(&fx.hostile_path.display().to_string())
            {
                problems.push(format!("the error does not name the file: {e}"));
            }
        }
    }

    // The same through KeyFile::parse + unlock.
    if let Plant::Bytes(bytes) = &c.plant {
        let direct = KeyFile::parse(bytes)
            .and_then(|f| f.unlock(Some(&Passphrase::new(TV2_PASS.into())), KDF.max_iterations));
        match (direct, c.direct_ok) {
            (Ok(Unlock::Key(_)), true) => {}
            (Ok(Unlock::Key(k)), false) => problems.push(format!("parse+unlock gave key {k:?}")),
            (Ok(Unlock::WrongPassphrase), _) if c.load == ErrorCode::WrongPassphrase => {}
            (Ok(Unlock::WrongPassphrase), _) => {
                problems.push("parse+unlock: wrong passphrase".into())
            }
            (Err(e), false) if e.code() == c.load => {}
            (Err(e), _) => problems.push(format!("parse+unlock gave {:?} ({e})", e.code())),
        }
    }

    // The directory still lists, and the good key still loads.
    match fx.dir.list() {
        Ok(list) => {
            if !list
                .iter()
                .any(|k| k.id == good.as_str() && k.problem.is_none())
            {
                problems.push("the good key is no longer listed as usable".into());
            }
        }
        Err(e) => problems.push(format!("list failed: {e}")),
    }
    if let Err(e) = ops::load_key(&fx.dir, &fx.good, &source(), &KDF) {
        problems.push(format!("the good key no longer loads: {e}"));
    }

    // (d) importing the same bytes fails too and writes nothing.
    let input = match &c.plant {
        Plant::Bytes(b) => b.clone(),
        _ => TV2_PEM.as_bytes().to_vec(),
    };
    let inputs = [("hostile.key".to_string(), input)];
    match ops::import(&fx.dir, &source(), &inputs, &import_options(), &KDF) {
        Ok(done) => problems.push(format!("import succeeded: {:?}", done.imported)),
        Err(e) if e.code() != c.import => problems.push(format!(
            "import gave {:?} ({e}), expected {:?}",
            e.code(),
            c.import
        )),
        Err(e) => seen = format!("{seen}\n      import: {e}"),
    }

    // (c) nothing changed.
    let after = snapshot(fx.dir.root());
    if before != after {
        let changed: Vec<_> = before
            .keys()
            .chain(after.keys())
            .filter(|p| before.get(*p) != after.get(*p))
            .collect();
        problems.push(format!("the trust directory changed: {changed:?}"));
    }
    (problems, seen)
}

/// Runs `f` on its own thread, catching panics and giving up after `limit` (a hang is a bug:
/// a key file that blocks the reader forever).
fn guarded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(panic)) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("did not finish within {limit:?} (hang)")),
    }
}

#[test]
fn baseline_is_tv2_and_loads() {
    // The encoder above reproduces TV2 byte for byte ...
    assert_eq!(
        encrypted_root(&Envelope::tv2()),
        TV2_PEM.as_bytes(),
        "the test's DER encoder must reproduce TV2"
    );
    // ... and TV2 loads from a trust directory and imports into an empty one, so every case
    // below fails because of its one mutation.
    let good = PrivateKey::generate_ecdsa().unwrap();
    let good_pem = keystore::key::file::encode(
        &good,
        &Role::Root,
        None,
        &Passphrase::new(TV2_PASS.into()),
        KDF.iterations,
    )
    .unwrap();
    let fx = fixture(&good_pem, &good.id(), &Plant::Bytes(TV2_PEM.into()));
    let loaded = ops::load_key(&fx.dir, &TV2_ID.parse().unwrap(), &source(), &KDF).unwrap();
    assert_eq!(loaded.key.id().as_str(), TV2_ID);
    assert_eq!(loaded.role, Role::Root);
    let empty = TrustDir::new(fx.tmp.path().join("other"));
    let done = ops::import(
        &empty,
        &source(),
        &[("tv2.key".to_string(), TV2_PEM.as_bytes())],
        &import_options(),
        &KDF,
    )
    .unwrap()
    .imported;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id.as_str(), TV2_ID);
    assert_eq!(
        fs::read(empty.key_path(&done[0].id)).unwrap(),
        TV2_PEM.as_bytes()
    );
}

#[test]
fn hostile_key_files() {
    let good = PrivateKey::generate_ecdsa().unwrap();
    let good_pem = keystore::key::file::encode(
        &good,
        &Role::Root,
        None,
        &Passphrase::new(TV2_PASS.into()),
        KDF.iterations,
    )
    .unwrap();
    let other = PrivateKey::generate_ecdsa().unwrap();
    let cases = cases(&other);
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    let total = cases.len();
    let mut failures = Vec::new();
    for c in cases {
        let name = c.name;
        let good_pem = good_pem.clone();
        let good_id = good.id();
        match guarded(Duration::from_secs(60), move || {
            run_case(&c, &good_pem, &good_id)
        }) {
            Ok((problems, seen)) if problems.is_empty() => println!("  ok  {name}\n      {seen}"),
            Ok((problems, _)) => failures.push(format!("{name}:\n    {}", problems.join("\n    "))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "hostile key files: {total} cases, {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
