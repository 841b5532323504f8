//! `key export`: notary's export format (the stored blocks, each with a `path:` header), and the
//! formats of the tools that replace content trust: cosign's encrypted key and notation's local
//! key configuration.

mod cosign;
mod files;
mod notation;

pub use cosign::{CosignExport, export_cosign};
pub use notation::{
    DEFAULT_NOTATION_VALIDITY, LOCAL_KEYS_DIR, NotationExport, NotationOptions, SIGNING_KEYS_FILE,
    export_notation,
};

use super::list;
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId};
use crate::trust_dir::{Location, TrustDir};

/// Which keys to export.
#[derive(Clone, Debug)]
pub enum Selection {
    /// Every key in `private/`.
    All,
    /// The keys of one repository (root keys have no GUN, so they are not included, as notary).
    Repo(Gun),
    /// These keys.
    Keys(Vec<KeyId>),
}

/// Builds an export bundle; returns it with the IDs it holds. Stored blocks are copied, not
/// re-encrypted, so `notary key import` recreates byte-identical files.
pub fn export(dir: &TrustDir, selection: &Selection) -> Result<(String, Vec<KeyId>)> {
    let ids: Vec<KeyId> = match selection {
        Selection::Keys(ids) => ids.clone(),
        Selection::All | Selection::Repo(_) => {
            let gun = match selection {
                Selection::Repo(g) => Some(g),
                _ => None,
            };
            list(dir, None, gun)?
                .into_iter()
                .filter(|k| k.location == Location::Flat && k.problem.is_none())
                .filter_map(|k| k.id.parse().ok())
                .collect()
        }
    };
    if ids.is_empty() {
        return Err(Error::KeyNotFound {
            key_id: match selection {
                Selection::Repo(g) => format!("for repository {g}"),
                _ => "(any)".into(),
            },
            dir: dir.private_dir(),
        });
    }
    let mut bundle = String::new();
    for id in &ids {
        let (_, file) = dir.read_key(id)?;
        bundle.push_str(&file.export_pem(id.as_str()));
    }
    Ok((bundle, ids))
}

/// Writes an export bundle to `path` atomically with mode 0600 (refusing to replace an
/// existing file unless `overwrite`).
pub fn export_to_file(
    dir: &TrustDir,
    selection: &Selection,
    path: &std::path::Path,
    overwrite: bool,
) -> Result<Vec<KeyId>> {
    let (bundle, ids) = export(dir, selection)?;
    let (parent, name) = super::output_location(path)?;
    crate::trust_dir::write_atomic(&parent, &name, bundle.as_bytes(), overwrite)?;
    Ok(ids)
}
