//! The misbehaviour catalogue (issue "Nobody gets in, nothing leaks, nothing hangs"): every way a
//! client or a runtime can break the rules that the emulator handles, one named test each. Every
//! test sends the misbehaviour, asserts the exact answer it gets (status, error type, a fragment
//! of the message, or what the client sees on the wire) and then that the emulator still serves an
//! ordinary invocation (`assert_healthy`, or a real invocation that checks the same).
//!
//! `docs/misbehaviours.md` is the catalogue as a table: misbehaviour, answer, source, test. The
//! test [`catalogue::the_table_and_the_tests_name_the_same_cases`] keeps the two in step: every
//! test named in the table exists in the file it names, and every test here (and every defect
//! test of `tests/probe_defects.rs`, which the table references instead of repeating) has its
//! row.
//!
//! ## Parts
//! - `client_http`: what hyper and the emulator do with broken HTTP on the public listener
//!   (request line, headers, framing, sizes, slow and vanishing clients, odd request targets);
//! - `client_api`: the Invoke APIs' own checks (methods, function names and ARNs, qualifiers,
//!   invocation types, client context, bodies) and clients that leave mid-invocation;
//! - `client_sigv4`: every way a SigV4 signature can fail with `Auth::Iam`;
//! - `runtime_calls`: the Runtime API's paths, methods, request ids and response modes;
//! - `runtime_bodies`: the runtime's answer bodies: framing, sizes, trailers, `/error` and
//!   `/init/error`;
//! - `runtime_prelude`: the HTTP-integration prelude, malformed in every way;
//! - `runtime_process`: a supervised bootstrap that crashes, exits or hangs;
//! - `catalogue`: the check that the table and the tests agree.
//!
//! The tests use the scripted runtime of the fixtures crate (the function's side as exact bytes),
//! reqwest and raw sockets on 127.0.0.1 port 0, and wait for positive signals (the recorder, an
//! answer) rather than sleeping; the few deadlines run on a paused clock.

#[path = "../common/mod.rs"]
mod common;

mod catalogue;
mod client_api;
mod client_http;
mod client_sigv4;
mod runtime_bodies;
mod runtime_calls;
mod runtime_prelude;
mod runtime_process;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use lambda_stream_emulator::{Emulator, InvocationRecord};
use lambda_stream_fixtures::raw::{self, Answer};
use lambda_stream_fixtures::scripted_runtime;
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::WAIT;

/// How long a raw exchange waits for the emulator to answer and close.
const RAW_WAIT: Duration = Duration::from_secs(10);

/// Writes `request` on a new connection to `addr` (without half-closing: hyper takes a
/// half-close as the client leaving) while reading, and returns everything that came back until
/// the emulator closed the connection (or [`RAW_WAIT`] passed).
async fn raw_text(addr: SocketAddr, request: &[u8]) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let request = request.to_vec();
    // The emulator may answer and close before it has read everything; the write may then fail.
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut out = Vec::new();
    let _ = tokio::time::timeout(RAW_WAIT, async {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    drop(write.await);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `request` on a new connection to `addr` while reading, and parses the answer.
async fn raw_answer(addr: SocketAddr, request: &[u8]) -> io::Result<Answer> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (reader, mut writer) = stream.into_split();
    let request = request.to_vec();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let answer = tokio::time::timeout(RAW_WAIT, raw::read_answer(reader))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))?;
    drop(write.await);
    answer
}

/// The status line of a raw answer (empty when nothing came back).
fn status_line(text: &str) -> &str {
    text.split("\r\n").next().unwrap_or_default()
}

/// A streamed answer with this text, well formed.
fn ok_script(text: &'static str) -> Vec<Step> {
    vec![Step::streaming("text/plain"), Step::chunk(text), Step::End]
}

/// `http://HOST:PORT/2021-11-15/functions/{name}/response-streaming-invocations{query}`.
fn iwrs_url(emulator: &Emulator, name: &str, query: &str) -> String {
    format!("{}/2021-11-15/functions/{name}/response-streaming-invocations{query}", emulator.url())
}

/// `http://HOST:PORT/2015-03-31/functions/{name}/invocations{query}`.
fn invoke_url(emulator: &Emulator, name: &str, query: &str) -> String {
    format!("{}/2015-03-31/functions/{name}/invocations{query}", emulator.url())
}

/// A client API refusal: status, `x-amzn-errortype` (empty when absent) and the JSON body.
async fn aws_refusal(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let error_type =
        response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = serde_json::from_slice(&response.bytes().await.expect("body")).expect("a JSON error body");
    (status, error_type, body)
}

/// The `Message` of an AWS-shaped refusal body.
fn message(body: &Value) -> &str {
    body["Message"].as_str().unwrap_or_default()
}

/// A Runtime API answer's status, `errorType` and `errorMessage` (RIE's shape).
fn rie(answer: &scripted_runtime::Answer) -> (u16, String, String) {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (answer.status, field("errorType"), field("errorMessage"))
}

/// A raw Runtime API answer's status, `errorType` and `errorMessage`.
fn rie_raw(answer: &Answer) -> (u16, String, String) {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (answer.status, field("errorType"), field("errorMessage"))
}

/// A JSON response body.
async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("a JSON body")
}

/// The frames of an InvokeWithResponseStream body.
fn frames(body: &[u8]) -> Vec<InvokeEvent> {
    let mut decoder = EventStreamDecoder::new();
    decoder.push(body);
    let mut out = Vec::new();
    while let Some(event) = decoder.next_event().expect("a valid event stream") {
        out.push(event);
    }
    out
}

/// The payload bytes and the `InvokeComplete` of an IWRS answer.
async fn iwrs_result(response: reqwest::Response) -> (Vec<u8>, InvokeComplete) {
    assert_eq!(response.status(), 200, "IWRS answers 200 once the function exists");
    let body = response.bytes().await.expect("IWRS body");
    let mut payload = Vec::new();
    let mut complete = None;
    for frame in frames(&body) {
        match frame {
            InvokeEvent::PayloadChunk(bytes) => payload.extend_from_slice(&bytes),
            InvokeEvent::InvokeComplete(done) => complete = Some(done),
        }
    }
    (payload, complete.expect("the stream ends with InvokeComplete"))
}

/// A prelude chunk: `json`, the eight NUL bytes, then `body`.
fn prelude_chunk(json: &str, body: &[u8]) -> Bytes {
    let mut bytes = json.as_bytes().to_vec();
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(body);
    Bytes::from(bytes)
}

/// The only invocation the emulator has recorded, once it is complete.
async fn only_invocation(emulator: &Emulator) -> InvocationRecord {
    let mut done = emulator.recorder().wait_for_completed(1, WAIT).await.expect("one complete invocation");
    assert_eq!(done.len(), 1, "{done:?}");
    done.remove(0)
}

/// Asserts that nothing reached the function (no invocation was recorded), then that the emulator
/// still serves an ordinary invocation.
async fn assert_refused_and_healthy(emulator: &Emulator) {
    assert!(emulator.recorder().invocations().is_empty(), "nothing may reach the function");
    common::assert_healthy(emulator).await;
}

/// The request id of the invocation that is queued (opened, not yet taken by a runtime).
async fn queued_id(emulator: &Emulator) -> String {
    emulator
        .recorder()
        .wait_until(WAIT, "an invocation to be queued", |r| {
            r.invocations().into_iter().find(|i| i.runtime.taken_at.is_none()).map(|i| i.request_id)
        })
        .await
        .expect("queued")
}

/// A streamed answer the test sends piece by piece on one connection, so it can act between
/// the pieces (make the client leave, wait for a deadline).
struct LiveAnswer {
    connection: raw::Connection,
}

impl LiveAnswer {
    /// Sends the head of a streamed `/response` for `request_id`.
    async fn open(emulator: &Emulator, request_id: &str, content_type: &str) -> Self {
        let client = raw::RawClient::new(emulator.runtime_api_addr());
        let head = client
            .head("POST", &lambda_stream_protocol::paths::response(request_id))
            .header("Transfer-Encoding", "chunked")
            .header("Trailer", lambda_stream_protocol::names::DECLARED_TRAILERS)
            .header("Lambda-Runtime-Function-Response-Mode", "streaming")
            .header("Content-Type", content_type)
            .into_bytes();
        let mut connection = client.connect().await.expect("connect to the Runtime API");
        connection.send(&head).await.expect("send the head");
        Self { connection }
    }

    /// Sends one chunk.
    async fn chunk(&mut self, bytes: &[u8]) {
        self.connection.send(&raw::chunk(bytes)).await.expect("send a chunk");
    }

    /// Ends the body with `trailers` and reads the emulator's answer.
    async fn end(mut self, trailers: &[(&str, &str)]) -> Answer {
        self.connection.send(&raw::last_chunk(trailers.iter().copied())).await.expect("send the end");
        tokio::time::timeout(WAIT, self.connection.read_answer()).await.expect("an answer in time").expect("answer")
    }
}
