//! `keytool passphrase explain|set|generate|remove` and `keytool vault init|status|change-master`,
//! and the stores (OS keyring, vault) the passphrase chain reads.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use clap::{Args, Subcommand};
use keystore::ops::{self, NewPassphrase};
use keystore::passphrase::keyring::Keyring;
use keystore::passphrase::store::{self, SecretStore};
use keystore::passphrase::vault::{KdfParams, MASTER_ROLE, Vault, VaultStore};
use keystore::passphrase::{
    Chain, FileSource, FixedSource, PassphraseSource, Probe, Purpose, Request,
};
use keystore::{Error, KeyId, Passphrase, Result, Role};

use crate::cli::Global;
use crate::commands::{Context, chain, check_iterations, checking_chain, plain_chain};
use crate::output;
use crate::prompt::TtyPrompt;

/// The environment variable holding the vault's master passphrase.
pub(crate) const VAULT_ENV: &str = "KEYTOOL_VAULT_PASSPHRASE";

#[derive(Debug, Subcommand)]
pub(crate) enum PassphraseCommand {
    /// Show, in order, which source would supply a key's passphrase (never the passphrase)
    Explain(ExplainArgs),
    /// Store a key's passphrase (from --passphrase-file, stdin, the environment or a prompt) in
    /// the OS keyring, or the vault when there is no keyring; it must open the key
    Set {
        /// Key ID or unique prefix
        key_id: String,
        /// Store in the vault even when an OS keyring is available
        #[arg(long)]
        vault: bool,
    },
    /// Re-encrypt a key under a new random passphrase (192 bits) kept in a durable store: Secret
    /// Service or the macOS keychain, else the vault (never kernel keyutils alone)
    Generate {
        /// Key ID or unique prefix
        key_id: String,
        /// Store in the vault even when an OS keyring is available
        #[arg(long)]
        vault: bool,
    },
    /// Delete a key's stored passphrase from every OS keyring and the vault that hold one (not
    /// the key)
    Remove {
        /// Key ID or unique prefix (a full ID for a retired or removed key)
        key_id: String,
    },
    /// Show a key's stored passphrase on this terminal, or write it to a new file (mode 0600),
    /// to back it up; asks for confirmation. Never into a pipe, a log or JSON
    Reveal {
        /// Key ID or unique prefix (a full ID for a retired key)
        key_id: String,
        /// Write it to FILE (first line; created with mode 0600; it must not exist yet) instead
        /// of the terminal
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Key ID or unique prefix
    #[arg(required_unless_present = "role", conflicts_with_all = ["role", "repo"])]
    key_id: Option<String>,
    /// A role (root, targets, snapshot, targets/<name>, a signer name) instead of a key ID
    #[arg(long)]
    role: Option<String>,
    /// The repository (GUN) of a targets or snapshot key
    #[arg(long, value_name = "GUN", requires = "role")]
    repo: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Create the passphrase vault (<trust dir>/keytool-vault.json) under a master passphrase
    Init {
        #[command(flatten)]
        kdf: VaultKdf,
    },
    /// Show the vault's format, Argon2id parameters and entries (key IDs only)
    Status {
        /// Also open it with the master passphrase and report how long that took
        #[arg(long)]
        unlock: bool,
    },
    /// Re-seal the vault under a new master passphrase (and new Argon2id parameters)
    ChangeMaster {
        /// Read the new master passphrase from the first line of FILE (mode 0600)
        #[arg(long, value_name = "FILE")]
        new_vault_passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: VaultKdf,
    },
}

/// Argon2id parameters of a vault being written.
#[derive(Debug, Args)]
pub(crate) struct VaultKdf {
    /// Argon2id memory in KiB [default: 65536; at most 1048576]
    #[arg(long, value_name = "KIB")]
    m_kib: Option<u32>,
    /// Argon2id passes [default: 4; at most 32]
    #[arg(long, value_name = "N")]
    t: Option<u32>,
    /// Argon2id lanes [default: 1; at most 8]
    #[arg(long, value_name = "N")]
    p: Option<u32>,
}

impl VaultKdf {
    fn params(&self) -> KdfParams {
        let d = KdfParams::DEFAULT;
        KdfParams {
            m_kib: self.m_kib.unwrap_or(d.m_kib),
            t: self.t.unwrap_or(d.t),
            p: self.p.unwrap_or(d.p),
        }
    }
}

/// The OS keyring, unless `KEYTOOL_KEYRING` (or the configuration file's `keyring`) is `none`,
/// or none is supported here.
pub(crate) fn keyring(ctx: &Context) -> Result<Option<Keyring>> {
    Keyring::open_os(|k| ctx.config.var(k))
}

/// Where the vault's master passphrase comes from: --vault-passphrase-file, then
/// KEYTOOL_VAULT_PASSPHRASE, then a prompt (when allowed).
fn master_chain(ctx: &Context, file: Option<&std::path::Path>) -> Chain {
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

pub(crate) fn passphrase(ctx: &Context, g: &Global, cmd: PassphraseCommand) -> Result<()> {
    match cmd {
        PassphraseCommand::Explain(args) => explain(ctx, g, &args),
        PassphraseCommand::Set { key_id, vault } => {
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let store = preferred_store(ctx, vault)?;
            let origin = ops::store_passphrase(
                &ctx.dir,
                &id,
                &plain_chain(ctx, g.passphrase_file.as_deref()),
                store.as_ref(),
                &ctx.kdf,
            )?;
            report(ctx, &id, "stored", &store.describe(), Some(&origin));
            Ok(())
        }
        PassphraseCommand::Generate { key_id, vault } => {
            check_iterations(&ctx.kdf)?;
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let store = generated_store(ctx, vault)?;
            ops::passwd_stored(
                &ctx.dir,
                &id,
                &chain(ctx, g.passphrase_file.as_deref()),
                NewPassphrase::Generate,
                Some(store.as_ref()),
                &ctx.kdf,
            )?;
            generated_into(ctx, &id, store.as_ref())?;
            report(
                ctx,
                &id,
                "re-encrypted under a generated passphrase stored",
                &store.describe(),
                None,
            );
            Ok(())
        }
        PassphraseCommand::Remove { key_id } => {
            let id = ops::resolve_key_id(&ctx.dir, &key_id).or_else(|_| key_id.parse::<KeyId>())?;
            let keyrings = Keyring::all_os(|k| ctx.config.var(k))?;
            let vault = vault_store(ctx);
            let mut stores: Vec<&dyn SecretStore> =
                keyrings.iter().map(|k| k as &dyn SecretStore).collect();
            stores.push(&vault);
            let removed = ops::forget_everywhere(&id, &stores)?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "id": id, "action": "removed", "store": removed.join(" and "),
                    "removed_from": removed,
                }));
            } else {
                eprintln!(
                    "Passphrase of key {id} removed from {}.",
                    removed.join(" and ")
                );
            }
            Ok(())
        }
        PassphraseCommand::Reveal {
            key_id,
            output: file,
            yes,
        } => reveal(ctx, &key_id, file.as_deref(), yes),
    }
}

/// `passphrase reveal`: a stored passphrase, on purpose, to a terminal or a new 0600 file only.
fn reveal(ctx: &Context, key_id: &str, file: Option<&std::path::Path>, yes: bool) -> Result<()> {
    use std::io::{IsTerminal, Write};
    let id = ops::resolve_key_id(&ctx.dir, key_id).or_else(|_| key_id.parse::<KeyId>())?;
    if file.is_none() && (ctx.json || !std::io::stdout().is_terminal()) {
        return Err(Error::InvalidArgument {
            what: "output",
            reason: "standard output is not a terminal (or --json was given): the passphrase \
                     would end up in a pipe, a file or a log. Write it to a new file with \
                     -o FILE (created with mode 0600), or run on a terminal"
                .into(),
        });
    }
    if !yes {
        crate::commands::confirm(
            ctx,
            &format!(
                "Reveal the passphrase of key {id}{}? Anyone who sees it can open the key. (yes/no) ",
                file.map(|f| format!(" into {}", f.display()))
                    .unwrap_or_else(|| " on this terminal".into())
            ),
        )?;
    }
    let keyrings = Keyring::all_os(|k| ctx.config.var(k))?;
    let vault = vault_store(ctx);
    let mut stores: Vec<&dyn SecretStore> =
        keyrings.iter().map(|k| k as &dyn SecretStore).collect();
    stores.push(&vault);
    let revealed = ops::reveal_passphrase(&ctx.dir, &id, &stores, &ctx.kdf)?;
    let checked = if revealed.checked {
        "it opens the key"
    } else {
        "no key file of that ID to check it against"
    };
    match file {
        Some(path) => {
            ops::write_passphrase_file(path, &revealed.passphrase)?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "id": id, "file": path, "store": revealed.store, "checked": revealed.checked,
                }));
            } else {
                eprintln!(
                    "Passphrase of key {id} (from {}; {checked}) written to {} (mode 0600). Keep \
                     the copy offline and delete this file once it is backed up.",
                    revealed.store,
                    path.display()
                );
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(revealed.passphrase.expose())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
                .map_err(|e| Error::Io {
                    action: "write",
                    path: "standard output".into(),
                    source: e,
                })?;
            eprintln!(
                "Passphrase of key {id} from {} ({checked}).",
                revealed.store
            );
        }
    }
    Ok(())
}

fn report(ctx: &Context, id: &KeyId, what: &str, store: &str, origin: Option<&str>) {
    if ctx.json {
        output::json(
            &serde_json::json!({ "id": id, "action": what, "store": store, "from": origin }),
        );
    } else {
        match origin {
            Some(o) => eprintln!("Passphrase of key {id} (from {o}) {what} in {store}."),
            None => eprintln!("Passphrase of key {id} {what} in {store}."),
        }
    }
}

fn explain(ctx: &Context, g: &Global, args: &ExplainArgs) -> Result<()> {
    let (id, role, gun) = match (&args.key_id, &args.role) {
        (Some(k), _) => {
            let id = ops::resolve_key_id(&ctx.dir, k)?;
            let (_, file) = ctx.dir.read_key(&id)?;
            (Some(id), file.role().clone(), file.gun().cloned())
        }
        (None, Some(r)) => {
            let role: Role = r.parse()?;
            let gun = args.repo.as_deref().map(str::parse).transpose()?;
            let keys = ops::list(&ctx.dir, Some(&role), gun.as_ref())?;
            let id = match keys.as_slice() {
                [one] => one.id.parse().ok(),
                _ => None,
            };
            (id, role, gun)
        }
        (None, None) => {
            return Err(Error::InvalidArgument {
                what: "arguments",
                reason: "give a KEY_ID or --role".into(),
            });
        }
    };
    let request = Request {
        key_id: id.as_ref(),
        role: &role,
        gun: gun.as_ref(),
        purpose: Purpose::Unlock,
        attempt: 0,
    };
    // Every source that answers by itself is tried on the key (no prompt, also not for the
    // vault's master passphrase); a prompt is only listed.
    let mut sources = checking_chain(ctx, g.passphrase_file.as_deref());
    if ctx.interactive {
        sources.push(Box::new(TtyPrompt));
    }
    let checks: Vec<ops::SourceCheck> = match &id {
        Some(id) => ops::check_sources(&ctx.dir, id, &sources, &ctx.kdf)?,
        None => sources
            .explain(&request)
            .into_iter()
            .map(|explained| ops::SourceCheck {
                explained,
                opens: None,
            })
            .collect(),
    };
    let lines: Vec<_> = checks.iter().map(|c| &c.explained).collect();
    let winner = lines
        .iter()
        .position(|l| matches!(l.probe, Probe::Answers(_) | Probe::Asks(_)));
    let verdict = |i: usize| -> String {
        match &checks[i].opens {
            Some(ops::Opens::Yes) => " -- opens the key".into(),
            Some(ops::Opens::No) => " -- WRONG: does not open the key".into(),
            Some(ops::Opens::Unknown(why)) => format!(" -- not checked: {why}"),
            None => String::new(),
        }
    };
    if ctx.json {
        let rows: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (state, why) = split(&l.probe);
                serde_json::json!({
                    "source": l.source, "state": state, "detail": why, "used": Some(i) == winner,
                    "opens": checks[i].opens,
                })
            })
            .collect();
        output::json(&serde_json::json!({
            "key_id": id, "role": role.to_string(), "gun": gun.as_ref().map(ToString::to_string),
            "sources": rows, "interactive": ctx.interactive,
        }));
        return Ok(());
    }
    println!(
        "Passphrase of the {role} key{}{}, sources in order:",
        id.as_ref().map(|i| format!(" {i}")).unwrap_or_default(),
        gun.as_ref().map(|g| format!(" of {g}")).unwrap_or_default()
    );
    for (i, l) in lines.iter().enumerate() {
        let (state, why) = split(&l.probe);
        println!(
            "{} {}. {}: {state} ({why}){}",
            if Some(i) == winner { "->" } else { "  " },
            i + 1,
            l.source,
            verdict(i)
        );
    }
    if !ctx.interactive {
        println!(
            "   -. a prompt on this terminal: not used (--non-interactive, CI=true, or no terminal)"
        );
    }
    match winner.map(|i| (i, &checks[i].opens)) {
        Some((i, Some(ops::Opens::Yes))) => println!(
            "The passphrase would come from source {}, and it opens the key.",
            i + 1
        ),
        Some((i, Some(ops::Opens::No))) => println!(
            "The passphrase would come from source {}, but it does NOT open the key: commands fail with \"wrong passphrase\". Correct or unset it.",
            i + 1
        ),
        Some((i, _)) => println!("The passphrase would come from source {}.", i + 1),
        None => println!(
            "No source would answer: the command would fail with \"a passphrase is needed\"."
        ),
    }
    Ok(())
}

fn split(p: &Probe) -> (&'static str, &str) {
    match p {
        Probe::Answers(w) => ("answers", w),
        Probe::Asks(w) => ("asks", w),
        Probe::Nothing(w) => ("nothing", w),
        Probe::Unavailable(w) => ("unavailable", w),
    }
}

/// The role name under which `vault change-master` asks for the new master passphrase (its
/// sources differ from the current one's, and so does the advice when none answers).
pub(crate) const NEW_MASTER_ROLE: &str = "new vault master";

pub(crate) fn vault(ctx: &Context, cmd: VaultCommand) -> Result<()> {
    let ask_as =
        |source: &dyn PassphraseSource, purpose: Purpose, role: &str| -> Result<Passphrase> {
            source
                .supply(&Request {
                    key_id: None,
                    role: &Role::Other(MASTER_ROLE.into()),
                    gun: None,
                    purpose,
                    attempt: 0,
                })?
                .map(|s| s.passphrase)
                .ok_or_else(|| Error::PassphraseRequired {
                    key: keystore::error::FileLabel::none(),
                    role: role.into(),
                })
        };
    let ask =
        |source: &dyn PassphraseSource, purpose: Purpose| ask_as(source, purpose, MASTER_ROLE);
    match cmd {
        VaultCommand::Init { kdf } => {
            let master = ask(
                &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                Purpose::NewKey,
            )?;
            let lock = ctx.dir.lock()?;
            let v = Vault::create(&ctx.dir, &lock, &master, kdf.params())?;
            if ctx.json {
                output::json(&Vault::status(&ctx.dir)?);
            } else {
                eprintln!("Created the passphrase vault {}.", v.path().display());
            }
        }
        VaultCommand::Status { unlock } => {
            let status = Vault::status(&ctx.dir)?;
            let took = if unlock && status.exists {
                let master = ask(
                    &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                    Purpose::Unlock,
                )?;
                let start = Instant::now();
                Vault::open(&ctx.dir, &master)?;
                Some(start.elapsed())
            } else {
                None
            };
            if ctx.json {
                output::json(&serde_json::json!({
                    "vault": status,
                    "unlock_ms": took.map(|d| d.as_secs_f64() * 1000.0),
                }));
                return Ok(());
            }
            if !status.exists {
                println!(
                    "No vault at {} (keytool vault init creates one).",
                    status.path.display()
                );
                return Ok(());
            }
            println!("Vault    {}", status.path.display());
            println!(
                "Format   keytool-vault v{}",
                status.version.unwrap_or_default()
            );
            if let Some(k) = status.kdf {
                println!("KDF      argon2id m={} KiB t={} p={}", k.m_kib, k.t, k.p);
            }
            println!("Entries  {}", status.entries.len());
            for e in &status.entries {
                println!(
                    "  {} {} {}{}",
                    e.key_id,
                    e.role,
                    e.slot,
                    e.gun.as_ref().map(|g| format!(" {g}")).unwrap_or_default()
                );
            }
            if let Some(d) = took {
                println!("Unlocked in {:.0} ms", d.as_secs_f64() * 1000.0);
            }
        }
        VaultCommand::ChangeMaster {
            new_vault_passphrase_file,
            kdf,
        } => {
            let old = ask(
                &master_chain(ctx, ctx.vault_passphrase_file.as_deref()),
                Purpose::Unlock,
            )?;
            let mut new_chain = Chain::new();
            if let Some(f) = &new_vault_passphrase_file {
                new_chain.push(Box::new(FileSource::new(f)));
            }
            if ctx.interactive {
                new_chain.push(Box::new(TtyPrompt));
            }
            let new = ask_as(&new_chain, Purpose::NewKey, NEW_MASTER_ROLE)?;
            let lock = ctx.dir.lock()?;
            let mut v = Vault::open(&ctx.dir, &old)?.ok_or_else(|| Error::KeyNotFound {
                key_id: "(passphrase vault)".into(),
                dir: keystore::passphrase::vault::vault_path(&ctx.dir),
            })?;
            v.change_master(&new, kdf.params())?;
            v.save(&lock)?;
            eprintln!(
                "The vault {} is sealed under the new master passphrase.",
                v.path().display()
            );
        }
    }
    Ok(())
}
