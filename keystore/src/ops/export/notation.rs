//! `key export --format notation`: what notation's local-key configuration uses. The key
//! (unencrypted PKCS#8, mode 0600) and a self-signed code-signing certificate for it under
//! `<notation config>/localkeys/`, and the key's entry in `<notation config>/signingkeys.json`,
//! so that `notation sign --key NAME` signs with it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use super::files::{NewFile, write_new_files};
use crate::error::{Argument, Error, Result};
use crate::ids::KeyId;
use crate::key::{Algorithm, cert, interchange};
use crate::ops::{KdfSettings, load_key_with};
use crate::passphrase::PassphraseSource;
use crate::trust_dir::{TrustDir, read_no_follow};

/// notation's file of local signing keys, in its configuration directory.
pub const SIGNING_KEYS_FILE: &str = "signingkeys.json";
/// Where `notation cert generate-test` keeps keys and certificates, in the configuration
/// directory.
pub const LOCAL_KEYS_DIR: &str = "localkeys";

/// The certificate's validity when the caller gives none: 3650 days, as
/// `notation cert generate-test`.
pub const DEFAULT_NOTATION_VALIDITY: Duration = Duration::from_secs(3650 * 86_400);

/// What a notation export wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NotationExport {
    /// The key exported.
    pub key_id: KeyId,
    /// The name notation knows the key by (`notation sign --key NAME`).
    pub name: String,
    /// The unencrypted private key (`PRIVATE KEY` PEM, mode 0600).
    pub private_key: PathBuf,
    /// The self-signed code-signing certificate (`CERTIFICATE` PEM).
    pub certificate: PathBuf,
    /// notation's `signingkeys.json`, with the key's entry added.
    pub signing_keys: PathBuf,
    /// Whether the entry became notation's default key (there was none).
    pub default_key: bool,
    /// The certificate's validity in days.
    pub valid_days: u64,
}

/// What to export and where.
#[derive(Clone, Debug)]
pub struct NotationOptions<'a> {
    /// notation's configuration directory (`~/.config/notation` on Linux).
    pub config_dir: &'a Path,
    /// The key's name in notation; `keytool-<first 12 hex digits of the key ID>` by default.
    pub name: Option<&'a str>,
    /// The certificate's validity.
    pub validity: Duration,
    /// Replace existing files and an existing entry of the same name.
    pub overwrite: bool,
}

/// Exports key `id` for notation. The key must be an ECDSA key: keytool signs the certificate
/// with it (notation does not take Ed25519 keys at all). Files and the `signingkeys.json` entry
/// are all written or none (a failure removes the files this call created; `signingkeys.json`
/// is replaced atomically, last).
pub fn export_notation(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
    opts: &NotationOptions<'_>,
) -> Result<NotationExport> {
    let name = match opts.name {
        Some(n) => check_name(n)?.to_owned(),
        None => format!("keytool-{}", &id.as_str()[..12]),
    };
    let config_dir = absolute(opts.config_dir)?;
    let keys_file = config_dir.join(SIGNING_KEYS_FILE);
    let mut config = read_signing_keys(&keys_file)?;
    let taken = config["keys"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|k| k["name"] == name.as_str()));
    if taken && !opts.overwrite {
        return Err(Error::Conflict {
            target: format!("{}", keys_file.display()),
            path: format!("key entry named {name}"),
        });
    }
    let (_, _, key, _) = load_key_with(dir, id, source, kdf)?;
    if key.algorithm() != Algorithm::Ecdsa {
        return Err(Error::unsupported(format!(
            "exporting {} keys for notation (keytool makes the certificate with the key itself, \
             which it does for ECDSA P-256 keys only)",
            key.algorithm()
        )));
    }
    let certificate = cert::signing_certificate(&key, &name, SystemTime::now(), opts.validity)?;
    let private = interchange::private_pem(&key)?;
    let local = config_dir.join(LOCAL_KEYS_DIR);
    let key_path = local.join(format!("{name}.key"));
    let cert_path = local.join(format!("{name}.crt"));
    write_new_files(
        &[
            NewFile::new(&key_path, private.as_bytes())?,
            NewFile::new(&cert_path, certificate.as_bytes())?,
        ],
        opts.overwrite,
    )?;
    let default_key = add_entry(&mut config, &name, &key_path, &cert_path);
    let text = serde_json::to_string_pretty(&config).map_err(|e| Error::Internal {
        what: format!("cannot serialize {SIGNING_KEYS_FILE}: {e}"),
    })?;
    if let Err(e) =
        crate::trust_dir::write_atomic(&config_dir, SIGNING_KEYS_FILE, text.as_bytes(), true)
    {
        if !opts.overwrite {
            let _ = std::fs::remove_file(&key_path);
            let _ = std::fs::remove_file(&cert_path);
        }
        return Err(e);
    }
    Ok(NotationExport {
        key_id: id.clone(),
        name,
        private_key: key_path,
        certificate: cert_path,
        signing_keys: keys_file,
        default_key,
        valid_days: opts.validity.as_secs() / 86_400,
    })
}

/// notation's key names become file names: letters, digits, `.`, `_`, `-`, not starting with a
/// dash or dot, at most 64 characters.
fn check_name(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(Error::InvalidArgument {
            what: Argument::Parameter("notation key name"),
            reason: format!(
                "{name:?} is not a usable notation key name (letters, digits, '.', '_' and '-', \
                 not starting with '-' or '.', at most 64 characters)"
            ),
        })
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Error::io("find the current directory for", path, e))?;
    Ok(cwd.join(path))
}

/// The current `signingkeys.json` (an empty configuration when there is none). A file that is
/// not notation's JSON is refused rather than replaced.
fn read_signing_keys(path: &Path) -> Result<Value> {
    let bytes = match read_no_follow(path, 1 << 20) {
        Ok(b) => b,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(json!({ "keys": [] }));
        }
        Err(e) => return Err(e),
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArgument {
        what: Argument::ConfigFile,
        reason: format!(
            "{} is not valid JSON ({e}); fix or move it, keytool does not replace it",
            path.display()
        ),
    })?;
    let usable = value.is_object() && (value.get("keys").is_none() || value["keys"].is_array());
    if !usable {
        return Err(Error::InvalidArgument {
            what: Argument::ConfigFile,
            reason: format!(
                "{} is not notation's signing key configuration (an object with a \"keys\" list)",
                path.display()
            ),
        });
    }
    Ok(value)
}

/// Adds (or replaces) the entry `name`; makes it the default when there is none. Returns whether
/// it became the default. Other entries and fields are kept as they are.
fn add_entry(config: &mut Value, name: &str, key: &Path, cert: &Path) -> bool {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(name));
    entry.insert("keyPath".into(), json!(key.to_string_lossy()));
    entry.insert("certPath".into(), json!(cert.to_string_lossy()));
    let Some(obj) = config.as_object_mut() else {
        return false;
    };
    let keys = obj.entry("keys").or_insert_with(|| json!([]));
    if let Some(list) = keys.as_array_mut() {
        list.retain(|k| k["name"] != name);
        list.push(Value::Object(entry));
    }
    let has_default = obj
        .get("default")
        .and_then(Value::as_str)
        .is_some_and(|d| !d.is_empty());
    if !has_default {
        obj.insert("default".into(), json!(name));
    }
    !has_default
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_like_flags_or_paths_are_refused() {
        for bad in ["", "-rf", ".hidden", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["wabbit-networks.io", "keytool_1", "K-2"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn entries_are_added_kept_and_replaced() {
        let mut config = json!({
            "default": "old",
            "keys": [{"name": "old", "keyPath": "/o.key", "certPath": "/o.crt"}],
            "extra": 1
        });
        let became_default =
            add_entry(&mut config, "new", Path::new("/n.key"), Path::new("/n.crt"));
        assert!(!became_default);
        assert_eq!(config["default"], "old");
        assert_eq!(config["extra"], 1);
        assert_eq!(config["keys"].as_array().map(Vec::len), Some(2));
        add_entry(&mut config, "new", Path::new("/m.key"), Path::new("/m.crt"));
        assert_eq!(config["keys"].as_array().map(Vec::len), Some(2));
        assert_eq!(config["keys"][1]["keyPath"], "/m.key");
        let mut empty = json!({ "keys": [] });
        assert!(add_entry(
            &mut empty,
            "k",
            Path::new("/k.key"),
            Path::new("/k.crt")
        ));
        assert_eq!(empty["default"], "k");
    }
}
