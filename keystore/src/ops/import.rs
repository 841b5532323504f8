//! `key import`: notary export bundles, unencrypted keys (encrypted on the way in) and
//! encrypted keys without a `path:` header (docker's `trust key load` silently drops those).
//! Every block is decrypted to learn (or check) its ID before it is stored under that name;
//! a replaced file (`force`) is retired to `keytool-retired/`, never deleted.

use crate::error::Argument;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{KdfSettings, gun_for, new_passphrase, unlock_with};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::file::{self, KeyFile};
use crate::key::pem;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::{DirLock, MAX_KEY_FILE, TrustDir, read_no_follow};

/// Fallbacks and switches for an import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Role for keys whose file has no `role:` header.
    pub role: Option<Role>,
    /// Repository for targets/snapshot keys whose file has no `gun:` header.
    pub gun: Option<Gun>,
    /// Replace a different file already stored under the same key ID (the old file is retired
    /// to `keytool-retired/`).
    pub force: bool,
    /// Import every block that can be imported and report the others ([`ImportReport::skipped`]),
    /// as `notary key import` does. Without it one bad block refuses the whole import.
    pub partial: bool,
}

/// A block that was not imported ([`ImportOptions::partial`]).
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The input it is in.
    pub source: String,
    /// Its position among the input's PEM blocks, from 1.
    pub block: usize,
    /// Its `role:` header, if any.
    pub role: Option<String>,
    /// Its `gun:` header, if any.
    pub gun: Option<String>,
    /// Its `path:` header (the key ID it claims), if any.
    pub path: Option<String>,
    /// Why it was not imported.
    pub reason: String,
}

/// What [`import`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// The keys imported (or found already present).
    pub imported: Vec<Imported>,
    /// The blocks that could not be imported (only with [`ImportOptions::partial`]; otherwise
    /// the first such block is the import's error).
    pub skipped: Vec<Skipped>,
}

/// What happened to one imported key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new file was written.
    Written,
    /// The same file was already there.
    Unchanged,
    /// A different file with the same ID was replaced (`force`).
    Replaced,
}

/// One imported key.
#[derive(Clone, Debug, Serialize)]
pub struct Imported {
    /// The key ID.
    pub id: KeyId,
    /// The role.
    pub role: Role,
    /// The repository, for repository keys.
    pub gun: Option<Gun>,
    /// Where the key came from (file name).
    pub source: String,
    /// The file in the trust directory.
    pub path: PathBuf,
    /// What happened.
    pub outcome: Outcome,
    /// Whether the key was (re-)encrypted in notary's format on the way in.
    pub reencrypted: bool,
    /// Whether keytool decrypted the key and checked its ID. Always true: a block whose ID
    /// cannot be checked (no passphrase for it) is refused, `path:` header or not. Kept in
    /// the result for callers that read it.
    pub id_verified: bool,
}

struct Plan {
    id: KeyId,
    role: Role,
    gun: Option<Gun>,
    source: String,
    pem: String,
    reencrypted: bool,
    id_verified: bool,
}

/// Imports every PEM block of every input (`(name, bytes)`). Everything is checked, decrypted
/// and encrypted first; only then is the trust directory locked and written, so bad input
/// changes nothing. A block that cannot be imported (no role or repository, a wrong passphrase,
/// a `path:` header that lies, …) refuses the whole import, or with
/// [`ImportOptions::partial`] is reported and skipped; when no block at all can be imported the
/// first one's error is returned either way. A cancelled prompt always ends the import.
pub fn import<B: AsRef<[u8]>>(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    inputs: &[(String, B)],
    options: &ImportOptions,
    kdf: &KdfSettings,
) -> Result<ImportReport> {
    let mut plans: Vec<Plan> = Vec::new();
    let mut skipped = Vec::new();
    let mut first_error = None;
    for (name, bytes) in inputs {
        let blocks = pem::decode_all(bytes.as_ref()).map_err(|e| e.in_file(Path::new(name)))?;
        for (index, block) in blocks.into_iter().enumerate() {
            let header = |k: &str| block.header(k).map(crate::ids::clip);
            let (role, gun, path) = (header("role"), header("gun"), header("path"));
            let planned =
                plan_block(block, name, source, options, kdf).and_then(|plan| {
                    match plans.iter().find(|p| p.id == plan.id) {
                        Some(p) if p.pem != plan.pem => Err(Error::invalid(format!(
                            "key {} appears twice with different contents",
                            plan.id
                        ))),
                        _ => Ok(plan),
                    }
                });
            match planned {
                Ok(plan) => {
                    if !plans.iter().any(|p| p.id == plan.id) {
                        plans.push(plan);
                    }
                }
                Err(e @ (Error::Cancelled | Error::Internal { .. })) => return Err(e),
                Err(e) => {
                    let e = e.in_file(Path::new(name));
                    if !options.partial {
                        return Err(e);
                    }
                    skipped.push(Skipped {
                        source: name.clone(),
                        block: index + 1,
                        role,
                        gun,
                        path,
                        reason: e.to_string(),
                    });
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    if plans.is_empty()
        && let Some(e) = first_error
    {
        return Err(e);
    }

    let lock = dir.lock()?;
    let mut outcomes = Vec::with_capacity(plans.len());
    for plan in &plans {
        let path = dir.key_path(&plan.id);
        let outcome = match read_no_follow(&path, MAX_KEY_FILE) {
            Ok(existing) if existing.as_slice() == plan.pem.as_bytes() => Outcome::Unchanged,
            Ok(_) if options.force => Outcome::Replaced,
            Ok(_) => return Err(Error::AlreadyExists { path }),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Outcome::Written
            }
            Err(e) => return Err(e),
        };
        outcomes.push(outcome);
    }
    let mut done = Vec::with_capacity(plans.len());
    for (plan, outcome) in plans.into_iter().zip(outcomes) {
        let path = match outcome {
            Outcome::Unchanged => dir.key_path(&plan.id),
            Outcome::Written => dir.write_key(&lock, &plan.id, &plan.pem, false)?,
            Outcome::Replaced => replace(dir, &lock, &plan)?,
        };
        done.push(Imported {
            id: plan.id,
            role: plan.role,
            gun: plan.gun,
            source: plan.source,
            path,
            outcome,
            reencrypted: plan.reencrypted,
            id_verified: plan.id_verified,
        });
    }
    Ok(ImportReport {
        imported: done,
        skipped,
    })
}

/// Retires the file stored under the plan's ID, then writes the new one. If the write fails,
/// the retired file is moved back; if even that fails, it stays in `keytool-retired/`.
fn replace(dir: &TrustDir, lock: &DirLock, plan: &Plan) -> Result<PathBuf> {
    let retired = dir.retire_key(lock, &plan.id)?;
    dir.write_key(lock, &plan.id, &plan.pem, false)
        .inspect_err(|_| {
            let _ = std::fs::rename(&retired, dir.key_path(&plan.id));
        })
}

fn plan_block(
    block: pem::PemBlock,
    name: &str,
    source: &dyn PassphraseSource,
    options: &ImportOptions,
    kdf: &KdfSettings,
) -> Result<Plan> {
    let file = KeyFile::from_block(block)?;
    let role = if file.role().as_str().is_empty() {
        options.role.clone().ok_or_else(|| Error::InvalidArgument {
            what: Argument::Role,
            reason: format!("{name} has a key without a role header; say which role it has"),
        })?
    } else {
        file.role().clone()
    };
    if role == Role::Timestamp {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: "timestamp keys are held by the Notary server, never locally".into(),
        });
    }
    let gun = gun_for(&role, file.gun().cloned().or_else(|| options.gun.clone()))?;
    file.check(kdf.max_iterations)?;
    let path_id = file
        .path_header()
        .map(|p| {
            p.parse::<KeyId>().map_err(|_| {
                Error::invalid(format!(
                    "the path header {:?} is not a key ID",
                    crate::ids::clip(p)
                ))
            })
        })
        .transpose()?;

    let mut plan = Plan {
        id: KeyId::from_digest(&[0; 32]),
        role,
        gun,
        source: name.to_owned(),
        pem: String::new(),
        reencrypted: false,
        id_verified: true,
    };
    // A `path:` header (notary's export bundle) is only a claim: the file name must be the ID
    // of the material, so every block is decrypted and its ID checked before it is stored.
    // Without a passphrase the import is refused (`unlock_with` says which one is missing).
    let check_id = |id: &KeyId| match &path_id {
        Some(p) if p != id => Err(Error::invalid(format!(
            "the path header names key {p} but the block holds key {id}"
        ))),
        _ => Ok(()),
    };
    if file.is_encrypted() {
        let (key, supplied) = unlock_with(&file, None, source, kdf)?;
        plan.id = key.id();
        check_id(&plan.id)?;
        match supplied {
            // e.g. OpenSSL's hmacWithSHA256: notary and docker could not open it as it is.
            Some(s) if !file.notary_readable() => {
                plan.pem = file::encode(
                    &key,
                    &plan.role,
                    plan.gun.as_ref(),
                    &s.passphrase,
                    kdf.iterations,
                )?;
                plan.reencrypted = true;
            }
            _ => plan.pem = file.rewrap(&plan.role, plan.gun.as_ref()),
        }
    } else {
        let (key, _) = unlock_with(&file, None, source, kdf)?;
        plan.id = key.id();
        check_id(&plan.id)?;
        let supplied = new_passphrase(source, &plan.id, &plan.role, plan.gun.as_ref(), false)?;
        plan.pem = file::encode(
            &key,
            &plan.role,
            plan.gun.as_ref(),
            &supplied.passphrase,
            kdf.iterations,
        )?;
        plan.reencrypted = true;
    }
    Ok(plan)
}
