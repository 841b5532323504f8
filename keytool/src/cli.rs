//! The top of the command line (clap derive): [`Cli`], the options every command takes
//! ([`Global`]) and the [`Command`]s, whose arguments are defined with them in [`crate::cmd`].
//! No logic here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cmd;

/// Exit codes, shown in `--help` and documented in the README.
pub(crate) const EXIT_CODES: &str = "\
Exit codes: 0 success, 1 failure (for status: not ready), 2 usage or invalid argument,
3 passphrase problem, 4 not found, 5 Notary server refused, unreachable or not authorized, 70 internal error.

Passphrases come from, in order: --passphrase-file / --passphrase-fd / --passphrase-stdin,
then KEYTOOL_<ROLE>_PASSPHRASE, DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE /
DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE and NOTARY_<ROLE>_PASSPHRASE (docker's and notary's
role mapping), then the OS keyring (Secret Service, else kernel keyutils; the keychain on macOS;
KEYTOOL_KEYRING=none turns it off), then the vault (<trust dir>/keytool-vault.json; master passphrase from
--vault-passphrase-file, KEYTOOL_VAULT_PASSPHRASE or a prompt), then a terminal prompt (never
with --non-interactive, CI=true, or without a terminal); otherwise the command fails.
`keytool passphrase explain KEY_ID` shows which source would answer.";

/// Manage Docker Content Trust keys and passphrases, compatible with docker and notary.
#[derive(Debug, Parser)]
#[command(name = "keytool", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Configuration file [default: $KEYTOOL_CONFIG, ~/.config/keytool/config.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Trust directory [default: $KEYTOOL_TRUST_DIR, the config file's trust_dir,
    /// $DOCKER_CONFIG/trust, ~/.docker/trust]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) trust_dir: Option<PathBuf>,
    /// Print results as JSON
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Never prompt; fail with a clear error when a passphrase is missing
    /// [default: $KEYTOOL_NON_INTERACTIVE, the config file's non_interactive]
    #[arg(long, global = true)]
    pub(crate) non_interactive: bool,
    /// Show the chain of causes of an error
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Read the passphrase of the key being opened or created from the first line of FILE
    /// (mode 0600)
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the passphrase from file descriptor N (one line)
    #[arg(long, global = true, value_name = "N", conflicts_with_all = ["passphrase_file", "passphrase_stdin"])]
    pub(crate) passphrase_fd: Option<u32>,
    /// Read the passphrase from standard input (one line; a second line is the new passphrase of
    /// key passwd)
    #[arg(long, global = true, conflicts_with = "passphrase_file")]
    pub(crate) passphrase_stdin: bool,
    /// Read the vault's master passphrase from the first line of FILE (mode 0600)
    /// [default: $KEYTOOL_VAULT_PASSPHRASE_FILE, the config file's vault_passphrase_file]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) vault_passphrase_file: Option<PathBuf>,
    /// For new keys (key generate, init, rotate) and key passwd: a random passphrase (192 bits)
    /// kept in a durable store (Secret Service or the macOS keychain, else the vault; never kernel
    /// keyutils alone; see passphrase reveal to back it up); =false turns a configured
    /// default off [default: $KEYTOOL_GENERATE_PASSPHRASE, the config file's
    /// generate_passphrase, false]
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(crate) generate_passphrase: Option<bool>,
    /// PBKDF2 iterations for key files written [default: $KEYTOOL_KDF_ITERATIONS, the config
    /// file's kdf_iterations, 600000]
    #[arg(
        long,
        global = true,
        value_name = "N",
        conflicts_with = "notary_compat"
    )]
    pub(crate) kdf_iterations: Option<u32>,
    /// Write key files exactly as notary does (2048 PBKDF2 iterations) [default:
    /// $KEYTOOL_NOTARY_COMPAT, the config file's notary_compat]
    #[arg(long, global = true)]
    pub(crate) notary_compat: bool,
    /// Refuse key files asking for more PBKDF2 iterations than N [default:
    /// $KEYTOOL_MAX_KDF_ITERATIONS, the config file's max_kdf_iterations, 10000000]
    #[arg(long, global = true, value_name = "N")]
    pub(crate) max_kdf_iterations: Option<u32>,
}

/// The commands; each one's arguments and `run` live in its module under [`crate::cmd`].
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, import, export and re-encrypt keys
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Show the configuration file in use and where each setting's value comes from (flag,
    /// then environment, then configuration file, then built-in default)
    Config,
    /// Make sure a repository has a root key and a targets key (reusing existing ones), and
    /// publish its trust data to a Notary server when one is given
    Init(cmd::init::InitArgs),
    /// Replace a repository's targets, snapshot or root key; crash-safe (an interrupted rotation
    /// is completed by the next run). Published repositories need the server; an unpublished
    /// repository's targets key rotates locally
    Rotate(cmd::rotate::RotateArgs),
    /// Re-sign a published repository's root, targets and/or snapshot metadata with a new expiry
    /// (content unchanged; an expiring root certificate is renewed with the same key) and
    /// publish it; crash-safe (an interrupted renewal is completed by the next run)
    Renew(cmd::renew::RenewArgs),
    /// A repository's signers (delegations), as docker trust signer makes them
    #[command(subcommand)]
    Signer(cmd::signer::SignerCommand),
    /// Sign "tag T of GUN is manifest D of N bytes" directly, without a push, and publish
    Sign(cmd::sign::SignArgs),
    /// Remove a tag's signature (docker trust revoke) and publish
    Unsign(cmd::sign::UnsignArgs),
    /// Pre-flight: local keys, the keys the server expects, whether this machine can sign now
    /// (exit code 0 when ready, 1 when not)
    Status(cmd::status::StatusArgs),
    /// Write a verified snapshot of a repository's trust data (every root version, targets,
    /// delegations, snapshot, timestamp, and an inventory of signed tags) to a tar file; verify
    /// one offline with archive verify FILE
    Archive(cmd::archive::ArchiveArgs),
    /// Convert notary 0.1-0.3 key layouts (root_keys/, tuf_keys/) to the flat private/ layout;
    /// migrate sigstore moves a repository's signatures to cosign signatures in its registry
    Migrate(cmd::migrate::MigrateArgs),
    /// Copy a repository's targets key (and with --with-root its root key) and the Notary CA
    /// into a docker config directory or a container; idempotent, never overwrites
    Provision(cmd::provision::ProvisionArgs),
    /// The content trust sandbox: bring it up, play its walkthrough with keytool's keys, see
    /// its status, take it down; docker push/pull with content trust inside a container
    #[command(subcommand)]
    Sandbox(cmd::sandbox::SandboxCommand),
    /// Explain, store, generate and remove key passphrases (OS keyring, vault)
    #[command(subcommand)]
    Passphrase(cmd::passphrase::PassphraseCommand),
    /// The passphrase vault for machines without an OS keyring
    #[command(subcommand)]
    Vault(cmd::vault::VaultCommand),
    /// How keytool authenticates to Notary servers and registries that ask for a token
    /// (docker's registry credentials)
    #[command(subcommand)]
    Auth(cmd::auth::AuthCommand),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
