//! `archive`: the archive written (or each of `--all`), and `archive verify`: each role's
//! version and expiry, then the inventory of tags.

use keystore::ops;

use crate::output;

/// `archive --repo`: the file and what it holds.
pub(crate) fn archived(json: bool, done: &ops::Archived) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.path.display());
    notes(done);
}

/// What an archive holds, on stderr.
fn notes(done: &ops::Archived) {
    let anchor = match done.trusted_root_version {
        Some(v) => format!("reaching root version {v}, which this machine trusted"),
        None => "this machine trusted no root of it: the server's was taken on first use".into(),
    };
    eprintln!(
        "Archived {}: root versions 1-{} ({anchor}), {} signed tag(s).",
        done.gun, done.root_versions, done.tags
    );
    if !done.expired_roles.is_empty() {
        eprintln!(
            "Note: expired when archived (kept as history): {}.",
            done.expired_roles.join(", ")
        );
    }
    if !done.unverified_roles.is_empty() {
        eprintln!(
            "Note: not signed by enough of their keys, so none of their tags are listed as signed: {}.",
            done.unverified_roles.join(", ")
        );
    }
}

/// `archive --all`: each archive, the repositories the server lacks, and failures.
pub(crate) fn archived_all(json: bool, all: &ops::ArchivedAll) {
    if json {
        output::json(all);
        return;
    }
    for done in &all.archived {
        println!("{}", done.path.display());
        notes(done);
    }
    for gun in &all.not_published {
        eprintln!("Skipped {gun}: the server has no trust data of it.");
    }
    for f in &all.failed {
        eprintln!("Error: {} was not archived: {}", f.gun, f.error);
    }
}

/// `archive verify`: the verdict, each role's expiry, and the tags.
pub(crate) fn verified(json: bool, report: &ops::ArchiveReport) {
    if json {
        output::json(report);
        return;
    }
    let rows: Vec<Vec<String>> = report
        .roles
        .iter()
        .map(|r| {
            vec![
                r.role.clone(),
                format!("v{}", r.version),
                r.expires.clone(),
                match (r.expired_when_archived, r.expired) {
                    (true, _) => "expired when archived".into(),
                    (false, true) => "expired since".into(),
                    (false, false) => String::new(),
                },
            ]
        })
        .collect();
    output::table(&["ROLE", "VERSION", "EXPIRES", ""], &rows);
    println!();
    let rows: Vec<Vec<String>> = report
        .inventory
        .tags
        .iter()
        .map(|t| {
            let by: Vec<String> = t
                .signed_by
                .iter()
                .map(|s| {
                    let mut text = s.role.clone();
                    if !s.signers.is_empty() {
                        text.push_str(&format!(" ({})", s.signers.join(", ")));
                    }
                    if s.expired {
                        text.push_str(" [expired]");
                    }
                    text
                })
                .collect();
            vec![
                t.tag.clone(),
                t.digest.clone(),
                t.size.to_string(),
                by.join("; "),
            ]
        })
        .collect();
    output::table(&["TAG", "DIGEST", "SIZE", "SIGNED BY"], &rows);
    for u in &report.inventory.unverified_roles {
        eprintln!(
            "Note: {} does not verify ({}); none of its tags are listed.",
            u.role, u.reason
        );
    }
    let anchor = match report.trusted_root_version {
        Some(v) => format!(", reaching root version {v}, which this machine trusts"),
        None => String::new(),
    };
    eprintln!(
        "Verified: {} as archived from {} at {} by keytool {}; root chain 1-{}{anchor}.",
        report.gun, report.server, report.archived_at, report.keytool_version, report.root_versions
    );
}
