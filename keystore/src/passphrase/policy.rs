//! The one documented order in which passphrases are looked for, the stores keytool keeps them
//! in, and the rules for new passphrases. Every face builds a [`Policy`] from its settings and
//! adds only what is its own: the CLI its `--passphrase-file`/`--passphrase-fd`/`--passphrase-stdin`
//! value and its terminal prompt, the C library (and Go through it) the caller's callback.
//!
//! The order, for a key's passphrase:
//! 1. a generated passphrase (new keys only, when asked for), kept in a durable store;
//! 2. the face's explicit source (a file, a descriptor, standard input, a callback);
//! 3. docker's and notary's environment variables (when the face reads the environment);
//! 4. the OS keyring (chosen by `KEYTOOL_KEYRING`; opened only when asked);
//! 5. the vault (`<trust dir>/keytool-vault.json`), whose master passphrase comes from the
//!    vault passphrase file, then `KEYTOOL_VAULT_PASSPHRASE`, then the face's callback or prompt;
//! 6. the face's prompt.
//!
//! A new passphrase chosen by a person (a prompt, a callback) has at least
//! [`MIN_NEW_LEN`] characters; one given deliberately (a file, the environment) is taken as it
//! is, as docker and notary take it.

use std::cell::{OnceCell, RefCell};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::keyring::Keyring;
use super::store::{self, GeneratedPassphrase, GeneratingSource, SecretStore, StoredSource};
use super::vault::{MASTER_ROLE, VaultStore, vault_path};
use super::{
    Chain, EnvSource, FileSource, FixedSource, PassphraseSource, Probe, Purpose, Request, Supplied,
};
use crate::error::{Error, FileLabel, Result};
use crate::ids::{KeyId, Role};
use crate::secret::Passphrase;
use crate::trust_dir::TrustDir;

/// The fewest characters a new passphrase chosen by a person may have (notary's rule).
pub const MIN_NEW_LEN: usize = 8;

/// The environment variable holding the vault's master passphrase.
pub const VAULT_PASSPHRASE_ENV: &str = "KEYTOOL_VAULT_PASSPHRASE";

/// The role under which the *new* master passphrase of `vault change-master` is asked (its
/// sources differ from the current one's, and so does the advice when none answers).
pub const NEW_MASTER_ROLE: &str = "new vault master";

/// Whether `passphrase`, chosen by a person for a new key, is long enough; the error says why
/// not.
pub fn check_new(passphrase: &Passphrase, origin: &str) -> Result<()> {
    let chars = String::from_utf8_lossy(passphrase.expose()).chars().count();
    if chars < MIN_NEW_LEN {
        return Err(Error::WeakPassphrase {
            reason: format!(
                "the new passphrase from {origin} is too short; at least {MIN_NEW_LEN} characters are needed"
            ),
        });
    }
    Ok(())
}

/// Whether two typed passphrases are the same (the confirmation of a new one), compared in
/// constant time.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A way to read one setting or environment variable.
pub type Lookup = Rc<dyn Fn(&str) -> Option<OsString>>;

/// A way to read secrets from the environment (shared with the environment source).
type SecretLookup = Arc<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// A source shared between several chains (a callback asked for keys and for the vault master).
type Shared = Rc<dyn PassphraseSource>;

/// The face's explicit source: one shared instance (a callback), or a fresh one for each chain
/// (a file read when asked; standard input, whose next line each chain reads: the current
/// passphrase, then the new one of `key passwd`).
enum Explicit {
    Shared(Shared),
    Fresh(Rc<dyn Fn() -> Box<dyn PassphraseSource>>),
}

impl Explicit {
    fn source(&self) -> Box<dyn PassphraseSource> {
        match self {
            Explicit::Shared(s) => Box::new(Rc::clone(s)),
            Explicit::Fresh(make) => make(),
        }
    }
}

/// Where passphrases come from and go to, for one command or call. See the module docs for the
/// order; build it with [`Policy::new`] and the `with_*` methods.
pub struct Policy {
    dir: TrustDir,
    settings: Lookup,
    secrets: SecretLookup,
    explicit: Option<Explicit>,
    explicit_for_master: bool,
    environment: bool,
    prompt: Option<Shared>,
    vault_master_file: Option<PathBuf>,
    generate: bool,
    on_generated: Option<Rc<dyn Fn(GeneratedPassphrase)>>,
    vault: OnceCell<Rc<VaultStore>>,
}

impl Policy {
    /// The policy for the trust directory `dir`. `settings` reads non-secret settings
    /// (`KEYTOOL_KEYRING`): the CLI passes its configuration file over the environment, C the
    /// environment. Secrets (`KEYTOOL_VAULT_PASSPHRASE`, docker's and notary's passphrase
    /// variables) are read from the process environment only.
    ///
    /// A misspelt `KEYTOOL_KEYRING` (say `nonee`) is an error here, before anything is read or
    /// written: never a silent fallback to no keyring or to another store.
    pub fn new(
        dir: TrustDir,
        settings: impl Fn(&str) -> Option<OsString> + 'static,
    ) -> Result<Self> {
        super::keyring::check_choice(&settings)?;
        Ok(Policy {
            dir,
            settings: Rc::new(settings),
            secrets: Arc::new(|k| std::env::var_os(k)),
            explicit: None,
            explicit_for_master: false,
            environment: false,
            prompt: None,
            vault_master_file: None,
            generate: false,
            on_generated: None,
            vault: OnceCell::new(),
        })
    }

    /// Reads secrets through `lookup` instead of the process environment (tests).
    #[must_use]
    pub fn with_secrets(
        mut self,
        lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static,
    ) -> Self {
        self.secrets = Arc::new(lookup);
        self
    }

    /// The face's explicit source of key passphrases (a file), asked first; never for the
    /// vault's master passphrase.
    #[must_use]
    pub fn with_explicit(mut self, source: impl PassphraseSource + 'static) -> Self {
        self.explicit = Some(Explicit::Shared(Rc::new(source)));
        self.explicit_for_master = false;
        self
    }

    /// Like [`Policy::with_explicit`], with a fresh source from `make` for each chain (standard
    /// input: the first chain reads its first line, the next chain the next line).
    #[must_use]
    pub fn with_explicit_each(
        mut self,
        make: impl Fn() -> Box<dyn PassphraseSource> + 'static,
    ) -> Self {
        self.explicit = Some(Explicit::Fresh(Rc::new(make)));
        self.explicit_for_master = false;
        self
    }

    /// The caller's callback: asked first for key passphrases, and for the vault's master
    /// passphrase after the vault passphrase file and `KEYTOOL_VAULT_PASSPHRASE`. New
    /// passphrases it gives follow [`check_new`].
    #[must_use]
    pub fn with_callback(mut self, callback: impl PassphraseSource + 'static) -> Self {
        self.explicit = Some(Explicit::Shared(Rc::new(Chosen(callback))));
        self.explicit_for_master = true;
        self
    }

    /// Also reads docker's and notary's passphrase variables (after the explicit source).
    #[must_use]
    pub fn with_environment(mut self) -> Self {
        self.environment = true;
        self
    }

    /// A prompt, asked last for key passphrases and for the vault's master passphrase. New
    /// passphrases it gives follow [`check_new`].
    #[must_use]
    pub fn with_prompt(mut self, prompt: impl PassphraseSource + 'static) -> Self {
        self.prompt = Some(Rc::new(Chosen(prompt)));
        self
    }

    /// Reads the vault's master passphrase from the first line of `file` first.
    #[must_use]
    pub fn with_vault_master_file(mut self, file: Option<PathBuf>) -> Self {
        self.vault_master_file = file;
        self
    }

    /// New keys get a generated passphrase kept in a durable store ([`Policy::generated_store`]);
    /// `notify` learns where each one went.
    #[must_use]
    pub fn with_generated(mut self, notify: impl Fn(GeneratedPassphrase) + 'static) -> Self {
        self.generate = true;
        self.on_generated = Some(Rc::new(notify));
        self
    }

    /// The trust directory.
    pub fn dir(&self) -> &TrustDir {
        &self.dir
    }

    /// Whether new keys get generated passphrases.
    pub fn generates(&self) -> bool {
        self.generate
    }

    /// The sources of a key's passphrase, in the documented order: what commands that open or
    /// create keys use. A failure to find a store for generated passphrases is reported when a
    /// new key first asks, so that commands needing no passphrase still run.
    pub fn unlock(&self) -> Chain {
        let mut chain = Chain::new();
        if self.generate {
            match self.generated_store(false) {
                Ok(store) => {
                    let notify = self.on_generated.clone();
                    chain.push(Box::new(GeneratingSource::new(store).notify(move |g| {
                        if let Some(n) = &notify {
                            n(g);
                        }
                    })));
                }
                Err(e) => chain.push(Box::new(Failing::new(e))),
            }
        }
        self.push_explicit_and_env(&mut chain);
        self.push_keyring(&mut chain);
        chain.push(Box::new(StoredSource::new(self.vault_store())));
        if let Some(p) = &self.prompt {
            chain.push(Box::new(Rc::clone(p)));
        }
        chain
    }

    /// The sources that answer without a person, for checks (`status`, `passphrase explain`):
    /// those of [`Policy::unlock`] without generation and without the prompt, the vault's
    /// master passphrase asked of no prompt either.
    pub fn checking(&self) -> Chain {
        let mut chain = Chain::new();
        self.push_explicit_and_env(&mut chain);
        self.push_keyring(&mut chain);
        chain.push(Box::new(StoredSource::new(self.unattended_vault_store())));
        chain
    }

    /// The sources of a passphrase being chosen (the new passphrase of `key passwd`, the one
    /// `passphrase set` stores): the explicit source, the environment, the prompt; no store.
    pub fn choosing(&self) -> Chain {
        let mut chain = Chain::new();
        self.push_explicit_and_env(&mut chain);
        if let Some(p) = &self.prompt {
            chain.push(Box::new(Rc::clone(p)));
        }
        chain
    }

    /// [`Policy::choosing`] with `file` in place of the explicit source (`--new-passphrase-file`).
    pub fn choosing_from(&self, file: Option<&Path>) -> Chain {
        let Some(file) = file else {
            return self.choosing();
        };
        let mut chain = Chain::new().with(FileSource::new(file));
        if self.environment {
            chain.push(Box::new(self.env_source()));
        }
        if let Some(p) = &self.prompt {
            chain.push(Box::new(Rc::clone(p)));
        }
        chain
    }

    fn env_source(&self) -> EnvSource {
        let secrets = Arc::clone(&self.secrets);
        EnvSource::with_lookup(move |k| secrets(k))
    }

    /// The OS keyring as a source, unless `KEYTOOL_KEYRING` is `none`.
    fn push_keyring(&self, chain: &mut Chain) {
        // The choice was checked when the policy was made.
        if super::keyring::check_choice(|k| (self.settings)(k)).is_ok_and(|c| c != "none") {
            chain.push(Box::new(LazyKeyring::new(Rc::clone(&self.settings))));
        }
    }

    fn push_explicit_and_env(&self, chain: &mut Chain) {
        if let Some(e) = &self.explicit {
            chain.push(e.source());
        }
        if self.environment {
            chain.push(Box::new(self.env_source()));
        }
    }

    /// Where the vault's master passphrase comes from: the vault passphrase file, then
    /// `KEYTOOL_VAULT_PASSPHRASE`, then (with `person`) the callback or the prompt.
    fn master_chain(&self, person: bool) -> Chain {
        let mut chain = Chain::new();
        if let Some(f) = &self.vault_master_file {
            chain.push(Box::new(FileSource::new(f)));
        }
        if let Some(v) = (self.secrets)(VAULT_PASSPHRASE_ENV).filter(|v| !v.is_empty())
            && let Ok(text) = v.into_string()
        {
            chain.push(Box::new(FixedSource::new(
                Passphrase::new(text),
                VAULT_PASSPHRASE_ENV,
            )));
        }
        if let (true, Some(e)) = (self.explicit_for_master, &self.explicit) {
            chain.push(e.source());
        }
        if let (true, Some(p)) = (person, &self.prompt) {
            chain.push(Box::new(Rc::clone(p)));
        }
        chain
    }

    /// The vault's master passphrase, asked of its sources (for `vault init`, `vault status
    /// --unlock`, `vault change-master`).
    pub fn vault_master(&self, purpose: Purpose) -> Result<Passphrase> {
        ask_master(&self.master_chain(true), purpose, false)
    }

    /// The *new* master passphrase of `vault change-master`: from `file`, else the callback or
    /// the prompt (never the variable or file that holds the current one).
    pub fn new_vault_master(&self, file: Option<&Path>) -> Result<Passphrase> {
        let mut chain = Chain::new();
        if let Some(f) = file {
            chain.push(Box::new(FileSource::new(f)));
        }
        if let (true, Some(e)) = (self.explicit_for_master, &self.explicit) {
            chain.push(e.source());
        }
        if let Some(p) = &self.prompt {
            chain.push(Box::new(Rc::clone(p)));
        }
        ask_master(&chain, Purpose::NewKey, true)
    }

    /// The OS keyring `KEYTOOL_KEYRING` chooses, if any.
    pub fn keyring(&self) -> Result<Option<Keyring>> {
        Keyring::open_os(|k| (self.settings)(k))
    }

    /// The vault of the trust directory as a store, shared by everything of this policy that
    /// reads or writes it, so its master passphrase is asked (and Argon2id run) at most once.
    pub fn vault_store(&self) -> Rc<VaultStore> {
        Rc::clone(self.vault.get_or_init(|| {
            Rc::new(VaultStore::new(
                self.dir.clone(),
                Box::new(self.master_chain(true)),
            ))
        }))
    }

    /// The vault as a store whose master passphrase is asked of no prompt (for checks).
    pub fn unattended_vault_store(&self) -> VaultStore {
        VaultStore::new(self.dir.clone(), Box::new(self.master_chain(false)))
    }

    /// The stores keytool reads passphrases from, in order: the OS keyring (when one can be
    /// opened), then the vault.
    pub fn stores(&self) -> Vec<Box<dyn SecretStore>> {
        let mut stores: Vec<Box<dyn SecretStore>> = Vec::new();
        if let Ok(Some(kr)) = self.keyring() {
            stores.push(Box::new(kr));
        }
        stores.push(Box::new(self.vault_store()));
        stores
    }

    /// Every store an entry of keytool may be held in, for clean-ups and backups (`passphrase
    /// remove|reveal`): every OS keyring ([`Keyring::all_os`]), then the vault.
    pub fn every_store(&self) -> Result<Vec<Box<dyn SecretStore>>> {
        let mut stores: Vec<Box<dyn SecretStore>> = Keyring::all_os(|k| (self.settings)(k))?
            .into_iter()
            .map(|k| Box::new(k) as Box<dyn SecretStore>)
            .collect();
        stores.push(Box::new(self.vault_store()));
        Ok(stores)
    }

    /// The store that holds the current passphrase of `id` (the one `key passwd` keeps in step
    /// with the key file), if any: the OS keyring first, then the vault.
    pub fn holder(&self, id: &KeyId) -> Result<Option<Box<dyn SecretStore>>> {
        let mut stores: Vec<Box<dyn SecretStore>> = Vec::new();
        if let Some(kr) = self.keyring()? {
            stores.push(Box::new(kr));
        }
        stores.push(Box::new(self.vault_store()));
        store::holder(stores, id)
    }

    /// Where a passphrase the user gives is stored (`passphrase set`): the OS keyring when it
    /// can be used (unless `force_vault`), else the vault; without either, an error that says
    /// how to get one.
    pub fn preferred_store(&self, force_vault: bool) -> Result<Box<dyn SecretStore>> {
        if !force_vault
            && let Some(kr) = self.keyring()?
            && kr.available().is_ok()
        {
            return Ok(Box::new(kr));
        }
        let vault = self.vault_store();
        if vault.exists() {
            return Ok(Box::new(vault));
        }
        Err(Error::NoStore {
            vault: vault_path(&self.dir),
        })
    }

    /// Where generated passphrases are stored: a durable store, never kernel keyutils alone (it
    /// forgets entries at reboot and after days unused). The OS keyring when it is durable
    /// (Secret Service, the macOS keychain), else the vault; without either, a refusal that
    /// says how to get one, before anything is changed.
    pub fn generated_store(&self, force_vault: bool) -> Result<Box<dyn SecretStore>> {
        let mut candidates: Vec<Box<dyn SecretStore>> = Vec::new();
        if !force_vault && let Some(kr) = self.keyring()? {
            candidates.push(Box::new(kr));
        }
        let vault = self.vault_store();
        if vault.exists() {
            candidates.push(Box::new(vault));
        }
        store::durable_store(candidates, &vault_path(&self.dir))
    }

    /// After key `id` was re-encrypted under a generated passphrase kept in `kept`: removes the
    /// entries of its old passphrase from every other store (a stale entry in the keyring would
    /// be tried first and fail). Returns where the new one is, for the user's report.
    pub fn generated_into(
        &self,
        id: &KeyId,
        kept: &dyn SecretStore,
    ) -> Result<GeneratedPassphrase> {
        let (_, file) = self.dir.read_key(id)?;
        for other in self.every_store()? {
            if other.describe() != kept.describe() {
                store::forget(id, other.as_ref())?;
            }
        }
        Ok(GeneratedPassphrase {
            key_id: id.clone(),
            role: file.role().clone(),
            gun: file.gun().cloned(),
            stored_in: kept.describe(),
        })
    }
}

/// Asks `source` for the vault's master passphrase: the new one (role [`NEW_MASTER_ROLE`]) or the
/// current one (role [`MASTER_ROLE`]).
fn ask_master(source: &dyn PassphraseSource, purpose: Purpose, new: bool) -> Result<Passphrase> {
    let role = if new { NEW_MASTER_ROLE } else { MASTER_ROLE };
    source
        .supply(&Request {
            key_id: None,
            role: &Role::Other(role.into()),
            gun: None,
            purpose,
            attempt: 0,
            subject: crate::passphrase::Subject::VaultMaster,
        })?
        .map(|s| s.passphrase)
        .ok_or_else(|| Error::VaultMasterRequired {
            vault: FileLabel::none(),
            new,
        })
}

/// A source a person answers (a prompt, a callback): new passphrases it gives must pass
/// [`check_new`].
struct Chosen<S>(S);

impl<S: PassphraseSource> PassphraseSource for Chosen<S> {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let supplied = self.0.supply(request)?;
        if let (Some(s), Purpose::NewKey) = (&supplied, request.purpose) {
            check_new(&s.passphrase, &s.origin)?;
        }
        Ok(supplied)
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        self.0.probe(request)
    }
}

/// The OS keyring as a source, opened only when asked (a call whose explicit source answers
/// never touches D-Bus or the kernel keyring); a keyring that cannot be opened has nothing.
struct LazyKeyring {
    settings: Lookup,
    opened: OnceCell<Option<Keyring>>,
}

impl LazyKeyring {
    fn new(settings: Lookup) -> Self {
        LazyKeyring {
            settings,
            opened: OnceCell::new(),
        }
    }

    fn keyring(&self) -> Option<&Keyring> {
        self.opened
            .get_or_init(|| Keyring::open_os(|k| (self.settings)(k)).ok().flatten())
            .as_ref()
    }
}

impl PassphraseSource for LazyKeyring {
    fn describe(&self) -> String {
        self.keyring().map_or_else(
            || "the OS keyring (unavailable)".into(),
            SecretStore::describe,
        )
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        match self.keyring() {
            Some(kr) => StoredSource::new(kr).supply(request),
            None => Ok(None),
        }
    }

    fn supply_stored(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        self.supply(request)
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        match self.keyring() {
            Some(kr) => StoredSource::new(kr).probe(request),
            None => Probe::Unavailable(
                "no OS keyring is used here (KEYTOOL_KEYRING, or none is supported)".into(),
            ),
        }
    }
}

/// A source that reports a setup error (no store for generated passphrases, a file descriptor
/// that cannot be opened) when first asked, so that commands needing no passphrase still run.
pub struct Failing(RefCell<Option<Error>>);

impl Failing {
    /// Reports `error` when first asked.
    pub fn new(error: Error) -> Self {
        Failing(RefCell::new(Some(error)))
    }
}

impl PassphraseSource for Failing {
    fn describe(&self) -> String {
        "an unusable source".into()
    }

    fn supply(&self, _request: &Request<'_>) -> Result<Option<Supplied>> {
        match self.0.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn probe(&self, _request: &Request<'_>) -> Probe {
        Probe::Unavailable(
            self.0
                .borrow()
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::store::Slot;
    use crate::passphrase::vault::{KdfParams, Vault};

    const FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    /// A source that answers every request with `answer` and counts the questions, by role.
    struct Counting {
        answer: &'static str,
        asked: Rc<RefCell<Vec<String>>>,
    }

    impl PassphraseSource for Counting {
        fn describe(&self) -> String {
            "a counting source".into()
        }

        fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
            self.asked.borrow_mut().push(request.role.to_string());
            Ok(Some(Supplied {
                passphrase: Passphrase::new(self.answer.into()),
                origin: self.describe(),
                retry_allowed: false,
            }))
        }
    }

    fn counting(answer: &'static str) -> (Counting, Rc<RefCell<Vec<String>>>) {
        let asked = Rc::new(RefCell::new(Vec::new()));
        (
            Counting {
                answer,
                asked: Rc::clone(&asked),
            },
            asked,
        )
    }

    fn no_keyring(k: &str) -> Option<OsString> {
        (k == "KEYTOOL_KEYRING").then(|| "none".into())
    }

    fn setup() -> (tempfile::TempDir, TrustDir) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = TrustDir::new(tmp.path().join("trust"));
        std::fs::create_dir_all(dir.root()).expect("mkdir");
        (tmp, dir)
    }

    fn ask(
        chain: &Chain,
        role: &Role,
        id: Option<&KeyId>,
        purpose: Purpose,
    ) -> Result<Option<String>> {
        Ok(chain
            .supply(&Request {
                key_id: id,
                role,
                gun: None,
                purpose,
                attempt: 0,
                subject: crate::passphrase::Subject::Key,
            })?
            .map(|s| s.origin))
    }

    #[test]
    fn the_documented_order_explicit_environment_vault_prompt() {
        let (_tmp, dir) = setup();
        let id = KeyId::from_digest(&[3; 32]);
        let lock = dir.lock().expect("lock");
        let mut vault =
            Vault::create(&dir, &lock, &Passphrase::new("master-pw".into()), FAST).expect("vault");
        vault.set(
            &id,
            &Role::Root,
            None,
            Slot::Current,
            Passphrase::new("in-vault".into()),
        );
        vault.save(&lock).expect("save");
        drop(lock);
        let env = |k: &str| match k {
            "KEYTOOL_VAULT_PASSPHRASE" => Some(OsString::from("master-pw")),
            "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE" => Some(OsString::from("from-env")),
            _ => None,
        };
        let (prompt, prompted) = counting("typed-passphrase");
        let policy = Policy::new(dir.clone(), no_keyring)
            .expect("policy")
            .with_secrets(env)
            .with_explicit(FixedSource::only_for(
                Role::Targets,
                Passphrase::new("explicit".into()),
                "the explicit file",
            ))
            .with_environment()
            .with_prompt(prompt);
        let unlock = policy.unlock();
        // Explicit first (for its role), then the environment, then the vault, then the prompt.
        assert_eq!(
            ask(&unlock, &Role::Targets, Some(&id), Purpose::Unlock)
                .expect("ok")
                .as_deref(),
            Some("the explicit file")
        );
        assert_eq!(
            ask(&unlock, &Role::Root, Some(&id), Purpose::Unlock)
                .expect("ok")
                .as_deref(),
            Some("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE")
        );
        let snapshot: Role = "snapshot".parse().expect("role");
        let origin = ask(&unlock, &snapshot, Some(&id), Purpose::Unlock).expect("ok");
        assert!(
            origin.as_deref().is_some_and(|o| o.contains("vault")),
            "{origin:?}"
        );
        let other = KeyId::from_digest(&[4; 32]);
        assert_eq!(
            ask(&unlock, &snapshot, Some(&other), Purpose::Unlock)
                .expect("ok")
                .as_deref(),
            Some("a counting source")
        );
        // The vault's master came from the environment: the prompt was asked only for the key.
        assert_eq!(*prompted.borrow(), ["snapshot"]);
        // Checking never asks the prompt.
        prompted.borrow_mut().clear();
        let checking = policy.checking();
        assert_eq!(
            ask(&checking, &snapshot, Some(&other), Purpose::Unlock).expect("ok"),
            None
        );
        assert!(prompted.borrow().is_empty());
        // Choosing never reads a store.
        let choosing = policy.choosing();
        assert_eq!(
            ask(&choosing, &snapshot, Some(&id), Purpose::NewKey)
                .expect("ok")
                .as_deref(),
            Some("a counting source")
        );
    }

    #[test]
    fn a_callback_is_asked_for_the_vault_master_an_explicit_file_never() {
        let (_tmp, dir) = setup();
        let (callback, asked) = counting("master-pw-1");
        let policy = Policy::new(dir.clone(), no_keyring)
            .expect("policy")
            .with_secrets(|_| None)
            .with_callback(callback);
        crate::ops::vault_init(&policy, FAST).expect("init");
        assert_eq!(*asked.borrow(), [MASTER_ROLE]);
        let (explicit, explicit_asked) = counting("master-pw-1");
        let policy = Policy::new(dir, no_keyring)
            .expect("policy")
            .with_secrets(|_| None)
            .with_explicit(explicit);
        let err = policy
            .vault_master(Purpose::Unlock)
            .expect_err("no master source");
        assert!(
            matches!(err, Error::VaultMasterRequired { new: false, .. }),
            "{err}"
        );
        assert!(explicit_asked.borrow().is_empty());
    }

    #[test]
    fn new_passphrases_a_person_chooses_have_eight_characters() {
        let (_tmp, dir) = setup();
        let id = KeyId::from_digest(&[5; 32]);
        for callback in [true, false] {
            let (short, _) = counting("tiny5");
            let policy = Policy::new(dir.clone(), no_keyring)
                .expect("policy")
                .with_secrets(|_| None);
            let policy = if callback {
                policy.with_callback(short)
            } else {
                policy.with_prompt(short)
            };
            let chain = policy.choosing();
            let err = ask(&chain, &Role::Targets, Some(&id), Purpose::NewKey).expect_err("short");
            assert!(matches!(err, Error::WeakPassphrase { .. }), "{err}");
            // Neither the passphrase nor its length is told.
            let text = err.to_string();
            assert!(!text.contains("tiny5") && !text.contains(" 5 "), "{err}");
            // An existing key's passphrase is whatever it is.
            assert!(ask(&chain, &Role::Targets, Some(&id), Purpose::Unlock).is_ok());
        }
        // Given deliberately (a file, the environment), it is taken as it is, as docker does.
        let policy = Policy::new(dir, no_keyring)
            .expect("policy")
            .with_secrets(|k| {
                (k == "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE").then(|| "pw".into())
            })
            .with_environment();
        let chain = policy.choosing();
        assert!(ask(&chain, &Role::Targets, Some(&id), Purpose::NewKey).is_ok());
        assert!(check_new(&Passphrase::new("8 chars!".into()), "x").is_ok());
        assert!(
            check_new(&Passphrase::new("ünïcødé".into()), "x").is_err(),
            "7 characters"
        );
    }

    #[test]
    fn a_wrong_environment_variable_yields_to_the_passphrase_stored_for_the_key() {
        let (_tmp, dir) = setup();
        let kdf = crate::ops::KdfSettings {
            iterations: 1000,
            ..crate::ops::KdfSettings::default()
        };
        let gun: crate::ids::Gun = "example.com/acme/app".parse().expect("gun");
        let made = crate::ops::generate(
            &dir,
            &FixedSource::new(Passphrase::new("snapshot-pass-1".into()), "given"),
            "snapshot".parse().expect("role"),
            Some(gun),
            &kdf,
        )
        .expect("generate");
        let id: KeyId = made.id.clone();
        let lock = dir.lock().expect("lock");
        let mut vault =
            Vault::create(&dir, &lock, &Passphrase::new("master-pw".into()), FAST).expect("vault");
        vault.set(
            &id,
            &"snapshot".parse().expect("role"),
            None,
            Slot::Current,
            Passphrase::new("snapshot-pass-1".into()),
        );
        vault.save(&lock).expect("save");
        drop(lock);
        // docker's repository variable holds the targets key's passphrase: wrong for this key.
        let env = |k: &str| match k {
            "KEYTOOL_VAULT_PASSPHRASE" => Some(OsString::from("master-pw")),
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE" => Some(OsString::from("targets-pass")),
            _ => None,
        };
        let (prompt, prompted) = counting("typed-passphrase");
        let policy = Policy::new(dir.clone(), no_keyring)
            .expect("policy")
            .with_secrets(env)
            .with_environment()
            .with_prompt(prompt);
        let key = crate::ops::load_key(&dir, &id, &policy.unlock(), &kdf)
            .expect("opens")
            .key;
        assert_eq!(key.id(), id);
        assert!(prompted.borrow().is_empty(), "never a prompt");
        // Without a stored passphrase, the wrong variable is the error (not a prompt).
        let bare = Policy::new(dir.clone(), no_keyring)
            .expect("policy")
            .with_secrets(|k| {
                (k == "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE").then(|| "targets-pass".into())
            })
            .with_environment();
        let err = crate::ops::load_key(&dir, &id, &bare.unlock(), &kdf).expect_err("wrong");
        assert!(
            err.to_string()
                .contains("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"),
            "{err}"
        );
        // A wrong passphrase given for the key itself (a file, a callback) is not skipped.
        let explicit = Policy::new(dir.clone(), no_keyring)
            .expect("policy")
            .with_secrets(env)
            .with_explicit(FixedSource::new(
                Passphrase::new("wrong-one".into()),
                "the file",
            ));
        let err = crate::ops::load_key(&dir, &id, &explicit.unlock(), &kdf).expect_err("wrong");
        assert!(matches!(err, Error::WrongPassphrase { .. }), "{err}");
    }

    #[test]
    fn a_misspelt_keyring_choice_fails_before_anything_is_asked() {
        let (_tmp, dir) = setup();
        let err = Policy::new(dir, |k| (k == "KEYTOOL_KEYRING").then(|| "nonee".into()))
            .err()
            .expect("misspelt");
        assert!(err.to_string().contains("KEYTOOL_KEYRING"), "{err}");
    }
}
