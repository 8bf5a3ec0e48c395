//! Target `emulator`: a whole emulator, fed arbitrary bytes on the client side and on the
//! runtime side at once.
//!
//! One emulator (function timeout 1 s, history 8) runs for the whole fuzzing session on a tokio
//! runtime of its own, with a harness runtime that always keeps one `GET /next` outstanding on a
//! keep-alive connection, so an invocation a client input queues is handed out at once.
//!
//! Input: `[flags][client length, u16 LE][client bytes][runtime bytes]`. Per input:
//! 1. the client bytes go to the public listener on a new connection (write side closed after);
//! 2. if the harness's `/next` yields an invocation within 50 ms, the runtime bytes answer it on a
//!    new connection to the Runtime API listener: as a whole raw request when they start with an
//!    HTTP method (every `{ID}` replaced by the request id), else as the chunked body of a
//!    streamed `/response` head the harness writes (flag bit 0 chooses the prelude content type);
//!    without an invocation they are sent raw to the Runtime API listener as they are.
//!
//! Invariants: nothing in the emulator panics (a panic hook aborts the process, so even a panic
//! in a spawned task is a finding); no answer is the 500 the dispatcher gives a panicking
//! handler; every connection gets its answer or is closed within the function timeout plus a
//! margin (no hang); and after every input both listeners still answer a health request.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use lambda_stream_emulator::{Emulator, FunctionConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::Seed;

/// How long a connection may take to be answered or closed: the function timeout plus a margin.
const ANSWER_WITHIN: Duration = Duration::from_secs(4);
/// How long the harness waits for an input's invocation to be handed out.
const NEXT_WITHIN: Duration = Duration::from_millis(50);

struct Harness {
    runtime: Runtime,
    public: SocketAddr,
    runtime_api: SocketAddr,
    /// Request ids the harness's `/next` poller took, oldest first.
    ids: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    _emulator: Emulator,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            std::process::abort();
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = runtime.block_on(async {
            Emulator::builder()
                .function(FunctionConfig::new("fuzz").timeout(Duration::from_secs(1)))
                .history(8)
                .build()
                .await
                .expect("the emulator starts")
        });
        let (public, runtime_api) = (emulator.local_addr(), emulator.runtime_api_addr());
        let (tx, ids) = mpsc::unbounded_channel();
        runtime.spawn(poll_next(runtime_api, tx));
        Harness { runtime, public, runtime_api, ids: tokio::sync::Mutex::new(ids), _emulator: emulator }
    })
}

/// Keeps one `GET /next` outstanding, forever, on keep-alive connections.
async fn poll_next(addr: SocketAddr, ids: mpsc::UnboundedSender<String>) {
    loop {
        let Ok(stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let mut stream = BufReader::new(stream);
        loop {
            let request = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: {addr}\r\n\r\n");
            if stream.get_mut().write_all(request.as_bytes()).await.is_err() {
                break;
            }
            let Some((id, length)) = read_head(&mut stream).await else { break };
            let mut body = vec![0; length];
            if stream.read_exact(&mut body).await.is_err() {
                break;
            }
            if let Some(id) = id {
                let _ = ids.send(id);
            }
        }
    }
}

/// Reads a response head; the request id header and the content length.
async fn read_head(stream: &mut BufReader<TcpStream>) -> Option<(Option<String>, usize)> {
    let (mut id, mut length) = (None, 0);
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Some((id, length));
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "lambda-runtime-aws-request-id" => id = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().ok()?,
                _ => {}
            }
        }
    }
}

/// Writes `bytes` on a new connection, closes the write side, and reads until the peer closes.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return Vec::new() };
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(ANSWER_WITHIN, async {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if out.len() < 64 * 1024 {
                out.extend_from_slice(&buf[..n]);
            }
        }
    })
    .await;
    assert!(read.is_ok(), "a connection was neither answered nor closed within {ANSWER_WITHIN:?}");
    out
}

fn starts_with_method(bytes: &[u8]) -> bool {
    [&b"GET "[..], b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH "].iter().any(|m| bytes.starts_with(m))
}

fn replace_id(bytes: &[u8], id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(4).position(|w| w == b"{ID}") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(id.as_bytes());
        rest = &rest[at + 4..];
    }
    out.extend_from_slice(rest);
    out
}

fn streamed_head(id: &str, prelude: bool, addr: SocketAddr) -> Vec<u8> {
    let content_type =
        if prelude { "application/vnd.awslambda.http-integration-response" } else { "application/octet-stream" };
    format!(
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nhost: {addr}\r\n\
         lambda-runtime-function-response-mode: streaming\r\ntransfer-encoding: chunked\r\n\
         trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\
         content-type: {content_type}\r\n\r\n"
    )
    .into_bytes()
}

fn assert_no_panic_answer(answer: &[u8]) {
    let text = String::from_utf8_lossy(answer);
    assert!(!text.contains("internal error while serving"), "a handler panicked: {text}");
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some((len, rest)) = rest.split_first_chunk::<2>() else { return };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (client, runtime_bytes) = rest.split_at(split);
    let h = harness();
    h.runtime.block_on(async {
        let mut ids = h.ids.lock().await;
        // Stale ids from an earlier input whose answer never came: let them time out on their own.
        while ids.try_recv().is_ok() {}
        let client_bytes = client.to_vec();
        let mut client_task = tokio::spawn(async move { exchange(h.public, &client_bytes).await });
        // The input's invocation, if the client's request queued one: it is handed out at once,
        // so wait briefly; a client answered without one needs no wait at all.
        let mut client_answer = None;
        let id = tokio::select! {
            id = tokio::time::timeout(NEXT_WITHIN, ids.recv()) => id.ok().flatten(),
            answer = &mut client_task => {
                client_answer = Some(answer.expect("the client task"));
                ids.try_recv().ok()
            }
        };
        let runtime_answer = match id {
            Some(id) if starts_with_method(runtime_bytes) => {
                exchange(h.runtime_api, &replace_id(runtime_bytes, &id)).await
            }
            Some(id) => {
                let mut bytes = streamed_head(&id, flags & 1 == 1, h.runtime_api);
                bytes.extend_from_slice(runtime_bytes);
                exchange(h.runtime_api, &bytes).await
            }
            None => exchange(h.runtime_api, runtime_bytes).await,
        };
        assert_no_panic_answer(&runtime_answer);
        let client_answer = match client_answer {
            Some(answer) => answer,
            None => client_task.await.expect("the client task"),
        };
        assert_no_panic_answer(&client_answer);
        // Both listeners still serve.
        let probe = b"GET /2015-03-31/functions/nope/invocations HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
        let public = exchange(h.public, probe).await;
        assert!(public.starts_with(b"HTTP/1.1 405"), "the public listener stopped serving: {public:?}");
        let probe = b"GET /2018-06-01/runtime/health HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
        let api = exchange(h.runtime_api, probe).await;
        assert!(api.starts_with(b"HTTP/1.1 404"), "the Runtime API stopped serving: {api:?}");
    });
}

fn input(flags: u8, client: &[u8], runtime: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(client.len() as u16).to_le_bytes());
    out.extend_from_slice(client);
    out.extend_from_slice(runtime);
    out
}

/// Whole conversations: a function URL call answered with a prelude, an IWRS call answered with
/// a buffered body, an error, a broken body, and garbage on both sides.
pub fn seeds() -> Vec<Seed> {
    let url = b"POST /path?x=1 HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
    let iwrs = b"POST /2021-11-15/functions/fuzz/response-streaming-invocations HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n{}";
    let prelude_body = b"1d\r\n{\"statusCode\":201,\"cookies\":[]}\r\n8\r\n\0\0\0\0\0\0\0\0\r\n5\r\nhello\r\n0\r\n\r\n";
    let buffered =
        b"POST /2018-06-01/runtime/invocation/{ID}/response HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\nhello";
    let error = b"POST /2018-06-01/runtime/invocation/{ID}/error HTTP/1.1\r\nhost: h\r\ncontent-length: 44\r\n\r\n{\"errorType\":\"E.x\",\"errorMessage\":\"boom\"}  ";
    let trailers = b"3\r\nabc\r\n0\r\nlambda-runtime-function-error-type: Function.Oops\r\nlambda-runtime-function-error-body: e30=\r\n\r\n";
    vec![
        ("url-prelude", input(1, url, prelude_body)),
        ("url-octets-trailers", input(0, url, trailers)),
        ("iwrs-buffered", input(0, iwrs, buffered)),
        ("iwrs-error", input(0, iwrs, error)),
        ("url-broken-chunks", input(1, url, b"zz\r\nnope")),
        ("garbage", input(0, b"\x00\x01GARBAGE\r\n\r\n", b"NOT HTTP AT ALL")),
    ]
}
