//! What every command runs with: the settings resolved from the command line, the environment
//! and the configuration file ([`Context`]), the Notary server the server options name
//! ([`server`]), and where passphrases come from and go to (keystore's [`Policy`], given this
//! face's own sources: `--passphrase-file`/`-fd`/`-stdin` and the terminal prompt).

pub(crate) mod server;

use keystore::error::Argument;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use keystore::ops::KdfSettings;
use keystore::passphrase::policy::{Failing, Policy};
use keystore::passphrase::{FileSource, LineSource, PassphraseSource};
use keystore::{Error, Result, TrustDir};

use crate::config::{Config, Origin};
use crate::output;
use crate::prompt::{self, TtyPrompt};

/// The global options as given on the command line, before the environment and the
/// configuration file fill in what is missing.
pub(crate) struct Flags<'a> {
    /// `--config`.
    pub(crate) config: Option<&'a Path>,
    /// `--trust-dir`.
    pub(crate) trust_dir: Option<&'a Path>,
    /// `--json`.
    pub(crate) json: bool,
    /// `--non-interactive`.
    pub(crate) non_interactive: bool,
    /// `--passphrase-file`.
    pub(crate) passphrase_file: Option<&'a Path>,
    /// `--passphrase-fd`.
    pub(crate) passphrase_fd: Option<u32>,
    /// `--passphrase-stdin`.
    pub(crate) passphrase_stdin: bool,
    /// `--vault-passphrase-file`.
    pub(crate) vault_passphrase_file: Option<&'a Path>,
    /// `--generate-passphrase[=BOOL]`.
    pub(crate) generate_passphrase: Option<bool>,
    /// `--kdf-iterations`.
    pub(crate) kdf_iterations: Option<u32>,
    /// `--notary-compat`.
    pub(crate) notary_compat: bool,
    /// `--max-kdf-iterations`.
    pub(crate) max_kdf_iterations: Option<u32>,
}

/// The settings a command runs with: flags, then the environment, then the configuration file.
pub(crate) struct Context {
    /// The trust directory.
    pub(crate) dir: TrustDir,
    /// PBKDF2 settings for key files written and read.
    pub(crate) kdf: KdfSettings,
    /// Print results as JSON.
    pub(crate) json: bool,
    /// Whether a terminal prompt may be used.
    pub(crate) interactive: bool,
    /// `--passphrase-stdin`: standard input holds the passphrase.
    pub(crate) passphrase_stdin: bool,
    /// The configuration file and the environment: every setting's default.
    pub(crate) config: Rc<Config>,
    /// Where passphrases come from and go to: keystore's one documented order, with this
    /// command's explicit source and (when allowed) the terminal prompt.
    pub(crate) passphrases: Policy,
}

impl Context {
    /// Resolves every setting: loads the configuration file, checks the keyring choice, and
    /// finds the trust directory and the KDF settings.
    pub(crate) fn resolve(flags: &Flags<'_>) -> Result<Context> {
        let config = Config::load(flags.config, |k| std::env::var_os(k))?;
        let non_interactive =
            flags.non_interactive || config.flag("KEYTOOL_NON_INTERACTIVE")?.unwrap_or(false);
        let config = Rc::new(config);
        let dir = TrustDir::resolve(flags.trust_dir, |k| config.var(k))?;
        let vault_passphrase_file =
            flags
                .vault_passphrase_file
                .map(Path::to_path_buf)
                .or_else(|| {
                    config
                        .var("KEYTOOL_VAULT_PASSPHRASE_FILE")
                        .map(PathBuf::from)
                });
        let generate = match flags.generate_passphrase {
            Some(b) => b,
            None => config.flag("KEYTOOL_GENERATE_PASSPHRASE")?.unwrap_or(false),
        };
        let interactive = prompt::allowed(non_interactive);
        // A misspelt keyring choice fails every command, before anything is read or written.
        let settings = Rc::clone(&config);
        let mut passphrases = Policy::new(dir.clone(), move |k| settings.var(k))?
            .with_environment()
            .with_vault_master_file(vault_passphrase_file);
        if let Some(explicit) = explicit_source(flags) {
            passphrases = passphrases.with_explicit_each(explicit);
        }
        if interactive {
            passphrases = passphrases.with_prompt(TtyPrompt);
        }
        if generate {
            passphrases = passphrases.with_generated(output::record_generated);
        }
        Ok(Context {
            kdf: kdf_settings(flags, &config)?,
            dir,
            json: flags.json,
            interactive,
            passphrase_stdin: flags.passphrase_stdin,
            config,
            passphrases,
        })
    }
}

/// `--passphrase-file`, else `--passphrase-fd`, else `--passphrase-stdin` (read only when the
/// flag is given, one line per chain: the current passphrase, then the new one of `key passwd`).
fn explicit_source(flags: &Flags<'_>) -> Option<impl Fn() -> Box<dyn PassphraseSource> + 'static> {
    let file = flags.passphrase_file.map(Path::to_path_buf);
    let (fd, stdin) = (flags.passphrase_fd, flags.passphrase_stdin);
    (file.is_some() || fd.is_some() || stdin).then_some(move || -> Box<dyn PassphraseSource> {
        if let Some(f) = &file {
            return Box::new(FileSource::new(f));
        }
        if let Some(fd) = fd {
            let path = PathBuf::from(format!("/dev/fd/{fd}"));
            return match std::fs::File::open(&path) {
                Ok(f) => Box::new(LineSource::new(
                    Box::new(f),
                    format!("file descriptor {fd}"),
                )),
                Err(e) => Box::new(Failing::new(Error::Io {
                    action: "read",
                    path,
                    source: e,
                })),
            };
        }
        Box::new(LineSource::new(
            Box::new(std::io::stdin()),
            "standard input",
        ))
    })
}

/// PBKDF2 settings: flags, then the environment, then the configuration file. Where the
/// iteration count and notary compatibility are both set, the one from the stronger source wins;
/// both from the same source contradict each other.
fn kdf_settings(flags: &Flags<'_>, config: &Config) -> Result<KdfSettings> {
    let mut kdf = KdfSettings::default();
    if let Some(n) = flags.max_kdf_iterations.map_or_else(
        || config.number("KEYTOOL_MAX_KDF_ITERATIONS"),
        |n| Ok(Some(n)),
    )? {
        kdf.max_iterations = n;
    }
    if let Some(n) = flags.kdf_iterations {
        kdf.iterations = n;
        return Ok(kdf);
    }
    if flags.notary_compat {
        kdf.iterations = KdfSettings::NOTARY_ITERATIONS;
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
                what: Argument::Setting("KEYTOOL_KDF_ITERATIONS"),
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
        (_, Some(_)) => kdf.iterations = KdfSettings::NOTARY_ITERATIONS,
        (None, None) => {}
    }
    Ok(kdf)
}

/// Refuses an iteration count to write of 0 or above the read limit (commands that write key
/// files check it before anything else).
pub(crate) fn check_iterations(kdf: &KdfSettings) -> Result<()> {
    if kdf.iterations == 0 || kdf.iterations > kdf.max_iterations {
        return Err(Error::InvalidArgument {
            what: Argument::KdfIterations,
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
