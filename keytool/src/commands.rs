//! Runs a parsed command: builds the trust directory, KDF settings and passphrase chain, calls
//! `keystore::ops`, and prints the result.

use std::cell::OnceCell;
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use keystore::key::pbes2;
use keystore::notary::{self, NotaryClient};
use keystore::ops::{self, KdfSettings, Selection};
use keystore::passphrase::store::{GeneratingSource, StoredSource};
use keystore::passphrase::vault::VaultStore;
use keystore::passphrase::{Chain, EnvSource, FileSource, LineSource};
use keystore::trust_dir::Location;
use keystore::{Error, Gun, Result, Role, TrustDir};
use zeroize::Zeroizing;

use crate::cli::{Cli, Command, Global, InitArgs, KeyCommand, RotateArgs, ServerArgs};
use crate::config::{self, Config, Origin};
use crate::output;
use crate::prompt::{self, TtyPrompt};

/// Largest file `key import` reads (a bundle of ~30,000 notary keys).
const MAX_IMPORT_FILE: u64 = 16 << 20;

pub(crate) struct Context {
    pub(crate) dir: TrustDir,
    pub(crate) kdf: KdfSettings,
    pub(crate) json: bool,
    pub(crate) interactive: bool,
    pub(crate) vault_passphrase_file: Option<PathBuf>,
    passphrase_fd: Option<u32>,
    passphrase_stdin: bool,
    generate_passphrase: bool,
    /// The configuration file and the environment: every setting's default.
    pub(crate) config: Config,
    /// The vault store, made on first use (see `passphrase_cmd::vault_store`).
    pub(crate) vault: OnceCell<Rc<VaultStore>>,
}

/// Runs the command; the result is the exit code on success (`status` uses 1 for "not ready").
pub(crate) fn run(cli: Cli) -> Result<u8> {
    let g = &cli.global;
    let config = Config::load(g.config.as_deref(), |k| std::env::var_os(k))?;
    let non_interactive =
        g.non_interactive || config.flag("KEYTOOL_NON_INTERACTIVE")?.unwrap_or(false);
    // A misspelt keyring choice fails every command, before anything is read or written.
    keystore::passphrase::keyring::check_choice(|k| config.var(k))?;
    let ctx = Context {
        dir: TrustDir::resolve(g.trust_dir.as_deref(), |k| config.var(k))?,
        kdf: kdf_settings(g, &config)?,
        json: g.json,
        interactive: prompt::allowed(non_interactive),
        vault_passphrase_file: g.vault_passphrase_file.clone().or_else(|| {
            config
                .var("KEYTOOL_VAULT_PASSPHRASE_FILE")
                .map(PathBuf::from)
        }),
        passphrase_fd: g.passphrase_fd,
        passphrase_stdin: g.passphrase_stdin,
        generate_passphrase: match g.generate_passphrase {
            Some(b) => b,
            None => config.flag("KEYTOOL_GENERATE_PASSPHRASE")?.unwrap_or(false),
        },
        config,
        vault: OnceCell::new(),
    };
    // A directory this command created and left empty but for lock files (a misspelt
    // --trust-dir, a command that failed before writing) is removed again.
    let existed = ctx.dir.root().exists();
    let result = run_command(&ctx, g, cli.command);
    if !existed {
        let _ = ctx.dir.remove_if_unused();
    }
    result
}

fn run_command(ctx: &Context, g: &Global, command: Command) -> Result<u8> {
    match command {
        Command::Key(cmd) => key(ctx, g, cmd).map(|()| 0),
        Command::Config => {
            show_config(ctx);
            Ok(0)
        }
        Command::Init(args) => init(ctx, g, &args).map(|()| 0),
        Command::Status(args) => status(ctx, &args),
        Command::Rotate(args) => rotate(ctx, g, &args),
        Command::Migrate => migrate(ctx).map(|()| 0),
        Command::Provision(args) => crate::sandbox::provision(ctx, &args).map(|()| 0),
        Command::Sandbox(cmd) => crate::sandbox::sandbox(ctx, g, cmd).map(|()| 0),
        Command::Passphrase(cmd) => crate::passphrase_cmd::passphrase(ctx, g, cmd).map(|()| 0),
        Command::Vault(cmd) => crate::passphrase_cmd::vault(ctx, cmd).map(|()| 0),
    }
}

/// `keytool config`: the file in use and, for each setting, its value and where it comes from.
fn show_config(ctx: &Context) {
    #[derive(serde::Serialize)]
    struct Setting {
        key: &'static str,
        env: &'static str,
        value: Option<String>,
        origin: Option<Origin>,
        /// What applies when neither the environment nor the file sets it.
        default: String,
    }
    let kdf = KdfSettings::default();
    let default_of = |key: &str| -> String {
        match key {
            "trust_dir" => TrustDir::resolve(None, |k| {
                (k != "KEYTOOL_TRUST_DIR")
                    .then(|| std::env::var_os(k))
                    .flatten()
            })
            .map(|d| d.root().display().to_string())
            .unwrap_or_else(|_| "$DOCKER_CONFIG/trust, else ~/.docker/trust".into()),
            "generate_passphrase" | "non_interactive" | "notary_compat" => "false".into(),
            "kdf_iterations" => kdf.iterations.to_string(),
            "max_kdf_iterations" => kdf.max_iterations.to_string(),
            "keyring" => "auto".into(),
            "vault_passphrase_file" => "none (KEYTOOL_VAULT_PASSPHRASE, else a prompt)".into(),
            "server" => "none".into(),
            "tlscacert" => "$DOCKER_CONFIG/tls/<host:port>/ca.crt, else the system's".into(),
            "notary_config" => "~/.notary/config.json".into(),
            _ => "-".into(),
        }
    };
    let settings: Vec<Setting> = config::KEYS
        .iter()
        .map(|(key, env)| {
            let found = ctx.config.lookup(env);
            Setting {
                key,
                env,
                value: found
                    .as_ref()
                    .map(|(v, _)| v.to_string_lossy().into_owned()),
                origin: found.map(|(_, o)| o),
                default: default_of(key),
            }
        })
        .collect();
    let file = ctx.config.path().map(|p| p.display().to_string());
    if ctx.json {
        output::json(&serde_json::json!({ "file": file, "settings": settings }));
        return;
    }
    println!(
        "Configuration file  {}",
        file.as_deref()
            .unwrap_or("none (looked for $KEYTOOL_CONFIG, ~/.config/keytool/config.toml)")
    );
    for s in &settings {
        let (value, from) = match (&s.value, s.origin) {
            (Some(v), Some(Origin::Environment)) => (v.as_str(), format!("from {}", s.env)),
            (Some(v), _) => (v.as_str(), "from the configuration file".to_owned()),
            (None, _) => (
                s.default.as_str(),
                format!("built-in default (set {} or {})", s.key, s.env),
            ),
        };
        println!("{:<22}{value:<28} {from}", s.key);
    }
    println!("Flags on a command line override all of these.");
}

/// PBKDF2 settings: flags, then the environment, then the configuration file. Where the
/// iteration count and notary compatibility are both set, the one from the stronger source wins;
/// both from the same source contradict each other.
fn kdf_settings(g: &Global, config: &Config) -> Result<KdfSettings> {
    let mut kdf = KdfSettings::default();
    if let Some(n) = g.max_kdf_iterations.map_or_else(
        || config.number("KEYTOOL_MAX_KDF_ITERATIONS"),
        |n| Ok(Some(n)),
    )? {
        kdf.max_iterations = n;
    }
    if let Some(n) = g.kdf_iterations {
        kdf.iterations = n;
        return Ok(kdf);
    }
    if g.notary_compat {
        kdf.iterations = pbes2::NOTARY_ITERATIONS;
        return Ok(kdf);
    }
    let iterations = config
        .number("KEYTOOL_KDF_ITERATIONS")?
        .zip(config.lookup("KEYTOOL_KDF_ITERATIONS").map(|(_, o)| o));
    let compat = config
        .flag("KEYTOOL_NOTARY_COMPAT")?
        .filter(|on| *on)
        .zip(config.lookup("KEYTOOL_NOTARY_COMPAT").map(|(_, o)| o));
    match (iterations, compat) {
        (Some((_, from_n)), Some((_, from_compat))) if from_n == from_compat => {
            return Err(Error::InvalidArgument {
                what: "KEYTOOL_KDF_ITERATIONS",
                reason: format!(
                    "both the iteration count and notary compatibility are set in the {}; keep one",
                    if from_n == Origin::File {
                        "configuration file"
                    } else {
                        "environment"
                    }
                ),
            });
        }
        (Some((n, Origin::Environment)), _) | (Some((n, _)), None) => kdf.iterations = n,
        (_, Some(_)) => kdf.iterations = pbes2::NOTARY_ITERATIONS,
        (None, None) => {}
    }
    Ok(kdf)
}

/// The passphrase chain (README, `keytool --help`): `--generate-passphrase` (new keys only), an
/// explicit file, fd or stdin, the environment, the OS keyring, the vault, then (if allowed) a
/// prompt. A failure to open the chosen store for `--generate-passphrase` fails the command
/// before any key is written.
pub(crate) fn chain(ctx: &Context, file: Option<&Path>) -> Chain {
    let mut chain = Chain::new();
    if ctx.generate_passphrase {
        match crate::passphrase_cmd::generated_store(ctx, false) {
            Ok(store) => chain.push(Box::new(
                GeneratingSource::new(store).notify(output::record_generated),
            )),
            Err(e) => chain.push(Box::new(Failing(std::cell::RefCell::new(Some(e))))),
        }
    }
    push_explicit(ctx, file, &mut chain);
    chain.push(Box::new(EnvSource::process()));
    if let Ok(Some(kr)) = crate::passphrase_cmd::keyring(ctx) {
        chain.push(Box::new(StoredSource::new(kr)));
    }
    chain.push(Box::new(StoredSource::new(
        crate::passphrase_cmd::vault_store(ctx),
    )));
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
    if let Ok(Some(kr)) = crate::passphrase_cmd::keyring(ctx) {
        chain.push(Box::new(StoredSource::new(kr)));
    }
    chain.push(Box::new(StoredSource::new(
        crate::passphrase_cmd::unattended_vault_store(ctx),
    )));
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

fn parse_gun(text: Option<&str>) -> Result<Option<Gun>> {
    text.map(str::parse).transpose()
}

fn parse_role(text: Option<&str>) -> Result<Option<Role>> {
    let role: Option<Role> = text.map(str::parse).transpose()?;
    if let Some(role) = &role {
        role.check_spelling()?;
    }
    Ok(role)
}

pub(crate) fn check_iterations(kdf: &KdfSettings) -> Result<()> {
    if kdf.iterations == 0 || kdf.iterations > kdf.max_iterations {
        return Err(Error::InvalidArgument {
            what: "PBKDF2 iteration count",
            reason: format!(
                "{} to write (--kdf-iterations, KEYTOOL_KDF_ITERATIONS or the configuration \
                 file's kdf_iterations) must be between 1 and the read limit {} (raise it with \
                 --max-kdf-iterations)",
                kdf.iterations, kdf.max_iterations
            ),
        });
    }
    Ok(())
}

fn key(ctx: &Context, g: &Global, cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Generate { role, repo } => {
            check_iterations(&ctx.kdf)?;
            let role: Role = role.parse()?;
            let gun = parse_gun(repo.as_deref())?;
            let made = ops::generate(
                &ctx.dir,
                &chain(ctx, g.passphrase_file.as_deref()),
                role,
                gun,
                &ctx.kdf,
            )?;
            if ctx.json {
                output::json(&made);
            } else {
                println!("{}", made.id);
                eprintln!(
                    "Generated new ecdsa {} key{} in {}",
                    made.role,
                    made.gun
                        .as_ref()
                        .map(|g| format!(" for {g}"))
                        .unwrap_or_default(),
                    made.path.display()
                );
            }
        }
        KeyCommand::List {
            repo,
            role,
            retired,
        } => {
            let gun = parse_gun(repo.as_deref())?;
            let role = parse_role(role.as_deref())?;
            let keys = if retired {
                ops::list_retired(&ctx.dir, role.as_ref(), gun.as_ref())?
            } else {
                ops::list(&ctx.dir, role.as_ref(), gun.as_ref())?
            };
            if ctx.json {
                output::json(&keys);
            } else if keys.is_empty() {
                eprintln!("No keys in {}.", ctx.dir.private_dir().display());
            } else {
                // Full key IDs (what notary and docker print) in a table that fits 100 columns;
                // the repository and any unusual file go on an indented line below the key.
                let rows: Vec<(Vec<String>, Vec<String>)> = keys
                    .iter()
                    .map(|k| {
                        let row = vec![
                            k.id.clone(),
                            k.role.clone(),
                            k.algorithm
                                .map(|a| a.to_string())
                                .unwrap_or_else(|| "?".into()),
                            if k.encrypted { "yes" } else { "NO" }.into(),
                        ];
                        let mut details = Vec::new();
                        if let Some(g) = &k.gun {
                            details.push(format!("repository {g}"));
                        }
                        let file = k.path.display();
                        match (&k.problem, k.location) {
                            (Some(p), _) => details.push(format!("file {file} (unusable: {p})")),
                            (None, Location::Legacy) => {
                                details.push(format!("file {file} (legacy: run keytool migrate)"));
                            }
                            (None, Location::Nested) => {
                                details.push(format!("file {file} (nested: notary cannot load it)"))
                            }
                            (None, Location::Retired) => {
                                details.push(format!("file {file} (retired)"));
                            }
                            (None, Location::Flat) => {}
                        }
                        (row, details)
                    })
                    .collect();
                output::table_with_details(&["KEY ID", "ROLE", "ALG", "ENC"], &rows);
            }
        }
        KeyCommand::Import {
            files,
            role,
            repo,
            force,
        } => {
            check_iterations(&ctx.kdf)?;
            let options = ops::ImportOptions {
                role: parse_role(role.as_deref())?,
                gun: parse_gun(repo.as_deref())?,
                force,
            };
            let stdin_inputs = files.iter().filter(|f| f.as_os_str() == "-").count();
            if stdin_inputs > 1 || (stdin_inputs == 1 && g.passphrase_stdin) {
                return Err(Error::InvalidArgument {
                    what: "input",
                    reason: "standard input (-) can be read once: name it once, and not together with --passphrase-stdin".into(),
                });
            }
            let mut inputs = Vec::with_capacity(files.len());
            for f in &files {
                if f.as_os_str() == "-" {
                    // `key export` writes to standard output; `key import -` reads it back.
                    inputs.push(("standard input".to_owned(), read_stdin()?));
                } else {
                    inputs.push((f.display().to_string(), read_input(f)?));
                }
            }
            let done = ops::import(
                &ctx.dir,
                &chain(ctx, g.passphrase_file.as_deref()),
                &inputs,
                &options,
                &ctx.kdf,
            )?;
            if ctx.json {
                output::json(&done);
            } else {
                for k in &done {
                    eprintln!(
                        "{} {} key {}{} from {}{}",
                        match k.outcome {
                            ops::Outcome::Written => "Imported",
                            ops::Outcome::Unchanged => "Already present:",
                            ops::Outcome::Replaced => "Replaced",
                        },
                        k.role,
                        k.id,
                        k.gun
                            .as_ref()
                            .map(|g| format!(" ({g})"))
                            .unwrap_or_default(),
                        k.source,
                        if k.reencrypted {
                            ", encrypted in notary's format"
                        } else {
                            ""
                        },
                    );
                    println!("{}", k.id);
                }
            }
        }
        KeyCommand::Export {
            repo,
            key,
            output: out,
            force,
        } => {
            let selection = if let Some(g) = parse_gun(repo.as_deref())? {
                Selection::Repo(g)
            } else if key.is_empty() {
                Selection::All
            } else {
                Selection::Keys(
                    key.iter()
                        .map(|k| ops::resolve_key_id(&ctx.dir, k))
                        .collect::<Result<_>>()?,
                )
            };
            match out {
                Some(path) => {
                    let ids = ops::export_to_file(&ctx.dir, &selection, &path, force)?;
                    if ctx.json {
                        output::json(&serde_json::json!({ "file": path, "keys": ids }));
                    } else {
                        eprintln!("Exported {} key(s) to {}", ids.len(), path.display());
                    }
                }
                None => {
                    let (bundle, _) = ops::export(&ctx.dir, &selection)?;
                    output::emit(&bundle);
                }
            }
        }
        KeyCommand::Passwd {
            key_id,
            new_passphrase_file,
        } => {
            check_iterations(&ctx.kdf)?;
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let old = chain(ctx, g.passphrase_file.as_deref());
            let new = plain_chain(ctx, new_passphrase_file.as_deref());
            // The stored passphrase follows the key file (crash-safely, see ops::passwd_stored).
            let store = if ctx.generate_passphrase {
                Some(crate::passphrase_cmd::generated_store(ctx, false)?)
            } else {
                crate::passphrase_cmd::holder(ctx, &id)?
            };
            let how = if ctx.generate_passphrase {
                ops::NewPassphrase::Generate
            } else {
                ops::NewPassphrase::From(&new)
            };
            let path = ops::passwd_stored(&ctx.dir, &id, &old, how, store.as_deref(), &ctx.kdf)?;
            if ctx.generate_passphrase
                && let Some(s) = &store
            {
                crate::passphrase_cmd::generated_into(ctx, &id, s.as_ref())?;
            }
            if ctx.json {
                output::json(&serde_json::json!({ "id": id, "path": path }));
            } else {
                eprintln!("Successfully updated passphrase for key ID: {id}");
            }
        }
        KeyCommand::Remove { key_id, yes, force } => {
            let id = ops::resolve_key_id(&ctx.dir, &key_id)?;
            let confirm_plan = |plan: &ops::RemovalPlan| -> Result<()> {
                if yes {
                    return Ok(());
                }
                confirm(
                    ctx,
                    &format!(
                        "Remove {} key {}{}{}? It is moved to {} (docker and notary no longer use it; move it back to undo). (yes/no) ",
                        plan.role,
                        plan.id,
                        plan.gun
                            .as_ref()
                            .map(|g| format!(" of {g}"))
                            .unwrap_or_default(),
                        if plan.still_named_by.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", still {} (this machine can no longer sign with it)",
                                plan.still_named_by.join(", ")
                            )
                        },
                        ctx.dir.retired_dir().display()
                    ),
                )
            };
            let done = ops::remove(&ctx.dir, &id, force, &confirm_plan)?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "removed": done.id,
                    "path": done.path,
                    "retired_to": done.retired_to,
                    "still_named_by": done.still_named_by,
                }));
            } else {
                eprintln!(
                    "Retired {} key {} to {} (keytool key list --retired shows it; move it back to {} to undo; delete that file to purge the key for good).",
                    done.role,
                    done.id,
                    done.retired_to.display(),
                    ctx.dir.private_dir().display()
                );
                if !done.still_named_by.is_empty() {
                    eprintln!(
                        "Warning: it is still {}: this machine can no longer sign with it.",
                        done.still_named_by.join(", ")
                    );
                }
            }
        }
    }
    Ok(())
}

fn init(ctx: &Context, g: &Global, init: &InitArgs) -> Result<()> {
    check_iterations(&ctx.kdf)?;
    let args = &init.server;
    let gun: Gun = args.repo.parse()?;
    let source = chain(ctx, g.passphrase_file.as_deref());
    let Some(client) = server_client(ctx, args)? else {
        let done = ops::preseed(&ctx.dir, &source, &gun, &ctx.kdf)?;
        if ctx.json {
            output::json(&done);
            return Ok(());
        }
        print_keys(&done);
        eprintln!(
            "Keys for {gun} are ready in {}.\nNote: not published. docker push creates its own repository key for a repository the Notary server does not know yet; run keytool init --repo {gun} --server URL to publish these keys first.",
            ctx.dir.root().display()
        );
        return Ok(());
    };
    let url = client.url().to_owned();
    let done = ops::publish(
        &ctx.dir,
        &source,
        &gun,
        &client,
        init.local_snapshot,
        &ctx.kdf,
    )?;
    if ctx.json {
        output::json(&done);
        return Ok(());
    }
    print_keys(&done.keys);
    if let Some(id) = &done.root_certificate_id {
        println!("root cert    {id}   (the Root Key docker trust inspect shows)");
    }
    if done.already_published {
        eprintln!(
            "{gun} is already published on {url}; nothing was changed. This machine holds the keys it expects."
        );
    } else {
        eprintln!("Published {gun} on {url}: the next docker push signs with these keys.");
    }
    Ok(())
}

/// The Notary server from `--server` or `DOCKER_CONTENT_TRUST_SERVER` (none with `--offline`),
/// trusting `--tlscacert` or docker's `$DOCKER_CONFIG/tls/<host:port>/ca.crt`.
pub(crate) fn server_client(ctx: &Context, args: &ServerArgs) -> Result<Option<NotaryClient>> {
    connect(
        ctx,
        args.server.as_deref(),
        args.tlscacert.as_deref(),
        args.offline,
    )
}

/// The Notary server to use, if any: `server`, else `DOCKER_CONTENT_TRUST_SERVER` or the
/// configuration file's `server`, unless `offline`; trusting `tlscacert`, else
/// `KEYTOOL_TLSCACERT` or the file's `tlscacert`, else docker's CA file for that server.
fn connect(
    ctx: &Context,
    server: Option<&str>,
    tlscacert: Option<&Path>,
    offline: bool,
) -> Result<Option<NotaryClient>> {
    let url = match (server.map(str::to_owned), offline) {
        (_, true) => None,
        (Some(url), false) => Some(url.clone()),
        (None, false) => ctx
            .config
            .var("DOCKER_CONTENT_TRUST_SERVER")
            .map(|s| s.to_string_lossy().into_owned()),
    };
    let Some(url) = url else { return Ok(None) };
    let ca = server_ca(ctx, &url, tlscacert);
    let pinning = keystore::tuf::pinning::TrustPinning::load(
        None,
        |k| ctx.config.var(k),
        ctx.config.trust_pinning(),
    )?;
    NotaryClient::new(&url, ca.as_deref()).map(|c| Some(c.with_pinning(pinning)))
}

/// The CA file for `url`: `tlscacert`, else `KEYTOOL_TLSCACERT` or the configuration file's,
/// else docker's `$DOCKER_CONFIG/tls/<host:port>/ca.crt` when it exists.
pub(crate) fn server_ca(ctx: &Context, url: &str, tlscacert: Option<&Path>) -> Option<PathBuf> {
    tlscacert
        .map(Path::to_path_buf)
        .or_else(|| ctx.config.var("KEYTOOL_TLSCACERT").map(PathBuf::from))
        .or_else(|| notary::docker_ca_path(url, |k| std::env::var_os(k)))
}

fn status(ctx: &Context, args: &ServerArgs) -> Result<u8> {
    let gun: Gun = args.repo.parse()?;
    let client = server_client(ctx, args)?;
    // "Ready" means a passphrase source opens the targets key, tried without asking anyone.
    let sources = checking_chain(ctx, None);
    let st = ops::status(&ctx.dir, &gun, client.as_ref(), Some(&sources), &ctx.kdf)?;
    if ctx.json {
        output::json(&st);
    } else {
        println!("Repository    {}", st.gun);
        match (&st.server, st.published) {
            (Some(url), Some(true)) => println!("Server        {url} (published)"),
            (Some(url), _) => println!("Server        {url} (NOT published)"),
            (None, _) => {
                println!("Server        none asked (use --server or DOCKER_CONTENT_TRUST_SERVER)")
            }
        }
        let show =
            |what: &str, keys: &[ops::ExpectedKey], local: &[String], expires: &Option<String>| {
                if keys.is_empty() {
                    println!(
                        "{what:<13} local: {}",
                        if local.is_empty() {
                            "none".into()
                        } else {
                            local.join(", ")
                        }
                    );
                }
                for k in keys {
                    println!(
                        "{what:<13} {} {}{}",
                        k.key_id.as_deref().unwrap_or(&k.listed_id),
                        if k.local {
                            "(here)"
                        } else {
                            "(NOT on this machine)"
                        },
                        expires
                            .as_ref()
                            .map(|e| format!(", metadata expires {e}"))
                            .unwrap_or_default()
                    );
                }
            };
        show(
            "Root key",
            &st.expected_root_keys,
            &st.local_root_keys,
            &st.root_expires,
        );
        show(
            "Targets key",
            &st.expected_targets_keys,
            &st.local_targets_keys,
            &st.targets_expires,
        );
        if let Some(managed) = st.snapshot_server_managed {
            println!(
                "Snapshot key  {}",
                if managed {
                    "held by the server"
                } else {
                    "here"
                }
            );
        }
        match (&st.targets_passphrase, st.can_sign_targets) {
            (Some(from), _) => println!("Passphrase    the targets key opens with {from}"),
            (None, true) => println!("Passphrase    NO source opens the targets key (see below)"),
            (None, false) => {}
        }
        for p in &st.problems {
            println!("Note: {p}");
        }
        println!(
            "Ready: {}",
            if st.ready {
                "yes, this machine can sign with the targets key the server expects"
            } else {
                "NO"
            }
        );
    }
    Ok(if st.ready { 0 } else { 1 })
}

fn rotate(ctx: &Context, g: &Global, args: &RotateArgs) -> Result<u8> {
    check_iterations(&ctx.kdf)?;
    let role: Role = args.role.parse()?;
    let client = connect(
        ctx,
        args.server.as_deref(),
        args.tlscacert.as_deref(),
        args.offline,
    )?;
    let guns: Vec<Gun> = if let (true, Some(server)) = (args.all, &client) {
        let published = ops::published_repositories(&ctx.dir, server)?;
        for gun in &published.without_targets_key {
            eprintln!(
                "Skipped {gun}: published, but no targets key of it is in this trust directory (rotate it by name, keytool rotate --repo {gun}, to replace a lost key)."
            );
        }
        published.rotate
    } else if args.all {
        return Err(Error::InvalidArgument {
            what: "--all",
            reason: "--all rotates the repositories a Notary server has published; name it with --server, DOCKER_CONTENT_TRUST_SERVER or the configuration file's server".into(),
        });
    } else {
        args.repos
            .iter()
            .map(|r| r.parse())
            .collect::<Result<_>>()?
    };
    if args.resume {
        let mut pending = Vec::new();
        for gun in guns {
            if ops::pending_rotation(&ctx.dir, &gun)? {
                pending.push(gun);
            }
        }
        if pending.is_empty() {
            if ctx.json {
                // The same shape as a rotation's summary: one row per repository, here none.
                output::json(&Vec::<serde_json::Value>::new());
            } else {
                eprintln!("No interrupted rotation to resume.");
            }
            return Ok(0);
        }
        return rotate_each(ctx, g, args, &role, client.as_ref(), &pending);
    }
    if role == Role::Root && !args.yes && !args.dry_run {
        confirm(
            ctx,
            &format!(
                "Rotate the root key of {}? The new root.json is signed by the old and the new root key; the old root key is then retired, unless other repositories still use it. (yes/no) ",
                guns.iter().map(Gun::as_str).collect::<Vec<_>>().join(", ")
            ),
        )?;
    }
    rotate_each(ctx, g, args, &role, client.as_ref(), &guns)
}

/// Rotates each repository; one failure does not stop the others. One repository prints its
/// result (or fails with its error); several print a summary and exit 1 if any failed.
fn rotate_each(
    ctx: &Context,
    g: &Global,
    args: &RotateArgs,
    role: &Role,
    client: Option<&NotaryClient>,
    guns: &[Gun],
) -> Result<u8> {
    let key_file = args.key.as_deref().map(read_input).transpose()?;
    let source = chain(ctx, g.passphrase_file.as_deref());
    // Test-only fault point: abort at a step boundary. Rotation must survive a crash or SIGKILL
    // at any point anyway, so aborting on purpose there adds no risk.
    let fault = std::env::var("KEYTOOL_FAULT_POINT").ok();
    let on_step = |step: ops::Step| {
        if fault.as_deref() == Some(step.name()) {
            std::process::abort();
        }
    };
    // The stores the chain reads, for the old key's passphrase policy (managed stays managed).
    let keyring = crate::passphrase_cmd::keyring(ctx).ok().flatten();
    let vault = crate::passphrase_cmd::vault_store(ctx);
    let mut stores: Vec<&dyn keystore::passphrase::store::SecretStore> = Vec::new();
    if let Some(kr) = &keyring {
        stores.push(kr);
    }
    stores.push(&vault);
    let options = ops::RotateOptions {
        server: client,
        server_managed: args.server_managed,
        new_key_file: key_file.as_ref().map(|k| k.as_slice()),
        dry_run: args.dry_run,
        on_step: &on_step,
        stores: &stores,
        new_passphrase: if args.ask_new_passphrase {
            ops::NewKeyPassphrase::Ask
        } else {
            ops::NewKeyPassphrase::Keep
        },
    };
    if let [gun] = guns {
        let done = ops::rotate(&ctx.dir, &source, gun, role, &options, &ctx.kdf)?;
        print_rotated(ctx, &done);
        return Ok(0);
    }
    let bar = if !ctx.json && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(guns.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut rows = Vec::with_capacity(guns.len());
    let mut failed = 0usize;
    for gun in guns {
        bar.set_message(gun.to_string());
        match ops::rotate(&ctx.dir, &source, gun, role, &options, &ctx.kdf) {
            Ok(done) => {
                record_managed(&done);
                rows.push(serde_json::json!({"gun": gun, "ok": true, "result": done}));
            }
            Err(e) => {
                failed += 1;
                rows.push(serde_json::json!({
                    "gun": gun, "ok": false,
                    "error": {"code": e.code() as i32, "message": crate::messages::sentence(&e)},
                }));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if ctx.json {
        output::json(&rows);
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r["gun"].as_str().unwrap_or_default().to_owned(),
                    if r["ok"] == true {
                        "rotated".into()
                    } else {
                        "FAILED".into()
                    },
                    if r["ok"] == true {
                        r["result"]["new_key"]
                            .as_str()
                            .unwrap_or("(plan)")
                            .to_owned()
                    } else {
                        r["error"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    },
                ]
            })
            .collect();
        output::table(&["GUN", "RESULT", "NEW KEY / ERROR"], &table);
        eprintln!(
            "{} of {} repositories rotated.",
            guns.len() - failed,
            guns.len()
        );
    }
    Ok(u8::from(failed > 0))
}

/// A managed rotation's new passphrase, for the notes printed at the end (and --json).
fn record_managed(done: &ops::Rotated) {
    if let (Some(stored_in), Some(key_id)) = (&done.new_passphrase_stored_in, &done.new_key) {
        output::record_generated(keystore::passphrase::store::GeneratedPassphrase {
            key_id: key_id.clone(),
            role: done.role.clone(),
            gun: done.role.carries_gun().then(|| done.gun.clone()),
            stored_in: stored_in.clone(),
        });
    }
}

fn print_rotated(ctx: &Context, done: &ops::Rotated) {
    let (gun, role) = (&done.gun, &done.role);
    record_managed(done);

    if ctx.json {
        output::json(done);
        return;
    }
    let old = done
        .old_key
        .as_ref()
        .map_or("(none)".to_owned(), ToString::to_string);
    if done.dry_run {
        println!(
            "Plan for {gun}: replace the {role} key {old} with a new {}key",
            if done.server_managed {
                "server-held "
            } else {
                ""
            }
        );
        println!(
            "{}",
            if done.published {
                "Published: root.json gets version +1 naming the new key (and the metadata the new key signs is re-signed); only then is the old key retired."
            } else {
                "Not published: the key is replaced locally; no server is involved."
            }
        );
        if done.resumed {
            println!("An interrupted rotation is pending; running without --dry-run completes it.");
        }
        return;
    }
    let new = done
        .new_key
        .as_ref()
        .map_or(String::new(), ToString::to_string);
    println!("old {role} key  {old}");
    println!(
        "new {role} key  {new}{}",
        if done.server_managed {
            " (held by the server)"
        } else {
            ""
        }
    );
    if let Some(v) = done.root_version {
        eprintln!(
            "Published root.json v{v} for {gun}: docker and notary now use the new {role} key."
        );
    } else if done.published {
        eprintln!("The server already trusted the new key; finished the local clean-up.");
    } else {
        eprintln!("Rotated locally ({gun} is not published).");
    }
    match (&done.retired, role) {
        (Some(path), _) => eprintln!(
            "The old key is retired to {} (not used by docker or notary; keytool key list --retired).",
            path.display()
        ),
        (None, Role::Root) if !done.old_root_still_used_by.is_empty() => eprintln!(
            "The old root key stays in the trust directory: it is still the root key of {}.",
            done.old_root_still_used_by
                .iter()
                .map(Gun::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, _) => {}
    }
    if done.resumed {
        eprintln!("(This completed an interrupted rotation.)");
    }
}

fn print_keys(done: &ops::Preseeded) {
    let word = |p: ops::Provenance| match p {
        ops::Provenance::Reused => "reused ",
        ops::Provenance::Created => "created",
    };
    println!("root key     {} {}", word(done.root_provenance), done.root);
    println!(
        "targets key  {} {}",
        word(done.targets_provenance),
        done.targets
    );
}

fn migrate(ctx: &Context) -> Result<()> {
    let report = ops::migrate(&ctx.dir)?;
    if ctx.json {
        output::json(&report);
    } else {
        for m in &report.migrated {
            eprintln!("Migrated {} -> {}", m.from.display(), m.to.display());
        }
        for k in &report.kept {
            eprintln!("Kept {}: {}", k.path.display(), k.reason);
        }
        eprintln!(
            "{} migrated, {} kept.",
            report.migrated.len(),
            report.kept.len()
        );
    }
    if report.kept.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidKeyFile {
            file: keystore::error::FileLabel::none(),
            reason: format!(
                "{} legacy key file(s) could not be migrated and were left in place",
                report.kept.len()
            ),
        })
    }
}

/// Standard input, bounded as a key file is.
fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    read_bounded(std::io::stdin().lock(), Path::new("standard input"))
}

fn read_input(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    read_bounded(file, path)
}

/// Reads `reader` (named `path` in errors) up to [`MAX_IMPORT_FILE`] bytes; more is an error.
fn read_bounded(reader: impl Read, path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    reader
        .take(MAX_IMPORT_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source: e,
        })?;
    if buf.len() as u64 > MAX_IMPORT_FILE {
        return Err(Error::InvalidKeyFile {
            file: keystore::error::FileLabel::path(path),
            reason: format!("larger than {MAX_IMPORT_FILE} bytes"),
        });
    }
    Ok(buf)
}

pub(crate) fn confirm(ctx: &Context, question: &str) -> Result<()> {
    if !ctx.interactive || !std::io::stdin().is_terminal() {
        return Err(Error::InvalidArgument {
            what: "confirmation",
            reason: "no terminal to ask on; pass --yes to confirm".into(),
        });
    }
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|_| Error::Cancelled)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::Cancelled),
    }
}
