//! `passphrase explain|set|generate|remove|reveal` and `vault status`: sources in order, where a
//! passphrase is stored, the vault's parameters and entries (never a passphrase, except what
//! `passphrase reveal` writes itself).

use std::path::Path;
use std::time::Duration;

use keystore::KeyId;
use keystore::ops;
use keystore::passphrase::Probe;
use keystore::passphrase::vault::VaultStatus;
use keystore::{Gun, Role};

use crate::output;

/// `passphrase set|generate`: which key's passphrase went into which store.
pub(crate) fn stored(json: bool, id: &KeyId, what: &str, store: &str, origin: Option<&str>) {
    if json {
        output::json(
            &serde_json::json!({ "id": id, "action": what, "store": store, "from": origin }),
        );
    } else {
        match origin {
            Some(o) => eprintln!("Passphrase of key {id} (from {o}) {what} in {store}."),
            None => eprintln!("Passphrase of key {id} {what} in {store}."),
        }
    }
}

/// `passphrase remove`: the stores it was removed from.
pub(crate) fn removed(json: bool, id: &KeyId, removed: &[String]) {
    if json {
        output::json(&serde_json::json!({
            "id": id, "action": "removed", "store": removed.join(" and "),
            "removed_from": removed,
        }));
    } else {
        eprintln!(
            "Passphrase of key {id} removed from {}.",
            removed.join(" and ")
        );
    }
}

/// The question `passphrase reveal` asks first.
pub(crate) fn reveal_question(id: &KeyId, file: Option<&Path>) -> String {
    format!(
        "Reveal the passphrase of key {id}{}? Anyone who sees it can open the key. (yes/no) ",
        file.map(|f| format!(" into {}", f.display()))
            .unwrap_or_else(|| " on this terminal".into())
    )
}

/// Whether a revealed passphrase was checked against the key, in words.
fn checked(revealed: &ops::Revealed) -> &'static str {
    if revealed.checked {
        "it opens the key"
    } else {
        "no key file of that ID to check it against"
    }
}

/// `passphrase reveal -o FILE`: where it was written (never the passphrase).
pub(crate) fn revealed_to_file(json: bool, id: &KeyId, path: &Path, revealed: &ops::Revealed) {
    if json {
        output::json(&serde_json::json!({
            "id": id, "file": path, "store": revealed.store, "checked": revealed.checked,
        }));
    } else {
        eprintln!(
            "Passphrase of key {id} (from {}; {}) written to {} (mode 0600). Keep \
             the copy offline and delete this file once it is backed up.",
            revealed.store,
            checked(revealed),
            path.display()
        );
    }
}

/// `passphrase reveal` on a terminal: the note after the passphrase.
pub(crate) fn revealed_on_terminal(id: &KeyId, revealed: &ops::Revealed) {
    eprintln!(
        "Passphrase of key {id} from {} ({}).",
        revealed.store,
        checked(revealed)
    );
}

/// What `passphrase explain` found: the key, and each source's answer and verdict.
pub(crate) struct Explained<'a> {
    /// The key, when one was named or only one has the role.
    pub(crate) id: Option<&'a KeyId>,
    /// Its role.
    pub(crate) role: &'a Role,
    /// Its repository.
    pub(crate) gun: Option<&'a Gun>,
    /// Each source in order, and whether its passphrase opens the key.
    pub(crate) checks: &'a [ops::SourceCheck],
    /// Whether a prompt may be used.
    pub(crate) interactive: bool,
}

/// `passphrase explain`: the sources in order, the one that would answer, and whether its
/// passphrase opens the key.
pub(crate) fn explained(json: bool, e: &Explained<'_>) {
    let checks = e.checks;
    let lines: Vec<_> = checks.iter().map(|c| &c.explained).collect();
    let winner = lines
        .iter()
        .position(|l| matches!(l.probe, Probe::Answers(_) | Probe::Asks(_)));
    let verdict = |i: usize| -> String {
        match &checks[i].opens {
            Some(ops::Opens::Yes) => " -- opens the key".into(),
            Some(ops::Opens::No) => " -- WRONG: does not open the key".into(),
            Some(ops::Opens::Unknown(why)) => format!(" -- not checked: {why}"),
            None => String::new(),
        }
    };
    let (id, role, gun) = (e.id, e.role, e.gun);
    if json {
        let rows: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (state, why) = split(&l.probe);
                serde_json::json!({
                    "source": l.source, "state": state, "detail": why, "used": Some(i) == winner,
                    "opens": checks[i].opens,
                })
            })
            .collect();
        output::json(&serde_json::json!({
            "key_id": id, "role": role.to_string(), "gun": gun.map(ToString::to_string),
            "sources": rows, "interactive": e.interactive,
        }));
        return;
    }
    println!(
        "Passphrase of the {role} key{}{}, sources in order:",
        id.map(|i| format!(" {i}")).unwrap_or_default(),
        gun.map(|g| format!(" of {g}")).unwrap_or_default()
    );
    for (i, l) in lines.iter().enumerate() {
        let (state, why) = split(&l.probe);
        println!(
            "{} {}. {}: {state} ({why}){}",
            if Some(i) == winner { "->" } else { "  " },
            i + 1,
            l.source,
            verdict(i)
        );
    }
    if !e.interactive {
        println!(
            "   -. a prompt on this terminal: not used (--non-interactive, CI=true, or no terminal)"
        );
    }
    match winner.map(|i| (i, &checks[i].opens)) {
        Some((i, Some(ops::Opens::Yes))) => println!(
            "The passphrase would come from source {}, and it opens the key.",
            i + 1
        ),
        Some((i, Some(ops::Opens::No))) => println!(
            "The passphrase would come from source {}, but it does NOT open the key: commands fail with \"wrong passphrase\". Correct or unset it.",
            i + 1
        ),
        Some((i, _)) => println!("The passphrase would come from source {}.", i + 1),
        None => println!(
            "No source would answer: the command would fail with \"a passphrase is needed\"."
        ),
    }
}

fn split(p: &Probe) -> (&'static str, &str) {
    match p {
        Probe::Answers(w) => ("answers", w),
        Probe::Asks(w) => ("asks", w),
        Probe::Nothing(w) => ("nothing", w),
        Probe::Unavailable(w) => ("unavailable", w),
    }
}

/// `vault init`: the vault created (its status in JSON, given only with `--json`).
pub(crate) fn vault_created(path: &Path, status: Option<&VaultStatus>) {
    match status {
        Some(status) => output::json(status),
        None => eprintln!("Created the passphrase vault {}.", path.display()),
    }
}

/// `vault change-master`: the vault re-sealed.
pub(crate) fn master_changed(path: &Path) {
    eprintln!(
        "The vault {} is sealed under the new master passphrase.",
        path.display()
    );
}

/// `vault status`: format, Argon2id parameters, entries (key IDs only), and how long opening it
/// took when asked to.
pub(crate) fn vault_status(json: bool, status: &VaultStatus, took: Option<Duration>) {
    if json {
        output::json(&serde_json::json!({
            "vault": status,
            "unlock_ms": took.map(|d| d.as_secs_f64() * 1000.0),
        }));
        return;
    }
    if !status.exists {
        println!(
            "No vault at {} (keytool vault init creates one).",
            status.path.display()
        );
        return;
    }
    println!("Vault    {}", status.path.display());
    println!(
        "Format   keytool-vault v{}",
        status.version.unwrap_or_default()
    );
    if let Some(k) = &status.kdf {
        println!("KDF      argon2id m={} KiB t={} p={}", k.m_kib, k.t, k.p);
    }
    println!("Entries  {}", status.entries.len());
    for e in &status.entries {
        println!(
            "  {} {} {}{}",
            e.key_id,
            e.role,
            e.slot,
            e.gun.as_ref().map(|g| format!(" {g}")).unwrap_or_default()
        );
    }
    if let Some(d) = took {
        println!("Unlocked in {:.0} ms", d.as_secs_f64() * 1000.0);
    }
}
