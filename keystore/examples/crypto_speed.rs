//! In-process throughput of keystore's hot cryptography, for `scripts/bench-crypto.sh`, which
//! runs OpenSSL's figures for the same operations in the same run and prints the ratios.
//!
//! Prints one JSON object: ECDSA P-256 signatures and verifications per second (a 32-byte
//! message, as `openssl speed ecdsap256` signs a digest-sized input) and the milliseconds of one
//! key unlock at 600,000 PBKDF2-HMAC-SHA1 iterations (parse, derive, AES-256-CBC, decode; the
//! derivation is all but a few microseconds of it).
//!
//! `cargo run --release -p keystore --example crypto_speed -- [SECONDS]`

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keystore::key::PrivateKey;
use keystore::key::file::{self, KeyFile, Unlock};
use keystore::key::pbes2::DEFAULT_MAX_ITERATIONS;
use keystore::tuf::{Signature, TufKey, verify_canonical};
use keystore::{Passphrase, Role};

/// Runs `op` repeatedly for about `budget` and returns the operations per second.
fn per_second(budget: Duration, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            op();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS is a number"))
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);
    let key = PrivateKey::generate_ecdsa().expect("generates");
    let message = [0x5a_u8; 32];

    let sign = per_second(budget, || {
        std::hint::black_box(key.sign(std::hint::black_box(&message)).expect("signs"));
    });

    // The pure-Rust p256 signer and verifier keytool used before issue 16, for the before/after.
    let (before, before_verify) = {
        use p256::ecdsa::signature::{Signer as _, Verifier as _};
        let mut scalar = [0u8; 32];
        scalar[31] = 7;
        getrandom::fill(&mut scalar[..16]).expect("random");
        let signing = p256::ecdsa::SigningKey::from_slice(&scalar).expect("a valid scalar");
        let sign = per_second(budget, || {
            let sig: p256::ecdsa::Signature = signing.sign(std::hint::black_box(&message));
            std::hint::black_box(sig);
        });
        let verifying = *signing.verifying_key();
        let sig: p256::ecdsa::Signature = signing.sign(&message);
        let verify = per_second(budget, || {
            assert!(
                verifying
                    .verify(std::hint::black_box(&message), &sig)
                    .is_ok()
            );
        });
        (sign, verify)
    };

    let tuf_key = TufKey {
        keytype: "ecdsa".into(),
        public: key.public().bytes().to_vec(),
    };
    let signature = Signature {
        keyid: key.id().to_string(),
        method: "ecdsa".into(),
        sig: STANDARD.encode(key.sign(&message).expect("signs")),
    };
    let verify = per_second(budget, || {
        let ok = verify_canonical(std::hint::black_box(&message), &signature, &tuf_key);
        assert!(ok.expect("verifies"), "a good signature must verify");
    });

    let pass = Passphrase::new("benchpass".into());
    let pem = file::encode(&key, &Role::Root, None, &pass, 600_000).expect("encodes");
    let runs = 5;
    let start = Instant::now();
    for _ in 0..runs {
        let parsed = KeyFile::parse(pem.as_bytes()).expect("parses");
        match parsed.unlock(Some(&pass), DEFAULT_MAX_ITERATIONS) {
            Ok(Unlock::Key(_)) => {}
            _ => panic!("the right passphrase must unlock the key"),
        }
    }
    let unlock_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);

    println!(
        "{{\"ecdsa_p256_sign_per_s\":{sign:.0},\"p256_crate_sign_per_s\":{before:.0},\"ecdsa_p256_verify_per_s\":{verify:.0},\"p256_crate_verify_per_s\":{before_verify:.0},\
         \"unlock_pbkdf2_sha1_600000_ms\":{unlock_ms:.2}}}"
    );
}
