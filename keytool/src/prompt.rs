//! The terminal passphrase source: notary's prompt texts, confirmation and the 8-character
//! rule for new passphrases. Reads from /dev/tty with echo off (rpassword).
//!
//! The terminal is put in rpassword's raw mode (no echo, no signal keys, no line editing)
//! *before* the prompt is printed, so nothing typed ahead of the prompt (a fast typist, a password
//! manager's auto-type) is echoed, and a Ctrl-C typed at any moment reaches rpassword as a
//! character. rpassword then raises SIGINT; that, or SIGTERM, SIGHUP or SIGQUIT from outside,
//! restores the terminal before the process ends as the signal would have ended it.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock, PoisonError};

use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use keystore::passphrase::policy::{MIN_NEW_LEN, same};
use keystore::passphrase::{PassphraseSource, Purpose, Request, Supplied};
use keystore::{Error, Passphrase, Result, Role};
use zeroize::Zeroizing;

/// Tries for a new passphrase (too short or not repeated identically).
const NEW_TRIES: u32 = 3;

/// Whether prompting is allowed: a terminal on stdin and stderr, no `--non-interactive`, not CI.
pub(crate) fn allowed(non_interactive: bool) -> bool {
    !non_interactive
        && std::env::var("CI").map_or(true, |v| v != "true")
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
}

/// Prompts on the controlling terminal.
pub(crate) struct TtyPrompt;

impl TtyPrompt {
    fn read(prompt: &str) -> Result<Zeroizing<String>> {
        let read = {
            let _raw = RawTerminal::engage();
            rpassword::prompt_password(prompt)
        };
        if read
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::Interrupted)
        {
            // Ctrl-C (rpassword reads it as a character and raises SIGINT, which the signal
            // watcher normally acts on first). The terminal is restored: end as the interrupt.
            let _ = signal_hook::low_level::emulate_default_handler(SIGINT);
        }
        let text = read.map_err(|_| Error::Cancelled)?;
        // notary trims typed passphrases.
        let trimmed = Zeroizing::new(text.trim().to_owned());
        drop(Zeroizing::new(text));
        Ok(trimmed)
    }

    fn label(request: &Request<'_>) -> (String, String) {
        let alias = match request.role {
            Role::Root => "root".to_owned(),
            Role::Targets | Role::Snapshot | Role::Timestamp => request.role.to_string(),
            other => other.to_string(),
        };
        let with = request
            .key_id
            .map(|id| format!(" with ID {}", id.short()))
            .unwrap_or_default();
        (alias, with)
    }
}

impl PassphraseSource for TtyPrompt {
    fn describe(&self) -> String {
        "a prompt on this terminal".into()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let (alias, with) = Self::label(request);
        let origin = "the terminal prompt".to_owned();
        match request.purpose {
            Purpose::Unlock => {
                if request.attempt > 0 {
                    eprintln!("Passphrase incorrect. Please retry.");
                }
                let text = Self::read(&format!("Enter passphrase for {alias} key{with}: "))?;
                Ok(Some(Supplied {
                    passphrase: Passphrase::new(text.to_string()),
                    origin,
                    retry_allowed: true,
                }))
            }
            Purpose::NewKey => {
                if *request.role == Role::Root {
                    let mut err = std::io::stderr();
                    let _ = writeln!(
                        err,
                        "You are about to create a new root signing key passphrase. This passphrase\n\
                         will be used to protect the most sensitive key in your signing system. Please\n\
                         choose a long, complex passphrase and be careful to keep the password and the\n\
                         key file itself secure and backed up. It is highly recommended that you use a\n\
                         password manager to generate the passphrase and keep it safe. There will be no\n\
                         way to recover this key. You can find the key in your config directory."
                    );
                }
                for _ in 0..NEW_TRIES {
                    let first =
                        Self::read(&format!("Enter passphrase for new {alias} key{with}: "))?;
                    if first.chars().count() < MIN_NEW_LEN {
                        eprintln!(
                            "Passphrase is too short. Please use a password manager to generate and store a good random passphrase."
                        );
                        continue;
                    }
                    let second =
                        Self::read(&format!("Repeat passphrase for new {alias} key{with}: "))?;
                    if !same(first.as_bytes(), second.as_bytes()) {
                        eprintln!("Passphrases do not match. Please retry.");
                        continue;
                    }
                    return Ok(Some(Supplied {
                        passphrase: Passphrase::new(first.to_string()),
                        origin,
                        retry_allowed: false,
                    }));
                }
                Err(Error::WeakPassphrase {
                    reason: format!(
                        "no acceptable passphrase after {NEW_TRIES} tries (at least {MIN_NEW_LEN} characters, typed twice the same)"
                    ),
                })
            }
        }
    }
}

/// The controlling terminal in the mode rpassword reads in (no echo, no signal keys, no line
/// editing) for as long as it lives; the saved settings are restored on drop. Best effort:
/// without a terminal, rpassword reports the problem.
struct RawTerminal {
    tty: File,
    saved: Termios,
}

impl RawTerminal {
    fn engage() -> Option<Self> {
        let tty = File::options()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let saved = rustix::termios::tcgetattr(&tty).ok()?;
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ECHO | LocalModes::ECHONL | LocalModes::ICANON | LocalModes::ISIG);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        watch_signals();
        let mut active = RAW_ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        rustix::termios::tcsetattr(&tty, OptionalActions::Now, &raw).ok()?;
        *active = tty.try_clone().ok().map(|t| (t, saved.clone()));
        Some(Self { tty, saved })
    }
}

/// The terminal settings to put back if a signal ends the process while a prompt has the
/// terminal raw.
static RAW_ACTIVE: Mutex<Option<(File, Termios)>> = Mutex::new(None);

/// From the first prompt on, SIGINT, SIGTERM, SIGHUP and SIGQUIT are taken by a thread that puts
/// back the terminal settings of [`RAW_ACTIVE`] (if a prompt is active) and then ends the process
/// exactly as the signal's default action would. (A handler is never uninstalled: signal-hook
/// would leave the signal ignored, and Ctrl-C must keep working after the prompt.)
fn watch_signals() {
    static WATCHING: OnceLock<()> = OnceLock::new();
    WATCHING.get_or_init(|| {
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT]) else {
            return;
        };
        std::thread::spawn(move || {
            for signal in signals.forever() {
                let active = RAW_ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((tty, saved)) = active.as_ref() {
                    let _ = rustix::termios::tcsetattr(tty, OptionalActions::Now, saved);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            }
        });
    });
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let mut active = RAW_ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = rustix::termios::tcsetattr(&self.tty, OptionalActions::Now, &self.saved);
        *active = None;
    }
}
