//! The faces agree: every scenario of `tests/scenarios/passphrase_sources.json` (where a key's
//! passphrase comes from) is played through the CLI (`keytool --json status`) and the C ABI
//! (`kt_repo_status_checked_json`), and both must give the table's answer; the Go suite plays
//! the same table through `Keystore.StatusChecked` (bindings/go/keystore/faces_test.go).
//!
//! One test function: the C ABI reads the process environment, so scenarios run one at a time.

use std::ffi::{CStr, CString, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::null_mut;

use interop_tests::keytool;
use kt_ffi::*;
use serde_json::Value;

fn table() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/passphrase_sources.json");
    serde_json::from_slice(&std::fs::read(&path).expect("scenario table")).expect("table is JSON")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

/// An answer: the error code (0: none) and which source opened the targets key.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    code: i64,
    opened_by: Option<String>,
}

impl Answer {
    fn expected(v: &Value) -> Self {
        Answer {
            code: v["code"].as_i64().expect("code"),
            opened_by: v["opened_by"].as_str().map(str::to_owned),
        }
    }

    /// From a status object: the source named by `targets_passphrase`, as a kind.
    fn of_status(status: &Value) -> Self {
        assert_eq!(status["passphrase_checked"], true, "{status}");
        let opened_by = status["targets_passphrase"].as_str().map(|from| {
            if from.contains("callback") || from.starts_with("passphrase file") {
                "face"
            } else if from.contains("vault") {
                "vault"
            } else if from.ends_with("_PASSPHRASE") {
                "environment"
            } else {
                panic!("unknown source {from:?}")
            }
            .to_owned()
        });
        Answer { code: 0, opened_by }
    }
}

/// A fresh trust directory as the scenario's setup leaves it; returns it and the targets key ID.
fn prepare(work: &Path, table: &Value, scenario: &Value) -> (PathBuf, String) {
    let dir = work.join("trust");
    let gun = text(table, "gun");
    let setup_env = [
        (
            "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE",
            text(table, "root_passphrase"),
        ),
        (
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            text(table, "targets_passphrase"),
        ),
        ("KEYTOOL_VAULT_PASSPHRASE", text(table, "vault_master")),
        ("KEYTOOL_KEYRING", "none"),
    ];
    let run = |args: &[&str]| {
        let out = keytool(&dir)
            .args(args)
            .envs(setup_env)
            .output()
            .expect("keytool runs");
        assert!(
            out.status.success(),
            "setup {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["init", "--repo", gun]);
    let keys: Value = serde_json::from_slice(&run(&[
        "--json", "key", "list", "--role", "targets", "--repo", gun,
    ]))
    .expect("key list JSON");
    let targets = text(&keys[0], "id").to_owned();
    for step in scenario["setup"].as_array().into_iter().flatten() {
        let args: Vec<String> = step
            .as_array()
            .expect("a step is a list of arguments")
            .iter()
            .map(|a| a.as_str().expect("argument").replace("{targets}", &targets))
            .collect();
        run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    (dir, targets)
}

/// The scenario's environment for the query: no keyring unless it says otherwise.
fn query_env(scenario: &Value) -> Vec<(String, String)> {
    let mut env = vec![("KEYTOOL_KEYRING".to_owned(), "none".to_owned())];
    for (k, v) in scenario["env"].as_object().into_iter().flatten() {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.as_str().expect("value").to_owned()));
    }
    env
}

fn cli(dir: &Path, work: &Path, table: &Value, scenario: &Value) -> Answer {
    let mut cmd: Command = keytool(dir);
    cmd.args(["--json", "status", "--repo", text(table, "gun")]);
    if let Some(face) = scenario["face"].as_str() {
        let file = work.join("face-passphrase");
        std::fs::write(&file, face).expect("write");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        cmd.arg("--passphrase-file").arg(&file);
    }
    let out = cmd
        .envs(query_env(scenario))
        .output()
        .expect("keytool runs");
    match out.status.code() {
        // 0 ready, 1 not ready: a status object on standard output.
        Some(0 | 1) => {
            Answer::of_status(&serde_json::from_slice(&out.stdout).expect("status JSON"))
        }
        _ => {
            let err: Value = serde_json::from_slice(&out.stderr).expect("error JSON");
            Answer {
                code: err["error"]["code"].as_i64().expect("code"),
                opened_by: None,
            }
        }
    }
}

/// The callback of the C runner: `user_data` is the face's passphrase (a `CString`) or NULL; it
/// answers key requests only, never the vault master's.
unsafe extern "C" fn face(
    user_data: *mut c_void,
    req: *const kt_passphrase_request,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
) -> i32 {
    // SAFETY: `req` is the live request of this callback; `user_data` is NULL or the CString the
    // runner passed, alive for the call.
    let (vault_master, answer) = unsafe {
        (
            kt_passphrase_request_is_vault_master(req),
            user_data.cast::<CString>().as_ref(),
        )
    };
    let Some(answer) = answer.filter(|_| !vault_master) else {
        return kt_status::PassphraseRequired as i32;
    };
    let bytes = answer.as_bytes();
    assert!(bytes.len() <= buf_len);
    // SAFETY: the library passes `buf_len` writable bytes and a writable `len_out`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *len_out = bytes.len();
    }
    kt_status::Ok as i32
}

fn c_abi(dir: &Path, table: &Value, scenario: &Value) -> Answer {
    let env = query_env(scenario);
    for (k, v) in &env {
        // SAFETY: this test binary runs one test function on one thread (see the module docs).
        unsafe { std::env::set_var(k, v) };
    }
    let dir_c = CString::new(dir.to_str().expect("utf-8")).expect("no NUL");
    let gun = CString::new(text(table, "gun")).expect("no NUL");
    let mut passphrase = scenario["face"]
        .as_str()
        .map(|p| CString::new(p).expect("no NUL"));
    let user_data = passphrase
        .as_mut()
        .map_or(null_mut(), |p| (p as *mut CString).cast::<c_void>());
    let mut store = null_mut();
    let mut json = null_mut();
    // SAFETY: valid strings and out-pointers; the store is freed below.
    let status = unsafe {
        assert_eq!(
            kt_keystore_open(dir_c.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        let status = kt_repo_status_checked_json(
            store,
            gun.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            Some(face),
            user_data,
            &mut json,
            null_mut(),
        );
        kt_keystore_free(store);
        status
    };
    for (k, _) in &env {
        // SAFETY: as above.
        unsafe { std::env::remove_var(k) };
    }
    if status != kt_status::Ok {
        return Answer {
            code: i64::from(status as i32),
            opened_by: None,
        };
    }
    // SAFETY: on success `json` is a string the library returned; freed once.
    let text = unsafe {
        let text = CStr::from_ptr(json).to_str().expect("utf-8").to_owned();
        kt_string_free(json);
        text
    };
    Answer::of_status(&serde_json::from_str(&text).expect("status JSON"))
}

#[test]
fn the_cli_and_the_c_abi_answer_every_scenario_alike() {
    let table = table();
    let scenarios = table["scenarios"].as_array().expect("scenarios");
    assert!(scenarios.len() >= 8, "the table lost scenarios");
    let mut wrong = Vec::new();
    for scenario in scenarios {
        let name = text(scenario, "name");
        let expected = Answer::expected(&scenario["expect"]);
        let expected_library = scenario
            .get("expect_library")
            .map_or_else(|| Answer::expected(&scenario["expect"]), Answer::expected);
        for face in ["cli", "c"] {
            let work = tempfile::tempdir().expect("tempdir");
            let (dir, _) = prepare(work.path(), &table, scenario);
            let (got, want) = if face == "cli" {
                (cli(&dir, work.path(), &table, scenario), &expected)
            } else {
                (c_abi(&dir, &table, scenario), &expected_library)
            };
            if &got != want {
                wrong.push(format!("{name} ({face}): got {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "faces disagree with the table:\n{}",
        wrong.join("\n")
    );
}
