//! A bounded pool for bulk operations: items run on at most `jobs` worker threads, results come
//! back in input order, and everything that is not thread-safe (the passphrase source, the
//! secret stores, the caller's step callback) stays on the calling thread, which answers the
//! workers' requests one at a time.
//!
//! Serving the passphrase chain from one thread keeps it as it is (`Rc`, `RefCell`, prompts and
//! C or Go callbacks that expect one caller at a time): a prompt is never shown twice at once, a
//! passphrase or vault master obtained once is reused exactly as in a serial run, and no secret
//! crosses a thread other than inside its zeroizing type, through a channel of one answer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::rotate::Step;
use crate::error::{Error, Result};
use crate::ids::{Gun, KeyId, Role};
use crate::passphrase::store::{SecretStore, Slot};
use crate::passphrase::{PassphraseSource, Probe, Purpose, Request, Subject, Supplied};
use crate::secret::Passphrase;

/// What only the calling thread may touch, lent to the requests it answers.
pub(crate) struct Desk<'a> {
    /// The passphrase source.
    pub source: &'a dyn PassphraseSource,
    /// The stores passphrases are kept in.
    pub stores: &'a [&'a dyn SecretStore],
    /// The caller's step callback.
    pub on_step: &'a dyn Fn(Step),
}

/// A request a worker sends to the calling thread: run there, with the desk.
type Job<'s> = Box<dyn FnOnce(&Desk<'_>) + Send + 's>;

enum Message<'s> {
    /// Run this on the calling thread.
    Ask(Job<'s>),
    /// Item `n` is done; its result is in its slot.
    Done(usize),
}

/// A worker's line to the calling thread.
pub(crate) struct Relay<'s> {
    to_desk: mpsc::Sender<Message<'s>>,
}

impl<'s> Relay<'s> {
    /// Runs `f` on the calling thread and waits for its answer.
    fn ask<T: Send + 's>(&self, f: impl FnOnce(&Desk<'_>) -> T + Send + 's) -> Result<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job<'s> = Box::new(move |desk: &Desk<'_>| {
            // The worker waits for this answer; it cannot be gone.
            let _ = answer.send(f(desk));
        });
        let gone = || Error::Internal {
            what: "the thread answering passphrase requests stopped".into(),
        };
        self.to_desk.send(Message::Ask(job)).map_err(|_| gone())?;
        answered.recv().map_err(|_| gone())
    }

    /// The passphrase source, as seen from a worker.
    pub(crate) fn source(&self) -> RelaySource<'_, 's> {
        RelaySource { relay: self }
    }

    /// Store `index` of the desk's stores, as seen from a worker.
    pub(crate) fn store(&self, index: usize) -> RelayStore<'_, 's> {
        RelayStore { relay: self, index }
    }

    /// Calls the caller's step callback on the calling thread (and waits, so that a test's
    /// fault point stops this worker right at its step).
    pub(crate) fn step(&self, step: Step) {
        // Only fails when the calling thread is gone, and then nobody is listening.
        let _ = self.ask(move |desk| (desk.on_step)(step));
    }
}

/// Runs `work` on every item on at most `jobs` threads (the calling thread serves the desk
/// meanwhile and runs no item itself), calling `done(index, &result)` on the calling thread as
/// each finishes. Returns the results in the order of `items`. A panic in `work` is resumed here
/// once every worker has stopped.
/// Fails only when not one worker thread can be started.
pub(crate) fn run<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    desk: &Desk<'_>,
    work: &(dyn Fn(&T, &Relay<'_>) -> R + Sync),
    done: &mut dyn FnMut(usize, &R),
) -> Result<Vec<R>> {
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = jobs.clamp(1, items.len().max(1));
    let started = std::thread::scope(|scope| {
        let (to_desk, inbox) = mpsc::channel::<Message<'_>>();
        let mut started = 0;
        for _ in 0..workers {
            let relay = Relay {
                to_desk: to_desk.clone(),
            };
            let (slots, next) = (&slots, &next);
            let worker = move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item, &relay);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                    if relay.to_desk.send(Message::Done(i)).is_err() {
                        break;
                    }
                }
            };
            // A thread that cannot be started leaves its share to the others.
            if std::thread::Builder::new()
                .name("keytool-worker".into())
                .spawn_scoped(scope, worker)
                .is_ok()
            {
                started += 1;
            }
        }
        // Only the workers' senders are left: the inbox closes when the last worker stops.
        drop(to_desk);
        for message in inbox {
            match message {
                Message::Ask(job) => job(desk),
                Message::Done(i) => {
                    let slot = slots[i].lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(result) = slot.as_ref() {
                        done(i, result);
                    }
                }
            }
        }
        started
    });
    let results: Option<Vec<R>> = slots
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    match results {
        Some(results) => Ok(results),
        None => Err(Error::Internal {
            what: format!(
                "{started} of {workers} worker threads could be started; not every item ran"
            ),
        }),
    }
}

/// A request with its borrowed parts owned, to cross to the calling thread.
struct OwnedRequest {
    key_id: Option<KeyId>,
    role: Role,
    gun: Option<Gun>,
    purpose: Purpose,
    attempt: u32,
    subject: Subject,
}

impl OwnedRequest {
    fn of(r: &Request<'_>) -> Self {
        OwnedRequest {
            key_id: r.key_id.cloned(),
            role: r.role.clone(),
            gun: r.gun.cloned(),
            purpose: r.purpose,
            attempt: r.attempt,
            subject: r.subject,
        }
    }

    fn request(&self) -> Request<'_> {
        Request {
            key_id: self.key_id.as_ref(),
            role: &self.role,
            gun: self.gun.as_ref(),
            purpose: self.purpose,
            attempt: self.attempt,
            subject: self.subject,
        }
    }
}

/// The desk's passphrase source, asked from a worker.
pub(crate) struct RelaySource<'r, 's> {
    relay: &'r Relay<'s>,
}

impl PassphraseSource for RelaySource<'_, '_> {
    fn describe(&self) -> String {
        self.relay
            .ask(|desk| desk.source.describe())
            .unwrap_or_else(|e| e.to_string())
    }

    fn supply(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let owned = OwnedRequest::of(request);
        self.relay
            .ask(move |desk| desk.source.supply(&owned.request()))?
    }

    fn probe(&self, request: &Request<'_>) -> Probe {
        let owned = OwnedRequest::of(request);
        self.relay
            .ask(move |desk| desk.source.probe(&owned.request()))
            .unwrap_or_else(|e| Probe::Unavailable(e.to_string()))
    }

    fn supply_stored(&self, request: &Request<'_>) -> Result<Option<Supplied>> {
        let owned = OwnedRequest::of(request);
        self.relay
            .ask(move |desk| desk.source.supply_stored(&owned.request()))?
    }
}

/// One of the desk's stores, used from a worker.
pub(crate) struct RelayStore<'r, 's> {
    relay: &'r Relay<'s>,
    index: usize,
}

impl RelayStore<'_, '_> {
    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SecretStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let index = self.index;
        self.relay.ask(move |desk| match desk.stores.get(index) {
            Some(store) => f(*store),
            None => Err(Error::Internal {
                what: format!("no passphrase store number {index}"),
            }),
        })?
    }
}

impl SecretStore for RelayStore<'_, '_> {
    fn describe(&self) -> String {
        self.with(|s| Ok(s.describe()))
            .unwrap_or_else(|e| e.to_string())
    }

    fn available(&self) -> Result<()> {
        self.with(|s| s.available())
    }

    fn durable(&self) -> bool {
        self.with(|s| Ok(s.durable())).unwrap_or(false)
    }

    fn contains(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        let key_id = key_id.clone();
        self.with(move |s| s.contains(&key_id, slot))
    }

    fn get(&self, key_id: &KeyId, slot: Slot) -> Result<Option<Passphrase>> {
        let key_id = key_id.clone();
        self.with(move |s| s.get(&key_id, slot))
    }

    fn put(
        &self,
        key_id: &KeyId,
        role: &Role,
        gun: Option<&Gun>,
        slot: Slot,
        passphrase: &Passphrase,
    ) -> Result<()> {
        let (key_id, role, gun, passphrase) = (
            key_id.clone(),
            role.clone(),
            gun.cloned(),
            passphrase.clone(),
        );
        self.with(move |s| s.put(&key_id, &role, gun.as_ref(), slot, &passphrase))
    }

    fn delete(&self, key_id: &KeyId, slot: Slot) -> Result<bool> {
        let key_id = key_id.clone();
        self.with(move |s| s.delete(&key_id, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::FixedSource;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn request(role: &Role) -> Request<'_> {
        Request {
            key_id: None,
            role,
            gun: None,
            purpose: Purpose::Unlock,
            attempt: 0,
            subject: Subject::Key,
        }
    }

    #[test]
    fn results_come_back_in_input_order_with_at_most_jobs_running() {
        let source = FixedSource::new(Passphrase::new("pw".into()), "fixed");
        let desk = Desk {
            source: &source,
            stores: &[],
            on_step: &|_| {},
        };
        let items: Vec<u64> = (0..40).collect();
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let work = |n: &u64, relay: &Relay<'_>| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Later items finish first, so completion order differs from input order.
            std::thread::sleep(Duration::from_millis(40 - n));
            let answer = relay
                .source()
                .supply(&request(&Role::Targets))
                .expect("asked")
                .expect("answered");
            assert_eq!(answer.passphrase.expose(), b"pw");
            running.fetch_sub(1, Ordering::SeqCst);
            n * 10
        };
        let mut finished = Vec::new();
        let results =
            run(&items, 4, &desk, &work, &mut |i, r| finished.push((i, *r))).expect("ran");
        assert_eq!(results, items.iter().map(|n| n * 10).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 4, "bounded by jobs, and used");
        assert_eq!(finished.len(), items.len(), "progress once per item");
        assert!(
            finished.iter().all(|(i, r)| *r == items[*i] * 10),
            "progress gets each item's own result"
        );
        assert_ne!(
            finished.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..40).collect::<Vec<_>>(),
            "items ran concurrently and finished out of order"
        );
    }

    #[test]
    fn one_job_runs_items_one_at_a_time_and_requests_are_answered_one_at_a_time() {
        // A source that is not thread-safe (a `Cell`), as prompts and callbacks are not: the
        // pool only ever calls it on the calling thread, one request at a time.
        struct Counting(std::cell::Cell<u32>, std::cell::Cell<bool>);
        impl PassphraseSource for Counting {
            fn describe(&self) -> String {
                "counting".into()
            }
            fn supply(&self, _: &Request<'_>) -> Result<Option<Supplied>> {
                assert!(!self.1.replace(true), "two requests at once");
                std::thread::sleep(Duration::from_millis(2));
                self.0.set(self.0.get() + 1);
                self.1.set(false);
                Ok(None)
            }
        }
        let source = Counting(0.into(), false.into());
        let steps = std::cell::RefCell::new(Vec::new());
        let on_step = |s: Step| steps.borrow_mut().push(s);
        let desk = Desk {
            source: &source,
            stores: &[],
            on_step: &on_step,
        };
        let items: Vec<usize> = (0..12).collect();
        let running = AtomicUsize::new(0);
        let work = |n: &usize, relay: &Relay<'_>| {
            let others = running.fetch_add(1, Ordering::SeqCst);
            for _ in 0..3 {
                assert!(
                    relay
                        .source()
                        .supply(&request(&Role::Root))
                        .expect("ok")
                        .is_none()
                );
            }
            relay.step(Step::Journaled);
            assert!(
                relay
                    .store(0)
                    .contains(&KeyId::from_digest(&[1; 32]), Slot::Current)
                    .is_err()
            );
            running.fetch_sub(1, Ordering::SeqCst);
            (*n, others)
        };
        let serial = run(&items, 1, &desk, &work, &mut |_, _| {}).expect("ran");
        assert!(
            serial.iter().all(|(_, others)| *others == 0),
            "one at a time"
        );
        let parallel = run(&items, 6, &desk, &work, &mut |_, _| {}).expect("ran");
        assert_eq!(
            parallel.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            items,
            "input order"
        );
        assert_eq!(source.0.get(), 2 * 12 * 3, "every request answered");
        assert_eq!(steps.borrow().len(), 2 * 12, "every step reported");
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let source = FixedSource::new(Passphrase::new("pw".into()), "fixed");
        let desk = Desk {
            source: &source,
            stores: &[],
            on_step: &|_| {},
        };
        let items = [1, 2, 3];
        let work = |n: &i32, _: &Relay<'_>| {
            assert_ne!(*n, 2, "boom");
            *n
        };
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(&items, 2, &desk, &work, &mut |_, _| {})
        }));
        assert!(caught.is_err());
    }
}
