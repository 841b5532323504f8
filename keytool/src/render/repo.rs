//! `init`, `status` and `migrate`: a repository's keys, whether it is published, whether this
//! machine can sign; migrated key files.

use std::path::Path;

use keystore::Gun;
use keystore::ops;

use crate::output;

/// `init` without a server: the keys prepared locally, and why they are not published yet.
pub(crate) fn preseeded(json: bool, done: &ops::Preseeded, gun: &Gun, trust_dir: &Path) {
    if json {
        output::json(done);
        return;
    }
    key_lines(done);
    eprintln!(
        "Keys for {gun} are ready in {}.\nNote: not published. docker push creates its own repository key for a repository the Notary server does not know yet; run keytool init --repo {gun} --server URL to publish these keys first.",
        trust_dir.display()
    );
}

/// `init` with a server: the keys, the root certificate, and what the server now holds.
pub(crate) fn published(json: bool, done: &ops::Published, gun: &Gun, url: &str) {
    if json {
        output::json(done);
        return;
    }
    key_lines(&done.keys);
    if let Some(id) = &done.root_certificate_id {
        println!("root cert    {id}   (the Root Key docker trust inspect shows)");
    }
    if done.already_published {
        eprintln!(
            "{gun} is already published on {url}; nothing was changed. This machine holds the keys it expects."
        );
    } else {
        eprintln!("Published {gun} on {url}: the next docker push signs with these keys.");
    }
}

/// The root and targets key lines of `init`, each reused or created.
fn key_lines(done: &ops::Preseeded) {
    let word = |p: ops::Provenance| match p {
        ops::Provenance::Reused => "reused ",
        ops::Provenance::Created => "created",
    };
    println!("root key     {} {}", word(done.root_provenance), done.root);
    println!(
        "targets key  {} {}",
        word(done.targets_provenance),
        done.targets
    );
}

/// `status`: the repository, its server, the keys expected and held, and the verdict.
pub(crate) fn status(json: bool, st: &ops::Status) {
    if json {
        output::json(st);
        return;
    }
    println!("Repository    {}", st.gun);
    match (&st.server, st.published) {
        (Some(url), Some(true)) => println!("Server        {url} (published)"),
        (Some(url), _) => println!("Server        {url} (NOT published)"),
        (None, _) => {
            println!("Server        none asked (use --server or DOCKER_CONTENT_TRUST_SERVER)")
        }
    }
    let show =
        |what: &str, keys: &[ops::ExpectedKey], local: &[String], expires: &Option<String>| {
            if keys.is_empty() {
                println!(
                    "{what:<13} local: {}",
                    if local.is_empty() {
                        "none".into()
                    } else {
                        local.join(", ")
                    }
                );
            }
            for k in keys {
                println!(
                    "{what:<13} {} {}{}",
                    k.key_id.as_deref().unwrap_or(&k.listed_id),
                    if k.local {
                        "(here)"
                    } else {
                        "(NOT on this machine)"
                    },
                    expires
                        .as_ref()
                        .map(|e| format!(", metadata expires {e}"))
                        .unwrap_or_default()
                );
            }
        };
    show(
        "Root key",
        &st.expected_root_keys,
        &st.local_root_keys,
        &st.root_expires,
    );
    show(
        "Targets key",
        &st.expected_targets_keys,
        &st.local_targets_keys,
        &st.targets_expires,
    );
    if let Some(managed) = st.snapshot_server_managed {
        println!(
            "Snapshot key  {}",
            if managed {
                "held by the server"
            } else {
                "here"
            }
        );
    }
    match (&st.targets_passphrase, st.can_sign_targets) {
        (Some(from), _) => println!("Passphrase    the targets key opens with {from}"),
        (None, true) => println!("Passphrase    NO source opens the targets key (see below)"),
        (None, false) => {}
    }
    for p in &st.problems {
        println!("Note: {p}");
    }
    if st.pending_rotation {
        println!(
            "Hint: complete the rotation with keytool rotate --repo {} --resume",
            st.gun
        );
    }
    if st.passphrase_checked && st.can_sign_targets && st.targets_passphrase.is_none() {
        println!(
            "Hint: pass --passphrase-file FILE, set {}, or store the passphrase (keytool passphrase set KEY_ID); if the vault holds it, give its master passphrase with KEYTOOL_VAULT_PASSPHRASE or --vault-passphrase-file.",
            keystore::passphrase::env_names_for(&keystore::Role::Targets).join(" or ")
        );
    }
    println!(
        "Ready: {}",
        if st.ready {
            "yes, this machine can sign with the targets key the server expects"
        } else {
            "NO"
        }
    );
}

/// `migrate`: each key file moved or kept, and the counts.
pub(crate) fn migrated(json: bool, report: &ops::MigrationReport) {
    if json {
        output::json(report);
        return;
    }
    for m in &report.migrated {
        eprintln!("Migrated {} -> {}", m.from.display(), m.to.display());
    }
    for k in &report.kept {
        eprintln!("Kept {}: {}", k.path.display(), k.reason);
    }
    eprintln!(
        "{} migrated, {} kept.",
        report.migrated.len(),
        report.kept.len()
    );
}
