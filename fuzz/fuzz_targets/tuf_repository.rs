//! The whole verification path a server's answers go through (root chain from a cached root or
//! first use, then timestamp -> snapshot -> targets with hashes, versions and expiry), fed with
//! files the fuzzer controls. Every input must give a verified repository or a typed error.
//!
//! Input: chunks separated by `SEPARATOR` — the cached root.json (empty: none), the served
//! root.json, timestamp.json, snapshot.json, targets.json, then `1.root.json`, `2.root.json`, …
//! Seeds: `cargo run -p keystore --example tuf_fuzz_seeds -- DIR` (the same layout).
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keystore::Gun;
use keystore::tuf::pinning::TrustPinning;
use keystore::tuf::repository;
use libfuzzer_sys::fuzz_target;

/// Separates the files of one input (also in keystore/examples/tuf_fuzz_seeds.rs).
const SEPARATOR: &[u8] = b"\n--8<--\n";

fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(at) = data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&data[..at]);
        data = &data[at + SEPARATOR.len()..];
    }
    out.push(data);
    out
}

fuzz_target!(|data: &[u8]| {
    let gun: Gun = "example.com/fuzz/repo".parse().expect("valid GUN");
    // The seeds' clock, so that their expiry dates stay valid.
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let parts = split(data);
    let part = |i: usize| parts.get(i).copied().filter(|p| !p.is_empty());
    let Some(latest) = part(1) else { return };
    let served = |file: &str| -> Option<Vec<u8>> {
        let index = match file {
            "timestamp.json" => 2,
            "snapshot.json" => 3,
            "targets.json" => 4,
            other => 4 + other.strip_suffix(".root.json")?.parse::<usize>().ok()?,
        };
        part(index).map(<[u8]>::to_vec)
    };
    let _ = repository::verify(
        &gun,
        part(0),
        &|_| Ok(None),
        latest.to_vec(),
        &mut |file| Ok(served(file)),
        &TrustPinning::default(),
        now,
    );
});
