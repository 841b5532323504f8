//! `keytool renew` against the real notary-server, notary and docker: metadata published with a
//! short expiry is flagged by `status --expiring-within`, renewed with its content unchanged,
//! and still read by notary and docker (including a notary client that trusted the old root, after
//! the root certificate was renewed); a renewal interrupted at any step is completed by the next
//! run; a refused publish leaves it pending.

use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{Fake, Stack, exits, have, keytool, ok, stdout};
use keystore::Gun;
use keystore::notary::NotaryClient;
use serde_json::Value;

const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";

fn kt(trust: &Path) -> Command {
    let mut cmd = keytool(trust);
    cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
        .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
        .env("KEYTOOL_SNAPSHOT_PASSPHRASE", REPO_PW)
        .arg("--notary-compat");
    cmd
}

fn on(stack: &Stack, cmd: &mut Command, url: &str) -> Output {
    cmd.args(["--server", url, "--tlscacert"])
        .arg(&stack.ca)
        .output()
        .expect("runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\nstderr: {}",
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn init(stack: &Stack, trust: &Path, gun: &str, local_snapshot: bool) -> Value {
    let mut cmd = kt(trust);
    cmd.args(["--json", "init", "--repo", gun]);
    if local_snapshot {
        cmd.arg("--local-snapshot");
    }
    let out = on(stack, &mut cmd, &stack.url);
    exits(&out, 0);
    json(&out)
}

fn renew(stack: &Stack, trust: &Path, gun: &str, args: &[&str]) -> Output {
    let mut cmd = kt(trust);
    cmd.args(["--json", "renew", "--repo", gun]).args(args);
    on(stack, &mut cmd, &stack.url)
}

/// `status --expiring-within WINDOW`: the exit code and the JSON.
fn expiring(stack: &Stack, trust: &Path, gun: &str, window: &str) -> (Option<i32>, Value) {
    let mut cmd = kt(trust);
    cmd.args([
        "--json",
        "status",
        "--repo",
        gun,
        "--expiring-within",
        window,
    ]);
    let out = on(stack, &mut cmd, &stack.url);
    (out.status.code(), json(&out))
}

/// notary adds a target and publishes it (signing with the keys of the trust directory).
fn notary_add(stack: &Stack, trust: &Path, gun: &str, name: &str) {
    let file = trust.join("payload.txt");
    std::fs::write(&file, name.as_bytes()).expect("write");
    let notary = || {
        let mut cmd = stack.notary(trust);
        cmd.env("NOTARY_TARGETS_PASSPHRASE", REPO_PW)
            .env("NOTARY_SNAPSHOT_PASSPHRASE", REPO_PW);
        cmd
    };
    ok(notary().args(["add", gun, name]).arg(&file));
    ok(notary().args(["publish", gun]));
}

/// A metadata file as the server serves it now.
fn served(stack: &Stack, gun: &str, file: &str) -> Vec<u8> {
    let client = NotaryClient::new(&stack.url, Some(&stack.ca)).expect("client");
    let g: Gun = gun.parse().expect("gun");
    client.get(&g, file).expect("get").expect("present")
}

/// The `signed` text of an envelope as sent (notary's serialisation, byte for byte).
fn signed_text(envelope: &[u8]) -> String {
    let text = String::from_utf8(envelope.to_vec()).expect("utf-8");
    let start = text.find("{\"signed\":").expect("envelope") + "{\"signed\":".len();
    let end = text.rfind(",\"signatures\":").expect("signatures");
    text[start..end].to_owned()
}

fn signed(envelope: &[u8]) -> Value {
    serde_json::from_slice::<Value>(envelope).expect("json")["signed"].clone()
}

/// Sorted `name -> sha256` of the targets notary lists.
fn notary_list(stack: &Stack, trust: &Path, gun: &str) -> Vec<String> {
    let out = ok(stack.notary(trust).args(["list", gun]));
    let mut rows: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.starts_with("NAME") && !l.starts_with("----") && !l.trim().is_empty())
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    rows.sort();
    rows
}

/// Every key file under private/ and keytool-retired/ with its bytes.
fn key_files(trust: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    interop_tests::snapshot(trust)
}

fn role<'a>(done: &'a Value, name: &str) -> &'a Value {
    done["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["role"] == name)
        .unwrap_or_else(|| panic!("no {name} in {done}"))
}

#[test]
fn short_expiry_is_flagged_renewed_and_clients_still_read_it() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "sandboxregistry:5000/renew/short";
    init(&stack, &trust, gun, false);
    notary_add(&stack, &trust, gun, "v1");
    notary_add(&stack, &trust, gun, "v2");
    // A client that trusted the repository before any renewal.
    let prior = tmp.path().join("prior");
    let listed_before = notary_list(&stack, &prior, gun);
    assert_eq!(listed_before.len(), 2, "{listed_before:?}");
    let keys_before = key_files(&trust);

    let (code, _) = expiring(&stack, &trust, gun, "7d");
    assert_eq!(code, Some(0), "nothing expires within 7 days after init");

    // Publish targets with a 2-day expiry (the server accepts what it is given).
    let targets_v_before = served(&stack, gun, "targets.json");
    let out = renew(
        &stack,
        &trust,
        gun,
        &["--role", "targets", "--expires", "2d"],
    );
    exits(&out, 0);
    let done = json(&out);
    let t = role(&done, "targets");
    assert_eq!(t["requested"], true);
    assert_eq!(
        t["new_version"].as_u64(),
        Some(t["version"].as_u64().expect("v") + 1)
    );
    // The server-held snapshot is re-signed by the server (it lists the new targets hash).
    assert_eq!(role(&done, "snapshot")["signed_by_server"], true, "{done}");
    assert_eq!(
        done["renewed_by_server"],
        serde_json::json!(["timestamp", "snapshot"])
    );

    // Content unchanged byte for byte apart from version and expiry.
    let targets_after = served(&stack, gun, "targets.json");
    let (old, new) = (signed(&targets_v_before), signed(&targets_after));
    let mut text = signed_text(&targets_after);
    text = text.replacen(
        &format!(
            "\"expires\":\"{}\"",
            new["expires"].as_str().expect("expires")
        ),
        &format!(
            "\"expires\":\"{}\"",
            old["expires"].as_str().expect("expires")
        ),
        1,
    );
    text = text.replacen(
        &format!("\"version\":{}", new["version"]),
        &format!("\"version\":{}", old["version"]),
        1,
    );
    assert_eq!(
        text,
        signed_text(&targets_v_before),
        "targets content changed"
    );
    assert_ne!(old["expires"], new["expires"]);

    // status flags it: exit code 7, targets within 7 days.
    let (code, st) = expiring(&stack, &trust, gun, "7d");
    assert_eq!(code, Some(7), "{st}");
    let soonest = &st["expiries"][0];
    assert_eq!(soonest["what"], "targets", "{st}");
    assert!(soonest["seconds_left"].as_i64().expect("secs") < 3 * 86_400);

    // notary (the prior client and a fresh one) and docker still read the same targets.
    assert_eq!(notary_list(&stack, &prior, gun), listed_before);
    assert_eq!(
        notary_list(&stack, &tmp.path().join("fresh"), gun),
        listed_before
    );

    // A dry run changes nothing and shows the plan.
    let out = renew(&stack, &trust, gun, &["--dry-run"]);
    exits(&out, 0);
    assert_eq!(json(&out)["dry_run"], true);
    assert_eq!(served(&stack, gun, "targets.json"), targets_after);

    // The default renewal extends it to notary's 3 years: nothing expires within 7 days.
    let out = renew(&stack, &trust, gun, &[]);
    exits(&out, 0);
    let (code, st) = expiring(&stack, &trust, gun, "7d");
    assert_eq!(code, Some(0), "{st}");
    let targets_left = st["expiries"]
        .as_array()
        .expect("expiries")
        .iter()
        .find(|e| e["what"] == "targets")
        .expect("targets")["seconds_left"]
        .as_i64()
        .expect("secs");
    assert!(
        targets_left > 3 * 365 * 86_400 - 3600,
        "targets expire in {targets_left} s"
    );
    assert_eq!(notary_list(&stack, &prior, gun), listed_before);
    assert_eq!(
        key_files(&trust),
        keys_before,
        "renewal touches no key file"
    );

    // notary keeps signing on top of the renewed metadata.
    notary_add(&stack, &trust, gun, "v3");
    assert_eq!(notary_list(&stack, &prior, gun).len(), 3);

    if have("docker") {
        let inspect = stack.docker_trust_inspect(tmp.path(), gun);
        let mut tags: Vec<String> = inspect["SignedTags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t["SignedTag"].as_str().expect("tag").to_owned())
            .collect();
        tags.sort();
        assert_eq!(tags, ["v1", "v2", "v3"], "{inspect}");
    }

    // The timestamp and a server-held snapshot are the server's to renew.
    for (r, word) in [
        ("timestamp", "always signed by the Notary server"),
        ("snapshot", "held by the Notary server"),
    ] {
        let out = renew(&stack, &trust, gun, &["--role", r]);
        exits(&out, 2);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(word),
            "{r}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn root_certificate_renewal_is_followed_by_clients_of_the_old_root() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "sandboxregistry:5000/renew/root";
    let made = init(&stack, &trust, gun, true);
    let root_key = made["keys"]["root"].as_str().expect("root").to_owned();
    notary_add(&stack, &trust, gun, "before");
    let prior = tmp.path().join("prior");
    let listed_before = notary_list(&stack, &prior, gun);
    let old_root = signed(&served(&stack, gun, "root.json"));
    let old_cert = old_root["roles"]["root"]["keyids"][0]
        .as_str()
        .expect("cert")
        .to_owned();
    let keys_before = key_files(&trust);

    let out = renew(&stack, &trust, gun, &["--all-roles"]);
    exits(&out, 0);
    let done = json(&out);
    let roles: Vec<&str> = done["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["root", "targets", "snapshot"], "{done}");
    assert_eq!(done["renewed_by_server"], serde_json::json!(["timestamp"]));
    let cert = &done["root_certificate"];
    assert_eq!(cert["id"], old_cert.as_str());
    assert_eq!(cert["renewed"], true, "{done}");
    let new_cert = cert["new_id"].as_str().expect("new cert").to_owned();
    assert_ne!(new_cert, old_cert);

    // root.json v2 lists the new certificate of the same key, keeps the old one in `keys`, and
    // is signed under both IDs.
    let root_bytes = served(&stack, gun, "root.json");
    let root = signed(&root_bytes);
    assert_eq!(
        root["version"],
        old_root["version"].as_u64().expect("v") + 1
    );
    assert_eq!(
        root["roles"]["root"]["keyids"],
        serde_json::json!([new_cert])
    );
    assert!(root["keys"][&old_cert].is_object());
    let signers: Vec<String> =
        serde_json::from_slice::<Value>(&root_bytes).expect("json")["signatures"]
            .as_array()
            .expect("sigs")
            .iter()
            .map(|s| s["keyid"].as_str().expect("id").to_owned())
            .collect();
    assert!(
        signers.contains(&old_cert) && signers.contains(&new_cert),
        "{signers:?}"
    );
    let typed: keystore::tuf::schema::Root = keystore::tuf::Envelope::parse(&root_bytes)
        .and_then(|e| e.typed())
        .expect("parses");
    assert_eq!(
        typed.canonical_ids("root")[0].to_string(),
        root_key,
        "same root key"
    );
    assert_eq!(key_files(&trust), keys_before, "no key file changed");

    // notary, which trusted the old root (and its certificate), follows; so does a fresh one.
    assert_eq!(notary_list(&stack, &prior, gun), listed_before);
    let prior_root: Value = serde_json::from_slice(
        &std::fs::read(prior.join("tuf").join(gun).join("metadata/root.json")).expect("cached"),
    )
    .expect("json");
    assert_eq!(
        prior_root["signed"]["roles"]["root"]["keyids"],
        serde_json::json!([new_cert]),
        "the old client now trusts the new root"
    );
    assert_eq!(
        notary_list(&stack, &tmp.path().join("fresh"), gun),
        listed_before
    );
    // notary signs on top with the local snapshot key.
    notary_add(&stack, &trust, gun, "after");
    assert_eq!(notary_list(&stack, &prior, gun).len(), 2);
    // keytool's own status and the next renewal use the renewed root.
    let (code, st) = expiring(&stack, &trust, gun, "30d");
    assert_eq!(code, Some(0), "{st}");
    let out = renew(&stack, &trust, gun, &["--role", "root"]);
    exits(&out, 0);
    assert_eq!(json(&out)["root_certificate"]["id"], new_cert.as_str());

    if have("docker") {
        let inspect = stack.docker_trust_inspect(tmp.path(), gun);
        let root_shown = interop_tests::admin_key_id(&inspect, "Root").expect("root");
        let now = signed(&served(&stack, gun, "root.json"));
        assert_eq!(
            serde_json::json!([root_shown]),
            now["roles"]["root"]["keyids"],
            "{inspect}"
        );
    }
}

#[test]
fn a_crash_at_every_step_is_completed_by_the_next_run() {
    let Some(stack) = Stack::start() else { return };
    for step in ["journaled", "published", "cache-refreshed"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let trust = tmp.path().join("trust");
        let gun = format!("example.com/renew-crash/{step}");
        init(&stack, &trust, &gun, false);
        notary_add(&stack, &trust, &gun, "t");
        let prior = tmp.path().join("prior");
        let listed = notary_list(&stack, &prior, &gun);
        let before = signed(&served(&stack, &gun, "targets.json"));
        let v = before["version"].as_u64().expect("v");

        let mut cmd = kt(&trust);
        cmd.env("KEYTOOL_FAULT_POINT", step)
            .args(["renew", "--repo", &gun, "--expires", "30d"]);
        let out = on(&stack, &mut cmd, &stack.url);
        assert!(
            !out.status.success(),
            "{step}: the fault point must stop keytool"
        );
        let journals: Vec<_> = std::fs::read_dir(trust.join("keytool-journal"))
            .expect("journal dir")
            .flatten()
            .collect();
        assert_eq!(journals.len(), 1, "{step}: the renewal is pending");
        let (_, st) = expiring(&stack, &trust, &gun, "1d");
        assert_eq!(st["pending_renewal"], true, "{step}: {st}");
        // Clients read the repository whatever happened.
        assert_eq!(notary_list(&stack, &prior, &gun), listed, "{step}");

        // --resume completes it with its own expiry (30 days), renewing targets exactly once.
        let mut cmd = kt(&trust);
        cmd.args(["--json", "renew", "--resume", "--repo", &gun]);
        let out = on(&stack, &mut cmd, &stack.url);
        exits(&out, 0);
        let done = json(&out);
        assert_eq!(done["resumed"], true, "{step}: {done}");
        let after = signed(&served(&stack, &gun, "targets.json"));
        assert_eq!(after["version"].as_u64(), Some(v + 1), "{step}: {after}");
        assert_eq!(role(&done, "targets")["new_version"].as_u64(), Some(v + 1));
        let (code, _) = expiring(&stack, &trust, &gun, "7d");
        assert_eq!(code, Some(0), "{step}");
        let (code, _) = expiring(&stack, &trust, &gun, "31d");
        assert_eq!(code, Some(7), "{step}: targets expire in 30 days");
        assert!(
            std::fs::read_dir(trust.join("keytool-journal"))
                .expect("dir")
                .next()
                .is_none(),
            "{step}: journal closed"
        );
        // Nothing left to resume.
        let mut cmd = kt(&trust);
        cmd.args(["--json", "renew", "--resume", "--repo", &gun]);
        let out = on(&stack, &mut cmd, &stack.url);
        exits(&out, 0);
        assert_eq!(json(&out)["resumed"], false);
        assert_eq!(notary_list(&stack, &prior, &gun), listed, "{step}");
    }
}

#[test]
fn a_refused_publish_stays_pending_and_resumes() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/renew/refused";
    init(&stack, &trust, gun, false);
    let before = served(&stack, gun, "targets.json");

    // A server that serves the real metadata but refuses every POST (501).
    let fake = Fake::serve(&stack, gun, &stack.metadata_files(gun));
    let mut cmd = kt(&trust);
    cmd.args(["--json", "renew", "--repo", gun]);
    let out = on(&stack, &mut cmd, &fake.url);
    exits(&out, 5);
    assert_eq!(fake.posts(), 1);
    assert_eq!(served(&stack, gun, "targets.json"), before);
    drop(fake);

    let out = renew(&stack, &trust, gun, &[]);
    exits(&out, 0);
    assert_eq!(json(&out)["resumed"], true);
    assert_ne!(served(&stack, gun, "targets.json"), before);

    // The answer of an accepted publish is lost: the next run sees the server has it.
    let files = stack.metadata_files(gun);
    let fake = Fake::accept_then_drop(&stack, gun, &files);
    let mut cmd = kt(&trust);
    cmd.args(["--json", "renew", "--repo", gun]);
    let out = on(&stack, &mut cmd, &fake.url);
    exits(&out, 5);
    drop(fake);
    let accepted = served(&stack, gun, "targets.json");
    let out = renew(&stack, &trust, gun, &[]);
    exits(&out, 0);
    assert_eq!(json(&out)["resumed"], true);
    assert_eq!(
        served(&stack, gun, "targets.json"),
        accepted,
        "nothing re-signed: the server already had it"
    );
}

#[test]
fn renewing_targets_keeps_the_signers_docker_shows() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "sandboxregistry:5000/renew/signers";
    init(&stack, &trust, gun, false);
    let alice = add_alice(&stack, &trust, gun);
    notary_add(&stack, &trust, gun, "t1");
    let before = signed(&served(&stack, gun, "targets.json"));
    assert!(
        before["delegations"]["roles"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{before}"
    );

    let out = renew(
        &stack,
        &trust,
        gun,
        &["--role", "targets", "--expires", "40d"],
    );
    exits(&out, 0);
    let after = signed(&served(&stack, gun, "targets.json"));
    assert_eq!(
        after["delegations"], before["delegations"],
        "signers unchanged"
    );
    assert_eq!(after["targets"], before["targets"]);
    assert_eq!(
        after["version"].as_u64(),
        Some(before["version"].as_u64().expect("v") + 1)
    );
    let prior = tmp.path().join("prior");
    assert_eq!(notary_list(&stack, &prior, gun).len(), 1);
    if have("docker") {
        let inspect = stack.docker_trust_inspect(tmp.path(), gun);
        let signers = inspect["Signers"].as_array().expect("signers");
        let shown = signers
            .iter()
            .find(|s| s["Name"] == "alice")
            .and_then(|s| s["Keys"][0]["ID"].as_str());
        assert_eq!(shown, Some(alice.as_str()), "{inspect}");
    }
}

/// Renews `gun` with `args` and a 2-second validity, waits for it to expire, and checks that a
/// fresh notary client (at the returned directory) no longer lists `v1` and that `status` refuses
/// the repository naming `file` (as it refuses any expired metadata: a freeze attack looks the
/// same; nothing is cached).
fn let_expire(
    stack: &Stack,
    tmp: &Path,
    trust: &Path,
    gun: &str,
    args: &[&str],
    file: &str,
) -> std::path::PathBuf {
    let mut args = args.to_vec();
    args.extend(["--expires", "2s"]);
    exits(&renew(stack, trust, gun, &args), 0);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let fresh = tmp.join("fresh-notary");
    let refused = stack
        .notary(&fresh)
        .args(["list", gun])
        .output()
        .expect("notary runs");
    assert!(
        !refused.status.success() || !stdout(&refused).contains("v1"),
        "notary must refuse an expired {file}: {}",
        stdout(&refused)
    );
    let mut cmd = kt(trust);
    cmd.args(["status", "--repo", gun]);
    let out = on(stack, &mut cmd, &stack.url);
    exits(&out, 1);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("{file} expired")), "{text}");
    fresh
}

/// The case the issue starts from: targets.json has already expired, so notary refuses the
/// repository, and so does `status` (naming the file); renewing another role alone is refused
/// (it would leave the repository unusable); `renew` of targets brings it back for notary, with
/// the same targets.
#[test]
fn an_already_expired_repository_is_reported_and_renewed() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/renew/expired";
    init(&stack, &trust, gun, true);
    notary_add(&stack, &trust, gun, "v1");
    let before = notary_list(&stack, &trust, gun);
    let fresh = let_expire(&stack, tmp.path(), &trust, gun, &[], "targets.json");
    // Renewing root alone would leave targets expired: refused, nothing sent.
    let files = stack.metadata_files(gun);
    let out = renew(&stack, &trust, gun, &["--role", "root"]);
    exits(&out, 2);
    assert_eq!(stack.metadata_files(gun), files, "nothing may be published");
    // Renewing targets (the default) brings the repository back.
    exits(&renew(&stack, &trust, gun, &[]), 0);
    let (code, status) = expiring(&stack, &trust, gun, "1h");
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(status["ready"], true, "{status}");
    assert_eq!(notary_list(&stack, &fresh, gun), before);
}

/// A digest to sign (the registry is not asked: `--no-check`).
const DIGEST: &str = "sha256:3c5b2bd8a3f0d57e3fa9a5b8a0d93f2dbad3f1e3f62cd4e07a8f3a5a1f0c9d11";

/// `keytool sign GUN:TAG` as `signer`, without asking the registry.
fn sign_as(stack: &Stack, trust: &Path, gun: &str, tag: &str, signer: &str) {
    let mut cmd = kt(trust);
    cmd.env("KEYTOOL_DELEGATION_PASSPHRASE", ALICE_PW)
        .args(["--json", "sign"])
        .arg(format!("{gun}:{tag}"))
        .args([
            "--digest",
            DIGEST,
            "--size",
            "528",
            "--as",
            signer,
            "--no-check",
        ]);
    exits(&on(stack, &mut cmd, &stack.url), 0);
}

const ALICE_PW: &str = "renew-alice-pass-1";

/// `keytool signer add alice --generate` on `gun`: alice's new key ID.
fn add_alice(stack: &Stack, trust: &Path, gun: &str) -> String {
    let mut cmd = kt(trust);
    cmd.env("KEYTOOL_DELEGATION_PASSPHRASE", ALICE_PW).args([
        "--json",
        "signer",
        "add",
        "alice",
        "--repo",
        gun,
        "--generate",
    ]);
    let out = on(stack, &mut cmd, &stack.url);
    exits(&out, 0);
    json(&out)["key_id"].as_str().expect("key id").to_owned()
}

/// The signer roles on their own: alice's two roles (docker's `targets/releases` and
/// `targets/alice`) are renewed from a machine that holds only alice's key, with their content
/// unchanged and targets.json untouched; a role that has already expired (notary and docker skip
/// it, so the tag is gone for them) is brought back the same way. On first contact such a machine
/// trusts no root yet and is refused until it does.
#[test]
fn signer_roles_are_renewed_on_their_own_even_once_expired() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let owner = tmp.path().join("owner");
    let gun = "sandboxregistry:5000/renew/signer-roles";
    init(&stack, &owner, gun, false);
    let alice = add_alice(&stack, &owner, gun);
    sign_as(&stack, &owner, gun, "v1", "alice");

    // alice's machine: only her key file.
    let laptop = tmp.path().join("alice");
    let key_file = format!("{alice}.key");
    std::fs::create_dir_all(laptop.join("private")).expect("mkdir");
    std::fs::copy(
        owner.join("private").join(&key_file),
        laptop.join("private").join(&key_file),
    )
    .expect("copy alice's key");
    let both = ["--role", "targets/releases", "--role", "targets/alice"];
    let mut args = both.to_vec();
    args.extend(["--expires", "40d"]);
    let renew_alice = |args: &[&str]| {
        let mut cmd = kt(&laptop);
        cmd.env("KEYTOOL_DELEGATION_PASSPHRASE", ALICE_PW)
            .args(["--json", "renew", "--repo", gun])
            .args(args);
        on(&stack, &mut cmd, &stack.url)
    };
    // First contact: no trusted root and no root key, so nothing proves the server's root.
    let out = renew_alice(&args);
    exits(&out, 4);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("trusts no root"), "{text}");
    // `status` verifies the repository and trusts its root from then on (it reports alice's
    // machine as not ready to push: it holds no targets key, which a signer does not need).
    let mut cmd = kt(&laptop);
    cmd.args(["status", "--repo", gun]);
    let out = on(&stack, &mut cmd, &stack.url);
    assert!(stdout(&out).contains("targets/alice"), "{}", stdout(&out));

    let targets_before = served(&stack, gun, "targets.json");
    let releases_before = served(&stack, gun, "targets/releases.json");
    let alice_before = served(&stack, gun, "targets/alice.json");
    let out = renew_alice(&args);
    exits(&out, 0);
    let done = json(&out);
    for name in ["targets/releases", "targets/alice"] {
        let r = role(&done, name);
        assert_eq!(r["requested"], true, "{done}");
        assert_eq!(
            r["new_version"].as_u64(),
            Some(r["version"].as_u64().expect("v") + 1),
            "{done}"
        );
    }
    assert!(
        role(&done, "snapshot")["signed_by_server"] == true,
        "{done}"
    );
    assert_eq!(
        served(&stack, gun, "targets.json"),
        targets_before,
        "targets.json is not touched"
    );
    for (file, before) in [
        ("targets/releases.json", &releases_before),
        ("targets/alice.json", &alice_before),
    ] {
        let (old, new) = (signed(before), signed(&served(&stack, gun, file)));
        assert_eq!(new["targets"], old["targets"], "{file}");
        assert_eq!(new["delegations"], old["delegations"], "{file}");
        assert_eq!(
            new["version"].as_u64(),
            Some(old["version"].as_u64().expect("v") + 1)
        );
        assert_ne!(new["expires"], old["expires"], "{file}");
    }
    // What notary lists from targets/releases, the role docker reads.
    let listed = |dir: &str| {
        let out = stack
            .notary(&tmp.path().join(dir))
            .args(["list", gun, "--roles", "targets/releases"])
            .output()
            .expect("notary runs");
        stdout(&out)
    };
    let text = listed("fresh-1");
    assert!(
        text.contains("v1") && text.contains("targets/releases"),
        "{text}"
    );

    // Let releases expire: notary and docker skip it.
    exits(
        &renew_alice(&["--role", "targets/releases", "--expires", "2s"]),
        0,
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let text = listed("fresh-2");
    assert!(
        !text.contains("targets/releases"),
        "notary must skip an expired targets/releases: {text}"
    );
    // A name that is not a role gets a hint; renewing the expired role brings v1 back.
    let out = renew_alice(&["--role", "alice"]);
    exits(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("targets/alice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exits(&renew_alice(&["--role", "targets/releases"]), 0);
    let text = listed("fresh-3");
    assert!(
        text.contains("v1") && text.contains("targets/releases"),
        "{text}"
    );
    if have("docker") {
        let inspect = stack.docker_trust_inspect(tmp.path(), gun);
        let tags = inspect["SignedTags"].as_array().expect("tags");
        let v1 = tags.iter().find(|t| t["SignedTag"] == "v1").expect("v1");
        assert_eq!(v1["Signers"][0], "alice", "{inspect}");
    }
}

/// root.json itself has expired (notary refuses the repository): `status` names it, renewing
/// targets alone is refused with nothing sent, and `renew --role root` brings the repository back
/// for a fresh notary client and for one that trusted an earlier root (it walks through the expired
/// version to the new one).
#[test]
fn an_expired_root_is_renewed() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let gun = "example.com/renew/expired-root";
    init(&stack, &trust, gun, false);
    notary_add(&stack, &trust, gun, "v1");
    let before = notary_list(&stack, &trust, gun);
    // notary's client at trust/ trusts version 1 of the root; version 2 is about to expire.
    let fresh = let_expire(
        &stack,
        tmp.path(),
        &trust,
        gun,
        &["--role", "root"],
        "root.json",
    );

    let files = stack.metadata_files(gun);
    let out = renew(&stack, &trust, gun, &["--role", "targets"]);
    exits(&out, 2);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("root.json"), "{text}");
    assert_eq!(stack.metadata_files(gun), files, "nothing may be published");

    let out = renew(&stack, &trust, gun, &["--role", "root"]);
    exits(&out, 0);
    let done = json(&out);
    assert_eq!(
        role(&done, "root")["new_version"].as_u64(),
        Some(role(&done, "root")["version"].as_u64().expect("v") + 1),
        "{done}"
    );
    let (code, status) = expiring(&stack, &trust, gun, "1h");
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(notary_list(&stack, &fresh, gun), before);
    assert_eq!(
        notary_list(&stack, &trust, gun),
        before,
        "a client of an earlier root walks through the expired one"
    );
}
