//! Signers (delegations) and direct digest signing against the real notary-server, judged by
//! the real notary CLI and `docker trust inspect`:
//! - `keytool signer add` (a generated key, and an OpenSSL-made public key) makes
//!   `targets/<name>` and `targets/releases` exactly as docker does: `docker trust inspect`
//!   lists the signers with keytool's key IDs, `notary delegation list` shows both roles;
//! - `keytool sign --as` signs a digest into the signer's roles: `notary list` and `docker
//!   trust inspect` show the tag, its digest and size, signed by that signer; `unsign` removes
//!   it; a repository with signers is never signed with the targets key alone;
//! - `keytool signer remove` refuses to orphan released tags without confirmation, and then
//!   docker reports the signer gone; the signer's key file stays;
//! - a server that tampers with a signer's file, or forges one, gets nothing signed.
//!
//! The registry check and `docker pull` of a tag signed this way are in sandbox_e2e (they need a
//! registry and a docker daemon).

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Fake, Stack, have, keytool, ok, stdout};

const ROOT_PW: &str = "signers-root-canary-1187";
const REPO_PW: &str = "signers-repo-canary-5521";
const SIGNER_PW: &str = "signers-alice-canary-9043";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_DELEGATION_PASSPHRASE", SIGNER_PW);
    cmd
}

/// `keytool [--json] ARGS --server URL --tlscacert CA`.
fn run(stack: &Stack, trust: &Path, url: &str, args: &[&str]) -> Output {
    kt(trust)
        .args(args)
        .args(["--server", url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("keytool runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(out)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn digest_of(content: &str) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(content);
    format!(
        "sha256:{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[test]
fn signers_and_signed_digests_as_docker_and_notary_see_them() {
    let Some(stack) = Stack::start() else { return };
    if !(have("docker") && have("notary") && have("openssl")) {
        assert!(
            !interop_tests::peers_required(),
            "docker, notary and openssl are required"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "sandboxregistry:5000/test/signers";
    let url = stack.url.clone();
    let kt_json = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        json(&run(&stack, &trust, &url, &all))
    };
    kt_json(&["init", "--repo", gun]);

    // 1. Signers: a generated key, and a public key made by OpenSSL.
    let alice = kt_json(&["signer", "add", "alice", "--repo", gun, "--generate"]);
    let alice_key = alice["key_id"].as_str().expect("key id").to_owned();
    assert_eq!(alice["already"], false);
    let key_file = trust.join("private").join(format!("{alice_key}.key"));
    let pem = std::fs::read_to_string(&key_file).expect("alice's key file");
    assert!(
        pem.contains("role: alice") && !pem.contains("gun:"),
        "{pem}"
    );
    // A signer key is an ordinary key: exported by keytool, notary imports it as alice's.
    let bundle = tmp.path().join("alice.pem");
    ok(kt(&trust)
        .args(["key", "export", "--key", &alice_key, "-o"])
        .arg(&bundle));
    let imported = tmp.path().join("imported");
    ok(interop_tests::notary(&imported)
        .env("NOTARY_DELEGATION_PASSPHRASE", SIGNER_PW)
        .args(["key", "import"])
        .arg(&bundle));
    let keys = stdout(&ok(interop_tests::notary(&imported).args(["key", "list"])));
    assert!(
        keys.lines()
            .any(|l| l.contains(&alice_key) && l.split_whitespace().next() == Some("alice")),
        "{keys}"
    );
    // Adding the same key again changes nothing.
    let again = run(
        &stack,
        &trust,
        &url,
        &["signer", "add", "alice", "--repo", gun, "--key"],
    );
    assert!(!again.status.success(), "--key needs a file");
    let public = tmp.path().join("carol.pub");
    let private = tmp.path().join("carol.pem");
    ok(Command::new("openssl")
        .args([
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
        ])
        .arg(&private));
    ok(Command::new("openssl")
        .args(["ec", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public));
    let carol = kt_json(&[
        "signer",
        "add",
        "carol",
        "--repo",
        gun,
        "--key",
        public.to_str().expect("utf-8"),
    ]);
    let carol_key = carol["key_id"].as_str().expect("key id").to_owned();
    let same = kt_json(&[
        "signer",
        "add",
        "carol",
        "--repo",
        gun,
        "--key",
        public.to_str().expect("utf-8"),
    ]);
    assert_eq!(same["already"], true);
    for bad in ["releases", "--force", "Alice"] {
        let out = run(
            &stack,
            &trust,
            &url,
            &["signer", "add", "--", bad, "--repo", gun, "--generate"],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }

    let work = tmp.path().join("docker");
    let inspect = stack.docker_trust_inspect(&work, gun);
    let signers = inspect["Signers"].as_array().expect("signers");
    let key_of = |name: &str| {
        signers
            .iter()
            .find(|s| s["Name"] == name)
            .and_then(|s| s["Keys"][0]["ID"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(
        key_of("alice").as_deref(),
        Some(alice_key.as_str()),
        "{inspect}"
    );
    assert_eq!(
        key_of("carol").as_deref(),
        Some(carol_key.as_str()),
        "{inspect}"
    );
    let notary_trust = tmp.path().join("notary");
    let roles = stdout(&ok(stack.notary(&notary_trust).args([
        "delegation",
        "list",
        gun,
    ])));
    for (role, key) in [
        ("targets/alice", &alice_key),
        ("targets/carol", &carol_key),
        ("targets/releases", &alice_key),
    ] {
        assert!(
            roles
                .lines()
                .any(|l| l.starts_with(role) && l.contains(key.as_str())),
            "{role}: {roles}"
        );
    }
    let listed = kt_json(&["signer", "list", "--repo", gun]);
    assert_eq!(listed["signers"][0]["name"], "alice");
    assert_eq!(listed["signers"][0]["keys"][0]["local"], true);
    assert_eq!(listed["signers"][1]["keys"][0]["local"], false);
    assert_eq!(listed["signers"][1]["can_release"], true);

    // 2. Sign a digest directly, as alice: into targets/alice and targets/releases.
    let digest = digest_of("manifest one");
    let signed = kt_json(&[
        "sign",
        &format!("{gun}:v1"),
        "--digest",
        &digest,
        "--size",
        "1234",
        "--as",
        "alice",
        "--no-check",
    ]);
    assert_eq!(
        signed["roles"],
        serde_json::json!(["targets/alice", "targets/releases"])
    );
    let list = stdout(&ok(stack.notary(&notary_trust).args(["list", gun])));
    assert!(
        list.lines()
            .any(|l| l.starts_with("v1 ") && l.contains(&digest[7..]) && l.contains("1234")),
        "{list}"
    );
    let inspect = stack.docker_trust_inspect(&work, gun);
    let tag = &inspect["SignedTags"][0];
    assert_eq!(tag["SignedTag"], "v1", "{inspect}");
    assert_eq!(tag["Digest"], &digest[7..]);
    assert_eq!(tag["Signers"], serde_json::json!(["alice"]), "{inspect}");
    // status lists the signers' roles among what expires.
    let status = kt_json(&["status", "--repo", gun]);
    let expiring: Vec<&str> = status["expiries"]
        .as_array()
        .expect("expiries")
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    for role in ["targets/alice", "targets/releases", "targets"] {
        assert!(expiring.contains(&role), "{role}: {status}");
    }
    // The same again: nothing to publish. A new digest replaces the old one.
    let same = kt_json(&[
        "sign",
        &format!("{gun}:v1"),
        "--digest",
        &digest,
        "--size",
        "1234",
        "--no-check",
    ]);
    assert_eq!(same["already"], true);
    let digest2 = digest_of("manifest two");
    let replaced = kt_json(&[
        "sign",
        &format!("{gun}:v1"),
        "--digest",
        &digest2,
        "--size",
        "99",
        "--no-check",
    ]);
    assert_eq!(replaced["replaced"], digest.as_str());
    // No signer key here for carol's role: signing as carol is refused, nothing published.
    let before = stack.metadata_files(gun);
    let out = run(
        &stack,
        &trust,
        &url,
        &[
            "sign",
            &format!("{gun}:v2"),
            "--digest",
            &digest,
            "--size",
            "5",
            "--as",
            "carol",
            "--no-check",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        stack.metadata_files(gun),
        before,
        "nothing may be published"
    );
    // Bad input: clear errors, nothing published.
    for args in [
        vec![
            "sign",
            "sandboxregistry:5000/test/signers",
            "--digest",
            &digest,
            "--size",
            "5",
        ],
        vec![
            "sign",
            "sandboxregistry:5000/test/signers:v3",
            "--digest",
            "sha256:beef",
            "--size",
            "5",
        ],
        vec![
            "sign",
            "sandboxregistry:5000/test/signers:v3",
            "--digest",
            &digest,
            "--size",
            "0",
        ],
    ] {
        let out = run(&stack, &trust, &url, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        stack.metadata_files(gun),
        before,
        "nothing may be published"
    );

    // 3. A hostile server: a tampered signer file (not what snapshot signed for) and a forged
    //    one (re-signed by a key the repository does not trust) get nothing signed.
    let mut files = stack.metadata_files(gun);
    let client = keystore_files(
        &stack,
        gun,
        &["targets/releases.json", "targets/alice.json"],
    );
    let mut tampered = files.clone();
    for (name, mut bytes) in client.clone() {
        if name == "targets/releases.json" {
            let text = String::from_utf8(bytes)
                .expect("utf-8")
                .replace("\"length\":99", "\"length\":98");
            bytes = text.into_bytes();
        }
        tampered.push((name, bytes));
    }
    let fake = Fake::serve(&stack, gun, &tampered);
    let out = run(
        &stack,
        &trust,
        &fake.url,
        &[
            "sign",
            &format!("{gun}:v9"),
            "--digest",
            &digest,
            "--size",
            "5",
            "--no-check",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("targets/releases.json"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.posts(), 0);
    drop(fake);
    files.extend(client);
    let fake = Fake::serve(&stack, gun, &files);
    let out = run(
        &stack,
        &trust,
        &fake.url,
        &["signer", "list", "--repo", gun],
    );
    assert!(
        out.status.success(),
        "an honest copy verifies: {}",
        stderr(&out)
    );
    drop(fake);

    // 4. unsign; signer remove (refused while it would orphan released tags).
    let unsigned = kt_json(&["unsign", &format!("{gun}:v1"), "--as", "alice"]);
    assert_eq!(
        unsigned["roles"],
        serde_json::json!(["targets/alice", "targets/releases"])
    );
    let list = ok(stack.notary(&notary_trust).args(["list", gun]));
    assert!(!stdout(&list).contains(&digest2[7..]), "{}", stdout(&list));
    kt_json(&[
        "sign",
        &format!("{gun}:v4"),
        "--digest",
        &digest,
        "--size",
        "5",
        "--no-check",
    ]);
    let out = run(
        &stack,
        &trust,
        &url,
        &["signer", "remove", "alice", "--repo", gun],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Pass --yes"), "{}", stderr(&out));
    let removed = kt_json(&["signer", "remove", "alice", "--repo", gun, "--yes"]);
    assert_eq!(removed["orphaned_tags"], 1);
    assert!(key_file.is_file(), "a removed signer's key file stays");
    let inspect = stack.docker_trust_inspect(&work, gun);
    let names: Vec<&str> = inspect["Signers"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["Name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["carol"], "{inspect}");
    let listed = kt_json(&["signer", "list", "--repo", gun]);
    assert_eq!(
        listed["unverified"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    // A repository without a local signer key is not signed into targets behind docker's back.
    let out = run(
        &stack,
        &trust,
        &url,
        &[
            "sign",
            &format!("{gun}:v5"),
            "--digest",
            &digest,
            "--size",
            "5",
            "--no-check",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    for out in [&out] {
        for pw in [ROOT_PW, REPO_PW, SIGNER_PW] {
            assert!(!stdout(out).contains(pw) && !stderr(out).contains(pw));
        }
    }
}

/// Files of `gun` as the real server serves them.
fn keystore_files(stack: &Stack, gun: &str, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let client = keystore::notary::NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client");
    let gun: keystore::Gun = gun.parse().expect("gun");
    names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                client.get(&gun, n).expect("get").expect("served"),
            )
        })
        .collect()
}

/// The signer key the server lists for `name` now (`signer list --json`).
fn signer_key(stack: &Stack, trust: &Path, gun: &str, name: &str) -> String {
    let listed = json(&run(
        stack,
        trust,
        &stack.url,
        &["--json", "signer", "list", "--repo", gun],
    ));
    listed["signers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .and_then(|s| s["keys"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("no signer {name}: {listed}"))
        .to_owned()
}

#[test]
fn a_signer_rotation_survives_a_crash_at_every_step() {
    let Some(stack) = Stack::start() else { return };
    if !have("notary") {
        assert!(!interop_tests::peers_required(), "notary is required");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/signers/rotation";
    let url = stack.url.clone();
    json(&run(
        &stack,
        &trust,
        &url,
        &["--json", "init", "--repo", gun],
    ));
    json(&run(
        &stack,
        &trust,
        &url,
        &[
            "--json",
            "signer",
            "add",
            "alice",
            "--repo",
            gun,
            "--generate",
        ],
    ));
    let digest = digest_of("released by alice");
    json(&run(
        &stack,
        &trust,
        &url,
        &[
            "--json",
            "sign",
            &format!("{gun}:v1"),
            "--digest",
            &digest,
            "--size",
            "77",
            "--no-check",
        ],
    ));
    let notary_trust = tmp.path().join("notary");
    let released = |what: &str| {
        let list = stdout(&ok(stack.notary(&notary_trust).args(["list", gun])));
        assert!(
            list.lines().any(|l| l.starts_with("v1 ")
                && l.contains(&digest[7..])
                && l.contains("targets/")),
            "{what}: {list}"
        );
    };
    for step in ["journaled", "new-key-written", "published", "retired", ""] {
        let old = signer_key(&stack, &trust, gun, "alice");
        let old_file = trust.join("private").join(format!("{old}.key"));
        assert!(
            old_file.is_file(),
            "{step}: the key the server lists is here"
        );
        let mut cmd = kt(&trust);
        cmd.args([
            "--json",
            "rotate",
            "--signer",
            "alice",
            "--repo",
            gun,
            "--server",
            &url,
            "--tlscacert",
        ])
        .arg(&stack.ca);
        if !step.is_empty() {
            let crashed = cmd.env("KEYTOOL_FAULT_POINT", step).output().expect("runs");
            assert!(!crashed.status.success(), "{step}: the fault point aborts");
            let listed = signer_key(&stack, &trust, gun, "alice");
            if listed == old {
                assert!(
                    old_file.is_file(),
                    "{step}: the old key is gone while the server trusts it"
                );
            }
            released(step);
            cmd.env_remove("KEYTOOL_FAULT_POINT");
        }
        let done = json(&cmd.output().expect("runs"));
        // Stopped before the new key was durable, a rotation starts over; later, it resumes.
        let resumed = !matches!(step, "" | "journaled");
        assert_eq!(done["resumed"], resumed, "{step}: {done}");
        let new = done["new_key"].as_str().expect("new key");
        assert_eq!(signer_key(&stack, &trust, gun, "alice"), new, "{step}");
        assert_ne!(new, old, "{step}");
        assert!(!old_file.exists(), "{step}: the old key is retired");
        assert!(
            trust
                .join("keytool-retired")
                .join(format!("{old}.key"))
                .is_file(),
            "{step}"
        );
        assert!(
            trust.join("private").join(format!("{new}.key")).is_file(),
            "{step}"
        );
        // The tag alice released still verifies, now signed by her new key.
        released(step);
    }
    let inspect = stack.docker_trust_inspect(&tmp.path().join("docker"), gun);
    assert_eq!(
        inspect["SignedTags"][0]["Signers"],
        serde_json::json!(["alice"]),
        "{inspect}"
    );
}
