//! `key generate|list|import|export|passwd|remove`: key IDs, the key table, one line per key.

use std::path::Path;

use keystore::KeyId;
use keystore::ops;
use keystore::ops::{ListedKey, Location};

use crate::output;

/// `key generate`: the new key's ID on stdout, what was made on stderr.
pub(crate) fn generated(json: bool, made: &ops::Generated) {
    if json {
        output::json(made);
        return;
    }
    println!("{}", made.id);
    eprintln!(
        "Generated new ecdsa {} key{} in {}",
        made.role,
        made.gun
            .as_ref()
            .map(|g| format!(" for {g}"))
            .unwrap_or_default(),
        made.path.display()
    );
}

/// `key list`: full key IDs (what notary and docker print) in a table that fits 100 columns;
/// the repository and any unusual file go on an indented line below the key.
pub(crate) fn list(json: bool, keys: &[ListedKey], private_dir: &Path) {
    if json {
        output::json(&keys);
        return;
    }
    if keys.is_empty() {
        eprintln!("No keys in {}.", private_dir.display());
        return;
    }
    let rows: Vec<(Vec<String>, Vec<String>)> = keys
        .iter()
        .map(|k| {
            let row = vec![
                k.id.clone(),
                k.role.clone(),
                k.algorithm
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "?".into()),
                if k.encrypted { "yes" } else { "NO" }.into(),
            ];
            let mut details = Vec::new();
            if let Some(g) = &k.gun {
                details.push(format!("repository {g}"));
            }
            let file = k.path.display();
            match (&k.problem, k.location) {
                (Some(p), _) => details.push(format!("file {file} (unusable: {p})")),
                (None, Location::Legacy) => {
                    details.push(format!("file {file} (legacy: run keytool migrate)"));
                }
                (None, Location::Nested) => {
                    details.push(format!("file {file} (nested: notary cannot load it)"))
                }
                (None, Location::Retired) => {
                    details.push(format!("file {file} (retired)"));
                }
                (None, Location::Flat) => {}
            }
            (row, details)
        })
        .collect();
    output::table_with_details(&["KEY ID", "ROLE", "ALG", "ENC"], &rows);
}

/// `key import`: per key, what happened on stderr and its ID on stdout.
pub(crate) fn imported(json: bool, report: &ops::ImportReport) {
    if json {
        output::json(report);
        return;
    }
    for k in &report.imported {
        eprintln!(
            "{} {} key {}{} from {}{}",
            match k.outcome {
                ops::Outcome::Written => "Imported",
                ops::Outcome::Unchanged => "Already present:",
                ops::Outcome::Replaced => "Replaced",
            },
            k.role,
            k.id,
            k.gun
                .as_ref()
                .map(|g| format!(" ({g})"))
                .unwrap_or_default(),
            k.source,
            if k.reencrypted {
                ", encrypted in notary's format"
            } else {
                ""
            },
        );
        println!("{}", k.id);
    }
    for s in &report.skipped {
        eprintln!(
            "Skipped block {} of {}{}: {}",
            s.block,
            s.source,
            match (&s.role, &s.gun) {
                (Some(r), Some(g)) => format!(" (role {r}, {g})"),
                (Some(r), None) => format!(" (role {r}, no gun)"),
                _ => String::new(),
            },
            s.reason
        );
    }
    if !report.skipped.is_empty() {
        eprintln!(
            "Imported {} key(s); skipped {} block(s) (exit code 6).",
            report.imported.len(),
            report.skipped.len()
        );
    }
}

/// `key export -o FILE`: the keys written to the file.
pub(crate) fn exported(json: bool, path: &Path, ids: &[KeyId]) {
    if json {
        output::json(&serde_json::json!({ "file": path, "keys": ids }));
    } else {
        eprintln!("Exported {} key(s) to {}", ids.len(), path.display());
    }
}

/// `key export --format cosign`: the two files, and a warning that one holds the private key.
pub(crate) fn exported_cosign(json: bool, done: &ops::CosignExport) {
    if json {
        output::json(done);
        return;
    }
    eprintln!(
        "WARNING: {} holds the private key {} (sealed with the passphrase from {}). Keep it as \
         safe as the trust directory; cosign asks for that passphrase (COSIGN_PASSWORD).",
        done.private_key.display(),
        done.key_id,
        done.passphrase_source
    );
    eprintln!(
        "Exported {} key {} for cosign:\n  private key  {}\n  public key   {}\n\
         Sign with: cosign sign --key {} IMAGE   verify with: cosign verify --key {} IMAGE",
        done.algorithm,
        done.key_id,
        done.private_key.display(),
        done.public_key.display(),
        done.private_key.display(),
        done.public_key.display()
    );
}

/// `key export --format notation`: the files, the entry, and a warning that the key is
/// unencrypted.
pub(crate) fn exported_notation(json: bool, done: &ops::NotationExport) {
    if json {
        output::json(done);
        return;
    }
    eprintln!(
        "WARNING: {} holds the private key {} UNENCRYPTED (mode 0600), as notation's local keys \
         are. Anyone who can read it can sign as you; keep it on this machine only.",
        done.private_key.display(),
        done.key_id
    );
    eprintln!(
        "Exported key {} for notation as {:?}{}:\n  private key  {}\n  certificate  {} \
         (self-signed, code signing, {} days)\n  entry in     {}\n\
         Sign with: notation sign --key {} IMAGE; to verify, add the certificate to a trust \
         store: notation cert add --type ca --store NAME {}",
        done.key_id,
        done.name,
        if done.default_key {
            " (the default key)"
        } else {
            ""
        },
        done.private_key.display(),
        done.certificate.display(),
        done.valid_days,
        done.signing_keys.display(),
        done.name,
        done.certificate.display()
    );
}

/// `key passwd`: the key re-encrypted and its file.
pub(crate) fn passwd(json: bool, id: &KeyId, path: &Path) {
    if json {
        output::json(&serde_json::json!({ "id": id, "path": path }));
    } else {
        eprintln!("Successfully updated passphrase for key ID: {id}");
    }
}

/// The question `key remove` asks before retiring a key.
pub(crate) fn removal_question(plan: &ops::RemovalPlan, retired_dir: &Path) -> String {
    format!(
        "Remove {} key {}{}{}? It is moved to {} (docker and notary no longer use it; move it back to undo). (yes/no) ",
        plan.role,
        plan.id,
        plan.gun
            .as_ref()
            .map(|g| format!(" of {g}"))
            .unwrap_or_default(),
        if plan.still_named_by.is_empty() {
            String::new()
        } else {
            format!(
                ", still {} (this machine can no longer sign with it)",
                plan.still_named_by.join(", ")
            )
        },
        retired_dir.display()
    )
}

/// `key remove`: where the key went and how to undo it.
pub(crate) fn removed(json: bool, done: &ops::Removed, private_dir: &Path) {
    if json {
        output::json(&serde_json::json!({
            "removed": done.id,
            "path": done.path,
            "retired_to": done.retired_to,
            "still_named_by": done.still_named_by,
        }));
        return;
    }
    eprintln!(
        "Retired {} key {} to {} (keytool key list --retired shows it; move it back to {} to undo; delete that file to purge the key for good).",
        done.role,
        done.id,
        done.retired_to.display(),
        private_dir.display()
    );
    if !done.still_named_by.is_empty() {
        eprintln!(
            "Warning: it is still {}: this machine can no longer sign with it.",
            done.still_named_by.join(", ")
        );
    }
}
