//! The OS keyring through `keyring-core` (feature `os-keyring`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use super::{KEYRING_ENV, SERVICE, check_choice};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::passphrase::store::{SecretStore, Slot};
use crate::secret::Passphrase;

const SECRET_SERVICE: &str = "Secret Service";

/// A credential store of the OS (or the mock store, in tests).
pub struct Keyring {
    store: Arc<CredentialStore>,
    name: String,
    durable: bool,
}

impl Keyring {
    /// Wraps a store, named `name` in messages (tests use `keyring_core::mock::Store`).
    pub fn with_store(store: Arc<CredentialStore>, name: impl Into<String>) -> Self {
        Keyring {
            store,
            name: name.into(),
            durable: true,
        }
    }

    /// Marks the store as volatile: it may lose entries on its own (kernel keyutils forgets
    /// them at reboot and after days unused), so a generated passphrase is never kept only
    /// there.
    pub fn volatile(mut self) -> Self {
        self.durable = false;
        self
    }

    /// Every OS keyring an entry of keytool may be held in, for clean-ups (`passphrase remove`):
    /// the one [`Keyring::open_os`] chooses first, then, with `auto` on Linux, the other one
    /// that can be opened (an entry stored in keyutils while no D-Bus session was running stays
    /// there when Secret Service later answers, and the reverse). Empty for `none`.
    pub fn all_os(env: impl Fn(&str) -> Option<OsString>) -> Result<Vec<Keyring>> {
        let chosen = Self::open_os(&env)?;
        let auto = matches!(
            env(KEYRING_ENV)
                .and_then(|v| v.into_string().ok())
                .as_deref(),
            None | Some("") | Some("auto")
        );
        let mut all: Vec<Keyring> = chosen.into_iter().collect();
        if auto && cfg!(target_os = "linux") {
            let bus = env("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
            let mut others = vec![Self::keyutils()];
            if bus && all.iter().all(|k| k.name != SECRET_SERVICE) {
                others.push(Self::secret_service());
            }
            for other in others.into_iter().flatten() {
                if all.iter().all(|k| k.name != other.name) && other.available().is_ok() {
                    all.push(other);
                }
            }
        }
        Ok(all)
    }

    /// The OS keyring chosen by [`KEYRING_ENV`]: with `auto`, on Linux Secret Service when a
    /// session bus is set and the service answers, else kernel keyutils; on macOS the keychain.
    /// `None` for `none` (and on systems without a supported store).
    pub fn open_os(env: impl Fn(&str) -> Option<OsString>) -> Result<Option<Keyring>> {
        let choice = check_choice(&env)?;
        match choice.as_str() {
            "" | "auto" if cfg!(target_os = "linux") => {
                if env("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
                    && let Ok(ss) = Self::secret_service()
                    && ss.available().is_ok()
                {
                    return Ok(Some(ss));
                }
                Self::keyutils().map(Some)
            }
            "" | "auto" => Ok(Self::native().ok()),
            "secret-service" => Self::secret_service().map(Some),
            "keyutils" => Self::keyutils().map(Some),
            "native" => Self::native().map(Some),
            _ => Ok(None),
        }
    }

    #[cfg(target_os = "linux")]
    fn secret_service() -> Result<Keyring> {
        let name = SECRET_SERVICE;
        let store = dbus_secret_service_keyring_store::Store::new()
            .map_err(|e| keyring_error(name, "connect", e))?;
        Ok(Keyring::with_store(store, name))
    }

    #[cfg(target_os = "linux")]
    fn keyutils() -> Result<Keyring> {
        let name = "kernel keyutils";
        let store = linux_keyutils_keyring_store::Store::new()
            .map_err(|e| keyring_error(name, "open", e))?;
        Ok(Keyring::with_store(store, name).volatile())
    }

    #[cfg(not(target_os = "linux"))]
    fn secret_service() -> Result<Keyring> {
        Err(unsupported("Secret Service"))
    }

    #[cfg(not(target_os = "linux"))]
    fn keyutils() -> Result<Keyring> {
        Err(unsupported("kernel keyutils"))
    }

    #[cfg(all(target_os = "macos", feature = "macos-keychain"))]
    fn native() -> Result<Keyring> {
        let name = "macOS keychain";
        let store = apple_native_keyring_store::keychain::Store::new()
            .map_err(|e| keyring_error(name, "open", e))?;
        Ok(Keyring::with_store(store, name))
    }

    #[cfg(not(all(target_os = "macos", feature = "macos-keychain")))]
    fn native() -> Result<Keyring> {
        Err(unsupported("the macOS keychain"))
    }

    fn entry(&self, key_id: &KeyId, slot: Slot) -> Result<Entry> {
        self.store
            .build(SERVICE, &format!("{key_id}{}", slot.suffix()), None)
            .map_err(|e| keyring_error(&self.name, "create an entry", e))
    }

    /// Reads an entry; a store that cannot be read has nothing.
    fn read(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.entry(key_id, slot)?.get_secret() {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(keyring_core::Error::NoEntry)
            | Err(keyring_core::Error::NoStorageAccess(_))
            | Err(keyring_core::Error::PlatformFailure(_)) => Ok(None),
            Err(e) => Err(keyring_error(&self.name, "read an entry", e)),
        }
    }
}

fn unsupported(which: &str) -> Error {
    Error::Keyring {
        store: "OS keyring".into(),
        action: "open",
        reason: format!(
            "{which} is not built for this platform; use the vault instead (KEYTOOL_KEYRING=none)"
        ),
    }
}

/// A keyring error in keytool's words. Payloads that may hold secret bytes are never shown.
fn keyring_error(store: &str, action: &'static str, e: keyring_core::Error) -> Error {
    let reason = match e {
        keyring_core::Error::NoStorageAccess(inner) => format!(
            "no access ({inner}); on a headless machine, run inside a session keyring \
             (keyctl session -), or use the vault instead (KEYTOOL_KEYRING=none)"
        ),
        keyring_core::Error::PlatformFailure(inner) => inner.to_string(),
        keyring_core::Error::BadEncoding(_) => "the stored value is not UTF-8 text".into(),
        keyring_core::Error::BadDataFormat(_, _) => "the stored value is malformed".into(),
        keyring_core::Error::Ambiguous(entries) => {
            format!("{} entries match; remove the duplicates", entries.len())
        }
        keyring_core::Error::NoEntry => "no such entry".into(),
        other => other.to_string(),
    };
    Error::Keyring {
        store: store.to_owned(),
        action,
        reason,
    }
}

impl SecretStore for Keyring {
    fn describe(&self) -> String {
        format!("the OS keyring ({})", self.name)
    }

    fn durable(&self) -> bool {
        self.durable
    }

    fn available(&self) -> Result<()> {
        let probe = self.store.build(SERVICE, "keytool-probe", None);
        match probe.and_then(|e| e.get_secret().map(Zeroizing::new)) {
            Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(&self.name, "be read", e)),
        }
    }

    fn contains(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        Ok(self.read(key_id, slot)?.is_some())
    }

    fn get(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Passphrase>> {
        match self.read(key_id, slot)? {
            Some(bytes) => Passphrase::from_bytes(bytes).map(Some).ok_or_else(|| {
                keyring_error(
                    &self.name,
                    "read an entry",
                    keyring_core::Error::BadEncoding(Vec::new()),
                )
            }),
            None => Ok(None),
        }
    }

    fn put(
        &self,
        key_id: &KeyId,
        role: &Role,
        gun: Option<&Gun>,
        slot: Slot,
        passphrase: &Passphrase,
    ) -> Result<()> {
        let entry = self.entry(key_id, slot)?;
        entry
            .set_secret(passphrase.expose())
            .map_err(|e| keyring_error(&self.name, "store a passphrase", e))?;
        let mut attributes = HashMap::from([("keytool:role", role.as_str())]);
        if let Some(g) = gun {
            attributes.insert("keytool:gun", g.as_str());
        }
        match entry.update_attributes(&attributes) {
            // keyutils and the mock store keep no attributes: the key ID alone names the entry.
            Ok(()) | Err(keyring_core::Error::NotSupportedByStore(_)) => Ok(()),
            Err(e) => Err(keyring_error(&self.name, "label an entry", e)),
        }
    }

    fn delete(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        match self.entry(key_id, slot)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(&self.name, "remove an entry", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> KeyId {
        KeyId::from_digest(&[n; 32])
    }

    #[test]
    fn mock_store_round_trip_and_slots() {
        let kr = Keyring::with_store(keyring_core::mock::Store::new().expect("mock"), "mock");
        let gun: Gun = "example.com/app".parse().expect("gun");
        assert!(kr.available().is_ok());
        assert!(!kr.contains(&id(1), Slot::Current).expect("contains"));
        kr.put(
            &id(1),
            &Role::Targets,
            Some(&gun),
            Slot::Current,
            &Passphrase::new("kr-secret-1".into()),
        )
        .expect("put");
        assert_eq!(
            kr.get(&id(1), Slot::Current)
                .expect("get")
                .expect("some")
                .expose(),
            b"kr-secret-1"
        );
        assert!(!kr.contains(&id(1), Slot::Pending).expect("contains"));
        assert!(kr.delete(&id(1), Slot::Current).expect("delete"));
        assert!(!kr.delete(&id(1), Slot::Current).expect("delete again"));
        assert!(kr.get(&id(1), Slot::Current).expect("get").is_none());
    }

    #[test]
    fn env_chooses_the_store() {
        let none = Keyring::open_os(|k| (k == KEYRING_ENV).then(|| "none".into())).expect("ok");
        assert!(none.is_none());
        assert!(matches!(
            Keyring::open_os(|k| (k == KEYRING_ENV).then(|| "gpg".into())),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
