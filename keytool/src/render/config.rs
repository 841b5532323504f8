//! `config`: the configuration file in use and each setting's value and origin.

use crate::config::Origin;
use crate::output;

/// One setting as `keytool config` shows it.
#[derive(serde::Serialize)]
pub(crate) struct Setting {
    /// Its key in the configuration file.
    pub(crate) key: &'static str,
    /// Its environment variable.
    pub(crate) env: &'static str,
    /// Its value, if the environment or the file sets it.
    pub(crate) value: Option<String>,
    /// Where the value comes from.
    pub(crate) origin: Option<Origin>,
    /// What applies when neither the environment nor the file sets it.
    pub(crate) default: String,
}

/// The file (if any) and every setting.
pub(crate) fn settings(json: bool, file: Option<&str>, settings: &[Setting]) {
    if json {
        output::json(&serde_json::json!({ "file": file, "settings": settings }));
        return;
    }
    println!(
        "Configuration file  {}",
        file.unwrap_or("none (looked for $KEYTOOL_CONFIG, ~/.config/keytool/config.toml)")
    );
    for s in settings {
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
