//! `keytool sandbox up --signer` end to end, everything real: a private dockerd started by
//! keytool; images built from this machine's Debian binaries (notary-server, notary-signer,
//! MariaDB's mariadbd, docker-registry, the docker client); the containers `notaryserver`,
//! `notarysigner`, `mysql`, `sandboxregistry` and `trustsandbox`; keytool's schema with one
//! least-privilege account per service.
//!
//! It plays the whole walkthrough on that topology, rotates the server-managed snapshot key
//! (held by notary-signer), restarts the database, the signer and the server and then signs and
//! verifies again, re-keys the signer to a new passphrase and signs with both its old and its
//! new keys, checks that the service secrets are in no image, command line or file of the
//! sandbox (only in the vault and the containers' environment), and takes everything down.
//! Wall times are printed, never asserted.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use interop_tests::{have, keytool_bin, ok, peers_required};
use serde_json::Value;

/// Whether this machine can run the signer sandbox (root, dockerd, notary-signer, mariadbd);
/// skips otherwise, or fails when peers are required.
fn can_run() -> bool {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt as _;
        m.uid() == 0
    });
    if !root {
        assert!(
            !peers_required(),
            "the sandbox tests need root (KEYTOOL_REQUIRE_PEERS=1)"
        );
        eprintln!("SKIPPED: the sandbox tests need root");
        return false;
    }
    let all = [
        "dockerd",
        "notary-server",
        "notary-signer",
        "docker-registry",
        "busybox",
    ]
    .iter()
    .all(|p| have(p))
        && Path::new("/usr/sbin/mariadbd").is_file();
    assert!(
        all || !peers_required(),
        "the signer sandbox needs dockerd, notary, docker-registry, busybox-static and mariadb-server (tests/peers/install-deps.sh)"
    );
    all
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// keytool with no inherited docker or keytool settings.
fn clean_keytool() -> Command {
    let mut cmd = Command::new(keytool_bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE") || k.starts_with("DOCKER_") || k.starts_with("KEYTOOL_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// `keytool --json sandbox ARGS… --state-dir DIR`.
fn sandbox(state: &Path, args: &[&str]) -> Command {
    let mut cmd = clean_keytool();
    cmd.arg("--json")
        .arg("sandbox")
        .args(args)
        .arg("--state-dir")
        .arg(state);
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Takes the sandbox down when the test ends, also when it fails half-way.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = sandbox(self.0, &["down", "--volumes"]).output();
    }
}

/// `docker -H HOST ARGS…` on the sandbox's private daemon; its standard output.
fn docker(host: &str, args: &[&str]) -> String {
    let out = ok(Command::new("docker").arg("-H").arg(host).args(args));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A query of the sandbox's database as its administrator; tab-separated rows.
fn query(host: &str, sql: &str) -> String {
    docker(
        host,
        &[
            "exec",
            "mysql",
            "/usr/bin/mariadb",
            "--no-defaults",
            "--socket=/run/mysqld/mysqld.sock",
            "-u",
            "root",
            "-N",
            "-B",
            "-e",
            sql,
        ],
    )
}

/// The value of `name` in container `container`'s environment.
fn env_of(host: &str, container: &str, name: &str) -> String {
    container_env(host, container)
        .iter()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("{name} is not in {container}'s environment"))
}

/// A container's environment (`NAME=value` each).
fn container_env(host: &str, container: &str) -> Vec<String> {
    let env = docker(
        host,
        &["inspect", "--format", "{{json .Config.Env}}", container],
    );
    serde_json::from_str(&env).expect("env")
}

/// The password in a go-sql-driver DSN `user:password@tcp(...)/db?...`.
fn dsn_password(dsn: &str) -> String {
    let (creds, _) = dsn.split_once('@').expect("dsn");
    creds.split_once(':').expect("user:password").1.to_owned()
}

/// Entries of the sandbox vault with the role of the sandbox's service secrets.
fn service_entries(state: &Path) -> usize {
    let out = ok(clean_keytool()
        .args(["--json", "vault", "status", "--trust-dir"])
        .arg(state.join("trust")));
    json(&out)["vault"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["role"] == "sandbox-service")
        .count()
}

/// Files below `dir` (not following symlinks) whose contents contain `needle`, except below
/// `skip`.
fn files_containing(dir: &Path, needle: &[u8], skip: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.starts_with(skip) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            files_containing(&path, needle, skip, found);
        } else if meta.is_file()
            && std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path.display().to_string());
        }
    }
}

/// Processes whose command line contains `needle`.
fn argv_containing(needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("proc").flatten() {
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            && cmdline.windows(needle.len()).any(|w| w == needle)
        {
            found.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn signer_sandbox_plays_survives_restarts_rekeys_and_leaves_nothing() {
    if !can_run() {
        return;
    }
    let state = tempfile::tempdir().expect("tmp");
    let np = free_port().to_string();
    let rp = free_port().to_string();
    let _down = Down(state.path());
    let up = json(&ok(&mut sandbox(
        state.path(),
        &[
            "up",
            "--signer",
            "--daemon",
            "private",
            "--notary-port",
            &np,
            "--registry-port",
            &rp,
        ],
    )));
    eprintln!("TIME up --signer: {} ms", up["took_ms"]);
    assert_eq!(
        up["containers"],
        serde_json::json!([
            "notaryserver",
            "sandboxregistry",
            "trustsandbox",
            "notarysigner",
            "mysql"
        ])
    );
    let pids: Vec<u64> = up["daemon"]["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p[1].as_u64().expect("pid"))
        .collect();
    let host = up["daemon"]["host"].as_str().expect("host").to_owned();
    let gun = format!("sandboxregistry:{rp}/test/trusttest");

    // The schema is keytool's, and each service's account has only its own grants.
    let tables = query(
        &host,
        "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_schema IN ('notaryserver', 'notarysigner') ORDER BY 1",
    );
    assert_eq!(
        tables,
        "notaryserver.changefeed\nnotaryserver.tuf_files\nnotarysigner.private_keys"
    );
    let grants = query(
        &host,
        "SELECT CONCAT(grantee, ' ', table_schema, '.', table_name, ' ', privilege_type) FROM information_schema.table_privileges WHERE grantee IN (\"'server'@'%'\", \"'signer'@'%'\") ORDER BY 1",
    );
    assert_eq!(
        grants,
        "'server'@'%' notaryserver.changefeed INSERT\n'server'@'%' notaryserver.changefeed SELECT\n'server'@'%' notaryserver.tuf_files DELETE\n'server'@'%' notaryserver.tuf_files INSERT\n'server'@'%' notaryserver.tuf_files SELECT\n'signer'@'%' notarysigner.private_keys INSERT\n'signer'@'%' notarysigner.private_keys SELECT\n'signer'@'%' notarysigner.private_keys UPDATE"
    );

    // Nothing on a whole database or the whole server.
    assert_eq!(
        query(
            &host,
            "SELECT CONCAT(grantee, ' ', privilege_type) FROM information_schema.user_privileges WHERE grantee IN (\"'server'@'%'\", \"'signer'@'%'\") UNION ALL SELECT CONCAT(grantee, ' ', privilege_type) FROM information_schema.schema_privileges WHERE grantee IN (\"'server'@'%'\", \"'signer'@'%'\") ORDER BY 1",
        ),
        "'server'@'%' USAGE\n'signer'@'%' USAGE"
    );

    // The service secrets: in the vault (three entries) and in the containers' environment, in
    // no image, command line or file of the sandbox (the private daemon's own records of the
    // containers' environment, under daemon/, are docker's).
    assert_eq!(service_entries(state.path()), 3);
    let passphrase = env_of(&host, "notarysigner", "NOTARY_SIGNER_KEYTOOLSANDBOX");
    let signer_pw = dsn_password(&env_of(
        &host,
        "notarysigner",
        "NOTARY_SIGNER_STORAGE_DB_URL",
    ));
    let server_pw = dsn_password(&env_of(
        &host,
        "notaryserver",
        "NOTARY_SERVER_STORAGE_DB_URL",
    ));
    let secrets = [&passphrase, &signer_pw, &server_pw];
    for s in secrets {
        assert!(s.len() >= 32, "a generated secret");
    }
    assert_ne!(signer_pw, server_pw);
    let images: Vec<String> = up["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i["tag"].as_str().expect("tag").to_owned())
        .collect();
    assert_eq!(images.len(), 6);
    let mut inspected = String::new();
    for image in &images {
        inspected.push_str(&docker(&host, &["image", "inspect", image]));
        inspected.push_str(&docker(&host, &["history", "--no-trunc", image]));
    }
    let signer_args = docker(
        &host,
        &[
            "inspect",
            "--format",
            "{{json .Args}} {{json .Path}}",
            "notarysigner",
        ],
    );
    let mut found = Vec::new();
    for s in secrets {
        assert!(!inspected.contains(s.as_str()), "a secret is in an image");
        assert!(!signer_args.contains(s.as_str()), "a secret is in argv");
        assert!(
            argv_containing(s.as_bytes()).is_empty(),
            "a secret is in a command line"
        );
        files_containing(
            state.path(),
            s.as_bytes(),
            &state.path().join("daemon"),
            &mut found,
        );
    }
    assert!(found.is_empty(), "secrets in files: {found:?}");

    // The walkthrough, unchanged.
    let play = json(&ok(&mut sandbox(state.path(), &["play"])));
    let steps = play["steps"].as_array().expect("steps");
    for s in steps {
        eprintln!(
            "[{}] {} ({} ms): {}",
            s["number"], s["title"], s["took_ms"], s["outcome"]
        );
    }
    assert_eq!(steps.len(), 8, "{play}");
    eprintln!("TIME play on the signer topology: {} ms", play["took_ms"]);
    let rotated = play["rotated_targets_key"]
        .as_str()
        .expect("rotated")
        .to_owned();
    // The server's keys for the repository are notary-signer's, in the database, encrypted
    // with the sandbox's passphrase alias.
    let keys_sql = format!(
        "SELECT CONCAT(role, ' ', algorithm, ' ', passphrase_alias) FROM notarysigner.private_keys WHERE gun = '{gun}' AND deleted_at IS NULL ORDER BY id"
    );
    assert_eq!(
        query(&host, &keys_sql),
        "timestamp ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox"
    );

    // keytool rotate --role snapshot --server-managed against it, through the export lines of
    // status.
    let status = json(&ok(&mut sandbox(state.path(), &["status"])));
    assert_eq!(status["up"], true);
    assert_eq!(
        status["signer_aliases"],
        serde_json::json!(["keytoolsandbox"])
    );
    let user = || {
        let mut cmd = clean_keytool();
        for kv in status["environment"].as_array().expect("environment") {
            cmd.env(
                kv[0].as_str().expect("name"),
                kv[1].as_str().expect("value"),
            );
        }
        cmd
    };
    let rotate_snapshot = || {
        json(&ok(user().args([
            "--json",
            "rotate",
            "--repo",
            &gun,
            "--role",
            "snapshot",
            "--server-managed",
        ])))
    };
    let r = rotate_snapshot();
    eprintln!("rotate snapshot: {r}");
    assert_eq!(
        query(&host, &keys_sql),
        "timestamp ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox"
    );

    // Durability: restart the database, the signer and the server; the trust data and the
    // signer's keys are still there, a new tag is signed (the server signs snapshot and
    // timestamp with the signer's stored keys) and pulls verify.
    let t = std::time::Instant::now();
    docker(&host, &["restart", "mysql", "notarysigner", "notaryserver"]);
    eprintln!(
        "TIME restart of mysql, notarysigner, notaryserver: {} ms",
        t.elapsed().as_millis()
    );
    let push_tag = |tag: &str| {
        docker(
            &host,
            &[
                "exec",
                "trustsandbox",
                "docker",
                "tag",
                &format!("{gun}:v2"),
                &format!("{gun}:{tag}"),
            ],
        );
        // The server may take a moment to reach the restarted database and signer.
        let mut last = None;
        for _ in 0..50 {
            let out = sandbox(state.path(), &["push", &format!("{gun}:{tag}")])
                .output()
                .expect("push");
            if out.status.success() {
                return json(&out);
            }
            last = Some(out);
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let out = last.expect("tried");
        panic!(
            "push of {tag} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let pushed = push_tag("after-restart");
    assert_eq!(pushed["signed_by"], serde_json::json!([rotated]));
    for tag in ["v2", "after-restart"] {
        let pulled = json(&ok(&mut sandbox(
            state.path(),
            &["pull", &format!("{gun}:{tag}")],
        )));
        assert!(pulled["digest"].as_str().is_some(), "{pulled}");
    }
    let st = json(&ok(user().args(["--json", "status", "--repo", &gun])));
    eprintln!("status after restarts: {st}");
    assert_eq!(st["ready"], true, "{st}");
    assert_eq!(st["snapshot_server_managed"], true, "{st}");

    // Re-key: a new alias and passphrase become the default; the keys encrypted with the old
    // one still sign, new keys are encrypted with the new one.
    let rekeyed = json(&ok(&mut sandbox(state.path(), &["rekey-signer"])));
    assert_eq!(rekeyed["alias"], "keytoolsandbox2");
    assert_eq!(
        rekeyed["aliases"],
        serde_json::json!(["keytoolsandbox", "keytoolsandbox2"])
    );
    assert_eq!(service_entries(state.path()), 4);
    let new_passphrase = env_of(&host, "notarysigner", "NOTARY_SIGNER_KEYTOOLSANDBOX2");
    assert_ne!(new_passphrase, passphrase);
    assert_eq!(
        env_of(&host, "notarysigner", "NOTARY_SIGNER_KEYTOOLSANDBOX"),
        passphrase,
        "the old alias keeps its passphrase"
    );
    assert!(argv_containing(new_passphrase.as_bytes()).is_empty());
    push_tag("after-rekey");
    rotate_snapshot();
    assert_eq!(
        query(&host, &keys_sql),
        "timestamp ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox\nsnapshot ecdsa keytoolsandbox2"
    );
    let pulled = json(&ok(&mut sandbox(
        state.path(),
        &["pull", &format!("{gun}:after-rekey")],
    )));
    assert!(pulled["digest"].as_str().is_some());

    // Three more re-keys with no key made in between: keytoolsandbox3 never encrypts a key. The
    // re-key that replaces it as the default keeps it (a key could have been made with it); the
    // next one drops it, from the signer's environment and from the vault.
    let rekey = || json(&ok(&mut sandbox(state.path(), &["rekey-signer"])));
    let third = rekey();
    assert_eq!(third["removed"], serde_json::json!([]), "{third}");
    let fourth = rekey();
    assert_eq!(fourth["removed"], serde_json::json!([]), "{fourth}");
    let fifth = rekey();
    assert_eq!(fifth["alias"], "keytoolsandbox5", "{fifth}");
    assert_eq!(fifth["removed"], serde_json::json!(["keytoolsandbox3"]));
    assert_eq!(
        fifth["aliases"],
        serde_json::json!([
            "keytoolsandbox",
            "keytoolsandbox2",
            "keytoolsandbox4",
            "keytoolsandbox5"
        ])
    );
    // server and signer passwords, and the passphrases of the four aliases
    assert_eq!(service_entries(state.path()), 6);
    assert!(
        !container_env(&host, "notarysigner")
            .iter()
            .any(|kv| kv.starts_with("NOTARY_SIGNER_KEYTOOLSANDBOX3=")),
        "the dropped alias is gone from the signer's environment"
    );
    push_tag("after-prune");
    let pulled = json(&ok(&mut sandbox(
        state.path(),
        &["pull", &format!("{gun}:after-prune")],
    )));
    assert!(pulled["digest"].as_str().is_some());

    // The database goes away during a rotation: the rotation fails with the server's error,
    // keytool's journal keeps it pending, and once the database is back the same command
    // resumes it; the repository verifies with the new key.
    docker(&host, &["stop", "mysql"]);
    let failed = user()
        .args(["--json", "rotate", "--repo", &gun])
        .output()
        .expect("rotate");
    assert!(!failed.status.success(), "a rotation without the database");
    eprintln!(
        "rotate without the database: {}",
        String::from_utf8_lossy(&failed.stderr).trim()
    );
    docker(&host, &["start", "mysql"]);
    let mut resumed = None;
    let mut last = String::new();
    let t = std::time::Instant::now();
    // notary-server exits when its database goes away (notary 0.7's health check panics);
    // docker starts it again, with its back-off.
    for _ in 0..300 {
        let out = user()
            .args(["--json", "rotate", "--repo", &gun])
            .output()
            .expect("rotate");
        if out.status.success() {
            resumed = Some(json(&out));
            break;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let resumed = resumed.unwrap_or_else(|| {
        panic!("the rotation does not complete once the database is back: {last}")
    });
    eprintln!(
        "TIME rotation completed {} ms after the database was started again: {resumed}",
        t.elapsed().as_millis()
    );
    let st = json(&ok(user().args(["--json", "status", "--repo", &gun])));
    assert_eq!(st["ready"], true, "{st}");
    assert_eq!(st["pending_rotation"], false, "{st}");
    assert_eq!(
        st["local_targets_keys"],
        serde_json::json!([resumed["new_key"]]),
        "{st}"
    );

    // Down: every container, the network and the daemon.
    let down = json(&ok(&mut sandbox(state.path(), &["down", "--volumes"])));
    assert_eq!(down["containers"].as_array().map(Vec::len), Some(5));
    for pid in &pids {
        assert!(!running(*pid), "process {pid} of the sandbox still runs");
    }
    assert!(!state.path().join("sandbox.json").exists());
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    assert!(!mounts.contains(&state.path().display().to_string()));
}
