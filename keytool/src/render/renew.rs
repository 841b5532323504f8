//! `renew`: the plan, or each role's old and new version and expiry.

use keystore::ops;

use crate::output;

/// `renew --resume` with nothing pending.
pub(crate) fn nothing_to_resume(json: bool) {
    if json {
        output::json(&serde_json::json!({ "resumed": false }));
    } else {
        eprintln!("No interrupted renewal to resume.");
    }
}

/// The plan (`--dry-run`) or what was published.
pub(crate) fn renewed(json: bool, done: &ops::Renewed) {
    if json {
        output::json(done);
        return;
    }
    let rows: Vec<Vec<String>> = done
        .roles
        .iter()
        .map(|r| {
            vec![
                r.role.clone(),
                format!("v{}", r.version),
                r.expires.clone(),
                r.new_version.map_or("-".to_owned(), |v| format!("v{v}")),
                r.new_expires.clone().unwrap_or_else(|| "(server)".into()),
                match (r.requested, r.signed_by_server) {
                    (_, true) => "signed by the server".into(),
                    (true, false) => "renewed".into(),
                    (false, false) => "re-signed (lists the new hashes)".into(),
                },
            ]
        })
        .collect();
    output::table(
        &[
            "ROLE",
            "VERSION",
            "EXPIRES",
            "NEW VERSION",
            "NEW EXPIRY",
            "",
        ],
        &rows,
    );
    if let Some(c) = &done.root_certificate {
        match (&c.new_id, c.renewed) {
            (Some(new), _) => println!(
                "root certificate {} (expires {}) replaced by {new} (expires {}), same root key; root.json is signed under both IDs so clients holding the old root follow",
                c.id,
                c.expires,
                c.new_expires.as_deref().unwrap_or("?")
            ),
            (None, true) => println!(
                "root certificate {} expires {}: it would be replaced by a new certificate of the same root key",
                c.id, c.expires
            ),
            (None, false) => println!(
                "root certificate {} expires {}: kept (it outlives the new root.json)",
                c.id, c.expires
            ),
        }
    }
    let gun = &done.gun;
    if !done.renewed_by_server.is_empty() {
        eprintln!(
            "Renewed by the Notary server itself: {}.",
            done.renewed_by_server.join(", ")
        );
    }
    if done.dry_run {
        println!(
            "Plan for {gun} on {}: nothing was signed or sent.{}",
            done.server,
            if done.resumed {
                " An interrupted renewal is pending; running without --dry-run completes it (with its own roles and expiry)."
            } else {
                ""
            }
        );
        return;
    }
    eprintln!(
        "Published the renewal of {gun} to {}; the server serves it and it verified from the trusted root.",
        done.server
    );
    if done.resumed {
        eprintln!("(This completed an interrupted renewal.)");
    }
}
