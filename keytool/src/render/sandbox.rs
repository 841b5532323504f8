//! `provision` and `sandbox push|pull`: the files copied, the digest pushed or pulled.

use keystore::Gun;
use keystore::ops::{self, ImageRef, Outcome};

use crate::output;

/// `provision`: each file copied (its path on stdout), and a warning for an unpublished
/// repository.
pub(crate) fn provisioned(json: bool, done: &ops::Provisioned, gun: &Gun) {
    if json {
        output::json(done);
        return;
    }
    for f in &done.files {
        let verb = match f.outcome {
            Outcome::Written => "Copied",
            Outcome::Unchanged | Outcome::Replaced => "Already there:",
        };
        eprintln!("{verb} {} -> {}", f.what, f.path);
        println!("{}", f.path);
    }
    if done.published == Some(false) {
        eprintln!(
            "Warning: {gun} is not published on the server; docker push would create its own repository key. Run keytool init --repo {gun} --server URL first."
        );
    }
    eprintln!("Provisioned {gun} into {}.", done.target);
}

/// `sandbox push`: the digest on stdout, what was signed on stderr.
pub(crate) fn pushed(json: bool, done: &ops::Pushed, image: &ImageRef, place: &str) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.digest);
    eprintln!(
        "Signed and pushed {} ({}, {} bytes) with {} {} in {}; targets key {}.",
        image.reference(),
        done.digest,
        done.size,
        done.method,
        done.client_version,
        place,
        done.signed_by.join(", ")
    );
}

/// `sandbox pull`: the digest on stdout.
pub(crate) fn pulled(json: bool, done: &ops::Pulled, image: &ImageRef, place: &str) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.digest);
    eprintln!(
        "Pulled {} by its signed digest {} in {}.",
        image.reference(),
        done.digest,
        place
    );
}

/// The next commands to try, for a sandbox that is up.
fn next_steps(st: &ops::SandboxStatus) {
    eprintln!();
    eprintln!("More play:");
    eprintln!("  a shell in the client container:  {}", st.shell);
    eprintln!(
        "  sign a tag of your own:           docker tag ... {}:mine in that shell, then",
        st.repository
    );
    eprintln!(
        "                                    keytool sandbox push {}:mine",
        st.repository
    );
    eprintln!("  the sandbox's state:              keytool sandbox status");
    eprintln!("  take it down:                     keytool sandbox down");
    eprintln!("  keytool and docker against it:    the export lines of keytool sandbox status");
}

/// `sandbox up`: what runs and where.
pub(crate) fn up(json: bool, done: &ops::Up, st: &ops::SandboxStatus) {
    if json {
        output::json(done);
        return;
    }
    if done.already_up {
        eprintln!("The sandbox is already up; nothing was changed.");
    } else {
        eprintln!("The sandbox is up ({} ms).", done.took_ms);
    }
    endpoints(st);
    eprintln!();
    eprintln!("Next: keytool sandbox play");
}

/// Where the sandbox's services are.
fn endpoints(st: &ops::SandboxStatus) {
    let rows: Vec<Vec<String>> = st
        .containers
        .iter()
        .map(|c| {
            let at = match c.role.as_str() {
                "notary" => format!("{} (in the network: {})", st.server, st.container_server),
                "registry" => format!(
                    "{} (in the network: {}:{})",
                    st.registry,
                    c.name,
                    st.registry.rsplit(':').next().unwrap_or_default()
                ),
                "signer" => format!(
                    "gRPC, mutual TLS, in the network only; keys encrypted with the passphrase of {}",
                    st.signer_aliases.last().map_or("?", String::as_str)
                ),
                "database" => format!(
                    "MariaDB {}:3306 in the network only: notaryserver, notarysigner",
                    c.name
                ),
                _ => "content trust on, server ".to_owned() + &st.container_server,
            };
            vec![c.name.clone(), c.state.clone(), at]
        })
        .collect();
    output::table(&["CONTAINER", "STATE", "ENDPOINT"], &rows);
    if let Some(d) = &st.daemon {
        println!(
            "daemon: {} docker {} on {}",
            d.kind,
            d.version,
            d.host
                .clone()
                .unwrap_or_else(|| d.socket.display().to_string())
        );
    }
    println!("repository: {}", st.repository);
    println!("trust directory: {}", st.trust_dir.display());
    println!("Notary CA: {}", st.ca_file.display());
}

/// `sandbox play`: one walkthrough step, as it ends.
pub(crate) fn step(json: bool, step: &ops::PlayStep) {
    if json {
        return;
    }
    eprintln!(
        "[{}] {} ({} ms)\n    {}",
        step.number, step.title, step.took_ms, step.outcome
    );
}

/// `sandbox play`: the summary table.
pub(crate) fn played(json: bool, done: &ops::PlayReport, st: &ops::SandboxStatus) {
    if json {
        output::json(done);
        return;
    }
    eprintln!();
    let rows: Vec<Vec<String>> = done
        .steps
        .iter()
        .map(|s| {
            vec![
                s.number.to_string(),
                s.title.clone(),
                format!("{} ms", s.took_ms),
            ]
        })
        .collect();
    output::table(&["STEP", "WHAT", "TOOK"], &rows);
    println!(
        "The walkthrough of {} passed in {} ms: root key {}, repository key {} rotated to {}.",
        done.repository, done.took_ms, done.root_key, done.targets_key, done.rotated_targets_key
    );
    next_steps(st);
}

/// `sandbox status`.
pub(crate) fn status(json: bool, st: &ops::SandboxStatus) {
    if json {
        output::json(st);
        return;
    }
    println!(
        "The sandbox in {} is {}.",
        st.state_dir.display(),
        if st.up { "up" } else { "not up" }
    );
    endpoints(st);
    if st.up {
        println!(
            "keys in {}: {}",
            st.containers
                .iter()
                .find(|c| c.role == "client")
                .map_or("", |c| c.name.as_str()),
            if st.provisioned_keys.is_empty() {
                "none".to_owned()
            } else {
                st.provisioned_keys.join(", ")
            }
        );
        println!("shell: {}", st.shell);
        println!("environment for keytool and docker on this machine:");
        for (k, v) in &st.environment {
            println!("  export {k}={v}");
        }
    }
}

/// `sandbox down`.
pub(crate) fn down(json: bool, done: &ops::Down) {
    if json {
        output::json(done);
        return;
    }
    if !done.was_up {
        eprintln!("No sandbox was up.");
    }
    for c in &done.containers {
        eprintln!("Removed container {c}");
    }
    for n in &done.networks {
        eprintln!("Removed network {n}");
    }
    for p in &done.stopped {
        eprintln!("Stopped {p}");
    }
    for p in &done.removed {
        eprintln!("Removed {}", p.display());
    }
    if done.was_up {
        eprintln!("The sandbox is down.");
    }
}

/// `sandbox rekey-signer`.
pub(crate) fn rekeyed(json: bool, done: &ops::SignerRekeyed) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.alias);
    eprintln!(
        "notary-signer encrypts new keys with the passphrase of alias {} (generated, kept in the sandbox's vault); it is given the aliases {}",
        done.alias,
        done.aliases.join(", ")
    );
    for (alias, keys) in &done.keys_by_alias {
        eprintln!("  {keys} key(s) encrypted with the passphrase of {alias}");
    }
    if !done.removed.is_empty() {
        eprintln!(
            "No key used {} any more: dropped from notary-signer, passphrase removed from the vault",
            done.removed.join(", ")
        );
    }
}
