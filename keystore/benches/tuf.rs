//! Metadata signing and verification throughput (run by hand: `cargo bench -p keystore --bench
//! tuf`). Nothing here asserts a speed.
//!
//! * `tuf/sign_root`: canonical JSON + ECDSA signature of a new repository's root.json.
//! * `tuf/sign_targets_1000`: the same for a targets.json listing 1,000 targets.
//! * `tuf/verify_root`: parse + full root verification (certificate CN and validity, key IDs,
//!   re-canonicalised signature check).
//! * `tuf/verify_targets_1000`: parse + signature check of the 1,000-target targets.json.
//! * `tuf/root_certificate`: a root certificate made to notary's template.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use keystore::Gun;
use keystore::key::{PrivateKey, cert};
use keystore::tuf::schema::{FileMeta, Targets};
use keystore::tuf::{self, TufKey, roles, verify};

fn ecdsa(k: &PrivateKey) -> TufKey {
    TufKey {
        keytype: "ecdsa".into(),
        public: k.public().bytes().to_vec(),
    }
}

fn bench(c: &mut Criterion) {
    let gun: Gun = "sandboxregistry:5000/test/trusttest".parse().expect("gun");
    let now = SystemTime::now();
    let root_key = PrivateKey::generate_ecdsa().expect("key");
    let targets_key = PrivateKey::generate_ecdsa().expect("key");
    let base = roles::BaseKeys {
        root: TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert::root_certificate(&root_key, &gun, now)
                .expect("cert")
                .into_bytes(),
        },
        targets: ecdsa(&targets_key),
        snapshot: ecdsa(&PrivateKey::generate_ecdsa().expect("key")),
        timestamp: ecdsa(&PrivateKey::generate_ecdsa().expect("key")),
    };
    let root_id = base.root.id();
    let targets_id = targets_key.id();
    let root_signed = roles::root(&base, now);
    let mut targets_signed = roles::empty_targets(2, now);
    for i in 0..1000 {
        targets_signed.targets.insert(
            format!("tag-{i}"),
            FileMeta {
                length: 527 + i,
                hashes: [(
                    "sha256".to_owned(),
                    "4o4qwzZL+siUMQ+dsgLSMT2i9iWWA7Is8AdBMSYhuMk=".to_owned(),
                )]
                .into(),
                extra: Default::default(),
            },
        );
    }
    let root_bytes = tuf::sign(&root_signed, &[(&root_id, &root_key)]).expect("signs");
    let targets_bytes = tuf::sign(&targets_signed, &[(&targets_id, &targets_key)]).expect("signs");
    let root = verify::verify_root(&root_bytes, &gun, now).expect("verifies");

    let mut g = c.benchmark_group("tuf");
    g.bench_function("sign_root", |b| {
        b.iter(|| tuf::sign(black_box(&root_signed), &[(&root_id, &root_key)]).expect("signs"));
    });
    g.bench_function("sign_targets_1000", |b| {
        b.iter(|| {
            tuf::sign(black_box(&targets_signed), &[(&targets_id, &targets_key)]).expect("signs")
        });
    });
    g.bench_function("verify_root", |b| {
        b.iter(|| verify::verify_root(black_box(&root_bytes), &gun, now).expect("verifies"));
    });
    g.bench_function("verify_targets_1000", |b| {
        b.iter(|| {
            verify::verify_role::<Targets>(black_box(&targets_bytes), &root, now).expect("verifies")
        });
    });
    g.bench_function("root_certificate", |b| {
        b.iter(|| cert::root_certificate(&root_key, &gun, now).expect("cert"));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
