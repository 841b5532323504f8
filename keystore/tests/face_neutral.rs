//! The library speaks to every face (CLI, C, Go): its messages name no command-line flag and no
//! `keytool` command. Advice in a face's terms is that face's (the CLI's `messages.rs`).

use std::path::{Path, PathBuf};

use keystore::error::{Argument, FileLabel};
use keystore::{Error, KeyId, Role};

/// Whether `text` names a command-line flag or a keytool command.
fn names_the_cli(text: &str) -> bool {
    const COMMANDS: &[&str] = &[
        "keytool key ",
        "keytool vault init",
        "keytool vault status",
        "keytool vault change-master",
        "keytool passphrase ",
        "keytool rotate ",
        "keytool renew ",
        "keytool init ",
        "keytool status ",
        "keytool provision ",
        "keytool sandbox ",
        "keytool migrate",
        "keytool publish",
    ];
    let flag = text.match_indices("--").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let starts_a_word = before.is_none_or(|c| c == ' ' || c == '(' || c == '"');
        // `"--name"` or `"--iptables=false"`, a whole literal: an argument the library passes
        // to a program it runs (docker, dockerd), not advice to a person.
        let lone_argument = before == Some('"')
            && text[i..]
                .split('"')
                .next()
                .is_some_and(|arg| !arg.contains(char::is_whitespace));
        starts_a_word
            && !lone_argument
            && text[i + 2..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
    });
    flag || COMMANDS.iter().any(|c| text.contains(c))
}

/// Arguments the library passes to programs, not advice to a person: the shell line that puts
/// the sandbox's hosts file in place for its private docker daemon.
const DOCKER_ARGS: &[&str] = &["mount --bind \"$hosts\" /etc/hosts"];

/// The string literals of the non-test code of one source file, one per line they start on.
fn literals(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        if let Some(start) = line.find('"') {
            out.push((n + 1, line[start..].to_owned()));
        } else if code.starts_with(|c: char| c.is_ascii_lowercase() || c == '(')
            && line.ends_with('"')
        {
            // The continuation of a string broken with `\` at the end of a line.
            out.push((n + 1, code.to_owned()));
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_library_string_names_a_cli_flag_or_command() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (line, literal) in literals(&text) {
            if names_the_cli(&literal) && !DOCKER_ARGS.iter().any(|a| literal.contains(a)) {
                found.push(format!("{}:{line}: {literal}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn messages_of_typed_errors_name_no_cli_flag_or_command() {
    let id: KeyId = "a".repeat(64).parse().expect("key ID");
    let errors = [
        Error::InvalidArgument {
            what: Argument::Server,
            reason: "no server".into(),
        },
        Error::NoStore {
            vault: "/t/vault".into(),
        },
        Error::VaultNotFound {
            path: "/t/vault".into(),
        },
        Error::VaultExists {
            path: "/t/vault".into(),
        },
        Error::VaultMasterRequired {
            vault: FileLabel::none(),
            new: true,
        },
        Error::PassphraseRequired {
            key: FileLabel::text(id.to_string()),
            role: Role::Targets,
        },
        Error::NotStored {
            key_id: id.clone(),
            looked_in: vec!["the vault".into()],
        },
        Error::RotatedKeyMissing {
            key_id: id,
            dir: "/t/private".into(),
        },
    ];
    for e in errors {
        assert!(!names_the_cli(&e.to_string()), "{e}");
    }
    assert!(names_the_cli("run keytool vault init"));
    assert!(names_the_cli("pass --server"));
    assert!(!names_the_cli("a/b--c"));
}
