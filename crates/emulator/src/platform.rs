//! The platform: the shared state of the one function the emulator plays, and the rules by which
//! the Lambda service (not the runtime) starts and ends invocations.
//!
//! Every connection handler holds an `Arc<Platform>`. The front ends [`submit`](Platform::submit)
//! invocations; the Runtime API takes them with [`next_invocation`](Platform::next_invocation) and
//! answers them; the platform ends them itself when a rule says so:
//! - the invocation's deadline passes after `/next` handed it out (`Sandbox.Timeout`; the
//!   supervised process that held it is restarted);
//! - it waits in the queue longer than the function timeout because no runtime takes it
//!   (`Sandbox.Timeout`, naming the likely cause);
//! - the bootstrap fails its init: it exits before its first `/next`, or posts
//!   `/runtime/init/error`. Lambda then fails the invocation that was waiting for that execution
//!   environment with the init error (`Runtime.ExitError` with "Runtime exited with error: exit
//!   status N", or the error the runtime reported), so every queued invocation fails at once
//!   instead of waiting for restarts that fail the same way;
//! - the process holding it exits (`Runtime.ExitError`).
//!
//! ## Deadlines
//! One task per emulator, the keeper ([`Platform::deadline_keeper`]), watches every invocation
//! that can still run out of time: a book ordered by deadline, which `submit` writes into and
//! which forgets an invocation as soon as nothing of it can time out any more. The keeper sleeps
//! until the earliest deadline in the book. Every deadline is some moment already past plus the
//! function timeout (the same for every invocation): the call, or the `/next` that took it. So a
//! deadline `submit` writes, now plus the timeout, is never earlier than one already in the book,
//! and `submit` never has to wake the keeper, except when the keeper found the book empty and
//! waits to be told. An invocation so costs no task, no timer and no wake-up for its deadlines
//! (a task spawned per invocation woke the other worker thread for each; docs/performance.md,
//! "Fourth round").
//!
//! ## Memory
//! Only what is in flight is kept whole: the registry maps the ids of queued and running
//! invocations to them, and forgets an invocation when it ends, keeping only its id and who ended
//! it in a bounded list (so a late answer still gets "timed out" or "already answered" rather than
//! "unknown id"); the deadline book holds an invocation only until it settles. The event is
//! dropped as soon as `/next` has taken it. The recorder keeps a bounded history of sizes and
//! times, and of the payloads only capped excerpts (copies).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use lambda_stream_protocol::diagnostic::error_types;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use crate::config::{ApiGatewayConfig, Auth, FunctionConfig, Limits};
use crate::invocation::{Context, Invocation, InvocationError, InvocationStream, NewInvocation, Phase};
use crate::logs::{FunctionLog, PipeCapture};
use crate::recorder::{FaultKind, Recorder};
use crate::time;

/// Ended invocations whose ids are remembered, for the answers to late posts.
const ENDED_IDS: usize = 1024;
/// How long a log tail waits at most for the runtime to ask for its next invocation, and then for
/// the lines it printed to cross its pipes. Only a runtime that never asks again (or never reads
/// its pipes' end) makes a tail wait this long; the tail is then cut with what arrived.
const LOG_SETTLE_MAX: Duration = Duration::from_secs(2);

/// What the registry knows about a request id.
#[derive(Debug, Clone)]
pub(crate) enum Known {
    /// Queued or running.
    InFlight(Arc<Invocation>),
    /// Ended recently; `by_platform` when the emulator ended it (timeout, size, exit).
    Ended {
        /// Who ended it.
        by_platform: bool,
    },
}

#[derive(Debug, Default)]
struct Registry {
    in_flight: HashMap<String, Arc<Invocation>>,
    ended: HashMap<String, bool>,
    ended_order: VecDeque<String>,
}

impl Registry {
    fn retire(&mut self, id: &str, by_platform: bool) {
        if self.in_flight.remove(id).is_none() {
            return;
        }
        if self.ended_order.len() >= ENDED_IDS
            && let Some(old) = self.ended_order.pop_front()
        {
            self.ended.remove(&old);
        }
        self.ended.insert(id.to_owned(), by_platform);
        self.ended_order.push_back(id.to_owned());
    }
}

/// What one look at the queue gave a `/next`.
enum Take {
    Delivered(Arc<Invocation>),
    Skipped,
    Empty,
    Draining,
}

/// One supervised process's Runtime API slot, as the platform sees it.
#[derive(Debug)]
struct Slot {
    /// Asks the supervisor to restart the process (a deadline passed on it).
    restart: mpsc::UnboundedSender<String>,
    /// Whether the current process has called `/next` since it started: until then it is in its
    /// init phase, and an exit is an init failure.
    initialised: bool,
    /// The current process's output pipes (none for a slot whose process was started otherwise).
    capture: Option<Arc<PipeCapture>>,
    /// The process is being replaced: it finishes what it holds and gets nothing new.
    draining: bool,
}

/// The invocation a runtime was handed last: its id and the invocation, while it exists.
type Handed = (String, Weak<Invocation>);

/// State shared by every listener and connection of one emulator.
#[derive(Debug)]
pub(crate) struct Platform {
    /// The function served: name, timeout, memory size, region, account, qualifiers.
    pub(crate) function: FunctionConfig,
    /// Response size caps, request size cap, bandwidth shaping.
    pub(crate) limits: Limits,
    /// Who may call the client front ends.
    pub(crate) auth: Auth,
    /// Path of the Swift-style local endpoint (default `/invoke`).
    pub(crate) invoke_path: String,
    /// The API Gateway REST API in front of the function, when its listener is on.
    pub(crate) api_gateway: Option<ApiGatewayConfig>,
    /// Invocations waiting for a runtime's `/next`, oldest first.
    queue: Mutex<VecDeque<Arc<Invocation>>>,
    /// Wakes a waiting `/next` when an invocation is queued.
    queued: Notify,
    /// In-flight invocations by request id, and the ids of recently ended ones.
    registry: Mutex<Registry>,
    /// The wire timeline of both legs, for tests, the conformance suite and the dashboard.
    pub(crate) recorder: Recorder,
    /// What the bootstrap printed, for `LogResult` tails; the platform adds START/END/REPORT.
    pub(crate) log: FunctionLog,
    /// Supervised processes' slots by id.
    slots: Mutex<HashMap<u32, Slot>>,
    /// `GET /next` calls per slot (`None`: runtimes started by hand), also bumped when a slot's
    /// process exits: the runtime holding an invocation has moved past it once its count grows.
    polls: Mutex<HashMap<Option<u32>, u64>>,
    /// Wakes what waits for a count in `polls` to grow.
    polled: Notify,
    /// The id the next slot gets.
    next_slot: AtomicU32,
    /// The invocation each runtime (by supervised slot; `None` for runtimes outside supervision)
    /// was handed last, until it asks for the next one: its handler may still be working after
    /// the response. Weak, so that it keeps nothing alive.
    handed: Mutex<HashMap<Option<u32>, Handed>>,
    /// The deadlines the keeper watches ([`Self::deadline_keeper`]).
    deadlines: Arc<DeadlineBook>,
}

/// The invocations that can still run out of time, by deadline, shared by the platform (which
/// writes and forgets) and the keeper (which acts when one passes).
#[derive(Debug, Default)]
struct DeadlineBook {
    book: Mutex<Book>,
    /// Wakes the keeper when it waits with an empty book.
    written: Notify,
}

#[derive(Debug, Default)]
struct Book {
    /// (deadline, the invocation's address) → the invocation; the address keeps equal deadlines
    /// apart and is unique while the entry holds the invocation.
    by_time: BTreeMap<(Instant, usize), Arc<Invocation>>,
    /// The address → its entry's deadline, to forget an invocation without a search.
    by_address: HashMap<usize, Instant>,
    /// The keeper found the book empty and waits to be told.
    idle: bool,
}

impl Book {
    fn write(&mut self, at: Instant, invocation: Arc<Invocation>) {
        let address = Arc::as_ptr(&invocation) as usize;
        if let Some(before) = self.by_address.insert(address, at) {
            self.by_time.remove(&(before, address));
        }
        self.by_time.insert((at, address), invocation);
    }

    fn forget(&mut self, invocation: &Invocation) {
        let address = std::ptr::from_ref(invocation) as usize;
        if let Some(at) = self.by_address.remove(&address) {
            self.by_time.remove(&(at, address));
        }
    }

    /// Takes out the earliest entry if its deadline is `now` or earlier.
    fn take_due(&mut self, now: Instant) -> Option<(Instant, Arc<Invocation>)> {
        let entry = self.by_time.first_entry().filter(|e| e.key().0 <= now)?;
        let ((at, address), invocation) = entry.remove_entry();
        self.by_address.remove(&address);
        Some((at, invocation))
    }
}

impl Platform {
    pub(crate) fn new(
        function: FunctionConfig,
        limits: Limits,
        auth: Auth,
        invoke_path: String,
        api_gateway: Option<ApiGatewayConfig>,
        recorder: Recorder,
    ) -> Self {
        Self {
            function,
            limits,
            auth,
            invoke_path,
            api_gateway,
            queue: Mutex::default(),
            queued: Notify::new(),
            registry: Mutex::default(),
            recorder,
            log: FunctionLog::default(),
            slots: Mutex::default(),
            polls: Mutex::default(),
            polled: Notify::new(),
            next_slot: AtomicU32::new(1),
            handed: Mutex::default(),
            deadlines: Arc::default(),
        }
    }

    /// Queues an invocation for the function; its deadline is written in the keeper's book now
    /// ([`Self::deadline_keeper`]).
    pub(crate) fn submit(&self, new: NewInvocation) -> (Arc<Invocation>, InvocationStream) {
        let NewInvocation { payload, front_end, request_id, client_request_id, client_context, qualifier } = new;
        let id = request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let invoked_arn = match qualifier {
            Some(q) => format!("{}:{q}", self.function.arn()),
            None => self.function.arn(),
        };
        let context = Context { client_context, cognito_identity: None, trace_id: trace_id(), invoked_arn };
        self.recorder.open(&id, client_request_id, front_end, &payload);
        let (invocation, stream) = Invocation::new(id.clone(), payload, context, self.log.position());
        let invocation = Arc::new(invocation);
        self.registry.lock().unwrap().in_flight.insert(id, invocation.clone());
        self.queue.lock().unwrap().push_back(invocation.clone());
        self.queued.notify_one();
        self.write_deadline(invocation.clone());
        (invocation, stream)
    }

    /// Waits for the next queued invocation (a runtime's `GET /next`) and marks it delivered to
    /// `slot`. Invocations the platform ended while queued are skipped. A draining slot gets
    /// nothing: its `/next` waits until the slot is closed.
    pub(crate) async fn next_invocation(&self, slot: Option<u32>) -> Arc<Invocation> {
        self.runtime_returned(slot);
        if let Some(slot) = slot
            && let Some(s) = self.slots.lock().unwrap().get_mut(&slot)
        {
            s.initialised = true;
        }
        let poll = self.count_poll(slot);
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            loop {
                // Taken and delivered under the queue lock, where `drain_slot` sets its flag: once
                // a slot drains, nothing more is delivered to it.
                let taken = {
                    let mut queue = self.queue.lock().unwrap();
                    if self.is_draining(slot) {
                        if !queue.is_empty() {
                            // A wake-up this runtime will not use goes to another one.
                            self.queued.notify_one();
                        }
                        Take::Draining
                    } else {
                        match queue.pop_front() {
                            None => Take::Empty,
                            Some(invocation) if invocation.deliver(slot, poll) => {
                                if !queue.is_empty() {
                                    // More work: pass the wake-up on to another waiting runtime.
                                    self.queued.notify_one();
                                }
                                Take::Delivered(invocation)
                            }
                            // Ended by the platform while queued: skip it.
                            Some(_) => Take::Skipped,
                        }
                    }
                };
                match taken {
                    Take::Delivered(invocation) => {
                        let handed = (invocation.id.clone(), Arc::downgrade(&invocation));
                        self.handed.lock().unwrap().insert(slot, handed);
                        return invocation;
                    }
                    Take::Skipped => {}
                    Take::Empty => break,
                    Take::Draining => return std::future::pending().await,
                }
            }
            notified.await;
        }
    }

    /// Counts one `GET /next` of `slot` (or its process's exit) and wakes the log tails waiting
    /// for it; returns the new count.
    fn count_poll(&self, slot: Option<u32>) -> u64 {
        let count = {
            let mut polls = self.polls.lock().unwrap();
            let count = polls.entry(slot).or_default();
            *count += 1;
            *count
        };
        self.polled.notify_waiters();
        count
    }

    /// Waits until what `invocation`'s runtime printed while serving it is in the log: until that
    /// runtime asks for its next invocation (a runtime's loop does so only after the handler
    /// returned) or its process exits, and then until the lines it wrote before that have
    /// crossed its pipes (a sync mark, see `logs`). At most [`LOG_SETTLE_MAX`] for each step.
    /// A runtime started by hand (no slot) has no output the emulator captures: what an
    /// in-process runtime pushes to the log is there as it prints it, so nothing is waited for.
    pub(crate) async fn settle_log(&self, invocation: &Invocation) {
        let Some((Some(slot), poll)) = invocation.taken_by_poll() else { return };
        let slot = Some(slot);
        let moved_on = async {
            loop {
                let notified = self.polled.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                // A slot forgotten (`remove_slot`) has no process left to wait for.
                if self.polls.lock().unwrap().get(&slot).is_none_or(|count| *count > poll) {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(LOG_SETTLE_MAX, moved_on).await;
        let capture = slot.and_then(|slot| self.slots.lock().unwrap().get(&slot).and_then(|s| s.capture.clone()));
        if let Some(capture) = capture {
            capture.sync(LOG_SETTLE_MAX).await;
        }
    }

    fn is_draining(&self, slot: Option<u32>) -> bool {
        slot.is_some_and(|slot| self.slots.lock().unwrap().get(&slot).is_some_and(|s| s.draining))
    }

    /// Stops delivering invocations to `slot` (its process is being replaced) and returns those it
    /// holds, which it may still answer.
    pub(crate) fn drain_slot(&self, slot: u32) -> Vec<Arc<Invocation>> {
        {
            let _queue = self.queue.lock().unwrap();
            if let Some(s) = self.slots.lock().unwrap().get_mut(&slot) {
                s.draining = true;
            }
        }
        // A `/next` of this slot that is waiting wakes, sees the flag and lets go.
        self.queued.notify_waiters();
        self.held_by(slot)
    }

    /// The invocations delivered to `slot` and not yet ended.
    fn held_by(&self, slot: u32) -> Vec<Arc<Invocation>> {
        self.registry
            .lock()
            .unwrap()
            .in_flight
            .values()
            .filter(|inv| inv.slot() == Some(slot) && matches!(inv.phase(), Phase::Delivered | Phase::Responding))
            .cloned()
            .collect()
    }

    /// Forgets a slot whose process is gone for good (replaced and drained, or stopped).
    pub(crate) fn remove_slot(&self, slot: u32) {
        if let Some(capture) = self.slots.lock().unwrap().remove(&slot).and_then(|s| s.capture) {
            capture.close();
        }
        // A log tail waiting for this slot's next poll stops waiting.
        self.polls.lock().unwrap().remove(&Some(slot));
        self.polled.notify_waiters();
    }

    /// Invocations accepted and not yet ended, and of those, the ones still waiting for a
    /// runtime's `/next`. Both fall back to zero once everything has ended, whichever way it
    /// ended: what the emulator holds is bounded by what is in flight.
    pub(crate) fn load(&self) -> (usize, usize) {
        let in_flight = self.registry.lock().unwrap().in_flight.len();
        (in_flight, self.queue.lock().unwrap().len())
    }

    /// What the registry knows about `request_id`.
    pub(crate) fn lookup(&self, request_id: &str) -> Option<Known> {
        let registry = self.registry.lock().unwrap();
        if let Some(invocation) = registry.in_flight.get(request_id) {
            return Some(Known::InFlight(invocation.clone()));
        }
        registry.ended.get(request_id).map(|&by_platform| Known::Ended { by_platform })
    }

    /// Ends an invocation from the runtime side (its answer is complete) with `result`; false when
    /// the platform had ended it first.
    pub(crate) fn finish(&self, invocation: &Invocation, result: Result<(), InvocationError>) -> bool {
        if !invocation.try_finish() {
            return false;
        }
        self.recorder.outcome(&invocation.id, result);
        self.log_end(&invocation.id);
        self.registry.lock().unwrap().retire(&invocation.id, false);
        if invocation.has_returned() {
            self.forget_deadline(invocation);
        }
        true
    }

    /// Ends an invocation from the platform side and records it; false when it had already ended.
    pub(crate) fn abort(&self, invocation: &Invocation, error: InvocationError) -> bool {
        self.end_by_platform(invocation, error, false)
    }

    fn end_by_platform(&self, invocation: &Invocation, error: InvocationError, only_if_queued: bool) -> bool {
        let was_queued = invocation.phase() == Phase::Queued;
        let ended = invocation.abort(error.clone(), only_if_queued);
        if ended {
            tracing::warn!(request_id = %invocation.id, error_type = %error.error_type, "{}", error.error_message);
            self.recorder.outcome(&invocation.id, Err(error));
            self.log_end(&invocation.id);
            let now = self.recorder.now();
            self.recorder.update(&invocation.id, |r, _| {
                r.runtime.ended_at.get_or_insert(now);
            });
            if was_queued {
                self.queue.lock().unwrap().retain(|queued| queued.id != invocation.id);
            }
            self.registry.lock().unwrap().retire(&invocation.id, true);
            self.forget_deadline(invocation);
        }
        ended
    }

    /// Writes an invocation's first deadline, the end of its time in the queue, in the keeper's
    /// book, and tells the keeper only when it waits with an empty book: otherwise the keeper's
    /// next wake-up is already no later than this deadline (module documentation, "Deadlines").
    fn write_deadline(&self, invocation: Arc<Invocation>) {
        let wake = {
            let mut book = self.deadlines.book.lock().unwrap();
            book.write(Instant::now() + self.function.timeout, invocation);
            std::mem::take(&mut book.idle)
        };
        if wake {
            self.deadlines.written.notify_one();
        }
    }

    /// The deadline keeper: the one task per emulator that ends the invocations whose deadline
    /// passed ([`Self::deadline_passed`]), until the emulator shuts down or is gone. It holds the
    /// platform weakly. See the module documentation for why `submit` never has to wake it while
    /// the book has entries.
    pub(crate) fn deadline_keeper(
        self: &Arc<Self>,
        shutdown: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static {
        keep_deadlines(Arc::downgrade(self), self.deadlines.clone(), shutdown)
    }

    /// Takes an invocation out of the book: nothing of it can run out of time any more.
    fn forget_deadline(&self, invocation: &Invocation) {
        self.deadlines.book.lock().unwrap().forget(invocation);
    }

    /// An invocation's deadline in the book passed (`at`). The rules, as Lambda applies them:
    /// - still queued (no runtime took it within the function timeout): it ends with
    ///   `Sandbox.Timeout`, so a caller never waits for a runtime that does not come;
    /// - delivered: its own deadline counts from `/next`, so it goes back in the book at
    ///   `delivered_at + timeout` when that is later; once that passes it ends with
    ///   `Sandbox.Timeout` and, when a supervised process holds it, that process is restarted.
    ///
    /// The deadline covers the handler until it returns, not only until the response is
    /// complete: work after `finish` counts too (SWIFT `Examples/BackgroundTasks/README.md`: the
    /// timeout must cover the background work, or the environment is stopped), so an invocation
    /// leaves the book early only when it has both returned and ended ([`Invocation::is_settled`])
    /// or the platform ended it.
    fn deadline_passed(&self, at: Instant, invocation: Arc<Invocation>) {
        if invocation.is_aborted() || invocation.is_settled() {
            return;
        }
        let timeout = self.function.timeout;
        // Ended only if still queued, by `end_by_platform` in one step with `/next`'s taking it:
        // one a runtime takes at this very moment is not lost between a look and an end. The
        // look first only spares building the message for one that left the queue long ago (an
        // invocation leaves the queue once and never comes back to it).
        if invocation.phase() == Phase::Queued
            && self.end_by_platform(&invocation, queue_timeout(&invocation, timeout), true)
        {
            return;
        }
        match invocation.delivered_at() {
            // Handed out before its queue deadline: its own deadline counts from there.
            Some(delivered) if delivered + timeout > at => {
                self.deadlines.book.lock().unwrap().write(delivered + timeout, invocation);
            }
            Some(_) => self.run_timed_out(&invocation, timeout),
            None => {}
        }
    }

    /// A delivered invocation passed its deadline: it ends with `Sandbox.Timeout` and a supervised
    /// process holding it is restarted; when its answer was complete but the handler still works
    /// after it, the process is restarted all the same.
    fn run_timed_out(&self, invocation: &Invocation, timeout: std::time::Duration) {
        let message = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
        let error = InvocationError::platform(error_types::SANDBOX_TIMEOUT, message.clone());
        let slot = invocation.slot();
        if self.abort(invocation, error) {
            if let Some(slot) = slot {
                self.restart(slot, &invocation.id);
            }
        } else if !invocation.has_returned() {
            // The client has its whole answer; the handler is still at work after it.
            match slot {
                Some(slot) => {
                    tracing::warn!(request_id = %invocation.id, "{message} (after the response): stopping the bootstrap");
                    self.log.push_line(format!("{} {message}", invocation.id));
                    self.restart(slot, &invocation.id);
                }
                None => tracing::warn!(
                    request_id = %invocation.id,
                    "{message} (after the response); the runtime is not supervised by the emulator (it runs \
                     in this process, or someone else started it), so its work cannot be stopped"
                ),
            }
        }
    }

    /// Asks the supervisor of `slot` to kill and restart its process (an invocation timed out).
    fn restart(&self, slot: u32, request_id: &str) {
        if let Some(s) = self.slots.lock().unwrap().get(&slot) {
            let _ = s.restart.send(request_id.to_owned());
        }
    }

    /// A runtime asks for its next invocation: the one it was handed before has returned.
    fn runtime_returned(&self, slot: Option<u32>) {
        let Some((id, invocation)) = self.handed.lock().unwrap().remove(&slot) else { return };
        self.recorder.update(&id, |r, at| r.runtime.returned_at = Some(at));
        if let Some(invocation) = invocation.upgrade() {
            invocation.mark_returned();
            if invocation.is_settled() {
                self.forget_deadline(&invocation);
            }
        }
    }

    /// Writes Lambda's `END` and `REPORT` lines for an invocation into the function log.
    fn log_end(&self, request_id: &str) {
        let taken = self.recorder.invocation(request_id).and_then(|r| r.runtime.taken_at);
        let millis = taken.map_or(0.0, |t| self.recorder.now().saturating_sub(t).as_secs_f64() * 1000.0);
        self.log.push_line(format!("END RequestId: {request_id}"));
        self.log.push_line(format!(
            "REPORT RequestId: {request_id}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
            millis.ceil() as u64,
            self.function.memory_size_mb
        ));
    }

    /// A new slot for a supervised process; its restart requests arrive on the receiver.
    pub(crate) fn add_slot(&self) -> (u32, mpsc::UnboundedReceiver<String>) {
        let id = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let (restart, restarts) = mpsc::unbounded_channel();
        self.slots.lock().unwrap().insert(id, Slot { restart, initialised: false, capture: None, draining: false });
        (id, restarts)
    }

    /// A (re)started process on `slot` begins its init phase; `capture` reads its output.
    pub(crate) fn slot_started(&self, slot: u32, capture: Option<Arc<PipeCapture>>) {
        if let Some(s) = self.slots.lock().unwrap().get_mut(&slot) {
            s.initialised = false;
            if let Some(old) = std::mem::replace(&mut s.capture, capture) {
                old.close();
            }
        }
    }

    /// The process on `slot` is gone for good (the supervisor stopped): its pipes are let go.
    pub(crate) fn slot_stopped(&self, slot: u32) {
        if let Some(capture) = self.slots.lock().unwrap().get_mut(&slot).and_then(|s| s.capture.take()) {
            capture.close();
        }
    }

    /// The process on `slot` exited: invocations it held end with `Runtime.ExitError`, and if it
    /// had not yet called `/next` (its init failed), so do the queued ones — unless the slot was
    /// draining: the queued invocations are then for the process that replaced it.
    pub(crate) fn slot_exited(&self, slot: u32, status: &str) {
        // What it printed is all written: a log tail waiting for it to ask again stops waiting.
        self.count_poll(Some(slot));
        // The process's work is over; the next `/next` on the slot is a new process's first.
        let handed = self.handed.lock().unwrap().remove(&Some(slot));
        if let Some(invocation) = handed.and_then(|(_, weak)| weak.upgrade()) {
            invocation.mark_returned();
        }
        for invocation in self.held_by(slot) {
            let message = format!("RequestId: {} Error: Runtime exited with {status}", invocation.id);
            self.recorder.fault(Some(&invocation.id), FaultKind::ProcessExited, message.clone());
            self.abort(&invocation, InvocationError::platform(error_types::RUNTIME_EXIT_ERROR, message));
        }
        let in_init = self.slots.lock().unwrap().get(&slot).is_some_and(|s| !s.initialised && !s.draining);
        if in_init {
            self.fail_queued(|id| {
                InvocationError::platform(
                    error_types::RUNTIME_EXIT_ERROR,
                    format!("RequestId: {id} Error: Runtime exited with error: {status}"),
                )
            });
        }
    }

    /// The runtime reported `/runtime/init/error`: the queued invocations fail with that error,
    /// as the invocation waiting for a failed execution environment does on Lambda.
    pub(crate) fn init_failed(&self, error: &InvocationError) {
        self.fail_queued(|_| error.clone());
    }

    fn fail_queued(&self, error_for: impl Fn(&str) -> InvocationError) {
        let queued: Vec<_> = self.queue.lock().unwrap().drain(..).collect();
        for invocation in queued {
            self.end_by_platform(&invocation, error_for(&invocation.id), true);
        }
    }
}

/// `Sandbox.Timeout` for an invocation no runtime took within the function timeout.
fn queue_timeout(invocation: &Invocation, timeout: Duration) -> InvocationError {
    InvocationError::platform(
        error_types::SANDBOX_TIMEOUT,
        format!(
            "RequestId: {} Error: Task timed out after {:.2} seconds: no runtime called /next for it (is the \
             bootstrap starting? its output is in the emulator's log)",
            invocation.id,
            timeout.as_secs_f64()
        ),
    )
}

/// What the deadline keeper does next.
enum KeeperStep {
    /// This entry's deadline passed.
    Due(Instant, Arc<Invocation>),
    /// Sleep until the earliest deadline in the book.
    SleepUntil(Instant),
    /// The book is empty: wait until `submit` writes into it.
    Idle,
}

/// The deadline keeper's loop ([`Platform::deadline_keeper`]).
async fn keep_deadlines(platform: Weak<Platform>, deadlines: Arc<DeadlineBook>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let step = {
            let mut book = deadlines.book.lock().unwrap();
            if let Some((at, invocation)) = book.take_due(Instant::now()) {
                KeeperStep::Due(at, invocation)
            } else if let Some(((at, _), _)) = book.by_time.first_key_value() {
                KeeperStep::SleepUntil(*at)
            } else {
                book.idle = true;
                KeeperStep::Idle
            }
        };
        match step {
            KeeperStep::Due(at, invocation) => match platform.upgrade() {
                Some(platform) => platform.deadline_passed(at, invocation),
                None => return,
            },
            KeeperStep::SleepUntil(at) => tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            },
            KeeperStep::Idle => tokio::select! {
                () = deadlines.written.notified() => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            },
        }
    }
}

/// An X-Ray trace header, `Root=1-{epoch hex}-{96 random bits};Parent=...;Sampled=0`.
fn trace_id() -> String {
    let epoch = time::epoch_millis(std::time::SystemTime::now()) / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::FrontEnd;

    fn platform() -> Arc<Platform> {
        let function = FunctionConfig::new("keeper").timeout(Duration::from_secs(3));
        let recorder = Recorder::new(16, 64);
        Arc::new(Platform::new(function, Limits::default(), Auth::None, "/invoke".into(), None, recorder))
    }

    fn submit(platform: &Platform) -> (Arc<Invocation>, InvocationStream) {
        platform.submit(NewInvocation::new(bytes::Bytes::from_static(b"{}"), FrontEnd::FunctionUrl))
    }

    fn watched(platform: &Platform) -> (usize, usize) {
        let book = platform.deadlines.book.lock().unwrap();
        (book.by_time.len(), book.by_address.len())
    }

    /// The runtime asks for its next invocation: the one it held has returned. Nothing is queued,
    /// so the `/next` itself stays pending and is dropped.
    async fn asks_again(platform: &Platform) {
        let next = tokio::time::timeout(Duration::ZERO, platform.next_invocation(None)).await;
        assert!(next.is_err(), "nothing was queued");
    }

    /// The deadline book holds an invocation until nothing of it can time out any more, and not
    /// after: answered and returned (in either order), or ended by the platform. So what the
    /// keeper holds is bounded by what is in flight, as the task per invocation it replaced was.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_book_holds_an_invocation_until_it_settles() {
        let platform = platform();
        // Answered, then the handler returns (work after the response still has a deadline).
        let (first, _stream) = submit(&platform);
        assert_eq!(watched(&platform), (1, 1));
        let taken = platform.next_invocation(None).await;
        assert_eq!(taken.id, first.id);
        assert!(platform.finish(&taken, Ok(())));
        assert_eq!(watched(&platform), (1, 1), "the handler has not returned: its deadline still counts");
        asks_again(&platform).await;
        assert_eq!(watched(&platform), (0, 0));

        // Returned first (the runtime asks again without answering), then answered.
        let (second, _stream) = submit(&platform);
        let taken = platform.next_invocation(None).await;
        assert_eq!(taken.id, second.id);
        asks_again(&platform).await;
        assert_eq!(watched(&platform), (1, 1), "returned without an answer: the caller still waits");
        assert!(platform.finish(&taken, Ok(())));
        assert_eq!(watched(&platform), (0, 0));

        // Ended by the platform while queued.
        let (third, _stream) = submit(&platform);
        let (fourth, _stream4) = submit(&platform);
        assert_eq!(watched(&platform), (2, 2));
        assert!(platform.abort(&third, InvocationError::platform("Sandbox.Test", "ended")));
        assert_eq!(watched(&platform), (1, 1));
        let book = platform.deadlines.book.lock().unwrap();
        assert!(book.by_time.values().all(|i| i.id == fourth.id), "the other one stays");
    }

    /// Deadlines written one after the other come out in that order, equal ones included, and
    /// only once they are due; writing an invocation again moves its entry.
    #[test]
    fn the_book_gives_out_what_is_due_in_order() {
        let platform = platform();
        let (a, _sa) = submit(&platform);
        let (b, _sb) = submit(&platform);
        let at = tokio::time::Instant::now();
        let mut book = Book::default();
        book.write(at, b.clone());
        book.write(at, a.clone());
        book.write(at + Duration::from_secs(1), a.clone());
        assert_eq!((book.by_time.len(), book.by_address.len()), (2, 2), "a moved, not copied");
        assert!(book.take_due(at - Duration::from_millis(1)).is_none(), "nothing is due yet");
        let (due, first) = book.take_due(at).unwrap();
        assert_eq!((due, first.id.as_str()), (at, b.id.as_str()));
        assert!(book.take_due(at).is_none(), "a is due a second later");
        let (due, second) = book.take_due(at + Duration::from_secs(5)).unwrap();
        assert_eq!((due, second.id.as_str()), (at + Duration::from_secs(1), a.id.as_str()));
        assert_eq!((book.by_time.len(), book.by_address.len()), (0, 0));
        book.write(at, a.clone());
        book.forget(&b);
        assert_eq!(book.by_time.len(), 1, "forgetting what is not there changes nothing");
        book.forget(&a);
        assert_eq!((book.by_time.len(), book.by_address.len()), (0, 0));
    }

    /// X-Ray's trace id: `Root=1-` then the epoch in seconds as 8 hex digits and 24 random hex
    /// digits, a 16-digit parent, not sampled
    /// (<https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids>).
    #[test]
    fn trace_ids_carry_the_epoch_seconds_and_random_hex() {
        let now = time::epoch_millis(std::time::SystemTime::now()) / 1000;
        let id = trace_id();
        let (root, rest) = id.strip_prefix("Root=1-").unwrap().split_once(";Parent=").unwrap();
        let (epoch, random) = root.split_once('-').unwrap();
        let (parent, sampled) = rest.split_once(';').unwrap();
        assert_eq!((epoch.len(), random.len(), parent.len(), sampled), (8, 24, 16, "Sampled=0"), "{id}");
        assert!([epoch, random, parent].iter().all(|s| s.bytes().all(|c| c.is_ascii_hexdigit())), "{id}");
        let epoch = u64::from_str_radix(epoch, 16).unwrap();
        assert!(epoch.abs_diff(now) <= 60, "{epoch} s is not about now ({now} s): {id}");
        assert_ne!(trace_id(), id, "each invocation gets its own");
    }
}
