//! `migrate`: notary 0.1–0.3 layouts to the flat `private/<id>.key` layout. Unlike notary's
//! own migration, a file that cannot be converted is never deleted.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::file::KeyFile;
use crate::trust_dir::{
    DirLock, Location, MAX_KEY_FILE, TrustDir, legacy, read_no_follow, sync_dir,
};

/// One converted key.
#[derive(Clone, Debug, Serialize)]
pub struct Migrated {
    /// The legacy file (now removed).
    pub from: PathBuf,
    /// The flat file.
    pub to: PathBuf,
    /// The key ID.
    pub id: KeyId,
    /// The role.
    pub role: Role,
    /// The repository, for repository keys.
    pub gun: Option<Gun>,
}

/// One legacy file left in place.
#[derive(Clone, Debug, Serialize)]
pub struct NotMigrated {
    /// The legacy file (kept).
    pub path: PathBuf,
    /// Why it was kept.
    pub reason: String,
}

/// What a migration did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MigrationReport {
    /// Converted keys.
    pub migrated: Vec<Migrated>,
    /// Files kept because they could not be converted.
    pub kept: Vec<NotMigrated>,
}

/// Converts every legacy key file. Each new file is durable before its legacy file is removed;
/// the key bytes are copied unchanged (only `role:`/`gun:` headers are added).
pub fn migrate(dir: &TrustDir) -> Result<MigrationReport> {
    let lock = dir.lock()?;
    let private = dir.private_dir();
    let mut report = MigrationReport::default();
    for listed in dir
        .list()?
        .into_iter()
        .filter(|k| k.location == Location::Legacy)
    {
        let rel = listed
            .path
            .strip_prefix(&private)
            .unwrap_or(&listed.path)
            .to_path_buf();
        match convert(dir, &lock, &listed.path, &rel) {
            Ok(m) => report.migrated.push(m),
            Err(e) => report.kept.push(NotMigrated {
                path: listed.path,
                reason: e.to_string(),
            }),
        }
    }
    // Remove the legacy directories only where they are now empty.
    for top in ["root_keys", "tuf_keys"] {
        remove_empty_dirs(&private.join(top));
    }
    sync_dir(&private).ok();
    Ok(report)
}

fn convert(
    dir: &TrustDir,
    lock: &DirLock,
    path: &std::path::Path,
    rel: &std::path::Path,
) -> Result<Migrated> {
    let name = legacy::interpret(rel).ok_or_else(|| Error::invalid("not a legacy key path"))?;
    let id = name
        .key_id()
        .ok_or_else(|| Error::invalid("the file name does not start with a key ID"))?;
    let bytes = read_no_follow(path, MAX_KEY_FILE)?;
    let file = KeyFile::parse(&bytes)?;
    let role: Role = match &name.role {
        Some(r) => r.parse()?,
        None => file.role().clone(),
    };
    if role.as_str().is_empty() {
        return Err(Error::invalid(
            "neither the file name nor the file says which role the key has",
        ));
    }
    let gun = match name.parsed_gun()? {
        Some(g) => Some(g),
        None => file.gun().cloned(),
    };
    let pem = file.rewrap(&role, gun.as_ref());
    let target = dir.key_path(&id);
    match read_no_follow(&target, MAX_KEY_FILE) {
        Ok(existing) if existing.as_slice() == pem.as_bytes() => {}
        Ok(_) => {
            return Err(Error::AlreadyExists { path: target });
        }
        Err(_) => {
            dir.write_key(lock, &id, &pem, false)?;
        }
    }
    fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(Migrated {
        from: path.to_path_buf(),
        to: target,
        id,
        gun: if role.carries_gun() { gun } else { None },
        role,
    })
}

fn remove_empty_dirs(dir: &std::path::Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&e.path());
            }
        }
    }
    // Fails (and is meant to) when the directory still holds a kept file.
    let _ = fs::remove_dir(dir);
}
