//! The whole verification path a server's answers go through (root chain from a cached root or
//! first use, then timestamp -> snapshot -> targets -> targets/releases with hashes, versions,
//! delegated keys and expiry), fed with
//! files the fuzzer controls. Every input must give a verified repository or a typed error, and
//! the summary read ([`repository::verify_summary`]) must agree with the full one.
//!
//! Input layout: `fuzz/tuf_input.rs`. Seeds: `cargo run -p keystore --example tuf_fuzz_seeds --
//! DIR`.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keystore::Gun;
use keystore::tuf::pinning::TrustPinning;
use keystore::tuf::repository;
use libfuzzer_sys::fuzz_target;

#[path = "../tuf_input.rs"]
#[allow(dead_code)] // `join` is the seed generator's.
mod tuf_input;

fuzz_target!(|data: &[u8]| {
    let gun: Gun = "example.com/fuzz/repo".parse().expect("valid GUN");
    // The seeds' clock, so that their expiry dates stay valid.
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let parts = tuf_input::split(data);
    let part = |i: usize| parts.get(i).copied().filter(|p| !p.is_empty());
    let Some(latest) = part(1) else { return };
    let served = |file: &str| part(tuf_input::served_index(file)?).map(<[u8]>::to_vec);
    let full = repository::verify(
        &gun,
        part(0),
        &|_| Ok(None),
        latest.to_vec(),
        &mut |file| Ok(served(file)),
        &TrustPinning::default(),
        now,
    );
    // Reading the targets roles without their maps accepts exactly what the full read accepts.
    let summary = repository::verify_summary(
        &gun,
        part(0),
        &|_| Ok(None),
        latest.to_vec(),
        &mut |file| Ok(served(file)),
        &TrustPinning::default(),
        now,
    );
    match (full, summary) {
        (Ok(full), Ok(summary)) => {
            assert_eq!(full.targets.targets.len() as u64, summary.targets.target_count);
            assert_eq!(full.targets.version, summary.targets.version);
            let full_names: Vec<&String> = full.delegations.iter().map(|d| &d.name).collect();
            let names: Vec<&String> = summary.delegations.iter().map(|d| &d.name).collect();
            assert_eq!(full_names, names);
            assert_eq!(full.unverified.len(), summary.unverified.len());
        }
        (Err(_), Err(_)) => {}
        (full, summary) => panic!(
            "the full read says {:?}, the summary {:?}",
            full.map(|_| ()),
            summary.map(|_| ())
        ),
    }
});
