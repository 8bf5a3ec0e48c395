//! A minimal Runtime API (the Lambda side) for measuring a runtime alone: `GET /next` hands out
//! the events the bench queues, `POST /response` and `/error` are read to their end and counted,
//! and the first `GET /next` is timestamped (cold start). No recording, no relaying: what a
//! benchmark against it measures is the runtime's writer and Runtime API client.
//!
//! Also [`RawRuntime`], the floor for that figure: the same two requests per invocation made by a
//! plain hyper client, with no writer state machine.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use lambda_stream_protocol::names;
use lambda_stream_protocol::paths::{self, NEXT};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

use crate::client::{BoxError, HttpClient, drain, http_client};
use crate::floor::{Body, serve};
use crate::{Directive, WRITE_BYTES, pattern, writes};

struct State {
    pending: tokio::sync::Mutex<mpsc::UnboundedReceiver<Bytes>>,
    done: mpsc::UnboundedSender<u64>,
    first_next: Mutex<Option<Instant>>,
    next_seen: Notify,
    counter: std::sync::atomic::AtomicU64,
}

/// The sink: a Runtime API on 127.0.0.1 port 0.
pub struct Sink {
    addr: SocketAddr,
    state: Arc<State>,
    queue: mpsc::UnboundedSender<Bytes>,
    done: tokio::sync::Mutex<mpsc::UnboundedReceiver<u64>>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("addr", &self.addr).finish()
    }
}

impl Sink {
    /// Starts the sink on the current runtime.
    pub async fn start() -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (queue, pending) = mpsc::unbounded_channel();
        let (done_tx, done) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            pending: tokio::sync::Mutex::new(pending),
            done: done_tx,
            first_next: Mutex::new(None),
            next_seen: Notify::new(),
            counter: Default::default(),
        });
        let shared = state.clone();
        let server = tokio::spawn(serve(listener, move |request| {
            let state = shared.clone();
            async move { Ok::<_, Infallible>(answer(&state, request).await) }
        }));
        Ok(Self { addr, state, queue, done: tokio::sync::Mutex::new(done), server })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`, the form Lambda uses.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Queues `event` and waits until the runtime has answered it (response read to its end, or an
    /// error posted); returns the response's body length.
    pub async fn invoke(&self, event: impl Into<Bytes>) -> Result<u64, BoxError> {
        self.queue.send(event.into()).map_err(|_| "the sink stopped")?;
        self.done.lock().await.recv().await.ok_or_else(|| "the sink stopped".into())
    }

    /// Forgets the first `GET /next` seen, for the next cold start.
    pub fn reset_first_next(&self) {
        *self.state.first_next.lock().unwrap() = None;
    }

    /// Waits up to `timeout` for a `GET /next` since the last reset; when it came.
    pub async fn first_next(&self, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.next_seen.notified();
            if let Some(at) = *self.state.first_next.lock().unwrap() {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(state: &State, request: hyper::Request<Incoming>) -> hyper::Response<Body> {
    let path = request.uri().path().to_owned();
    let empty = |status: u16| {
        let mut response = hyper::Response::new(Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        response
    };
    if path == NEXT {
        let now = Instant::now();
        state.first_next.lock().unwrap().get_or_insert(now);
        state.next_seen.notify_waiters();
        let Some(event) = state.pending.lock().await.recv().await else { return empty(500) };
        let n = state.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(900);
        let mut response = hyper::Response::new(Full::new(event).map_err(|never| match never {}).boxed_unsync());
        let headers = response.headers_mut();
        headers.insert(names::REQUEST_ID, format!("bench-{n}").parse().expect("ascii"));
        headers.insert(names::DEADLINE_MS, deadline.as_millis().to_string().parse().expect("digits"));
        headers.insert(
            names::INVOKED_FUNCTION_ARN,
            "arn:aws:lambda:us-east-1:000000000000:function:bench".parse().expect("ascii"),
        );
        headers.insert(names::TRACE_ID, "Root=1-00000000-000000000000000000000000".parse().expect("ascii"));
        headers.insert(http::header::CONTENT_TYPE, "application/json".parse().expect("ascii"));
        return response;
    }
    if path.ends_with("/response") || path.ends_with("/error") {
        let is_error = path.ends_with("/error");
        let mut body = request.into_body();
        let bytes = drain(&mut body).await.unwrap_or(0);
        let _ = state.done.send(if is_error { 0 } else { bytes });
        return empty(202);
    }
    empty(404)
}

/// The floor of the runtime-side figure: per invocation one `GET /next` and one chunked
/// `POST /response` with the body the directive asks for, by a pooled hyper client, on its own
/// thread and current-thread runtime like our runtime loop.
#[derive(Debug)]
pub struct RawRuntime {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RawRuntime {
    /// Serves invocations from the Runtime API at `endpoint` (`host:port`) until dropped.
    pub fn spawn(endpoint: String) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async move {
                let client = http_client();
                tokio::select! {
                    result = raw_loop(&client, &endpoint) => if let Err(e) = result { eprintln!("raw runtime stopped: {e}") },
                    _ = stopped => {}
                }
            });
        });
        Self { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for RawRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn raw_loop(client: &HttpClient, endpoint: &str) -> Result<(), BoxError> {
    let buffer = pattern(WRITE_BYTES);
    // A second client for the streamed body type; each pools its own keep-alive connection.
    let post_client: StreamClient = {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
    };
    loop {
        let request = http::Request::get(format!("http://{endpoint}{NEXT}")).body(Full::new(Bytes::new()))?;
        let next = client.request(request).await?;
        let id = next.headers().get(names::REQUEST_ID).and_then(|v| v.to_str().ok()).ok_or("no request id")?.to_owned();
        let event = next.into_body().collect().await?.to_bytes();
        let lens: Vec<usize> = match Directive::from_event(&event) {
            Some(Directive::Once(n)) => vec![n.min(WRITE_BYTES)],
            Some(Directive::Bytes(total)) => writes(total).collect(),
            _ => vec![0],
        };
        let frames: Vec<Result<Frame<Bytes>, Infallible>> =
            lens.into_iter().map(|len| Ok(Frame::data(buffer.slice(..len)))).collect();
        let body = StreamBody::new(stream::iter(frames));
        let post = hyper::Request::post(format!("http://{endpoint}{}", paths::response(&id)))
            .header(names::RESPONSE_MODE, names::RESPONSE_MODE_STREAMING)
            .header("transfer-encoding", "chunked")
            .body(body)?;
        let response = post_client.request(post).await?;
        drain(&mut response.into_body()).await?;
    }
}

type StreamClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    StreamBody<stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>,
>;
