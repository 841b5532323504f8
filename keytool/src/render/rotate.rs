//! `rotate`: one repository's result, or a row per repository and a summary.

use keystore::ops;
use keystore::{Error, Gun, Role};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::output;

/// One repository of a rotation of several: `{"gun", "ok": true, "result"}` or
/// `{"gun", "ok": false, "error": {"code", "message"}}` in JSON.
pub(crate) struct Row {
    /// The repository.
    pub(crate) gun: Gun,
    /// What its rotation came to.
    pub(crate) outcome: std::result::Result<ops::Rotated, Error>,
}

/// A failed rotation's error in JSON: its stable code and its sentence.
#[derive(serde::Serialize)]
struct RowError {
    code: i32,
    message: String,
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_struct("Row", 3)?;
        row.serialize_field("gun", &self.gun)?;
        row.serialize_field("ok", &self.outcome.is_ok())?;
        match &self.outcome {
            Ok(done) => row.serialize_field("result", done)?,
            Err(e) => row.serialize_field(
                "error",
                &RowError {
                    code: e.code() as i32,
                    message: crate::messages::sentence(e),
                },
            )?,
        }
        row.end()
    }
}

/// `rotate --resume` with nothing pending: an empty summary in JSON, a note otherwise.
pub(crate) fn nothing_to_resume(json: bool) {
    if json {
        // The same shape as a rotation's summary: one row per repository, here none.
        output::json(&Vec::<Row>::new());
    } else {
        eprintln!("No interrupted rotation to resume.");
    }
}

/// A repository of `rotate --all` that is skipped.
pub(crate) fn skipped(gun: &Gun) {
    eprintln!(
        "Skipped {gun}: published, but no targets key of it is in this trust directory (rotate it by name, keytool rotate --repo {gun}, to replace a lost key)."
    );
}

/// The question `rotate --role root` asks before it starts.
pub(crate) fn root_question(guns: &[Gun]) -> String {
    format!(
        "Rotate the root key of {}? The new root.json is signed by the old and the new root key; the old root key is then retired, unless other repositories still use it. (yes/no) ",
        guns.iter().map(Gun::as_str).collect::<Vec<_>>().join(", ")
    )
}

/// Several repositories: the rows in JSON, else a table and a count.
pub(crate) fn summary(json: bool, rows: &[Row]) {
    if json {
        output::json(&rows);
        return;
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match &r.outcome {
            Ok(done) => vec![
                r.gun.to_string(),
                "rotated".into(),
                done.new_key
                    .as_ref()
                    .map_or("(plan)".to_owned(), ToString::to_string),
            ],
            Err(e) => vec![
                r.gun.to_string(),
                "FAILED".into(),
                crate::messages::sentence(e),
            ],
        })
        .collect();
    output::table(&["GUN", "RESULT", "NEW KEY / ERROR"], &table);
    let failed = rows.iter().filter(|r| r.outcome.is_err()).count();
    eprintln!(
        "{} of {} repositories rotated.",
        rows.len() - failed,
        rows.len()
    );
}

/// A managed rotation's new passphrase, for the notes printed at the end (and --json).
pub(crate) fn record_managed(done: &ops::Rotated) {
    if let (Some(stored_in), Some(key_id)) = (&done.new_passphrase_stored_in, &done.new_key) {
        output::record_generated(keystore::passphrase::store::GeneratedPassphrase {
            key_id: key_id.clone(),
            role: done.role.clone(),
            gun: done.role.carries_gun().then(|| done.gun.clone()),
            stored_in: stored_in.clone(),
        });
    }
}

/// One repository: the plan (`--dry-run`), or the old and new key and what happened to each.
pub(crate) fn rotated(json: bool, done: &ops::Rotated) {
    let (gun, role) = (&done.gun, &done.role);
    record_managed(done);

    if json {
        output::json(done);
        return;
    }
    let old = done
        .old_key
        .as_ref()
        .map_or("(none)".to_owned(), ToString::to_string);
    if done.dry_run {
        println!(
            "Plan for {gun}: replace the {role} key {old} with a new {}key",
            if done.server_managed {
                "server-held "
            } else {
                ""
            }
        );
        println!(
            "{}",
            if done.published {
                "Published: root.json gets version +1 naming the new key (and the metadata the new key signs is re-signed); only then is the old key retired."
            } else {
                "Not published: the key is replaced locally; no server is involved."
            }
        );
        if done.resumed {
            println!("An interrupted rotation is pending; running without --dry-run completes it.");
        }
        return;
    }
    let new = done
        .new_key
        .as_ref()
        .map_or(String::new(), ToString::to_string);
    println!("old {role} key  {old}");
    println!(
        "new {role} key  {new}{}",
        if done.server_managed {
            " (held by the server)"
        } else {
            ""
        }
    );
    if let Some(v) = done.root_version {
        eprintln!(
            "Published root.json v{v} for {gun}: docker and notary now use the new {role} key."
        );
    } else if done.published {
        eprintln!("The server already trusted the new key; finished the local clean-up.");
    } else {
        eprintln!("Rotated locally ({gun} is not published).");
    }
    match (&done.retired, role) {
        (Some(path), _) => eprintln!(
            "The old key is retired to {} (not used by docker or notary; keytool key list --retired).",
            path.display()
        ),
        (None, Role::Root) if !done.old_root_still_used_by.is_empty() => eprintln!(
            "The old root key stays in the trust directory: it is still the root key of {}.",
            done.old_root_still_used_by
                .iter()
                .map(Gun::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, _) => {}
    }
    if done.resumed {
        eprintln!("(This completed an interrupted rotation.)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed repository's row is `{"gun", "ok": false, "error": {"code", "message"}}`, the
    /// shape `rotate --json` has always printed.
    #[test]
    fn failed_row_json_shape() {
        let row = Row {
            gun: "example.com/app".parse().expect("GUN"),
            outcome: Err(Error::Cancelled),
        };
        let value = serde_json::to_value(&row).expect("JSON");
        assert_eq!(
            value,
            serde_json::json!({
                "gun": "example.com/app",
                "ok": false,
                "error": {
                    "code": Error::Cancelled.code() as i32,
                    "message": crate::messages::sentence(&Error::Cancelled),
                },
            })
        );
    }
}
