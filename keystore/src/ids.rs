//! Validated names: key IDs, roles and GUNs. Names that become paths are checked here once.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A TUF key ID: 64 lower-case hex characters (SHA-256 of the canonical public key JSON).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Builds a key ID from a SHA-256 digest.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        KeyId(hex::encode(digest))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as notary shows in prompts.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// Whether `text` could be a full key ID.
    pub fn is_valid(text: &str) -> bool {
        text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl FromStr for KeyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if KeyId::is_valid(s) {
            Ok(KeyId(s.to_owned()))
        } else {
            Err(Error::InvalidArgument {
                what: "key ID",
                reason: format!("expected 64 lower-case hex characters, got {:?}", clip(s)),
            })
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A key's role, as stored in the `role:` PEM header (notary's "alias").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The root role.
    Root,
    /// The repository (targets) role.
    Targets,
    /// The snapshot role.
    Snapshot,
    /// The timestamp role.
    Timestamp,
    /// A delegation such as `targets/releases`.
    Delegation(String),
    /// Anything else: docker signer names, notary's `delegation`, or the empty role.
    Other(String),
}

impl Role {
    /// The role as written in key files.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
            Role::Delegation(s) | Role::Other(s) => s,
        }
    }

    /// Whether notary stores a `gun:` header for keys of this role (spec §2.1).
    pub fn carries_gun(&self) -> bool {
        matches!(self, Role::Targets | Role::Snapshot | Role::Timestamp)
    }

    /// Whether this is one of the four base roles.
    pub fn is_base(&self) -> bool {
        matches!(
            self,
            Role::Root | Role::Targets | Role::Snapshot | Role::Timestamp
        )
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() > 255 || s.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidArgument {
                what: "role",
                reason: format!("{:?} is too long or holds control characters", clip(s)),
            });
        }
        Ok(match s {
            "root" => Role::Root,
            "targets" => Role::Targets,
            "snapshot" => Role::Snapshot,
            "timestamp" => Role::Timestamp,
            d if d.starts_with("targets/") => Role::Delegation(d.to_owned()),
            other => Role::Other(other.to_owned()),
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A globally unique name of a repository, e.g. `sandboxregistry:5000/test/trusttest`.
///
/// Validated so that it can become a path below `tuf/` safely: non-empty segments of
/// `[A-Za-z0-9._:-]`, none of them `.` or `..`, at most 255 bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gun(String);

impl Gun {
    /// The GUN as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Gun {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::InvalidArgument {
            what: "repository name (GUN)",
            reason: format!("{:?}: {why}", clip(s)),
        };
        if s.is_empty() || s.len() > 255 {
            return Err(bad("must be 1 to 255 characters"));
        }
        for seg in s.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(bad("path segments must be non-empty and not . or .."));
            }
            if !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
            {
                return Err(bad("only letters, digits and . _ : - / are allowed"));
            }
        }
        Ok(Gun(s.to_owned()))
    }
}

impl fmt::Display for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gun({})", self.0)
    }
}

/// IDs, roles and GUNs serialize as their text.
macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(KeyId, Role, Gun);

/// Cuts untrusted text shown in messages to a readable length.
/// At most 80 characters of `s`, for quoting untrusted input in error messages.
pub fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guns() {
        for ok in [
            "sandboxregistry:5000/test/trusttest",
            "docker.io/library/alpine",
            "example.com/org/repo",
            "localhost:5000/app_1-x",
        ] {
            assert!(ok.parse::<Gun>().is_ok(), "{ok}");
        }
        for bad in [
            "", "../../x", "a/../b", "/abs", "a//b", "a/", "a b", "a\nb", "a\\b",
        ] {
            assert!(bad.parse::<Gun>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles() {
        assert_eq!("root".parse::<Role>().ok(), Some(Role::Root));
        assert!(matches!(
            "targets/releases".parse::<Role>(),
            Ok(Role::Delegation(_))
        ));
        assert!(matches!("alice".parse::<Role>(), Ok(Role::Other(_))));
        assert!("ro\nle".parse::<Role>().is_err());
        assert!(Role::Targets.carries_gun());
        assert!(!Role::Root.carries_gun());
        assert!(!Role::Delegation("targets/x".into()).carries_gun());
    }

    #[test]
    fn key_ids() {
        assert!("0".repeat(64).parse::<KeyId>().is_ok());
        assert!("A".repeat(64).parse::<KeyId>().is_err());
        assert!("0".repeat(63).parse::<KeyId>().is_err());
    }
}
