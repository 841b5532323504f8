//! Command-line definitions (clap derive). No logic here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit codes, shown in `--help` and documented in the README.
pub(crate) const EXIT_CODES: &str = "\
Exit codes: 0 success, 1 failure (for status: not ready), 2 usage or invalid argument,
3 passphrase problem, 4 not found, 5 Notary server refused or unreachable, 70 internal error.

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

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, import, export and re-encrypt keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show the configuration file in use and where each setting's value comes from (flag,
    /// then environment, then configuration file, then built-in default)
    Config,
    /// Make sure a repository has a root key and a targets key (reusing existing ones), and
    /// publish its trust data to a Notary server when one is given
    Init(InitArgs),
    /// Replace a repository's targets, snapshot or root key; crash-safe (an interrupted rotation
    /// is completed by the next run). Published repositories need the server; an unpublished
    /// repository's targets key rotates locally
    Rotate(RotateArgs),
    /// Pre-flight: local keys, the keys the server expects, whether this machine can sign now
    /// (exit code 0 when ready, 1 when not)
    Status(ServerArgs),
    /// Convert notary 0.1-0.3 key layouts (root_keys/, tuf_keys/) to the flat private/ layout
    Migrate,
    /// Copy a repository's targets key (and with --with-root its root key) and the Notary CA
    /// into a docker config directory or a container; idempotent, never overwrites
    Provision(crate::sandbox::ProvisionArgs),
    /// Run docker push/pull with content trust inside a container (the trust sandbox)
    #[command(subcommand)]
    Sandbox(crate::sandbox::SandboxCommand),
    /// Explain, store, generate and remove key passphrases (OS keyring, vault)
    #[command(subcommand)]
    Passphrase(crate::passphrase_cmd::PassphraseCommand),
    /// The passphrase vault for machines without an OS keyring
    #[command(subcommand)]
    Vault(crate::passphrase_cmd::VaultCommand),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// Keep the snapshot key local (as notary init does) instead of on the server (as docker)
    #[arg(long, conflicts_with = "offline")]
    pub(crate) local_snapshot: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Repository (GUN); repeat to rotate several
    #[arg(long = "repo", value_name = "GUN", required_unless_present = "all")]
    pub(crate) repos: Vec<String>,
    /// Every repository with a local targets key that the server has published (or whose root
    /// this machine trusts); published ones without a local targets key are skipped
    #[arg(long, conflicts_with = "repos")]
    pub(crate) all: bool,
    /// Notary server [default: $DOCKER_CONTENT_TRUST_SERVER, the config file's server]
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub(crate) server: Option<String>,
    /// CA certificate of the server [default: $KEYTOOL_TLSCACERT, the config file's tlscacert,
    /// $DOCKER_CONFIG/tls/<host:port>/ca.crt]
    #[arg(long, value_name = "FILE")]
    pub(crate) tlscacert: Option<PathBuf>,
    /// Rotate locally only (unpublished repositories), even when DOCKER_CONTENT_TRUST_SERVER is set
    #[arg(long)]
    pub(crate) offline: bool,
    /// The role to rotate: targets, snapshot or root
    #[arg(long, default_value = "targets")]
    pub(crate) role: String,
    /// Snapshot only: have the server hold the (new) snapshot key, as docker sets up
    #[arg(long)]
    pub(crate) server_managed: bool,
    /// Adopt this key file as the new key (decrypted with its own passphrase)
    #[arg(long, value_name = "FILE", conflicts_with = "server_managed")]
    pub(crate) key: Option<PathBuf>,
    /// Rotate the root key without asking for confirmation
    #[arg(long)]
    pub(crate) yes: bool,
    /// Only print the plan: old key, whether it is published, what would change
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Only complete an interrupted rotation; do nothing if none is pending
    #[arg(long)]
    pub(crate) resume: bool,
    /// Take the new key's passphrase from --passphrase-file, the environment or a prompt even
    /// when the old key's passphrase is stored (by default the new key then gets a generated
    /// passphrase stored where the old one is)
    #[arg(long)]
    pub(crate) ask_new_passphrase: bool,
}

/// A repository and the Notary server that holds it.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Repository (GUN), e.g. sandboxregistry:5000/test/trusttest
    #[arg(long, value_name = "GUN")]
    pub(crate) repo: String,
    /// Notary server to publish to [default: $DOCKER_CONTENT_TRUST_SERVER, the config file's
    /// server]
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub(crate) server: Option<String>,
    /// CA certificate of the server [default: $KEYTOOL_TLSCACERT, the config file's tlscacert,
    /// $DOCKER_CONFIG/tls/<host:port>/ca.crt]
    #[arg(long, value_name = "FILE")]
    pub(crate) tlscacert: Option<PathBuf>,
    /// Only prepare the keys locally, even when DOCKER_CONTENT_TRUST_SERVER is set
    #[arg(long)]
    pub(crate) offline: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate an ECDSA P-256 key and print its ID
    Generate {
        /// root, targets, snapshot, targets/<name>, or a docker signer name
        #[arg(long)]
        role: String,
        /// Repository (GUN); required for targets and snapshot keys
        #[arg(long, value_name = "GUN")]
        repo: Option<String>,
    },
    /// List keys: ID, role, algorithm, encryption; the repository (and an unusual file) on the
    /// line below, within 100 columns (--json for every field)
    List {
        /// Only keys of this repository
        #[arg(long, value_name = "GUN")]
        repo: Option<String>,
        /// Only keys of this role
        #[arg(long)]
        role: Option<String>,
        /// List retired keys (replaced by rotations or import --force; kept in keytool-retired/,
        /// unseen by notary)
        #[arg(long)]
        retired: bool,
    },
    /// Import key files: notary export bundles, unencrypted keys, encrypted keys
    Import {
        /// Files to import; - reads standard input (e.g. from key export)
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Role for keys whose file has no role header
        #[arg(long)]
        role: Option<String>,
        /// Repository for targets/snapshot keys whose file has no gun header
        #[arg(long, value_name = "GUN")]
        repo: Option<String>,
        /// Replace a different file stored under the same key ID (the old one is moved to
        /// keytool-retired/)
        #[arg(long)]
        force: bool,
    },
    /// Export keys in notary's format (encrypted, with path headers)
    Export {
        /// Only the keys of this repository
        #[arg(long, value_name = "GUN", conflicts_with = "key")]
        repo: Option<String>,
        /// Only these keys (ID or unique prefix); repeatable
        #[arg(long, value_name = "ID")]
        key: Vec<String>,
        /// Write to FILE (mode 0600) instead of standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite FILE if it exists
        #[arg(long)]
        force: bool,
    },
    /// Re-encrypt a key under a new passphrase (and the current KDF setting)
    Passwd {
        /// Key ID or unique prefix
        key_id: String,
        /// Read the new passphrase from the first line of FILE (mode 0600)
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Take a key out of use: its file moves to keytool-retired/ (never deleted; move it back to
    /// undo). A key that a published repository still names is refused without --force
    Remove {
        /// Key ID or unique prefix
        key_id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Retire the key even though a published repository's trust data still names it (this
        /// machine can then no longer sign or rotate that repository with it)
        #[arg(long)]
        force: bool,
    },
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
