//! `keytool config`: the configuration file in use and where each setting's value comes from.

use keystore::TrustDir;
use keystore::ops::KdfSettings;

use crate::config;
use crate::context::Context;
use crate::render;
use crate::render::config::Setting;

/// Runs `config`.
pub(crate) fn run(ctx: &Context) {
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
    render::config::settings(ctx.json, file.as_deref(), &settings);
}
