//! Supervision of a `bootstrap` process: start it with the Lambda environment, restart it when it
//! exits or misses a deadline, run N copies, capture its output.
//!
//! Each copy gets a Runtime API listener of its own (loopback; the public listener does not serve
//! the Runtime API), so the emulator knows which process took which invocation: at a deadline the right process is
//! restarted, and when a process dies the invocation it held ends at once with
//! `Runtime.ExitError` instead of waiting for its deadline. `AWS_LAMBDA_RUNTIME_API` is still
//! `HOST:PORT`, the form Lambda uses.
//!
//! A process that exits before its first `/next` failed its init: the invocations waiting in the
//! queue fail at once with `Runtime.ExitError` (see the `platform` module), instead of waiting
//! through restarts that fail the same way.
//!
//! Environment (docs/protocol.md §5; names as Lambda sets them, on top of this process's own environment so
//! users can pass configuration, as `cargo lambda watch` lets them): `AWS_LAMBDA_RUNTIME_API`,
//! `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_VERSION=$LATEST`,
//! `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, `AWS_REGION`, `AWS_DEFAULT_REGION`, `_HANDLER`,
//! `LAMBDA_TASK_ROOT` (the bootstrap's directory), `AWS_LAMBDA_LOG_GROUP_NAME`,
//! `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand`; then the
//! command's own `env` entries, which win.
//!
//! Restarts: at once after a deadline; after an exit with a backoff that doubles (from
//! `restart_backoff` up to `max_backoff`) while the process keeps dying within two seconds of its
//! start, with a warning once it has crashed five times in a row. Children are killed on
//! [`Supervisor::shutdown`] and, as a fallback, when the supervisor is dropped (`kill_on_drop`).
//!
//! ## Replacing the bootstrap without dropping an invocation
//! [`Supervisor::replace`] swaps the program (what `lambda-stream dev` does after a rebuild):
//! 1. the new copies start first, each on a new slot; if one cannot be started the old ones keep
//!    serving and the error is returned;
//! 2. each old copy's slot is set *draining* (`Platform::drain_slot`): it is handed no new
//!    invocation (its waiting `/next` lets go, and the wake-ups it would have used pass to the
//!    new copies), but what it holds it still answers, under the same deadline;
//! 3. once every invocation it held has ended (answered, timed out, or cut because the process
//!    died), the old process is killed and its slot closed and forgotten.
//!
//! So in-flight invocations finish on the old process and new ones go to the new one; the public
//! port never closes (invocations that arrive in between wait in the queue). A draining process
//! that exits is not restarted, and its exit never fails the queued invocations as an init failure
//! would: they belong to its successor. [`Drained::wait`] resolves when the old copies are gone.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_stream_protocol::env;
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::logs::PipeCapture;
use crate::platform::Platform;
use crate::server::{RuntimeSlot, SlotBinder};
use crate::{Emulator, Error};

/// A process that dies sooner than this after its start counts as crashing.
const CRASH_WINDOW: Duration = Duration::from_secs(2);
/// Crashes in a row after which the supervisor warns.
const CRASH_WARNING: u32 = 5;

/// The program to run as the function's runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment, applied last.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; default the emulator's.
    pub current_dir: Option<PathBuf>,
}

impl BootstrapCommand {
    /// Runs `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into(), args: Vec::new(), env: Vec::new(), current_dir: None }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// How to supervise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// What to run.
    pub command: BootstrapCommand,
    /// How many copies run at once, each polling `/next` (`--concurrency N`). Default 1.
    pub concurrency: usize,
    /// First wait before restarting a process that exited. Default 100 ms.
    pub restart_backoff: Duration,
    /// Longest wait between restarts of a process that keeps crashing. Default 5 s.
    pub max_backoff: Duration,
}

impl SupervisorConfig {
    /// One copy of `command` with the default backoff.
    pub fn new(command: BootstrapCommand) -> Self {
        Self {
            command,
            concurrency: 1,
            restart_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Sets the number of copies (builder style).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
}

#[derive(Debug, Default)]
struct Stats {
    spawned: AtomicU64,
    exits: AtomicU64,
    timeout_restarts: AtomicU64,
    pids: Mutex<Vec<u32>>,
}

/// One running copy of the current program.
#[derive(Debug)]
struct Copy {
    task: JoinHandle<()>,
    /// Asks the copy to drain; it answers on the inner sender when its process is gone.
    drain: Option<oneshot::Sender<oneshot::Sender<()>>>,
    /// Its current process id (0 between a death and the restart).
    pid: Arc<AtomicU64>,
    /// Its Runtime API slot.
    slot: u32,
}

/// Running bootstrap processes.
#[derive(Debug)]
pub struct Supervisor {
    stats: Arc<Stats>,
    binder: SlotBinder,
    config: SupervisorConfig,
    shutdown: watch::Sender<bool>,
    /// The copies of the current program.
    copies: Vec<Copy>,
    /// Copies of earlier programs still finishing their invocations.
    retired: Vec<JoinHandle<()>>,
}

/// The old copies of a [`Supervisor::replace`], finishing what they hold.
#[derive(Debug)]
pub struct Drained {
    gone: Vec<oneshot::Receiver<()>>,
    in_flight: usize,
}

impl Drained {
    /// Invocations the old processes held when they were replaced (they finish there).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Resolves when every old process has finished its invocations and been stopped.
    pub async fn wait(self) {
        for gone in self.gone {
            let _ = gone.await;
        }
    }
}

impl Supervisor {
    /// Starts `config.concurrency` copies of the bootstrap against `emulator`. Fails when the
    /// program cannot be started at all.
    pub async fn start(emulator: &Emulator, config: SupervisorConfig) -> Result<Self, Error> {
        if config.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        let (shutdown, _) = watch::channel(false);
        let mut supervisor = Self {
            stats: Arc::new(Stats::default()),
            binder: emulator.slot_binder(),
            config,
            shutdown,
            copies: Vec::new(),
            retired: Vec::new(),
        };
        supervisor.copies = supervisor.start_copies(&supervisor.config.clone()).await?;
        Ok(supervisor)
    }

    /// Starts `config.concurrency` copies; when one cannot be started, those already started are
    /// stopped again (their children are killed on drop) and the error returned.
    async fn start_copies(&self, config: &SupervisorConfig) -> Result<Vec<Copy>, Error> {
        let mut started = Vec::new();
        for _ in 0..config.concurrency {
            let slot = self.binder.bind().await?;
            let spawner =
                Spawner { platform: self.binder.platform().clone(), config: config.clone(), stats: self.stats.clone() };
            let child = spawner.spawn(&slot)?;
            started.push((spawner, slot, child));
        }
        Ok(started
            .into_iter()
            .map(|(spawner, slot, child)| {
                let pid = Arc::new(AtomicU64::new(u64::from(child.id().unwrap_or_default())));
                let (drain, drain_rx) = oneshot::channel();
                let id = slot.id;
                let task = tokio::spawn(spawner.run(slot, child, self.shutdown.subscribe(), drain_rx, pid.clone()));
                Copy { task, drain: Some(drain), pid, slot: id }
            })
            .collect())
    }

    /// Replaces the program: the new copies start, the old ones finish what they hold and stop
    /// (see the module doc). When the new program cannot be started, the old copies keep serving
    /// and the error is returned. The returned [`Drained`] tells when the old processes are gone.
    pub async fn replace(&mut self, command: BootstrapCommand) -> Result<Drained, Error> {
        let config = SupervisorConfig { command, ..self.config.clone() };
        let new = self.start_copies(&config).await?;
        self.retired.retain(|task| !task.is_finished());
        let mut gone = Vec::new();
        let mut in_flight = 0;
        for mut old in std::mem::replace(&mut self.copies, new) {
            // Draining starts now, before this returns: an invocation submitted after `replace`
            // can only go to a new copy.
            in_flight += self.binder.platform().drain_slot(old.slot).len();
            let (done, done_rx) = oneshot::channel();
            if let Some(drain) = old.drain.take()
                && drain.send(done).is_ok()
            {
                gone.push(done_rx);
            }
            self.retired.push(old.task);
        }
        tracing::info!(program = ?config.command.program, "bootstrap replaced: new invocations go to the new process");
        self.config = config;
        Ok(Drained { gone, in_flight })
    }

    /// The program the current copies run.
    pub fn command(&self) -> &BootstrapCommand {
        &self.config.command
    }

    /// Processes started so far (first starts and restarts).
    pub fn spawned(&self) -> u64 {
        self.stats.spawned.load(Ordering::Relaxed)
    }

    /// Processes that exited on their own.
    pub fn exits(&self) -> u64 {
        self.stats.exits.load(Ordering::Relaxed)
    }

    /// Processes killed and restarted because an invocation passed its deadline.
    pub fn timeout_restarts(&self) -> u64 {
        self.stats.timeout_restarts.load(Ordering::Relaxed)
    }

    /// The process ids of every process started, in order.
    pub fn pids(&self) -> Vec<u32> {
        self.stats.pids.lock().unwrap().clone()
    }

    /// The process ids of the current program's copies (not of old ones still draining); a copy
    /// between a death and its restart is left out.
    pub fn serving_pids(&self) -> Vec<u32> {
        self.copies
            .iter()
            .filter_map(|c| u32::try_from(c.pid.load(Ordering::Relaxed)).ok().filter(|pid| *pid != 0))
            .collect()
    }

    /// Kills the processes (current and draining) and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        // The copies (with their drain senders) stay alive until their tasks have stopped.
        let mut copies = std::mem::take(&mut self.copies);
        for copy in &mut copies {
            let _ = (&mut copy.task).await;
        }
        for task in std::mem::take(&mut self.retired) {
            let _ = task.await;
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in self.copies.iter().map(|c| &c.task).chain(&self.retired) {
            // Dropping the task's child kills it (kill_on_drop).
            task.abort();
        }
    }
}

struct Spawner {
    platform: Arc<Platform>,
    config: SupervisorConfig,
    stats: Arc<Stats>,
}

impl Spawner {
    fn spawn(&self, slot: &RuntimeSlot) -> Result<Child, Error> {
        let function = &self.platform.function;
        let command = &self.config.command;
        let task_root = command
            .program
            .parent()
            .map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() })
            .unwrap_or_else(|| PathBuf::from("."));
        let mut cmd = Command::new(&command.program);
        cmd.args(&command.args)
            .env(env::RUNTIME_API, slot.addr.to_string())
            .env(env::FUNCTION_NAME, &function.name)
            .env(env::FUNCTION_VERSION, "$LATEST")
            .env(env::FUNCTION_MEMORY_SIZE, function.memory_size_mb.to_string())
            .env(env::REGION, &function.region)
            .env(env::DEFAULT_REGION, &function.region)
            .env(env::HANDLER, &function.handler)
            .env(env::TASK_ROOT, task_root)
            .env(env::LOG_GROUP_NAME, format!("/aws/lambda/{}", function.name))
            .env(env::LOG_STREAM_NAME, format!("local/[$LATEST]slot{}", slot.id))
            .env(env::INITIALIZATION_TYPE, "on-demand")
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        // The output pipes are the emulator's own (see `logs`), so a log tail can tell when all of
        // it is in.
        let (capture, [stdout, stderr]) = PipeCapture::start(&self.platform.log, slot.id)
            .map_err(|source| Error::Spawn { program: command.program.clone(), source })?;
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        if let Some(dir) = &command.current_dir {
            cmd.current_dir(dir);
        }
        let spawned = cmd.spawn();
        // The process holds its ends now; the command's copies must go, or the pipes never end.
        drop(cmd);
        let child = match spawned {
            Ok(child) => child,
            Err(source) => {
                capture.close();
                return Err(Error::Spawn { program: command.program.clone(), source });
            }
        };
        self.platform.slot_started(slot.id, Some(capture));
        let pid = child.id().unwrap_or_default();
        self.stats.spawned.fetch_add(1, Ordering::Relaxed);
        self.stats.pids.lock().unwrap().push(pid);
        tracing::info!(slot = slot.id, pid, program = ?command.program, runtime_api = %slot.addr, "bootstrap started");
        Ok(child)
    }

    /// Keeps one copy running until shutdown or until it is asked to drain.
    async fn run(
        self,
        mut slot: RuntimeSlot,
        mut child: Child,
        mut shutdown: watch::Receiver<bool>,
        mut drain: oneshot::Receiver<oneshot::Sender<()>>,
        pid: Arc<AtomicU64>,
    ) {
        let mut started = Instant::now();
        let mut crashes: u32 = 0;
        loop {
            let mut delay = Duration::ZERO;
            tokio::select! {
                status = child.wait() => {
                    pid.store(0, Ordering::Relaxed);
                    let status = status.map_or_else(|e| format!("unknown status ({e})"), |s| s.to_string());
                    self.stats.exits.fetch_add(1, Ordering::Relaxed);
                    self.platform.slot_exited(slot.id, &status);
                    crashes = if started.elapsed() < CRASH_WINDOW { crashes + 1 } else { 0 };
                    delay = self.backoff(crashes);
                    if crashes >= CRASH_WARNING {
                        tracing::warn!(slot = slot.id, "bootstrap keeps crashing: {crashes} exits in a row within {CRASH_WINDOW:?} of starting (last: {status}); next restart in {delay:?}");
                    } else {
                        tracing::warn!(slot = slot.id, "bootstrap exited ({status}); restarting in {delay:?}");
                    }
                }
                Some(request_id) = slot.restarts.recv() => {
                    tracing::warn!(slot = slot.id, "invocation {request_id} timed out: restarting the bootstrap");
                    let _ = child.kill().await;
                    pid.store(0, Ordering::Relaxed);
                    self.stats.timeout_restarts.fetch_add(1, Ordering::Relaxed);
                    self.platform.slot_exited(slot.id, "signal: killed after a timeout");
                    crashes = 0;
                }
                done = &mut drain => {
                    match done {
                        Ok(done) => {
                            self.drain(slot, child).await;
                            let _ = done.send(());
                        }
                        // The supervisor is gone without a shutdown: stop.
                        Err(_) => {
                            let _ = child.kill().await;
                        }
                    }
                    return;
                }
                _ = stopped(&mut shutdown) => {
                    let _ = child.kill().await;
                    self.platform.slot_stopped(slot.id);
                    return;
                }
            }
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(&mut shutdown) => {
                        self.platform.slot_stopped(slot.id);
                        return;
                    }
                    done = &mut drain => {
                        // Replaced while dead: nothing to finish.
                        if let Ok(done) = done {
                            let _ = done.send(());
                        }
                        return;
                    }
                }
                match self.spawn(&slot) {
                    Ok(new_child) => {
                        pid.store(u64::from(new_child.id().unwrap_or_default()), Ordering::Relaxed);
                        child = new_child;
                        started = Instant::now();
                        break;
                    }
                    Err(e) => {
                        delay = self.config.max_backoff;
                        tracing::error!(slot = slot.id, "{e}; retrying in {delay:?}");
                    }
                }
            }
        }
    }

    /// Lets the process finish what it holds, then stops it and closes its slot (on drop).
    async fn drain(&self, mut slot: RuntimeSlot, mut child: Child) {
        // Already set by `replace`; idempotent, and it returns what the slot still holds.
        let held = self.platform.drain_slot(slot.id);
        let pid = child.id().unwrap_or_default();
        tracing::info!(slot = slot.id, pid, in_flight = held.len(), "old bootstrap draining");
        let finished = async {
            for invocation in &held {
                invocation.finished().await;
            }
        };
        tokio::select! {
            () = finished => {}
            status = child.wait() => {
                // It died before finishing: what it held ends with Runtime.ExitError; it is not
                // restarted, and the queued invocations are its successor's.
                let status = status.map_or_else(|e| format!("unknown status ({e})"), |s| s.to_string());
                self.stats.exits.fetch_add(1, Ordering::Relaxed);
                self.platform.slot_exited(slot.id, &status);
            }
            // A deadline passed on what it held: the platform has ended that invocation already.
            Some(_) = slot.restarts.recv() => {}
        }
        let _ = child.kill().await;
        tracing::info!(slot = slot.id, pid, "old bootstrap stopped");
    }

    fn backoff(&self, crashes: u32) -> Duration {
        restart_delay(crashes, self.config.restart_backoff, self.config.max_backoff)
    }
}

/// The wait before restarting a process that died `crashes` times in a row soon after starting:
/// `base` for the first, doubling with each one after, never more than `max`.
fn restart_delay(crashes: u32, base: Duration, max: Duration) -> Duration {
    if crashes <= 1 {
        return base;
    }
    let factor = 1u32 << (crashes - 1).min(16);
    (base * factor).min(max)
}

/// Resolves once `rx` says stop (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_delay_doubles_from_the_base_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<u128> = (0..10).map(|n| restart_delay(n, base, max).as_millis()).collect();
        assert_eq!(delays, [100, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        // Crashes beyond any shift still give the cap, never an overflow.
        assert_eq!(restart_delay(u32::MAX, base, max), max);
    }
}
