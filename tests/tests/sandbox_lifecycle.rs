//! `keytool sandbox up | play | status | down` end to end, everything real: a private dockerd
//! started by keytool, images built from this machine's Debian binaries, the seed's network and
//! containers, and the whole walkthrough (unsigned pull refused, keytool's keys published and
//! provisioned, signed push, verified pull, tampered layer refused, rotation, second push).
//!
//! The sandbox runs on ports and under a state directory of this test's own, so it never meets
//! another sandbox. Each test checks that `down` leaves no process, mount, network interface or
//! record behind. Wall times are printed, never asserted.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

use interop_tests::{exits, have, keytool_bin, ok, peers_required};
use serde_json::Value;

/// One sandbox at a time: both tests start a private daemon on the same ports.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Whether this machine can run a private daemon (root, dockerd); skips otherwise, or fails when
/// peers are required.
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
    have("dockerd") && have("notary-server") && have("docker-registry") && have("busybox")
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `keytool sandbox ARGS… --state-dir DIR` with no inherited docker or keytool settings.
fn sandbox(state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(keytool_bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE") || k.starts_with("DOCKER_") || k.starts_with("KEYTOOL_") {
            cmd.env_remove(k);
        }
    }
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

/// The network interfaces of this machine.
fn interfaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether process `pid` runs (a zombie does not).
fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Asserts that nothing of the sandbox in `state` is left: no recorded process runs, nothing is
/// mounted below it, no record remains, and the interfaces are those of before.
fn nothing_left(state: &Path, pids: &[u64], before: &[String]) {
    for pid in pids {
        assert!(!running(*pid), "process {pid} of the sandbox still runs");
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    let root = state.display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&root)),
        "something is still mounted below {root}"
    );
    assert!(!state.join("sandbox.json").exists(), "the record is left");
    assert_eq!(interfaces(), before, "network interfaces were left behind");
}

fn pids_of(up: &Value) -> Vec<u64> {
    up["daemon"]["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p[1].as_u64().expect("pid"))
        .collect()
}

/// A state directory, the network interfaces before the sandbox, and two free ports.
struct Fixture {
    state: tempfile::TempDir,
    before: Vec<String>,
    np: String,
    rp: String,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            state: tempfile::tempdir().expect("tmp"),
            before: interfaces(),
            np: free_port().to_string(),
            rp: free_port().to_string(),
        }
    }
}

#[test]
fn up_play_status_down_leaves_nothing_behind() {
    if !can_run() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Fixture {
        state,
        before,
        np,
        rp,
    } = Fixture::new();
    let ports = [
        "--daemon",
        "private",
        "--notary-port",
        &np,
        "--registry-port",
        &rp,
    ];
    let up = json(&ok(&mut sandbox(
        state.path(),
        &[&["up"], &ports[..]].concat(),
    )));
    eprintln!("up: {} ms, images {}", up["took_ms"], up["images"]);
    assert_eq!(up["already_up"], false);
    assert_eq!(up["daemon"]["kind"], "private");
    let gun = format!("sandboxregistry:{rp}/test/trusttest");
    assert_eq!(up["repository"], gun.as_str());
    let pids = pids_of(&up);
    assert!(pids.iter().all(|p| running(*p)), "the daemon runs");

    let play = json(&ok(&mut sandbox(state.path(), &["play"])));
    let steps = play["steps"].as_array().expect("steps");
    for s in steps {
        eprintln!(
            "[{}] {} ({} ms): {}",
            s["number"], s["title"], s["took_ms"], s["outcome"]
        );
    }
    assert_eq!(steps.len(), 8, "{play}");
    let outcome = |i: usize| steps[i]["outcome"].as_str().expect("outcome").to_owned();
    assert!(outcome(0).contains("refused") && outcome(0).contains("does not have trust data"));
    assert!(outcome(3).contains("no new key in the container"));
    assert!(outcome(5).contains("Malicious data") && outcome(5).contains("refused"));
    let targets = play["targets_key"].as_str().expect("targets key");
    let rotated = play["rotated_targets_key"].as_str().expect("rotated key");
    assert_ne!(targets, rotated);
    assert!(
        outcome(3).contains(targets),
        "the first push is signed by keytool's key"
    );
    assert!(
        outcome(7).contains(rotated),
        "the second push is signed by the new key"
    );
    // The container's trust directory holds exactly the two keys keytool provisioned: docker
    // created none of its own.
    let mut expected = vec![format!("{targets}.key"), format!("{rotated}.key")];
    expected.sort();
    assert_eq!(play["container_keys"], serde_json::json!(expected));
    eprintln!("play: {} ms", play["took_ms"]);

    let status = json(&ok(&mut sandbox(state.path(), &["status"])));
    assert_eq!(status["up"], true);
    assert_eq!(status["provisioned_keys"], serde_json::json!(expected));
    assert!(
        status["shell"]
            .as_str()
            .expect("shell")
            .contains("docker exec -it trustsandbox sh")
    );

    // More play: a tag of the user's own, signed through keytool with the sandbox's keys.
    let host = status["environment"]
        .as_array()
        .expect("environment")
        .iter()
        .find(|kv| kv[0] == "DOCKER_HOST")
        .and_then(|kv| kv[1].as_str())
        .expect("DOCKER_HOST of the private daemon")
        .to_owned();
    ok(Command::new("docker").args([
        "-H",
        &host,
        "exec",
        "trustsandbox",
        "docker",
        "tag",
        &format!("{gun}:v2"),
        &format!("{gun}:mine"),
    ]));
    let mine = json(&ok(&mut sandbox(
        state.path(),
        &["push", &format!("{gun}:mine")],
    )));
    assert_eq!(mine["signed_by"], serde_json::json!([rotated]));
    let pulled = json(&ok(&mut sandbox(
        state.path(),
        &["pull", &format!("{gun}:mine")],
    )));
    assert_eq!(pulled["digest"], mine["digest"]);

    // A second play on the same sandbox is refused (the repository is signed now) and changes
    // nothing.
    let again = sandbox(state.path(), &["play"]).output().expect("play");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has trust data"));

    let down = json(&ok(&mut sandbox(state.path(), &["down", "--volumes"])));
    assert_eq!(down["was_up"], true);
    assert_eq!(down["networks"], serde_json::json!(["sandbox"]));
    assert_eq!(down["containers"].as_array().map(Vec::len), Some(3));
    nothing_left(state.path(), &pids, &before);
    // keytool's keys for the sandbox stay unless asked.
    assert!(
        state
            .path()
            .join("trust/private")
            .read_dir()
            .expect("keys")
            .count()
            >= 2
    );
}

#[test]
fn up_twice_and_down_twice_and_refusals_change_nothing() {
    if !can_run() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Fixture {
        state,
        before,
        np,
        rp,
    } = Fixture::new();
    let ports = [
        "--daemon",
        "private",
        "--notary-port",
        &np,
        "--registry-port",
        &rp,
    ];

    // A name that looks like a flag is refused before anything is made.
    let bad = sandbox(
        state.path(),
        &[&["up", "--client-name=--privileged"], &ports[..]].concat(),
    )
    .output()
    .expect("up");
    exits(&bad, 2);
    assert!(!state.path().join("sandbox.json").exists());

    // A port that is taken is refused, and nothing is left running.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port().to_string();
    let busy = sandbox(
        state.path(),
        &[
            "up",
            "--daemon",
            "private",
            "--notary-port",
            &taken_port,
            "--registry-port",
            &rp,
        ],
    )
    .output()
    .expect("up");
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("taken"));
    assert!(!state.path().join("sandbox.json").exists());
    drop(taken);

    let first = json(&ok(&mut sandbox(
        state.path(),
        &[&["up"], &ports[..]].concat(),
    )));
    assert_eq!(first["already_up"], false);
    let second = json(&ok(&mut sandbox(
        state.path(),
        &[&["up"], &ports[..]].concat(),
    )));
    assert_eq!(
        second["already_up"], true,
        "up on a running sandbox changes nothing"
    );
    assert_eq!(pids_of(&first), pids_of(&second), "the same daemon");
    assert!(
        second["images"]
            .as_array()
            .expect("images")
            .iter()
            .all(|i| i["built"] == false),
        "nothing rebuilt"
    );

    // Ctrl-C during play ends it between steps, with a clear error; the sandbox stays up.
    let child = sandbox(state.path(), &["play"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("play");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    ok(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().expect("play ends");
    assert!(!out.status.success(), "an interrupted play fails");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("interrupted"), "{err}");
    let status = json(&ok(&mut sandbox(state.path(), &["status"])));
    assert_eq!(
        status["up"], true,
        "the sandbox stays up after an interrupted play"
    );

    let down = json(&ok(&mut sandbox(state.path(), &["down"])));
    assert_eq!(down["was_up"], true);
    nothing_left(state.path(), &pids_of(&first), &before);
    let again = json(&ok(&mut sandbox(state.path(), &["down"])));
    assert_eq!(again["was_up"], false, "down twice is fine");
    let status = sandbox(state.path(), &["status"]).output().expect("status");
    assert!(!status.status.success(), "status says it is not up");
    assert_eq!(json(&status)["up"], false);
    // The private daemon's images stay for the next up unless --volumes.
    assert!(state.path().join("daemon/data").exists());
    ok(&mut sandbox(state.path(), &["down", "--volumes"]));
    assert!(!state.path().join("daemon").exists());
}

/// `--daemon own`: the user's own daemon, here one started by tests/peers/dockerd.sh, in a
/// mount namespace whose `/etc/hosts` names the registry on loopback (what a user adds to the
/// host's `/etc/hosts`), so that the host's file is never touched. keytool runs in the same
/// namespace, plays the walkthrough on that daemon, and `down` stops nothing of the user's.
#[test]
fn the_users_own_daemon_runs_the_walkthrough() {
    if !can_run() || !have("unshare") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().expect("tmp");
    let (np, rp) = (free_port().to_string(), free_port().to_string());
    let hosts = work.path().join("hosts");
    let mut text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    text.push_str("\n127.0.0.1 sandboxregistry notaryserver\n");
    std::fs::write(&hosts, text).expect("hosts");
    let script = r#"
set -eu
mount --bind "$HOSTS" /etc/hosts
bash "$DOCKERD_SH" start "$WORK/daemon" >/dev/null
trap 'bash "$DOCKERD_SH" stop "$WORK/daemon" >/dev/null 2>&1 || true' EXIT
export DOCKER_HOST="unix://$WORK/daemon/docker.sock"
kt() { "$KEYTOOL" --json sandbox "$@" --state-dir "$WORK/state"; }
kt up --daemon own --notary-port "$NP" --registry-port "$RP" >"$WORK/up.json"
kt play >"$WORK/play.json"
kt down --volumes >"$WORK/down.json"
docker version --format '{{.Server.Version}}' >"$WORK/still-answers"
"#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "bash", "-c", script])
        .env("HOSTS", &hosts)
        .env("WORK", work.path())
        .env("DOCKERD_SH", interop_tests::here().join("peers/dockerd.sh"))
        .env("KEYTOOL", keytool_bin())
        .env("NP", &np)
        .env("RP", &rp)
        .env_remove("DOCKER_CONFIG")
        .output()
        .expect("unshare");
    let read = |name: &str| -> Value {
        let bytes = std::fs::read(work.path().join(name)).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{name} missing or not JSON; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    exits(&out, 0);
    let up = read("up.json");
    assert_eq!(up["daemon"]["kind"], "own");
    assert_eq!(up["daemon"]["processes"], serde_json::json!([]));
    let play = read("play.json");
    assert_eq!(play["steps"].as_array().map(Vec::len), Some(8));
    let down = read("down.json");
    assert!(
        down["stopped"].as_array().is_some_and(Vec::is_empty),
        "the user's daemon is not stopped"
    );
    assert!(
        work.path().join("still-answers").exists(),
        "the user's daemon still answers after down"
    );
}
