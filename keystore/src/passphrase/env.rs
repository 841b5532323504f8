//! Passphrases from environment variables, with docker's and notary's names and exact role
//! mapping (spec §5.4, §5.5), plus keytool's own names.
//!
//! | role (alias)              | variables, in the order asked                                   |
//! |---------------------------|-----------------------------------------------------------------|
//! | root                      | KEYTOOL_ROOT, DOCKER_CONTENT_TRUST_ROOT, NOTARY_ROOT             |
//! | targets                   | KEYTOOL_TARGETS, DOCKER_CONTENT_TRUST_REPOSITORY, NOTARY_TARGETS |
//! | snapshot                  | KEYTOOL_SNAPSHOT, DOCKER_CONTENT_TRUST_REPOSITORY, NOTARY_SNAPSHOT |
//! | timestamp                 | DOCKER_CONTENT_TRUST_REPOSITORY (notary has none)               |
//! | delegations, signer names | KEYTOOL_DELEGATION, DOCKER_CONTENT_TRUST_REPOSITORY, NOTARY_DELEGATION |
//!
//! (each name ends in `_PASSPHRASE`). Values are used exactly as set: no trimming, no minimum
//! length, as docker and notary do. An empty value counts as unset.

use std::ffi::OsString;

use super::{PassphraseSource, Probe, Request, Supplied};
use crate::error::Result;
use crate::ids::Role;
use crate::secret::Passphrase;

/// The environment variables that answer for `role`, in the order they are asked.
pub fn env_names_for(role: &Role) -> Vec<&'static str> {
    match role {
        Role::Root => vec![
            "KEYTOOL_ROOT_PASSPHRASE",
            "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE",
            "NOTARY_ROOT_PASSPHRASE",
        ],
        Role::Targets => vec![
            "KEYTOOL_TARGETS_PASSPHRASE",
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            "NOTARY_TARGETS_PASSPHRASE",
        ],
        Role::Snapshot => vec![
            "KEYTOOL_SNAPSHOT_PASSPHRASE",
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            "NOTARY_SNAPSHOT_PASSPHRASE",
        ],
        Role::Timestamp => vec!["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"],
        Role::Delegation(_) | Role::Other(_) => vec![
            "KEYTOOL_DELEGATION_PASSPHRASE",
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            "NOTARY_DELEGATION_PASSPHRASE",
        ],
    }
}

/// Whether `origin` (a [`Supplied`] origin) is one of the passphrase variables above.
pub(crate) fn is_env_origin(origin: &str) -> bool {
    [
        Role::Root,
        Role::Targets,
        Role::Snapshot,
        Role::Timestamp,
        Role::Other(String::new()),
    ]
    .iter()
    .any(|role| env_names_for(role).contains(&origin))
}

/// Whether an environment variable may hold a passphrase or lead to one: every `*_PASSPHRASE`
/// (the names above, the vault's `KEYTOOL_VAULT_PASSPHRASE`, and any other tool's), every
/// `*_PASSPHRASE_FILE` and every `KEYTOOL_VAULT_*`. Child processes (docker) inherit none of
/// them; one that needs a passphrase is handed exactly that one.
pub(crate) fn is_secret_env(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    name.ends_with("_PASSPHRASE")
        || name.ends_with("_PASSPHRASE_FILE")
        || name.starts_with("KEYTOOL_VAULT")
}

/// A way to read one environment variable.
type Lookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// Reads passphrases from the environment (or from a lookup function, for tests).
pub struct EnvSource {
    lookup: Lookup,
}

impl EnvSource {
    /// Reads the process environment.
    pub fn process() -> Self {
        EnvSource {
            lookup: Box::new(|k| std::env::var_os(k)),
        }
    }

    /// Reads through `lookup` instead of the process environment.
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static) -> Self {
        EnvSource {
            lookup: Box::new(lookup),
        }
    }

    /// The first variable for `role` that is set, without reading its value into a secret.
    pub fn which(&self, role: &Role) -> Option<&'static str> {
        env_names_for(role)
            .into_iter()
            .find(|name| (self.lookup)(name).is_some_and(|v| !v.is_empty()))
    }
}

impl PassphraseSource for EnvSource {
    fn describe(&self) -> String {
        "environment variables (KEYTOOL_*, DOCKER_CONTENT_TRUST_*, NOTARY_* _PASSPHRASE)".into()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        for name in env_names_for(request.role) {
            let Some(value) = (self.lookup)(name) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let Ok(text) = value.into_string() else {
                continue;
            };
            return Ok(Some(Supplied {
                passphrase: Passphrase::new(text),
                origin: name.to_owned(),
                retry_allowed: false,
            }));
        }
        Ok(None)
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        match self.which(request.role) {
            Some(name) => Probe::Answers(format!("{name} is set")),
            None => Probe::Nothing(format!(
                "none of {} is set",
                env_names_for(request.role).join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Purpose;
    use super::*;

    #[test]
    fn secret_bearing_names() {
        let secret = |n: &str| is_secret_env(std::ffi::OsStr::new(n));
        for role in [
            Role::Root,
            Role::Targets,
            Role::Snapshot,
            Role::Timestamp,
            Role::Other("alice".into()),
        ] {
            for name in env_names_for(&role) {
                assert!(secret(name), "{name}");
            }
        }
        for name in [
            "KEYTOOL_VAULT_PASSPHRASE",
            "KEYTOOL_VAULT_PASSPHRASE_FILE",
            "KEYTOOL_VAULT_MASTER",
            "OTHER_TOOL_PASSPHRASE",
            "notary_root_passphrase",
        ] {
            assert!(secret(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "DOCKER_HOST",
            "DOCKER_CONFIG",
            "DOCKER_CONTENT_TRUST",
            "DOCKER_CONTENT_TRUST_SERVER",
            "KEYTOOL_TRUST_DIR",
            "PASSPHRASE_HINT",
        ] {
            assert!(!secret(name), "{name}");
        }
    }

    fn origin(vars: &'static [(&'static str, &'static str)], role: &str) -> Option<String> {
        let src = EnvSource::with_lookup(move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(*v))
        });
        let role: Role = role.parse().expect("role");
        src.supply(&Request {
            key_id: None,
            role: &role,
            gun: None,
            purpose: Purpose::Unlock,
            attempt: 0,
            subject: crate::passphrase::Subject::Key,
        })
        .expect("ok")
        .map(|s| s.origin)
    }

    #[test]
    fn docker_semantics() {
        let d: &[(&str, &str)] = &[
            ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "r"),
            ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "p"),
        ];
        assert_eq!(
            origin(d, "root").as_deref(),
            Some("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE")
        );
        for role in [
            "targets",
            "snapshot",
            "timestamp",
            "targets/releases",
            "alice",
            "",
        ] {
            assert_eq!(
                origin(d, role).as_deref(),
                Some("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"),
                "{role}"
            );
        }
        // The repository passphrase never answers for root.
        let repo_only: &[(&str, &str)] = &[("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "p")];
        assert_eq!(origin(repo_only, "root"), None);
    }

    #[test]
    fn notary_semantics() {
        let n: &[(&str, &str)] = &[
            ("NOTARY_ROOT_PASSPHRASE", "r"),
            ("NOTARY_TARGETS_PASSPHRASE", "t"),
            ("NOTARY_SNAPSHOT_PASSPHRASE", "s"),
            ("NOTARY_DELEGATION_PASSPHRASE", "d"),
        ];
        assert_eq!(origin(n, "root").as_deref(), Some("NOTARY_ROOT_PASSPHRASE"));
        assert_eq!(
            origin(n, "targets").as_deref(),
            Some("NOTARY_TARGETS_PASSPHRASE")
        );
        assert_eq!(
            origin(n, "snapshot").as_deref(),
            Some("NOTARY_SNAPSHOT_PASSPHRASE")
        );
        assert_eq!(
            origin(n, "timestamp"),
            None,
            "notary has no timestamp variable"
        );
        for role in ["targets/releases", "alice", "delegation", ""] {
            assert_eq!(
                origin(n, role).as_deref(),
                Some("NOTARY_DELEGATION_PASSPHRASE"),
                "{role}"
            );
        }
    }

    #[test]
    fn keytool_names_win_and_empty_is_unset() {
        let k: &[(&str, &str)] = &[
            ("KEYTOOL_TARGETS_PASSPHRASE", ""),
            ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "p"),
            ("KEYTOOL_ROOT_PASSPHRASE", "k"),
            ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "r"),
        ];
        assert_eq!(
            origin(k, "root").as_deref(),
            Some("KEYTOOL_ROOT_PASSPHRASE")
        );
        assert_eq!(
            origin(k, "targets").as_deref(),
            Some("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE")
        );
    }
}
