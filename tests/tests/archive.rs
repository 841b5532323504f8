//! `keytool archive` against the real notary-server: a repository with two tags signed with the
//! targets key, a signer (delegation) with a tag of its own and a rotated root (2 versions) is
//! archived; with the server gone, `archive verify` verifies it offline and lists every tag with
//! its digest and signers; one byte changed in a root, in targets.json or in the inventory, or a
//! consistently re-indexed forgery, fails verification; the archive holds no private key. A
//! repository whose targets.json has expired is archived all the same (expiry reported). A
//! server that serves a tampered targets.json gets nothing archived.

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Fake, Stack, exits, keytool, ok, stdout};
use sha2::Digest as _;

const ROOT_PW: &str = "archive-root-canary-2291";
const REPO_PW: &str = "archive-repo-canary-7730";
const SIGNER_PW: &str = "archive-alice-canary-4418";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_DELEGATION_PASSPHRASE", SIGNER_PW);
    cmd
}

/// `keytool --json ARGS --server URL --tlscacert CA`, which must succeed.
fn online(stack: &Stack, trust: &Path, args: &[&str]) -> serde_json::Value {
    let out = ok(kt(trust)
        .arg("--json")
        .args(args)
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(&out)))
}

fn digest_of(content: &str) -> String {
    format!("sha256:{}", hex(&sha2::Sha256::digest(content)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `archive verify FILE [ARGS]` on `trust`, offline.
fn verify(trust: &Path, file: &Path, args: &[&str]) -> Output {
    kt(trust)
        .args(["--json", "archive", "verify"])
        .arg(file)
        .args(args)
        .output()
        .expect("keytool runs")
}

/// The archive's entries, in order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .expect("tar")
        .map(|e| {
            let mut e = e.expect("entry");
            let name = e.path().expect("path").to_string_lossy().into_owned();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut content).expect("read");
            (name, content)
        })
        .collect()
}

/// The archive with `name` changed by `edit`, and index.json and its checksum rewritten to
/// match: a forgery that only the signatures (or the inventory check) can catch.
fn reindexed(bytes: &[u8], name: &str, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut files = entries(bytes);
    let at = files.iter().position(|(n, _)| n == name).expect("entry");
    edit(&mut files[at].1);
    let mut index: serde_json::Value = serde_json::from_slice(&files[0].1).expect("index");
    for f in index["files"].as_array_mut().expect("files") {
        let content = &files
            .iter()
            .find(|(n, _)| *n == f["path"])
            .expect("listed")
            .1;
        f["length"] = content.len().into();
        f["sha256"] = hex(&sha2::Sha256::digest(content)).into();
    }
    files[0].1 = serde_json::to_vec_pretty(&index).expect("json");
    let last = files.len() - 1;
    files[last].1 =
        format!("{}  index.json\n", hex(&sha2::Sha256::digest(&files[0].1))).into_bytes();
    let mut builder = tar::Builder::new(Vec::new());
    for (n, content) in &files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, n, content.as_slice())
            .expect("append");
    }
    builder.into_inner().expect("tar")
}

/// Offset of the first `needle` in `bytes` after `from`.
fn find(bytes: &[u8], needle: &str, from: usize) -> usize {
    from + bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle} not found"))
}

#[test]
fn an_archive_verifies_offline_and_any_change_fails() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/archive/repo";
    online(&stack, &trust, &["init", "--repo", gun]);
    let (d1, d2, d3) = (digest_of("one"), digest_of("two"), digest_of("three"));
    for (tag, digest, size) in [("v1", &d1, "101"), ("v2", &d2, "202")] {
        let image = format!("{gun}:{tag}");
        online(
            &stack,
            &trust,
            &[
                "sign",
                &image,
                "--digest",
                digest,
                "--size",
                size,
                "--no-check",
            ],
        );
    }
    online(
        &stack,
        &trust,
        &["signer", "add", "alice", "--repo", gun, "--generate"],
    );
    let image = format!("{gun}:v3");
    online(
        &stack,
        &trust,
        &[
            "sign",
            &image,
            "--digest",
            &d3,
            "--size",
            "303",
            "--as",
            "alice",
            "--no-check",
        ],
    );
    online(
        &stack,
        &trust,
        &["rotate", "--role", "root", "--yes", "--repo", gun],
    );

    let file = tmp.path().join("repo.tar");
    let done = online(
        &stack,
        &trust,
        &[
            "archive",
            "--repo",
            gun,
            "-o",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(done["root_versions"], 2, "{done}");
    assert_eq!(done["trusted_root_version"], 2, "{done}");
    assert_eq!(done["tags"], 3, "{done}");
    // An existing file is never replaced; --all writes one archive per repository.
    let again = kt(&trust)
        .args(["archive", "--repo", gun, "-o"])
        .arg(&file)
        .args(["--server", &stack.url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("runs");
    exits(&again, 1);
    let all_dir = tmp.path().join("all");
    let all = online(
        &stack,
        &trust,
        &["archive", "--all", "-o", all_dir.to_str().expect("utf-8")],
    );
    assert_eq!(all["archived"].as_array().map(Vec::len), Some(1), "{all}");
    let all_file = all_dir.join("example.com%2Farchive%2Frepo.tar");
    assert!(all_file.is_file(), "{all}");
    drop(stack);

    // Offline, on a machine that trusts nothing: verified from root version 1.
    let elsewhere = tmp.path().join("elsewhere");
    let out = verify(&elsewhere, &file, &[]);
    exits(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["gun"], gun);
    assert_eq!(report["root_versions"], 2);
    assert!(report["trusted_root_version"].is_null());
    let tags = report["inventory"]["tags"].as_array().expect("tags");
    let row = |tag: &str| {
        tags.iter()
            .find(|t| t["tag"] == tag)
            .unwrap_or_else(|| panic!("{tag} missing: {report}"))
    };
    assert_eq!(row("v1")["digest"], d1.as_str());
    assert_eq!(row("v1")["size"], 101);
    assert_eq!(row("v1")["signed_by"][0]["role"], "targets");
    assert_eq!(row("v2")["digest"], d2.as_str());
    assert_eq!(row("v3")["digest"], d3.as_str());
    let roles: Vec<&str> = row("v3")["signed_by"]
        .as_array()
        .expect("signers")
        .iter()
        .map(|s| s["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["targets/alice", "targets/releases"], "{report}");
    assert_eq!(
        row("v3")["signed_by"][1]["signers"],
        serde_json::json!(["alice"])
    );
    let roles: Vec<&str> = report["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["role"].as_str().expect("role"))
        .collect();
    assert_eq!(
        roles,
        [
            "root",
            "timestamp",
            "snapshot",
            "targets",
            "targets/alice",
            "targets/releases"
        ]
    );
    // The text output lists the tags too; --repo ties the chain to the root this machine trusts.
    let text = ok(kt(&trust)
        .args(["archive", "verify"])
        .arg(&file)
        .args(["--repo", gun]));
    let listed = stdout(&text);
    assert!(listed.contains(&d1) && listed.contains(&d3), "{listed}");
    let pinned = verify(&trust, &all_file, &["--repo", gun]);
    exits(&pinned, 0);
    let pinned: serde_json::Value = serde_json::from_slice(&pinned.stdout).expect("json");
    assert_eq!(pinned["trusted_root_version"], 2);
    exits(
        &verify(&trust, &file, &["--repo", "example.com/archive/other"]),
        2,
    );

    // No private key, and no passphrase, is in it.
    let bytes = std::fs::read(&file).expect("archive");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("PRIVATE KEY"));
    for pw in [ROOT_PW, REPO_PW, SIGNER_PW] {
        assert!(!text.contains(pw));
    }

    // One byte changed in a root, in targets.json, in the inventory: refused, naming the file.
    let flipped = tmp.path().join("flipped.tar");
    let first_root = find(&bytes, "\"_type\":\"Root\"", 0);
    let targets = find(&bytes, "\"_type\":\"Targets\"", 0);
    let inventory = find(&bytes, "\"digest\": \"sha256:", 0) + 20;
    for (at, what) in [
        (
            find(&bytes, "\"expires\":\"", first_root) + 12,
            "1.root.json",
        ),
        (find(&bytes, "\"expires\":\"", targets) + 12, "targets.json"),
        (inventory, "inventory.json"),
    ] {
        let mut t = bytes.clone();
        t[at] ^= 0x01;
        std::fs::write(&flipped, &t).expect("write");
        let out = verify(&elsewhere, &flipped, &[]);
        exits(&out, 1);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{what}: {err}");
    }
    // The same changes with index.json rewritten to match: the signatures, and the inventory's
    // check against the signed metadata, still refuse them.
    let forgeries = [
        (
            "metadata/1.root.json",
            "\"expires\":\"",
            12,
            "valid signature",
        ),
        (
            "metadata/targets.json",
            "\"expires\":\"",
            12,
            "targets.json",
        ),
        (
            "inventory.json",
            "\"digest\": \"sha256:",
            20,
            "inventory.json does not match the signed metadata",
        ),
    ];
    for (name, needle, offset, text) in forgeries {
        let edit = |b: &mut Vec<u8>| {
            let at = find(b, needle, 0) + offset;
            b[at] ^= 0x01;
        };
        std::fs::write(&flipped, reindexed(&bytes, name, edit)).expect("write");
        let out = verify(&elsewhere, &flipped, &[]);
        exits(&out, 1);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(text), "{name}: {err}");
    }
    // Not an archive at all, and a cut-short one: clear errors, nothing written.
    std::fs::write(&flipped, b"not a tar file").expect("write");
    exits(&verify(&elsewhere, &flipped, &[]), 1);
    std::fs::write(&flipped, &bytes[..bytes.len() / 2]).expect("write");
    exits(&verify(&elsewhere, &flipped, &[]), 1);
    assert!(!elsewhere.exists(), "verification writes nothing");
}

#[test]
fn an_expired_repository_is_archived_and_reported() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/archive/expired";
    online(&stack, &trust, &["init", "--repo", gun]);
    let digest = digest_of("old");
    let image = format!("{gun}:old");
    online(
        &stack,
        &trust,
        &[
            "sign",
            &image,
            "--digest",
            &digest,
            "--size",
            "7",
            "--no-check",
        ],
    );
    online(&stack, &trust, &["renew", "--repo", gun, "--expires", "2s"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let file = tmp.path().join("expired.tar");
    let done = online(
        &stack,
        &trust,
        &[
            "archive",
            "--repo",
            gun,
            "-o",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        done["expired_roles"],
        serde_json::json!(["targets"]),
        "{done}"
    );
    drop(stack);
    let out = verify(&trust, &file, &["--repo", gun]);
    exits(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let targets = report["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["role"] == "targets")
        .expect("targets")
        .clone();
    assert_eq!(targets["expired_when_archived"], true, "{report}");
    assert_eq!(targets["expired"], true, "{report}");
    assert_eq!(report["inventory"]["tags"][0]["tag"], "old");
    assert_eq!(report["inventory"]["tags"][0]["digest"], digest.as_str());
    assert_eq!(
        report["inventory"]["tags"][0]["signed_by"][0]["expired"],
        true
    );
}

#[test]
fn a_tampering_server_gets_nothing_archived() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/archive/hostile";
    online(&stack, &trust, &["init", "--repo", gun]);
    let image = format!("{gun}:v1");
    let digest = digest_of("hostile");
    online(
        &stack,
        &trust,
        &[
            "sign",
            &image,
            "--digest",
            &digest,
            "--size",
            "9",
            "--no-check",
        ],
    );
    let files = stack.metadata_files(gun);
    let archive = |fake: &Fake, name: &str| {
        let file = tmp.path().join(name);
        let out = kt(&trust)
            .args(["archive", "--repo", gun, "-o"])
            .arg(&file)
            .args(["--server", &fake.url, "--tlscacert"])
            .arg(&stack.ca)
            .output()
            .expect("runs");
        (out, file)
    };
    // The same files served as they are: archived (the fake server works).
    let honest = Fake::serve(&stack, gun, &files);
    let (out, file) = archive(&honest, "honest.tar");
    exits(&out, 0);
    assert!(file.is_file());
    drop(honest);
    // targets.json with one byte of its signed content changed.
    let mut tampered = files.clone();
    let (_, targets) = tampered
        .iter_mut()
        .find(|(n, _)| n == "targets.json")
        .expect("targets.json");
    let at = find(targets, "\"expires\":\"", 0) + 12;
    targets[at] ^= 0x01;
    let fake = Fake::serve(&stack, gun, &tampered);
    let (out, file) = archive(&fake, "tampered.tar");
    exits(&out, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("targets.json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!file.exists(), "nothing is written");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".keytool-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}
