//! `status`: a pre-flight. Which keys are local, which keys the server's (verified) metadata
//! expects, whether this machine can sign the repository's targets now, and expiry dates.

use serde::Serialize;

use super::{KdfSettings, list, remote, unlock_with};
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::cert::civil;
use crate::notary::NotaryClient;
use crate::passphrase::{PassphraseSource, env_names_for};
use crate::trust_dir::{Location, TrustDir};
use crate::tuf::roles;
use crate::tuf::verify::{certificate_not_after, parse_time};
use std::time::SystemTime;

/// A key that the server's root.json names.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectedKey {
    /// The ID as root.json lists it (for root keys: the certificate's ID).
    pub listed_id: String,
    /// The ID of the key itself (the private key file name).
    pub key_id: Option<String>,
    /// Whether the private key is in this trust directory.
    pub local: bool,
}

/// When one piece of a repository's trust data stops being valid.
#[derive(Clone, Debug, Serialize)]
pub struct Expiry {
    /// What expires: `root`, `targets`, `snapshot`, `timestamp`, or `root certificate <ID>`.
    pub what: String,
    /// When (RFC 3339, UTC).
    pub expires: String,
    /// Seconds from now until then (negative: already expired).
    pub seconds_left: i64,
    /// Whether the Notary server renews it by itself (the timestamp, a server-held snapshot).
    pub renewed_by_server: bool,
}

/// The state of one repository.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The repository.
    pub gun: Gun,
    /// The server asked, if any.
    pub server: Option<String>,
    /// Whether the server has trust data for the repository (`None` when no server was asked).
    pub published: Option<bool>,
    /// Root keys in the trust directory.
    pub local_root_keys: Vec<String>,
    /// Targets keys of this repository in the trust directory.
    pub local_targets_keys: Vec<String>,
    /// Root keys the server's root.json names.
    pub expected_root_keys: Vec<ExpectedKey>,
    /// Targets keys the server's root.json names.
    pub expected_targets_keys: Vec<ExpectedKey>,
    /// Whether the snapshot key is held by the server (no local copy).
    pub snapshot_server_managed: Option<bool>,
    /// Expiry of the server's root.json.
    pub root_expires: Option<String>,
    /// Expiry of the server's targets.json.
    pub targets_expires: Option<String>,
    /// How many targets the verified trust data signs: targets.json's plus each verified signer
    /// role's (a tag in two roles counts twice); `None` when the repository is not published.
    pub signed_targets: Option<u64>,
    /// Expiry of the server's timestamp.json (the server re-signs it before then).
    pub timestamp_expires: Option<String>,
    /// Every expiry of the published trust data — root, targets, snapshot, timestamp and each
    /// root certificate — soonest first (empty when the repository is not published).
    pub expiries: Vec<Expiry>,
    /// Whether this machine holds the targets key the server expects.
    pub can_sign_targets: bool,
    /// Whether passphrases were checked: a source was given to try them with.
    pub passphrase_checked: bool,
    /// The source whose passphrase opens that targets key (`"not encrypted"` for a key without
    /// one); `None` when no source opens it or passphrases were not checked.
    pub targets_passphrase: Option<String>,
    /// Whether an interrupted rotation of the repository waits to be completed.
    pub pending_rotation: bool,
    /// Whether an interrupted renewal of the repository waits to be completed.
    pub pending_renewal: bool,
    /// Ready for `docker push` to sign with the local keys: the targets key the server expects
    /// is here and (when passphrases are checked) a passphrase source opens it.
    pub ready: bool,
    /// What stands in the way, in plain words that name no command or flag of a face (the faces
    /// add their own advice).
    pub problems: Vec<String>,
}

/// Builds the status of `gun`, asking `server` when given. The server's root.json is verified
/// (signatures, certificates, expiry) before anything in it is believed.
///
/// With `passphrases`, "ready" also means that a passphrase from them decrypts the targets key:
/// give only sources that answer without a person (files, environment, stored passphrases; no
/// prompt). Nothing secret is reported, only which source opened the key, or why none did. No
/// lock of the trust directory is held while the sources are asked.
pub fn status(
    dir: &TrustDir,
    gun: &Gun,
    server: Option<&NotaryClient>,
    passphrases: Option<&dyn PassphraseSource>,
    kdf: &KdfSettings,
) -> Result<Status> {
    let mut st = key_status(dir, gun, server)?;
    let Some(source) = passphrases else {
        return Ok(st);
    };
    st.passphrase_checked = true;
    let candidates: Vec<String> = if st.published == Some(true) {
        st.expected_targets_keys
            .iter()
            .filter(|k| k.local)
            .filter_map(|k| k.key_id.clone())
            .collect()
    } else {
        st.local_targets_keys.clone()
    };
    let mut why_not = Vec::new();
    for id in candidates {
        let Ok(id) = id.parse::<KeyId>() else {
            continue;
        };
        match opens(dir, &id, source, kdf) {
            Ok(origin) => {
                st.targets_passphrase = Some(origin);
                why_not.clear();
                break;
            }
            Err(e) => why_not.push(unopened(&id, gun, &e)),
        }
    }
    if st.targets_passphrase.is_none() {
        st.ready = false;
    }
    st.problems.extend(why_not);
    Ok(st)
}

/// Which source's passphrase opens key `id` (or "not encrypted"), asked as a command would ask.
fn opens(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
) -> Result<String> {
    let (path, file) = dir.read_key(id)?;
    let (_, supplied) = unlock_with(&file, Some(id), source, kdf).map_err(|e| e.in_file(&path))?;
    Ok(supplied.map_or_else(|| "not encrypted".to_owned(), |s| s.origin))
}

/// Why no passphrase opens the targets key `id`, in plain words (never a secret).
fn unopened(id: &KeyId, gun: &Gun, error: &Error) -> String {
    match error {
        Error::WrongPassphrase { source_name, .. } => format!(
            "the passphrase from {source_name} does not open the targets key {id} of {gun} (a stale or wrong value?); signing would fail"
        ),
        Error::VaultMasterRequired { .. } => format!(
            "the vault holds the passphrase of the targets key {id} of {gun}, but no source gave the vault's master passphrase without a prompt"
        ),
        Error::PassphraseRequired { .. } => format!(
            "no passphrase source opens the targets key {id} of {gun} without a prompt: set {}, give a passphrase file, or store the passphrase (OS keyring or vault)",
            env_names_for(&Role::Targets).join(" or ")
        ),
        other => format!(
            "cannot check whether a passphrase opens the targets key {id} of {gun}: {other}"
        ),
    }
}

/// The keys-only part of [`status`]: which keys are here and which the server expects.
pub(crate) fn key_status(
    dir: &TrustDir,
    gun: &Gun,
    server: Option<&NotaryClient>,
) -> Result<Status> {
    let flat_ids = |role: Role, g: Option<&Gun>| -> Result<Vec<String>> {
        Ok(list(dir, Some(&role), g)?
            .into_iter()
            .filter(|k| k.location == Location::Flat && k.problem.is_none())
            .map(|k| k.id)
            .collect())
    };
    let mut st = Status {
        gun: gun.clone(),
        server: server.map(|s| s.url().to_owned()),
        published: None,
        local_root_keys: flat_ids(Role::Root, None)?,
        local_targets_keys: flat_ids(Role::Targets, Some(gun))?,
        expected_root_keys: Vec::new(),
        expected_targets_keys: Vec::new(),
        snapshot_server_managed: None,
        root_expires: None,
        targets_expires: None,
        signed_targets: None,
        timestamp_expires: None,
        expiries: Vec::new(),
        can_sign_targets: false,
        passphrase_checked: false,
        targets_passphrase: None,
        pending_rotation: super::pending_rotation(dir, gun)?,
        pending_renewal: super::pending_renewal(dir, gun)?,
        ready: false,
        problems: Vec::new(),
    };
    if st.pending_rotation {
        st.problems.push(format!(
            "a rotation of {gun} was interrupted and waits to be resumed"
        ));
    }
    if st.pending_renewal {
        st.problems.push(format!(
            "a renewal of {gun} was interrupted and waits to be completed"
        ));
    }
    let Some(server) = server else {
        st.can_sign_targets = !st.local_targets_keys.is_empty();
        if st.local_root_keys.is_empty() {
            st.problems
                .push("no root key in the trust directory".into());
        }
        if st.local_targets_keys.is_empty() {
            st.problems
                .push(format!("no targets key for {gun} in the trust directory"));
        }
        st.problems.push(
            "no server asked: unless the repository is published, docker push creates its own repository key".into(),
        );
        return Ok(st);
    };
    let Some(remote) = remote::fetch_summary(dir, server, gun)? else {
        st.published = Some(false);
        st.problems.push(format!(
            "{gun} is not published on {}: docker push would create its own repository key",
            server.url()
        ));
        return Ok(st);
    };
    st.published = Some(true);
    let root = &remote.root;
    st.root_expires = Some(root.expires.clone());
    let expected = |role: &str| -> Vec<ExpectedKey> {
        root.role_key_ids(role)
            .iter()
            .map(|listed_id| {
                let key_id = root.key(listed_id).and_then(|k| roles::canonical_id(&k));
                ExpectedKey {
                    local: key_id.as_ref().is_some_and(|id| dir.key_path(id).is_file()),
                    key_id: key_id.map(|k| k.to_string()),
                    listed_id: listed_id.clone(),
                }
            })
            .collect()
    };
    st.expected_root_keys = expected("root");
    st.expected_targets_keys = expected("targets");
    st.snapshot_server_managed = Some(!expected("snapshot").iter().any(|k| k.local));
    st.can_sign_targets = st.expected_targets_keys.iter().any(|k| k.local);
    if !st.can_sign_targets {
        st.problems.push(format!(
            "the targets key the server expects for {gun} is not in this trust directory"
        ));
    }
    if !st.expected_root_keys.iter().any(|k| k.local) {
        // Not needed to push; needed to rotate keys. Reported, not a blocker.
        st.problems.push(
            "the root key is not on this machine (fine for pushing; rotation needs it)".into(),
        );
    }
    st.targets_expires = Some(remote.targets.expires.clone());
    st.signed_targets = Some(
        remote.targets.target_count
            + remote
                .delegations
                .iter()
                .map(|d| d.targets.target_count)
                .sum::<u64>(),
    );
    st.timestamp_expires = Some(remote.timestamp.expires.clone());
    let now = SystemTime::now();
    let server_snapshot = st.snapshot_server_managed == Some(true);
    let mut expiries: Vec<Expiry> = [
        ("root", &root.expires, false),
        ("targets", &remote.targets.expires, false),
        ("snapshot", &remote.snapshot.expires, server_snapshot),
        ("timestamp", &remote.timestamp.expires, true),
    ]
    .into_iter()
    .filter_map(|(what, text, by_server)| {
        parse_time(text).map(|at| expiry(what.to_owned(), at, now, by_server))
    })
    .collect();
    for listed_id in root.role_key_ids("root") {
        if let Some(at) = root.key(listed_id).as_ref().and_then(certificate_not_after) {
            expiries.push(expiry(
                format!("root certificate {listed_id}"),
                at,
                now,
                false,
            ));
        }
    }
    // Signers' roles: what they sign stops verifying when they expire.
    for d in &remote.delegations {
        if let Some(at) = parse_time(&d.targets.expires) {
            expiries.push(expiry(d.name.clone(), at, now, false));
        }
    }
    for u in &remote.unverified {
        if let Some(at) = u.expired.as_ref().and_then(|t| parse_time(&t.expires)) {
            expiries.push(expiry(u.name.clone(), at, now, false));
        }
        st.problems.push(format!(
            "{}: its tags do not verify until it is signed again",
            u.reason
        ));
    }
    expiries.sort_by_key(|e| e.seconds_left);
    st.expiries = expiries;
    st.ready = st.can_sign_targets;
    Ok(st)
}

fn expiry(what: String, at: SystemTime, now: SystemTime, renewed_by_server: bool) -> Expiry {
    let seconds_left = match at.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let unix = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, mo, d, h, mi, s) = civil(unix);
    Expiry {
        what,
        expires: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        seconds_left,
        renewed_by_server,
    }
}

impl Status {
    /// What expires within `window` from now and is not renewed by the server (the timestamp
    /// and a server-held snapshot are), soonest first: what `renew` must re-sign in time.
    pub fn expiring_within(&self, window: std::time::Duration) -> Vec<&Expiry> {
        let limit = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        self.expiries
            .iter()
            .filter(|e| !e.renewed_by_server && e.seconds_left <= limit)
            .collect()
    }
}
