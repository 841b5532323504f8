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

/// A time left in words: "in 3 years", "in 5 days", "expired 2 hours ago".
fn in_words(seconds: i64) -> String {
    let abs = seconds.unsigned_abs();
    let (size, unit) = match abs {
        s if s >= 2 * 365 * 86_400 => (365 * 86_400, "years"),
        s if s >= 2 * 86_400 => (86_400, "days"),
        s if s >= 2 * 3600 => (3600, "hours"),
        _ => (60, "minutes"),
    };
    let n = (abs + size / 2) / size;
    if seconds < 0 {
        format!("expired {n} {unit} ago")
    } else {
        format!("in {n} {unit}")
    }
}

/// `status`: the repository, its server, the keys expected and held, expiry, and the verdict;
/// with `--expiring-within`, what expires within the window.
pub(crate) fn status(
    json: bool,
    st: &ops::Status,
    expiring: Option<&(std::time::Duration, Vec<&ops::Expiry>)>,
) {
    if json {
        match expiring {
            Some((window, soon)) => {
                let mut value = serde_json::to_value(st).unwrap_or_default();
                value["expiring_within_seconds"] = window.as_secs().into();
                value["expiring"] = serde_json::to_value(soon).unwrap_or_default();
                output::json(&value);
            }
            None => output::json(st),
        }
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
    if let Some(count) = st.signed_targets {
        println!("Targets       {count} signed");
    }
    for e in &st.expiries {
        // Root certificates by the first 12 characters of their ID, as docker shows IDs.
        let what = match e.what.strip_prefix("root certificate ") {
            Some(id) => format!("root certificate {}", id.get(..12).unwrap_or(id)),
            None => e.what.clone(),
        };
        println!(
            "Expires       {what:<29} {} ({}{})",
            e.expires,
            in_words(e.seconds_left),
            if e.renewed_by_server {
                "; the server renews it"
            } else {
                ""
            }
        );
    }
    if let Some((window, soon)) = expiring {
        let window = humantime::format_duration(*window);
        if soon.is_empty() {
            println!("Expiring      nothing within {window}");
        } else {
            for e in soon {
                println!("EXPIRING      {} within {window}: {}", e.what, e.expires);
            }
        }
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
    if st.pending_renewal {
        println!(
            "Hint: complete the renewal with keytool renew --repo {} --resume",
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

/// `migrate sigstore`: one line per manifest, the key, how to verify, and the counts.
pub(crate) fn migrated_sigstore(
    json: bool,
    done: &ops::SigstoreMigration,
    public_key_out: Option<&std::path::Path>,
) {
    use ops::SigstoreOutcome as O;
    if json {
        output::json(done);
        return;
    }
    for m in &done.manifests {
        let what = match m.outcome {
            O::Signed => "signed",
            O::AlreadySigned => "already signed (kept)",
            O::WouldSign => "would sign",
            O::NotInRegistry => "NOT IN THE REGISTRY, not signed",
        };
        eprintln!(
            "{:<32} {}: {what}",
            m.tags.join(", "),
            keystore::ids::clip(&m.digest)
        );
    }
    if let Some(id) = &done.key_id {
        eprintln!(
            "Signed with {}key {id}{}.",
            if done.generated { "the new " } else { "" },
            if done.generated {
                " (role sigstore; re-run with --key and this ID to resume, export it with keytool key export --format cosign)"
            } else {
                ""
            }
        );
    }
    if let Some(path) = public_key_out {
        eprintln!(
            "Public key: {}; verify with: cosign verify --key {} {}:TAG",
            path.display(),
            path.display(),
            done.reference
        );
    }
    eprintln!(
        "{} manifest(s) of {}: {} signed, {} already signed, {} to sign, {} missing from the registry {}.",
        done.manifests.len(),
        done.gun,
        done.count(O::Signed),
        done.count(O::AlreadySigned),
        done.count(O::WouldSign),
        done.count(O::NotInRegistry),
        done.registry
    );
}
