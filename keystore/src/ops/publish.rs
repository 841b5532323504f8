//! `init --server`: publish a new repository's trust data signed by keytool's keys, so that the
//! next `docker push` signs with them instead of inventing new ones (spec §6).

use std::time::SystemTime;

use serde::Serialize;

use super::preseed::signing_key;
use super::remote;
use super::{KdfSettings, Preseeded};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::cert;
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;
use crate::tuf::schema::Root;
use crate::tuf::{self, TufKey, roles};

/// What `init --server` found or did.
#[derive(Clone, Debug, Serialize)]
pub struct Published {
    /// The local keys (reused or created).
    pub keys: Preseeded,
    /// The server.
    pub server: String,
    /// `true` when the repository was already on the server (nothing was changed).
    pub already_published: bool,
    /// The root key ID as root.json lists it (the certificate's `ecdsa-x509` ID).
    pub root_certificate_id: Option<String>,
    /// The targets key ID the server's root.json expects.
    pub server_targets_key: Option<String>,
    /// Whether the snapshot key is held by the server.
    pub snapshot_server_managed: bool,
}

/// Ensures `gun` is published on `server` with keytool's root and targets keys. The snapshot key
/// is the server's, as in repositories docker creates, unless `local_snapshot` (as `notary init`
/// does). If the server already has the repository nothing is changed; the result says which
/// keys it expects.
pub fn publish(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    server: &NotaryClient,
    local_snapshot: bool,
    kdf: &KdfSettings,
) -> Result<Published> {
    // An existing repository is walked and verified like any read (root chain from the trusted
    // root, every role); a 404 counts as unpublished only when this machine trusts no root of it.
    if let Some(remote) = remote::fetch(dir, server, gun)? {
        let root = &remote.root;
        let keys = Preseeded::from_server(dir, gun, root)?;
        let snapshot_local = root
            .canonical_ids("snapshot")
            .iter()
            .any(|id| dir.key_path(id).is_file());
        return Ok(Published {
            keys,
            server: server.url().to_owned(),
            already_published: true,
            root_certificate_id: root.role_key_ids("root").first().cloned(),
            server_targets_key: root.role_key_ids("targets").first().cloned(),
            snapshot_server_managed: !snapshot_local,
        });
    }

    let (root, root_provenance, root_key) = signing_key(dir, source, Role::Root, None, kdf)?;
    let (targets, targets_provenance, targets_key) =
        signing_key(dir, source, Role::Targets, Some(gun), kdf)?;
    let keys = Preseeded {
        gun: gun.clone(),
        root,
        root_provenance,
        targets,
        targets_provenance,
    };
    let snapshot_key = if local_snapshot {
        Some(signing_key(dir, source, Role::Snapshot, Some(gun), kdf)?.2)
    } else {
        None
    };
    let now = SystemTime::now();
    let cert_pem = cert::root_certificate(&root_key, gun, now)?;
    let base = roles::BaseKeys {
        root: TufKey {
            keytype: "ecdsa-x509".into(),
            public: cert_pem.into_bytes(),
        },
        targets: TufKey {
            keytype: "ecdsa".into(),
            public: targets_key.public().bytes().to_vec(),
        },
        timestamp: server.server_key(gun, "timestamp")?,
        snapshot: match &snapshot_key {
            Some(k) => TufKey {
                keytype: "ecdsa".into(),
                public: k.public().bytes().to_vec(),
            },
            None => server.server_key(gun, "snapshot")?,
        },
    };
    let root_id = base.root.id();
    let root_bytes = tuf::sign(&roles::root(&base, now), &[(&root_id, &root_key)])?;
    let targets_id = targets_key.id();
    let targets_bytes = tuf::sign(
        &roles::empty_targets(1, now),
        &[(&targets_id, &targets_key)],
    )?;

    let mut files: Vec<(&str, &[u8])> = vec![("root", &root_bytes), ("targets", &targets_bytes)];
    let snapshot_bytes = match &snapshot_key {
        Some(k) => {
            let signed = roles::snapshot(1, &root_bytes, &targets_bytes, now);
            Some(tuf::sign(&signed, &[(&k.id(), k)])?)
        }
        None => None,
    };
    if let Some(b) = &snapshot_bytes {
        files.push(("snapshot", b));
    }
    server.publish(gun, &files)?;
    // The server accepted; confirm it now serves exactly what was sent.
    if server.get(gun, "root.json")?.as_deref() != Some(&root_bytes[..]) {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "{} accepted the publish but serves a different root.json",
                server.url()
            ),
        });
    }
    let lock = dir.lock()?;
    dir.write_metadata(&lock, gun, "root", &root_bytes)?;
    dir.write_metadata(&lock, gun, "targets", &targets_bytes)?;
    if let Some(b) = &snapshot_bytes {
        dir.write_metadata(&lock, gun, "snapshot", b)?;
    }
    Ok(Published {
        keys,
        server: server.url().to_owned(),
        already_published: false,
        root_certificate_id: Some(root_id.to_string()),
        server_targets_key: Some(targets_id.to_string()),
        snapshot_server_managed: snapshot_key.is_none(),
    })
}

impl Preseeded {
    /// The keys a published root.json names, checked against the local trust directory.
    fn from_server(dir: &TrustDir, gun: &Gun, root: &Root) -> Result<Self> {
        let local = |role: &str| -> Result<KeyId> {
            let canonical = root.canonical_ids(role);
            canonical
                .iter()
                .find(|id| dir.key_path(id).exists())
                .cloned()
                .ok_or_else(|| Error::KeyNotFound {
                    key_id: format!(
                        "{} (the {role} key the server expects for {gun})",
                        canonical.first().map(KeyId::to_string).unwrap_or_default()
                    ),
                    dir: dir.private_dir(),
                })
        };
        Ok(Preseeded {
            gun: gun.clone(),
            root: local("root")?,
            root_provenance: super::Provenance::Reused,
            targets: local("targets")?,
            targets_provenance: super::Provenance::Reused,
        })
    }
}
