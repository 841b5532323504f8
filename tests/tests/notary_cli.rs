//! keytool against the real notary 0.7 CLI (and docker's `trust key generate`), both ways.

use std::path::Path;

use interop_tests::{
    Stack, gun_matches, have, keytool, notary, notary_key_list, ok, snapshot, stdout,
};

const GUN: &str = "sandboxregistry:5000/test/trusttest";
const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";

/// keytool with passphrases in docker's variables.
fn kt(dir: &Path) -> std::process::Command {
    let mut cmd = keytool(dir);
    cmd.env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW);
    cmd
}

/// notary with passphrases in notary's variables.
fn nt(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("NOTARY_ROOT_PASSPHRASE", ROOT_PW)
        .env("NOTARY_TARGETS_PASSPHRASE", REPO_PW)
        .env("NOTARY_SNAPSHOT_PASSPHRASE", REPO_PW)
        .env("NOTARY_DELEGATION_PASSPHRASE", REPO_PW)
}

/// `keytool key passwd ID`: opens the key and re-encrypts it under the same passphrase, on
/// purpose (the environment holds the current one, so the same one again comes from
/// `--new-passphrase-file`; keytool refuses it from the environment).
fn passwd_same(dir: &Path, extra: &[&str], id: &str, role: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("same");
    let pass = if role == "root" { ROOT_PW } else { REPO_PW };
    std::fs::write(&file, format!("{pass}\n")).expect("write");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    ok(kt(dir)
        .args(extra)
        .args(["key", "passwd", id, "--new-passphrase-file"])
        .arg(&file));
}

fn generate(dir: &Path, extra: &[&str], role: &str, gun: Option<&str>) -> String {
    let mut cmd = kt(dir);
    cmd.args(extra).args(["key", "generate", "--role", role]);
    if let Some(g) = gun {
        cmd.args(["--repo", g]);
    }
    stdout(&ok(&mut cmd)).trim().to_owned()
}

#[test]
fn notary_lists_and_opens_keytool_keys() {
    if !have("notary") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Default 600,000 iterations for root, notary's own 2048 for the others.
    let root = generate(dir, &[], "root", None);
    let targets = generate(dir, &["--notary-compat"], "targets", Some(GUN));
    let snapshot_id = generate(dir, &["--notary-compat"], "snapshot", Some(GUN));
    let signer = generate(dir, &["--notary-compat"], "alice", None);

    let listed = notary_key_list(dir);
    let find = |id: &str| {
        listed
            .iter()
            .find(|k| k.id == id)
            .unwrap_or_else(|| panic!("notary does not list {id}: {listed:?}"))
    };
    assert_eq!(find(&root).role, "root");
    assert_eq!(find(&root).gun, "");
    assert_eq!(find(&targets).role, "targets");
    assert!(gun_matches(&find(&targets).gun, GUN));
    assert_eq!(find(&snapshot_id).role, "snapshot");
    assert!(gun_matches(&find(&snapshot_id).gun, GUN));
    assert_eq!(find(&signer).role, "alice");
    assert_eq!(listed.len(), 4);

    // notary decrypts every one of them (key passwd unlocks, then re-encrypts).
    for id in [&root, &targets, &snapshot_id, &signer] {
        let out = ok(nt(&mut notary(dir)).args(["key", "passwd", id]));
        assert!(
            stdout(&out).contains(&format!("Successfully updated passphrase for key ID: {id}")),
            "{}",
            stdout(&out)
        );
    }
    // ... and keytool still opens what notary rewrote.
    passwd_same(dir, &[], &root, "root");
    passwd_same(dir, &[], &targets, "targets");
}

#[test]
fn notary_init_reuses_the_keytool_root_key() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let out = ok(kt(dir).args(["--notary-compat", "init", "--repo", GUN]));
    let text = stdout(&out);
    let root = text
        .lines()
        .find_map(|l| l.strip_prefix("root key"))
        .and_then(|l| l.split_whitespace().last())
        .expect("init prints the root key")
        .to_owned();

    let out = ok(nt(&mut stack.notary(dir)).args(["init", GUN]));
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        all.contains(&format!("Root key found, using: {root}")),
        "notary init said: {all}"
    );
    ok(nt(&mut stack.notary(dir)).args(["publish", GUN]));
    ok(nt(&mut stack.notary(dir)).args(["list", GUN]));
}

#[test]
fn keytool_reads_keys_made_by_notary() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let out = ok(nt(&mut notary(dir)).args(["key", "generate", "ecdsa", "--role", "root"]));
    let generated = stdout(&out)
        .split_whitespace()
        .last()
        .expect("id")
        .to_owned();
    ok(nt(&mut stack.notary(dir)).args(["init", GUN]));
    let notary_keys = notary_key_list(dir);
    assert_eq!(
        notary_keys.len(),
        3,
        "root, targets and snapshot: {notary_keys:?}"
    );

    // keytool lists them with the same roles, GUNs and IDs.
    let out = ok(kt(dir).args(["--json", "key", "list"]));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 3);
    for k in &notary_keys {
        let ours = listed
            .iter()
            .find(|l| l["id"] == k.id.as_str())
            .expect("same id");
        assert_eq!(ours["role"], k.role.as_str());
        assert_eq!(ours["encrypted"], true);
        assert_eq!(ours["algorithm"], "ecdsa");
        if k.role != "root" {
            assert_eq!(ours["gun"], GUN);
        }
    }
    assert!(listed.iter().any(|l| l["id"] == generated.as_str()));

    // keytool opens each one (re-encrypting with the same passphrase) and exports them.
    for k in &notary_keys {
        passwd_same(dir, &["--notary-compat"], &k.id, &k.role);
    }
    let out = ok(kt(dir).args(["key", "export"]));
    assert_eq!(stdout(&out).matches("path: ").count(), 3);
    // notary still signs with the keys keytool re-encrypted.
    ok(nt(&mut stack.notary(dir)).args(["publish", GUN]));
}

#[test]
fn notary_export_imports_byte_identical() {
    if !have("notary") {
        return;
    }
    let src = tempfile::tempdir().expect("tmp");
    let dst = tempfile::tempdir().expect("tmp");
    let work = tempfile::tempdir().expect("tmp");
    generate(src.path(), &["--notary-compat"], "root", None);
    generate(src.path(), &[], "targets", Some(GUN));
    ok(nt(&mut notary(src.path())).args([
        "key",
        "generate",
        "ecdsa",
        "--role",
        "targets/releases",
    ]));
    let bundle = work.path().join("bundle.pem");
    ok(notary(src.path())
        .args(["key", "export", "-o"])
        .arg(&bundle));

    ok(kt(dst.path()).arg("key").arg("import").arg(&bundle));
    assert_eq!(
        snapshot(dst.path()),
        snapshot(src.path()),
        "keytool import of a notary bundle must recreate the same files"
    );
    // Importing again changes nothing.
    let before = snapshot(dst.path());
    ok(kt(dst.path()).arg("key").arg("import").arg(&bundle));
    assert_eq!(snapshot(dst.path()), before);
}

/// A notary bundle with a targets key notary wrote without a `gun:` header (`notary key generate
/// --role targets`): keytool imports every other block, reports that one with its reason and
/// exits 6 ("partial"), as `notary key import` imports the rest and warns.
#[test]
fn a_notary_bundle_with_a_gunless_targets_key_imports_the_rest() {
    if !have("notary") {
        return;
    }
    let src = tempfile::tempdir().expect("tmp");
    let dst = tempfile::tempdir().expect("tmp");
    let work = tempfile::tempdir().expect("tmp");
    let root = generate(src.path(), &["--notary-compat"], "root", None);
    let targets = generate(src.path(), &[], "targets", Some(GUN));
    ok(nt(&mut notary(src.path())).args(["key", "generate", "ecdsa", "--role", "targets"]));
    let bundle = work.path().join("bundle.pem");
    ok(notary(src.path())
        .args(["key", "export", "-o"])
        .arg(&bundle));

    let out = kt(dst.path())
        .args(["--json", "key", "import"])
        .arg(&bundle)
        .output()
        .expect("keytool");
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let mut imported: Vec<&str> = report["imported"]
        .as_array()
        .expect("imported")
        .iter()
        .map(|k| k["id"].as_str().expect("id"))
        .collect();
    imported.sort_unstable();
    let mut expected = vec![root.as_str(), targets.as_str()];
    expected.sort_unstable();
    assert_eq!(imported, expected, "{report}");
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{report}");
    assert_eq!(skipped[0]["role"], "targets");
    assert!(skipped[0]["gun"].is_null());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("belongs to one repository")),
        "{report}"
    );
    // notary opens both imported keys.
    let listed = notary_key_list(dst.path());
    assert_eq!(listed.len(), 2, "{listed:?}");

    // The text form says what was skipped and why.
    let again = kt(dst.path())
        .args(["key", "import"])
        .arg(&bundle)
        .output()
        .expect("keytool");
    assert_eq!(again.status.code(), Some(6));
    let text = String::from_utf8_lossy(&again.stderr);
    assert!(
        text.contains("Skipped block") && text.contains("no gun"),
        "{text}"
    );
    // With --repo the gun-less block takes that repository and everything is imported.
    ok(kt(dst.path())
        .args(["key", "import", "--repo", GUN])
        .arg(&bundle));
    assert_eq!(notary_key_list(dst.path()).len(), 3);
}

#[test]
fn keytool_export_imports_into_notary_byte_identical() {
    if !have("notary") {
        return;
    }
    let src = tempfile::tempdir().expect("tmp");
    let dst = tempfile::tempdir().expect("tmp");
    let work = tempfile::tempdir().expect("tmp");
    generate(src.path(), &[], "root", None);
    generate(src.path(), &["--notary-compat"], "targets", Some(GUN));
    let bundle = work.path().join("bundle.pem");
    ok(kt(src.path()).args(["key", "export", "-o"]).arg(&bundle));
    let mode = std::fs::metadata(&bundle)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    ok(nt(&mut notary(dst.path()))
        .arg("key")
        .arg("import")
        .arg(&bundle));
    assert_eq!(snapshot(dst.path()), snapshot(src.path()));
}

#[test]
fn keytool_reads_docker_trust_keys() {
    if !have("docker") {
        return;
    }
    let config = tempfile::tempdir().expect("tmp");
    let pubdir = tempfile::tempdir().expect("tmp");
    let mut cmd = std::process::Command::new("docker");
    cmd.env("DOCKER_CONFIG", config.path())
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["trust", "key", "generate", "alice", "--dir"])
        .arg(pubdir.path());
    ok(&mut cmd);
    let trust = config.path().join("trust");
    let out = ok(kt(&trust).args(["--json", "key", "list"]));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = &listed.as_array().expect("array")[0];
    assert_eq!(key["role"], "alice");
    assert_eq!(key["gun"], serde_json::Value::Null);
    let id = key["id"].as_str().expect("id").to_owned();
    // keytool decrypts it with docker's repository passphrase and exports it.
    passwd_same(&trust, &[], &id, "alice");
    let out = ok(kt(&trust).args(["key", "export", "--key", &id[..8]]));
    assert!(stdout(&out).contains(&format!("path: {id}")));
}

#[test]
fn rsa_keys_get_the_same_id_as_in_notary() {
    if !have("notary") || !have("openssl") {
        return;
    }
    let work = tempfile::tempdir().expect("tmp");
    let pem = work.path().join("rsa.pem");
    ok(std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem));
    let by_notary = tempfile::tempdir().expect("tmp");
    let by_keytool = tempfile::tempdir().expect("tmp");
    ok(nt(&mut notary(by_notary.path()))
        .args(["key", "import", "--role", "targets/releases"])
        .arg(&pem));
    ok(kt(by_keytool.path())
        .args([
            "--notary-compat",
            "key",
            "import",
            "--role",
            "targets/releases",
        ])
        .arg(&pem));
    let theirs = notary_key_list(by_notary.path());
    let ours = notary_key_list(by_keytool.path());
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        ours, theirs,
        "same role and key ID (file name) for an RSA key"
    );
    let out = ok(kt(by_keytool.path()).args(["--json", "key", "list"]));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed[0]["algorithm"], "rsa");
    // notary opens the file keytool wrote.
    ok(nt(&mut notary(by_keytool.path())).args(["key", "passwd", &ours[0].id]));
}
