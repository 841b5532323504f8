//! `keytool init --server` against the real notary-server: docker and notary treat the
//! repository as their own and sign with keytool's keys.
//!
//! Every test runs twice: `…_local` against notary-server's local trust service (Ed25519
//! timestamp and snapshot keys) and `…_signer` against notary-server backed by a notary-signer
//! (ECDSA timestamp and snapshot keys).

use std::path::Path;
use std::process::Command;

use interop_tests::{Stack, exits, have, keytool, ok, snapshot, stdout};

/// Runs the body `$name(&Stack)` as `${name}_local` and `${name}_signer` tests.
macro_rules! in_both_modes {
    ($name:ident, $local:ident, $signer:ident) => {
        #[test]
        fn $local() {
            if let Some(stack) = Stack::start() {
                $name(&stack);
            }
        }

        #[test]
        fn $signer() {
            if let Some(stack) = Stack::start_with_signer() {
                $name(&stack);
            }
        }
    };
}

const GUN: &str = "sandboxregistry:5000/test/trusttest";
const ROOT_PW: &str = "root-pass-1234";
const REPO_PW: &str = "repo-pass-5678";

fn init(stack: &Stack, dir: &Path) -> serde_json::Value {
    let out = ok(keytool(dir)
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
        .args([
            "--json",
            "init",
            "--repo",
            GUN,
            "--server",
            &stack.url,
            "--tlscacert",
        ])
        .arg(&stack.ca));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn notary(stack: &Stack, dir: &Path) -> Command {
    let mut cmd = stack.notary(dir);
    cmd.env("NOTARY_TARGETS_PASSPHRASE", REPO_PW)
        .env("NOTARY_ROOT_PASSPHRASE", ROOT_PW);
    cmd
}

/// The `keytype` of the (first) key of `role` in the root.json at `path`.
fn role_key_type(path: &Path, role: &str) -> String {
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("root.json")).expect("json");
    let signed = &root["signed"];
    let id = signed["roles"][role]["keyids"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no {role} key in {}", path.display()));
    signed["keys"][id]["keytype"]
        .as_str()
        .expect("keytype")
        .to_owned()
}

in_both_modes!(
    published_repository_is_used_by_notary_and_docker,
    published_repository_is_used_by_notary_and_docker_local,
    published_repository_is_used_by_notary_and_docker_signer
);
fn published_repository_is_used_by_notary_and_docker(stack: &Stack) {
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let first = init(stack, &trust);
    assert_eq!(first["already_published"], false);
    let targets = first["keys"]["targets"]
        .as_str()
        .expect("targets id")
        .to_owned();
    let root_cert = first["root_certificate_id"]
        .as_str()
        .expect("cert id")
        .to_owned();
    let metadata = trust.join("tuf").join(GUN).join("metadata");
    let root_json = std::fs::read(metadata.join("root.json")).expect("cached root.json");
    // The server's keys are of this mode's type, and keytool accepted them.
    for role in ["timestamp", "snapshot"] {
        assert_eq!(
            role_key_type(&metadata.join("root.json"), role),
            stack.trust_service.key_type(),
            "{role} key"
        );
    }

    // Running it again changes nothing and says so.
    let again = init(stack, &trust);
    assert_eq!(again["already_published"], true);
    assert_eq!(again["keys"]["targets"], targets.as_str());
    assert_eq!(
        std::fs::read(metadata.join("root.json")).expect("cache"),
        root_json
    );

    // notary lists the repository, and signs a new target with keytool's targets key: no new
    // key file appears.
    let keys_before = snapshot(&trust);
    ok(notary(stack, &trust).args(["list", GUN]));
    let file = tmp.path().join("target.txt");
    std::fs::write(&file, b"hello").expect("write");
    ok(notary(stack, &trust).args(["add", GUN, "hello"]).arg(&file));
    ok(notary(stack, &trust).args(["publish", GUN]));
    assert_eq!(
        snapshot(&trust),
        keys_before,
        "notary must not create or change any key file"
    );
    let listed = stdout(&ok(notary(stack, &trust).args(["list", GUN])));
    assert!(listed.contains("hello"), "{listed}");

    // A fresh notary client trusts it on first use.
    let fresh = tmp.path().join("fresh");
    assert!(stdout(&ok(notary(stack, &fresh).args(["list", GUN]))).contains("hello"));

    // docker trust inspect shows keytool's root certificate and targets key.
    if !have("docker") {
        return;
    }
    let inspect = stack.docker_trust_inspect(tmp.path(), GUN);
    assert_eq!(
        interop_tests::admin_key_id(&inspect, "Root"),
        Some(root_cert.clone())
    );
    assert_eq!(
        interop_tests::admin_key_id(&inspect, "Repository"),
        Some(targets.clone())
    );
    assert_eq!(inspect["SignedTags"][0]["SignedTag"], "hello");
}

in_both_modes!(
    init_reports_server_errors_clearly,
    init_reports_server_errors_clearly_local,
    init_reports_server_errors_clearly_signer
);
fn init_reports_server_errors_clearly(stack: &Stack) {
    let tmp = tempfile::tempdir().expect("tmp");
    // Without the CA the TLS handshake fails: a network error, exit code 5, nothing published.
    let out = keytool(tmp.path())
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", ROOT_PW)
        .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
        .args(["init", "--repo", GUN, "--server", &stack.url])
        .output()
        .expect("runs");
    exits(&out, 5);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Cannot reach the Notary server"), "{err}");
    // Named as an untrusted CA (not rustls' "UnknownIssuer"), with the flag that fixes it.
    assert!(
        err.contains("is issued by a CA that is not trusted here"),
        "{err}"
    );
    assert!(!err.contains("UnknownIssuer"), "{err}");
    assert!(
        err.contains("Hint: Pass the server's CA certificate with --tlscacert FILE"),
        "{err}"
    );
    assert!(
        !tmp.path().join("tuf").exists(),
        "no metadata cached after a failure"
    );
}

in_both_modes!(
    status_says_whether_this_machine_can_sign,
    status_says_whether_this_machine_can_sign_local,
    status_says_whether_this_machine_can_sign_signer
);
fn status_says_whether_this_machine_can_sign(stack: &Stack) {
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let status = |dir: &Path| {
        let out = keytool(dir)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
            .args([
                "--json",
                "status",
                "--repo",
                GUN,
                "--server",
                &stack.url,
                "--tlscacert",
            ])
            .arg(&stack.ca)
            .output()
            .expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), v)
    };
    let (code, before) = status(&trust);
    assert_eq!(code, Some(1));
    assert_eq!(before["published"], false);

    let made = init(stack, &trust);
    let (code, after) = status(&trust);
    assert_eq!(code, Some(0), "{after}");
    expiry_is_reported(stack, &trust, &after);
    assert_eq!(after["ready"], true);
    assert_eq!(after["snapshot_server_managed"], true);
    assert_eq!(
        after["expected_targets_keys"][0]["key_id"],
        made["keys"]["targets"]
    );
    assert_eq!(
        after["expected_root_keys"][0]["key_id"],
        made["keys"]["root"]
    );
    assert_eq!(
        after["expected_root_keys"][0]["listed_id"],
        made["root_certificate_id"]
    );

    // Without the targets key this machine cannot sign: not ready.
    let targets = made["keys"]["targets"].as_str().expect("id");
    std::fs::remove_file(trust.join(format!("private/{targets}.key"))).expect("rm");
    let (code, gone) = status(&trust);
    assert_eq!(code, Some(1));
    assert_eq!(gone["can_sign_targets"], false);
}

/// Every expiry of the published data is listed (root, targets, snapshot, timestamp, the root
/// certificate), and `--expiring-within` exits 7 exactly when something the server does not
/// renew itself expires within the window.
fn expiry_is_reported(stack: &Stack, trust: &Path, status: &serde_json::Value) {
    let whats: Vec<&str> = status["expiries"]
        .as_array()
        .expect("expiries")
        .iter()
        .map(|e| e["what"].as_str().expect("what"))
        .collect();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        assert!(whats.contains(&role), "{role} missing in {whats:?}");
    }
    assert!(
        whats.iter().any(|w| w.starts_with("root certificate ")),
        "{whats:?}"
    );
    let within = |window: &str| {
        let out = keytool(trust)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", REPO_PW)
            .args(["--json", "status", "--repo", GUN, "--server", &stack.url])
            .args(["--expiring-within", window, "--tlscacert"])
            .arg(&stack.ca)
            .output()
            .expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let expiring: Vec<String> = v["expiring"]
            .as_array()
            .expect("expiring")
            .iter()
            .map(|e| e["what"].as_str().expect("what").to_owned())
            .collect();
        (out.status.code(), expiring)
    };
    // The timestamp expires within days, but the server renews it: not flagged.
    let (code, soon) = within("30d");
    assert_eq!((code, soon.len()), (Some(0), 0), "{soon:?}");
    // Targets (3 years, as notary) is flagged within 4 years; root (10 years) is not.
    let (code, soon) = within("4y");
    assert_eq!(code, Some(7));
    assert!(soon.contains(&"targets".to_owned()), "{soon:?}");
    assert!(!soon.contains(&"root".to_owned()), "{soon:?}");
    // Within 11 years everything keytool signs is flagged, the root certificate too.
    let (code, soon) = within("11y");
    assert_eq!(code, Some(7));
    assert!(soon.contains(&"root".to_owned()), "{soon:?}");
    assert!(
        soon.iter().any(|w| w.starts_with("root certificate ")),
        "{soon:?}"
    );
}

/// Without `--tlscacert` and without docker's `tls/<host:port>/ca.crt`, the server is checked
/// against the system's trust store (here pointed at the stack's CA with `SSL_CERT_FILE`, which
/// the system store honours), as docker and notary do — not against bundled public roots.
#[test]
fn without_a_ca_file_the_system_trust_store_is_used() {
    let Some(stack) = Stack::start() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let trust = tmp.path().join("trust");
    let status = |system_store: Option<&Path>| {
        let mut cmd = keytool(&trust);
        cmd.args(["status", "--repo", "example.com/system/roots", "--server"])
            .arg(&stack.url)
            .env("DOCKER_CONFIG", tmp.path().join("docker-config"))
            .env_remove("SSL_CERT_DIR")
            .env_remove("DOCKER_CONTENT_TRUST_SERVER");
        match system_store {
            Some(ca) => cmd.env("SSL_CERT_FILE", ca),
            None => cmd.env_remove("SSL_CERT_FILE"),
        };
        cmd.output().expect("keytool runs")
    };
    // The stack's private CA is in no default store: the TLS check fails (exit 5).
    exits(&status(None), 5);
    // Trusted through the system store: the server answers; the repository is not published
    // yet, so status says "not ready" (exit 1).
    let out = status(Some(&stack.ca));
    exits(&out, 1);
    assert!(stdout(&out).contains("NOT published"), "{}", stdout(&out));
}
