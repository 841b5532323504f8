//! The content trust sandbox end to end, everything real on loopback: a private dockerd (vfs, no
//! iptables, no bridge, its own socket), notary-server with TLS and docker-registry, and a
//! busybox-based `trustsandbox` container with the static docker client, host networking and the
//! daemon's socket mounted. keytool holds every key and passphrase:
//!
//! 1. `keytool init --server` pre-seeds and publishes; `keytool provision --container`;
//! 2. `keytool sandbox push` signs with no prompt; `docker trust inspect` and `notary list` show
//!    keytool's targets key; no new key file appears in the container;
//! 3. the image is removed; `keytool sandbox pull` pulls by the signed digest;
//! 4. a tampered layer blob is refused as a verification failure, and so is an unsigned tag;
//! 5. `keytool rotate`, provision again, push again: signed by the new key; the pull succeeds;
//! 6. `keytool signer add alice --generate`, `provision --signer alice` (her key only): `docker
//!    trust sign` in the container signs as alice, and a content-trust pull gets her digest;
//! 7. `keytool sign GUN:direct --digest D --size N --as alice` (the registry asked first; a wrong
//!    size and an unknown digest are refused): a content-trust pull of `direct` gets exactly D;
//! 8. `keytool archive` of the repository; with the Notary server stopped, `archive verify`
//!    verifies it offline and its inventory holds the digests docker reported;
//! 9. `keytool migrate sigstore` of the tags docker pushed and signed: sigstore-rs verifies each
//!    of them in the registry with the public key keytool wrote, and refuses another key.
//!
//! Each step's wall time is printed (never asserted). The test starts and stops only its own
//! processes, by PID (tests/peers/dockerd.sh and notary-stack.sh), and removes its containers
//! and files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use interop_tests::{have, here, keytool, ok, stdout};

#[path = "support/sigstore_judge.rs"]
mod sigstore_judge;

const ROOT_PW: &str = "sandbox-root-canary-7731";
const REPO_PW: &str = "sandbox-repo-canary-4402";
const ALICE_PW: &str = "sandbox-alice-canary-6128";
const CONTAINER: &str = "keytool-e2e-trustsandbox";
const STATIC_DOCKER: &str = "/usr/local/bin/docker";

/// notary-server and docker-registry on loopback, stopped on drop.
struct Stack {
    dir: tempfile::TempDir,
    url: String,
    ca: PathBuf,
    registry: String,
}

impl Stack {
    fn start() -> Stack {
        let dir = tempfile::tempdir().expect("tmp");
        let mut stack = Stack {
            dir,
            url: String::new(),
            ca: PathBuf::new(),
            registry: String::new(),
        };
        ok(Command::new("bash")
            .arg(here().join("peers/notary-stack.sh"))
            .arg("start")
            .arg(stack.dir.path())
            .args(["--registry-port", "0"]));
        let env = std::fs::read_to_string(stack.dir.path().join("env")).expect("env");
        let get = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_owned())
                .unwrap_or_else(|| panic!("{k} missing in the stack's env"))
        };
        stack.url = get("NOTARY_URL");
        stack.ca = PathBuf::from(get("NOTARY_CA"));
        stack.registry = get("REGISTRY_HOST");
        stack
    }

    fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir
            .path()
            .join("registry-data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(here().join("peers/notary-stack.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// A private dockerd and the trustsandbox container on it, stopped (containers removed, daemon
/// stopped by PID, mounts released) on drop.
struct Daemon {
    dir: tempfile::TempDir,
    host: String,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("tmp");
        let d = Daemon {
            host: format!("unix://{}/docker.sock", dir.path().display()),
            dir,
        };
        let script = here().join("peers/dockerd.sh");
        ok(Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(d.dir.path()));
        ok(Command::new("bash")
            .arg(&script)
            .arg("sandbox")
            .arg(d.dir.path())
            .args(["--name", CONTAINER]));
        d
    }

    /// The static docker client on this machine, talking to the private daemon.
    fn docker(&self) -> Command {
        let mut cmd = Command::new(STATIC_DOCKER);
        clean(&mut cmd);
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.dir.path().join("client-config"));
        cmd
    }

    /// The docker client inside the container (no content trust unless asked).
    fn in_container(&self, args: &[&str]) -> Command {
        let mut cmd = self.docker();
        cmd.args(["exec", CONTAINER, "docker"]).args(args);
        cmd
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(here().join("peers/dockerd.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

fn clean(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE") || k.starts_with("DOCKER_") || k.starts_with("KEYTOOL_") {
            cmd.env_remove(k);
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Files (name -> bytes) under a directory of the container, read with `docker cp`.
fn container_tree(daemon: &Daemon, path: &str) -> Vec<u8> {
    let out = daemon
        .docker()
        .args(["cp", &format!("{CONTAINER}:{path}"), "-"])
        .output()
        .expect("docker cp");
    out.stdout
}

fn key_files(daemon: &Daemon) -> Vec<String> {
    let out = ok(daemon
        .docker()
        .args(["exec", CONTAINER, "ls", "/root/.docker/trust/private"]));
    let mut names: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// The layer digests of a manifest stored in the registry.
fn layers(stack: &Stack, manifest: &str) -> Vec<String> {
    let bytes = std::fs::read(stack.blob(manifest)).expect("manifest blob");
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest JSON");
    json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("digest").to_owned())
        .collect()
}

/// Replaces every image of the repository in the daemon, so the next pull downloads.
fn remove_images(daemon: &Daemon, repo: &str) {
    let out = ok(daemon.docker().args(["images", "-q", repo]));
    let mut ids: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    ids.sort();
    ids.dedup();
    if !ids.is_empty() {
        ok(daemon.docker().args(["rmi", "-f"]).args(&ids));
    }
}

/// A one-file image tagged `reference`, made with `docker import`.
fn make_image(daemon: &Daemon, reference: &str, content: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("hello.txt"), content).expect("write");
    let tar = dir.path().join("rootfs.tar");
    ok(Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .arg("-cf")
        .arg(&tar)
        .arg("hello.txt"));
    ok(daemon.docker().arg("import").arg(&tar).arg(reference));
}

struct Timer {
    started: Instant,
    steps: Vec<(String, f64)>,
}

impl Timer {
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        let secs = t.elapsed().as_secs_f64();
        eprintln!("TIME {name}: {secs:.2} s");
        self.steps.push((name.to_owned(), secs));
        out
    }
}

#[test]
fn sandbox_push_pull_tamper_rotate() {
    if !(have("dockerd")
        && have("busybox")
        && have("notary-server")
        && have("notary")
        && have("docker-registry")
        && have(STATIC_DOCKER))
    {
        return;
    }
    let mut timer = Timer {
        started: Instant::now(),
        steps: Vec::new(),
    };
    let stack = timer.time("start notary-server + registry", Stack::start);
    let daemon = timer.time("start dockerd + trustsandbox", Daemon::start);
    let trust = tempfile::tempdir().expect("tmp");
    let gun = format!("{}/test/trusttest", stack.registry);
    let image = format!("{gun}:latest");
    // Every docker command keytool runs goes through a shim that logs its argv, so the test can
    // prove no passphrase ever appears in a child's command line.
    let shim = tempfile::tempdir().expect("tmp");
    let argv_log = shim.path().join("argv.log");
    let shim_docker = shim.path().join("docker");
    std::fs::write(
        &shim_docker,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec {STATIC_DOCKER} \"$@\"\n",
            argv_log.display()
        ),
    )
    .expect("shim");
    std::fs::set_permissions(
        &shim_docker,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let shim_path = format!("{}:{}", shim.path().display(), path_with_static_docker());

    let kt = || {
        let mut cmd = keytool(trust.path());
        cmd.env("KEYTOOL_ROOT_PASSPHRASE", ROOT_PW)
            .env("KEYTOOL_TARGETS_PASSPHRASE", REPO_PW)
            .env("KEYTOOL_DELEGATION_PASSPHRASE", ALICE_PW)
            .env("DOCKER_HOST", &daemon.host)
            .env("DOCKER_CONFIG", daemon.dir.path().join("client-config"))
            .env("PATH", &shim_path);
        cmd
    };
    let with_server = |cmd: &mut Command| {
        cmd.args(["--server", &stack.url, "--tlscacert"])
            .arg(&stack.ca);
    };
    let run = |args: &[&str]| {
        let mut cmd = kt();
        cmd.args(args);
        with_server(&mut cmd);
        cmd.output().expect("keytool runs")
    };
    let mut keytool_secs = 0.0;
    let mut timed_kt = |timer: &mut Timer, name: &str, args: &[&str]| {
        let out = timer.time(name, || run(args));
        keytool_secs += timer.steps.last().map_or(0.0, |s| s.1);
        out
    };

    // 1. Pre-seed and publish; provision the targets key and the CA into the container.
    let out = timed_kt(
        &mut timer,
        "1 keytool init --server",
        &["--notary-compat", "--json", "init", "--repo", &gun],
    );
    assert!(out.status.success(), "init: {}", stderr(&out));
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let targets_key = init["keys"]["targets"]
        .as_str()
        .expect("targets")
        .to_owned();
    let root_key = init["keys"]["root"].as_str().expect("root").to_owned();
    let out = timed_kt(
        &mut timer,
        "1 keytool provision --container",
        &["provision", "--repo", &gun, "--container", CONTAINER],
    );
    assert!(out.status.success(), "provision: {}", stderr(&out));
    let provisioned = key_files(&daemon);
    assert_eq!(provisioned, vec![format!("{targets_key}.key")]);
    assert!(
        !provisioned.contains(&format!("{root_key}.key")),
        "the root key stays offline"
    );
    let mode = ok(daemon.docker().args([
        "exec",
        CONTAINER,
        "stat",
        "-c",
        "%a %u",
        &format!("/root/.docker/trust/private/{targets_key}.key"),
        "/root/.docker/trust/private",
    ]));
    assert_eq!(stdout(&mode), "600 0\n700 0\n");
    // Idempotent.
    let again = run(&["provision", "--repo", &gun, "--container", CONTAINER]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("Already there"));

    // The same into a local docker config directory (for pushes from the host), with the root.
    let config = tempfile::tempdir().expect("tmp");
    let local = config.path().join("docker");
    let out = run(&[
        "provision",
        "--repo",
        &gun,
        "--with-root",
        "--dir",
        local.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "provision --dir: {}", stderr(&out));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .expect("provisioned")
                .permissions()
                .mode()
                & 0o777
        };
        let private = local.join("trust/private");
        assert_eq!(mode(&private), 0o700);
        for id in [&targets_key, &root_key] {
            assert_eq!(mode(&private.join(format!("{id}.key"))), 0o600);
        }
        let host = stack.url.trim_start_matches("https://");
        assert_eq!(
            std::fs::read(local.join("tls").join(host).join("ca.crt")).expect("CA"),
            std::fs::read(&stack.ca).expect("CA")
        );
    }

    // 2. Push with no prompt (no terminal, --non-interactive): signed by keytool's key.
    make_image(&daemon, &image, "first");
    let out = timed_kt(
        &mut timer,
        "2 keytool sandbox push",
        &["sandbox", "push", &image, "--container", CONTAINER],
    );
    assert!(out.status.success(), "push: {}", stderr(&out));
    let digest = stdout(&out).trim().to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert!(
        stderr(&out).contains("Successfully signed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        key_files(&daemon),
        provisioned,
        "docker created a key file in the container"
    );
    let inspect = timer.time("2 docker trust inspect", || {
        ok(daemon
            .docker()
            .env("DOCKER_CONTENT_TRUST_SERVER", &stack.url)
            .args(["exec", "-e", "DOCKER_CONTENT_TRUST_SERVER", CONTAINER])
            .args(["docker", "trust", "inspect", &gun]))
    });
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("JSON");
    let signed = &inspect[0]["SignedTags"][0];
    assert_eq!(signed["SignedTag"], "latest");
    assert_eq!(
        format!("sha256:{}", signed["Digest"].as_str().expect("digest")),
        digest
    );
    let admin = inspect[0]["AdministrativeKeys"].as_array().expect("keys");
    assert!(
        admin
            .iter()
            .any(|k| k["Name"] == "Repository" && k["Keys"][0]["ID"] == targets_key.as_str()),
        "{inspect}"
    );
    let list = timer.time("2 notary list", || {
        ok(Command::new("notary")
            .arg("-d")
            .arg(trust.path())
            .args(["-s", &stack.url, "--tlscacert"])
            .arg(&stack.ca)
            .args(["list", &gun]))
    });
    let list = stdout(&list);
    assert!(
        list.lines()
            .any(|l| l.starts_with("latest") && l.contains(&digest[7..]) && l.contains("targets")),
        "{list}"
    );
    // Passphrases never reached a file in the container (or keytool's output).
    for path in ["/root", "/tmp", "/etc"] {
        let bytes = container_tree(&daemon, path);
        for pw in [ROOT_PW, REPO_PW] {
            assert!(
                !bytes.windows(pw.len()).any(|w| w == pw.as_bytes()),
                "a passphrase is in {path} in the container"
            );
        }
    }
    for pw in [ROOT_PW, REPO_PW] {
        assert!(!stdout(&out).contains(pw) && !stderr(&out).contains(pw));
    }

    // 3. Remove the image; pull by the signed digest.
    remove_images(&daemon, &gun);
    let out = timed_kt(
        &mut timer,
        "3 keytool sandbox pull",
        &["sandbox", "pull", &image, "--container", CONTAINER],
    );
    assert!(out.status.success(), "pull: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), digest);
    assert!(
        stderr(&out).contains(&format!("@{digest}")),
        "{}",
        stderr(&out)
    );

    // 4. Tamper with the layer (same length: only its digest betrays it): refused.
    let layer = layers(&stack, &digest).pop().expect("a layer");
    let blob = stack.blob(&layer);
    let mut bytes = std::fs::read(&blob).expect("blob");
    let n = bytes.len();
    for b in &mut bytes[n / 4..n - 8] {
        *b ^= 0x5a;
    }
    std::fs::write(&blob, &bytes).expect("tamper");
    remove_images(&daemon, &gun);
    let out = timed_kt(
        &mut timer,
        "4 keytool sandbox pull (tampered)",
        &["sandbox", "pull", &image, "--container", CONTAINER],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Error: Content trust verification failed"),
        "{}",
        stderr(&out)
    );
    // An unsigned tag, pushed without content trust, is refused under content trust.
    let unsigned = format!("{gun}:unsigned");
    make_image(&daemon, &unsigned, "unsigned");
    ok(&mut daemon.in_container(&["push", &unsigned]));
    let out = timed_kt(
        &mut timer,
        "4 keytool sandbox pull (unsigned)",
        &["sandbox", "pull", &unsigned, "--container", CONTAINER],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Error: Content trust verification failed")
            && stderr(&out).contains("not signed"),
        "{}",
        stderr(&out)
    );

    // 5. Rotate, provision again, push again: signed by the new key; the pull succeeds.
    let out = timed_kt(
        &mut timer,
        "5 keytool rotate",
        &["--notary-compat", "--json", "rotate", "--repo", &gun],
    );
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let new_key = {
        let mut cmd = kt();
        cmd.args(["key", "list", "--role", "targets", "--repo", &gun, "--json"]);
        let listed: serde_json::Value = serde_json::from_slice(&ok(&mut cmd).stdout).expect("JSON");
        listed[0]["id"].as_str().expect("id").to_owned()
    };
    assert_ne!(new_key, targets_key);
    let out = timed_kt(
        &mut timer,
        "5 keytool provision again",
        &["provision", "--repo", &gun, "--container", CONTAINER],
    );
    assert!(out.status.success(), "provision: {}", stderr(&out));
    make_image(&daemon, &image, "second");
    let out = timed_kt(
        &mut timer,
        "5 keytool sandbox push again",
        &[
            "--json",
            "sandbox",
            "push",
            &image,
            "--container",
            CONTAINER,
        ],
    );
    assert!(out.status.success(), "push: {}", stderr(&out));
    let pushed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(pushed["signed_by"], serde_json::json!([new_key]));
    let digest2 = pushed["digest"].as_str().expect("digest").to_owned();
    assert_ne!(digest2, digest);
    let mut expected_keys = vec![format!("{targets_key}.key"), format!("{new_key}.key")];
    expected_keys.sort();
    assert_eq!(key_files(&daemon), expected_keys);
    remove_images(&daemon, &gun);
    let out = timed_kt(
        &mut timer,
        "5 keytool sandbox pull",
        &["sandbox", "pull", &image, "--container", CONTAINER],
    );
    assert!(out.status.success(), "pull: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), digest2);

    // 6. A signer: keytool generates alice's key and adds her; her key alone goes into the
    //    container; docker trust sign there signs as alice; the pull gets what she signed.
    let out = timed_kt(
        &mut timer,
        "6 keytool signer add",
        &[
            "--json",
            "signer",
            "add",
            "alice",
            "--repo",
            &gun,
            "--generate",
        ],
    );
    assert!(out.status.success(), "signer add: {}", stderr(&out));
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let alice_key = added["key_id"].as_str().expect("key").to_owned();
    let out = timed_kt(
        &mut timer,
        "6 keytool provision --signer alice",
        &[
            "provision",
            "--repo",
            &gun,
            "--container",
            CONTAINER,
            "--signer",
            "alice",
        ],
    );
    assert!(out.status.success(), "provision: {}", stderr(&out));
    expected_keys.push(format!("{alice_key}.key"));
    expected_keys.sort();
    assert_eq!(key_files(&daemon), expected_keys);
    let alice_image = format!("{gun}:alice");
    make_image(&daemon, &alice_image, "signed by alice");
    let sign = timer.time("6 docker trust sign (as alice)", || {
        daemon
            .docker()
            .env("DOCKER_CONTENT_TRUST_SERVER", &stack.url)
            .env("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", ALICE_PW)
            .args(["exec", "-e", "DOCKER_CONTENT_TRUST_SERVER"])
            .args([
                "-e",
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                CONTAINER,
            ])
            .args(["docker", "trust", "sign", &alice_image])
            .output()
            .expect("docker runs")
    });
    assert!(
        sign.status.success(),
        "docker trust sign: {}",
        stderr(&sign)
    );
    let inspect = ok(daemon
        .docker()
        .env("DOCKER_CONTENT_TRUST_SERVER", &stack.url)
        .args(["exec", "-e", "DOCKER_CONTENT_TRUST_SERVER", CONTAINER])
        .args(["docker", "trust", "inspect", &gun]));
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("JSON");
    let by_alice = inspect[0]["SignedTags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["SignedTag"] == "alice"))
        .unwrap_or_else(|| panic!("no tag alice: {inspect}"));
    assert_eq!(
        by_alice["Signers"],
        serde_json::json!(["alice"]),
        "{inspect}"
    );
    let alice_digest = format!("sha256:{}", by_alice["Digest"].as_str().expect("digest"));
    remove_images(&daemon, &gun);
    let out = timed_kt(
        &mut timer,
        "6 keytool sandbox pull (signed by alice)",
        &["sandbox", "pull", &alice_image, "--container", CONTAINER],
    );
    assert!(out.status.success(), "pull: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), alice_digest);

    // 7. Sign a digest directly (no push): the second "latest" manifest as tag "direct".
    let size = manifest_size(&stack, &digest2);
    let direct = format!("{gun}:direct");
    let size_text = size.to_string();
    let wrong_size = (size + 1).to_string();
    let unknown = format!("sha256:{}", "0".repeat(64));
    for (digest, size) in [(&digest2, &wrong_size), (&unknown, &size_text)] {
        let out = run(&[
            "sign", &direct, "--digest", digest, "--size", size, "--as", "alice",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("Nothing was signed"),
            "{}",
            stderr(&out)
        );
    }
    let out = timed_kt(
        &mut timer,
        "7 keytool sign --digest (registry checked)",
        &[
            "--json", "sign", &direct, "--digest", &digest2, "--size", &size_text, "--as", "alice",
        ],
    );
    assert!(out.status.success(), "sign: {}", stderr(&out));
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        signed["checked_registry"],
        format!("http://{}", stack.registry).as_str()
    );
    remove_images(&daemon, &gun);
    let out = timed_kt(
        &mut timer,
        "7 keytool sandbox pull (signed by keytool sign)",
        &["sandbox", "pull", &direct, "--container", CONTAINER],
    );
    assert!(out.status.success(), "pull: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), digest2);

    // 8. Archive the repository whose tags docker pushed and signed (keytool archive).
    let archive_dir = tempfile::tempdir().expect("tmp");
    let archive = archive_dir.path().join("trusttest.tar");
    let archive_arg = archive.to_str().expect("UTF-8 path").to_owned();
    let out = timed_kt(
        &mut timer,
        "8 keytool archive",
        &["--json", "archive", "--repo", &gun, "-o", &archive_arg],
    );
    assert!(out.status.success(), "archive: {}", stderr(&out));

    // 9. The signatures docker made, migrated to cosign signatures in the registry.
    let public = archive_dir.path().join("cosign.pub");
    let public_arg = public.to_str().expect("UTF-8 path").to_owned();
    let out = timed_kt(
        &mut timer,
        "9 keytool migrate sigstore",
        &[
            "--json",
            "migrate",
            "sigstore",
            "--repo",
            &gun,
            "--generate",
            "--public-key-out",
            &public_arg,
        ],
    );
    assert!(out.status.success(), "migrate sigstore: {}", stderr(&out));
    let migrated: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        sigstore_judge::outcomes(&migrated),
        sigstore_judge::expected(&[(&digest2, "signed"), (&alice_digest, "signed")])
    );
    let pem = std::fs::read(&public).expect("public key");
    let other = keystore::key::PrivateKey::generate_ecdsa().expect("key");
    let other_pem = keystore::key::interchange::public_pem(other.public());
    // `direct` is a tag of the trust data only (keytool sign), not of the registry: by digest.
    for image in [
        format!("{gun}:latest"),
        format!("{gun}:alice"),
        format!("{gun}@{digest2}"),
    ] {
        sigstore_judge::sigstore_verifies(&image, &pem, None)
            .unwrap_or_else(|e| panic!("sigstore-rs refuses migrated {image}: {e}"));
        assert!(
            sigstore_judge::sigstore_verifies(&image, other_pem.as_bytes(), None).is_err(),
            "sigstore-rs accepts {image} against another key"
        );
    }

    let total = timer.started.elapsed().as_secs_f64();
    eprintln!(
        "TIME whole flow: {total:.2} s; keytool commands {keytool_secs:.2} s (docker inside them included)"
    );

    // No passphrase in any argv of the docker commands keytool ran (exec, cp, version, ...).
    let argv = std::fs::read_to_string(&argv_log).expect("the docker shim was used");
    assert!(
        argv.lines().count() >= 10,
        "too few docker calls logged: {argv}"
    );
    assert!(argv.contains("exec"), "{argv}");
    for secret in [ROOT_PW, REPO_PW, ALICE_PW] {
        assert!(
            !argv.contains(secret),
            "a passphrase reached a docker argv: {argv}"
        );
    }
    drop(daemon);
    drop(stack);

    // 8. With the Notary server gone, the archive verifies offline, and its inventory holds the
    // digests docker reported.
    let out = keytool(trust.path())
        .args(["--json", "archive", "verify"])
        .arg(&archive)
        .args(["--repo", &gun])
        .output()
        .expect("keytool runs");
    assert!(out.status.success(), "archive verify: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let tags = report["inventory"]["tags"].as_array().expect("tags");
    for (tag, digest) in [
        ("latest", &digest2),
        ("alice", &alice_digest),
        ("direct", &digest2),
    ] {
        assert!(
            tags.iter()
                .any(|t| t["tag"] == tag && t["digest"] == digest.as_str()),
            "{tag} as {digest} is not in the archive: {report}"
        );
    }
}

/// The size of manifest `digest` in the stack's registry (a plain HTTP HEAD on loopback,
/// independent of keytool's own registry check).
fn manifest_size(stack: &Stack, digest: &str) -> u64 {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(&stack.registry).expect("registry");
    write!(
        conn,
        "HEAD /v2/test/trusttest/manifests/{digest} HTTP/1.0\r\nHost: {}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json\r\n\r\n",
        stack.registry
    )
    .expect("request");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("answer");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    answer
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("Content-Length")
}

/// PATH with /usr/local/bin first, so that keytool's `docker` is the static client.
fn path_with_static_docker() -> String {
    let dir = Path::new(STATIC_DOCKER)
        .parent()
        .expect("dir")
        .display()
        .to_string();
    match std::env::var("PATH") {
        Ok(p) => format!("{dir}:{p}"),
        Err(_) => dir,
    }
}
