//! Where passphrases come from: one trait, several sources, and a chain with a documented order.
//!
//! The library never prompts; the CLI adds a terminal source, C and Go callers a callback.

mod env;
mod file;

use std::fmt;

pub use env::{EnvSource, env_names_for};
pub use file::{FileSource, FixedSource};

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

/// A source of passphrases.
pub trait PassphraseSource {
    /// A short description for `explain`-style output and errors (no secret).
    fn describe(&self) -> String;

    /// Answers the request, or `Ok(None)` when this source has nothing for it.
    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>>;
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

    /// Descriptions of the sources, in order.
    pub fn describe_all(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.describe()).collect()
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
                })
                .expect("ok")
                .expect("answer")
                .origin
        };
        assert_eq!(ask(&Role::Root), "first");
        assert_eq!(ask(&Role::Targets), "second");
        assert_eq!(chain.describe(), "first, then second");
    }
}
