//! Fills a trust directory with N real, notary-format keys, for benchmarks.
//!
//! ```text
//! cargo run --release -p keystore --example populate -- DIR N [--iterations I] [--mix] [--threads T]
//! ```
//!
//! Every key goes through `keystore::ops::generate` (fresh P-256 key, PBES2 with PBKDF2-HMAC-SHA1
//! at I iterations, 2048 by default as notary writes, atomic 0600 write as
//! `private/<keyid>.key`), with the fixed passphrase `benchpass`. The file names are the real
//! key IDs, so `notary key list` and `keytool key list` read them as they would read any key.
//!
//! Without `--mix` every key is a root key (what `notary key generate --role root` writes).
//! With `--mix` the roles cycle root, targets, snapshot, and targets/snapshot keys get a
//! `gun:` header (`bench.example.com/org/repo-K`, one repository per three keys), which makes
//! the listing sort by GUN as well.

use std::process::ExitCode;
use std::time::Instant;

use keystore::ops::{self, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::{Gun, Passphrase, Role, TrustDir};

fn usage() -> ExitCode {
    eprintln!("usage: populate DIR N [--iterations I] [--mix] [--threads T]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        return usage();
    };
    let mut iterations = keystore::key::pbes2::NOTARY_ITERATIONS;
    let mut mix = false;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        let number = |v: Option<&String>| v.and_then(|v| v.parse::<u32>().ok());
        match arg.as_str() {
            "--iterations" => match number(rest.next()) {
                Some(i) if i > 0 => iterations = i,
                _ => return usage(),
            },
            "--threads" => match number(rest.next()) {
                Some(t) if t > 0 => threads = t as usize,
                _ => return usage(),
            },
            "--mix" => mix = true,
            _ => return usage(),
        }
    }

    let dir = TrustDir::new(dir);
    let kdf = KdfSettings {
        iterations,
        ..KdfSettings::default()
    };
    let source = FixedSource::new(Passphrase::new("benchpass".into()), "populate");
    let start = Instant::now();
    let threads = threads.clamp(1, n.max(1));
    let result = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (dir, kdf, source) = (&dir, &kdf, &source);
                s.spawn(move || -> keystore::Result<()> {
                    for i in (t..n).step_by(threads) {
                        let (role, gun) = role_of(i, mix)?;
                        ops::generate(dir, source, role, gun, kdf)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(panicked())))
            .collect::<keystore::Result<Vec<()>>>()
    });
    if let Err(e) = result {
        eprintln!("populate: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "populate: {n} keys ({iterations} iterations{}) in {} in {:.1} s",
        if mix { ", mixed roles" } else { ", root" },
        dir.private_dir().display(),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn role_of(i: usize, mix: bool) -> keystore::Result<(Role, Option<Gun>)> {
    if !mix {
        return Ok((Role::Root, None));
    }
    let gun = || format!("bench.example.com/org/repo-{}", i / 3).parse::<Gun>();
    Ok(match i % 3 {
        0 => (Role::Root, None),
        1 => (Role::Targets, Some(gun()?)),
        _ => (Role::Snapshot, Some(gun()?)),
    })
}

fn panicked() -> keystore::Error {
    keystore::Error::Internal {
        what: "a populate thread panicked".into(),
    }
}
