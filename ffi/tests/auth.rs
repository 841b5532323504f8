//! The C ABI authenticates like the CLI: against notary-server with token authentication (and the
//! test's own token issuer, `interop_tests::token`), `kt_repo_status_json` reads a public
//! repository through an anonymous token, is refused a private one with
//! `KT_STATUS_AUTHENTICATION_FAILED` (message naming repository and scope, no credential), and
//! reads it with the credentials of the process's `DOCKER_CONFIG`.
//!
//! One test function: the C ABI reads the process environment.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::null_mut;

use base64::Engine as _;
use interop_tests::token::{Policy, TokenIssuer};
use interop_tests::{Stack, keytool};
use kt_ffi::*;

const PASSWORD: &str = "ffi-Registry-Pw-4471";
const PUBLIC: &str = "127.0.0.1:5000/ffi/public";
const PRIVATE: &str = "127.0.0.1:5000/ffi/private";

/// `kt_repo_status_json` with `DOCKER_CONFIG=docker_config`: the status, or the error's status
/// and message.
fn status(trust: &Path, stack: &Stack, docker_config: &Path, gun: &str) -> (kt_status, String) {
    // SAFETY: this test binary runs one test function on one thread (see the module docs).
    unsafe { std::env::set_var("DOCKER_CONFIG", docker_config) };
    let dir = CString::new(trust.to_str().expect("utf-8")).expect("no NUL");
    let gun = CString::new(gun).expect("no NUL");
    let url = CString::new(stack.url.as_str()).expect("no NUL");
    let ca = CString::new(stack.ca.to_str().expect("utf-8")).expect("no NUL");
    let (mut store, mut json, mut err) = (null_mut(), null_mut(), null_mut());
    // SAFETY: valid strings and out-pointers; everything returned is freed once below.
    unsafe {
        assert_eq!(
            kt_keystore_open(dir.as_ptr(), &mut store, null_mut()),
            kt_status::Ok
        );
        let status = kt_repo_status_json(
            store,
            gun.as_ptr(),
            url.as_ptr(),
            ca.as_ptr(),
            &mut json,
            &mut err,
        );
        kt_keystore_free(store);
        let text = if status == kt_status::Ok {
            let t = CStr::from_ptr(json).to_str().expect("utf-8").to_owned();
            kt_string_free(json);
            t
        } else {
            let t = CStr::from_ptr(kt_error_message(err))
                .to_str()
                .expect("utf-8")
                .to_owned();
            kt_error_free(err);
            t
        };
        (status, text)
    }
}

#[test]
fn the_c_abi_uses_docker_credentials_for_tokens() {
    let work = tempfile::tempdir().expect("tmp");
    let issuer = TokenIssuer::start(
        work.path(),
        Policy {
            users: vec![("bob".into(), PASSWORD.into())],
            refresh_tokens: Vec::new(),
            public: vec![PUBLIC.into()],
        },
    );
    let options = work.path().join("auth.json");
    issuer.server_options(&options);
    let Some(stack) = Stack::start_with_token_auth(&options) else {
        return;
    };
    let none = work.path().join("none");
    let creds = work.path().join("creds");
    std::fs::create_dir_all(&none).expect("mkdir");
    std::fs::create_dir_all(&creds).expect("mkdir");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("bob:{PASSWORD}"));
    std::fs::write(
        creds.join("config.json"),
        serde_json::json!({"auths": {"127.0.0.1:5000": {"auth": auth}}}).to_string(),
    )
    .expect("write");
    // Published with the CLI and the credentials.
    let publisher = work.path().join("publisher");
    for gun in [PUBLIC, PRIVATE] {
        let out = keytool(&publisher)
            .env("DOCKER_CONFIG", &creds)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "ffi-root-pass-1")
            .env(
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "ffi-repo-pass-1",
            )
            .args(["init", "--repo", gun, "--server", &stack.url, "--tlscacert"])
            .arg(&stack.ca)
            .output()
            .expect("keytool runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let trust = work.path().join("reader");
    let (code, text) = status(&trust, &stack, &none, PUBLIC);
    assert_eq!(code, kt_status::Ok, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["published"], true, "{json}");

    let (code, text) = status(&trust, &stack, &none, PRIVATE);
    assert_eq!(code, kt_status::AuthenticationFailed, "{text}");
    assert_eq!(code as i32, 43);
    assert!(
        text.contains(&format!("repository:{PRIVATE}:pull")),
        "{text}"
    );

    let (code, text) = status(&trust, &stack, &creds, PRIVATE);
    assert_eq!(code, kt_status::Ok, "{text}");
    assert!(!text.contains(PASSWORD) && !text.contains(&auth));
    // SAFETY: as above.
    unsafe { std::env::remove_var("DOCKER_CONFIG") };
    assert!(
        issuer
            .issued()
            .iter()
            .any(|i| i.who == "bob" && i.asked == [format!("repository:{PRIVATE}:pull")]),
        "{:?}",
        issuer.issued()
    );
}
