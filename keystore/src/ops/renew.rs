//! `renew`: re-sign a published repository's root, targets, snapshot and/or signer roles
//! (`targets/releases`, `targets/<name>`) with a new expiry and no change of content, and publish
//! it; an expiring root certificate is renewed on the way (same key, new certificate).
//!
//! What is signed is only ever the server's metadata as verified through the root chain from the
//! root this machine trusts (or, on first contact, a root this machine's root key signed).
//! Expired metadata (root.json, root certificates, targets, snapshot, signer roles) is accepted,
//! since renewing it is the point; every signature, hash and version is checked as always.
//! Content is kept as served, unknown fields included: only `version` (+1) and `expires` change,
//! and for root the certificate of the key this machine holds when it expires before the new
//! root.json would.
//!
//! Order of work, each step durable before the next (a journal in `keytool-journal/` records
//! where a renewal is):
//! 1. every key needed is decrypted and the new files are signed (nothing is written yet); the
//!    journal records the plan and the hashes of the files about to be sent (`journaled`);
//! 2. one POST of the new files (`published`);
//! 3. the repository is fetched and verified again from the trusted root, must serve exactly what
//!    was sent, and the cache records it (`cache-refreshed`); the journal is removed.
//!
//! A renewal never creates, moves or deletes a key, so an interrupted one costs nothing: the next
//! run finds the journal and either sees that the server serves what was sent (and only refreshes
//! the cache) or renews again from the server's current, verified state.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::remote::{self, Remote};
use super::{KdfSettings, load_key};
use crate::error::{Argument, Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::key::{PrivateKey, cert};
use crate::notary::NotaryClient;
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;
use crate::tuf::schema::{FileMeta, Key, Metadata, Root, is_signer_role};
use crate::tuf::verify::certificate_not_after;
use crate::tuf::{self, TufKey, roles};

/// The step boundaries of a renewal, reported as they are passed (progress, and test-only fault
/// points in the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenewStep {
    /// The new files are signed and the journal records them (nothing sent yet).
    Journaled,
    /// The server accepted the new files.
    Published,
    /// The server's metadata verified again and the local cache holds it.
    CacheRefreshed,
}

impl RenewStep {
    /// A stable name (used by `KEYTOOL_FAULT_POINT` in tests).
    pub fn name(self) -> &'static str {
        match self {
            RenewStep::Journaled => "journaled",
            RenewStep::Published => "published",
            RenewStep::CacheRefreshed => "cache-refreshed",
        }
    }
}

/// Which roles to renew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenewRoles {
    /// These roles (root, targets, snapshot).
    Only(Vec<Role>),
    /// Root, targets, and snapshot when this machine holds the snapshot key (a server-held
    /// snapshot is re-signed by the server).
    All,
}

/// How to renew.
pub struct RenewOptions<'a> {
    /// The Notary server the repository is published on.
    pub server: &'a NotaryClient,
    /// Which roles.
    pub roles: RenewRoles,
    /// The new validity of every renewed role, from now; `None`: notary's defaults (root 10
    /// years, targets and snapshot 3 years).
    pub expires: Option<Duration>,
    /// Only report the plan (nothing is decrypted, signed, sent or written).
    pub dry_run: bool,
    /// Called after each step boundary.
    pub on_step: &'a dyn Fn(RenewStep),
}

/// One role of a renewal: its state before, and after.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RenewedRole {
    /// `root`, `targets` or `snapshot`.
    pub role: String,
    /// The version the server had.
    pub version: u64,
    /// Its expiry (as the metadata writes it).
    pub expires: String,
    /// The version published (`None` in a plan).
    pub new_version: Option<u64>,
    /// The new expiry (in a plan: the one it would get; for a server-signed snapshot: the
    /// server's choice, `None` in a plan).
    pub new_expires: Option<String>,
    /// Whether the Notary server signs it (a server-held snapshot, re-signed because root or
    /// targets changed).
    pub signed_by_server: bool,
    /// Whether it was asked for (else it is re-signed because a renewed role changed: snapshot
    /// lists root's and targets' hashes).
    pub requested: bool,
}

/// The root certificate of a renewal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RenewedCertificate {
    /// The certificate's key ID as root.json lists it.
    pub id: String,
    /// When it expires.
    pub expires: String,
    /// Whether it is replaced (it expires before the new root.json would).
    pub renewed: bool,
    /// The new certificate's key ID (same private key), when replaced (`None` in a plan).
    pub new_id: Option<String>,
    /// When the new certificate expires, when replaced.
    pub new_expires: Option<String>,
}

/// What a renewal did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Serialize)]
pub struct Renewed {
    /// The repository.
    pub gun: Gun,
    /// The server.
    pub server: String,
    /// The roles re-signed, in publishing order (root, targets, snapshot).
    pub roles: Vec<RenewedRole>,
    /// The root certificate, when root is renewed.
    pub root_certificate: Option<RenewedCertificate>,
    /// What the Notary server renews by itself and keytool therefore leaves to it (the
    /// timestamp always; the snapshot when the server holds its key).
    pub renewed_by_server: Vec<String>,
    /// Whether the new metadata was published.
    pub published: bool,
    /// Whether an interrupted renewal was completed.
    pub resumed: bool,
    /// Whether this was only a plan.
    pub dry_run: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Begun,
    Published,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Journal {
    gun: String,
    /// The roles asked for (`root`, `targets`, `snapshot`; empty: all).
    roles: Vec<String>,
    all_roles: bool,
    /// The requested validity in seconds (`None`: defaults).
    expires_secs: Option<u64>,
    phase: Phase,
    /// Base64 SHA-256 of each file sent, by role.
    sent: BTreeMap<String, String>,
    /// The report as it stood when the files were signed.
    before: Vec<RenewedRole>,
    certificate: Option<RenewedCertificate>,
}

/// The roles a renewal re-signs: `(role, requested)`, in publishing order (root, targets, the
/// delegated roles, snapshot).
type Plan = Vec<(String, bool)>;

/// The files a renewal publishes, `(role, bytes)`, and the root certificate it made, if any.
type Built = (Vec<(String, Vec<u8>)>, Option<TufKey>);

/// The longest validity accepted (notary's own root default is 10 years).
const MAX_EXPIRY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The journal entry name of a renewal of `gun` (GUNs hold `/` and `:`).
fn journal_name(gun: &Gun) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(gun.as_str().as_bytes());
    format!("renew-{}", &hex::encode(digest)[..16])
}

/// Whether a renewal of `gun` is pending (interrupted).
pub fn pending_renewal(dir: &TrustDir, gun: &Gun) -> Result<bool> {
    Ok(dir.read_journal(&journal_name(gun))?.is_some())
}

/// The default validity of a role (notary's, spec §9.5).
fn default_expiry(role: &str) -> Duration {
    if role == "root" {
        roles::ROOT_EXPIRY
    } else {
        roles::TARGETS_EXPIRY
    }
}

/// A delegated role (signer) of the repository as a renewal sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DelegatedRole {
    /// `targets/releases`, `targets/<signer>`.
    name: String,
    /// Whether it has a file whose content can be renewed (verified, or expired with a threshold
    /// of valid signatures).
    renewable: bool,
    /// Whether this machine holds enough of the keys trusted for it to sign it (its threshold).
    local: bool,
}

/// The roles to re-sign, checked against the verified root and targets: `(role, requested)` in
/// publishing order, plus what the server renews by itself.
fn plan_roles(
    gun: &Gun,
    wanted: &RenewRoles,
    snapshot_local: bool,
    delegated: &[DelegatedRole],
) -> Result<(Plan, Vec<String>)> {
    let mut asked: Vec<String> = Vec::new();
    match wanted {
        RenewRoles::All => {
            asked.extend(["root".to_owned(), "targets".to_owned()]);
            if snapshot_local {
                asked.push("snapshot".into());
            }
            // Every signer role this machine signs; the others are their signers' to renew.
            asked.extend(
                delegated
                    .iter()
                    .filter(|d| d.renewable && d.local)
                    .map(|d| d.name.clone()),
            );
        }
        RenewRoles::Only(list) => {
            if list.is_empty() {
                return Err(Error::InvalidArgument {
                    what: Argument::Role,
                    reason: "no role to renew was named (root, targets or snapshot)".into(),
                });
            }
            for role in list {
                role.check_spelling()?;
                let name = match role {
                    Role::Root => "root",
                    Role::Targets => "targets",
                    Role::Delegation(name) => {
                        delegated_role(gun, delegated, name)?;
                        name.as_str()
                    }
                    Role::Snapshot if snapshot_local => "snapshot",
                    Role::Snapshot => {
                        return Err(Error::InvalidArgument {
                            what: Argument::Role,
                            reason: format!(
                                "the snapshot key of {gun} is held by the Notary server, which signs snapshot.json itself (whenever root or targets are published, and again when it expires); renew targets or root instead"
                            ),
                        });
                    }
                    Role::Timestamp => {
                        return Err(Error::InvalidArgument {
                            what: Argument::Role,
                            reason: "timestamp.json is always signed by the Notary server, which renews it by itself; there is nothing to renew".into(),
                        });
                    }
                    other => {
                        let signer = format!("targets/{other}");
                        let hint = if delegated.iter().any(|d| d.name == signer) {
                            format!("; signer {other}'s role is {signer}")
                        } else {
                            String::new()
                        };
                        return Err(Error::InvalidArgument {
                            what: Argument::Role,
                            reason: format!(
                                "{other} cannot be renewed (root, targets, snapshot and the signer roles targets/<name> can){hint}"
                            ),
                        });
                    }
                };
                if !asked.iter().any(|a| a == name) {
                    asked.push(name.to_owned());
                }
            }
        }
    }
    let mut plan: Plan = Vec::new();
    for role in ["root", "targets"] {
        if asked.iter().any(|a| a == role) {
            plan.push((role.to_owned(), true));
        }
    }
    let mut delegations: Vec<&String> = asked.iter().filter(|a| is_delegation(a)).collect();
    delegations.sort();
    plan.extend(delegations.into_iter().map(|d| (d.clone(), true)));
    if asked.iter().any(|a| a == "snapshot") {
        plan.push(("snapshot".into(), true));
    } else if !plan.is_empty() {
        // snapshot.json lists the hashes of root, targets and every delegated role: a new one
        // needs a new snapshot, signed here when the key is local, else by the server.
        plan.push(("snapshot".into(), false));
    }
    let mut by_server = vec!["timestamp".to_owned()];
    if !snapshot_local {
        by_server.push("snapshot".to_owned());
    }
    Ok((plan, by_server))
}

/// Whether `role` names a delegated role.
fn is_delegation(role: &str) -> bool {
    role.starts_with("targets/")
}

/// Checks that delegated role `name` of `gun` exists and has content to renew.
fn delegated_role(gun: &Gun, delegated: &[DelegatedRole], name: &str) -> Result<()> {
    let Some(role) = delegated.iter().find(|d| d.name == name) else {
        let known: Vec<&str> = delegated.iter().map(|d| d.name.as_str()).collect();
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: format!(
                "{gun} has no delegated role {} ({}); its signer list shows its signers and their roles",
                crate::ids::clip(name),
                if known.is_empty() {
                    "it has no signers".to_owned()
                } else {
                    format!("it has {}", known.join(", "))
                }
            ),
        });
    };
    if !role.renewable {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: format!(
                "{name} of {gun} has no file that a threshold of its keys signed, so there is no content to renew; sign a tag into it instead"
            ),
        });
    }
    Ok(())
}

/// The delegated roles targets.json names, with whether each can be renewed and whether this
/// machine holds a threshold of its keys.
fn delegated_roles(dir: &TrustDir, remote: &Remote) -> Vec<DelegatedRole> {
    let Some(delegations) = &remote.targets.delegations else {
        return Vec::new();
    };
    delegations
        .roles
        .iter()
        .filter(|r| is_signer_role(&r.name))
        .map(|r| DelegatedRole {
            name: r.name.clone(),
            renewable: remote.delegations.iter().any(|d| d.name == r.name)
                || remote
                    .unverified
                    .iter()
                    .any(|u| u.name == r.name && u.expired.is_some()),
            local: super::edit::local_delegation_keys(dir, delegations, &r.name).len() as u64
                >= r.role.threshold.max(1),
        })
        .fold(Vec::new(), |mut all: Vec<DelegatedRole>, role| {
            if !all.iter().any(|d| d.name == role.name) {
                all.push(role);
            }
            all
        })
}

/// Renews the chosen roles of `gun` on `options.server`. A pending (interrupted) renewal of
/// `gun` is completed first, with its own roles and expiry, instead of starting another.
pub fn renew(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    options: &RenewOptions<'_>,
    kdf: &KdfSettings,
) -> Result<Renewed> {
    if let Some(e) = options.expires
        && (e.is_zero() || e > MAX_EXPIRY)
    {
        return Err(Error::InvalidArgument {
            what: Argument::Expiry,
            reason: format!(
                "{} seconds is not a usable validity (more than zero, at most 100 years)",
                e.as_secs()
            ),
        });
    }
    // Renewals and rotations of one trust directory run one at a time: both publish new root
    // versions.
    let _serial = dir.rotation_lock()?;
    if super::pending_rotation(dir, gun)? {
        return Err(Error::InvalidArgument {
            what: Argument::Repository,
            reason: format!(
                "an interrupted key rotation of {gun} waits to be completed; complete it before renewing. Nothing was changed"
            ),
        });
    }
    let server = options.server;
    let trusted_before = remote::trusted(dir, gun)?;
    // Expired metadata is what renewal is for: accepted here (signatures, hashes, versions and
    // the root chain are verified as always), and every expired role this machine signs must be
    // among those renewed, so that the repository verifies again afterwards.
    let Some(remote) = remote::fetch_verified_allowing_expired(dir, server, gun)? else {
        return Err(Error::InvalidArgument {
            what: Argument::Repository,
            reason: format!(
                "{gun} is not published on {}: there is nothing to renew",
                server.url()
            ),
        });
    };
    let name = journal_name(gun);
    let journal = match dir.read_journal(&name)? {
        Some(bytes) => Some(read_journal(dir, gun, &name, &bytes)?),
        None => None,
    };
    let (wanted, expires) = match &journal {
        Some(j) => (
            if j.all_roles {
                RenewRoles::All
            } else {
                RenewRoles::Only(j.roles.iter().map(|r| r.parse()).collect::<Result<_>>()?)
            },
            j.expires_secs.map(Duration::from_secs),
        ),
        None => (options.roles.clone(), options.expires),
    };
    let snapshot_local = local_key_of(dir, &remote.root, "snapshot").is_some();
    let delegated = delegated_roles(dir, &remote);
    let (plan, by_server) = plan_roles(gun, &wanted, snapshot_local, &delegated)?;
    // An expired role this machine signs must be renewed too (the server re-signs its own).
    let own_expired: Vec<&str> = remote
        .expired
        .iter()
        .copied()
        .filter(|r| *r == "root" || *r == "targets" || (*r == "snapshot" && snapshot_local))
        .filter(|r| !plan.iter().any(|(p, _)| p == r))
        .collect();
    if !own_expired.is_empty() {
        return Err(Error::InvalidArgument {
            what: Argument::Role,
            reason: format!(
                "{} of {gun} expired; renew {} as well (or all roles), or the repository stays unusable. Nothing was changed",
                own_expired
                    .iter()
                    .map(|r| format!("{r}.json"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                if own_expired.len() == 1 { "it" } else { "them" }
            ),
        });
    }
    let now = SystemTime::now();
    let renews_root = plan.iter().any(|(r, _)| r == "root");
    let new_expiry = |role: &str| now + expires.unwrap_or_else(|| default_expiry(role));
    if renews_root && expires.is_some_and(|e| e > cert::ROOT_CERT_VALIDITY) {
        return Err(Error::InvalidArgument {
            what: Argument::Expiry,
            reason: format!(
                "root.json cannot be valid longer than its certificate ({} days)",
                cert::ROOT_CERT_VALIDITY.as_secs() / 86_400
            ),
        });
    }

    if options.dry_run {
        let (before, certificate) = describe(dir, gun, &remote, &plan, &new_expiry)?;
        return Ok(Renewed {
            gun: gun.clone(),
            server: server.url().to_owned(),
            roles: before,
            root_certificate: certificate,
            renewed_by_server: by_server,
            published: false,
            resumed: journal.is_some(),
            dry_run: true,
        });
    }

    // Before this machine trusts the server's root, let alone signs on top of it: on first
    // contact (no trusted root) the root must carry a valid signature of this machine's root key;
    // a root renewal needs that key anyway.
    if renews_root || !trusted_before {
        remote::signing_root_key(dir, &remote, gun).map_err(|e| match e {
            Error::KeyNotFound { dir: d, .. } if !trusted_before => Error::KeyNotFound {
                key_id: format!(
                    "(the root key of {gun}: this machine trusts no root of {gun} yet, and only its root key's signature proves that the server's root is the repository's; on a signer's machine, pin the repository's root certificate in trust_pinning, or verify the repository's status first, which trusts its root from then on)"
                ),
                dir: d,
            },
            other => other,
        })?;
    }
    remote.record(dir, gun)?;

    if let Some(j) = &journal
        && server_has(&remote, &j.sent)
    {
        // The server already serves what the interrupted renewal sent: only the cache is left.
        let mut done = Renewed {
            gun: gun.clone(),
            server: server.url().to_owned(),
            roles: j.before.clone(),
            root_certificate: j.certificate.clone(),
            renewed_by_server: by_server,
            published: true,
            resumed: true,
            dry_run: false,
        };
        refresh(dir, server, gun, &name, &j.sent, options, &mut done)?;
        return Ok(done);
    }

    // Everything that can fail for want of a passphrase happens before anything is written.
    let (before, mut certificate) = describe(dir, gun, &remote, &plan, &new_expiry)?;
    let signers = signing_keys(dir, source, gun, &remote, &plan, kdf)?;
    let (files, new_certificate) = build(gun, &remote, &plan, &signers, &new_expiry, now)?;
    let sent: BTreeMap<String, String> = files
        .iter()
        .map(|(role, bytes)| (role.clone(), sha256(bytes)))
        .collect();
    if let (Some(c), Some(new_cert)) = (&mut certificate, &new_certificate) {
        c.renewed = true;
        c.new_id = Some(new_cert.id().to_string());
        c.new_expires = certificate_not_after(new_cert).map(roles::go_time);
    }
    let resuming = journal.is_some();
    let mut journal = Journal {
        gun: gun.to_string(),
        roles: match &wanted {
            RenewRoles::All => Vec::new(),
            RenewRoles::Only(list) => list.iter().map(|r| r.to_string()).collect(),
        },
        all_roles: wanted == RenewRoles::All,
        expires_secs: expires.map(|e| e.as_secs()),
        phase: Phase::Begun,
        sent: sent.clone(),
        before: before.clone(),
        certificate: certificate.clone(),
    };
    write_journal(dir, &name, &journal)?;
    (options.on_step)(RenewStep::Journaled);

    let parts: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(r, b)| (r.as_str(), b.as_slice()))
        .collect();
    server.publish(gun, &parts)?;
    journal.phase = Phase::Published;
    write_journal(dir, &name, &journal)?;
    (options.on_step)(RenewStep::Published);

    let mut done = Renewed {
        gun: gun.clone(),
        server: server.url().to_owned(),
        roles: before,
        root_certificate: certificate,
        renewed_by_server: by_server,
        published: true,
        resumed: resuming,
        dry_run: false,
    };
    refresh(dir, server, gun, &name, &sent, options, &mut done)?;
    Ok(done)
}

/// Step 3: fetch and verify the repository from the trusted root again, check that the server
/// serves exactly what was sent, record it in the cache, fill in the new versions and expiries,
/// and close the journal.
fn refresh(
    dir: &TrustDir,
    server: &NotaryClient,
    gun: &Gun,
    name: &str,
    sent: &BTreeMap<String, String>,
    options: &RenewOptions<'_>,
    done: &mut Renewed,
) -> Result<()> {
    let now_served =
        remote::fetch_verified(dir, server, gun)?.ok_or_else(|| Error::InvalidMetadata {
            reason: format!(
                "{} accepted the renewal of {gun} but now says it is not published",
                server.url()
            ),
        })?;
    if !server_has(&now_served, sent) {
        return Err(Error::InvalidMetadata {
            reason: format!(
                "{} accepted the renewal of {gun} but serves other metadata; the renewal stays pending and the next attempt checks again",
                server.url()
            ),
        });
    }
    now_served.record(dir, gun)?;
    (options.on_step)(RenewStep::CacheRefreshed);
    for r in &mut done.roles {
        if let Some((version, expires)) = state_of(&now_served, &r.role) {
            r.new_version = Some(version);
            r.new_expires = Some(expires.to_owned());
        }
    }
    dir.remove_journal(&dir.lock()?, name)
}

/// Whether the server's verified metadata is exactly the files a renewal sent.
fn server_has(remote: &Remote, sent: &BTreeMap<String, String>) -> bool {
    let served_hash = |meta: Option<&FileMeta>| meta.and_then(|m| m.hashes.get("sha256").cloned());
    !sent.is_empty()
        && sent.iter().all(|(role, hash)| {
            let served = match role.as_str() {
                "root" => Some(sha256(&remote.root_bytes)),
                "snapshot" => served_hash(remote.timestamp.meta.get("snapshot")),
                // targets and the delegated roles, as snapshot.json records them
                other => served_hash(remote.snapshot.meta.get(other)),
            };
            served.as_deref() == Some(hash.as_str())
        })
}

/// The version and expiry of `role` (root, targets, snapshot or a delegated role with content)
/// as `remote` has it.
fn state_of<'a>(remote: &'a Remote, role: &str) -> Option<(u64, &'a str)> {
    let targets = |t: &'a crate::tuf::schema::Targets| (t.version, t.expires.as_str());
    match role {
        "root" => Some((remote.root.version, remote.root.expires.as_str())),
        "targets" => Some(targets(&remote.targets)),
        "snapshot" => Some((remote.snapshot.version, remote.snapshot.expires.as_str())),
        delegated => remote
            .delegations
            .iter()
            .find(|d| d.name == delegated)
            .map(|d| targets(&d.targets))
            .or_else(|| {
                remote
                    .unverified
                    .iter()
                    .filter(|u| u.name == delegated)
                    .find_map(|u| u.expired.as_ref().map(targets))
            }),
    }
}

/// The content of delegated role `name` to renew: its verified file, or one that a threshold of
/// its keys signed but that has expired.
fn delegated_content(
    remote: &Remote,
    gun: &Gun,
    name: &str,
) -> Result<crate::tuf::schema::Targets> {
    remote
        .delegations
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.targets.clone())
        .or_else(|| {
            remote
                .unverified
                .iter()
                .find(|u| u.name == name)
                .and_then(|u| u.expired.clone())
        })
        .ok_or_else(|| Error::InvalidArgument {
            what: Argument::Role,
            reason: format!("{name} of {gun} has no content to renew"),
        })
}

/// The state of each planned role before the renewal, with the expiry it would get, and the
/// root certificate of the key this machine holds.
fn describe(
    dir: &TrustDir,
    gun: &Gun,
    remote: &Remote,
    plan: &[(String, bool)],
    new_expiry: &dyn Fn(&str) -> SystemTime,
) -> Result<(Vec<RenewedRole>, Option<RenewedCertificate>)> {
    let mut out = Vec::new();
    let snapshot_local = local_key_of(dir, &remote.root, "snapshot").is_some();
    for (role, requested) in plan {
        let (version, expires) = state_of(remote, role).ok_or_else(|| Error::InvalidArgument {
            what: Argument::Role,
            reason: format!("{role} of {gun} has no content to renew"),
        })?;
        let by_server = role == "snapshot" && !snapshot_local;
        out.push(RenewedRole {
            role: role.clone(),
            version,
            expires: expires.to_owned(),
            new_version: None,
            new_expires: (!by_server).then(|| roles::go_time(new_expiry(role))),
            signed_by_server: by_server,
            requested: *requested,
        });
    }
    let certificate = if plan.iter().any(|(r, _)| r == "root") {
        let listed = root_certificate_of(dir, gun, &remote.root)?;
        let key = remote
            .root
            .key(&listed)
            .ok_or_else(|| Error::InvalidMetadata {
                reason: format!("root.json of {gun} names root key {listed} but does not hold it"),
            })?;
        let not_after = certificate_not_after(&key);
        Some(RenewedCertificate {
            id: listed,
            expires: not_after.map(roles::go_time).unwrap_or_default(),
            renewed: not_after.is_none_or(|t| t < new_expiry("root")),
            new_id: None,
            new_expires: None,
        })
    } else {
        None
    };
    Ok((out, certificate))
}

/// The listed ID of the root certificate whose private key is in this trust directory.
fn root_certificate_of(dir: &TrustDir, gun: &Gun, root: &Root) -> Result<String> {
    root.role_key_ids("root")
        .iter()
        .find(|listed| {
            root.key(listed)
                .and_then(|k| roles::canonical_id(&k))
                .is_some_and(|id| dir.key_path(&id).is_file())
        })
        .cloned()
        .ok_or_else(|| Error::KeyNotFound {
            key_id: format!("(the root key the server's root.json of {gun} names)"),
            dir: dir.private_dir(),
        })
}

/// The keys a renewal signs with.
struct Signers {
    /// The root key with the ID root.json lists it under.
    root: Option<(KeyId, PrivateKey)>,
    targets: Option<(KeyId, PrivateKey)>,
    snapshot: Option<(KeyId, PrivateKey)>,
    /// Each delegated role with the local keys trusted for it (listed, canonical ID).
    delegations: Vec<(String, Vec<(KeyId, KeyId)>)>,
    /// The delegation keys, decrypted once each, by canonical ID.
    delegation_keys: Vec<(KeyId, PrivateKey)>,
}

/// Decrypts the keys the plan signs with; each base role's must be the (only) key root.json
/// gives it, and a delegated role gets every local key trusted for it (at least its threshold).
fn signing_keys(
    dir: &TrustDir,
    source: &dyn PassphraseSource,
    gun: &Gun,
    remote: &Remote,
    plan: &[(String, bool)],
    kdf: &KdfSettings,
) -> Result<Signers> {
    let mut signers = Signers {
        root: None,
        targets: None,
        snapshot: None,
        delegations: Vec::new(),
        delegation_keys: Vec::new(),
    };
    for (role, _) in plan {
        let role = role.as_str();
        if is_delegation(role) {
            let keys = delegation_signers(dir, remote, gun, role)?;
            for (_, canonical) in &keys {
                if !signers
                    .delegation_keys
                    .iter()
                    .any(|(id, _)| id == canonical)
                {
                    let key = load_key(dir, canonical, source, kdf)?.key;
                    signers.delegation_keys.push((canonical.clone(), key));
                }
            }
            signers.delegations.push((role.to_owned(), keys));
            continue;
        }
        let threshold = remote.root.roles.get(role).map_or(0, |r| r.threshold);
        if threshold > 1 {
            return Err(Error::unsupported(format!(
                "renewing a {role} role with a threshold of {threshold} (keytool signs single-key roles)"
            )));
        }
        match role {
            "root" => {
                let (listed, canonical) = remote::signing_root_key(dir, remote, gun)?;
                let key = load_key(dir, &canonical, source, kdf)?.key;
                signers.root = Some((listed, key));
            }
            "targets" | "snapshot" => {
                let Some((listed, canonical)) = local_listed_key(dir, &remote.root, role) else {
                    if role == "snapshot" {
                        continue; // signed by the server
                    }
                    return Err(Error::KeyNotFound {
                        key_id: format!(
                            "{} (the {role} key the server expects for {gun})",
                            remote
                                .root
                                .canonical_ids(role)
                                .first()
                                .map(KeyId::to_string)
                                .unwrap_or_default()
                        ),
                        dir: dir.private_dir(),
                    });
                };
                let key = load_key(dir, &canonical, source, kdf)?.key;
                if role == "targets" {
                    signers.targets = Some((listed, key));
                } else {
                    signers.snapshot = Some((listed, key));
                }
            }
            _ => {}
        }
    }
    Ok(signers)
}

/// The local keys trusted for delegated role `role` (listed, canonical ID): at least its
/// threshold of them.
fn delegation_signers(
    dir: &TrustDir,
    remote: &Remote,
    gun: &Gun,
    role: &str,
) -> Result<Vec<(KeyId, KeyId)>> {
    let delegations =
        remote
            .targets
            .delegations
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument {
                what: Argument::Role,
                reason: format!("{gun} has no delegated roles"),
            })?;
    let threshold = delegations
        .roles
        .iter()
        .find(|r| r.name == role)
        .map_or(1, |r| r.role.threshold.max(1));
    let keys = super::edit::local_delegation_keys(dir, delegations, role);
    if (keys.len() as u64) < threshold {
        return Err(Error::KeyNotFound {
            key_id: format!(
                "{} key(s) of {role} for {gun} (its threshold is {threshold}; this machine holds {}); the repository's signer list shows whose keys it trusts",
                threshold - keys.len() as u64,
                keys.len()
            ),
            dir: dir.private_dir(),
        });
    }
    Ok(keys)
}

/// Builds and signs the new files: root.json (v+1, new expiry, and a new certificate for the
/// same root key when the old one would expire first: listed in the root role instead of the old
/// one, and signed under both IDs so that clients holding the old root follow), targets.json
/// (v+1, new expiry, content as served) and a local snapshot.json (v+1, the new hashes).
fn build(
    gun: &Gun,
    remote: &Remote,
    plan: &[(String, bool)],
    signers: &Signers,
    new_expiry: &dyn Fn(&str) -> SystemTime,
    now: SystemTime,
) -> Result<Built> {
    let mut files = Vec::new();
    let mut new_certificate = None;
    let mut snapshot_meta = remote.snapshot.meta.clone();
    if let Some((listed, key)) = &signers.root {
        let mut root = remote.root.clone();
        root.version = next_version(&remote.root)?;
        let expires = new_expiry("root");
        root.expires = roles::go_time(expires);
        let old_cert = remote.root.key(listed.as_str());
        let mut sign_as: Vec<(KeyId, &PrivateKey)> = vec![(listed.clone(), key)];
        if old_cert
            .as_ref()
            .and_then(certificate_not_after)
            .is_none_or(|t| t < expires)
        {
            let new_cert = TufKey {
                keytype: "ecdsa-x509".into(),
                public: cert::root_certificate(key, gun, now)?.into_bytes(),
            };
            let new_id = new_cert.id();
            // notary keeps old root certificates in `keys` for good; the role lists the new one.
            root.keys.insert(new_id.to_string(), Key::from(&new_cert));
            let entry = root
                .roles
                .get_mut("root")
                .ok_or_else(|| Error::InvalidMetadata {
                    reason: format!("the server's root.json of {gun} has no root role"),
                })?;
            for id in &mut entry.keyids {
                if id == listed.as_str() {
                    *id = new_id.to_string();
                }
            }
            sign_as.push((new_id, key));
            new_certificate = Some(new_cert);
        }
        let pairs: Vec<(&KeyId, &PrivateKey)> = sign_as.iter().map(|(i, k)| (i, *k)).collect();
        let bytes = tuf::sign(&root, &pairs)?;
        snapshot_meta.insert("root".into(), FileMeta::of(&bytes));
        files.push(("root".to_owned(), bytes));
    }
    if let Some((listed, key)) = &signers.targets {
        let mut targets = remote.targets.clone();
        targets.version = next_version(&remote.targets)?;
        targets.expires = roles::go_time(new_expiry("targets"));
        let bytes = tuf::sign(&targets, &[(listed, key)])?;
        snapshot_meta.insert("targets".into(), FileMeta::of(&bytes));
        files.push(("targets".to_owned(), bytes));
    }
    for (role, keys) in &signers.delegations {
        let mut targets = delegated_content(remote, gun, role)?;
        targets.version = targets
            .version
            .checked_add(1)
            .ok_or_else(|| Error::InvalidMetadata {
                reason: format!(
                    "the server's {role}.json has a version that cannot be incremented"
                ),
            })?;
        targets.expires = roles::go_time(new_expiry(role));
        let pairs: Vec<(&KeyId, &PrivateKey)> = keys
            .iter()
            .filter_map(|(listed, canonical)| {
                let (_, key) = signers
                    .delegation_keys
                    .iter()
                    .find(|(id, _)| id == canonical)?;
                Some((listed, key))
            })
            .collect();
        let bytes = tuf::sign(&targets, &pairs)?;
        snapshot_meta.insert(role.clone(), FileMeta::of(&bytes));
        files.push((role.clone(), bytes));
    }
    if let Some((listed, key)) = &signers.snapshot
        && plan.iter().any(|(r, _)| r == "snapshot")
    {
        let mut snapshot = remote.snapshot.clone();
        snapshot.meta = snapshot_meta;
        snapshot.version = next_version(&remote.snapshot)?;
        // A snapshot re-signed only because root or targets changed gets the default validity.
        let requested = plan.iter().any(|(r, asked)| r == "snapshot" && *asked);
        snapshot.expires = roles::go_time(if requested {
            new_expiry("snapshot")
        } else {
            now + roles::TARGETS_EXPIRY
        });
        files.push((
            "snapshot".to_owned(),
            tuf::sign(&snapshot, &[(listed, key)])?,
        ));
    }
    Ok((files, new_certificate))
}

/// The version after the one `signed` carries, refusing one that cannot be incremented.
fn next_version<T: Metadata>(signed: &T) -> Result<u64> {
    signed
        .version()
        .checked_add(1)
        .ok_or_else(|| Error::InvalidMetadata {
            reason: format!(
                "the server's {}.json has a version that cannot be incremented",
                T::ROLE
            ),
        })
}

/// The canonical ID of the first key of `role` root.json names that is in `private/`.
fn local_key_of(dir: &TrustDir, root: &Root, role: &str) -> Option<KeyId> {
    local_listed_key(dir, root, role).map(|(_, canonical)| canonical)
}

/// The listed and canonical IDs of the first key of `role` that is in `private/`.
fn local_listed_key(dir: &TrustDir, root: &Root, role: &str) -> Option<(KeyId, KeyId)> {
    root.role_key_ids(role).iter().find_map(|listed| {
        let canonical = root.key(listed).and_then(|k| roles::canonical_id(&k))?;
        dir.key_path(&canonical)
            .is_file()
            .then(|| Some((listed.parse().ok()?, canonical)))
            .flatten()
    })
}

fn sha256(bytes: &[u8]) -> String {
    FileMeta::of(bytes)
        .hashes
        .get("sha256")
        .cloned()
        .unwrap_or_default()
}

fn read_journal(dir: &TrustDir, gun: &Gun, name: &str, bytes: &[u8]) -> Result<Journal> {
    let path = dir
        .root()
        .join(crate::trust_dir::JOURNAL_DIR)
        .join(format!("{name}.json"));
    let refuse = |why: &str| Error::InvalidArgument {
        what: Argument::RenewalJournal,
        reason: format!(
            "{}: {why}; nothing was changed. Move it away to start over",
            path.display()
        ),
    };
    let journal: Journal = serde_json::from_slice(bytes).map_err(|_| refuse("it is unreadable"))?;
    if journal.gun != gun.as_str() {
        return Err(refuse(&format!(
            "it records a renewal of {}, not of {gun}",
            crate::ids::clip(&journal.gun)
        )));
    }
    Ok(journal)
}

fn write_journal(dir: &TrustDir, name: &str, journal: &Journal) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(journal).map_err(|e| Error::Internal {
        what: format!("cannot encode the renewal journal: {e}"),
    })?;
    dir.write_journal(&dir.lock()?, name, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gun() -> Gun {
        "example.com/renew/plan".parse().expect("gun")
    }

    /// docker's two roles per signer: releases and alice have files, bob's was never signed;
    /// this machine holds alice's key (trusted for releases too).
    fn signers() -> Vec<DelegatedRole> {
        let role = |name: &str, renewable, local| DelegatedRole {
            name: name.into(),
            renewable,
            local,
        };
        vec![
            role("targets/releases", true, true),
            role("targets/alice", true, true),
            role("targets/bob", false, false),
            role("targets/carol", true, false),
        ]
    }

    fn plan(roles: Vec<Role>, snapshot_local: bool) -> Result<(Plan, Vec<String>)> {
        plan_roles(&gun(), &RenewRoles::Only(roles), snapshot_local, &signers())
    }

    fn names(plan: &[(String, bool)]) -> Vec<(&str, bool)> {
        plan.iter().map(|(r, asked)| (r.as_str(), *asked)).collect()
    }

    #[test]
    fn a_new_root_or_targets_brings_a_new_snapshot() {
        let (p, by_server) = plan(vec![Role::Targets], false).expect("plan");
        assert_eq!(names(&p), [("targets", true), ("snapshot", false)]);
        assert_eq!(by_server, ["timestamp", "snapshot"]);
        let (p, by_server) = plan(vec![Role::Root], true).expect("plan");
        assert_eq!(names(&p), [("root", true), ("snapshot", false)]);
        assert_eq!(by_server, ["timestamp"]);
        let (p, _) = plan(vec![Role::Snapshot, Role::Root], true).expect("plan");
        assert_eq!(names(&p), [("root", true), ("snapshot", true)]);
        let (p, _) = plan_roles(&gun(), &RenewRoles::All, true, &[]).expect("plan");
        assert_eq!(
            names(&p),
            [("root", true), ("targets", true), ("snapshot", true)]
        );
        let (p, _) = plan_roles(&gun(), &RenewRoles::All, false, &[]).expect("plan");
        assert_eq!(
            names(&p),
            [("root", true), ("targets", true), ("snapshot", false)]
        );
    }

    #[test]
    fn signer_roles_are_renewed_alone_or_with_all_roles() {
        let releases = || Role::Delegation("targets/releases".into());
        let (p, by_server) = plan(vec![releases()], false).expect("plan");
        assert_eq!(names(&p), [("targets/releases", true), ("snapshot", false)]);
        assert_eq!(by_server, ["timestamp", "snapshot"]);
        // Named twice, and with targets: once each, delegations after targets, sorted.
        let (p, _) = plan(
            vec![
                releases(),
                Role::Delegation("targets/alice".into()),
                releases(),
                Role::Targets,
            ],
            true,
        )
        .expect("plan");
        assert_eq!(
            names(&p),
            [
                ("targets", true),
                ("targets/alice", true),
                ("targets/releases", true),
                ("snapshot", false)
            ]
        );
        // --all-roles: the signer roles this machine holds a key of (not bob's, never signed,
        // nor carol's, whose key is elsewhere).
        let (p, _) = plan_roles(&gun(), &RenewRoles::All, false, &signers()).expect("plan");
        assert_eq!(
            names(&p),
            [
                ("root", true),
                ("targets", true),
                ("targets/alice", true),
                ("targets/releases", true),
                ("snapshot", false)
            ]
        );
        // carol's role can be named: her key is then asked for (and missing) when signing.
        assert!(plan(vec![Role::Delegation("targets/carol".into())], false).is_ok());
        let err = plan(vec![Role::Delegation("targets/bob".into())], false).expect_err("no file");
        assert!(
            err.to_string().contains("no content") || err.to_string().contains("no file"),
            "{err}"
        );
        let err = plan(vec![Role::Delegation("targets/dave".into())], false).expect_err("unknown");
        assert!(
            err.to_string().contains("no delegated role targets/dave"),
            "{err}"
        );
        assert!(err.to_string().contains("targets/releases"), "{err}");
    }

    #[test]
    fn what_the_server_signs_is_refused_by_name() {
        let err = plan(vec![Role::Timestamp], true).expect_err("timestamp");
        assert!(
            err.to_string()
                .contains("always signed by the Notary server"),
            "{err}"
        );
        let err = plan(vec![Role::Snapshot], false).expect_err("server snapshot");
        assert!(
            err.to_string().contains("held by the Notary server"),
            "{err}"
        );
        let err = plan(vec![Role::Other("alice".into())], true).expect_err("a signer's name");
        assert!(err.to_string().contains("role is targets/alice"), "{err}");
        assert!(plan(Vec::new(), true).is_err());
        let err = plan(vec!["tragets".parse().expect("role")], true).expect_err("near miss");
        assert!(err.to_string().contains("did you mean targets"), "{err}");
    }
}
