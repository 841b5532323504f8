//! The passphrase chains commands read key passphrases from (`--generate-passphrase`, an
//! explicit file, fd or stdin, the environment, the OS keyring, the vault, a prompt), and the
//! stores (OS keyring, vault) those chains read and new passphrases are kept in.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use keystore::ops;
use keystore::passphrase::keyring::Keyring;
use keystore::passphrase::store::{self, GeneratingSource, SecretStore, StoredSource};
use keystore::passphrase::vault::VaultStore;
use keystore::passphrase::{Chain, EnvSource, FileSource, FixedSource, LineSource};
use keystore::{Error, KeyId, Passphrase, Result};

use super::Context;
use crate::output;
use crate::prompt::TtyPrompt;

/// The environment variable holding the vault's master passphrase.
pub(crate) const VAULT_ENV: &str = "KEYTOOL_VAULT_PASSPHRASE";

/// The passphrase chain (README, `keytool --help`): `--generate-passphrase` (new keys only), an
/// explicit file, fd or stdin, the environment, the OS keyring, the vault, then (if allowed) a
/// prompt. A failure to open the chosen store for `--generate-passphrase` fails the command
/// before any key is written.
pub(crate) fn chain(ctx: &Context, file: Option<&Path>) -> Chain {
    let mut chain = Chain::new();
    if ctx.generate_passphrase {
        match generated_store(ctx, false) {
            Ok(store) => chain.push(Box::new(
                GeneratingSource::new(store).notify(output::record_generated),
            )),
            Err(e) => chain.push(Box::new(Failing(std::cell::RefCell::new(Some(e))))),
        }
    }
    push_explicit(ctx, file, &mut chain);
    chain.push(Box::new(EnvSource::process()));
    if let Ok(Some(kr)) = keyring(ctx) {
        chain.push(Box::new(StoredSource::new(kr)));
    }
    chain.push(Box::new(StoredSource::new(vault_store(ctx))));
    if ctx.interactive {
        chain.push(Box::new(TtyPrompt));
    }
    chain
}

/// The chain for checking which passphrase opens a key (`status`, `passphrase explain`): the
/// sources of [`chain`] that answer without a person. The vault's master passphrase comes only
/// from `--vault-passphrase-file` or `KEYTOOL_VAULT_PASSPHRASE`; there is no prompt.
pub(crate) fn checking_chain(ctx: &Context, file: Option<&Path>) -> Chain {
    let mut chain = Chain::new();
    push_explicit(ctx, file, &mut chain);
    chain.push(Box::new(EnvSource::process()));
    if let Ok(Some(kr)) = keyring(ctx) {
        chain.push(Box::new(StoredSource::new(kr)));
    }
    chain.push(Box::new(StoredSource::new(unattended_vault_store(ctx))));
    chain
}

/// The chain without stored passphrases (what `passphrase set` stores from).
pub(crate) fn plain_chain(ctx: &Context, file: Option<&Path>) -> Chain {
    let mut chain = Chain::new();
    push_explicit(ctx, file, &mut chain);
    chain.push(Box::new(EnvSource::process()));
    if ctx.interactive {
        chain.push(Box::new(TtyPrompt));
    }
    chain
}

/// `--passphrase-file`, else `--passphrase-fd`, else `--passphrase-stdin` (read only when the
/// flag is given, one line).
fn push_explicit(ctx: &Context, file: Option<&Path>, chain: &mut Chain) {
    if let Some(f) = file {
        chain.push(Box::new(FileSource::new(f)));
    } else if let Some(fd) = ctx.passphrase_fd {
        let path = PathBuf::from(format!("/dev/fd/{fd}"));
        match std::fs::File::open(&path) {
            Ok(f) => chain.push(Box::new(LineSource::new(
                Box::new(f),
                format!("file descriptor {fd}"),
            ))),
            Err(e) => chain.push(Box::new(Failing(std::cell::RefCell::new(Some(
                Error::Io {
                    action: "read",
                    path,
                    source: e,
                },
            ))))),
        }
    } else if ctx.passphrase_stdin {
        chain.push(Box::new(LineSource::new(
            Box::new(std::io::stdin()),
            "standard input",
        )));
    }
}

/// A source that reports a setup error (e.g. no store for `--generate-passphrase`) when first
/// asked, so that commands needing no passphrase still run.
struct Failing(std::cell::RefCell<Option<Error>>);

impl keystore::passphrase::PassphraseSource for Failing {
    fn describe(&self) -> String {
        "an unusable source".into()
    }

    fn supply(
        &self,
        _request: &keystore::passphrase::Request<'_>,
    ) -> Result<Option<keystore::passphrase::Supplied>> {
        match self.0.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn probe(&self, _request: &keystore::passphrase::Request<'_>) -> keystore::passphrase::Probe {
        keystore::passphrase::Probe::Unavailable(
            self.0
                .borrow()
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        )
    }
}

/// The OS keyring, unless `KEYTOOL_KEYRING` (or the configuration file's `keyring`) is `none`,
/// or none is supported here.
pub(crate) fn keyring(ctx: &Context) -> Result<Option<Keyring>> {
    Keyring::open_os(|k| ctx.config.var(k))
}

/// Where the vault's master passphrase comes from: --vault-passphrase-file, then
/// KEYTOOL_VAULT_PASSPHRASE, then a prompt (when allowed).
pub(crate) fn master_chain(ctx: &Context, file: Option<&std::path::Path>) -> Chain {
    let mut chain = unattended_master_chain(file);
    if ctx.interactive {
        chain.push(Box::new(TtyPrompt));
    }
    chain
}

/// The vault's master passphrase without a prompt: --vault-passphrase-file, then
/// KEYTOOL_VAULT_PASSPHRASE.
fn unattended_master_chain(file: Option<&std::path::Path>) -> Chain {
    let mut chain = Chain::new();
    if let Some(f) = file {
        chain.push(Box::new(FileSource::new(f)));
    }
    if let Some(v) = std::env::var_os(VAULT_ENV).filter(|v| !v.is_empty())
        && let Ok(text) = v.into_string()
    {
        chain.push(Box::new(FixedSource::new(Passphrase::new(text), VAULT_ENV)));
    }
    chain
}

/// The vault of the trust directory as a store that never prompts for its master passphrase
/// (for checks: `status`, `passphrase explain`).
pub(crate) fn unattended_vault_store(ctx: &Context) -> VaultStore {
    VaultStore::new(
        ctx.dir.clone(),
        Box::new(unattended_master_chain(
            ctx.vault_passphrase_file.as_deref(),
        )),
    )
}

/// The vault of the trust directory as a store: one per command, shared by everything that
/// reads or writes it, so its master passphrase is asked (and Argon2id run) at most once.
pub(crate) fn vault_store(ctx: &Context) -> Rc<VaultStore> {
    Rc::clone(ctx.vault.get_or_init(|| {
        Rc::new(VaultStore::new(
            ctx.dir.clone(),
            Box::new(master_chain(ctx, ctx.vault_passphrase_file.as_deref())),
        ))
    }))
}

/// Where new passphrases are stored: the OS keyring when it can be used, else the vault.
pub(crate) fn preferred_store(ctx: &Context, force_vault: bool) -> Result<Box<dyn SecretStore>> {
    if !force_vault
        && let Some(kr) = keyring(ctx)?
        && kr.available().is_ok()
    {
        return Ok(Box::new(kr));
    }
    let vault = vault_store(ctx);
    if vault.exists() {
        return Ok(Box::new(vault));
    }
    Err(Error::Keyring {
        store: "none".into(),
        action: "store a passphrase",
        reason: format!(
            "no OS keyring can be used here and there is no vault ({}); run keytool vault init, or run inside a session keyring (keyctl session -)",
            keystore::passphrase::vault::vault_path(&ctx.dir).display()
        ),
    })
}

/// Where generated passphrases are stored: a durable store, never kernel keyutils alone (it
/// forgets entries at reboot and after days unused). The OS keyring when it is durable (Secret
/// Service, the macOS keychain), else the vault; without either, a refusal that says how to
/// get one, before anything is changed.
pub(crate) fn generated_store(ctx: &Context, force_vault: bool) -> Result<Box<dyn SecretStore>> {
    let mut candidates: Vec<Box<dyn SecretStore>> = Vec::new();
    if !force_vault && let Some(kr) = keyring(ctx)? {
        candidates.push(Box::new(kr));
    }
    let vault = vault_store(ctx);
    if vault.exists() {
        candidates.push(Box::new(vault));
    }
    store::durable_store(
        candidates,
        &keystore::passphrase::vault::vault_path(&ctx.dir),
    )
}

/// After a key was re-encrypted under a generated passphrase kept in `store`: removes the
/// entries of the old passphrase from every other store (a stale entry in the keyring would be
/// tried first and fail), and records where the new one went.
pub(crate) fn generated_into(ctx: &Context, id: &KeyId, store: &dyn SecretStore) -> Result<()> {
    let (_, file) = ctx.dir.read_key(id)?;
    let keyrings = Keyring::all_os(|k| ctx.config.var(k))?;
    let vault = vault_store(ctx);
    let mut others: Vec<&dyn SecretStore> =
        keyrings.iter().map(|k| k as &dyn SecretStore).collect();
    others.push(&vault);
    for other in others {
        if other.describe() != store.describe() {
            ops::forget_passphrase(id, other)?;
        }
    }
    output::record_generated(store::GeneratedPassphrase {
        key_id: id.clone(),
        role: file.role().clone(),
        gun: file.gun().cloned(),
        stored_in: store.describe(),
    });
    Ok(())
}

/// The store that holds the current passphrase of `id`, if any (keyring first, then vault).
pub(crate) fn holder(ctx: &Context, id: &KeyId) -> Result<Option<Box<dyn SecretStore>>> {
    let mut stores: Vec<Box<dyn SecretStore>> = Vec::new();
    if let Some(kr) = keyring(ctx)? {
        stores.push(Box::new(kr));
    }
    stores.push(Box::new(vault_store(ctx)));
    store::holder(stores, id)
}
