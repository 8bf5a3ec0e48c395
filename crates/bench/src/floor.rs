//! The floor: a raw hyper chunked relay on loopback, the same hops as an invocation with no Lambda
//! logic.
//!
//! client -> **relay** -> **function server** -> relay -> client. The function server answers
//! every request with a chunked body as its path asks ([`Directive`]); the relay forwards the
//! request and passes the body through frame by frame. For InvokeWithResponseStream the relay
//! wraps each chunk into one PayloadChunk frame and ends with InvokeComplete, the least an
//! aws-sdk-lambda client needs to decode the stream, so the SDK's own cost is in the floor too.
//!
//! The function server runs on its own thread and current-thread runtime, as our runtime loop
//! does in [`crate::in_process`], so the two setups share the machine the same way.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, BodyStream, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_stream_protocol::InvokeEvent;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{env, names};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::client::{BoxError, HttpClient, http_client};
use crate::{ChunkSlot, Directive, WRITE_BYTES, pattern, writes};

/// A response body any of the servers here send.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Serves HTTP/1.1 on `listener` with `handle` until the task is dropped; `TCP_NODELAY` on every
/// accepted connection, as the emulator sets it.
pub(crate) async fn serve<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<hyper::Response<Body>, Infallible>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

/// The floor: relay and function server, both on 127.0.0.1 port 0.
#[derive(Debug)]
pub struct Floor {
    relay_addr: SocketAddr,
    chunks: ChunkSlot,
    relay: tokio::task::JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
    function: Option<std::thread::JoinHandle<()>>,
}

impl Floor {
    /// Starts the function server on its own thread and the relay on the current runtime.
    pub async fn start() -> Result<Self, BoxError> {
        let chunks = ChunkSlot::default();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let function_addr = std_listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let slot = chunks.clone();
        let function = std::thread::Builder::new().name("floor-function".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                let handle = move |request: hyper::Request<Incoming>| {
                    let slot = slot.clone();
                    async move { Ok::<_, Infallible>(function_answer(request.uri().path(), &slot)) }
                };
                tokio::select! {
                    () = serve(listener, handle) => {}
                    _ = stopped => {}
                }
            });
        })?;

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let relay_addr = listener.local_addr()?;
        let client = http_client();
        let upstream = format!("http://{function_addr}");
        let relay = tokio::spawn(serve(listener, move |request| {
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                Ok(relay(request, &client, &upstream).await.unwrap_or_else(|e| {
                    let mut response = hyper::Response::new(text_body(format!("relay failed: {e}")));
                    *response.status_mut() = http::StatusCode::BAD_GATEWAY;
                    response
                }))
            }
        }));
        Ok(Self { relay_addr, chunks, relay, stop: Some(stop), function: Some(function) })
    }

    /// The relay's base URL: `POST {url}{directive path}` is the function-URL-like path, and an
    /// aws-sdk-lambda client with this endpoint gets event-stream frames.
    pub fn url(&self) -> String {
        format!("http://{}", self.relay_addr)
    }

    /// Where a per-chunk session's receiver goes before the `/chunks` request is sent.
    pub fn chunk_slot(&self) -> ChunkSlot {
        self.chunks.clone()
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.relay.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(function) = self.function.take() {
            let _ = function.join();
        }
    }
}

fn text_body(text: String) -> Body {
    Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed_unsync()
}

/// The function server's answer: a chunked body as the directive asks.
fn function_answer(path: &str, chunks: &ChunkSlot) -> hyper::Response<Body> {
    let body: Body = match Directive::parse(path) {
        Some(Directive::Once(n)) => StreamBody::new(stream::iter([Ok(Frame::data(pattern(n)))])).boxed_unsync(),
        Some(Directive::Bytes(total)) => {
            let buffer = pattern(WRITE_BYTES);
            StreamBody::new(stream::iter(writes(total).map(move |len| Ok(Frame::data(buffer.slice(..len))))))
                .boxed_unsync()
        }
        Some(Directive::Chunks) => {
            let receiver = chunks.lock().unwrap().take();
            StreamBody::new(stream::unfold(receiver, |receiver| async move {
                let mut receiver = receiver?;
                let command = receiver.recv().await?;
                // The frame goes to hyper right after this: the floor's "write returned".
                let _ = command.written.send(Instant::now());
                Some((Ok(Frame::data(command.bytes)), Some(receiver)))
            }))
            .boxed_unsync()
        }
        None => {
            let mut response = hyper::Response::new(text_body(format!("unknown directive {path}")));
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            return response;
        }
    };
    hyper::Response::new(body)
}

/// Forwards one request to the function server and its body back.
async fn relay(
    request: hyper::Request<Incoming>,
    client: &HttpClient,
    upstream: &str,
) -> Result<hyper::Response<Body>, BoxError> {
    let path = request.uri().path().to_owned();
    let iwrs = path.starts_with("/2021-11-15/functions/");
    let target = if iwrs {
        // The SDK sends the directive as the payload.
        let payload = request.into_body().collect().await?.to_bytes();
        format!("{upstream}{}", String::from_utf8_lossy(&payload))
    } else {
        format!("{upstream}{}", request.uri().path_and_query().map_or("/", |p| p.as_str()))
    };
    let answer = client.request(http::Request::get(target).body(Full::new(Bytes::new()))?).await?;
    let status = answer.status();
    let body = answer.into_body();
    if !iwrs {
        let mut response = hyper::Response::new(body.map_err(BoxError::from).boxed_unsync());
        *response.status_mut() = status;
        return Ok(response);
    }
    let frames = BodyStream::new(body)
        .map(|frame| {
            let frame = frame.map_err(BoxError::from)?;
            Ok(match frame.into_data() {
                Ok(data) => Frame::data(InvokeEvent::PayloadChunk(data).encode()),
                Err(other) => other.map_data(|_| Bytes::new()),
            })
        })
        .chain(stream::once(async {
            Ok(Frame::data(InvokeEvent::InvokeComplete(InvokeComplete::default()).encode()))
        }));
    let response = hyper::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, names::EVENT_STREAM_CONTENT_TYPE)
        .header(names::EXECUTED_VERSION, env::LATEST_VERSION)
        .body(StreamBody::new(frames).boxed_unsync())?;
    Ok(response)
}
