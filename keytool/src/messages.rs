//! How errors reach a person: an `Error:` sentence, a `Hint:` with a next step, an exit code.
//! Hints live here, not in the library, because they name flags and commands.

use keystore::error::NetworkProblem;
use keystore::passphrase::env_names_for;
use keystore::{Argument, Error, ErrorCode};

/// Exit code for each stable error code (documented in `--help` and the README).
pub(crate) fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::InvalidArgument => 2,
        ErrorCode::WrongPassphrase | ErrorCode::PassphraseRequired | ErrorCode::WeakPassphrase => 3,
        ErrorCode::NotFound => 4,
        ErrorCode::ServerRejected | ErrorCode::Network | ErrorCode::AuthenticationFailed => 5,
        ErrorCode::Internal => 70,
        ErrorCode::AlreadyExists
        | ErrorCode::InsecurePermissions
        | ErrorCode::Io
        | ErrorCode::InvalidKeyFile
        | ErrorCode::UnsupportedAlgorithm
        | ErrorCode::ExcessiveKdfCost
        | ErrorCode::InvalidMetadata
        | ErrorCode::Cancelled => 1,
    }
}

/// The `Error:` sentence: the library's clause with a capital letter and a full stop.
pub(crate) fn sentence(error: &Error) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// One concrete next step, when there is one.
pub(crate) fn hint(error: &Error) -> Option<String> {
    Some(match error {
        Error::VaultNotFound { .. } => {
            "Create the vault with \"keytool vault init\" (its master passphrase comes from KEYTOOL_VAULT_PASSPHRASE, --vault-passphrase-file or a prompt).".into()
        }
        Error::KeyNotMigrated { .. } => {
            "Run \"keytool migrate\": it moves notary 0.1-0.3 keys to private/<id>.key, where notary 0.7, docker and keytool use them; then run this command again (\"keytool key list\" shows where every key is).".into()
        }
        Error::KeyNotFound { .. } => {
            "Run \"keytool key list\" to see key IDs, or pass --trust-dir DIR.".into()
        }
        Error::VaultExists { .. } => {
            "The vault is already set up: \"keytool vault status\" shows it, \"keytool vault change-master\" changes its master passphrase.".into()
        }
        Error::NotStored { key_id, .. } => format!(
            "\"keytool passphrase explain {key_id}\" shows which source answers for this key."
        ),
        Error::NoDurableStore { .. } => "Create the vault: keytool vault init (its master passphrase then comes from KEYTOOL_VAULT_PASSPHRASE, --vault-passphrase-file or a prompt), or run in a session with a Secret Service (gnome-keyring, KWallet); or choose the new key's passphrase yourself (--passphrase-file, the environment).".into(),
        Error::AlreadyExists { .. } => {
            "Choose another name (key export -o also takes --force to replace the file; a passphrase backup never replaces one).".into()
        }
        Error::Symlink { .. } => "Replace the link with the file itself.".into(),
        Error::InsecureFile { path } => format!("Run: chmod 600 {}", path.display()),
        Error::Io { .. } => "Check that the path exists and that you may read and write it.".into(),
        Error::InvalidKeyFile { .. } => {
            "Is this a notary or docker key file? \"keytool key list\" shows which files keytool can read.".into()
        }
        Error::UnsupportedAlgorithm { .. } => "keytool reads PBES2 (PBKDF2 with AES-CBC), unencrypted PKCS#8 and legacy PEM keys; docker and notary write PBKDF2-SHA1 with AES-256-CBC.".into(),
        Error::ExcessiveKdfCost { iterations, .. } => {
            format!("If you trust this file, retry with --max-kdf-iterations {iterations}.")
        }
        Error::WrongPassphrase { source_name, .. } => {
            format!("Check the passphrase supplied by {source_name}.")
        }
        Error::VaultMasterRequired { new: true, .. } => {
            "Pass --new-vault-passphrase-file FILE (mode 0600), or run on a terminal without --non-interactive to type the new master passphrase.".into()
        }
        Error::VaultMasterRequired { new: false, .. } => {
            "Set KEYTOOL_VAULT_PASSPHRASE, pass --vault-passphrase-file FILE, or run on a terminal without --non-interactive.".into()
        }
        Error::PassphraseRequired { role, .. } => {
            let names = env_names_for(role);
            format!(
                "Set {} (or another of: {}), pass --passphrase-file FILE, --passphrase-fd N or --passphrase-stdin, store it with \"keytool passphrase set KEY_ID\" (OS keyring or vault), or run on a terminal without --non-interactive. \"keytool passphrase explain KEY_ID\" shows every source.",
                names[0],
                names[1..].join(", ")
            )
        }
        Error::NewPassphraseRequired { role, .. } => {
            let names = env_names_for(role);
            format!(
                "Set {} (or another of: {}), pass --passphrase-file FILE, --passphrase-fd N or --passphrase-stdin, pass --generate-passphrase to generate one and keep it in the OS keyring or the vault, or run on a terminal without --non-interactive to type one.",
                names[0],
                names[1..].join(", ")
            )
        }
        Error::SamePassphrase { .. } => {
            "Give the new passphrase with --new-passphrase-file FILE (mode 0600) or on a terminal, or pass --generate-passphrase; environment variables hold the current passphrase. To keep the passphrase on purpose (e.g. to apply a new --kdf-iterations), put it in --new-passphrase-file.".into()
        }
        Error::KeyInUse { .. } => {
            "To replace the key, rotate it (keytool rotate --repo GUN); the old key is then retired, not lost. To take it off this machine anyway, pass --force: it is retired to keytool-retired/ (keytool key list --retired), never deleted.".into()
        }
        Error::RotatedKeyMissing { .. } => {
            "\"keytool key list --retired\" shows the retired keys; once the key file is back, run keytool rotate --repo GUN --resume.".into()
        }
        Error::VaultLocked { .. } => {
            "Check KEYTOOL_VAULT_PASSPHRASE or --vault-passphrase-file; if the master passphrase is right, the vault file was modified: restore it from a backup.".into()
        }
        Error::InvalidVault { .. } => {
            "The vault file is damaged or not a keytool vault; restore it from a backup (nothing was changed).".into()
        }
        Error::ExcessiveVaultCost { .. } => {
            "The vault asks for more Argon2id work than keytool allows; it was not made by keytool, or was tampered with.".into()
        }
        Error::NoStore { .. } => {
            "Create the vault with \"keytool vault init\" (master passphrase from KEYTOOL_VAULT_PASSPHRASE, --vault-passphrase-file or a prompt), then run the command again.".into()
        }
        Error::Keyring { .. } => {
            "Set KEYTOOL_KEYRING=none to use the vault instead (keytool vault init), or on a headless machine run inside a session keyring: keyctl session - keytool ...".into()
        }
        Error::WeakPassphrase { .. } => {
            "Use at least 8 characters; a password manager can generate a strong passphrase.".into()
        }
        Error::ServerRejected { .. } => {
            "This error comes from the Notary server; use --verbose to see its answer.".into()
        }
        Error::Authentication { repository, .. } => format!(
            "\"keytool auth explain --repo {}\" shows where docker's credential for this registry comes from; log in with \"docker login REGISTRY\" (or fix the credential helper) and run this command again.",
            if repository.is_empty() { "GUN" } else { repository }
        ),
        Error::Network { problem, .. } => match problem {
            NetworkProblem::Timeout => {
                "Check that the Notary server is running and not paused (docker ps; docker unpause NAME), and that --server names its host and port.".into()
            }
            NetworkProblem::NotTls => {
                "--server must name the server's TLS port (notary-server's https:// address, e.g. https://HOST:4443), not a plain-HTTP port.".into()
            }
            NetworkProblem::UntrustedCertificate => {
                "Pass the server's CA certificate with --tlscacert FILE (or KEYTOOL_TLSCACERT, or put it in $DOCKER_CONFIG/tls/<host:port>/ca.crt, where docker looks).".into()
            }
            NetworkProblem::InvalidCertificate => {
                "Use in --server the host name the server's certificate was issued for, and check that the certificate has not expired.".into()
            }
            _ => "Check --server and the CA (--tlscacert, or $DOCKER_CONFIG/tls/<host:port>/ca.crt).".into(),
        },
        Error::InvalidArgument { what, .. } => match what {
            Argument::Repository => {
                "Pass --repo GUN, e.g. --repo sandboxregistry:5000/test/trusttest.".into()
            }
            Argument::Gun => {
                "A GUN is the image name docker signs, without tag or digest: an optional registry host[:port], then lower-case path components, e.g. sandboxregistry:5000/test/trusttest.".into()
            }
            Argument::RoleAndRepository => {
                "Give --repo only with targets and snapshot keys (key generate --role targets --repo GUN); root, delegation and signer keys serve every repository.".into()
            }
            Argument::Role => "Roles are root, targets, snapshot, targets/<name> or a docker signer name.".into(),
            Argument::Server => "Name the server with --server URL (or DOCKER_CONTENT_TRUST_SERVER, or the configuration file's server).".into(),
            Argument::TrustDir => "Pass --trust-dir DIR, or set KEYTOOL_TRUST_DIR or HOME.".into(),
            Argument::KeyId => "Run \"keytool key list\" to see key IDs.".into(),
            Argument::Confirmation => "Pass --yes.".into(),
            Argument::Expiry => "Give --expires as a duration such as 90d, 3y or 48h (for root at most 10y, its certificate's validity).".into(),
            Argument::RenewalJournal => "A renewal never creates or removes a key: moving the journal file out of keytool-journal/ and renewing again is safe.".into(),
            Argument::Signer => "\"keytool signer list --repo GUN\" shows the signers; \"keytool signer add NAME --repo GUN --generate\" adds one.".into(),
            Argument::Digest => "Give the manifest's digest and size as the registry has them (docker buildx imagetools inspect --raw IMAGE | sha256sum, wc -c), or pass --no-check for a manifest the registry does not hold yet.".into(),
            _ => "See keytool --help.".into(),
        },
        Error::Target { target, .. } if target.starts_with("registry ") => {
            "Pass --registry URL when this machine reaches the registry under another name, or --no-check to sign without asking it.".into()
        }
        Error::Target { .. } => {
            "Check that the container runs (docker ps, with the same DOCKER_HOST) and, for a push, that the repository is published (keytool init --repo GUN --server URL).".into()
        }
        Error::Sandbox { .. } => {
            "\"keytool sandbox status\" shows what runs; \"keytool sandbox down\" then \"keytool sandbox up\" starts over (docs/sandbox.md).".into()
        }
        Error::Conflict { .. } => {
            "Compare the two files; if the one in the target is stale, remove it there and run keytool provision again.".into()
        }
        Error::VerificationFailed { .. } => {
            "Do not use this image: the registry's content or tag is not what the repository's targets key signed. Push it again with keytool sandbox push.".into()
        }
        Error::Internal { .. } => format!(
            "This is a bug in keytool {}; rerun with --verbose and report it.",
            env!("CARGO_PKG_VERSION")
        ),
        Error::Cancelled => return None,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_codes() {
        let e = Error::KeyNotFound {
            key_id: "3f1a".into(),
            dir: "/t/private".into(),
        };
        assert_eq!(sentence(&e), "Key 3f1a was not found in /t/private.");
        assert_eq!(exit_code(e.code()), 4);
        let e = Error::PassphraseRequired {
            key: keystore::error::FileLabel::none(),
            role: keystore::Role::Targets,
        };
        assert_eq!(exit_code(e.code()), 3);
        assert!(
            hint(&e)
                .expect("hint")
                .contains("KEYTOOL_TARGETS_PASSPHRASE")
        );
    }

    /// The vault hint comes from the error's kind, not from a file name: a passphrase backup
    /// that happens to be named like the vault file gets the general advice.
    #[test]
    fn vault_hint_is_for_the_vault_only() {
        let vault = Error::VaultExists {
            path: "/t/keytool-vault.json".into(),
        };
        assert_eq!(exit_code(vault.code()), 1);
        assert!(
            hint(&vault)
                .expect("hint")
                .contains("\"keytool vault status\"")
        );
        let backup = Error::AlreadyExists {
            path: "/home/me/keytool-vault.json".into(),
        };
        assert_eq!(backup.code(), vault.code());
        assert_eq!(
            backup.to_string(),
            "/home/me/keytool-vault.json already exists"
        );
        assert!(!hint(&backup).expect("hint").contains("vault"));
    }
}
