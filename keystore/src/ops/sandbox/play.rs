//! `play`: the seed's walkthrough, step by step, with keytool's managed keys. Every step is
//! checked against what the seed says happens; one that behaves otherwise ends the walkthrough
//! with an error that names it.
//!
//! The keys live in the sandbox's own trust directory (`<state>/trust`); their passphrases are
//! generated and kept in that directory's vault, whose master passphrase is a generated file
//! (`<state>/vault-master`, mode 0600): nobody types a passphrase, and nothing of the user's own
//! trust directory, keyring or vault is touched.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::images;
use super::layout::SandboxSettings;
use super::lifecycle::{Connected, blob_path, connected};
use super::trust::{ImageRef, SandboxOptions, pull, push};
use crate::error::{Error, Result};
use crate::ids::Role;
use crate::ops::provision::CONTAINER_CONFIG_DIR;
use crate::ops::{
    DockerCli, Initialized, KdfSettings, NewKeyPassphrase, ProvisionOptions, RotateOptions, Target,
    init, provision, rotate, vault_init,
};
use crate::passphrase::policy::Policy;
use crate::passphrase::store::generate_passphrase;
use crate::passphrase::vault::{KdfParams, vault_path};
use crate::trust_dir::{TrustDir, write_atomic};

/// What the seed writes over a layer.
const MALICIOUS: &[u8] = b"Malicious data\n";
/// Largest layer blob saved to restore after the tamper step.
const MAX_LAYER: u64 = 256 << 20;

/// One step of the walkthrough.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlayStep {
    /// 1, 2, …
    pub number: u32,
    /// What the step does.
    pub title: String,
    /// What happened, checked against what the seed says.
    pub outcome: String,
    /// How long it took, in milliseconds.
    pub took_ms: u128,
}

/// What [`play`] did.
#[derive(Clone, Debug, Serialize)]
pub struct PlayReport {
    /// The repository played with.
    pub repository: String,
    /// Every step, in order.
    pub steps: Vec<PlayStep>,
    /// The root key.
    pub root_key: String,
    /// The targets key `docker push` signed with first.
    pub targets_key: String,
    /// The targets key after `rotate`.
    pub rotated_targets_key: String,
    /// The signed digest of the first push.
    pub digest: String,
    /// Key files in the client container's trust directory at the end: only those keytool
    /// provisioned.
    pub container_keys: Vec<String>,
    /// The whole walkthrough, in milliseconds.
    pub took_ms: u128,
}

/// The steps played so far.
struct Steps<'a> {
    list: Vec<PlayStep>,
    on_step: &'a dyn Fn(&PlayStep),
}

impl Steps<'_> {
    /// The number of the step being played.
    fn next(&self) -> u32 {
        u32::try_from(self.list.len() + 1).unwrap_or(u32::MAX)
    }

    /// Stops the walkthrough between steps once `stop` says so (an interrupt).
    fn go_on(&self, stop: &dyn Fn() -> bool) -> Result<()> {
        if stop() {
            return Err(interrupted(self.next()));
        }
        Ok(())
    }

    /// Records the step being played as done, and reports it.
    fn done(&mut self, title: &str, started: Instant, outcome: String) {
        let step = PlayStep {
            number: self.next(),
            title: title.to_owned(),
            outcome,
            took_ms: started.elapsed().as_millis(),
        };
        (self.on_step)(&step);
        self.list.push(step);
    }
}

/// The walkthrough was interrupted before or during step `number`.
fn interrupted(number: u32) -> Error {
    Error::Sandbox {
        action: format!("play step {number}"),
        reason: "interrupted; the steps before it are done and the sandbox stays up (taking it down and bringing it up again starts a fresh walkthrough)".into(),
    }
}

fn step_failed(number: u32, title: &str, reason: impl Into<String>) -> Error {
    Error::Sandbox {
        action: format!("play step {number} ({title})"),
        reason: reason.into(),
    }
}

/// The passphrase policy of the sandbox's trust directory: generated passphrases in its vault,
/// the vault's master passphrase in a generated file; no keyring, no environment, no prompt.
pub(super) fn sandbox_policy(settings: &SandboxSettings) -> Result<Policy> {
    let master = settings.vault_master_file();
    if !master.exists() {
        let secret = generate_passphrase()?;
        let mut line = secret.expose().to_vec();
        line.push(b'\n');
        let written = write_atomic(&settings.state_dir, "vault-master", &line, false);
        zeroize::Zeroize::zeroize(&mut line);
        written?;
    }
    let dir = TrustDir::new(settings.trust_dir());
    let policy = Policy::new(dir, |k| {
        (k == "KEYTOOL_KEYRING").then(|| std::ffi::OsString::from("none"))
    })?
    .with_vault_master_file(Some(master))
    .with_generated(|_| {});
    if !vault_path(policy.dir()).exists() {
        vault_init(&policy, KdfParams::DEFAULT)?;
    }
    Ok(policy)
}

/// Key files in the client container's trust directory.
fn container_keys(docker: &DockerCli, client: &str) -> BTreeSet<String> {
    docker
        .run(
            "the sandbox",
            "list the client's keys",
            &[
                "exec",
                "--",
                client,
                "ls",
                &format!("{CONTAINER_CONFIG_DIR}/trust/private"),
            ],
            None,
            1 << 16,
        )
        .map(|o| {
            String::from_utf8_lossy(&o)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Tags the walkthrough's image (built again if a pull step removed it) as `image`.
fn tag_play_image(docker: &DockerCli, source: images::ImageSource, image: &ImageRef) -> Result<()> {
    let play = images::ensure(docker, source, &["play"])?
        .pop()
        .map(|b| b.tag)
        .unwrap_or_default();
    docker.run(
        "the sandbox",
        "tag the walkthrough's image",
        &["tag", "--", &play, &image.reference()],
        None,
        4096,
    )?;
    Ok(())
}

/// Removes every local copy of `reference`'s image from the daemon (by image ID, so other tags
/// holding the same layers go too): the next pull must download, and so verify, every layer.
fn forget_image(docker: &DockerCli, reference: &str) -> Result<()> {
    let id = docker.run(
        "the sandbox",
        "find the image",
        &["image", "inspect", "--format", "{{.Id}}", "--", reference],
        None,
        4096,
    );
    if let Ok(id) = id {
        let id = String::from_utf8_lossy(&id).trim().to_owned();
        docker.run(
            "the sandbox",
            "remove the image",
            &["rmi", "-f", "--", &id],
            None,
            1 << 16,
        )?;
    }
    Ok(())
}

/// Plays the walkthrough on the sandbox that is up in `settings.state_dir`. `on_step` hears
/// each step as it ends, `on_output` docker's output as it comes. Once `stop` says so (the face
/// saw an interrupt), the walkthrough ends between steps; a step that fails meanwhile (docker
/// got the interrupt too) is reported as interrupted. A tampered layer is put back either way.
pub fn play(
    settings: &SandboxSettings,
    kdf: &KdfSettings,
    on_step: &dyn Fn(&PlayStep),
    on_output: &dyn Fn(&str),
    stop: &dyn Fn() -> bool,
) -> Result<PlayReport> {
    let done = std::cell::Cell::new(0u32);
    let count = |step: &PlayStep| {
        done.set(step.number);
        on_step(step);
    };
    walkthrough(settings, kdf, &count, on_output, stop).map_err(|e| {
        if stop() {
            interrupted(done.get() + 1)
        } else {
            e
        }
    })
}

fn walkthrough(
    settings: &SandboxSettings,
    kdf: &KdfSettings,
    on_step: &dyn Fn(&PlayStep),
    on_output: &dyn Fn(&str),
    stop: &dyn Fn() -> bool,
) -> Result<PlayReport> {
    let started = Instant::now();
    let Connected {
        record,
        docker,
        server,
    } = connected(settings)?;
    let s = &record.settings;
    let gun = s.repository()?;
    let n = &s.names;
    let container_server = s.container_server();
    let options = SandboxOptions {
        docker: &docker,
        container: &n.client,
        server: &server,
        container_server: Some(&container_server),
        on_output,
    };
    let latest = ImageRef::parse(&format!("{gun}:latest"))?;
    let v2 = ImageRef::parse(&format!("{gun}:v2"))?;
    let mut steps = Steps {
        list: Vec::new(),
        on_step,
    };

    // 1. The repository has no trust data yet: a content-trust pull is refused.
    let title = "docker pull of the unsigned repository";
    let t = Instant::now();
    if server.get(&gun, "root.json")?.is_some() {
        return Err(step_failed(
            1,
            title,
            format!(
                "{gun} already has trust data on this sandbox's Notary server (the walkthrough ran here before); take the sandbox down and bring it up again for a fresh one"
            ),
        ));
    }
    let dir = TrustDir::new(s.trust_dir());
    match pull(&dir, &latest, &options) {
        Err(Error::VerificationFailed { reason, .. }) => {
            steps.done(title, t, format!("refused, as the seed says: {reason}"));
        }
        Err(e) => {
            return Err(step_failed(
                1,
                title,
                format!("expected \"does not have trust data\", got: {e}"),
            ));
        }
        Ok(p) => {
            return Err(step_failed(
                1,
                title,
                format!(
                    "the pull of an unsigned repository succeeded ({})",
                    p.digest
                ),
            ));
        }
    }

    steps.go_on(stop)?;
    // 2. keytool creates the root and repository keys and publishes the repository.
    let title = "keytool init: root and repository keys, published";
    let t = Instant::now();
    let policy = sandbox_policy(s)?;
    let source = policy.unlock();
    let published = match init(&dir, &source, &gun, Some(&server), false, kdf)? {
        Initialized::Published(p) => p,
        Initialized::Preseeded(_) => {
            return Err(step_failed(
                steps.next(),
                title,
                "the repository was not published",
            ));
        }
    };
    let root_key = published.keys.root.to_string();
    let targets_key = published.keys.targets.to_string();
    steps.done(
        title,
        t,
        format!("root key {root_key}, repository key {targets_key}; passphrases generated and kept in the sandbox's vault"),
    );

    steps.go_on(stop)?;
    // 3. The repository key goes into trustsandbox (never the root key).
    let title = "keytool provision: the repository key into the client container";
    let t = Instant::now();
    let target = Target::Container {
        docker: docker.clone(),
        name: n.client.clone(),
    };
    let provision_options = ProvisionOptions {
        with_root: false,
        server: Some(&server),
        ca: None,
        signers: &[],
    };
    let provisioned = provision(&dir, &gun, &target, &provision_options)?;
    let mut expected_keys: BTreeSet<String> = [format!("{targets_key}.key")].into_iter().collect();
    steps.done(
        title,
        t,
        format!(
            "{} file(s) in {}:{CONTAINER_CONFIG_DIR}/trust/private",
            provisioned.files.len(),
            n.client
        ),
    );

    steps.go_on(stop)?;
    // 4. docker push in trustsandbox signs with that key and creates none of its own.
    let title = "docker push with content trust, signed by keytool's key";
    let t = Instant::now();
    tag_play_image(&docker, s.images, &latest)?;
    let pushed = push(&dir, &source, &latest, &options, kdf)?;
    let keys = container_keys(&docker, &n.client);
    let n4 = steps.next();
    if !pushed.signed_by.contains(&targets_key) {
        return Err(step_failed(
            n4,
            title,
            format!(
                "signed by {:?}, not by keytool's key {targets_key}",
                pushed.signed_by
            ),
        ));
    }
    if keys != expected_keys {
        return Err(step_failed(
            n4,
            title,
            format!(
                "the client's trust directory holds {keys:?}, expected only {expected_keys:?}: docker made a key of its own"
            ),
        ));
    }
    steps.done(
        title,
        t,
        format!(
            "{} signed by {targets_key} ({}); no new key in the container",
            pushed.digest, pushed.method
        ),
    );

    steps.go_on(stop)?;
    // 5. The image leaves the local cache and is pulled again, verified.
    let title = "docker pull with content trust, verified by digest";
    let t = Instant::now();
    forget_image(&docker, &latest.reference())?;
    let pulled = pull(&dir, &latest, &options)?;
    if pulled.digest != pushed.digest {
        return Err(step_failed(
            steps.next(),
            title,
            format!("pulled {}, signed {}", pulled.digest, pushed.digest),
        ));
    }
    steps.done(
        title,
        t,
        format!("pulled {} by its signed digest", pulled.digest),
    );

    steps.go_on(stop)?;
    // 6. A layer in the registry's storage is overwritten; the pull is refused.
    let title = "tampered layer in sandboxregistry: pull refused";
    let t = Instant::now();
    let n6 = steps.next();
    let manifest_path = blob_path(&pushed.digest).ok_or_else(|| {
        step_failed(
            n6,
            title,
            format!("{} is not a sha256 digest", pushed.digest),
        )
    })?;
    let manifest = docker.run(
        "the sandbox",
        "read the manifest",
        &["exec", "--", &n.registry, "cat", &manifest_path],
        None,
        1 << 20,
    )?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).map_err(|e| {
        step_failed(
            n6,
            title,
            format!("the manifest in the registry is not JSON: {e}"),
        )
    })?;
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let layer_path = blob_path(&layer).ok_or_else(|| {
        step_failed(
            n6,
            title,
            format!("the manifest names no sha256 layer ({layer:?})"),
        )
    })?;
    let original = docker.run(
        "the sandbox",
        "save the layer",
        &["exec", "--", &n.registry, "cat", &layer_path],
        None,
        MAX_LAYER,
    )?;
    let write_blob = |bytes: &[u8]| {
        docker.run(
            "the sandbox",
            "write the layer",
            &[
                "exec",
                "-i",
                "--",
                &n.registry,
                "sh",
                "-c",
                r#"cat > "$1""#,
                "sh",
                &layer_path,
            ],
            Some(bytes),
            4096,
        )
    };
    write_blob(MALICIOUS)?;
    forget_image(&docker, &latest.reference())?;
    let refused = pull(&dir, &latest, &options);
    // The sandbox is left as it was: the layer's real content goes back.
    write_blob(&original)?;
    match refused {
        Err(Error::VerificationFailed { reason, .. }) => steps.done(
            title,
            t,
            format!(
                "layer {} overwritten with \"Malicious data\"; refused: {reason}",
                &layer[..19.min(layer.len())]
            ),
        ),
        Err(e) => {
            return Err(step_failed(
                n6,
                title,
                format!("expected a verification failure, got: {e}"),
            ));
        }
        Ok(p) => {
            return Err(step_failed(
                n6,
                title,
                format!("the tampered image was pulled ({})", p.digest),
            ));
        }
    }

    steps.go_on(stop)?;
    // 7. keytool rotates the repository key (crash-safe; the old key is retired, not deleted).
    let title = "keytool rotate: a new repository key, published";
    let t = Instant::now();
    let stores = policy.stores();
    let store_refs: Vec<&dyn crate::passphrase::store::SecretStore> =
        stores.iter().map(AsRef::as_ref).collect();
    let rotated = rotate(
        &dir,
        &source,
        &gun,
        &Role::Targets,
        &RotateOptions {
            server: Some(&server),
            server_managed: false,
            new_key_file: None,
            dry_run: false,
            on_step: &|_| {},
            stores: &store_refs,
            new_passphrase: NewKeyPassphrase::Keep,
        },
        kdf,
    )?;
    let new_key = rotated
        .new_key
        .as_ref()
        .map(ToString::to_string)
        .ok_or_else(|| step_failed(steps.next(), title, "the rotation made no new key"))?;
    steps.done(
        title,
        t,
        format!("repository key {targets_key} -> {new_key}; the old key is retired"),
    );

    steps.go_on(stop)?;
    // 8. The new key goes into trustsandbox; a second push is signed by it.
    let title = "second docker push, signed by the rotated key";
    let t = Instant::now();
    provision(&dir, &gun, &target, &provision_options)?;
    expected_keys.insert(format!("{new_key}.key"));
    tag_play_image(&docker, s.images, &v2)?;
    let second = push(&dir, &source, &v2, &options, kdf)?;
    let keys = container_keys(&docker, &n.client);
    let n8 = steps.next();
    if second.signed_by != [new_key.clone()] {
        return Err(step_failed(
            n8,
            title,
            format!(
                "signed by {:?}, expected only the new key {new_key}",
                second.signed_by
            ),
        ));
    }
    if keys != expected_keys {
        return Err(step_failed(
            n8,
            title,
            format!("the client's trust directory holds {keys:?}, expected only {expected_keys:?}"),
        ));
    }
    steps.done(
        title,
        t,
        format!(
            "{} signed by {new_key}; no new key in the container",
            second.image.reference()
        ),
    );

    Ok(PlayReport {
        repository: gun.to_string(),
        steps: steps.list,
        root_key,
        targets_key,
        rotated_targets_key: new_key,
        digest: pushed.digest,
        container_keys: keys.into_iter().collect(),
        took_ms: started.elapsed().as_millis(),
    })
}

/// Runs `run` with the options that reach the sandbox's client container and the sandbox's
/// settings as `up` recorded them.
fn in_sandbox<T>(
    settings: &SandboxSettings,
    on_output: &dyn Fn(&str),
    run: impl FnOnce(&SandboxOptions<'_>, &SandboxSettings) -> Result<T>,
) -> Result<T> {
    let Connected {
        record,
        docker,
        server,
    } = connected(settings)?;
    let s = &record.settings;
    let container_server = s.container_server();
    let options = SandboxOptions {
        docker: &docker,
        container: &s.names.client,
        server: &server,
        container_server: Some(&container_server),
        on_output,
    };
    run(&options, s)
}

/// `docker push` of `image` in the sandbox's client container, signed with keytool's key for its
/// repository (from the sandbox's trust directory; the passphrase from its vault).
pub fn push_in_sandbox(
    settings: &SandboxSettings,
    image: &ImageRef,
    kdf: &KdfSettings,
    on_output: &dyn Fn(&str),
) -> Result<super::trust::Pushed> {
    in_sandbox(settings, on_output, |options, s| {
        let policy = sandbox_policy(s)?;
        push(policy.dir(), &policy.unlock(), image, options, kdf)
    })
}

/// `docker pull` of `image` with content trust in the sandbox's client container.
pub fn pull_in_sandbox(
    settings: &SandboxSettings,
    image: &ImageRef,
    on_output: &dyn Fn(&str),
) -> Result<super::trust::Pulled> {
    in_sandbox(settings, on_output, |options, s| {
        pull(&TrustDir::new(s.trust_dir()), image, options)
    })
}
