//! A scripted Runtime API: the Lambda side of the wire, for testing a runtime.
//!
//! A real hyper 1.x HTTP/1.1 server on 127.0.0.1 port 0. The test queues invocations; `GET /next`
//! long-polls until one is queued (RT-API: the runtime sets no timeout). Every other request
//! (`/response`, `/error`, `/runtime/init/error`, anything else) is recorded whole: method, path,
//! head, each body chunk as hyper delivers it with its arrival [`Instant`], the trailers, and
//! whether the body ended cleanly. Tests take the records in order with [`RuntimeApiPeer::next_post`].
//!
//! ```no_run
//! # async fn f() {
//! use lambda_stream_protocol::{names, paths};
//! use lambda_stream_test_support::runtime_api_peer::RuntimeApiPeer;
//!
//! let peer = RuntimeApiPeer::start().await;
//! let id = peer.push_event(&b"{}"[..]);
//! // ... run the runtime against peer.endpoint() ...
//! let post = peer.next_post().await;
//! assert_eq!(post.path, paths::response(&id));
//! assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
//! # }
//! ```
//!
//! To test backpressure, [`RuntimeApiPeer::pause_reading`] stops reading request bodies (hyper
//! then stops reading the socket, so the TCP window fills), and [`RuntimeApiPeer::body_bytes_received`]
//! counts body bytes as they are read.
//!
//! ## Faults
//! To see how a runtime copes with a Runtime API that misbehaves, a test can script:
//! - [`RuntimeApiPeer::push_raw_next`]: a `GET /next` answered with exactly the given bytes (any
//!   garbage: a bad status line, a truncated body, a head too large, nothing at all), after which
//!   the connection is closed. Raw answers and invocations are handed out in the order pushed.
//! - [`Invocation::header_bytes`]: a `/next` header with any bytes (e.g. not UTF-8).
//! - [`RuntimeApiPeer::push_post_answer`]: how the next request other than `GET /next` is
//!   answered ([`PostAnswer`]): another status after reading the body, a status at once before
//!   reading it, or the connection dropped after some body frames (a reset mid-body).
//! - [`PeerBuilder::read_delay`]: a pause before reading each body frame (a slow reader).
//!
//! Raw answers need the request line before hyper sees the connection: each connection's first
//! line is read by the peer, and given back to hyper in front of the rest of the stream when the
//! connection is served normally.

use std::collections::VecDeque;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_stream_protocol::paths::{self, InvocationPath};
use lambda_stream_protocol::{ErrorDiagnostic, TrailerError, names};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, Notify, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

/// How long [`RuntimeApiPeer::next_post`] waits before failing the test.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// One invocation to hand out on `GET /next`.
#[derive(Debug, Clone)]
pub struct Invocation {
    request_id: Option<String>,
    event: Bytes,
    set: Vec<(HeaderName, HeaderValue)>,
    omit: Vec<HeaderName>,
}

impl Invocation {
    /// An invocation with `event` as its body and the usual headers: a fresh request id, a deadline
    /// a minute away, a function ARN and a trace id.
    pub fn new(event: impl Into<Bytes>) -> Self {
        Self { request_id: None, event: event.into(), set: Vec::new(), omit: Vec::new() }
    }

    /// Uses `request_id` instead of a generated one.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets (or overrides) a header of the `/next` answer.
    ///
    /// # Panics
    /// When `name` or `value` is not valid in a header: a mistake in the test itself.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
        self.set.push((name, HeaderValue::from_str(value).expect("test header value")));
        self
    }

    /// Sets a header of the `/next` answer to any bytes a header can carry on the wire (obs-text
    /// included, so not necessarily UTF-8).
    ///
    /// # Panics
    /// When `name` is not a valid header name or `value` holds a control character: a mistake
    /// in the test itself.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
        self.set.push((name, HeaderValue::from_bytes(value).expect("test header bytes")));
        self
    }

    /// Leaves a header out of the `/next` answer (e.g. the deadline, to test a runtime's parsing).
    ///
    /// # Panics
    /// When `name` is not a valid header name: a mistake in the test itself.
    pub fn without_header(mut self, name: &str) -> Self {
        self.omit.push(HeaderName::from_bytes(name.as_bytes()).expect("test header name"));
        self
    }
}

/// One body chunk as hyper delivered it, with when it arrived.
#[derive(Debug, Clone)]
pub struct RecordedChunk {
    /// The bytes.
    pub bytes: Bytes,
    /// When the peer read them.
    pub at: Instant,
}

/// What a recorded request was, by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostKind {
    /// `POST /runtime/invocation/{id}/response`.
    Response(String),
    /// `POST /runtime/invocation/{id}/error`.
    Error(String),
    /// `POST /runtime/init/error`.
    InitError,
    /// Anything else (answered 404).
    Other,
}

/// A request the runtime sent, other than `GET /next`.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The path, without the peer's prefix (if it has one).
    pub path: String,
    /// The head's headers.
    pub headers: HeaderMap,
    /// When the head arrived.
    pub head_at: Instant,
    /// The serial number of the TCP connection it came on (1 for the peer's first connection).
    pub connection: u64,
    /// How many requests came before it on the same connection (1 for an answer sent on the
    /// connection its `GET /next` came back on, 0 for one on a fresh connection).
    pub earlier_on_connection: usize,
    /// The body's data frames in order, as hyper delivered them.
    pub chunks: Vec<RecordedChunk>,
    /// The trailers, when the body carried any.
    pub trailers: Option<HeaderMap>,
    /// Whether the body ended as its framing says it should (no connection error).
    pub ended_cleanly: bool,
    /// The body error, when it did not end cleanly.
    pub body_error: Option<String>,
}

impl RecordedRequest {
    /// A header of the head as text; `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A trailer as text; `None` when there were no trailers or not this one.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers.as_ref()?.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body, chunks joined.
    pub fn body(&self) -> Bytes {
        let mut out = BytesMut::new();
        for chunk in &self.chunks {
            out.extend_from_slice(&chunk.bytes);
        }
        out.freeze()
    }

    /// Whether the body was sent with chunked transfer encoding.
    pub fn is_chunked(&self) -> bool {
        self.header(TRANSFER_ENCODING.as_str()).is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    }

    /// The declared `Content-Length`, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.header(CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok())
    }

    /// What the request was, by its path.
    pub fn kind(&self) -> PostKind {
        if self.path == paths::INIT_ERROR {
            return PostKind::InitError;
        }
        match paths::parse_invocation_path(&self.path) {
            Some(InvocationPath::Response(id)) => PostKind::Response(id.to_owned()),
            Some(InvocationPath::Error(id)) => PostKind::Error(id.to_owned()),
            None => PostKind::Other,
        }
    }

    /// The `/error` (or `/init/error`) document, read as the Runtime API reads it.
    pub fn error_document(&self) -> ErrorDiagnostic {
        ErrorDiagnostic::from_error_body(&self.body(), self.header(names::FUNCTION_ERROR_TYPE))
    }

    /// The error carried in the trailers; `None` without the error-type trailer.
    pub fn trailer_error(&self) -> Option<Result<ErrorDiagnostic, TrailerError>> {
        let error_type = self.trailer(names::FUNCTION_ERROR_TYPE)?;
        Some(ErrorDiagnostic::from_trailers(error_type, self.trailer(names::FUNCTION_ERROR_BODY)))
    }
}

/// How the peer answers one request other than `GET /next` (see [`RuntimeApiPeer::push_post_answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostAnswer {
    /// Read the whole body, then answer with this status and body (the default is 202
    /// `{"status":"OK"}` for the Runtime API's paths).
    Status(StatusCode, &'static str),
    /// Answer with this status and body at once, before reading the body (as a Runtime API that
    /// refuses a response early), then stop reading.
    StatusEarly(StatusCode, &'static str),
    /// Read this many body frames, then drop the connection with no answer (a reset mid-body).
    ResetAfterFrames(usize),
    /// Answer 202 at once and read the body afterwards, as it keeps coming (cargo-lambda's
    /// Runtime API answers a streamed response this way); recorded when the body has ended.
    AcceptEarly,
}

/// What one `GET /next` gets.
#[derive(Debug)]
enum NextAnswer {
    Invocation(Invocation),
    Raw(Bytes),
}

struct Shared {
    prefix: String,
    /// Answers for `GET /next`, in order; `next_ready` wakes a waiting poll when one is pushed.
    next_answers: std::sync::Mutex<VecDeque<NextAnswer>>,
    next_ready: Notify,
    /// Scripted answers for the following requests other than `GET /next`, in order.
    post_answers: std::sync::Mutex<VecDeque<PostAnswer>>,
    posts: mpsc::UnboundedSender<RecordedRequest>,
    reading: watch::Sender<bool>,
    read_delay: Option<Duration>,
    body_bytes: AtomicU64,
    next_polls: AtomicUsize,
    /// Connections accepted and served by hyper so far.
    connections: AtomicU64,
    /// `GET /next` connections the client closed while waiting for an answer.
    abandoned_polls: AtomicUsize,
    /// Connections accepted and not yet ended (by either side).
    open_connections: AtomicUsize,
}

impl Shared {
    fn lock_next(&self) -> std::sync::MutexGuard<'_, VecDeque<NextAnswer>> {
        self.next_answers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push_next(&self, answer: NextAnswer) {
        self.lock_next().push_back(answer);
        self.next_ready.notify_one();
    }

    /// Waits for an answer; takes it when it is raw, leaves an invocation for hyper's service.
    async fn take_raw_or_wait(&self) -> Option<Bytes> {
        loop {
            {
                let mut queue = self.lock_next();
                match queue.front() {
                    Some(NextAnswer::Raw(_)) => match queue.pop_front() {
                        Some(NextAnswer::Raw(bytes)) => return Some(bytes),
                        _ => unreachable!("the front was raw"),
                    },
                    Some(NextAnswer::Invocation(_)) => {
                        // Leave it for the service; wake whoever else waits.
                        self.next_ready.notify_one();
                        return None;
                    }
                    None => {}
                }
            }
            self.next_ready.notified().await;
        }
    }

    /// Waits for an answer and takes it.
    async fn take_next(&self) -> NextAnswer {
        loop {
            if let Some(answer) = self.lock_next().pop_front() {
                return answer;
            }
            self.next_ready.notified().await;
        }
    }

    fn take_post_answer(&self) -> Option<PostAnswer> {
        self.post_answers.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }
}

/// Options for a [`RuntimeApiPeer`].
#[derive(Debug, Clone, Default)]
pub struct PeerBuilder {
    prefix: String,
    receive_buffer: Option<u32>,
    read_delay: Option<Duration>,
}

impl PeerBuilder {
    /// Serves the Runtime API under a path prefix (as cargo-lambda's `/.rt`).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Sets `SO_RCVBUF` of the accepted sockets, to keep the kernel's share of a paused body small.
    pub fn receive_buffer(mut self, bytes: u32) -> Self {
        self.receive_buffer = Some(bytes);
        self
    }

    /// Pauses `delay` before reading each request body frame: a Runtime API that reads slowly.
    pub fn read_delay(mut self, delay: Duration) -> Self {
        self.read_delay = Some(delay);
        self
    }

    /// Binds 127.0.0.1 port 0 and starts serving.
    ///
    /// # Panics
    /// When the loopback socket cannot be bound: the test cannot run at all then.
    pub async fn start(self) -> RuntimeApiPeer {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        if let Some(bytes) = self.receive_buffer {
            socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        }
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind 127.0.0.1:0");
        let listener = socket.listen(64).expect("listen");
        let addr = listener.local_addr().expect("local address");
        let (posts_tx, posts_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            prefix: self.prefix,
            next_answers: std::sync::Mutex::default(),
            next_ready: Notify::new(),
            post_answers: std::sync::Mutex::default(),
            posts: posts_tx,
            reading: watch::Sender::new(true),
            read_delay: self.read_delay,
            body_bytes: AtomicU64::new(0),
            next_polls: AtomicUsize::new(0),
            connections: AtomicU64::new(0),
            abandoned_polls: AtomicUsize::new(0),
            open_connections: AtomicUsize::new(0),
        });
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        RuntimeApiPeer { addr, shared, posts: Mutex::new(posts_rx), server, next_id: AtomicU64::new(1) }
    }
}

/// The scripted Runtime API; see the module documentation. Stops serving when dropped.
pub struct RuntimeApiPeer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    posts: Mutex<mpsc::UnboundedReceiver<RecordedRequest>>,
    server: JoinHandle<()>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for RuntimeApiPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApiPeer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for RuntimeApiPeer {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks (a JoinSet); aborting it ends them all.
        self.server.abort();
    }
}

impl RuntimeApiPeer {
    /// A peer with no prefix on 127.0.0.1 port 0.
    pub async fn start() -> Self {
        PeerBuilder::default().start().await
    }

    /// Options: a path prefix, a small receive buffer.
    pub fn builder() -> PeerBuilder {
        PeerBuilder::default()
    }

    /// The endpoint as AWS hands it out: `127.0.0.1:port` (plus the prefix, if any).
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.addr, self.shared.prefix)
    }

    /// The endpoint with a scheme: `http://127.0.0.1:port[/prefix]`.
    pub fn url(&self) -> String {
        format!("http://{}", self.endpoint())
    }

    /// Queues an invocation with `event` and the usual headers; returns its request id.
    pub fn push_event(&self, event: impl Into<Bytes>) -> String {
        self.push(Invocation::new(event))
    }

    /// Queues `invocation`; returns its request id (generated `req-N` unless it set one).
    pub fn push(&self, mut invocation: Invocation) -> String {
        let id = invocation
            .request_id
            .get_or_insert_with(|| format!("req-{}", self.next_id.fetch_add(1, Ordering::Relaxed)))
            .clone();
        self.shared.push_next(NextAnswer::Invocation(invocation));
        id
    }

    /// Queues a raw answer: the next `GET /next` in turn gets exactly `bytes` (whatever they are),
    /// then the connection is closed. Empty `bytes` close the connection without an answer.
    pub fn push_raw_next(&self, bytes: impl Into<Bytes>) {
        self.shared.push_next(NextAnswer::Raw(bytes.into()));
    }

    /// Scripts the answer to the next request other than `GET /next` (in order, one each; the
    /// requests after the scripted ones get the default answer).
    pub fn push_post_answer(&self, answer: PostAnswer) {
        self.shared.post_answers.lock().unwrap_or_else(|p| p.into_inner()).push_back(answer);
    }

    /// The next recorded request, in arrival order of their complete bodies.
    ///
    /// # Panics
    /// When none arrives within [`DEFAULT_WAIT`], naming the wait: the test fails there.
    pub async fn next_post(&self) -> RecordedRequest {
        match self.next_post_within(DEFAULT_WAIT).await {
            Some(post) => post,
            None => panic!("the runtime sent no request (other than GET /next) within {DEFAULT_WAIT:?}"),
        }
    }

    /// The next recorded request, or `None` when none arrives within `wait`.
    pub async fn next_post_within(&self, wait: Duration) -> Option<RecordedRequest> {
        let mut posts = self.posts.lock().await;
        tokio::time::timeout(wait, posts.recv()).await.ok().flatten()
    }

    /// Stops reading request bodies until [`resume_reading`](Self::resume_reading).
    pub fn pause_reading(&self) {
        self.shared.reading.send_replace(false);
    }

    /// Reads request bodies again.
    pub fn resume_reading(&self) {
        self.shared.reading.send_replace(true);
    }

    /// Body bytes read so far, over all requests, counted as they are read.
    pub fn body_bytes_received(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::SeqCst)
    }

    /// How many `GET /next` requests, as the first request of their connection, the client gave
    /// up on: it closed the connection while the peer had no answer yet.
    pub fn abandoned_polls(&self) -> usize {
        self.shared.abandoned_polls.load(Ordering::SeqCst)
    }

    /// How many `GET /next` requests arrived (including the one waiting now).
    pub fn next_polls(&self) -> usize {
        self.shared.next_polls.load(Ordering::SeqCst)
    }

    /// How many TCP connections are open now: accepted, and not yet closed by either side.
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = Arc::clone(&shared);
        shared.open_connections.fetch_add(1, Ordering::SeqCst);
        connections.spawn(async move {
            connection(stream, Arc::clone(&shared)).await;
            shared.open_connections.fetch_sub(1, Ordering::SeqCst);
        });
        // Reap finished connections so the set does not grow over a long test.
        while connections.try_join_next().is_some() {}
    }
}

/// One connection: a raw answer when its first request is `GET /next` and a raw answer is next in
/// turn, else hyper with the request line read so far put back in front.
async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let next_line = format!("GET {}{} ", shared.prefix, paths::NEXT);
    // Counted as it arrives (a poll waits for an answer), so the service must not count it again.
    let first_is_counted = Arc::new(AtomicBool::new(false));
    if head.starts_with(next_line.as_bytes()) {
        shared.next_polls.fetch_add(1, Ordering::SeqCst);
        first_is_counted.store(true, Ordering::SeqCst);
        let raw = tokio::select! {
            raw = shared.take_raw_or_wait() => raw,
            () = closed_by_client(&mut stream, &mut head) => {
                shared.abandoned_polls.fetch_add(1, Ordering::SeqCst);
                return;
            }
        };
        if let Some(raw) = raw {
            // Let the request head arrive in full, so closing does not reset it, then answer.
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(&raw).await;
            let _ = stream.shutdown().await;
            return;
        }
    }
    let (read, write) = stream.into_split();
    let io = tokio::io::join(Cursor::new(head).chain(read), write);
    let connection = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let requests = AtomicUsize::new(0);
    let service = service_fn(move |request| {
        let counted = first_is_counted.swap(false, Ordering::SeqCst);
        let place = Place { connection, earlier: requests.fetch_add(1, Ordering::SeqCst) };
        serve(Arc::clone(&shared), request, counted, place)
    });
    // A runtime that drops a connection (e.g. a `GET /next` given up at shutdown) is not an error
    // of the peer.
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service).await;
}

/// Returns when the client closes the connection (reading whatever else it sends into `head`).
async fn closed_by_client(stream: &mut TcpStream, head: &mut Vec<u8>) {
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// The error a service returns to make hyper drop the connection with no answer.
#[derive(Debug)]
struct ScriptedReset;

impl std::fmt::Display for ScriptedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the peer drops the connection, as scripted")
    }
}

impl std::error::Error for ScriptedReset {}

/// Where a request came: the connection's serial number and how many requests it carried before.
#[derive(Debug, Clone, Copy)]
struct Place {
    connection: u64,
    earlier: usize,
}

/// One request on a hyper-served connection; `counted`: a `GET /next` already counted on arrival.
async fn serve(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    counted: bool,
    place: Place,
) -> Result<Response<Full<Bytes>>, ScriptedReset> {
    let path = request.uri().path().strip_prefix(shared.prefix.as_str()).unwrap_or("").to_owned();
    if request.method() == Method::GET && path == paths::NEXT {
        if !counted {
            shared.next_polls.fetch_add(1, Ordering::SeqCst);
        }
        return match shared.take_next().await {
            NextAnswer::Invocation(invocation) => Ok(next_answer(invocation)),
            // A raw answer is written on a connection of its own: this one (a runtime's kept
            // connection) is closed unanswered, and the answer waits for the `GET /next` that
            // comes on a fresh connection.
            NextAnswer::Raw(raw) => {
                shared.lock_next().push_front(NextAnswer::Raw(raw));
                Err(ScriptedReset)
            }
        };
    }
    let (head, body) = request.into_parts();
    let mut record = RecordedRequest {
        method: head.method,
        path,
        headers: head.headers,
        head_at: Instant::now(),
        connection: place.connection,
        earlier_on_connection: place.earlier,
        chunks: Vec::new(),
        trailers: None,
        ended_cleanly: false,
        body_error: None,
    };
    let scripted = shared.take_post_answer();
    match scripted {
        Some(PostAnswer::StatusEarly(code, text)) => {
            record.body_error = Some("not read: the peer answered before reading the body".into());
            let _ = shared.posts.send(record);
            return Ok(status(code, text));
        }
        Some(PostAnswer::AcceptEarly) => {
            // The answer goes out now; the body is read (and recorded) as it keeps coming.
            tokio::spawn(async move {
                let (Ok(record) | Err(record)) = read_body(&shared, body, record, None).await;
                let _ = shared.posts.send(record);
            });
            return Ok(status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#));
        }
        _ => {}
    }
    let reset_after = match scripted {
        Some(PostAnswer::ResetAfterFrames(frames)) => Some(frames),
        _ => None,
    };
    let record = match read_body(&shared, body, record, reset_after).await {
        Ok(record) => record,
        Err(record) => {
            let _ = shared.posts.send(record);
            return Err(ScriptedReset);
        }
    };
    let answer = match (scripted, record.kind()) {
        (Some(PostAnswer::Status(code, text)), _) => status(code, text),
        (_, PostKind::Other) => status(StatusCode::NOT_FOUND, "unknown Runtime API path"),
        _ if record.method != Method::POST => status(StatusCode::METHOD_NOT_ALLOWED, "POST only"),
        _ => status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#),
    };
    let _ = shared.posts.send(record);
    Ok(answer)
}

/// Reads `body` into `record` frame by frame (honouring a pause and the read delay); `Err` when
/// the script says to drop the connection after `reset_after` frames.
async fn read_body(
    shared: &Shared,
    mut body: Incoming,
    mut record: RecordedRequest,
    reset_after: Option<usize>,
) -> Result<RecordedRequest, RecordedRequest> {
    let mut reading = shared.reading.subscribe();
    loop {
        if reset_after == Some(record.chunks.len()) {
            record.body_error = Some(ScriptedReset.to_string());
            return Err(record);
        }
        // Paused: hyper reads the socket only for a body that is polled, so the TCP window fills.
        if reading.wait_for(|r| *r).await.is_err() {
            break;
        }
        if let Some(delay) = shared.read_delay {
            tokio::time::sleep(delay).await;
        }
        match body.frame().await {
            None => {
                record.ended_cleanly = true;
                break;
            }
            Some(Err(e)) => {
                record.body_error = Some(e.to_string());
                break;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(bytes) => {
                    shared.body_bytes.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                    record.chunks.push(RecordedChunk { bytes, at: Instant::now() });
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        record.trailers.get_or_insert_with(HeaderMap::new).extend(trailers);
                    }
                }
            },
        }
    }
    Ok(record)
}

fn status(code: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = code;
    response
}

fn next_answer(invocation: Invocation) -> Response<Full<Bytes>> {
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(60);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put(names::REQUEST_ID, invocation.request_id.unwrap_or_default());
    put(names::DEADLINE_MS, deadline.as_millis().to_string());
    put(names::INVOKED_FUNCTION_ARN, "arn:aws:lambda:us-east-1:000000000000:function:peer".into());
    put(names::TRACE_ID, "Root=1-00000000-000000000000000000000000;Sampled=0".into());
    for (name, value) in invocation.set {
        headers.insert(name, value);
    }
    for name in invocation.omit {
        headers.remove(name);
    }
    let mut response = Response::new(Full::new(invocation.event));
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    //! The peer checked against hand-written HTTP/1.1 bytes, so that the runtime's wire tests do not
    //! rest on a peer that only agrees with the runtime.

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn send_raw(peer: &RuntimeApiPeer, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(peer.addr).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut answer = vec![0; 4096];
        let n = tokio::time::timeout(DEFAULT_WAIT, stream.read(&mut answer)).await.unwrap().unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    }

    #[tokio::test]
    async fn records_chunks_and_real_trailers_as_sent() {
        let peer = RuntimeApiPeer::start().await;
        let raw = b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: x\r\n\
            Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n\
            5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: Function.X\r\n\r\n";
        let answer = send_raw(&peer, raw).await;
        assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
        let post = peer.next_post().await;
        assert_eq!(post.kind(), PostKind::Response("r1".into()));
        assert!(post.is_chunked());
        assert_eq!(post.body(), "hello");
        assert_eq!(post.trailer(names::FUNCTION_ERROR_TYPE), Some("Function.X"));
        assert!(post.ended_cleanly);
    }

    #[tokio::test]
    async fn text_in_the_body_is_not_a_trailer() {
        // The RUST runtime's defect: error headers written as body text (docs/protocol.md §1).
        let peer = RuntimeApiPeer::start().await;
        let text = "Lambda-Runtime-Function-Error-Type: Function.X\r\n";
        let raw = format!(
            "POST /2018-06-01/runtime/invocation/r2/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{text}\r\n0\r\n\r\n",
            text.len()
        );
        send_raw(&peer, raw.as_bytes()).await;
        let post = peer.next_post().await;
        assert_eq!(post.body(), text);
        assert_eq!(post.trailers, None);
        assert_eq!(post.trailer_error().map(|r| r.is_ok()), None);
    }

    #[tokio::test]
    async fn next_waits_until_an_invocation_is_queued() {
        let peer = RuntimeApiPeer::start().await;
        let mut stream = TcpStream::connect(peer.addr).await.unwrap();
        stream.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = vec![0; 4096];
        let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut answer)).await;
        assert!(early.is_err(), "GET /next answered with nothing queued");
        let id = peer.push(Invocation::new(&b"{}"[..]).without_header(names::TRACE_ID).header("x-extra", "1"));
        let n = tokio::time::timeout(DEFAULT_WAIT, stream.read(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 200"), "{answer}");
        assert!(answer.contains(&format!("{}: {id}", names::REQUEST_ID)), "{answer}");
        assert!(answer.contains(&format!("{}: ", names::DEADLINE_MS)), "{answer}");
        assert!(!answer.contains(names::TRACE_ID), "{answer}");
        assert!(answer.contains("x-extra: 1"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n{}"), "{answer}");
        assert_eq!(peer.next_polls(), 1);
    }

    #[tokio::test]
    async fn raw_next_answers_go_out_verbatim_in_turn_with_invocations() {
        let peer = RuntimeApiPeer::start().await;
        peer.push_raw_next(&b"HTTP/1.1 999 Nonsense\r\n\r\n"[..]);
        let id = peer.push_event(&b"{}"[..]);
        let next = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut stream = TcpStream::connect(peer.addr).await.unwrap();
        stream.write_all(next).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(DEFAULT_WAIT, stream.read_to_end(&mut raw)).await.unwrap().unwrap();
        assert_eq!(raw, b"HTTP/1.1 999 Nonsense\r\n\r\n", "exactly the bytes, then the connection closed");
        let answer = send_raw(&peer, next).await;
        assert!(answer.contains(&format!("lambda-runtime-aws-request-id: {id}")), "{answer}");
        assert_eq!(peer.next_polls(), 2);
    }

    #[tokio::test]
    async fn scripted_post_answers_are_used_once_each_in_order() {
        let peer = RuntimeApiPeer::start().await;
        peer.push_post_answer(PostAnswer::Status(StatusCode::PAYLOAD_TOO_LARGE, "too large"));
        let post =
            b"POST /2018-06-01/runtime/invocation/r4/response HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\nhi";
        let answer = send_raw(&peer, post).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.ends_with("too large"), "{answer}");
        assert_eq!(peer.next_post().await.body(), "hi", "the body was read before the answer");
        let answer = send_raw(&peer, post).await;
        assert!(answer.starts_with("HTTP/1.1 202"), "then the default answer: {answer}");
    }

    #[tokio::test]
    async fn a_scripted_reset_drops_the_connection_after_the_frames_read() {
        let peer = RuntimeApiPeer::start().await;
        peer.push_post_answer(PostAnswer::ResetAfterFrames(1));
        let mut stream = TcpStream::connect(peer.addr).await.unwrap();
        let raw = b"POST /2018-06-01/runtime/invocation/r5/response HTTP/1.1\r\nHost: x\r\n\
            Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
        stream.write_all(raw).await.unwrap();
        let post = peer.next_post().await;
        assert_eq!(post.body(), "abc");
        assert!(!post.ended_cleanly);
        let mut rest = Vec::new();
        let read = tokio::time::timeout(DEFAULT_WAIT, stream.read_to_end(&mut rest)).await.unwrap();
        assert!(read.is_err() || rest.is_empty(), "no answer: {:?}", String::from_utf8_lossy(&rest));
    }

    #[tokio::test]
    async fn a_cut_body_is_recorded_as_not_ended_cleanly() {
        let peer = RuntimeApiPeer::start().await;
        let mut stream = TcpStream::connect(peer.addr).await.unwrap();
        let raw = b"POST /2018-06-01/runtime/invocation/r3/response HTTP/1.1\r\nHost: x\r\n\
            Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
        stream.write_all(raw).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(stream);
        let post = peer.next_post().await;
        assert_eq!(post.body(), "abc");
        assert!(!post.ended_cleanly);
        assert!(post.body_error.is_some());
    }
}
