//! Where stored passphrases live, through the CLI and the real OS stores (issue 19, items 1, 3
//! and 7): a generated passphrase is never kept only in kernel keyutils; `passphrase reveal`
//! hands one out only on purpose; a rotation keeps the old key's passphrase policy; `passphrase
//! remove` deletes an entry from whichever keyring holds it.
//!
//! The keyutils tests run inside a fresh session keyring (`keyctl session -`) and the Secret
//! Service test under `dbus-run-session` with a private gnome-keyring
//! (tests/peers/secret-service.sh), as CI does. Without those tools the tests say so and pass,
//! unless KEYTOOL_REQUIRE_PEERS=1.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Whether every one of `tools` is installed; a missing one is a skip, or a failure under
/// KEYTOOL_REQUIRE_PEERS=1.
fn installed<'a>(mut tools: impl Iterator<Item = &'a &'a str>) -> bool {
    tools.all(|tool| {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var("KEYTOOL_REQUIRE_PEERS").as_deref() != Ok("1"),
                "{tool} is required (KEYTOOL_REQUIRE_PEERS=1)"
            );
            eprintln!("skipped: {tool} is not installed");
        }
        found
    })
}

/// Runs `script` with bash, prefixed by `wrapper` (e.g. `keyctl session -`), with `$KT` the
/// keytool binary and `$T` a fresh trust directory, and no passphrase or keytool variable of
/// the caller. Asserts it succeeds.
fn run(wrapper: &[&str], script: &str) -> Option<Output> {
    if !installed(wrapper.iter().take(1)) {
        return None;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let prelude = r#"set -euo pipefail
fail() { echo "FAILED: $*" >&2; exit 1; }
kt() { "$KT" --trust-dir "$T" --kdf-iterations 2048 "$@" </dev/null; }
"#;
    let mut cmd = Command::new(wrapper.first().copied().unwrap_or("bash"));
    if let Some((_, rest)) = wrapper.split_first() {
        cmd.args(rest).arg("bash");
    }
    cmd.arg("-c").arg(format!("{prelude}{script}"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.ends_with("_PASSPHRASE") || k.starts_with("KEYTOOL_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("KT", env!("CARGO_BIN_EXE_keytool"))
        .env("T", tmp.path().join("trust"))
        .env("CI", "true")
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "script failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    Some(out)
}

fn keyctl() -> Vec<&'static str> {
    vec!["keyctl", "session", "-"]
}

/// Item 1: with keyutils as the only OS keyring, `--generate-passphrase` refuses without a vault
/// (nothing written, nothing in the keyring), and with a vault leaves the durable copy there:
/// with every keyutils entry of keytool purged, a later process still opens the key.
#[test]
fn generated_passphrases_never_live_only_in_keyutils() {
    run(
        &keyctl(),
        r#"
export KEYTOOL_KEYRING=keyutils
unset DBUS_SESSION_BUS_ADDRESS
# No vault: refused before anything is written (exit 3), with the way out.
if kt key generate --role root --generate-passphrase >out 2>err; then fail "generated without a durable store"; fi
grep -q 'durable store' err || fail "message: $(cat err)"
grep -q 'keytool vault init' err || fail "hint: $(cat err)"
[ -z "$(ls "$T/private" 2>/dev/null)" ] || fail "a key file was written"
if keyctl show @s | grep -c >/dev/null '@keytool'; then fail "an entry went to keyutils"; fi
# The same for passphrase generate and key passwd --generate-passphrase of an existing key.
id0=$(KEYTOOL_ROOT_PASSPHRASE=known-root-1 kt key generate --role root)
cp "$T/private/$id0.key" before.key
if KEYTOOL_ROOT_PASSPHRASE=known-root-1 kt passphrase generate "$id0" 2>err; then fail "passphrase generate into keyutils"; fi
if KEYTOOL_ROOT_PASSPHRASE=known-root-1 kt key passwd "$id0" --generate-passphrase 2>err; then fail "key passwd into keyutils"; fi
cmp -s before.key "$T/private/$id0.key" || fail "the key file changed"

# With a vault: the generated passphrase goes there, and the user is told.
export KEYTOOL_VAULT_PASSPHRASE=vault-master-77
kt vault init --m-kib 64 --t 1 2>/dev/null
id=$(kt key generate --role root --generate-passphrase 2>err)
grep -q "generated and stored in the vault" err || fail "no note: $(cat err)"
grep -q "passphrase reveal $id" err || fail "no backup hint: $(cat err)"
kt --json key generate --role targets --repo example.com/app --generate-passphrase >json 2>/dev/null
grep -q '"stored_in": "the vault' json || fail "JSON: $(cat json)"
kt vault status | grep -c >/dev/null "$id" || fail "not in the vault"
# Whatever keyutils holds is gone (reboot, expiry): the key still opens, from the vault.
keyctl purge -s user "keyring:$id@keytool" >/dev/null 2>&1 || true
keyctl clear @s
kt passphrase explain "$id" | grep -c >/dev/null -- '-> .*the vault .*answers' || fail "explain"
kt passphrase reveal "$id" --yes -o backup 2>err
grep -q 'it opens the key' err || fail "reveal: $(cat err)"
# The backup itself opens the key (passphrase set checks that before storing).
KEYTOOL_KEYRING=none kt --passphrase-file backup passphrase set "$id" --vault 2>/dev/null
# passphrase generate and key passwd --generate-passphrase move to the vault as well.
KEYTOOL_ROOT_PASSPHRASE=known-root-1 kt passphrase generate "$id0" 2>err
grep -q 'the vault' err || fail "passphrase generate: $(cat err)"
kt key passwd "$id0" --generate-passphrase 2>/dev/null
kt passphrase reveal "$id0" --yes -o backup0 2>/dev/null
"#,
    );
}

/// Item 1: `passphrase reveal` prints only to a terminal or into a new 0600 file, and asks first.
#[test]
fn reveal_needs_a_confirmation_and_a_safe_destination() {
    run(
        &[],
        r#"
export KEYTOOL_KEYRING=none KEYTOOL_VAULT_PASSPHRASE=vault-master-78
kt vault init --m-kib 64 --t 1 2>/dev/null
id=$(kt key generate --role root --generate-passphrase 2>/dev/null)
# Into a pipe: refused (exit 2), nothing on stdout.
set +e
kt passphrase reveal "$id" --yes >out 2>err; rc=$?
set -e
[ "$rc" = 2 ] || fail "pipe: exit $rc"
[ ! -s out ] || fail "something was printed into the pipe"
kt --json passphrase reveal "$id" --yes >out 2>/dev/null && fail "JSON without -o"
[ ! -s out ] || fail "something was printed as JSON"
# No terminal to confirm on and no --yes: refused, no file.
kt passphrase reveal "$id" -o f1 2>/dev/null && fail "no confirmation"
[ ! -e f1 ] || fail "file written without confirmation"
umask 000
kt passphrase reveal "$id" --yes -o f1 2>/dev/null
[ "$(stat -c %a f1)" = 600 ] || fail "mode $(stat -c %a f1)"
[ "$(head -c 32 f1 | wc -c)" = 32 ] || fail "content"
# Never over an existing file, nor through a link.
kt passphrase reveal "$id" --yes -o f1 2>err && fail "overwrote"
grep -q 'never replaces' err || fail "the hint offers a flag reveal does not have: $(cat err)"
grep -q 'Pass --force' err && fail "the hint offers --force: $(cat err)"
ln -s elsewhere link
kt passphrase reveal "$id" --yes -o link 2>/dev/null && fail "followed a link"
[ ! -e elsewhere ] || fail "wrote through a link"
# A key without a stored passphrase: not found (exit 4).
id2=$(KEYTOOL_ROOT_PASSPHRASE=known-root-2 kt key generate --role root)
set +e
kt passphrase reveal "$id2" --yes -o f2 2>err; rc=$?
set -e
[ "$rc" = 4 ] || fail "unstored: exit $rc $(cat err)"
"#,
    );
}

/// Item 3: an offline rotation of an unpublished repository whose targets passphrase was
/// generated into the vault keeps it managed, even with DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE
/// set; the retired key's entry stays, and still opens the retired key. `--ask-new-passphrase`
/// takes the environment's value on purpose.
#[test]
fn rotation_keeps_a_managed_passphrase_managed() {
    run(
        &[],
        r#"
export KEYTOOL_KEYRING=none KEYTOOL_VAULT_PASSPHRASE=vault-master-79
kt vault init --m-kib 64 --t 1 2>/dev/null
gun=example.com/acme/web
old=$(kt key generate --role targets --repo "$gun" --generate-passphrase 2>/dev/null)
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=env-repo-pass-1
kt --json rotate --repo "$gun" --offline >rot 2>err || fail "rotate: $(cat err)"
new=$(sed -n 's/.*"new_key": "\([0-9a-f]*\)".*/\1/p' rot)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "no new key: $(cat rot)"
grep -q '"new_passphrase_stored_in": "the vault' rot || fail "JSON: $(cat rot)"
kt vault status | grep -c >/dev/null "$new" || fail "the new key's passphrase is not in the vault"
# The environment's value does not open the new key; the vault's does.
kt passphrase set "$new" --vault 2>err && fail "the environment's passphrase opens the new key"
grep -qi 'wrong\|does not' err || fail "expected a wrong passphrase: $(cat err)"
kt passphrase reveal "$new" --yes -o new.pass 2>/dev/null
# The retired key's entry stays under its ID and opens the retired key.
[ -f "$T/keytool-retired/$old.key" ] || fail "old key not retired"
kt vault status | grep -c >/dev/null "$old" || fail "the retired key's entry is gone"
kt passphrase reveal "$old" --yes -o old.pass 2>err
grep -q 'it opens the key' err || fail "retired key: $(cat err)"
# Told otherwise: the new key's passphrase comes from the environment.
kt --json rotate --repo "$gun" --offline --ask-new-passphrase >rot2 2>/dev/null
new2=$(sed -n 's/.*"new_key": "\([0-9a-f]*\)".*/\1/p' rot2)
kt vault status | grep -c >/dev/null "$new2" && fail "asked, yet stored"
kt passphrase set "$new2" --vault 2>/dev/null || fail "the environment's value should open it"
"#,
    );
}

/// A rotation stopped after the new key's generated passphrase was stored but before the new
/// key file was written (a crash at the journal step; an error there) leaves no entry behind for
/// a key that never came to be: the next run starts over and the vault holds exactly the
/// retired key's entry and the new key's.
#[test]
fn an_abandoned_rotation_leaves_no_orphan_passphrase() {
    run(
        &[],
        r#"
export KEYTOOL_KEYRING=none KEYTOOL_VAULT_PASSPHRASE=vault-master-80
kt vault init --m-kib 64 --t 1 2>/dev/null
gun=example.com/acme/orphan
old=$(kt key generate --role targets --repo "$gun" --generate-passphrase 2>/dev/null)
if KEYTOOL_FAULT_POINT=journaled kt rotate --repo "$gun" --offline 2>/dev/null; then
  fail "the fault point must stop keytool"
fi
[ "$(kt --json vault status | grep -o '"key_id"' | wc -l)" = 2 ] || fail "expected the old key's entry and the interrupted attempt's: $(kt --json vault status)"
kt --json rotate --repo "$gun" --offline >rot 2>err || fail "rotate: $(cat err)"
grep -q '"resumed": true' rot || fail "not a restart: $(cat rot)"
new=$(sed -n 's/.*"new_key": "\([0-9a-f]*\)".*/\1/p' rot)
kt --json vault status >vs
[ "$(grep -o '"key_id"' vs | wc -l)" = 2 ] || fail "an orphan entry is left: $(cat vs)"
grep -q "$old" vs && grep -q "$new" vs || fail "old or new entry missing: $(cat vs)"
kt passphrase reveal "$new" --yes -o new.pass 2>err
grep -q 'it opens the key' err || fail "new key: $(cat err)"
"#,
    );
}

/// Item 7, keyutils: `passphrase remove` deletes the entry (and any copy) from the kernel
/// keyring and says so; nothing is left for `explain` or `keyctl` to find.
#[test]
fn remove_deletes_a_keyutils_entry() {
    run(
        &keyctl(),
        r#"
export KEYTOOL_KEYRING=keyutils KEYTOOL_TARGETS_PASSPHRASE=known-targets-1
unset DBUS_SESSION_BUS_ADDRESS
id=$(kt key generate --role targets --repo example.com/a)
kt passphrase set "$id" 2>/dev/null
unset KEYTOOL_TARGETS_PASSPHRASE
kt passphrase explain "$id" | grep -c >/dev/null -- '-> .*kernel keyutils.*answers' || fail "explain before"
kt passphrase remove "$id" 2>err || fail "remove: $(cat err)"
grep -q 'removed from the OS keyring (kernel keyutils)' err || fail "report: $(cat err)"
kt passphrase explain "$id" | grep -c >/dev/null 'kernel keyutils): nothing' || fail "explain after"
if keyctl search @s user "keyring:$id@keytool" >/dev/null 2>&1; then fail "still in keyutils"; fi
# Removing again: not found (exit 4), naming every store looked in.
set +e
kt passphrase remove "$id" 2>err; rc=$?
set -e
[ "$rc" = 4 ] || fail "exit $rc"
grep -q 'kernel keyutils' err && grep -q 'the vault' err || fail "message: $(cat err)"
"#,
    );
}

/// Item 7, both keyrings: an entry stored in keyutils (no D-Bus session then) is removed by a
/// later `passphrase remove` that runs where Secret Service answers (`auto` picks it); and one
/// stored in Secret Service is removed from there.
#[test]
fn remove_finds_the_entry_in_whichever_keyring_holds_it() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/secret-service.sh");
    let script = script.to_str().expect("utf-8 path");
    if !installed(["dbus-run-session", "gnome-keyring-daemon"].iter()) {
        return;
    }
    run(
        &["keyctl", "session", "-", "dbus-run-session", "--", script],
        r#"
export KEYTOOL_TARGETS_PASSPHRASE=known-targets-2
id=$(kt key generate --role targets --repo example.com/b)
KEYTOOL_KEYRING=keyutils kt passphrase set "$id" 2>/dev/null
unset KEYTOOL_TARGETS_PASSPHRASE
KEYTOOL_KEYRING=keyutils kt passphrase explain "$id" | grep -c >/dev/null -- '-> .*kernel keyutils.*answers' || fail "explain"
kt passphrase remove "$id" 2>err || fail "remove: $(cat err)"
grep -q 'kernel keyutils' err || fail "report: $(cat err)"
if keyctl search @s user "keyring:$id@keytool" >/dev/null 2>&1; then fail "still in keyutils"; fi
# Stored in Secret Service (auto), and in keyutils too: removed from both, both reported.
KEYTOOL_TARGETS_PASSPHRASE=known-targets-2 kt passphrase set "$id" 2>err
grep -q 'Secret Service' err || fail "set: $(cat err)"
KEYTOOL_TARGETS_PASSPHRASE=known-targets-2 KEYTOOL_KEYRING=keyutils kt passphrase set "$id" 2>/dev/null
kt passphrase remove "$id" 2>err || fail "remove: $(cat err)"
grep -q 'Secret Service' err && grep -q 'kernel keyutils' err || fail "report: $(cat err)"
kt passphrase explain "$id" | grep -c >/dev/null 'Secret Service): nothing' || fail "explain after"
"#,
    );
}
