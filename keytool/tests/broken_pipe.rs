//! `keytool key list | head` and friends: a reader that goes away early ends keytool quietly,
//! with no panic.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use keystore::ops::{self, KdfSettings};
use keystore::passphrase::FixedSource;
use keystore::{Passphrase, Role, TrustDir};

#[test]
fn closed_stdout_is_not_a_panic() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = TrustDir::new(tmp.path());
    let source = FixedSource::new(Passphrase::new("pw-12345".into()), "test");
    let kdf = KdfSettings {
        iterations: 1,
        ..KdfSettings::default()
    };
    // Enough output (~250 KB) to overflow the pipe buffer after the reader has gone.
    for _ in 0..1200 {
        ops::generate(&dir, &source, Role::Root, None, &kdf).expect("generates");
    }
    for args in [
        &["key", "list"][..],
        &["--json", "key", "list"],
        &["key", "export"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keytool"))
            .arg("--trust-dir")
            .arg(tmp.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("reads");
        assert!(!first.is_empty());
        let out = child.wait_with_output().expect("waits");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
