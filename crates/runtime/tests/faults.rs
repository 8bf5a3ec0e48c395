//! Fault injection on the runtime side (the catalogue of issue 10): a Runtime API that refuses
//! answers (413, 500), resets the connection mid-body, reads slowly, or answers `GET /next` with
//! garbage. One named test per fault. In each, the runtime reports the fault (the handler gets a
//! `StreamError`, the log names it), never panics, and serves the next invocation, except where
//! the Runtime API contract says to exit (an error status on `/next`, RT-API), which ends the loop
//! with a typed error. The policy is written down in `src/runtime.rs`.
//!
//! Logs are captured with a `tracing` subscriber on the test's thread (`#[tokio::test]` runs the
//! loop and the body pump on that one thread).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use lambda_stream::{BoxError, Bytes, Error, LambdaContext, ResponseStreamWriter, Runtime, StreamError, handler_fn};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{Invocation, PeerBuilder, PostAnswer, PostKind, RuntimeApiPeer};
use tracing::subscriber::DefaultGuard;

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures every event of this thread until the guard is dropped.
    fn capture() -> (Self, DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Asserts an ERROR line holds every one of `words`.
    fn assert_error(&self, words: &[&str]) {
        let text = self.text();
        let found = text.lines().any(|line| line.contains("ERROR") && words.iter().all(|w| line.contains(w)));
        assert!(found, "no ERROR line with {words:?} in the log:\n{text}");
    }
}

/// Every writer call's result, in order, over all invocations of a test.
type Results = Arc<Mutex<Vec<Result<(), StreamError>>>>;

/// The handler of these tests: `write-and-finish` answers buffered, `stream` writes chunks with
/// short pauses until a write fails (or 200 were written) and finishes, `three` and `twenty`
/// write that many chunks and finish; `fail` fails before any byte. Every other event is echoed.
/// Each writer call's result is kept in `results`.
fn handler(results: Results) -> impl lambda_stream::StreamingHandler<Error = BoxError> {
    handler_fn(async move |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        let record = |r: Result<(), StreamError>| results.lock().unwrap().push(r);
        match &event[..] {
            b"write-and-finish" => record(writer.write_and_finish("buffered answer").await),
            b"stream" => {
                for i in 0..200 {
                    let written = writer.write(format!("chunk {i}\n")).await;
                    let failed = written.is_err();
                    record(written);
                    if failed {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                record(writer.finish().await);
            }
            b"three" | b"twenty" => {
                let count = if &event[..] == b"three" { 3 } else { 20 };
                for i in 0..count {
                    record(writer.write(format!("chunk {i}\n")).await);
                }
                record(writer.finish().await);
            }
            b"fail" => return Err("the handler failed".into()),
            other => record(writer.write_and_finish(Bytes::copy_from_slice(other)).await),
        }
        // The handler lets every writer error pass: the runtime must still report it.
        Ok::<(), BoxError>(())
    })
}

fn runtime(peer: &RuntimeApiPeer) -> (Runtime<impl lambda_stream::StreamingHandler<Error = BoxError>>, Results) {
    let results = Results::default();
    let runtime = Runtime::builder().endpoint(peer.endpoint()).handler(handler(Arc::clone(&results))).build().unwrap();
    (runtime, results)
}

/// Serves `event` with the first answer other than `GET /next` scripted as `answer`, then an
/// `after` invocation. Returns the peer, the writer results and the `after` request id.
async fn serve_two(answer: Option<PostAnswer>, event: &'static str) -> (RuntimeApiPeer, Results, String) {
    serve_two_on(RuntimeApiPeer::start().await, answer, event).await
}

async fn serve_two_on(
    peer: RuntimeApiPeer,
    answer: Option<PostAnswer>,
    event: &'static str,
) -> (RuntimeApiPeer, Results, String) {
    if let Some(answer) = answer {
        peer.push_post_answer(answer);
    }
    peer.push_event(event);
    let next = peer.push_event("after");
    let (runtime, results) = runtime(&peer);
    runtime.serve(2).await.unwrap();
    (peer, results, next)
}

/// The results of the streamed invocation, without the last one: the `after` invocation's answer.
fn streamed_results(results: &Mutex<Vec<Result<(), StreamError>>>) -> Vec<Result<(), StreamError>> {
    let mut results = results.lock().unwrap().clone();
    assert_eq!(results.pop(), Some(Ok(())), "the invocation after the fault was answered");
    results
}

/// Asserts the next recorded request is the answer to `id` with body `body`: the invocation after
/// the fault was served.
async fn assert_served(peer: &RuntimeApiPeer, id: &str, body: &str) {
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id.to_owned()), "the next invocation was served");
    assert_eq!(post.body(), body);
    assert!(post.ended_cleanly);
}

// ---- /response and /error refused or cut -------------------------------------------------------

#[tokio::test]
async fn a_buffered_response_refused_with_413_is_returned_logged_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    let answer = PostAnswer::Status(StatusCode::PAYLOAD_TOO_LARGE, "Response payload too large");
    let (peer, results, next) = serve_two(Some(answer), "write-and-finish").await;

    let refused = StreamError::Rejected { status: 413, body: "Response payload too large".into() };
    assert_eq!(results.lock().unwrap()[0], Err(refused.clone()), "the handler is told");
    assert!(!refused.is_misuse());
    logs.assert_error(&["the response did not reach Lambda", "status 413", "Response payload too large"]);
    let first = peer.next_post().await;
    assert_eq!(first.body(), "buffered answer", "the refused answer did arrive whole");
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn a_buffered_response_answered_500_is_returned_logged_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    let answer = PostAnswer::Status(StatusCode::INTERNAL_SERVER_ERROR, "Container error");
    let (peer, results, next) = serve_two(Some(answer), "write-and-finish").await;

    let expected = Err(StreamError::Rejected { status: 500, body: "Container error".into() });
    assert_eq!(results.lock().unwrap()[0], expected);
    logs.assert_error(&["the response did not reach Lambda", "status 500"]);
    peer.next_post().await;
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn a_streamed_response_answered_413_before_its_end_is_returned_logged_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    // Lambda cuts a response over its limit and answers 413 without reading the rest.
    let answer = PostAnswer::StatusEarly(StatusCode::PAYLOAD_TOO_LARGE, "Response payload too large");
    let (peer, results, next) = serve_two(Some(answer), "stream").await;

    let results = streamed_results(&results);
    let refused = StreamError::Rejected { status: 413, body: "Response payload too large".into() };
    let first = results.iter().position(Result::is_err).expect("the refusal reaches the handler");
    assert!(results[first..].iter().all(|r| r == &Err(refused.clone())), "the refusal sticks: {results:?}");
    assert_eq!(results.last(), Some(&Err(refused)), "finish reports it");
    logs.assert_error(&["the response did not reach Lambda", "status 413"]);
    assert!(peer.next_post().await.body_error.is_some(), "the peer did not read the body");
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn a_streamed_response_answered_500_at_its_end_is_returned_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    // The peer reads the three chunks and the end, then answers 500.
    let answer = PostAnswer::Status(StatusCode::INTERNAL_SERVER_ERROR, "Container error");
    let (peer, results, next) = serve_two(Some(answer), "three").await;

    let results = streamed_results(&results);
    assert_eq!(results[..3], [Ok(()), Ok(()), Ok(())]);
    assert_eq!(results[3], Err(StreamError::Rejected { status: 500, body: "Container error".into() }));
    logs.assert_error(&["the response did not reach Lambda", "status 500"]);
    let streamed = peer.next_post().await;
    assert_eq!(streamed.body(), "chunk 0\nchunk 1\nchunk 2\n");
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_a_disconnect_logged_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    let (peer, results, next) = serve_two(Some(PostAnswer::ResetAfterFrames(1)), "stream").await;

    let results = streamed_results(&results);
    assert_eq!(results[0], Ok(()), "the first chunk was taken");
    let fault = results.iter().find_map(|r| r.clone().err()).expect("the reset reaches the handler");
    assert!(matches!(fault, StreamError::Disconnected { .. }), "{fault:?}");
    assert!(!fault.is_misuse());
    assert_eq!(results.last(), Some(&Err(fault)), "finish reports the same fault");
    assert!(results.len() < 201, "the handler stopped at the fault: {} results", results.len());
    logs.assert_error(&["the response did not reach Lambda", "connection was lost"]);
    let cut = peer.next_post().await;
    assert!(!cut.ended_cleanly);
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn an_error_post_answered_500_is_logged_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    let answer = PostAnswer::Status(StatusCode::INTERNAL_SERVER_ERROR, "Container error");
    let (peer, _, next) = serve_two(Some(answer), "fail").await;

    let error = peer.next_post().await;
    assert_eq!(error.kind(), PostKind::Error("req-1".into()));
    logs.assert_error(&["could not report the error to /error", "status 500", "Container error"]);
    assert_served(&peer, &next, "after").await;
}

#[tokio::test]
async fn a_slow_reader_gets_every_chunk_in_order_and_the_next_invocation_is_served() {
    let slow = PeerBuilder::default().read_delay(Duration::from_millis(20)).start().await;
    let (peer, results, next) = serve_two_on(slow, None, "twenty").await;

    let results = streamed_results(&results);
    assert_eq!(results, vec![Ok(()); 21], "twenty writes and the finish");
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response("req-1".into()));
    let expected: String = (0..20).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(post.body(), expected, "every chunk, in order");
    assert!(post.ended_cleanly);
    assert_served(&peer, &next, "after").await;
}

// ---- GET /next answered with garbage -------------------------------------------------------------

/// Runs until the good invocation after the garbage is answered; returns the log.
async fn garbage_then_next(garbage: &[u8]) -> (Logs, usize) {
    let peer = RuntimeApiPeer::start().await;
    peer.push_raw_next(Bytes::copy_from_slice(garbage));
    let next = peer.push_event("after");
    let (logs, guard) = Logs::capture();
    let (runtime, _) = runtime(&peer);
    runtime.serve(1).await.unwrap();
    drop(guard);
    assert_served(&peer, &next, "after").await;
    (logs, peer.next_polls())
}

#[tokio::test]
async fn next_closed_without_an_answer_is_asked_again_and_the_next_invocation_served() {
    let (logs, polls) = garbage_then_next(b"").await;
    logs.assert_error(&["GET /next got no readable answer; asking again", "GET /2018-06-01/runtime/invocation/next"]);
    assert_eq!(polls, 2);
}

#[tokio::test]
async fn a_next_on_an_answered_connection_the_runtime_api_closes_is_asked_again_on_a_fresh_one() {
    // The first answer's connection carries the second GET /next, and the peer closes it without
    // an answer (its raw answers go on fresh connections): the runtime asks again on a fresh
    // connection, quietly: keep-alive at work, not a broken answer.
    let peer = RuntimeApiPeer::start().await;
    let first = peer.push_event("after");
    let second = "fresh-connection-id";
    let raw = format!(
        "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: {second}\r\nlambda-runtime-deadline-ms: 99999999999999\r\n\
         lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:peer\r\n\
         content-length: 5\r\n\r\nafter"
    );
    peer.push_raw_next(Bytes::from(raw));
    let (logs, guard) = Logs::capture();
    let (runtime, _) = runtime(&peer);
    runtime.serve(2).await.unwrap();
    drop(guard);
    let (one, two) = (peer.next_post().await, peer.next_post().await);
    assert_eq!(one.kind(), PostKind::Response(first));
    assert_eq!(two.kind(), PostKind::Response(second.to_owned()), "{:?}", two.error_document());
    assert_eq!((one.body(), two.body()), (Bytes::from("after"), Bytes::from("after")));
    assert_ne!(one.connection, two.connection);
    assert_eq!(peer.next_polls(), 3, "asked on the kept connection, then on a fresh one");
    let text = logs.text();
    assert!(!text.contains("ERROR") && !text.contains("WARN"), "a closed kept connection is not an error:\n{text}");
}

#[tokio::test]
async fn next_answered_with_bytes_that_are_not_http_is_asked_again_and_the_next_invocation_served() {
    let (logs, polls) = garbage_then_next(b"garbage, not a status line\r\n\r\n").await;
    logs.assert_error(&["GET /next got no readable answer; asking again"]);
    assert_eq!(polls, 2);
}

#[tokio::test]
async fn next_with_a_truncated_event_is_asked_again_and_the_next_invocation_served() {
    let raw = b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: cut\r\nlambda-runtime-deadline-ms: 1\r\n\
        content-length: 100\r\n\r\n{\"only\": \"part";
    let (logs, polls) = garbage_then_next(raw).await;
    logs.assert_error(&["GET /next got no readable answer; asking again", "reading the answer"]);
    assert_eq!(polls, 2);
}

#[tokio::test]
async fn next_with_a_head_too_large_is_asked_again_and_the_next_invocation_served() {
    // A 300 KB client context, as issue 10 found one making GET /next fail.
    let mut raw = b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: huge\r\nlambda-runtime-client-context: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 300 * 1024));
    raw.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\n{}");
    let (logs, polls) = garbage_then_next(&raw).await;
    logs.assert_error(&["GET /next got no readable answer; asking again"]);
    assert_eq!(polls, 2);
}

#[tokio::test]
async fn three_broken_next_answers_in_a_row_end_run_with_the_last_reason() {
    let peer = RuntimeApiPeer::start().await;
    // Four broken answers queued: the runtime must stop after the third, not wait for a fifth.
    for _ in 0..4 {
        peer.push_raw_next(Bytes::new());
    }
    let (runtime, results) = runtime(&peer);
    let ended = tokio::time::timeout(Duration::from_secs(30), runtime.run()).await;
    let err = ended.expect("run() gave up").unwrap_err();
    assert!(matches!(err, Error::RuntimeApi { request: "GET /next", .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("GET /next failed: GET /2018-06-01/runtime/invocation/next to http://"),
        "{err}"
    );
    assert_eq!(peer.next_polls(), 3, "three tries, then it gives up");
    assert!(results.lock().unwrap().is_empty());
}

#[tokio::test]
async fn broken_next_answers_are_counted_in_a_row_only() {
    // broken, served, broken, broken, served: never three in a row, so the loop goes on.
    let peer = RuntimeApiPeer::start().await;
    peer.push_raw_next(Bytes::new());
    let first = peer.push_event("first");
    peer.push_raw_next(Bytes::new());
    peer.push_raw_next(Bytes::new());
    let second = peer.push_event("second");
    let (runtime, _) = runtime(&peer);
    tokio::time::timeout(Duration::from_secs(30), runtime.serve(2)).await.expect("served both").unwrap();
    assert_served(&peer, &first, "first").await;
    assert_served(&peer, &second, "second").await;
    // Five answers, six polls: after "first" was answered, its connection carried the next
    // GET /next, which the peer closed unanswered (its broken answers go on fresh connections);
    // the runtime asked again on a fresh one, and that is not a broken answer.
    assert_eq!(peer.next_polls(), 6);
}

#[tokio::test]
async fn next_answered_500_ends_run_with_the_status_and_body() {
    // RT-API: 500 on /next is a non-recoverable state; the runtime should exit promptly.
    let peer = RuntimeApiPeer::start().await;
    peer.push_raw_next(&b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 15\r\n\r\nContainer error"[..]);
    peer.push_event("never");
    let (runtime, results) = runtime(&peer);
    let err = runtime.run().await.unwrap_err();
    let Error::UnexpectedStatus { request, status, body } = &err else { panic!("{err:?}") };
    assert_eq!((*request, *status, body.as_str()), ("GET /next", 500, "Container error"));
    assert_eq!(err.to_string(), "GET /next was answered with status 500: Container error");
    assert_eq!(peer.next_polls(), 1, "no retry on an error status");
    assert!(results.lock().unwrap().is_empty());
}

#[tokio::test]
async fn next_answered_with_a_status_lambda_never_sends_ends_run_without_a_panic() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_raw_next(&b"HTTP/1.1 999 Nonsense\r\ncontent-length: 0\r\n\r\n"[..]);
    let (runtime, _) = runtime(&peer);
    let err = runtime.run().await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedStatus { request: "GET /next", status: 999, .. }), "{err:?}");
}

#[tokio::test]
async fn next_with_a_request_id_that_is_not_utf8_is_skipped_and_the_next_invocation_served() {
    let (logs, _guard) = Logs::capture();
    let peer = RuntimeApiPeer::start().await;
    peer.push(Invocation::new("lost").header_bytes(names::REQUEST_ID, b"req-\xff\xfe"));
    let next = peer.push_event("after");
    let (runtime, results) = runtime(&peer);
    runtime.serve(2).await.unwrap();
    logs.assert_error(&[
        "skipping an invocation that cannot be reported",
        "lambda-runtime-aws-request-id is not visible ASCII",
    ]);
    assert_served(&peer, &next, "after").await;
    assert_eq!(results.lock().unwrap().len(), 1, "the handler ran for the readable invocation only");
}

#[tokio::test]
async fn next_with_an_optional_header_that_is_not_utf8_is_reported_to_error_and_the_next_invocation_served() {
    let peer = RuntimeApiPeer::start().await;
    let bad = peer.push(Invocation::new("bad").header_bytes(names::TRACE_ID, b"Root=\xff"));
    let next = peer.push_event("after");
    let (runtime, results) = runtime(&peer);
    runtime.serve(2).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Error(bad));
    let document = post.error_document();
    assert_eq!(document.error_type, "Runtime.InvalidInvocation");
    assert_eq!(
        document.error_message,
        "the runtime could not read the invocation: header lambda-runtime-trace-id is not visible ASCII"
    );
    assert_served(&peer, &next, "after").await;
    assert_eq!(results.lock().unwrap().len(), 1);
}
