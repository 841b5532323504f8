//! `keytool auth explain --repo GUN`: where the registry credential for a repository's Notary
//! server would come from (docker's configuration), without revealing it or running a helper.

use clap::Subcommand;
use keystore::notary::credentials::{self, CredentialOrigin};
use keystore::{Gun, Result};

use crate::context::Context;
use crate::output;

/// `keytool auth ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Say where the credential for GUN's registry would come from when a Notary server asks
    /// for a token ($DOCKER_CONFIG/config.json: credHelpers, credsStore, auths; else
    /// anonymous), without revealing it
    Explain {
        /// The repository (GUN); its registry host picks the credential
        #[arg(long = "repo", value_name = "GUN")]
        repo: String,
    },
}

/// Runs `auth ...`.
pub(crate) fn run(ctx: &Context, cmd: AuthCommand) -> Result<()> {
    match cmd {
        AuthCommand::Explain { repo } => {
            let repo: Gun = repo.parse()?;
            let dir = credentials::docker_config_dir(|k| ctx.config.var(k));
            let found = credentials::explain(&repo, dir.as_deref())?;
            let (source, detail, json) = match &found.origin {
                CredentialOrigin::ConfigFile {
                    path,
                    key,
                    identity_token,
                } => {
                    let kind = if *identity_token {
                        "identity token"
                    } else {
                        "user name and password"
                    };
                    (
                        "config-file",
                        format!("the auths entry {key:?} of {} ({kind})", path.display()),
                        serde_json::json!({"file": path, "entry": key, "kind": kind}),
                    )
                }
                CredentialOrigin::Helper {
                    program,
                    setting,
                    config,
                    installed,
                } => (
                    "helper",
                    format!(
                        "the credential helper {program} (named by {setting} in {}), asked with \"get\" and the registry on its standard input{}",
                        config.display(),
                        if *installed {
                            ""
                        } else {
                            "; it is NOT installed (not found on PATH): install it or change the configuration"
                        }
                    ),
                    serde_json::json!({"program": program, "setting": setting, "file": config, "installed": installed}),
                ),
                CredentialOrigin::Anonymous { config, exists } => (
                    "anonymous",
                    match config {
                        Some(p) if *exists => format!(
                            "none: {} has no entry for this registry; tokens are asked for anonymously",
                            p.display()
                        ),
                        Some(p) => format!(
                            "none: {} does not exist; tokens are asked for anonymously",
                            p.display()
                        ),
                        None => "none: neither DOCKER_CONFIG nor HOME is set; tokens are asked for anonymously".to_owned(),
                    },
                    serde_json::json!({"file": config}),
                ),
                _ => ("unknown", "unknown".to_owned(), serde_json::Value::Null),
            };
            if ctx.json {
                output::json(&serde_json::json!({
                    "repository": repo.as_str(),
                    "registry": found.registry,
                    "source": source,
                    "details": json,
                }));
            } else {
                output::emit(&format!(
                    "Repository {repo}: registry {}\nCredential: {detail}\n(Used only when the Notary server asks for a token; never printed or stored by keytool.)\n",
                    found.registry
                ));
            }
        }
    }
    Ok(())
}
