//! The passphrase vault: `<trust dir>/keytool-vault.json`, for machines with no OS keyring.
//!
//! Format (version 1), JSON:
//!
//! ```text
//! { "header": { "format": "keytool-vault", "version": 1,
//!               "kdf": { "alg": "argon2id", "m_kib": M, "t": T, "p": P, "salt": B64 },
//!               "aead": "chacha20-poly1305", "nonce": B64,
//!               "entries": [ { "key_id": ID, "slot": "current"|"pending", "role": R, "gun": G? } ] },
//!   "ciphertext": B64 }
//! ```
//!
//! Argon2id (RFC 9106, version 0x13) derives a 32-byte key from the master passphrase and the
//! salt; ChaCha20-Poly1305 (ring) seals the entries' passphrases (each as a 4-byte big-endian
//! length and its UTF-8 bytes) with the whole header as
//! associated data, so changing any byte of the file (parameters, entry list, nonce, ciphertext)
//! makes it fail to open. The header lists which keys have entries (key IDs are not secret:
//! they are the key files' names), so keytool asks for the master passphrase only when the vault
//! holds the key at hand. The KDF parameters are checked against [`MAX_M_KIB`], [`MAX_T`] and
//! [`MAX_P`] before any derivation. Writes are atomic and made under the trust directory's lock,
//! re-reading the file under the lock, so concurrent writers are serialized and none is lost.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::store::{SecretStore, Slot};
use super::{PassphraseSource, Purpose, Request};
use crate::error::{Error, FileLabel, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::secret::Passphrase;
use crate::trust_dir::{DirLock, TrustDir, read_no_follow, write_atomic};

/// The vault's file name in the trust directory.
pub const VAULT_FILE: &str = "keytool-vault.json";
/// The format version written and read.
pub const VERSION: u32 = 1;
/// Largest vault file read.
pub const MAX_VAULT_FILE: u64 = 4 << 20;
/// Highest Argon2id memory cost accepted, in KiB (1 GiB).
pub const MAX_M_KIB: u32 = 1 << 20;
/// Highest Argon2id time cost (passes) accepted.
pub const MAX_T: u32 = 32;
/// Highest Argon2id parallelism accepted.
pub const MAX_P: u32 = 8;
/// The role name under which the master passphrase is asked for.
pub const MASTER_ROLE: &str = "vault master";

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const FORMAT: &str = "keytool-vault";
const KDF_ALG: &str = "argon2id";
const AEAD_ALG: &str = "chacha20-poly1305";

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// keytool's default: 64 MiB, 4 passes, 1 lane (measured in docs/passphrases.md: about
    /// 0.25 s on a 2-core EPYC, release build).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 4,
        p: 1,
    };

    /// Refuses parameters above the caps (or below Argon2's minimums) before any work.
    pub(crate) fn check(&self, path: &Path) -> Result<()> {
        let over = |what: &str, value: u32, limit: u32| Error::ExcessiveVaultCost {
            path: path.to_path_buf(),
            what: format!("{what} = {value}"),
            limit: u64::from(limit),
        };
        if self.m_kib > MAX_M_KIB {
            return Err(over("m_kib", self.m_kib, MAX_M_KIB));
        }
        if self.t > MAX_T {
            return Err(over("t", self.t, MAX_T));
        }
        if self.p > MAX_P {
            return Err(over("p", self.p, MAX_P));
        }
        if self.t == 0 || self.p == 0 || self.m_kib < 8 * self.p {
            return Err(Error::InvalidVault {
                path: path.to_path_buf(),
                reason: "Argon2id parameters below the minimum (t >= 1, p >= 1, m_kib >= 8 p)"
                    .into(),
            });
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfHeader {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

/// One entry as listed (unencrypted) in the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryMeta {
    /// The key.
    pub key_id: String,
    /// "current" or "pending".
    pub slot: String,
    /// The key's role.
    pub role: String,
    /// The key's repository, for repository keys.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gun: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    kdf: KdfHeader,
    aead: String,
    nonce: String,
    entries: Vec<EntryMeta>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultFile {
    header: Header,
    ciphertext: String,
}

/// The sealed plaintext: for each header entry, in order, the passphrase's length as a 4-byte
/// big-endian number followed by its UTF-8 bytes. A binary framing rather than JSON, so that
/// neither writing nor reading needs an escaping pass with scratch buffers that would keep
/// unwiped copies of passphrases.
fn seal_plaintext(secrets: &[Passphrase]) -> Result<Zeroizing<Vec<u8>>> {
    // Sized up front (the AEAD appends a 16-byte tag) so that the buffer never reallocates,
    // which would leave an unwiped copy behind.
    let room = 16 + secrets.iter().map(|s| 4 + s.expose().len()).sum::<usize>();
    let mut plain = Zeroizing::new(Vec::with_capacity(room));
    for s in secrets {
        let len = u32::try_from(s.expose().len()).map_err(|_| Error::Internal {
            what: "a passphrase longer than 4 GiB".into(),
        })?;
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(s.expose());
    }
    Ok(plain)
}

/// Splits the opened plaintext into `count` passphrases; `None` if the framing is wrong.
fn unseal_plaintext(mut plain: &[u8], count: usize) -> Option<Vec<Passphrase>> {
    let mut secrets = Vec::with_capacity(count.min(plain.len() / 4));
    while let Some((len, rest)) = plain.split_first_chunk::<4>() {
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let text = rest.get(..len)?;
        secrets.push(Passphrase::from_utf8(text)?);
        plain = &rest[len..];
    }
    (plain.is_empty() && secrets.len() == count).then_some(secrets)
}

fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Slot::Current => "current",
        Slot::Pending => "pending",
    }
}

/// What `vault status` shows: everything in the header, nothing secret.
#[derive(Clone, Debug, Serialize)]
pub struct VaultStatus {
    /// The file.
    pub path: PathBuf,
    /// Whether the file exists.
    pub exists: bool,
    /// Format version.
    pub version: Option<u32>,
    /// Argon2id parameters.
    pub kdf: Option<KdfParams>,
    /// The entries (key ID, slot, role, GUN).
    pub entries: Vec<EntryMeta>,
}

/// An opened vault: the derived key and the decrypted entries.
pub struct Vault {
    path: PathBuf,
    params: KdfParams,
    salt: Vec<u8>,
    key: Zeroizing<[u8; 32]>,
    meta: Vec<EntryMeta>,
    secrets: Vec<Passphrase>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("params", &self.params)
            .field("entries", &self.meta.len())
            .finish_non_exhaustive()
    }
}

/// The vault file of a trust directory.
pub fn vault_path(dir: &TrustDir) -> PathBuf {
    dir.root().join(VAULT_FILE)
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidVault {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn derive(master: &Passphrase, salt: &[u8], params: KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|e| {
        Error::Internal {
            what: format!("Argon2id parameters: {e}"),
        }
    })?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(master.expose(), salt, out.as_mut())
        .map_err(|e| Error::Internal {
            what: format!("Argon2id: {e}"),
        })?;
    Ok(out)
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Internal {
        what: format!("the OS random number generator failed: {e}"),
    })
}

/// Reads and parses the file (no decryption). `None` if there is no vault.
fn read_file(path: &Path) -> Result<Option<VaultFile>> {
    let bytes = match read_no_follow(path, MAX_VAULT_FILE) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(Error::InvalidKeyFile { reason, .. }) => return Err(invalid(path, reason)),
        other => other?,
    };
    let file: VaultFile = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(
            path,
            format!("not a keytool vault (truncated or altered?): {e}"),
        )
    })?;
    let h = &file.header;
    if h.format != FORMAT {
        return Err(invalid(
            path,
            format!("unknown format {:?}", crate::ids::clip(&h.format)),
        ));
    }
    if h.version != VERSION {
        return Err(invalid(
            path,
            format!(
                "format version {} (this keytool reads {VERSION})",
                h.version
            ),
        ));
    }
    if h.kdf.alg != KDF_ALG || h.aead != AEAD_ALG {
        return Err(invalid(path, "unsupported algorithms"));
    }
    Ok(Some(file))
}

impl Vault {
    /// The status of the vault of `dir`, from its header only (no passphrase needed).
    pub fn status(dir: &TrustDir) -> Result<VaultStatus> {
        let path = vault_path(dir);
        let file = read_file(&path)?;
        Ok(VaultStatus {
            exists: file.is_some(),
            version: file.as_ref().map(|f| f.header.version),
            kdf: file.as_ref().map(|f| KdfParams {
                m_kib: f.header.kdf.m_kib,
                t: f.header.kdf.t,
                p: f.header.kdf.p,
            }),
            entries: file.map(|f| f.header.entries).unwrap_or_default(),
            path,
        })
    }

    internal! {
        /// Creates an empty vault sealed with `master`. An existing vault is never replaced:
        /// that is [`Error::VaultExists`].
        pub fn create(
            dir: &TrustDir,
            lock: &DirLock,
            master: &Passphrase,
            params: KdfParams,
        ) -> Result<Vault> {
            let path = vault_path(dir);
            params.check(&path)?;
            if master.is_empty() {
                return Err(Error::WeakPassphrase {
                    reason: "the vault master passphrase is empty".into(),
                });
            }
            let mut salt = vec![0u8; SALT_LEN];
            random(&mut salt)?;
            let vault = Vault {
                key: derive(master, &salt, params)?,
                path,
                params,
                salt,
                meta: Vec::new(),
                secrets: Vec::new(),
            };
            vault.write(lock, false).map_err(|e| match e {
                Error::AlreadyExists { path } => Error::VaultExists { path },
                e => e,
            })?;
            Ok(vault)
        }
    }

    /// Opens the vault of `dir` with `master`; `None` if there is no vault.
    pub fn open(dir: &TrustDir, master: &Passphrase) -> Result<Option<Vault>> {
        Self::open_with(dir, master, None)
    }

    /// Opens, reusing `known`'s derived key when the file has the same salt and parameters
    /// (a re-read under the lock costs no second derivation).
    fn open_with(
        dir: &TrustDir,
        master: &Passphrase,
        known: Option<&Vault>,
    ) -> Result<Option<Vault>> {
        let path = vault_path(dir);
        let Some(file) = read_file(&path)? else {
            return Ok(None);
        };
        let h = &file.header;
        let params = KdfParams {
            m_kib: h.kdf.m_kib,
            t: h.kdf.t,
            p: h.kdf.p,
        };
        params.check(&path)?;
        let salt = STANDARD
            .decode(&h.kdf.salt)
            .map_err(|_| invalid(&path, "bad salt encoding"))?;
        if !(SALT_LEN..=64).contains(&salt.len()) {
            return Err(invalid(&path, "bad salt length"));
        }
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(&h.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| invalid(&path, "bad nonce"))?;
        let mut sealed = Zeroizing::new(
            STANDARD
                .decode(&file.ciphertext)
                .map_err(|_| invalid(&path, "bad ciphertext encoding"))?,
        );
        let key = match known {
            Some(k) if k.salt == salt && k.params == params => k.key.clone(),
            _ => derive(master, &salt, params)?,
        };
        let aad = serde_json::to_vec(&file.header).map_err(|e| Error::Internal {
            what: format!("vault header: {e}"),
        })?;
        let opener = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key.as_ref()).map_err(
            |_| Error::Internal {
                what: "AEAD key".into(),
            },
        )?);
        let plain = opener
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut sealed,
            )
            .map_err(|_| Error::VaultLocked { path: path.clone() })?;
        let meta = file.header.entries;
        let secrets = unseal_plaintext(plain, meta.len())
            .ok_or_else(|| invalid(&path, "the sealed entries do not match the header"))?;
        Ok(Some(Vault {
            path,
            params,
            salt,
            key,
            meta,
            secrets,
        }))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries.
    pub fn entries(&self) -> &[EntryMeta] {
        &self.meta
    }

    fn position(&self, key_id: &KeyId, slot: Slot) -> Option<usize> {
        self.meta
            .iter()
            .position(|m| m.key_id == key_id.as_str() && m.slot == slot_name(slot))
    }

    /// The passphrase stored for a key.
    pub fn get(&self, key_id: &KeyId, slot: Slot) -> Option<&Passphrase> {
        self.position(key_id, slot).map(|i| &self.secrets[i])
    }

    /// Adds or replaces an entry (in memory; [`Vault::save`] writes it).
    pub(crate) fn set(
        &mut self,
        key_id: &KeyId,
        role: &Role,
        gun: Option<&Gun>,
        slot: Slot,
        passphrase: Passphrase,
    ) {
        let meta = EntryMeta {
            key_id: key_id.to_string(),
            slot: slot_name(slot).into(),
            role: role.to_string(),
            gun: gun.map(ToString::to_string),
        };
        match self.position(key_id, slot) {
            Some(i) => {
                self.meta[i] = meta;
                self.secrets[i] = passphrase;
            }
            None => {
                self.meta.push(meta);
                self.secrets.push(passphrase);
            }
        }
    }

    /// Removes an entry (in memory); `false` if there was none.
    pub(crate) fn remove(&mut self, key_id: &KeyId, slot: Slot) -> bool {
        match self.position(key_id, slot) {
            Some(i) => {
                self.meta.remove(i);
                self.secrets.remove(i);
                true
            }
            None => false,
        }
    }

    /// Re-seals the vault under a new master passphrase and parameters (a new salt).
    pub(crate) fn change_master(&mut self, master: &Passphrase, params: KdfParams) -> Result<()> {
        params.check(&self.path)?;
        if master.is_empty() {
            return Err(Error::WeakPassphrase {
                reason: "the vault master passphrase is empty".into(),
            });
        }
        let mut salt = vec![0u8; SALT_LEN];
        random(&mut salt)?;
        self.key = derive(master, &salt, params)?;
        self.salt = salt;
        self.params = params;
        Ok(())
    }

    internal! {
        /// Writes the vault atomically (the caller holds the trust directory's lock).
        pub fn save(&self, lock: &DirLock) -> Result<()> {
            self.write(lock, true)
        }
    }

    fn write(&self, _lock: &DirLock, overwrite: bool) -> Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            kdf: KdfHeader {
                alg: KDF_ALG.into(),
                m_kib: self.params.m_kib,
                t: self.params.t,
                p: self.params.p,
                salt: STANDARD.encode(&self.salt),
            },
            aead: AEAD_ALG.into(),
            nonce: STANDARD.encode(nonce),
            entries: self.meta.clone(),
        };
        let aad = serde_json::to_vec(&header).map_err(|e| Error::Internal {
            what: format!("vault header: {e}"),
        })?;
        let mut plain = seal_plaintext(&self.secrets)?;
        let sealer = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, self.key.as_ref()).map_err(|_| {
                Error::Internal {
                    what: "AEAD key".into(),
                }
            })?,
        );
        sealer
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut *plain,
            )
            .map_err(|_| Error::Internal {
                what: "AEAD seal".into(),
            })?;
        let file = VaultFile {
            header,
            ciphertext: STANDARD.encode(&*plain),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal {
            what: format!("vault file: {e}"),
        })?;
        bytes.push(b'\n');
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(VAULT_FILE);
        write_atomic(dir, name, &bytes, overwrite)?;
        Ok(())
    }
}

/// The vault as a [`SecretStore`]: asks `master` for the master passphrase once, when an entry
/// must be read or written; every write re-reads the file under the trust directory's lock.
pub struct VaultStore {
    dir: TrustDir,
    master: Box<dyn PassphraseSource>,
    master_cache: RefCell<Option<Passphrase>>,
    opened: RefCell<Option<Vault>>,
}

impl VaultStore {
    /// The vault of `dir`, unlocked with a passphrase from `master` (asked with the role
    /// [`MASTER_ROLE`]).
    pub fn new(dir: TrustDir, master: Box<dyn PassphraseSource>) -> Self {
        VaultStore {
            dir,
            master,
            master_cache: RefCell::new(None),
            opened: RefCell::new(None),
        }
    }

    /// Whether the vault file exists.
    pub fn exists(&self) -> bool {
        vault_path(&self.dir).exists()
    }

    /// Describes where the master passphrase comes from.
    pub fn master_sources(&self) -> String {
        self.master.describe()
    }

    fn master(&self, purpose: Purpose) -> Result<Passphrase> {
        if let Some(p) = self.master_cache.borrow().as_ref() {
            return Ok(p.clone());
        }
        let role = Role::Other(MASTER_ROLE.into());
        let supplied = self
            .master
            .supply(&Request {
                key_id: None,
                role: &role,
                gun: None,
                purpose,
                attempt: 0,
                subject: crate::passphrase::Subject::VaultMaster,
            })?
            .ok_or_else(|| Error::VaultMasterRequired {
                vault: FileLabel::path(&vault_path(&self.dir)),
                new: false,
            })?;
        *self.master_cache.borrow_mut() = Some(supplied.passphrase.clone());
        Ok(supplied.passphrase)
    }

    /// Opens (or re-reads) the vault; `None` if there is none.
    fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> T) -> Result<Option<T>> {
        if !self.exists() {
            return Ok(None);
        }
        let master = self.master(Purpose::Unlock)?;
        let fresh = Vault::open_with(&self.dir, &master, self.opened.borrow().as_ref())?;
        let Some(mut vault) = fresh else {
            return Ok(None);
        };
        let out = f(&mut vault);
        *self.opened.borrow_mut() = Some(vault);
        Ok(Some(out))
    }

    fn listed(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        let status = Vault::status(&self.dir)?;
        Ok(status
            .entries
            .iter()
            .any(|m| m.key_id == key_id.as_str() && m.slot == slot_name(slot)))
    }

    fn modify(&self, f: impl FnOnce(&mut Vault) -> bool) -> Result<bool> {
        // The master passphrase is asked before the lock is taken: its source (a C or Go
        // callback) may call back into the library, which may need the lock.
        if self.exists() {
            self.master(Purpose::Unlock)?;
        }
        let lock = self.dir.lock()?;
        let Some((changed, result)) = self.with_vault(|v| {
            let changed = f(v);
            (changed, changed.then(|| v.save(&lock)))
        })?
        else {
            return Err(Error::VaultNotFound {
                path: vault_path(&self.dir),
            });
        };
        result.transpose()?;
        Ok(changed)
    }
}

impl SecretStore for VaultStore {
    fn describe(&self) -> String {
        format!("the vault {}", vault_path(&self.dir).display())
    }

    fn available(&self) -> Result<()> {
        // A missing vault is simply empty; a damaged one is unusable.
        Vault::status(&self.dir).map(|_| ())
    }

    fn durable(&self) -> bool {
        // Only a vault that exists can keep anything (keytool vault init creates it).
        self.exists()
    }

    fn contains(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        if !self.exists() {
            return Ok(false);
        }
        self.listed(key_id, slot)
    }

    fn get(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Passphrase>> {
        if !self.contains(key_id, slot)? {
            return Ok(None);
        }
        Ok(self.with_vault(|v| v.get(key_id, slot).cloned())?.flatten())
    }

    fn put(
        &self,
        key_id: &KeyId,
        role: &Role,
        gun: Option<&Gun>,
        slot: Slot,
        passphrase: &Passphrase,
    ) -> Result<()> {
        self.modify(|v| {
            v.set(key_id, role, gun, slot, passphrase.clone());
            true
        })
        .map(|_| ())
    }

    fn delete(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        if !self.contains(key_id, slot)? {
            return Ok(false);
        }
        self.modify(|v| v.remove(key_id, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::FixedSource;
    use crate::passphrase::store::StoredSource;

    const FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn sealed_framing_round_trips_and_rejects_malformed_input() {
        let texts = ["plain", "with \"quotes\" and \\ and \n", "ünïcødé 🔑", ""];
        let secrets: Vec<Passphrase> = texts.iter().map(|t| Passphrase::new((*t).into())).collect();
        let plain = seal_plaintext(&secrets).expect("seal");
        let back = unseal_plaintext(&plain, texts.len()).expect("unseal");
        for (t, p) in texts.iter().zip(&back) {
            assert_eq!(p.expose(), t.as_bytes());
        }
        assert!(unseal_plaintext(&plain, texts.len() - 1).is_none(), "count");
        assert!(
            unseal_plaintext(&plain[..plain.len() - 1], texts.len()).is_none(),
            "short"
        );
        let mut trailing = plain.to_vec();
        trailing.push(0);
        assert!(
            unseal_plaintext(&trailing, texts.len()).is_none(),
            "trailing"
        );
        assert!(
            unseal_plaintext(&[0, 0, 0, 2, 0xff, 0xfe], 1).is_none(),
            "not UTF-8"
        );
        assert!(
            unseal_plaintext(&[0xff, 0xff, 0xff, 0xff], 1).is_none(),
            "past the end"
        );
        assert!(unseal_plaintext(&[], 0).is_some_and(|v| v.is_empty()));
    }

    fn id(n: u8) -> KeyId {
        KeyId::from_digest(&[n; 32])
    }

    fn setup() -> (tempfile::TempDir, TrustDir) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = TrustDir::new(tmp.path().join("trust"));
        let lock = dir.lock().expect("lock");
        let mut v =
            Vault::create(&dir, &lock, &Passphrase::new("master-1".into()), FAST).expect("create");
        v.set(
            &id(1),
            &Role::Root,
            None,
            Slot::Current,
            Passphrase::new("vault-canary-secret".into()),
        );
        v.save(&lock).expect("save");
        (tmp, dir)
    }

    fn open(dir: &TrustDir, master: &str) -> Result<Option<Vault>> {
        Vault::open(dir, &Passphrase::new(master.into()))
    }

    #[test]
    fn an_existing_vault_is_never_replaced() {
        let (_tmp, dir) = setup();
        let before = std::fs::read(vault_path(&dir)).expect("read");
        let lock = dir.lock().expect("lock");
        let e = Vault::create(&dir, &lock, &Passphrase::new("master-2".into()), FAST)
            .expect_err("a second vault");
        assert!(
            matches!(&e, Error::VaultExists { path } if *path == vault_path(&dir)),
            "{e:?}"
        );
        assert_eq!(e.code(), crate::ErrorCode::AlreadyExists);
        assert_eq!(std::fs::read(vault_path(&dir)).expect("read"), before);
    }

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let (_tmp, dir) = setup();
        let v = open(&dir, "master-1").expect("open").expect("exists");
        assert_eq!(
            v.get(&id(1), Slot::Current).expect("entry").expose(),
            b"vault-canary-secret"
        );
        let raw = std::fs::read(vault_path(&dir)).expect("read");
        assert!(!String::from_utf8_lossy(&raw).contains("vault-canary"));
        assert!(!String::from_utf8_lossy(&raw).contains("master-1"));
        assert!(!format!("{v:?}").contains("canary"));
    }

    #[test]
    fn wrong_master_flipped_bit_truncated_and_absurd_parameters() {
        let (_tmp, dir) = setup();
        let path = vault_path(&dir);
        let good = std::fs::read(&path).expect("read");
        assert!(matches!(
            open(&dir, "master-2"),
            Err(Error::VaultLocked { .. })
        ));
        // One flipped bit in every byte position of the ciphertext and header.
        let text = String::from_utf8(good.clone()).expect("utf8");
        let ct = text.find("\"ciphertext\": \"").expect("ciphertext") + 16;
        for pos in [ct + 3, text.find("\"nonce\": \"").expect("nonce") + 12] {
            let mut bad = good.clone();
            bad[pos] ^= 0x01;
            std::fs::write(&path, &bad).expect("write");
            let e = open(&dir, "master-1").expect_err("must fail");
            assert!(
                matches!(e, Error::VaultLocked { .. } | Error::InvalidVault { .. }),
                "{e:?}"
            );
        }
        // An entry renamed in the (unencrypted, authenticated) header.
        std::fs::write(&path, text.replace("\"root\"", "\"targets\"")).expect("write");
        assert!(matches!(
            open(&dir, "master-1"),
            Err(Error::VaultLocked { .. })
        ));
        std::fs::write(&path, &good[..good.len() / 2]).expect("write");
        assert!(matches!(
            open(&dir, "master-1"),
            Err(Error::InvalidVault { .. })
        ));
        for (field, value) in [("m_kib", "4294967295"), ("t", "1000000"), ("p", "255")] {
            let re = format!("\"{field}\": ");
            let start = text.find(&re).expect("field") + re.len();
            let end = start + text[start..].find(',').expect("comma");
            let absurd = format!("{}{value}{}", &text[..start], &text[end..]);
            std::fs::write(&path, absurd).expect("write");
            let t0 = std::time::Instant::now();
            assert!(matches!(
                open(&dir, "master-1"),
                Err(Error::ExcessiveVaultCost { .. })
            ));
            assert!(t0.elapsed().as_secs() < 2, "refused before deriving");
        }
        std::fs::write(&path, &good).expect("restore");
        assert!(open(&dir, "master-1").expect("open").is_some());
    }

    #[test]
    fn concurrent_writers_are_serialized() {
        let (_tmp, dir) = setup();
        let threads: Vec<_> = (10..18u8)
            .map(|n| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let store = VaultStore::new(
                        dir,
                        Box::new(FixedSource::new(Passphrase::new("master-1".into()), "test")),
                    );
                    store
                        .put(
                            &id(n),
                            &Role::Targets,
                            Some(&"example.com/app".parse().expect("gun")),
                            Slot::Current,
                            &Passphrase::new(format!("pw-{n}")),
                        )
                        .expect("put");
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let v = open(&dir, "master-1").expect("open").expect("exists");
        assert_eq!(v.entries().len(), 9, "no write was lost");
        for n in 10..18u8 {
            assert_eq!(
                v.get(&id(n), Slot::Current).expect("entry").expose(),
                format!("pw-{n}").as_bytes()
            );
        }
    }

    #[test]
    fn store_source_tries_current_then_pending() {
        let (_tmp, dir) = setup();
        let store = VaultStore::new(
            dir,
            Box::new(FixedSource::new(Passphrase::new("master-1".into()), "test")),
        );
        store
            .put(
                &id(1),
                &Role::Root,
                None,
                Slot::Pending,
                &Passphrase::new("pending-pw".into()),
            )
            .expect("put");
        let source = StoredSource::new(store);
        let ask = |attempt| {
            source
                .supply(&Request {
                    key_id: Some(&id(1)),
                    role: &Role::Root,
                    gun: None,
                    purpose: Purpose::Unlock,
                    attempt,
                    subject: crate::passphrase::Subject::Key,
                })
                .expect("ok")
        };
        let first = ask(0).expect("current");
        assert_eq!(first.passphrase.expose(), b"vault-canary-secret");
        assert!(first.retry_allowed);
        let second = ask(1).expect("pending");
        assert_eq!(second.passphrase.expose(), b"pending-pw");
        assert!(!second.retry_allowed);
        assert!(ask(2).is_none());
    }
}
