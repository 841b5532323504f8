//! Stored passphrases: one entry per key ID in the OS keyring or the vault, and the source that
//! reads them.
//!
//! Each key has a *current* entry and, while `key passwd` is between writing the new passphrase
//! and rewriting the key file, a *pending* one. Unlocking tries the current entry, then the
//! pending one, so a crash at any moment leaves a passphrase that opens the key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::{PassphraseSource, Probe, Purpose, Request, Supplied};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::secret::Passphrase;

/// Random bytes in a generated passphrase: 192 bits, written as 32 URL-safe base64 characters.
pub const GENERATED_BYTES: usize = 24;

/// Which entry of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The passphrase of the key file as it is.
    Current,
    /// A new passphrase stored by `key passwd` before the key file is rewritten.
    Pending,
}

impl Slot {
    /// Both slots, in the order unlocking tries them.
    pub const BOTH: [Slot; 2] = [Slot::Current, Slot::Pending];

    /// The suffix of the entry name ("" or ".pending").
    pub fn suffix(self) -> &'static str {
        match self {
            Slot::Current => "",
            Slot::Pending => ".pending",
        }
    }
}

/// A place that keeps passphrases by key ID: the OS keyring or the vault.
pub trait SecretStore {
    /// A short name for messages ("the OS keyring (kernel keyutils)", "the vault FILE").
    fn describe(&self) -> String;

    /// Whether the store can be used at all (for `passphrase explain`); reads of an unusable
    /// store find nothing rather than fail.
    fn available(&self) -> Result<()> {
        Ok(())
    }

    /// Whether the store keeps entries until they are removed. Kernel keyutils does not (its
    /// entries are gone at reboot and expire after days unused): a generated passphrase, which
    /// nobody knows, is never kept only in a store that is not durable.
    fn durable(&self) -> bool {
        true
    }

    /// Whether the store has an entry, without handing out the passphrase.
    fn contains(&self, key_id: &KeyId, slot: Slot) -> Result<bool>;

    /// The stored passphrase, if any.
    fn get(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Passphrase>>;

    /// Stores (or replaces) an entry durably; `role` and `gun` are kept as attributes where the
    /// store supports them.
    fn put(
        &self,
        key_id: &KeyId,
        role: &Role,
        gun: Option<&Gun>,
        slot: Slot,
        passphrase: &Passphrase,
    ) -> Result<()>;

    /// Removes an entry; `false` if there was none.
    fn delete(&self, key_id: &KeyId, slot: Slot) -> Result<bool>;
}

/// A random passphrase with [`GENERATED_BYTES`] bytes of entropy from the OS.
pub fn generate_passphrase() -> Result<Passphrase> {
    let mut raw = Zeroizing::new([0u8; GENERATED_BYTES]);
    getrandom::fill(raw.as_mut()).map_err(|e| Error::Internal {
        what: format!("the OS random number generator failed: {e}"),
    })?;
    let mut text = String::with_capacity(GENERATED_BYTES * 4 / 3 + 4);
    URL_SAFE_NO_PAD.encode_string(raw.as_ref(), &mut text);
    Ok(Passphrase::new(text))
}

/// The store a generated passphrase goes to: the first of `candidates` that is durable and can
/// be used. Without one the error says how to get one, and nothing is stored or written.
pub fn durable_store(
    candidates: Vec<Box<dyn SecretStore>>,
    vault_path: &std::path::Path,
) -> Result<Box<dyn SecretStore>> {
    let mut seen = Vec::new();
    for store in candidates {
        if store.durable() && store.available().is_ok() {
            return Ok(store);
        }
        seen.push(store.describe());
    }
    Err(no_durable_store(&seen, vault_path))
}

/// The refusal when no durable store can take a generated passphrase.
pub fn no_durable_store(seen: &[String], vault_path: &std::path::Path) -> Error {
    Error::NoDurableStore {
        not_durable: seen.to_vec(),
        vault: vault_path.to_owned(),
    }
}

/// The first of `stores` that holds a current passphrase for `id` (the store `key passwd` must
/// keep in step with the key file), or `None`.
pub fn holder(
    stores: Vec<Box<dyn SecretStore>>,
    id: &KeyId,
) -> Result<Option<Box<dyn SecretStore>>> {
    for store in stores {
        if store.contains(id, Slot::Current)? {
            return Ok(Some(store));
        }
    }
    Ok(None)
}

/// Removes the stored passphrases (current and pending) of `id`; `false` if there were none.
/// Copies are removed until none is left (kernel keyutils can hold one in the session keyring
/// and another in the persistent keyring).
pub fn forget(id: &KeyId, store: &dyn SecretStore) -> Result<bool> {
    let mut any = false;
    for slot in Slot::BOTH {
        // A bound, in case a store reported a removal and still had the entry.
        for _ in 0..8 {
            if !store.delete(id, slot)? {
                break;
            }
            any = true;
        }
    }
    Ok(any)
}

/// Answers unlock requests from a [`SecretStore`]: the current entry, then the pending one.
pub struct StoredSource<S> {
    store: S,
}

impl<S: SecretStore> StoredSource<S> {
    /// Reads from `store`.
    pub fn new(store: S) -> Self {
        StoredSource { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: SecretStore> PassphraseSource for StoredSource<S> {
    fn describe(&self) -> String {
        self.store.describe()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let (Some(id), Purpose::Unlock) = (request.key_id, request.purpose) else {
            return Ok(None);
        };
        // The n-th attempt gets the n-th entry that exists.
        let mut present = Vec::with_capacity(2);
        for slot in Slot::BOTH {
            if self.store.contains(id, slot)? {
                present.push(slot);
            }
        }
        let Some(&slot) = present.get(request.attempt as usize) else {
            return Ok(None);
        };
        let Some(passphrase) = self.store.get(id, slot)? else {
            return Ok(None);
        };
        Ok(Some(Supplied {
            passphrase,
            origin: match slot {
                Slot::Current => self.store.describe(),
                Slot::Pending => format!("{} (pending entry of key passwd)", self.store.describe()),
            },
            retry_allowed: (request.attempt as usize) + 1 < present.len(),
        }))
    }

    fn supply_stored(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        self.supply(request)
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        let Some(id) = request.key_id else {
            return Probe::Nothing("entries are per key ID; none is known yet".into());
        };
        if request.purpose == Purpose::NewKey {
            return Probe::Nothing("holds passphrases of existing keys only".into());
        }
        if let Err(e) = self.store.available() {
            return Probe::Unavailable(e.to_string());
        }
        match self.store.contains(id, Slot::Current) {
            Ok(true) => Probe::Answers(format!("has an entry for key {}", id.short())),
            Ok(false) => match self.store.contains(id, Slot::Pending) {
                Ok(true) => Probe::Answers(format!(
                    "has a pending entry (unfinished key passwd) for key {}",
                    id.short()
                )),
                Ok(false) => Probe::Nothing(format!("no entry for key {}", id.short())),
                Err(e) => Probe::Unavailable(e.to_string()),
            },
            Err(e) => Probe::Unavailable(e.to_string()),
        }
    }
}

/// Where a generated passphrase was stored (never the passphrase).
#[derive(Clone, Debug, serde::Serialize)]
pub struct GeneratedPassphrase {
    /// The key it encrypts.
    pub key_id: KeyId,
    /// The key's role.
    pub role: Role,
    /// The key's repository.
    pub gun: Option<Gun>,
    /// The store that holds it ([`SecretStore::describe`]).
    pub stored_in: String,
}

/// Answers requests for new keys with a generated passphrase, stored under the key's ID in
/// `store` before the caller writes the key file (`--generate-passphrase`). `store` should be
/// durable (see [`durable_store`]): nobody knows a generated passphrase.
pub struct GeneratingSource<S> {
    store: S,
    notify: Option<Box<dyn Fn(GeneratedPassphrase)>>,
}

impl<S: SecretStore> GeneratingSource<S> {
    /// Generates and stores into `store`.
    pub fn new(store: S) -> Self {
        GeneratingSource {
            store,
            notify: None,
        }
    }

    /// Also tells `notify` where each generated passphrase went (for the user's report).
    pub fn notify(mut self, notify: impl Fn(GeneratedPassphrase) + 'static) -> Self {
        self.notify = Some(Box::new(notify));
        self
    }
}

impl<S: SecretStore> PassphraseSource for GeneratingSource<S> {
    fn describe(&self) -> String {
        format!(
            "a generated passphrase (new keys only), stored in {}",
            self.store.describe()
        )
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let (Some(id), Purpose::NewKey) = (request.key_id, request.purpose) else {
            return Ok(None);
        };
        let passphrase = generate_passphrase()?;
        self.store
            .put(id, request.role, request.gun, Slot::Current, &passphrase)?;
        if let Some(notify) = &self.notify {
            notify(GeneratedPassphrase {
                key_id: id.clone(),
                role: request.role.clone(),
                gun: request.gun.cloned(),
                stored_in: self.store.describe(),
            });
        }
        Ok(Some(Supplied {
            passphrase,
            origin: format!(
                "a passphrase generated and stored in {}",
                self.store.describe()
            ),
            retry_allowed: false,
        }))
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        match request.purpose {
            Purpose::NewKey => Probe::Answers(self.describe()),
            Purpose::Unlock => Probe::Nothing("only for new keys".into()),
        }
    }
}

/// Stores behind a reference, a box or a shared pointer are stores too (an `Rc` lets two users
/// share one store, e.g. one vault whose master passphrase is asked once).
macro_rules! forward_secret_store {
    ($($pointer:ty),*) => {$(
        impl<S: SecretStore + ?Sized> SecretStore for $pointer {
            fn describe(&self) -> String {
                (**self).describe()
            }
            fn available(&self) -> Result<()> {
                (**self).available()
            }
            fn durable(&self) -> bool {
                (**self).durable()
            }
            fn contains(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
                (**self).contains(key_id, slot)
            }
            fn get(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Passphrase>> {
                (**self).get(key_id, slot)
            }
            fn put(
                &self,
                key_id: &KeyId,
                role: &Role,
                gun: Option<&Gun>,
                slot: Slot,
                passphrase: &Passphrase,
            ) -> Result<()> {
                (**self).put(key_id, role, gun, slot, passphrase)
            }
            fn delete(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
                (**self).delete(key_id, slot)
            }
        }
    )*};
}

forward_secret_store!(&S, Box<S>, std::rc::Rc<S>);
