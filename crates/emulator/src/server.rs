//! The emulator's front door: the builder, the running handle, the accept loops and dispatch.
//!
//! Two kinds of listener, as on Lambda, where clients reach the function's front ends and only
//! the function itself reaches the Runtime API inside its execution environment:
//! - the **public listener** (the builder's `bind`, loopback by default) serves the client front
//!   ends only: IWRS and Invoke by path, the local `/invoke`, and the function URL on every other
//!   path — including `/2018-06-01/...`, which is just another URL path there;
//! - the **API Gateway listener**, only when asked for ([`EmulatorBuilder::api_gateway`]), serves
//!   a REST API at `/{stage}/{proxy+}` on a port of its own, so the function URL keeps every path
//!   of the public listener and the REST API keeps the exact path shape of a deployed one;
//! - **Runtime API listeners** serve the Runtime API only, always on loopback unless asked
//!   otherwise: one for runtimes started by hand ([`Emulator::runtime_api`], fixed with
//!   [`EmulatorBuilder::runtime_api_bind`]), and one per supervised process, handed to it as
//!   `AWS_LAMBDA_RUNTIME_API`, so the emulator knows which process took which invocation;
//! - optionally the **dashboard** listener ([`EmulatorBuilder::dashboard`], module `dashboard`),
//!   a read-only page over the recorder, on a port of its own so it takes no path from the others.
//!
//! Every request is answered: a handler that panicked (none should; the fuzz targets and the
//! misbehaviour catalogue look for it) gets a 500 with a logged error instead of a dropped
//! connection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_stream_protocol::paths::{self, ClientPath};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::{ApiGatewayConfig, Auth, Bandwidth, FunctionConfig, Limits};
use crate::dashboard::{self, Dashboard};
use crate::frontends::{api_gateway, function_url, invoke, iwrs, local};
use crate::http::{ResponseBody, aws_error, rie_error};
use crate::invocation::FrontEnd;
use crate::logs::FunctionLog;
use crate::platform::Platform;
use crate::recorder::{DEFAULT_EXCERPT_BYTES, DEFAULT_HISTORY, Recorder};
use crate::{Error, runtime_api};

/// How long a client may take to send a request head (slow-header clients are cut off).
const CLIENT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds an [`Emulator`]. Defaults: function `function` with a 15 s timeout, clients on
/// `127.0.0.1:0`, the Runtime API on its own `127.0.0.1:0`, Lambda's size limits without bandwidth
/// shaping, no auth, the local endpoint at `/invoke`, a history of 64 finished invocations with
/// 4 KiB excerpts, no dashboard.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    function: FunctionConfig,
    bind: String,
    runtime_api_bind: String,
    limits: Limits,
    auth: Auth,
    invoke_path: String,
    history: usize,
    excerpt_bytes: usize,
    dashboard: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    api_gateway: Option<ApiGatewayConfig>,
    api_gateway_bind: Option<String>,
}

impl EmulatorBuilder {
    /// The function to serve.
    pub fn function(mut self, function: FunctionConfig) -> Self {
        self.function = function;
        self
    }

    /// Where clients connect, e.g. `127.0.0.1:0` for a free port or `127.0.0.1:7000`.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Where the Runtime API listens for runtimes started by hand (default `127.0.0.1:0`, a free
    /// loopback port). Supervised processes get listeners of their own on the same host.
    pub fn runtime_api_bind(mut self, addr: impl Into<String>) -> Self {
        self.runtime_api_bind = addr.into();
        self
    }

    /// Shape bandwidth like Lambda (6 MiB burst, then 2 MiB/s) when `true`, and on the API
    /// Gateway front end also like API Gateway (10 MiB, then 2 MiB/s); full speed when `false`.
    pub fn aws_limits(mut self, on: bool) -> Self {
        self.limits.bandwidth = on.then_some(Bandwidth::AWS);
        self.limits.api_gateway_bandwidth = on.then_some(Bandwidth::API_GATEWAY);
        self
    }

    /// Serve an API Gateway REST API in front of the function on a listener of its own (by
    /// default a free port on the public listener's host; see [`api_gateway_bind`](Self::api_gateway_bind)).
    pub fn api_gateway(mut self, config: ApiGatewayConfig) -> Self {
        self.api_gateway = Some(config);
        self
    }

    /// Where the API Gateway listener binds, e.g. `127.0.0.1:9001`.
    pub fn api_gateway_bind(mut self, addr: impl Into<String>) -> Self {
        self.api_gateway_bind = Some(addr.into());
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

    /// How many finished invocations the recorder keeps (sizes and times, never payloads);
    /// invocations in flight are always kept. Default 64.
    pub fn history(mut self, invocations: usize) -> Self {
        self.history = invocations;
        self
    }

    /// How many bytes of each event and of each answer the recorder keeps, for the dashboard
    /// (default [`DEFAULT_EXCERPT_BYTES`]; 0 keeps none). Only a copy of that many bytes is kept,
    /// never the payload.
    pub fn excerpt_bytes(mut self, bytes: usize) -> Self {
        self.excerpt_bytes = bytes;
        self
    }

    /// Serve the client front ends over TLS (HTTPS) with this certificate; the Runtime API
    /// listeners (and the dashboard and the API Gateway listener) stay plain HTTP.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves the live dashboard on a listener of its own at `addr` (e.g. `127.0.0.1:0`): the
    /// invocations as they happen and each one's wire timeline. See [`Emulator::dashboard_url`].
    pub fn dashboard(mut self, addr: impl Into<String>) -> Self {
        self.dashboard = Some(addr.into());
        self
    }

    /// Binds the listeners and starts serving.
    pub async fn build(self) -> Result<Emulator, Error> {
        if self.function.name.is_empty() || self.function.name.contains(['/', ':']) {
            return Err(Error::Config(format!("function name {:?} is empty or has '/' or ':'", self.function.name)));
        }
        if !self.invoke_path.starts_with('/') {
            return Err(Error::Config(format!("invoke path {:?} must start with '/'", self.invoke_path)));
        }
        if let Some(config) = &self.api_gateway
            && !config.stage_is_valid()
        {
            return Err(Error::Config(format!(
                "API Gateway stage {:?} must be 1 to 128 letters, digits, '-' or '_'",
                config.stage
            )));
        }
        let (listener, local_addr) = bind(&self.bind).await?;
        let (runtime_listener, runtime_addr) = bind(&self.runtime_api_bind).await?;
        let api_gateway_listener = match &self.api_gateway {
            Some(_) => {
                let addr =
                    self.api_gateway_bind.clone().unwrap_or_else(|| SocketAddr::new(local_addr.ip(), 0).to_string());
                Some(bind(&addr).await?)
            }
            None => None,
        };
        let dashboard_listener = match &self.dashboard {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let platform = Arc::new(Platform::new(
            self.function,
            self.limits,
            self.auth,
            self.invoke_path,
            self.api_gateway,
            Recorder::new(self.history, self.excerpt_bytes),
        ));
        let (shutdown, shutdown_rx) = watch::channel(false);
        #[cfg(feature = "tls")]
        let tls = self.tls.map(|t| Acceptor(t.acceptor().clone()));
        #[cfg(not(feature = "tls"))]
        let tls: Option<Acceptor> = None;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let clients =
            tokio::spawn(serve(listener, Listener::Clients(platform.clone(), tls), shutdown_rx.clone(), None));
        let runtime = tokio::spawn(serve(
            runtime_listener,
            Listener::RuntimeApi(platform.clone(), None),
            shutdown_rx.clone(),
            None,
        ));
        let keeper = tokio::spawn(platform.deadline_keeper(shutdown_rx.clone()));
        let mut tasks = vec![clients, runtime, keeper];
        let api_gateway_addr = api_gateway_listener.map(|(listener, addr)| {
            let kind = Listener::ApiGateway(platform.clone(), addr.port());
            tasks.push(tokio::spawn(serve(listener, kind, shutdown_rx.clone(), None)));
            addr
        });
        let mut dashboard_addr = None;
        if let Some((listener, addr)) = dashboard_listener {
            let state = Dashboard::new(
                platform.recorder.clone(),
                platform.function.name.clone(),
                addr.ip(),
                shutdown_rx.clone(),
            );
            let kind = Listener::Dashboard(Arc::new(state));
            tasks.push(tokio::spawn(serve(listener, kind, shutdown_rx.clone(), None)));
            tracing::info!("dashboard on {}", dashboard::url(addr));
            dashboard_addr = Some(addr);
        }
        tracing::info!(%local_addr, runtime_api = %runtime_addr, api_gateway = ?api_gateway_addr, function = %platform.function.name, "emulator listening");
        Ok(Emulator {
            platform,
            scheme,
            local_addr,
            runtime_addr,
            api_gateway_addr,
            dashboard_addr,
            shutdown,
            shutdown_rx,
            tasks: Mutex::new(tasks),
        })
    }
}

async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr), Error> {
    let listener = TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr: addr.to_owned(), source })?;
    let local = listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_owned(), source })?;
    Ok((listener, local))
}

/// A running emulator. Dropping it stops serving; [`Emulator::shutdown`] does so and waits.
#[derive(Debug)]
pub struct Emulator {
    platform: Arc<Platform>,
    /// `http`, or `https` when the client listener serves TLS.
    scheme: &'static str,
    local_addr: SocketAddr,
    runtime_addr: SocketAddr,
    api_gateway_addr: Option<SocketAddr>,
    dashboard_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    shutdown_rx: watch::Receiver<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// A Runtime API listener of its own for one supervised process, so that the emulator knows
/// which process took which invocation (to restart the right one at a timeout, and to fail the
/// right invocations when a process dies). Dropping it closes the listener and its connections
/// (a `/next` still waiting there ends) and forgets the slot, so slots do not pile up when
/// processes are replaced.
#[derive(Debug)]
pub(crate) struct RuntimeSlot {
    pub(crate) id: u32,
    pub(crate) addr: SocketAddr,
    /// Restart requests from the emulator (a deadline passed on this slot).
    pub(crate) restarts: mpsc::UnboundedReceiver<String>,
    platform: Arc<Platform>,
    close: watch::Sender<bool>,
}

impl Drop for RuntimeSlot {
    fn drop(&mut self) {
        let _ = self.close.send(true);
        self.platform.remove_slot(self.id);
    }
}

/// Binds Runtime API slots for supervised processes, on the Runtime API's host; cheap to clone,
/// so a supervisor can bind new slots when it replaces its processes.
#[derive(Debug, Clone)]
pub(crate) struct SlotBinder {
    platform: Arc<Platform>,
    host: std::net::IpAddr,
    shutdown: watch::Receiver<bool>,
}

impl SlotBinder {
    /// A new slot with a listener of its own on a free port.
    pub(crate) async fn bind(&self) -> Result<RuntimeSlot, Error> {
        let (listener, addr) = bind(&SocketAddr::new(self.host, 0).to_string()).await?;
        let (id, restarts) = self.platform.add_slot();
        let (close, closed) = watch::channel(false);
        tokio::spawn(serve(
            listener,
            Listener::RuntimeApi(self.platform.clone(), Some(id)),
            self.shutdown.clone(),
            Some(closed),
        ));
        Ok(RuntimeSlot { id, addr, restarts, platform: self.platform.clone(), close })
    }

    pub(crate) fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }
}

impl Emulator {
    /// A builder with the defaults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            function: FunctionConfig::default(),
            bind: "127.0.0.1:0".into(),
            runtime_api_bind: "127.0.0.1:0".into(),
            limits: Limits::default(),
            auth: Auth::None,
            invoke_path: "/invoke".into(),
            history: DEFAULT_HISTORY,
            excerpt_bytes: DEFAULT_EXCERPT_BYTES,
            dashboard: None,
            #[cfg(feature = "tls")]
            tls: None,
            api_gateway: None,
            api_gateway_bind: None,
        }
    }

    /// The address the client front ends listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the Runtime API for runtimes started by hand (its own loopback listener;
    /// the public listener does not serve it).
    pub fn runtime_api_addr(&self) -> SocketAddr {
        self.runtime_addr
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `HOST:PORT`, the form Lambda uses.
    pub fn runtime_api(&self) -> String {
        self.runtime_addr.to_string()
    }

    /// `http://HOST:PORT` of the client front ends (`https://` when they serve TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.local_addr)
    }

    /// The address of the API Gateway listener, when there is one.
    pub fn api_gateway_addr(&self) -> Option<SocketAddr> {
        self.api_gateway_addr
    }

    /// The invoke URL of the REST API's stage, `http://HOST:PORT/{stage}` (what a deployed
    /// stage's `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` is), when there is one.
    pub fn api_gateway_url(&self) -> Option<String> {
        let stage = &self.platform.api_gateway.as_ref()?.stage;
        Some(format!("http://{}/{stage}", self.api_gateway_addr?))
    }

    /// The dashboard's address, when [`EmulatorBuilder::dashboard`] asked for one.
    pub fn dashboard_addr(&self) -> Option<SocketAddr> {
        self.dashboard_addr
    }

    /// `http://HOST:PORT/` of the dashboard's page, when there is one.
    pub fn dashboard_url(&self) -> Option<String> {
        self.dashboard_addr.map(dashboard::url)
    }

    /// The function served.
    pub fn function(&self) -> &FunctionConfig {
        &self.platform.function
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.platform.limits
    }

    /// The wire recorder.
    pub fn recorder(&self) -> Recorder {
        self.platform.recorder.clone()
    }

    /// The function's log (what `LogResult` tails are cut from).
    pub fn log(&self) -> FunctionLog {
        self.platform.log.clone()
    }

    /// Invocations accepted and not yet ended (queued, running, or streaming their answer).
    pub fn in_flight(&self) -> usize {
        self.platform.load().0
    }

    /// Invocations waiting in the queue for a runtime to ask for them (`GET /next`).
    pub fn queued(&self) -> usize {
        self.platform.load().1
    }

    /// What a supervisor binds its processes' Runtime API slots with.
    pub(crate) fn slot_binder(&self) -> SlotBinder {
        SlotBinder { platform: self.platform.clone(), host: self.runtime_addr.ip(), shutdown: self.shutdown_rx.clone() }
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

/// The TLS acceptor of the client listener, when it serves HTTPS.
#[cfg(feature = "tls")]
#[derive(Clone)]
struct Acceptor(tokio_rustls::TlsAcceptor);

#[cfg(feature = "tls")]
impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptor(TLS)")
    }
}

/// Without the `tls` feature there is never an acceptor.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
enum Acceptor {}

/// How long a client may take for its TLS handshake.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a listener serves.
#[derive(Debug, Clone)]
enum Listener {
    /// The client front ends, over TLS when an acceptor is given.
    Clients(Arc<Platform>, Option<Acceptor>),
    /// The API Gateway REST API, on this port (plain HTTP, like the dashboard: `--tls` is for the
    /// client front ends' listener).
    ApiGateway(Arc<Platform>, u16),
    /// The Runtime API, for the supervised process on a slot or for runtimes started by hand.
    RuntimeApi(Arc<Platform>, Option<u32>),
    /// The read-only dashboard.
    Dashboard(Arc<Dashboard>),
}

/// Accepts connections until the emulator stops or, for a slot, `close` says so; then ends the
/// open connections.
async fn serve(
    listener: TcpListener,
    kind: Listener,
    mut shutdown: watch::Receiver<bool>,
    mut close: Option<watch::Receiver<bool>>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors and the like: keep serving the others.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let kind = kind.clone();
                connections.spawn(async move {
                    let mut builder = http1::Builder::new();
                    // A peer that closes its write side once the request is sent (netcat, some
                    // proxies) still gets its answer. Not on the dashboard: its event streams
                    // must end as soon as the page goes away, and a browser never half-closes.
                    // Nor on a runtime connection that opens with `/next`: with half-close on,
                    // hyper no longer notices a runtime that went away while it waits, and would
                    // hand the next invocation to the closed connection, where it is lost until
                    // its deadline.
                    let half_close = match kind {
                        Listener::Dashboard(_) => false,
                        Listener::RuntimeApi(..) => !opens_with_next(&stream).await,
                        Listener::Clients(..) | Listener::ApiGateway(..) => true,
                    };
                    builder.half_close(half_close);
                    match kind {
                        // A runtime's connection idles between invocations, and `/next` is a
                        // long poll: no timeout there.
                        Listener::RuntimeApi(..) => builder.header_read_timeout(None),
                        Listener::Clients(..) | Listener::ApiGateway(..) | Listener::Dashboard(_) => {
                            builder.timer(TokioTimer::new()).header_read_timeout(CLIENT_HEADER_TIMEOUT)
                        }
                    };
                    let acceptor = match &kind {
                        Listener::Clients(_, acceptor) => acceptor.clone(),
                        _ => None,
                    };
                    let service = service_fn(move |req| dispatch(kind.clone(), peer, req));
                    let served = match acceptor {
                        None => builder.serve_connection(TokioIo::new(stream), service).await,
                        #[cfg(feature = "tls")]
                        Some(Acceptor(acceptor)) => {
                            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => tls,
                                Ok(Err(e)) => {
                                    tracing::info!(%peer, "TLS handshake failed: {e}");
                                    return;
                                }
                                Err(_) => {
                                    tracing::info!(%peer, "TLS handshake took longer than {TLS_HANDSHAKE_TIMEOUT:?}");
                                    return;
                                }
                            };
                            builder.serve_connection(TokioIo::new(tls), service).await
                        }
                        #[cfg(not(feature = "tls"))]
                        Some(never) => match never {},
                    };
                    if let Err(e) = served {
                        tracing::debug!(%peer, "connection ended with an error: {e}");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped(&mut shutdown) => break,
            _ = closed(&mut close) => break,
        }
    }
    connections.shutdown().await;
}

/// Whether a Runtime API connection's first request is `GET /next`, read with `peek` so that
/// hyper still reads it. It waits for the first bytes as hyper would, then at most a second more
/// while what has arrived could still be that request line.
async fn opens_with_next(stream: &TcpStream) -> bool {
    let line = ["GET ", paths::NEXT, " "].concat();
    let mut buf = vec![0u8; line.len()];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match stream.peek(&mut buf).await {
            Ok(n) if n > 0 && line.as_bytes().starts_with(&buf[..n]) => {
                if n == line.len() {
                    return true;
                }
            }
            _ => return false,
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn dispatch(
    kind: Listener,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let what = format!("{} {}", req.method(), req.uri().path());
    let handled = match kind {
        Listener::RuntimeApi(platform, slot) => {
            AssertUnwindSafe(runtime_api::handle(platform, slot, req)).catch_unwind().await
        }
        Listener::Clients(platform, _) => AssertUnwindSafe(client_request(platform, peer, req)).catch_unwind().await,
        Listener::Dashboard(dashboard) => AssertUnwindSafe(dashboard::handle(dashboard, req)).catch_unwind().await,
        Listener::ApiGateway(platform, port) => {
            AssertUnwindSafe(api_gateway::serve(platform, peer, port, req)).catch_unwind().await
        }
    };
    Ok(handled.unwrap_or_else(|_| {
        tracing::error!(%peer, "BUG: the handler of {what} panicked; answered 500. Please report it with the request.");
        rie_error(StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", format!("internal error while serving {what}"))
    }))
}

/// Routes a client request to its front end.
async fn client_request(platform: Arc<Platform>, peer: SocketAddr, req: Request<Incoming>) -> Response<ResponseBody> {
    if req.method() == Method::CONNECT {
        // Every front end is an origin, not a proxy: none tunnels (RFC 9110 §9.3.6). Passed on to
        // the function, a 2xx answer would tell the client a tunnel is open, and hyper then
        // sends the client nothing at all.
        return aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "Method Not Allowed: a function URL does not tunnel (CONNECT)",
        );
    }
    let path = req.uri().path();
    if let Some(client_path) = paths::parse_client_path(path) {
        let name = crate::payload::percent_decode(match client_path {
            ClientPath::InvokeWithResponseStream(n) | ClientPath::Invoke(n) => n,
        });
        return match client_path {
            ClientPath::InvokeWithResponseStream(_) => iwrs::serve(platform, req, &name).await,
            ClientPath::Invoke(_) => invoke::serve(platform, req, &name).await,
        };
    }
    if path == platform.invoke_path {
        return local::serve(platform, peer, req).await;
    }
    function_url::serve(platform, peer, req, FrontEnd::FunctionUrl).await
}

/// Resolves once `rx` says stop (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Like [`stopped`] for an optional signal; never resolves without one.
async fn closed(rx: &mut Option<watch::Receiver<bool>>) {
    match rx {
        Some(rx) => stopped(rx).await,
        None => std::future::pending().await,
    }
}
