//! The emulator: one listener, dispatch by path, the invocation queue and registry.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::paths::{self, ClientPath};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::body::ResponseBody;
use crate::config::{Auth, Bandwidth, FunctionConfig, Limits};
use crate::frontends;
use crate::invocation::{Context, Invocation, InvocationStream, Phase};
use crate::logs::FunctionLog;
use crate::recorder::{FaultKind, FrontEnd, InvocationError, Recorder};
use crate::runtime_api;
use crate::{Error, time};

/// Registry size above which finished invocations are forgotten (late posts for them then get
/// "unknown request id" instead of "already answered").
const REGISTRY_PRUNE_AT: usize = 4096;

/// Builds an [`Emulator`]. Defaults: function `function` with a 15 s timeout, `127.0.0.1:0`,
/// Lambda's size limits without bandwidth shaping, no auth, the local endpoint at `/invoke`.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    function: FunctionConfig,
    bind: String,
    limits: Limits,
    auth: Auth,
    invoke_path: String,
}

impl EmulatorBuilder {
    /// The function to serve.
    pub fn function(mut self, function: FunctionConfig) -> Self {
        self.function = function;
        self
    }

    /// Where to listen, e.g. `127.0.0.1:0` for a free port or `127.0.0.1:7000`.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Shape bandwidth like Lambda (6 MiB burst, then 2 MiB/s) when `true`; full speed when `false`.
    pub fn aws_limits(mut self, on: bool) -> Self {
        self.limits.bandwidth = on.then_some(Bandwidth::AWS);
        self
    }

    /// All limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The streamed response size cap (tests use a small one).
    pub fn max_streamed_response_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_streamed_response_bytes = bytes;
        self
    }

    /// Who may call the client front ends.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Path of the Swift-style local endpoint (`LOCAL_LAMBDA_INVOCATION_ENDPOINT`, default `/invoke`).
    pub fn invoke_path(mut self, path: impl Into<String>) -> Self {
        self.invoke_path = path.into();
        self
    }

    /// Binds the listener and starts serving.
    pub async fn build(self) -> Result<Emulator, Error> {
        if self.function.name.is_empty() || self.function.name.contains(['/', ':']) {
            return Err(Error::Config(format!("function name {:?} is empty or has '/' or ':'", self.function.name)));
        }
        if !self.invoke_path.starts_with('/') {
            return Err(Error::Config(format!("invoke path {:?} must start with '/'", self.invoke_path)));
        }
        let listener =
            TcpListener::bind(&self.bind).await.map_err(|source| Error::Bind { addr: self.bind.clone(), source })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind { addr: self.bind.clone(), source })?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function: self.function,
            limits: self.limits,
            auth: self.auth,
            invoke_path: self.invoke_path,
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            registry: Mutex::default(),
            recorder: Recorder::new(),
            log: FunctionLog::default(),
            slots: Mutex::default(),
            next_slot: AtomicU32::new(1),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, shared.clone(), None, shutdown_rx.clone()));
        tracing::info!(%local_addr, function = %shared.function.name, "emulator listening");
        Ok(Emulator { shared, local_addr, shutdown, shutdown_rx, tasks: Mutex::new(vec![task]) })
    }
}

/// A running emulator. Dropping it stops serving; [`Emulator::shutdown`] does so and waits.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    shutdown_rx: watch::Receiver<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// A Runtime API listener of its own for one supervised process, so that the emulator knows
/// which process took which invocation (to restart the right one at a timeout, and to fail the
/// right invocations when a process dies).
#[derive(Debug)]
pub(crate) struct RuntimeSlot {
    pub(crate) id: u32,
    pub(crate) addr: SocketAddr,
    /// Restart requests from the emulator (a deadline passed on this slot).
    pub(crate) restarts: mpsc::UnboundedReceiver<String>,
}

impl Emulator {
    /// A builder with the defaults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            function: FunctionConfig::default(),
            bind: "127.0.0.1:0".into(),
            limits: Limits::default(),
            auth: Auth::None,
            invoke_path: "/invoke".into(),
        }
    }

    /// The address every front end and the Runtime API listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The Runtime API's address: the same port, under `/2018-06-01`.
    pub fn runtime_api_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `HOST:PORT`, the form Lambda uses.
    pub fn runtime_api(&self) -> String {
        self.local_addr.to_string()
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The function served.
    pub fn function(&self) -> &FunctionConfig {
        &self.shared.function
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The wire recorder.
    pub fn recorder(&self) -> Recorder {
        self.shared.recorder.clone()
    }

    /// The function's log (what `LogResult` tails are cut from).
    pub fn log(&self) -> FunctionLog {
        self.shared.log.clone()
    }

    /// Binds a Runtime API listener for one supervised process.
    pub(crate) async fn bind_runtime_slot(&self) -> Result<RuntimeSlot, Error> {
        let bind = SocketAddr::new(self.local_addr.ip(), 0);
        let listener =
            TcpListener::bind(bind).await.map_err(|source| Error::Bind { addr: bind.to_string(), source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { addr: bind.to_string(), source })?;
        let id = self.shared.next_slot.fetch_add(1, Ordering::Relaxed);
        let (tx, restarts) = mpsc::unbounded_channel();
        self.shared.slots.lock().unwrap().insert(id, tx);
        let task = tokio::spawn(serve(listener, self.shared.clone(), Some(id), self.shutdown_rx.clone()));
        self.tasks.lock().unwrap().push(task);
        Ok(RuntimeSlot { id, addr, restarts })
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Stops accepting connections and ends the open ones.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    map: HashMap<String, Arc<Invocation>>,
}

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) function: FunctionConfig,
    pub(crate) limits: Limits,
    pub(crate) auth: Auth,
    pub(crate) invoke_path: String,
    queue_tx: mpsc::UnboundedSender<Arc<Invocation>>,
    pub(crate) queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Arc<Invocation>>>,
    registry: Mutex<Registry>,
    pub(crate) recorder: Recorder,
    pub(crate) log: FunctionLog,
    slots: Mutex<HashMap<u32, mpsc::UnboundedSender<String>>>,
    next_slot: AtomicU32,
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    pub(crate) peer: SocketAddr,
    pub(crate) slot: Option<u32>,
}

impl Shared {
    /// Queues an invocation for the function.
    pub(crate) fn submit(
        &self,
        payload: Bytes,
        front_end: FrontEnd,
        client_context: Option<String>,
        request_id: Option<String>,
    ) -> (Arc<Invocation>, InvocationStream) {
        let id = request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let context = Context { client_context, cognito_identity: None, trace_id: trace_id() };
        let (invocation, stream) = Invocation::new(id.clone(), payload, context, self.log.position());
        let invocation = Arc::new(invocation);
        self.recorder.open(&id, front_end);
        {
            let mut registry = self.registry.lock().unwrap();
            if registry.map.len() >= REGISTRY_PRUNE_AT {
                registry.map.retain(|_, inv| !matches!(inv.phase(), Phase::Finished { .. }));
            }
            registry.map.insert(id, invocation.clone());
        }
        // The receiver lives as long as `self`, so this cannot fail while anyone can submit.
        let _ = self.queue_tx.send(invocation.clone());
        (invocation, stream)
    }

    pub(crate) fn lookup(&self, request_id: &str) -> Option<Arc<Invocation>> {
        self.registry.lock().unwrap().map.get(request_id).cloned()
    }

    /// Ends an invocation from the platform side and records it.
    pub(crate) fn abort(&self, invocation: &Invocation, error: InvocationError) -> bool {
        let ended = invocation.abort(error.clone());
        if ended {
            tracing::warn!(request_id = %invocation.id, error_type = %error.error_type, "{}", error.error_message);
            self.recorder.outcome(&invocation.id, Err(error));
            self.log_end(&invocation.id);
            let now = self.recorder.now();
            self.recorder.update(&invocation.id, |r, _| {
                r.runtime.ended_at.get_or_insert(now);
            });
        }
        ended
    }

    /// Starts the deadline of a delivered invocation: at the deadline it ends with
    /// `Sandbox.Timeout` and, when a supervised process holds it, that process is restarted.
    pub(crate) fn start_deadline(self: &Arc<Self>, invocation: Arc<Invocation>) {
        let shared = self.clone();
        let timeout = self.function.timeout;
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = invocation.aborted() => return,
            }
            if matches!(invocation.phase(), Phase::Finished { .. }) {
                return;
            }
            let error = InvocationError::platform(
                error_types::SANDBOX_TIMEOUT,
                format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
            );
            if shared.abort(&invocation, error)
                && let Some(slot) = invocation.slot()
                && let Some(tx) = shared.slots.lock().unwrap().get(&slot)
            {
                let _ = tx.send(invocation.id.clone());
            }
        });
    }

    /// Writes Lambda's `END` and `REPORT` lines for an invocation into the function log.
    pub(crate) fn log_end(&self, request_id: &str) {
        let taken = self.recorder.invocation(request_id).and_then(|r| r.runtime.taken_at);
        let millis = taken.map_or(0.0, |t| self.recorder.now().saturating_sub(t).as_secs_f64() * 1000.0);
        self.log.push_line(format!("END RequestId: {request_id}"));
        self.log.push_line(format!(
            "REPORT RequestId: {request_id}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
            millis.ceil() as u64,
            self.function.memory_size_mb
        ));
    }

    /// The process on `slot` exited: invocations it held end with `Runtime.ExitError`.
    pub(crate) fn slot_exited(&self, slot: u32, status: &str) {
        let held: Vec<_> = self
            .registry
            .lock()
            .unwrap()
            .map
            .values()
            .filter(|inv| inv.slot() == Some(slot) && matches!(inv.phase(), Phase::Delivered | Phase::Responding))
            .cloned()
            .collect();
        for invocation in held {
            let message = format!("RequestId: {} Error: Runtime exited with {status}", invocation.id);
            self.recorder.fault(Some(&invocation.id), FaultKind::ProcessExited, message.clone());
            self.abort(&invocation, InvocationError::platform(error_types::RUNTIME_EXIT_ERROR, message));
        }
    }
}

/// An X-Ray trace header, `Root=1-{epoch hex}-{96 random bits};Parent=...;Sampled=0`.
fn trace_id() -> String {
    let epoch = time::epoch_millis(std::time::SystemTime::now()) / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, slot: Option<u32>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors and the like: keep serving the others.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let conn = ConnInfo { peer, slot };
                connections.spawn(async move {
                    let service = service_fn(move |req| dispatch(shared.clone(), conn, req));
                    let mut builder = http1::Builder::new();
                    builder.header_read_timeout(None);
                    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
                        tracing::debug!(%peer, "connection ended with an error: {e}");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped(&mut shutdown) => break,
        }
    }
    connections.shutdown().await;
}

async fn dispatch(
    shared: Arc<Shared>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let path = req.uri().path();
    let response = if path == paths::RUNTIME_API_BASE || path.starts_with("/2018-06-01/") {
        runtime_api::handle(shared, conn, req).await
    } else if let Some(client_path) = paths::parse_client_path(path) {
        let name = crate::payload::percent_decode(match client_path {
            ClientPath::InvokeWithResponseStream(n) | ClientPath::Invoke(n) => n,
        });
        match client_path {
            ClientPath::InvokeWithResponseStream(_) => frontends::iwrs(shared, conn, req, name).await,
            ClientPath::Invoke(_) => frontends::invoke(shared, conn, req, name).await,
        }
    } else if path == shared.invoke_path {
        // Swift's local server: POST only, 405 otherwise (SWIFT `Lambda+LocalServer.swift`).
        if req.method() == http::Method::POST {
            frontends::function_url(shared, conn, req, FrontEnd::LocalInvoke).await
        } else {
            frontends::json_error(http::StatusCode::METHOD_NOT_ALLOWED, None, "Method Not Allowed: use POST")
        }
    } else {
        frontends::function_url(shared, conn, req, FrontEnd::FunctionUrl).await
    };
    Ok(response)
}

/// Resolves once `rx` says stop (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
