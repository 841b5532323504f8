//! notary 0.1–0.3 key layouts (`private/root_keys/`, `private/tuf_keys/<gun>/`,
//! `<id>_<role>.key`) and their migration to the flat layout (spec §1.7).

use std::path::{Component, Path};

use crate::ids::{Gun, KeyId};

/// What a legacy path says about its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyName {
    /// The key ID from the file name.
    pub id: String,
    /// The role from a `<id>_<role>` file name.
    pub role: Option<String>,
    /// The GUN from the directories below `tuf_keys/`.
    pub gun: Option<String>,
}

/// Interprets a path relative to `private/`; `None` when it is not a legacy layout.
pub fn interpret(rel: &Path) -> Option<LegacyName> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (first, rest) = parts.split_first()?;
    if first != "root_keys" && first != "tuf_keys" {
        return None;
    }
    let (file, dirs) = rest.split_last()?;
    let stem = file.strip_suffix(".key")?;
    let (id, role) = match stem.split_once('_') {
        Some((id, role)) => (id.to_owned(), Some(role.to_owned())),
        None => (stem.to_owned(), None),
    };
    let gun = (first == "tuf_keys" && !dirs.is_empty()).then(|| dirs.join("/"));
    Some(LegacyName { id, role, gun })
}

impl LegacyName {
    /// The validated key ID, if the file name holds one.
    pub fn key_id(&self) -> Option<KeyId> {
        self.id.parse().ok()
    }

    /// The validated GUN, if any (an invalid one is `Err`).
    pub fn parsed_gun(&self) -> crate::Result<Option<Gun>> {
        self.gun.as_deref().map(Gun::stored).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let n = interpret(Path::new("root_keys/abc_root.key")).expect("legacy");
        assert_eq!(
            (n.id.as_str(), n.role.as_deref(), n.gun),
            ("abc", Some("root"), None)
        );
        let n = interpret(Path::new(
            "tuf_keys/docker.com/notary0.1/samplerepo/def_targets.key",
        ))
        .expect("legacy");
        assert_eq!(n.gun.as_deref(), Some("docker.com/notary0.1/samplerepo"));
        assert_eq!(n.role.as_deref(), Some("targets"));
        let n = interpret(Path::new("tuf_keys/abc.key")).expect("legacy");
        assert_eq!((n.role, n.gun), (None, None));
        assert!(interpret(Path::new("abc.key")).is_none());
        assert!(interpret(Path::new("other/abc.key")).is_none());
    }
}
