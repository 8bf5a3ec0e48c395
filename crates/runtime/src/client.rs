//! The Runtime API client: hyper 1.x HTTP/1.1 over a tokio `TcpStream`.
//!
//! One connection carries an invocation's `GET /next` and then its one answer (`/response` or
//! `/error`): connecting again would sit between the handler's first write and Lambda seeing it,
//! the very latency streaming is for (measured at about 45 µs of a 230 µs loopback TTFB). Once
//! the Runtime API has answered that answer, the connection is idle and goes on to carry the
//! next `GET /next`, as a keep-alive client does: a new connection per invocation costs a
//! connect, an accept and a task on both sides, and the next invocation waits for it when it is
//! already queued.
//!
//! A connection is carried over only when it is idle and sound: the answer succeeded and the
//! Runtime API read the whole body before answering (Lambda does). A Runtime API that answers a
//! streamed `POST /response` at once and reads the stream afterwards (cargo-lambda's) has its
//! connection closed once the body is written, so a stream the peer reads slowly never holds up
//! the next `GET /next`; an error answer or a closed connection is dropped too, so a broken
//! connection affects one invocation only. When a carried-over connection turns out to be closed,
//! the request goes on a fresh one: an answer whose request had not left yet, and a `GET /next`
//! that got no answer at all (nothing was delivered on it, so asking again is safe).
//!
//! Every function here returns [`ClientError`], the client's own: a transport failure or an error
//! status, nothing about writers or the loop. The writer turns it into a
//! [`StreamError`](crate::StreamError), the loop into an [`Error`](crate::Error), each naming what
//! it was doing; the client depends only on the [`Endpoint`] it talks to.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, TRAILER, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use lambda_stream_protocol::{ErrorDiagnostic, names, paths};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::endpoint::Endpoint;

/// Body frames a streamed response may queue between the handler and hyper. Small on purpose:
/// together with hyper's own buffer ([`MAX_HYPER_BUFFER`]) it bounds what a slow peer makes the
/// runtime hold, and `write().await` waits for room. Three, so that a stream that opens with a
/// prelude (its JSON and its delimiter, two frames) has room for the first body chunk too: the
/// three are queued before the connection's task runs, and it writes them with the head at once.
/// With two, the first body byte left a write after the prelude (docs/performance.md, "Fourth
/// round").
pub(crate) const BODY_CHANNEL_FRAMES: usize = 3;

/// hyper's per-connection buffer limit (its minimum is 8 KiB); bounds queued outgoing bytes.
const MAX_HYPER_BUFFER: usize = 64 * 1024;

/// A body fed from a bounded channel: each queued frame is handed to hyper as it comes, and hyper
/// writes (and flushes) it as one chunk.
struct ChannelBody {
    frames: mpsc::Receiver<Frame<Bytes>>,
    /// Set once hyper has taken the body's end: an answer that comes after it leaves the
    /// connection idle (see the module documentation).
    ended: Arc<AtomicBool>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let polled = self.frames.poll_recv(cx);
        if let Poll::Ready(None) = polled {
            self.ended.store(true, Ordering::Release);
        }
        polled.map(|frame| frame.map(Ok))
    }
}

/// The task driving one connection; aborted when dropped, unless [`AbortOnDrop::finish`] took it.
struct AbortOnDrop(Option<JoinHandle<Result<(), hyper::Error>>>);

impl AbortOnDrop {
    /// Waits for the connection to end by itself, and says how it ended.
    async fn finish(mut self) -> Result<(), String> {
        match self.0.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(join) => Err(join.to_string()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// A fetched invocation: the `/next` headers and the event.
pub(crate) struct NextInvocation {
    pub(crate) headers: HeaderMap,
    pub(crate) event: Bytes,
}

/// Why one exchange with the Runtime API failed: the client's only error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClientError {
    /// No connection, or the connection broke; the text names the request, the endpoint and the
    /// step that failed.
    #[error("{0}")]
    Transport(String),
    /// The Runtime API answered, but not with a success status.
    #[error("answered with status {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's body, as text.
        body: String,
    },
}

/// The streamed `POST /response` in flight: frames go into `frames`; `exchange` ends with the
/// Runtime API's answer once the body has ended.
pub(crate) struct StreamingExchange {
    pub(crate) frames: mpsc::Sender<Frame<Bytes>>,
    pub(crate) exchange: JoinHandle<Result<(), ClientError>>,
}

/// Every request body, boxed, so that one connection can carry a `/next`, then a streamed or
/// buffered answer.
type RequestBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// One HTTP/1.1 connection to the Runtime API and the task that drives it.
struct Connection {
    sender: SendRequest<RequestBody>,
    driver: AbortOnDrop,
}

/// What a request may do when the connection carried over from the last exchange is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// An answer: sent again on a fresh connection only if it had not left (hyper gives it back).
    IfUnsent,
    /// `GET /next`: also when it left but no answer came back (see the module documentation).
    IfUnanswered,
}

/// How an answer's request body relates to the Runtime API's answer.
#[derive(Debug, Clone)]
enum BodyEnd {
    /// A whole body (`GET /next`, buffered answers, errors): written before the answer is read.
    Whole,
    /// A streamed body: the flag says whether hyper had taken its end when the answer came. A
    /// success answer before that does not cut the body: the connection keeps sending until the
    /// body ends, and the exchange ends only then.
    Streamed(Arc<AtomicBool>),
}

#[derive(Clone)]
pub(crate) struct RuntimeApiClient {
    endpoint: Endpoint,
    /// The idle connection the next request goes on: the one `GET /next` came back on, waiting
    /// for the invocation's answer, or the one the last answer went on, waiting for `GET /next`.
    kept: Arc<Mutex<Option<Connection>>>,
}

impl RuntimeApiClient {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        Self { endpoint, kept: Arc::default() }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn request(&self, method: Method, path: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint.prefix()))
            .header(HOST, self.endpoint.authority())
    }

    /// Sends one request on the kept connection when it is open (else on a fresh one), reads the
    /// whole answer, and keeps the connection for the next request when it is idle and sound (see
    /// the module documentation). `retry` says what may go again on a fresh connection, `end`
    /// how the request body ends.
    async fn exchange<B>(
        &self,
        request: Request<B>,
        retry: Retry,
        end: BodyEnd,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ClientError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let what = format!("{} {}", request.method(), request.uri());
        let transport = |step: &str, e: &dyn fmt::Display| {
            ClientError::Transport(format!("{what} to {}: {step} failed: {e}", self.endpoint))
        };
        let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(connection) = &mut kept
            && connection.sender.ready().await.is_err()
        {
            kept = None;
        }
        let (mut connection, response) = match kept {
            Some(mut connection) => {
                // Only a request on a kept connection may have to go again: the copy is made here,
                // not for every request.
                let again = (retry == Retry::IfUnanswered).then(|| bodiless_copy(&request));
                match connection.sender.try_send_request(request).await {
                    Ok(response) => (connection, response),
                    Err(mut e) => match (e.take_message(), again) {
                        // The kept connection closed before the request left.
                        (Some(request), _) => self.send_fresh(request, &transport).await?,
                        // A `GET /next` left and the connection closed without an answer: nothing
                        // was delivered on it, so it is asked again.
                        (None, Some(request)) => self.send_fresh(request, &transport).await?,
                        (None, None) => return Err(transport("request", e.error())),
                    },
                }
            }
            None => self.send_fresh(request, &transport).await?,
        };
        let (head, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| transport("reading the answer", &e))?.to_bytes();
        let answered_before_the_end = matches!(&end, BodyEnd::Streamed(ended) if !ended.load(Ordering::Acquire));
        if answered_before_the_end && head.status.is_success() {
            // No more requests on this connection: hyper closes it once the body is written.
            let Connection { sender, driver } = connection;
            drop(sender);
            driver.finish().await.map_err(|e| transport("sending the rest of the body", &e))?;
        } else if head.status.is_success() && connection.sender.ready().await.is_ok() {
            *self.kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(connection);
        }
        Ok((head.status, head.headers, body))
    }

    /// Sends `request` on a new connection.
    async fn send_fresh(
        &self,
        request: Request<RequestBody>,
        transport: &impl Fn(&str, &dyn fmt::Display) -> ClientError,
    ) -> Result<(Connection, http::Response<hyper::body::Incoming>), ClientError> {
        let stream = TcpStream::connect(self.endpoint.authority()).await.map_err(|e| transport("connect", &e))?;
        // Small writes must leave at once: a chunk waiting for Nagle would hide the pause a
        // streaming caller is meant to see.
        stream.set_nodelay(true).map_err(|e| transport("set TCP_NODELAY", &e))?;
        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HYPER_BUFFER)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport("HTTP handshake", &e))?;
        // Ends the connection's task when the connection is dropped (e.g. a `GET /next` given up
        // at shutdown).
        let driver = AbortOnDrop(Some(tokio::spawn(async move {
            let result = connection.await;
            if let Err(e) = &result {
                tracing::debug!(error = %e, "Runtime API connection ended with an error");
            }
            result
        })));
        let response = sender.send_request(request).await.map_err(|e| transport("request", &e))?;
        Ok((Connection { sender, driver }, response))
    }

    /// `GET /next`: waits, with no timeout, for the next invocation (RT-API).
    pub(crate) async fn next(&self) -> Result<NextInvocation, ClientError> {
        let request = self
            .request(Method::GET, paths::NEXT)
            .body(Empty::<Bytes>::new())
            .map_err(|e| ClientError::Transport(format!("building GET {}: {e}", paths::NEXT)))?;
        let (status, headers, event) = self.exchange(request, Retry::IfUnanswered, BodyEnd::Whole).await?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&event).into_owned();
            return Err(ClientError::Status { status: status.as_u16(), body });
        }
        Ok(NextInvocation { headers, event })
    }

    /// `POST /error` (before the first response byte) or `POST /runtime/init/error`.
    pub(crate) async fn post_error(&self, path: &str, diagnostic: &ErrorDiagnostic) -> Result<(), ClientError> {
        let request = self
            .request(Method::POST, path)
            .header(CONTENT_TYPE, names::ERROR_CONTENT_TYPE)
            .header(names::FUNCTION_ERROR_TYPE, header_safe(&diagnostic.error_type))
            .body(Full::new(Bytes::from(diagnostic.to_error_body())))
            .map_err(|e| ClientError::Transport(format!("building POST {path}: {e}")))?;
        expect_success(self.exchange(request, Retry::IfUnsent, BodyEnd::Whole).await?)
    }

    /// A buffered `POST /response`: the whole body with a `Content-Length`, no streaming mode
    /// (what the Swift runtime does when `finish` is the first call).
    pub(crate) async fn post_buffered(
        &self,
        request_id: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<(), ClientError> {
        let path = paths::response(request_id);
        let request = self
            .request(Method::POST, &path)
            .header(CONTENT_TYPE, content_type)
            // Explicit, so that an empty answer still says `Content-Length: 0` (hyper leaves it out).
            .header(CONTENT_LENGTH, body.len())
            .body(Full::new(body))
            .map_err(|e| ClientError::Transport(format!("building POST {path}: {e}")))?;
        expect_success(self.exchange(request, Retry::IfUnsent, BodyEnd::Whole).await?)
    }

    /// Starts a streamed `POST /response` (RT-CUSTOM): mode `streaming`, chunked, the error trailers
    /// declared in the head. The body pump runs on its own task.
    pub(crate) fn start_stream(&self, request_id: &str, content_type: &str) -> Result<StreamingExchange, ClientError> {
        let (frames, rx) = mpsc::channel(BODY_CHANNEL_FRAMES);
        let ended = Arc::new(AtomicBool::new(false));
        let path = paths::response(request_id);
        let request = self
            .request(Method::POST, &path)
            .header(names::RESPONSE_MODE, names::RESPONSE_MODE_STREAMING)
            .header(TRANSFER_ENCODING, "chunked")
            // hyper sends trailers only when the head declares them (hyper `proto/h1/role.rs`).
            .header(TRAILER, names::DECLARED_TRAILERS)
            .header(CONTENT_TYPE, content_type)
            .body(ChannelBody { frames: rx, ended: ended.clone() })
            .map_err(|e| ClientError::Transport(format!("building POST {path}: {e}")))?;
        let client = self.clone();
        let exchange = tokio::spawn(async move {
            expect_success(client.exchange(request, Retry::IfUnsent, BodyEnd::Streamed(ended)).await?)
        });
        Ok(StreamingExchange { frames, exchange })
    }
}

fn expect_success((status, _, body): (StatusCode, HeaderMap, Bytes)) -> Result<(), ClientError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(ClientError::Status { status: status.as_u16(), body: String::from_utf8_lossy(&body).into_owned() })
    }
}

/// The same request with an empty body, to send again.
fn bodiless_copy(request: &Request<RequestBody>) -> Request<RequestBody> {
    let mut copy = Request::new(Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// An error type goes into a header; anything a header value cannot hold is replaced, not a panic.
pub(crate) fn header_safe(value: &str) -> String {
    value.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_never_fail() {
        assert_eq!(header_safe("Function.Bad\nType\u{e9}"), "Function.Bad?Type?");
    }
}
