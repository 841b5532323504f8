//! Micro-benchmarks of the keystore's hot paths (run by hand: `cargo bench -p keystore`;
//! `scripts/bench-keys.sh` compares the whole CLI with notary). Nothing here asserts a speed.
//!
//! * `generate/ecdsa_p256`: a new P-256 key (OS randomness, public key, key ID).
//! * `generate/ops_2048`: `ops::generate` end to end at notary's 2048 iterations: key,
//!   PBES2 encryption, atomic 0600 write with fsync of the file and the directory.
//! * `encode/2048`: PKCS#8 + PBES2 (PBKDF2-HMAC-SHA1, 2048 iterations) + PEM of one key.
//! * `unlock/2048`, `unlock/600000`: parse a key file and decrypt it with the right passphrase
//!   (PBKDF2-HMAC-SHA1 dominates; 600,000 is keytool's default for files it writes).
//! * `sign/ecdsa_p256_1KiB`: ECDSA P-256 / SHA-256 signature of a 1 KiB message.
//! * `list/1000_keys`: `TrustDir::list` of a trust directory holding 1,000 notary-format keys.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use keystore::key::PrivateKey;
use keystore::key::file::{self, KeyFile, Unlock};
use keystore::key::pbes2::{DEFAULT_ITERATIONS, DEFAULT_MAX_ITERATIONS, NOTARY_ITERATIONS};
use keystore::ops::{self, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::{Passphrase, Role, TrustDir};

fn passphrase() -> Passphrase {
    Passphrase::new("benchpass".into())
}

fn kdf(iterations: u32) -> KdfSettings {
    KdfSettings {
        iterations,
        max_iterations: DEFAULT_MAX_ITERATIONS,
    }
}

fn generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.bench_function("ecdsa_p256", |b| {
        b.iter(|| PrivateKey::generate_ecdsa().expect("generates"));
    });
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = TrustDir::new(tmp.path().join("trust"));
    let source = FixedSource::new(passphrase(), "bench");
    let settings = kdf(NOTARY_ITERATIONS);
    g.bench_function("ops_2048", |b| {
        b.iter(|| ops::generate(&dir, &source, Role::Root, None, &settings).expect("generates"));
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let key = PrivateKey::generate_ecdsa().expect("generates");
    let pass = passphrase();
    let mut g = c.benchmark_group("encode");
    g.bench_function("2048", |b| {
        b.iter(|| {
            file::encode(black_box(&key), &Role::Root, None, &pass, NOTARY_ITERATIONS)
                .expect("encodes")
        });
    });
    g.finish();
}

fn unlock(c: &mut Criterion) {
    let key = PrivateKey::generate_ecdsa().expect("generates");
    let pass = passphrase();
    let mut g = c.benchmark_group("unlock");
    for iterations in [NOTARY_ITERATIONS, DEFAULT_ITERATIONS] {
        if iterations > 100_000 {
            // ~0.15 s per unlock: few samples of equal size (linear sampling would need
            // 55 unlocks for 10 samples).
            g.sample_size(10);
            g.sampling_mode(SamplingMode::Flat);
            g.measurement_time(Duration::from_secs(6));
        }
        let pem = file::encode(&key, &Role::Root, None, &pass, iterations).expect("encodes");
        g.bench_function(iterations.to_string(), |b| {
            b.iter(|| {
                let file = KeyFile::parse(black_box(pem.as_bytes())).expect("parses");
                match file.unlock(Some(&pass), DEFAULT_MAX_ITERATIONS) {
                    Ok(Unlock::Key(k)) => k,
                    _ => panic!("the right passphrase must unlock the key"),
                }
            });
        });
    }
    g.finish();
}

fn sign(c: &mut Criterion) {
    let key = PrivateKey::generate_ecdsa().expect("generates");
    let message: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.bench_function("ecdsa_p256_1KiB", |b| {
        b.iter(|| key.sign(black_box(&message)).expect("signs"));
    });
    g.finish();
}

fn list(c: &mut Criterion) {
    const KEYS: usize = 1000;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = TrustDir::new(tmp.path().join("trust"));
    let source = FixedSource::new(passphrase(), "bench");
    let settings = kdf(NOTARY_ITERATIONS);
    for _ in 0..KEYS {
        ops::generate(&dir, &source, Role::Root, None, &settings).expect("generates");
    }
    assert_eq!(dir.list().expect("lists").len(), KEYS);
    let mut g = c.benchmark_group("list");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("1000_keys", |b| {
        b.iter(|| dir.list().expect("lists"));
    });
    g.finish();
}

criterion_group!(benches, generate, encode, unlock, sign, list);
criterion_main!(benches);
