//! Validated names: key IDs, roles and GUNs. Names that become paths are checked here once.

use crate::error::Argument;
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
                what: Argument::KeyId,
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

impl Role {
    /// The base role `name` is probably a misspelling of (`target`, `Root`, `root-key`,
    /// `snapshots`, `timestmap`, `repository`, …), or `None`. Any other name is a docker signer
    /// name or a notary alias, which keytool must accept.
    pub fn near_miss(name: &str) -> Option<Role> {
        let base = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];
        let lower = name.trim().to_ascii_lowercase();
        if base.iter().any(|r| r.as_str() == name) {
            return None;
        }
        let stem = lower
            .trim_end_matches("-key")
            .trim_end_matches("_key")
            .trim_end_matches(" key")
            .trim_end_matches("key")
            .trim_end_matches(['-', '_', ' ']);
        if ["repository", "repo", "repositories", "repos"].contains(&stem) {
            return Some(Role::Targets);
        }
        base.into_iter().find(|r| {
            let role = r.as_str();
            let limit = if stem.len() <= 5 { 1 } else { 2 };
            stem == role
                || stem.trim_end_matches('s') == role.trim_end_matches('s')
                || edit_distance(stem, role) <= limit
        })
    }

    /// Refuses a role name that is a near miss of a base role ("did you mean targets?").
    pub fn check_spelling(&self) -> Result<()> {
        match self {
            Role::Other(name) if !name.is_empty() => match Role::near_miss(name) {
                Some(meant) => Err(Error::InvalidArgument {
                    what: Argument::Role,
                    reason: format!(
                        "{:?} is not a role keytool knows (it would become a docker signer name); did you mean {meant}?",
                        clip(name)
                    ),
                }),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// Levenshtein distance of two short ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() > 255 || s.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidArgument {
                what: Argument::Role,
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
/// Parsed ([`FromStr`]) as docker's reference grammar names a repository, since docker signs with
/// the GUN it derives from an image name: an optional registry host (`domain[:port]`, or a
/// bracketed IPv6 address) and lower-case path components (`[a-z0-9]+` joined by `.`, `_`, `__`
/// or dashes), at most 255 bytes, no tag and no digest. A name that docker could never use is an
/// error that suggests the fix when there is one (`did you mean host/acme/web?`).
///
/// Names read back from a trust directory ([`Gun::stored`]) are checked only for what makes them
/// safe as a path below `tuf/`, so that repositories notary created with other names stay usable.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gun(String);

impl Gun {
    /// The GUN as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A GUN found in a trust directory (a key file's `gun:` header, a `tuf/` directory): checked
    /// only to be a safe relative path (non-empty segments of `[A-Za-z0-9._:-]`, none `.` or
    /// `..`, at most 255 bytes), as notary accepts more names than docker does.
    pub fn stored(s: &str) -> Result<Self> {
        path_safe(s).map_err(|why| Error::InvalidArgument {
            what: Argument::Gun,
            reason: format!("{:?}: {why}", clip(s)),
        })?;
        Ok(Gun(s.to_owned()))
    }
}

/// The path-safety rule every GUN meets.
fn path_safe(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > 255 {
        return Err("must be 1 to 255 characters");
    }
    for seg in s.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err("path segments must be non-empty and not . or ..");
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        {
            return Err("only letters, digits and . _ : - / are allowed");
        }
    }
    Ok(())
}

/// docker's `domain-component`: `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn domain_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !c.starts_with('-')
        && !c.ends_with('-')
}

/// docker's `domain`: `host[:port]`, host a dotted domain name or `[IPv6]`.
fn domain(d: &str) -> bool {
    let (host, port) = match d.rfind(':') {
        Some(i) if !d[i..].contains(']') => (&d[..i], Some(&d[i + 1..])),
        _ => (d, None),
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    }
    host.split('.').all(domain_component)
}

/// docker's `path-component`: `[a-z0-9]+` joined by separators `.`, `_`, `__` or `-+`.
fn path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

/// Whether the first of several `/`-separated components is a registry host, as docker decides
/// it: it holds `.` or `:`, is `localhost`, or has upper-case letters.
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// Why `s` is not a repository name docker can use, or `None` when it is one.
fn docker_name_error(s: &str) -> Option<&'static str> {
    if s.is_empty() || s.len() > 255 {
        return Some("must be 1 to 255 characters");
    }
    if s.contains("://") {
        return Some("a repository name has no URL scheme");
    }
    if s.contains('@') {
        return Some("a repository name has no digest (@sha256:…)");
    }
    let parts: Vec<&str> = s.split('/').collect();
    let (host, path) = if parts.len() > 1 && looks_like_domain(parts[0]) {
        (Some(parts[0]), &parts[1..])
    } else {
        (None, &parts[..])
    };
    if host.is_some_and(|h| !domain(h)) {
        return Some("the registry host must be a host name or IP address with an optional :port");
    }
    let last = path.last().copied().unwrap_or_default();
    if last.contains(':') {
        return Some(
            "a repository name has no tag (:tag); docker signs tags inside the repository",
        );
    }
    if path
        .iter()
        .any(|c| c.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Some("repository path components must be lower case, as docker requires");
    }
    if !path.iter().all(|c| path_component(c)) {
        return Some(
            "path components are lower-case letters and digits, separated by '.', '_', '__' or '-', and not empty",
        );
    }
    None
}

/// The name the user probably meant: scheme, tag, digest and trailing `/` removed, path in lower
/// case; `None` when that is not a valid name either.
fn suggest_gun(s: &str) -> Option<String> {
    let mut t = s.trim();
    for scheme in ["https://", "http://"] {
        t = t.strip_prefix(scheme).unwrap_or(t);
    }
    let t = t.split('@').next().unwrap_or(t).trim_end_matches('/');
    let mut parts: Vec<String> = t.split('/').map(str::to_owned).collect();
    let n = parts.len();
    if let Some(last) = parts.last_mut()
        && let Some(i) = last.find(':')
        && (n > 1 || !last[i + 1..].bytes().all(|b| b.is_ascii_digit()))
    {
        last.truncate(i);
    }
    let host = parts.len() > 1 && looks_like_domain(&parts[0]);
    for (i, p) in parts.iter_mut().enumerate() {
        if !(host && i == 0) {
            *p = p.to_ascii_lowercase();
        }
    }
    let fixed = parts.join("/");
    (fixed != s && docker_name_error(&fixed).is_none()).then_some(fixed)
}

impl FromStr for Gun {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            let mut reason = format!("{:?}: {why}", clip(s));
            if let Some(fixed) = suggest_gun(s) {
                reason.push_str(&format!("; did you mean {fixed}?"));
            }
            Error::InvalidArgument {
                what: Argument::Gun,
                reason,
            }
        };
        if let Err(why) = path_safe(s) {
            // Tags and upper case are path-safe; what is not may still have a suggestion.
            return Err(bad(docker_name_error(s).unwrap_or(why)));
        }
        if let Some(why) = docker_name_error(s) {
            return Err(bad(why));
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
            "127.0.0.1:5000/test/trusttest",
            "docker.io/library/x",
            "docker.com/notary0.1/samplerepo",
            "a.io/b/c",
            "alpine",
            "test/trusttest",
            "Registry.Example.com/a/b",
            "a/b__c/d--e/f.g",
        ] {
            assert!(ok.parse::<Gun>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../../x",
            "a/../b",
            "/abs",
            "a//b",
            "a/",
            "a b",
            "a\nb",
            "a\\b",
            "a/-b",
            "a/b-",
            "a/b._c",
            "host:x/a",
            "h_st.io/a",
        ] {
            assert!(bad.parse::<Gun>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn guns_docker_cannot_use_suggest_the_fix() {
        for (bad, why, fixed) in [
            ("host/acme/web:latest", "no tag", Some("host/acme/web")),
            ("host/Acme/Web", "lower case", Some("host/acme/web")),
            (
                "127.0.0.1:5000/test/trusttest:v1",
                "no tag",
                Some("127.0.0.1:5000/test/trusttest"),
            ),
            (
                "Registry.io/Team/App",
                "lower case",
                Some("Registry.io/team/app"),
            ),
            (
                "https://registry.io/team/app",
                "scheme",
                Some("registry.io/team/app"),
            ),
            (
                "registry.io/team/app@sha256:abcd",
                "digest",
                Some("registry.io/team/app"),
            ),
            (
                "registry.io/team/app/",
                "not empty",
                Some("registry.io/team/app"),
            ),
            ("registry.io/-x", "path components", None),
            ("localhost:5000", "no tag", None),
        ] {
            let e = bad.parse::<Gun>().expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
            match fixed {
                Some(f) => assert!(e.ends_with(&format!("did you mean {f}?")), "{bad}: {e}"),
                None => assert!(!e.contains("did you mean"), "{bad}: {e}"),
            }
        }
    }

    #[test]
    fn stored_guns_are_only_path_safe() {
        assert!(Gun::stored("Host/Acme/Web").is_ok());
        assert!(Gun::stored("../x").is_err());
        assert!(Gun::stored("a b").is_err());
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
    fn near_misses_of_role_names() {
        for (name, meant) in [
            ("target", Role::Targets),
            ("Targets", Role::Targets),
            ("targets-key", Role::Targets),
            ("target_key", Role::Targets),
            ("taregts", Role::Targets),
            ("repository", Role::Targets),
            ("root-key", Role::Root),
            ("ROOT", Role::Root),
            ("roots", Role::Root),
            ("snapshots", Role::Snapshot),
            ("snapshto", Role::Snapshot),
            ("timestamps", Role::Timestamp),
            ("timestmap", Role::Timestamp),
        ] {
            assert_eq!(Role::near_miss(name), Some(meant.clone()), "{name}");
            let role: Role = name.parse().expect("any name parses");
            let e = role.check_spelling().expect_err(name).to_string();
            assert!(e.ends_with(&format!("did you mean {meant}?")), "{e}");
        }
        for name in [
            "root",
            "targets",
            "alice",
            "bob",
            "ci-signer",
            "releaser",
            "delegation",
        ] {
            assert_eq!(Role::near_miss(name), None, "{name}");
            assert!(
                name.parse::<Role>()
                    .expect("parses")
                    .check_spelling()
                    .is_ok()
            );
        }
    }

    #[test]
    fn key_ids() {
        assert!("0".repeat(64).parse::<KeyId>().is_ok());
        assert!("A".repeat(64).parse::<KeyId>().is_err());
        assert!("0".repeat(63).parse::<KeyId>().is_err());
    }
}
