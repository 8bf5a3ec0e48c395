//! The writer's state rules (SWIFT `LambdaRuntimeClient.swift` rules, with its crashes turned
//! into typed errors): each misuse returns its own `StreamError` variant, whose message names the
//! problem and what to do, and leaves the response as it was.

use std::sync::{Arc, Mutex};

use lambda_stream::{Bytes, LambdaContext, Prelude, ResponseStreamWriter, Runtime, StreamError, handler_fn};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};
use tokio::sync::oneshot;

/// One call the handler makes.
#[derive(Clone)]
enum Call {
    Headers(u16),
    Write(&'static str),
    Finish,
    WriteAndFinish(&'static str),
    ContentType(&'static str),
}

/// Runs `calls` in one invocation against a scripted peer; returns each call's result and what
/// reached the wire.
async fn run_calls(calls: &[Call]) -> (Vec<Result<(), StreamError>>, RecordedRequest) {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let calls = calls.to_vec();
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        for call in &calls {
            let result = match call {
                Call::Headers(status) => writer.write_status_and_headers(Prelude::with_status(*status)).await,
                Call::Write(text) => writer.write(*text).await,
                Call::Finish => writer.finish().await,
                Call::WriteAndFinish(text) => writer.write_and_finish(*text).await,
                Call::ContentType(ct) => writer.set_content_type(*ct),
            };
            sink.lock().unwrap().push(result);
        }
        // Misuse must not stop the invocation: the handler ignores the errors and returns Ok.
        Ok::<(), StreamError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id), "misuse is not reported as an invocation error");
    let results = results.lock().unwrap().clone();
    (results, post)
}

/// Asserts the last call failed with `expected`, as misuse, with a message containing `words`.
fn assert_misuse(results: &[Result<(), StreamError>], expected: &StreamError, words: &[&str]) {
    let (last, before) = results.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok), "only the last call is misuse: {results:?}");
    let err = last.clone().unwrap_err();
    assert_eq!(&err, expected);
    assert!(err.is_misuse());
    let message = err.to_string();
    for word in words {
        assert!(message.contains(word), "message {message:?} lacks {word:?}");
    }
}

#[tokio::test]
async fn finishing_twice() {
    let (results, post) = run_calls(&[Call::Write("a"), Call::Finish, Call::Finish]).await;
    assert_misuse(&results, &StreamError::FinishAfterFinish, &["already finished", "only once"]);
    assert_eq!(post.body(), "a");
}

#[tokio::test]
async fn finishing_twice_on_a_buffered_answer() {
    let (results, post) = run_calls(&[Call::Finish, Call::Finish]).await;
    assert_misuse(&results, &StreamError::FinishAfterFinish, &["already finished"]);
    assert_eq!(post.content_length(), Some(0));
}

#[tokio::test]
async fn write_and_finish_after_finish() {
    let (results, post) = run_calls(&[Call::WriteAndFinish("a"), Call::WriteAndFinish("b")]).await;
    assert_misuse(&results, &StreamError::FinishAfterFinish, &["write_and_finish()"]);
    assert_eq!(post.body(), "a");
}

#[tokio::test]
async fn write_after_finish() {
    let (results, post) = run_calls(&[Call::Write("a"), Call::Finish, Call::Write("b")]).await;
    assert_misuse(&results, &StreamError::WriteAfterFinish, &["cannot write after the response is finished"]);
    assert_eq!(post.body(), "a", "nothing written after finish reaches the wire");
}

#[tokio::test]
async fn write_after_write_and_finish() {
    let (results, _) = run_calls(&[Call::WriteAndFinish("a"), Call::Write("b")]).await;
    assert_misuse(&results, &StreamError::WriteAfterFinish, &["before calling finish()"]);
}

#[tokio::test]
async fn status_and_headers_after_a_body_write() {
    let (results, post) = run_calls(&[Call::Write("a"), Call::Headers(500)]).await;
    assert_misuse(
        &results,
        &StreamError::HeadersAfterBody,
        &["after body bytes were written", "before the first write()"],
    );
    assert_eq!(post.body(), "a", "no prelude slipped in after the body");
    assert_eq!(post.header("content-type"), Some(names::DEFAULT_STREAM_CONTENT_TYPE));
}

#[tokio::test]
async fn status_and_headers_twice() {
    let (results, post) = run_calls(&[Call::Headers(201), Call::Headers(500), Call::Write("a")]).await;
    let (write, until_second) = results.split_last().unwrap();
    assert!(write.is_ok());
    assert_misuse(until_second, &StreamError::HeadersTwice, &["already set", "at most once"]);
    let mut expected = Prelude::with_status(201).encode().to_vec();
    expected.extend_from_slice(b"a");
    assert_eq!(post.body(), expected, "the first status stands");
}

#[tokio::test]
async fn status_and_headers_after_finish() {
    let (results, post) = run_calls(&[Call::Finish, Call::Headers(500)]).await;
    assert_misuse(&results, &StreamError::HeadersAfterFinish, &["after the response is finished"]);
    assert_eq!(post.body(), "");
}

#[tokio::test]
async fn content_type_after_the_response_started() {
    let (results, post) = run_calls(&[Call::Write("a"), Call::ContentType("text/plain")]).await;
    assert_misuse(&results, &StreamError::ContentTypeAfterStart, &["before the first write()"]);
    assert_eq!(post.header("content-type"), Some(names::DEFAULT_STREAM_CONTENT_TYPE));
}

#[tokio::test]
async fn a_content_type_a_header_cannot_carry() {
    let (results, _) = run_calls(&[Call::ContentType("text/plain\r\nx: y")]).await;
    let expected = StreamError::InvalidContentType { value: "text/plain\r\nx: y".into() };
    assert_misuse(&results, &expected, &["not a valid HTTP header value"]);
}

#[tokio::test]
async fn a_content_type_beyond_visible_ascii_is_refused_as_the_message_says() {
    // `http::HeaderValue` takes bytes above 127 (obs-text); the rule is visible ASCII, as the
    // error's message says, so a non-ASCII media type never reaches the wire.
    let (results, post) = run_calls(&[Call::ContentType("text/caf\u{e9}"), Call::Write("a")]).await;
    let (write, until_content_type) = results.split_last().unwrap();
    assert!(write.is_ok());
    let expected = StreamError::InvalidContentType { value: "text/caf\u{e9}".into() };
    assert_misuse(until_content_type, &expected, &["visible ASCII only"]);
    assert_eq!(post.header("content-type"), Some("application/octet-stream"));
}

#[tokio::test]
async fn the_writer_debug_output_names_the_request_and_the_state() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push(lambda_stream_test_support::runtime_api_peer::Invocation::new(Bytes::new()).request_id("dbg-1"));
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        let before = format!("{writer:?}");
        writer.write("x").await?;
        let during = format!("{writer:?}");
        writer.finish().await?;
        let after = format!("{writer:?}");
        assert_eq!(before, r#"ResponseStreamWriter { request_id: "dbg-1", state: "Idle" }"#);
        assert_eq!(during, r#"ResponseStreamWriter { request_id: "dbg-1", state: "Streaming" }"#);
        assert_eq!(after, r#"ResponseStreamWriter { request_id: "dbg-1", state: "Finished" }"#);
        Ok::<(), StreamError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id), "no assertion in the handler failed (it would post /error)");
    assert_eq!(post.body(), "x");
}

#[tokio::test]
async fn a_lost_runtime_api_is_a_fault_not_misuse_and_it_sticks() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (gone_tx, gone_rx) = oneshot::channel::<()>();
    let signals = Arc::new(Mutex::new(Some((started_tx, gone_rx))));
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        let (started, gone) = signals.lock().unwrap().take().expect("one invocation");
        started.send(()).unwrap();
        gone.await.unwrap();
        let mut out = vec![writer.write("lost").await];
        out.push(writer.write("again").await);
        out.push(writer.finish().await);
        out.push(writer.write("after").await);
        out.push(writer.finish().await);
        *sink.lock().unwrap() = out;
        Ok::<(), StreamError>(())
    });
    let runtime = Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap();
    let serving = tokio::spawn(runtime.serve(1));
    started_rx.await.unwrap();
    drop(peer); // The Runtime API goes away while the handler works.
    gone_tx.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let results = results.lock().unwrap().clone();
    assert_eq!(results.len(), 5);
    // A write only queues its chunk, so the fault may surface on a later call; `finish` waits for
    // the Runtime API's answer and so reports it at the latest.
    let first_fault = results.iter().position(Result::is_err).expect("some call reports the lost Runtime API");
    assert!(first_fault <= 2, "finish must report the fault: {results:?}");
    let fault = results[first_fault].clone().unwrap_err();
    assert!(matches!(fault, StreamError::Disconnected { .. }), "{fault:?}");
    assert!(!fault.is_misuse());
    assert!(fault.to_string().starts_with("the Runtime API connection was lost"), "{fault}");
    for later in &results[first_fault..] {
        assert_eq!(later, &Err(fault.clone()), "the fault sticks, and is never reported as misuse: {results:?}");
    }
}

#[tokio::test]
async fn a_writer_debugs_as_its_request_id_and_state() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        sink.lock().unwrap().push(format!("{writer:?}"));
        writer.write("a").await?;
        sink.lock().unwrap().push(format!("{writer:?}"));
        writer.finish().await?;
        sink.lock().unwrap().push(format!("{writer:?}"));
        Ok::<(), StreamError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    assert_eq!(peer.next_post().await.body(), "a");
    let expected: Vec<String> = ["Idle", "Streaming", "Finished"]
        .iter()
        .map(|state| format!("ResponseStreamWriter {{ request_id: {id:?}, state: {state:?} }}"))
        .collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}
