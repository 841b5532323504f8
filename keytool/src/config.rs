//! The configuration file: defaults for the settings that also have a flag and an environment
//! variable. Precedence is always flag, then environment, then this file, then the built-in
//! default. No secrets belong here, and none are accepted (unknown keys are an error).
//!
//! Found at `--config FILE`, else `$KEYTOOL_CONFIG`, else
//! `${XDG_CONFIG_HOME:-$HOME/.config}/keytool/config.toml` (optional).

use keystore::error::Argument;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use keystore::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where the file is named, when not given with `--config`.
pub(crate) const CONFIG_ENV: &str = "KEYTOOL_CONFIG";
/// Largest configuration file read.
const MAX_CONFIG_FILE: u64 = 64 << 10;

/// The settings a file may hold; each documents the environment variable it stands in for.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// KEYTOOL_TRUST_DIR.
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_dir: Option<PathBuf>,
    /// KEYTOOL_GENERATE_PASSPHRASE.
    #[serde(skip_serializing_if = "Option::is_none")]
    generate_passphrase: Option<bool>,
    /// KEYTOOL_NON_INTERACTIVE.
    #[serde(skip_serializing_if = "Option::is_none")]
    non_interactive: Option<bool>,
    /// KEYTOOL_KDF_ITERATIONS.
    #[serde(skip_serializing_if = "Option::is_none")]
    kdf_iterations: Option<u32>,
    /// KEYTOOL_NOTARY_COMPAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    notary_compat: Option<bool>,
    /// KEYTOOL_MAX_KDF_ITERATIONS.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_kdf_iterations: Option<u32>,
    /// KEYTOOL_KEYRING.
    #[serde(skip_serializing_if = "Option::is_none")]
    keyring: Option<String>,
    /// KEYTOOL_VAULT_PASSPHRASE_FILE.
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_passphrase_file: Option<PathBuf>,
    /// DOCKER_CONTENT_TRUST_SERVER.
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    /// KEYTOOL_TLSCACERT.
    #[serde(skip_serializing_if = "Option::is_none")]
    tlscacert: Option<PathBuf>,
    /// KEYTOOL_NOTARY_CONFIG: notary's client configuration, read for its `trust_pinning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    notary_config: Option<PathBuf>,
    /// Trust pinning of keytool's own (same shape as notary's `trust_pinning`); wins over
    /// notary's where both pin a GUN. No environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_pinning: Option<keystore::notary::TrustPinning>,
}

/// Every setting: its key in the file and the environment variable it is the default for.
pub(crate) const KEYS: [(&str, &str); 11] = [
    ("trust_dir", "KEYTOOL_TRUST_DIR"),
    ("generate_passphrase", "KEYTOOL_GENERATE_PASSPHRASE"),
    ("non_interactive", "KEYTOOL_NON_INTERACTIVE"),
    ("kdf_iterations", "KEYTOOL_KDF_ITERATIONS"),
    ("notary_compat", "KEYTOOL_NOTARY_COMPAT"),
    ("max_kdf_iterations", "KEYTOOL_MAX_KDF_ITERATIONS"),
    ("keyring", "KEYTOOL_KEYRING"),
    ("vault_passphrase_file", "KEYTOOL_VAULT_PASSPHRASE_FILE"),
    ("server", "DOCKER_CONTENT_TRUST_SERVER"),
    ("tlscacert", "KEYTOOL_TLSCACERT"),
    ("notary_config", "KEYTOOL_NOTARY_CONFIG"),
];

/// The loaded file (or none) and the process environment, answering "what is setting X".
#[derive(Debug, Default)]
pub(crate) struct Config {
    path: Option<PathBuf>,
    settings: Settings,
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Origin {
    /// The environment variable.
    Environment,
    /// The configuration file.
    File,
}

impl Config {
    /// Loads the file named by `explicit`, `$KEYTOOL_CONFIG` or the XDG default. A file named
    /// explicitly must exist; the default one is optional.
    pub(crate) fn load(
        explicit: Option<&Path>,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self> {
        let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
        let (path, required) = if let Some(p) = explicit {
            (p.to_path_buf(), true)
        } else if let Some(p) = nonempty(CONFIG_ENV) {
            (PathBuf::from(p), true)
        } else if let Some(base) = nonempty("XDG_CONFIG_HOME") {
            (PathBuf::from(base).join("keytool/config.toml"), false)
        } else if let Some(home) = nonempty("HOME") {
            (
                PathBuf::from(home).join(".config/keytool/config.toml"),
                false,
            )
        } else {
            return Ok(Config::default());
        };
        let text = match read_bounded(&path) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default());
            }
            Err(e) => return Err(bad(&path, format!("cannot read it: {e}"))),
        };
        let mut settings: Settings =
            toml::from_str(&text).map_err(|e| bad(&path, toml_problem(&text, &e)))?;
        if settings.notary_compat == Some(true) && settings.kdf_iterations.is_some() {
            return Err(bad(
                &path,
                "notary_compat = true and kdf_iterations contradict each other; keep one".into(),
            ));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut settings.trust_dir,
            &mut settings.vault_passphrase_file,
            &mut settings.tlscacert,
            &mut settings.notary_config,
        ]
        .into_iter()
        .flatten()
        {
            *p = anchored(p, base, &env);
        }
        if let Some(pins) = &mut settings.trust_pinning {
            for ca in pins.ca.values_mut() {
                *ca = anchored(ca, base, &env);
            }
        }
        Ok(Config {
            path: Some(path),
            settings,
        })
    }

    /// The `[trust_pinning]` table of the file, if any.
    pub(crate) fn trust_pinning(&self) -> Option<keystore::notary::TrustPinning> {
        self.settings.trust_pinning.clone()
    }

    /// The file in use, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's value for a setting, by environment variable name, as text.
    fn file_value(&self, env_name: &str) -> Option<OsString> {
        let s = &self.settings;
        let text = |v: &Option<String>| v.as_ref().map(OsString::from);
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| p.clone().into_os_string());
        let show = |v: Option<String>| v.map(OsString::from);
        match env_name {
            "KEYTOOL_TRUST_DIR" => path(&s.trust_dir),
            "KEYTOOL_GENERATE_PASSPHRASE" => show(s.generate_passphrase.map(|b| b.to_string())),
            "KEYTOOL_NON_INTERACTIVE" => show(s.non_interactive.map(|b| b.to_string())),
            "KEYTOOL_KDF_ITERATIONS" => show(s.kdf_iterations.map(|n| n.to_string())),
            "KEYTOOL_NOTARY_COMPAT" => show(s.notary_compat.map(|b| b.to_string())),
            "KEYTOOL_MAX_KDF_ITERATIONS" => show(s.max_kdf_iterations.map(|n| n.to_string())),
            "KEYTOOL_KEYRING" => text(&s.keyring),
            "KEYTOOL_VAULT_PASSPHRASE_FILE" => path(&s.vault_passphrase_file),
            "DOCKER_CONTENT_TRUST_SERVER" => text(&s.server),
            "KEYTOOL_TLSCACERT" => path(&s.tlscacert),
            "KEYTOOL_NOTARY_CONFIG" => path(&s.notary_config),
            _ => None,
        }
    }

    /// An environment variable, or the file's default for it: what every setting lookup goes
    /// through. Any other variable is the process environment's.
    pub(crate) fn var(&self, name: &str) -> Option<OsString> {
        self.lookup(name).map(|(v, _)| v)
    }

    /// Like [`Config::var`], also saying where the value came from.
    pub(crate) fn lookup(&self, name: &str) -> Option<(OsString, Origin)> {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v, Origin::Environment))
            .or_else(|| self.file_value(name).map(|v| (v, Origin::File)))
    }

    /// A yes/no setting: `true/false`, `yes/no`, `on/off`, `1/0` (any case).
    pub(crate) fn flag(&self, name: &'static str) -> Result<Option<bool>> {
        let Some((v, origin)) = self.lookup(name) else {
            return Ok(None);
        };
        match v.to_string_lossy().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(self.bad_value(name, origin, "is not a yes/no value; use true or false")),
        }
    }

    /// A number setting.
    pub(crate) fn number(&self, name: &'static str) -> Result<Option<u32>> {
        let Some((v, origin)) = self.lookup(name) else {
            return Ok(None);
        };
        v.to_string_lossy()
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| self.bad_value(name, origin, "is not a whole number"))
    }

    /// A bad value of setting `name`, named by where it was set, never shown (a passphrase set
    /// in the wrong variable would otherwise be printed).
    fn bad_value(&self, name: &'static str, origin: Origin, problem: &str) -> Error {
        let from = match (origin, &self.path) {
            (Origin::File, Some(path)) => {
                let key = KEYS
                    .iter()
                    .find(|(_, env)| *env == name)
                    .map_or(name, |(key, _)| key);
                format!("key {key} of {}", path.display())
            }
            _ => "the environment".into(),
        };
        Error::InvalidArgument {
            what: Argument::Setting(name),
            reason: format!("the value set in {from} {problem} (the value is not shown)"),
        }
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::InvalidArgument {
        what: Argument::ConfigFile,
        reason: format!("{}: {reason}", path.display()),
    }
}

/// The parser's problem with its line number and key, never the value (it could be a secret
/// pasted by mistake): serde's "invalid type: string \"…\", expected u32" keeps only what was
/// expected, and any other message that holds the line's value is replaced by a generic one.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message();
    let Some(span) = e.span() else {
        return without_values(message, text.lines().map(value_of));
    };
    let start = span.start.min(text.len());
    let number = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(number - 1).unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches(['"', '\'']))
        .filter(|k| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        });
    let problem = without_values(message, [value_of(line)]);
    match key {
        Some(key) => format!("line {number}, key {key}: {problem}"),
        None => format!("line {number}: {problem}"),
    }
}

/// The text a line gives as a value: after the first `=`, or the whole line (a table header's
/// name) when it has none.
fn value_of(line: &str) -> &str {
    line.split_once('=')
        .map_or(line, |(_, v)| v)
        .trim()
        .trim_matches(['"', '\'', '[', ']'])
        .trim()
}

/// `message` with the value it quotes taken out: serde's "invalid type: …, expected X" and
/// "invalid value: …, expected X" become "wrong type/invalid value, expected X"; any other
/// message holding one of `values` is replaced.
fn without_values<'a>(message: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let first = message.lines().next().unwrap_or_default();
    let rewritten = [
        ("invalid type: ", "wrong type"),
        ("invalid value: ", "invalid value"),
        ("invalid length ", "invalid length"),
    ]
    .iter()
    .find_map(|(prefix, what)| {
        first
            .strip_prefix(prefix)
            .map(|rest| match rest.rsplit_once(", expected ") {
                Some((_, expected)) => {
                    format!("{what}, expected {expected} (the value is not shown)")
                }
                None => format!("{what} (the value is not shown)"),
            })
    });
    let problem = rewritten.unwrap_or_else(|| message.trim().replace('\n', "; "));
    if values
        .into_iter()
        .any(|v| !v.is_empty() && problem.contains(v))
    {
        "not a valid setting (the value is not shown)".into()
    } else {
        problem
    }
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_CONFIG_FILE} bytes"
        )));
    }
    Ok(text)
}

/// `~/x` is under `$HOME`; a relative path is relative to the file's directory.
fn anchored(p: &Path, base: &Path, env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = env("HOME").filter(|h| !h.is_empty())
    {
        return PathBuf::from(home).join(rest);
    }
    if p.is_relative() {
        base.join(p)
    } else {
        p.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.into())
    }

    #[test]
    fn default_location_is_optional_and_explicit_one_required() {
        let tmp = tempfile::tempdir().expect("tmp");
        let home = tmp.path().display().to_string();
        let c = Config::load(None, env_of(&[("HOME", &home)])).expect("no file is fine");
        assert!(c.path().is_none());
        let missing = tmp.path().join("nope.toml");
        let err = Config::load(Some(&missing), env_of(&[])).expect_err("named file must exist");
        assert!(err.to_string().contains("nope.toml"), "{err}");
    }

    #[test]
    fn values_paths_and_errors() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("keytool");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("config.toml");
        std::fs::write(
            &file,
            "generate_passphrase = true\nkdf_iterations = 300000\ntrust_dir = \"trust\"\ntlscacert = \"~/ca.crt\"\n",
        )
        .expect("write");
        let home = tmp.path().display().to_string();
        let c = Config::load(None, env_of(&[("XDG_CONFIG_HOME", &home), ("HOME", "/h")]))
            .expect("load");
        assert_eq!(c.path(), Some(file.as_path()));
        assert_eq!(
            c.file_value("KEYTOOL_TRUST_DIR"),
            Some(dir.join("trust").into_os_string())
        );
        assert_eq!(c.file_value("KEYTOOL_TLSCACERT"), Some("/h/ca.crt".into()));
        assert_eq!(
            c.file_value("KEYTOOL_GENERATE_PASSPHRASE"),
            Some("true".into())
        );
        assert_eq!(
            c.file_value("KEYTOOL_KDF_ITERATIONS"),
            Some("300000".into())
        );
        assert_eq!(c.file_value("KEYTOOL_KEYRING"), None);

        for (text, expect) in [
            (
                "passphrase = \"hunter2\"\n",
                "line 1, key passphrase: unknown field `passphrase`",
            ),
            (
                "kdf_iterations = \"many\"\n",
                "line 1, key kdf_iterations: wrong type, expected u32",
            ),
            ("notary_compat = true\nkdf_iterations = 5\n", "contradict"),
            (
                "generate_passphrase = \n",
                "line 1, key generate_passphrase: string values must be quoted",
            ),
        ] {
            std::fs::write(&file, text).expect("write");
            let err = Config::load(Some(&file), env_of(&[])).expect_err(text);
            let msg = err.to_string();
            assert!(msg.contains(expect) && msg.contains("config.toml"), "{msg}");
            assert!(!msg.contains("hunter2"), "values are not echoed: {msg}");
        }
    }

    #[test]
    fn errors_name_file_line_and_key_but_never_the_value() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("config.toml");
        let secret = "hunter2-canary-Secret";
        for (text, line, key) in [
            (
                format!("kdf_iterations = \"{secret}\"\n"),
                1,
                Some("kdf_iterations"),
            ),
            (
                format!("keyring = \"none\"\nnon_interactive = \"{secret}\"\n"),
                2,
                Some("non_interactive"),
            ),
            (
                format!("generate_passphrase = '{secret}'\n"),
                1,
                Some("generate_passphrase"),
            ),
            (
                format!("max_kdf_iterations = -{secret}\n"),
                1,
                Some("max_kdf_iterations"),
            ),
            (format!("server = {secret}\n"), 1, Some("server")),
            (format!("server = \"{secret}\n"), 1, Some("server")),
            (
                format!("trust_dir = [\"{secret}\"]\n"),
                1,
                Some("trust_dir"),
            ),
            (
                format!("keyring = {{ x = \"{secret}\" }}\n"),
                1,
                Some("keyring"),
            ),
            (format!("keyring = \"none\"\n\n{secret}\n"), 3, None),
            (format!("[{secret}]\n"), 1, None),
            (
                format!("kdf_iterations = 5\nkdf_iterations = \"{secret}\"\n"),
                2,
                Some("kdf_iterations"),
            ),
        ] {
            std::fs::write(&file, &text).expect("write");
            let msg = Config::load(Some(&file), env_of(&[]))
                .expect_err(&text)
                .to_string();
            assert!(!msg.contains("hunter2"), "the value is echoed: {msg}");
            assert!(msg.contains(&file.display().to_string()), "{msg}");
            let at = match key {
                Some(key) => format!("line {line}, key {key}: "),
                None => format!("line {line}: "),
            };
            assert!(msg.contains(&at), "{at:?} not in {msg}");
        }
    }

    #[test]
    fn bad_flags_and_numbers_are_not_echoed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("config.toml");
        std::fs::write(&file, "kdf_iterations = 5\n").expect("write");
        let c = Config::load(Some(&file), env_of(&[])).expect("load");
        let err = c.bad_value(
            "KEYTOOL_KDF_ITERATIONS",
            Origin::File,
            "is not a whole number",
        );
        let msg = err.to_string();
        assert!(
            msg.contains("key kdf_iterations of") && msg.contains("config.toml"),
            "{msg}"
        );
        let err = c.bad_value("KEYTOOL_GENERATE_PASSPHRASE", Origin::Environment, "is bad");
        assert!(err.to_string().contains("set in the environment"), "{err}");
    }
}
