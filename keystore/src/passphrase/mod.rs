//! Where passphrases come from: one trait, several sources, and a chain with a documented order.
//!
//! The library never prompts; the CLI adds a terminal source, C and Go callers a callback.

mod env;
mod file;
pub mod keyring;
pub mod policy;
pub mod store;
pub mod vault;

use std::fmt;

pub use env::{EnvSource, env_names_for};
pub(crate) use env::{is_env_origin, is_secret_env};
pub use file::{FileSource, FixedSource, LineSource};

use crate::error::Result;
use crate::ids::{Gun, KeyId, Role};
use crate::secret::Passphrase;

/// Why a passphrase is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// To decrypt an existing key.
    Unlock,
    /// To encrypt a new (or re-encrypted) key.
    NewKey,
}

/// Which secret a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The passphrase of a key (its role, GUN and ID say which).
    Key,
    /// The master passphrase of the vault (role `"vault master"`, or `"new vault master"` for the
    /// new one of `vault change-master`; no key ID).
    VaultMaster,
}

/// A request for one passphrase. `attempt` counts from 0 and grows after a wrong passphrase.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The key, when known (unknown for a key being imported before decryption).
    pub key_id: Option<&'a KeyId>,
    /// The key's role: notary's "alias", which decides the environment variable.
    pub role: &'a Role,
    /// The repository of the key, if any.
    pub gun: Option<&'a Gun>,
    /// Unlock or new key.
    pub purpose: Purpose,
    /// 0 for the first try.
    pub attempt: u32,
    /// A key's passphrase or the vault's master passphrase.
    pub subject: Subject,
}

/// A passphrase and where it came from.
pub struct Supplied {
    /// The passphrase.
    pub passphrase: Passphrase,
    /// The source, as shown in messages: an environment variable name, a file path, "terminal".
    pub origin: String,
    /// Whether asking again after a wrong passphrase can give a different answer (a prompt).
    pub retry_allowed: bool,
}

impl fmt::Debug for Supplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supplied")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// What a source would do with a request, found without reading or revealing a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// It would answer (why: a variable name, an entry, a file).
    Answers(String),
    /// It may answer when asked (a prompt, a callback).
    Asks(String),
    /// It has nothing for this request.
    Nothing(String),
    /// It cannot be used here (why).
    Unavailable(String),
}

/// A source of passphrases.
pub trait PassphraseSource {
    /// A short description for `explain`-style output and errors (no secret).
    fn describe(&self) -> String;

    /// Answers the request, or `Ok(None)` when this source has nothing for it.
    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>>;

    /// What [`supply`](Self::supply) would do, without a secret leaving the source.
    fn probe(&self, _request: &Request<'_>) -> Probe {
        Probe::Asks("asked when needed".into())
    }

    /// Like [`supply`](Self::supply), but only from a store that keeps passphrases by key ID (the
    /// OS keyring, the vault): what is tried when a role-wide environment variable does not open
    /// a key. Sources that are not such stores have nothing.
    fn supply_stored(&self, _request: &Request<'_>) -> Result<Option<Supplied>> {
        Ok(None)
    }
}

/// A shared source is a source (one callback asked for keys and for the vault master).
impl<S: PassphraseSource + ?Sized> PassphraseSource for std::rc::Rc<S> {
    fn describe(&self) -> String {
        (**self).describe()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        (**self).supply(request)
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        (**self).probe(request)
    }

    fn supply_stored(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        (**self).supply_stored(request)
    }
}

/// One line of `passphrase explain`: a source and what it would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    /// The source.
    pub source: String,
    /// What it would do.
    pub probe: Probe,
}

/// Sources asked in order; the first that answers wins.
#[derive(Default)]
pub struct Chain {
    sources: Vec<Box<dyn PassphraseSource>>,
}

impl Chain {
    /// An empty chain (supplies nothing).
    pub fn new() -> Self {
        Chain::default()
    }

    /// Appends a source.
    #[must_use]
    pub fn with(mut self, source: impl PassphraseSource + 'static) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// Appends a boxed source.
    pub fn push(&mut self, source: Box<dyn PassphraseSource>) {
        self.sources.push(source);
    }

    /// The sources, in the order they are asked.
    pub fn sources(&self) -> impl Iterator<Item = &dyn PassphraseSource> {
        self.sources.iter().map(|s| s.as_ref())
    }

    /// Descriptions of the sources, in order.
    pub fn describe_all(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.describe()).collect()
    }

    /// What each source would do with `request`, in the order they are asked.
    pub fn explain(&self, request: &Request<'_>) -> Vec<Explained> {
        self.sources
            .iter()
            .map(|s| Explained {
                source: s.describe(),
                probe: s.probe(request),
            })
            .collect()
    }
}

impl PassphraseSource for Chain {
    fn describe(&self) -> String {
        self.describe_all().join(", then ")
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        for source in &self.sources {
            if let Some(s) = source.supply(request)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn supply_stored(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        for source in &self.sources {
            if let Some(s) = source.supply_stored(request)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_takes_the_first_answer() {
        let chain = Chain::new()
            .with(FixedSource::only_for(
                Role::Root,
                Passphrase::new("r".into()),
                "first",
            ))
            .with(FixedSource::new(Passphrase::new("any".into()), "second"));
        let ask = |role: &Role| {
            chain
                .supply(&Request {
                    key_id: None,
                    role,
                    gun: None,
                    purpose: Purpose::Unlock,
                    attempt: 0,
                    subject: Subject::Key,
                })
                .expect("ok")
                .expect("answer")
                .origin
        };
        assert_eq!(ask(&Role::Root), "first");
        assert_eq!(ask(&Role::Targets), "second");
        assert_eq!(chain.describe(), "first, then second");
    }

    #[cfg(feature = "os-keyring")]
    #[test]
    fn chain_order_for_every_role_with_the_mock_keyring() {
        use super::keyring::Keyring;
        use super::store::{SecretStore, Slot, StoredSource};
        use std::ffi::OsString;

        let repo_env = |k: &str| {
            (k == "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE").then(|| OsString::from("repo-pw"))
        };
        let gun: Gun = "example.com/app".parse().expect("gun");
        for role in ["root", "targets", "snapshot", "targets/releases", "alice"] {
            let role: Role = role.parse().expect("role");
            let id = KeyId::from_digest(&[7; 32]);
            let kr = Keyring::with_store(keyring_core::mock::Store::new().expect("mock"), "mock");
            let chain_with = |env: fn(&str) -> Option<OsString>| {
                let kr =
                    Keyring::with_store(keyring_core::mock::Store::new().expect("mock"), "mock");
                kr.put(
                    &id,
                    &role,
                    Some(&gun),
                    Slot::Current,
                    &Passphrase::new("kr-pw".into()),
                )
                .expect("put");
                Chain::new()
                    .with(EnvSource::with_lookup(env))
                    .with(StoredSource::new(kr))
                    .with(FixedSource::new(Passphrase::new("typed".into()), "prompt"))
            };
            let req = Request {
                key_id: Some(&id),
                role: &role,
                gun: Some(&gun),
                purpose: Purpose::Unlock,
                attempt: 0,
                subject: Subject::Key,
            };
            // No environment: the keyring answers before the prompt.
            let got = chain_with(|_| None)
                .supply(&req)
                .expect("ok")
                .expect("some");
            assert_eq!(got.origin, "the OS keyring (mock)", "{role}");
            assert_eq!(got.passphrase.expose(), b"kr-pw");
            // docker's repository variable wins for every role but root (spec §5).
            let got = chain_with(repo_env)
                .supply(&req)
                .expect("ok")
                .expect("some");
            let expected = if role == Role::Root {
                "the OS keyring (mock)"
            } else {
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"
            };
            assert_eq!(got.origin, expected, "{role}");
            // explain names the same source first and reveals nothing.
            let lines = chain_with(repo_env).explain(&req);
            let first = lines
                .iter()
                .find(|l| matches!(l.probe, Probe::Answers(_)))
                .expect("an answer");
            assert!(first.source.contains(if role == Role::Root {
                "keyring"
            } else {
                "environment"
            }));
            assert!(!format!("{lines:?}").contains("pw"), "{lines:?}");
            // New keys never get a stored passphrase: the prompt answers.
            let new = Request {
                purpose: Purpose::NewKey,
                ..req
            };
            assert_eq!(
                Chain::new()
                    .with(StoredSource::new(kr))
                    .with(FixedSource::new(Passphrase::new("typed".into()), "prompt"))
                    .supply(&new)
                    .expect("ok")
                    .expect("some")
                    .origin,
                "prompt"
            );
        }
    }
}
