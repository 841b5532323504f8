//! The one error type of the crate, and its stable codes.
//!
//! [`Error`] carries context (key ID, role, path) and never a secret. [`ErrorCode`] is a fieldless
//! number that never changes once released: the CLI maps it to an exit code, and the C status
//! values and the Go constants are derived from its table.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::ids::{Gun, KeyId, Role};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Defines `ErrorCode` and its table ([`ErrorCode::ALL`], [`ErrorCode::name`]) from one list.
macro_rules! error_codes {
    ($(#[$doc:meta])* pub enum ErrorCode { $($(#[$vdoc:meta])* $name:ident = $n:literal,)* }) => {
        $(#[$doc])*
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($(#[$vdoc])* $name = $n,)* }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The name ("WrongPassphrase"); C spells it `KT_STATUS_WRONG_PASSPHRASE`, Go
            /// `CodeWrongPassphrase`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$name => stringify!($name)),* }
            }
        }
    };
}

error_codes! {
    /// Stable, numbered error kinds. Numbers are never renumbered or reused.
    ///
    /// The one definition of the table: the C ABI's `kt_status` repeats it number for number and
    /// name for name (checked by `ffi/tests/status_codes.rs`), and the Go constants are generated
    /// from it (`KT_UPDATE_GO=1 cargo test -p keystore-ffi --test go_bindings`). Deliberately
    /// exhaustive: a new code must be mapped by every face before it builds.
    pub enum ErrorCode {
        /// An argument was malformed (bad key ID, GUN, role, option value).
        InvalidArgument = 1,
        /// The key, file or repository does not exist.
        NotFound = 10,
        /// The target exists and would be overwritten.
        AlreadyExists = 11,
        /// A file is reachable through a symbolic link or has unsafe permissions.
        InsecurePermissions = 12,
        /// The operating system refused an I/O operation.
        Io = 13,
        /// A key file is malformed or hostile.
        InvalidKeyFile = 20,
        /// The key file uses an algorithm keytool does not support.
        UnsupportedAlgorithm = 21,
        /// The key file asks for more key-derivation work than allowed.
        ExcessiveKdfCost = 22,
        /// The passphrase does not decrypt the key.
        WrongPassphrase = 30,
        /// No source could supply a needed passphrase.
        PassphraseRequired = 31,
        /// The user cancelled (a prompt or a confirmation).
        Cancelled = 32,
        /// A new passphrase does not meet the rules.
        WeakPassphrase = 33,
        /// The Notary server answered with an error status.
        ServerRejected = 40,
        /// The Notary server could not be reached (connection, TLS, timeout).
        Network = 41,
        /// TUF metadata is malformed, badly signed, expired or rolled back.
        InvalidMetadata = 42,
        /// The Notary server wants a token and none granting the access was obtained (no
        /// credentials, refused credentials, or a token service that failed).
        AuthenticationFailed = 43,
        /// An unexpected failure: a bug.
        Internal = 90,
    }
}

/// Every error the keystore reports. Messages name the action and the object, never a secret.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument was malformed.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// What was invalid.
        what: Argument,
        /// Why, including the value received when it is not secret.
        reason: String,
    },
    /// No key with this ID is in the trust directory.
    #[error("key {key_id} was not found in {dir}")]
    KeyNotFound {
        /// The key ID or prefix asked for, or a description of the key that was looked for
        /// ("(the targets key of example.com/app)").
        key_id: String,
        /// The directory searched.
        dir: PathBuf,
    },
    /// The key is in a layout notary 0.7 and docker no longer read by ID (notary 0.1–0.3's
    /// `private/root_keys/`, `private/tuf_keys/<gun>/`, or another subdirectory of `private/`).
    #[error(
        "key {key_id} is at {path}, outside private/ itself, where notary 0.7 and docker do not load keys by ID; the trust directory needs migrating first"
    )]
    KeyNotMigrated {
        /// The key ID.
        key_id: String,
        /// Where the key file is.
        path: PathBuf,
    },
    /// The passphrase vault an operation needs does not exist.
    #[error("key (passphrase vault) was not found in {path}")]
    VaultNotFound {
        /// Where the vault file would be.
        path: PathBuf,
    },
    /// No store (OS keyring, vault) holds a passphrase of this key.
    #[error("no stored passphrase of key {key_id} was found (looked in {})", .looked_in.join(", "))]
    NotStored {
        /// The key ID.
        key_id: KeyId,
        /// The stores looked in.
        looked_in: Vec<String>,
    },
    /// A passphrase is to be stored and there is no store: no usable OS keyring and no vault.
    #[error(
        "the OS keyring (none) could not store a passphrase: no OS keyring can be used here and there is no vault ({}); create the vault, or run inside a session keyring (keyctl session -)",
        .vault.display()
    )]
    NoStore {
        /// Where the vault would be.
        vault: PathBuf,
    },
    /// A generated passphrase has no durable store to go to (only kernel keyutils, or none).
    #[error(
        "a generated passphrase must be kept in a durable store, and there is none here{}: kernel keyutils forgets its entries at reboot and after days unused, and there is no vault {}; nothing was changed",
        if .not_durable.is_empty() { String::new() } else { format!(" (not durable or not usable: {})", .not_durable.join(", ")) },
        .vault.display()
    )]
    NoDurableStore {
        /// The stores that were looked at and refused.
        not_durable: Vec<String>,
        /// Where the vault would be.
        vault: PathBuf,
    },
    /// A file or key that must not exist already does.
    #[error("{path} already exists")]
    AlreadyExists {
        /// The path that exists.
        path: PathBuf,
    },
    /// The passphrase vault is already set up: creating it again would replace it. Same code
    /// (and message) as [`Error::AlreadyExists`]; a face that has advice for this case matches it.
    #[error("{path} already exists")]
    VaultExists {
        /// The vault file.
        path: PathBuf,
    },
    /// A path is a symbolic link where a regular file or directory is required.
    #[error("{path} is a symbolic link; keytool never reads or writes key files through links")]
    Symlink {
        /// The offending path.
        path: PathBuf,
    },
    /// A secret file can be read or written by other users.
    #[error("{path} is accessible to other users; secret files must be private (mode 0600)")]
    InsecureFile {
        /// The file.
        path: PathBuf,
    },
    /// An I/O operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// The action, as a verb phrase ("read", "create directory").
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key file is malformed.
    #[error("invalid key file{file}: {reason}")]
    InvalidKeyFile {
        /// The file, when known.
        file: FileLabel,
        /// What is wrong.
        reason: String,
    },
    /// A key file uses an unsupported algorithm.
    #[error("unsupported key file{file}: {what}")]
    UnsupportedAlgorithm {
        /// The file, when known.
        file: FileLabel,
        /// What is unsupported.
        what: String,
    },
    /// A key file asks for too many PBKDF2 iterations.
    #[error("key file{file} asks for {iterations} PBKDF2 iterations; the limit is {limit}")]
    ExcessiveKdfCost {
        /// The file, when known.
        file: FileLabel,
        /// The iteration count in the file (saturated at `u64::MAX`).
        iterations: u64,
        /// The configured limit.
        limit: u32,
    },
    /// The passphrase does not open the key.
    #[error("cannot decrypt key{key} ({role}): wrong passphrase from {source_name}")]
    WrongPassphrase {
        /// The key, when known, formatted as `" <id>"`.
        key: FileLabel,
        /// The role (notary alias) of the key, when known.
        role: Role,
        /// Which source supplied the passphrase (never the passphrase itself).
        source_name: String,
    },
    /// No source supplied a passphrase.
    #[error("a passphrase is needed for the {role} key{key} and no source supplied one")]
    PassphraseRequired {
        /// The key, when known.
        key: FileLabel,
        /// The role (notary alias) of the key.
        role: Role,
    },
    /// No source supplied the master passphrase of the passphrase vault (the current one, or the
    /// new one when it is being changed or the vault created).
    #[error("a passphrase is needed for the {}vault master key{vault} and no source supplied one", if *.new { "new " } else { "" })]
    VaultMasterRequired {
        /// The vault file, when known.
        vault: FileLabel,
        /// Whether the new master passphrase was asked for.
        new: bool,
    },
    /// No source supplied the passphrase of a key about to be created (it has no ID the user
    /// could look up yet, so the message names its role and repository).
    #[error("a passphrase for the new {role} key{} is needed and no source supplied one; no key was created", gun.as_ref().map(|g| format!(" of {g}")).unwrap_or_default())]
    NewPassphraseRequired {
        /// The role of the key to be created.
        role: Role,
        /// Its repository, for repository keys.
        gun: Option<Gun>,
    },
    /// `key passwd` got the current passphrase as the new one, from a source that does not make
    /// that a deliberate choice (the same source, or an environment variable).
    #[error(
        "the new passphrase of key{key} (from {new_source}) is the same as the current one (from {old_source}); nothing was changed"
    )]
    SamePassphrase {
        /// The key.
        key: FileLabel,
        /// Where the current passphrase came from.
        old_source: String,
        /// Where the new passphrase came from.
        new_source: String,
    },
    /// A key that the cached, verified trust data of a repository still names was to be removed
    /// without `force`.
    #[error(
        "key {key_id} is still in use: {uses}; removing it would leave this machine unable to sign (nothing was changed)"
    )]
    KeyInUse {
        /// The key.
        key_id: KeyId,
        /// Who names it, e.g. "the targets key of example.com/app".
        uses: String,
    },
    /// The user cancelled a prompt or a confirmation.
    #[error("cancelled by the user")]
    Cancelled,
    /// The new passphrase breaks a rule.
    #[error("the new passphrase is not acceptable: {reason}")]
    WeakPassphrase {
        /// The rule that was broken.
        reason: String,
    },
    /// The Notary server refused a request.
    #[error("the Notary server refused {url} (HTTP {status}){}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    ServerRejected {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body, control characters removed.
        body: String,
    },
    /// The Notary server could not be reached.
    #[error("cannot reach the Notary server at {url}: {reason}")]
    Network {
        /// The server URL.
        url: String,
        /// What failed (connection, TLS, timeout), and which request was waiting.
        reason: String,
        /// The kind of failure, for the faces' advice.
        problem: NetworkProblem,
    },
    /// The Notary server asked for a token and none granting the access was obtained.
    #[error(
        "not authorized at {url}{}: {reason}",
        if repository.is_empty() { String::new() } else { format!(" for repository {repository} (scope {scope})") }
    )]
    Authentication {
        /// The server (or, for a credential helper that failed, the registry) asked.
        url: String,
        /// The repository (GUN); empty when the failure came before any request.
        repository: String,
        /// The token scope asked for, e.g. `repository:example.com/app:pull,push`.
        scope: String,
        /// What failed and where the credential came from (never the credential).
        reason: String,
    },
    /// TUF metadata cannot be trusted or parsed.
    #[error("invalid trust metadata: {reason}")]
    InvalidMetadata {
        /// What is wrong.
        reason: String,
    },
    /// The docker CLI failed, or a container or docker config directory could not be used.
    #[error("cannot {action} in {target}: {reason}")]
    Target {
        /// The target, e.g. "container trustsandbox" or "docker config directory /x".
        target: String,
        /// The action, as a verb phrase ("copy keys", "run docker push").
        action: String,
        /// Why (docker's last line of error output, bounded; never a passphrase).
        reason: String,
    },
    /// The content trust sandbox could not be brought up, played, inspected or taken down.
    #[error("cannot {action} in the sandbox: {reason}")]
    Sandbox {
        /// The action, as a verb phrase ("start a private docker daemon", "play step 4 (…)").
        action: String,
        /// Why.
        reason: String,
    },
    /// The target already holds a different file under a name keytool would write.
    #[error("{target} already holds a different {path}; keytool never overwrites it")]
    Conflict {
        /// The target, e.g. "container trustsandbox".
        target: String,
        /// The file in the target.
        path: String,
    },
    /// Content trust refused an image: unsigned, or content that does not match what is signed.
    #[error("content trust verification failed for {image}: {reason}")]
    VerificationFailed {
        /// The image reference.
        image: String,
        /// What docker reported.
        reason: String,
    },
    /// An interrupted rotation cannot be completed: the server accepted the new key, whose file
    /// is no longer in the trust directory.
    #[error(
        "the journal says the server accepted key {key_id}, but its file is missing from {}; the old key was kept. Restore the key file (from the retired keys or a backup) and resume the rotation",
        .dir.display()
    )]
    RotatedKeyMissing {
        /// The new key the server accepted.
        key_id: KeyId,
        /// The directory its file should be in.
        dir: PathBuf,
    },
    /// The passphrase vault could not be decrypted: wrong master passphrase, or altered file.
    #[error(
        "cannot open the passphrase vault {path}: the master passphrase is wrong or the file was altered"
    )]
    VaultLocked {
        /// The vault file.
        path: PathBuf,
    },
    /// The passphrase vault file is malformed (truncated, unknown version, bad encoding).
    #[error("invalid passphrase vault {path}: {reason}")]
    InvalidVault {
        /// The vault file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The vault's header asks for more Argon2id work than the documented caps allow.
    #[error("passphrase vault {path} asks for {what}; the limit is {limit}")]
    ExcessiveVaultCost {
        /// The vault file.
        path: PathBuf,
        /// The parameter and its value, e.g. "m_kib = 4294967295".
        what: String,
        /// The cap.
        limit: u64,
    },
    /// The OS keyring refused or failed an operation (never carries the secret).
    #[error("the OS keyring ({store}) could not {action}: {reason}")]
    Keyring {
        /// Which store ("Secret Service", "kernel keyutils").
        store: String,
        /// The action, as a verb phrase.
        action: &'static str,
        /// Why.
        reason: String,
    },
    /// A bug.
    #[error("internal error: {what}")]
    Internal {
        /// What went wrong.
        what: String,
    },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::KeyNotFound { .. }
            | Error::KeyNotMigrated { .. }
            | Error::VaultNotFound { .. }
            | Error::NotStored { .. } => ErrorCode::NotFound,
            Error::AlreadyExists { .. } | Error::VaultExists { .. } => ErrorCode::AlreadyExists,
            Error::Symlink { .. } | Error::InsecureFile { .. } => ErrorCode::InsecurePermissions,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorCode::NotFound
            }
            Error::Io { .. } => ErrorCode::Io,
            Error::InvalidKeyFile { .. } => ErrorCode::InvalidKeyFile,
            Error::UnsupportedAlgorithm { .. } => ErrorCode::UnsupportedAlgorithm,
            Error::ExcessiveKdfCost { .. } => ErrorCode::ExcessiveKdfCost,
            Error::WrongPassphrase { .. } => ErrorCode::WrongPassphrase,
            Error::PassphraseRequired { .. }
            | Error::VaultMasterRequired { .. }
            | Error::NewPassphraseRequired { .. }
            | Error::NoDurableStore { .. } => ErrorCode::PassphraseRequired,
            Error::SamePassphrase { .. } => ErrorCode::WeakPassphrase,
            Error::KeyInUse { .. } => ErrorCode::InvalidArgument,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::WeakPassphrase { .. } => ErrorCode::WeakPassphrase,
            Error::ServerRejected { .. } => ErrorCode::ServerRejected,
            Error::Network { .. } => ErrorCode::Network,
            Error::Authentication { .. } => ErrorCode::AuthenticationFailed,
            Error::InvalidMetadata { .. } => ErrorCode::InvalidMetadata,
            Error::Target { .. } | Error::Sandbox { .. } => ErrorCode::Io,
            Error::Conflict { .. } => ErrorCode::AlreadyExists,
            Error::VerificationFailed { .. } | Error::RotatedKeyMissing { .. } => {
                ErrorCode::InvalidMetadata
            }
            // New kinds map to existing codes, so that the C and Go faces keep their mapping.
            Error::VaultLocked { .. } => ErrorCode::WrongPassphrase,
            Error::InvalidVault { .. } => ErrorCode::InvalidKeyFile,
            Error::ExcessiveVaultCost { .. } => ErrorCode::ExcessiveKdfCost,
            Error::Keyring { .. } | Error::NoStore { .. } => ErrorCode::Io,
            Error::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Attaches a file name to file-format errors that do not have one yet.
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> Self {
        match &mut self {
            Error::InvalidKeyFile { file, .. }
            | Error::UnsupportedAlgorithm { file, .. }
            | Error::ExcessiveKdfCost { file, .. }
                if file.0.is_none() =>
            {
                *file = FileLabel::path(path);
            }
            _ => {}
        }
        self
    }

    /// Shorthand for an I/O error.
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Shorthand for a malformed key file with no file name yet.
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Error::InvalidKeyFile {
            file: FileLabel::none(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an unsupported algorithm with no file name yet.
    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        Error::UnsupportedAlgorithm {
            file: FileLabel::none(),
            what: what.into(),
        }
    }
}

/// What an [`Error::InvalidArgument`] is about. `Display` gives the noun the message starts with
/// ("invalid key ID: ..."); the faces choose their advice by variant.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Argument {
    /// A key ID or key ID prefix ("key ID").
    KeyId,
    /// A key that cannot take part in the operation, e.g. an unencrypted one ("key").
    Key,
    /// A key file given to an operation ("key file").
    KeyFile,
    /// A role name ("role").
    Role,
    /// A repository name that is malformed ("repository name (GUN)").
    Gun,
    /// The repository an operation needs: absent, or in the wrong state ("repository").
    Repository,
    /// A role and a repository that do not go together ("role and repository").
    RoleAndRepository,
    /// A passphrase that is not usable text ("passphrase").
    Passphrase,
    /// A passphrase file ("passphrase file").
    PassphraseFile,
    /// The PBKDF2 iteration count to write ("PBKDF2 iteration count").
    KdfIterations,
    /// A Notary server URL ("server URL").
    ServerUrl,
    /// The Notary server an operation needs: absent where it is required ("server").
    Server,
    /// A Notary server in a build without the Notary client ("Notary server").
    NotaryServer,
    /// A CA certificate file ("CA file").
    CaFile,
    /// A pinned CA of the notary configuration ("pinned CA").
    PinnedCa,
    /// The notary client configuration file ("notary configuration").
    NotaryConfig,
    /// A trust directory path ("trust directory").
    TrustDir,
    /// The journal of an interrupted rotation ("rotation journal").
    RotationJournal,
    /// The journal of an interrupted renewal ("renewal journal").
    RenewalJournal,
    /// A requested expiry (validity period) of metadata ("expiry").
    Expiry,
    /// A container name ("container name").
    Container,
    /// An image reference ("image").
    Image,
    /// A file to write ("output file").
    OutputFile,
    /// A configuration file ("configuration file").
    ConfigFile,
    /// A setting, named by its environment variable (e.g. "KEYTOOL_KEYRING").
    Setting(&'static str),
    /// A confirmation the caller must give for a destructive action ("confirmation").
    Confirmation,
    /// A signer (a delegation of a repository) that is malformed or absent ("signer").
    Signer,
    /// An image manifest digest and size ("digest").
    Digest,
    /// A call that is not allowed in this context, e.g. re-entering from a callback ("call").
    Call,
    /// An argument of one face, named as that face names it (a command-line flag or operand, a
    /// C parameter).
    Parameter(&'static str),
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Argument::KeyId => "key ID",
            Argument::Key => "key",
            Argument::KeyFile => "key file",
            Argument::Role => "role",
            Argument::Gun => "repository name (GUN)",
            Argument::Repository => "repository",
            Argument::RoleAndRepository => "role and repository",
            Argument::Passphrase => "passphrase",
            Argument::PassphraseFile => "passphrase file",
            Argument::KdfIterations => "PBKDF2 iteration count",
            Argument::ServerUrl => "server URL",
            Argument::Server => "server",
            Argument::NotaryServer => "Notary server",
            Argument::CaFile => "CA file",
            Argument::PinnedCa => "pinned CA",
            Argument::NotaryConfig => "notary configuration",
            Argument::TrustDir => "trust directory",
            Argument::RotationJournal => "rotation journal",
            Argument::RenewalJournal => "renewal journal",
            Argument::Expiry => "expiry",
            Argument::Container => "container name",
            Argument::Image => "image",
            Argument::OutputFile => "output file",
            Argument::ConfigFile => "configuration file",
            Argument::Setting(name) | Argument::Parameter(name) => name,
            Argument::Confirmation => "confirmation",
            Argument::Signer => "signer",
            Argument::Digest => "digest",
            Argument::Call => "call",
        })
    }
}

/// Why a Notary server could not be reached.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkProblem {
    /// Nothing answered in time (connection or answer).
    Timeout,
    /// The port does not speak TLS (a plain HTTP port, or another service).
    NotTls,
    /// The server's certificate is not issued by a CA trusted here.
    UntrustedCertificate,
    /// The server's certificate is not valid (for this name, or expired).
    InvalidCertificate,
    /// The host name does not resolve, or the connection was refused.
    Unreachable,
    /// Anything else.
    Other,
}

/// An optional name (file path or key ID) shown after a noun in messages, with a leading space.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileLabel(pub Option<String>);

impl FileLabel {
    /// No label.
    pub fn none() -> Self {
        FileLabel(None)
    }

    /// A label from a path.
    pub fn path(path: &Path) -> Self {
        FileLabel(Some(path.display().to_string()))
    }

    /// A label from any text.
    pub fn text(text: impl Into<String>) -> Self {
        FileLabel(Some(text.into()))
    }
}

impl fmt::Display for FileLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => write!(f, " {s}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ErrorCode::InvalidArgument as i32, 1);
        assert_eq!(ErrorCode::NotFound as i32, 10);
        assert_eq!(ErrorCode::InvalidKeyFile as i32, 20);
        assert_eq!(ErrorCode::ExcessiveKdfCost as i32, 22);
        assert_eq!(ErrorCode::WrongPassphrase as i32, 30);
        assert_eq!(ErrorCode::Internal as i32, 90);
        assert!(
            ErrorCode::ALL
                .windows(2)
                .all(|w| (w[0] as i32) < (w[1] as i32))
        );
        assert_eq!(ErrorCode::ExcessiveKdfCost.name(), "ExcessiveKdfCost");
    }

    #[test]
    fn in_file_names_the_file_once() {
        let e = Error::invalid("bad base64").in_file(Path::new("/a/b.key"));
        assert_eq!(e.to_string(), "invalid key file /a/b.key: bad base64");
        let e = e.in_file(Path::new("/other"));
        assert_eq!(e.to_string(), "invalid key file /a/b.key: bad base64");
    }
}
