//! The stand-in for the OS keyring in a build without the feature `os-keyring`: there is never a
//! keyring, so passphrases are kept in the vault only.

use std::convert::Infallible;
use std::ffi::OsString;

use super::check_choice;
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::passphrase::store::{SecretStore, Slot};
use crate::secret::Passphrase;

/// A credential store of the OS. This build has none (feature `os-keyring` off): no value of
/// this type can exist, and [`Keyring::open_os`] finds nothing.
pub struct Keyring {
    never: Infallible,
}

impl Keyring {
    /// Marks the store as volatile (never called in this build: there is no keyring).
    pub fn volatile(self) -> Self {
        match self.never {}
    }

    /// Every OS keyring an entry of keytool may be held in: none in this build. A `KEYTOOL_KEYRING`
    /// that names a store is an error, as in [`Keyring::open_os`].
    pub fn all_os(env: impl Fn(&str) -> Option<OsString>) -> Result<Vec<Keyring>> {
        Ok(Self::open_os(env)?.into_iter().collect())
    }

    /// The OS keyring chosen by `KEYTOOL_KEYRING`: `None` for `auto` (or unset) and `none`; a
    /// choice of a store (`secret-service`, `keyutils`, `native`) is an error saying this build
    /// has no OS keyring, and a misspelt one is an error too.
    pub fn open_os(env: impl Fn(&str) -> Option<OsString>) -> Result<Option<Keyring>> {
        match check_choice(env)?.as_str() {
            "" | "auto" | "none" => Ok(None),
            store => Err(Error::Keyring {
                store: store.to_owned(),
                action: "open",
                reason: "this build of keystore has no OS keyring (feature os-keyring); use the \
                         vault instead (KEYTOOL_KEYRING=none)"
                    .into(),
            }),
        }
    }
}

impl SecretStore for Keyring {
    fn describe(&self) -> String {
        match self.never {}
    }

    fn contains(&self, _key_id: &KeyId, _slot: Slot) -> Result<bool> {
        match self.never {}
    }

    fn get(&self, _key_id: &KeyId, _slot: Slot) -> Result<Option<Passphrase>> {
        match self.never {}
    }

    fn put(
        &self,
        _key_id: &KeyId,
        _role: &Role,
        _gun: Option<&Gun>,
        _slot: Slot,
        _passphrase: &Passphrase,
    ) -> Result<()> {
        match self.never {}
    }

    fn delete(&self, _key_id: &KeyId, _slot: Slot) -> Result<bool> {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::policy::Policy;
    use crate::passphrase::vault::{KdfParams, Vault};
    use crate::trust_dir::TrustDir;

    fn choose(value: &'static str) -> impl Fn(&str) -> Option<OsString> {
        move |k| (k == super::super::KEYRING_ENV).then(|| value.into())
    }

    /// The gate: without the feature there is no OS keyring, a store named in `KEYTOOL_KEYRING`
    /// is an error naming the feature, and the vault still keeps passphrases.
    #[test]
    fn no_keyring_without_the_feature_and_the_vault_works() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = TrustDir::new(tmp.path().join("trust"));
        std::fs::create_dir_all(dir.root()).expect("mkdir");

        assert!(Keyring::open_os(|_| None).expect("auto").is_none());
        assert!(Keyring::all_os(choose("none")).expect("none").is_empty());
        for store in ["secret-service", "keyutils", "native"] {
            let Err(Error::Keyring { reason, .. }) = Keyring::open_os(choose(store)) else {
                panic!("{store}: expected the missing feature");
            };
            assert!(reason.contains("feature os-keyring"), "{reason}");
        }
        assert!(matches!(
            Keyring::open_os(choose("nonee")),
            Err(Error::InvalidArgument { .. })
        ));

        let master = Passphrase::new("master-pw".into());
        let fast = KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        let lock = dir.lock().expect("lock");
        Vault::create(&dir, &lock, &master, fast).expect("vault");
        drop(lock);

        let policy = Policy::new(dir.clone(), |_| None)
            .expect("policy")
            .with_secrets(|k| (k == "KEYTOOL_VAULT_PASSPHRASE").then(|| "master-pw".into()));
        assert!(policy.keyring().expect("keyring").is_none());
        assert_eq!(policy.stores().len(), 1, "the vault only");
        let id = KeyId::from_digest(&[7; 32]);
        let store = policy.preferred_store(false).expect("the vault");
        assert_eq!(store.describe(), policy.vault_store().describe());
        store
            .put(
                &id,
                &Role::Targets,
                None,
                Slot::Current,
                &Passphrase::new("kept-in-vault".into()),
            )
            .expect("put");
        let holder = policy.holder(&id).expect("holder").expect("held");
        assert_eq!(
            holder
                .get(&id, Slot::Current)
                .expect("get")
                .expect("some")
                .expose(),
            b"kept-in-vault"
        );
    }
}
