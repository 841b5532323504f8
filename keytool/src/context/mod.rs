//! What every command runs with: the settings resolved from the command line, the environment
//! and the configuration file ([`Context`]), the Notary server the server options name
//! ([`server`]), and the passphrase sources and stores ([`passphrases`]).

pub(crate) mod passphrases;
pub(crate) mod server;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use keystore::key::pbes2;
use keystore::ops::KdfSettings;
use keystore::passphrase::vault::VaultStore;
use keystore::{Error, Result, TrustDir};

use crate::config::{Config, Origin};
use crate::prompt;

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
    /// Where the vault's master passphrase is read from, if from a file.
    pub(crate) vault_passphrase_file: Option<PathBuf>,
    /// `--passphrase-file`: the passphrase of the key being opened or created.
    pub(crate) passphrase_file: Option<PathBuf>,
    passphrase_fd: Option<u32>,
    /// `--passphrase-stdin`: standard input holds the passphrase.
    pub(crate) passphrase_stdin: bool,
    /// New keys get a generated passphrase kept in a durable store.
    pub(crate) generate_passphrase: bool,
    /// The configuration file and the environment: every setting's default.
    pub(crate) config: Config,
    /// The vault store, made on first use (see `passphrases::vault_store`).
    pub(crate) vault: OnceCell<Rc<VaultStore>>,
}

impl Context {
    /// Resolves every setting: loads the configuration file, checks the keyring choice, and
    /// finds the trust directory and the KDF settings.
    pub(crate) fn resolve(flags: &Flags<'_>) -> Result<Context> {
        let config = Config::load(flags.config, |k| std::env::var_os(k))?;
        let non_interactive =
            flags.non_interactive || config.flag("KEYTOOL_NON_INTERACTIVE")?.unwrap_or(false);
        // A misspelt keyring choice fails every command, before anything is read or written.
        keystore::passphrase::keyring::check_choice(|k| config.var(k))?;
        Ok(Context {
            dir: TrustDir::resolve(flags.trust_dir, |k| config.var(k))?,
            kdf: kdf_settings(flags, &config)?,
            json: flags.json,
            interactive: prompt::allowed(non_interactive),
            vault_passphrase_file: flags.vault_passphrase_file.map(Path::to_path_buf).or_else(
                || {
                    config
                        .var("KEYTOOL_VAULT_PASSPHRASE_FILE")
                        .map(PathBuf::from)
                },
            ),
            passphrase_file: flags.passphrase_file.map(Path::to_path_buf),
            passphrase_fd: flags.passphrase_fd,
            passphrase_stdin: flags.passphrase_stdin,
            generate_passphrase: match flags.generate_passphrase {
                Some(b) => b,
                None => config.flag("KEYTOOL_GENERATE_PASSPHRASE")?.unwrap_or(false),
            },
            config,
            vault: OnceCell::new(),
        })
    }
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

/// Refuses an iteration count to write of 0 or above the read limit (commands that write key
/// files check it before anything else).
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
