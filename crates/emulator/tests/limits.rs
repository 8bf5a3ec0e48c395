//! Limits on a real clock: the streamed size cap, the timeout, and a client that goes away.
//! (Deadlines and shaping on tokio's paused clock are in `deadlines.rs`.)

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{WAIT, assert_healthy, builder, client, runtime};
use lambda_stream_emulator::{ClientEnd, FaultKind, FunctionConfig, Limits};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, paths};

fn over_cap_script() -> Vec<Step> {
    vec![
        Step::streaming("application/octet-stream"),
        Step::Chunk(Bytes::from(vec![b'a'; 600])),
        Step::Pause(Duration::from_millis(50)),
        Step::Chunk(Bytes::from(vec![b'b'; 600])),
        Step::Chunk(Bytes::from(vec![b'c'; 600])),
        Step::End,
    ]
}

#[tokio::test]
async fn the_streamed_size_cap_cuts_the_stream() {
    let emulator = builder("cap").max_streamed_response_bytes(1000).build().await.unwrap();
    let rt = runtime(&emulator);

    // IWRS: the cut is an InvokeComplete with the error.
    let served = rt.spawn(vec![over_cap_script()]);
    let url = format!("{}/2021-11-15/functions/cap/response-streaming-invocations", emulator.url());
    let response = client().post(url).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&response.bytes().await.unwrap());
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event().unwrap() {
        events.push(event);
    }
    decoder.finish().unwrap();
    assert_eq!(events[0], InvokeEvent::PayloadChunk(Bytes::from(vec![b'a'; 600])));
    let Some(InvokeEvent::InvokeComplete(done)) = events.last() else { panic!("no InvokeComplete: {events:?}") };
    assert_eq!(done.error_code.as_deref(), Some(error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE));
    assert_eq!(events.len(), 2, "nothing past the cap is relayed: {events:?}");
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 413, "the runtime is told too");

    // Function URL: the cut is an aborted body.
    let served = rt.spawn(vec![over_cap_script()]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert!(response.bytes().await.is_err());
    served.await.unwrap().unwrap();
    let records = emulator.recorder().wait_for_completed(2, WAIT).await.unwrap();
    for record in &records {
        assert_eq!(record.error().unwrap().error_type, error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
        assert!(record.faults.iter().any(|f| f.kind == FaultKind::ResponseTooLarge));
    }
    assert!(matches!(records[1].client.end, Some((_, ClientEnd::Aborted { .. }))));
}

/// The chunks the runtime sent before the cap, already accepted by the platform, reach the client
/// even when the relay lags behind (here: shaped to 2 KB/s after a 200-byte burst), then the cut.
/// Before, the platform's abort overtook them and up to eight queued chunks were lost.
#[tokio::test]
async fn the_bytes_before_the_cap_all_arrive_when_the_relay_lags_behind() {
    let limits = lambda_stream_emulator::Limits {
        max_streamed_response_bytes: 1000,
        bandwidth: Some(lambda_stream_emulator::Bandwidth { burst_bytes: 200, bytes_per_second: 2000 }),
        ..lambda_stream_emulator::Limits::default()
    };
    let emulator = builder("lagging").limits(limits).build().await.unwrap();
    let mut script = vec![Step::streaming("application/octet-stream")];
    script.extend((0..12).map(|i| Step::Chunk(Bytes::from(vec![b'a' + i; 100]))));
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let url = format!("{}/2021-11-15/functions/lagging/response-streaming-invocations", emulator.url());
    let response = client().post(url).body("{}").send().await.unwrap();
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&response.bytes().await.unwrap());
    let mut relayed = Vec::new();
    let mut done = None;
    while let Some(event) = decoder.next_event().unwrap() {
        match event {
            InvokeEvent::PayloadChunk(bytes) => relayed.extend_from_slice(&bytes),
            InvokeEvent::InvokeComplete(complete) => done = Some(complete),
        }
    }
    let expected: Vec<u8> = (0..10).flat_map(|i| vec![b'a' + i; 100]).collect();
    assert_eq!(relayed.len(), 1000, "every byte up to the cap arrives");
    assert_eq!(relayed, expected);
    assert_eq!(done.unwrap().error_code.as_deref(), Some(error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE));
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_timeout_cuts_the_stream_with_sandbox_timeout() {
    let function = FunctionConfig::new("slow").timeout(Duration::from_secs(1));
    let emulator = builder("slow").function(function).build().await.unwrap();
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("before the deadline"),
        Step::Pause(Duration::from_secs(3)),
        Step::chunk("after it"),
        Step::End,
    ]]);
    let start = Instant::now();
    let mut response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"before the deadline");
    assert!(response.chunk().await.is_err(), "the stream is cut, not ended");
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2900), "{elapsed:?}");
    let (next, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 409, "the runtime's late end is refused");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    let error = record.error().unwrap();
    assert_eq!(error.error_type, error_types::SANDBOX_TIMEOUT);
    assert!(error.error_message.contains("timed out after 1.00 seconds"), "{}", error.error_message);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_client_that_goes_away_does_not_stop_the_function() {
    let emulator = builder("leaver").build().await.unwrap();
    let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
    let mut script = vec![Step::streaming("application/octet-stream"), Step::Chunk(chunk.clone())];
    script.push(Step::Pause(Duration::from_millis(300)));
    script.extend((0..40).map(|_| Step::Chunk(chunk.clone())));
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let mut response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert!(!response.chunk().await.unwrap().unwrap().is_empty());
    drop(response); // The client hangs up mid-stream.
    let (next, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 202, "the function ran to its end");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.outcome, Some(Ok(())));
    assert_eq!(record.runtime.bytes, 41 * 64 * 1024, "every runtime byte was read");
    assert!(matches!(record.client.end, Some((_, ClientEnd::Disconnected))), "{:?}", record.client.end);
    assert!(record.client.bytes < record.runtime.bytes, "later chunks were dropped");
    assert_healthy(&emulator).await;
}

/// A runtime that writes its whole answer before reading the reply (as simple HTTP clients do)
/// gets the 413 for an answer declared over the cap, not a connection reset: the emulator reads
/// and drops the refused body (up to 16 MiB, for up to 2 s) before answering.
#[tokio::test]
async fn an_answer_declared_over_the_cap_is_read_to_its_end_so_the_runtime_gets_the_413() {
    let limits = Limits { max_buffered_response_bytes: 1000, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let call =
        tokio::spawn(client().post(format!("{}/2015-03-31/functions/f/invocations", emulator.url())).body("{}").send());
    let next = runtime(&emulator).next().await.unwrap();
    // Far more than the socket buffers take while nobody reads, and less than the 16 MiB drained.
    let body = vec![b'y'; 14 * 1024 * 1024];
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        paths::response(&next.request_id),
        body.len()
    );
    let mut connection =
        lambda_stream_fixtures::raw::RawClient::new(emulator.runtime_api_addr()).connect().await.unwrap();
    connection.send(head.as_bytes()).await.unwrap();
    connection.send(&body).await.expect("the emulator reads the refused body instead of resetting the connection");
    let answer = connection.read_answer().await.unwrap();
    assert_eq!(answer.status, 413, "{}", answer.text());
    let reply: serde_json::Value = serde_json::from_str(&answer.text()).unwrap();
    assert_eq!(reply["errorType"], error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    let response = call.await.unwrap().unwrap();
    let error: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(error["errorType"], error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    assert_healthy(&emulator).await;
}

/// The streamed cap counts what arrives, not what a `Content-Length` promises: a streamed answer
/// declaring more than the cap is relayed up to it and then cut, like any other answer that
/// grows past it (only a buffered answer is refused on its declared length alone).
#[tokio::test]
async fn a_streamed_answer_declared_over_the_cap_is_relayed_up_to_it() {
    let emulator = builder("declared").max_streamed_response_bytes(1000).build().await.unwrap();
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let next = runtime(&emulator).next().await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\n{}: {}\r\nContent-Length: 1500\r\n\r\n",
        paths::response(&next.request_id),
        lambda_stream_protocol::names::RESPONSE_MODE,
        lambda_stream_protocol::names::RESPONSE_MODE_STREAMING,
    );
    let mut connection =
        lambda_stream_fixtures::raw::RawClient::new(emulator.runtime_api_addr()).connect().await.unwrap();
    connection.send(head.as_bytes()).await.unwrap();
    connection.send(&[b'a'; 600]).await.unwrap();
    let mut response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the answer starts streaming");
    let mut received = response.chunk().await.unwrap().expect("the first 600 bytes").len();
    connection.send(&[b'b'; 900]).await.unwrap();
    let answer = connection.read_answer().await.unwrap();
    assert_eq!(answer.status, 413, "{}", answer.text());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("the body must be cut, not ended"),
            Err(_) => break,
        }
    }
    assert_eq!(received, 600, "the bytes before the cap, nothing past it");
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert_eq!(record.error().unwrap().error_type, error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    assert_healthy(&emulator).await;
}

/// The request cap is inclusive: a body of exactly `max_request_bytes` reaches the function,
/// whether its length is declared or it comes chunked; one byte more is refused with 413.
#[tokio::test]
async fn a_request_body_of_exactly_the_cap_is_accepted_and_one_byte_more_refused() {
    let limits = Limits { max_request_bytes: 1024, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let url = format!("{}/2015-03-31/functions/f/invocations", emulator.url());
    let ok = || vec![Step::Buffered { headers: vec![], body: Bytes::from("ok") }];
    let served = runtime(&emulator).spawn(vec![ok(), ok()]);
    let declared = client().post(&url).body(vec![b'a'; 1024]).send().await.unwrap();
    assert_eq!((declared.status().as_u16(), declared.text().await.unwrap()), (200, "ok".to_owned()));
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![b'b'; 1000]), Ok(vec![b'b'; 24])]);
    let chunked = client().post(&url).body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    assert_eq!((chunked.status().as_u16(), chunked.text().await.unwrap()), (200, "ok".to_owned()));
    let events: Vec<usize> = served.await.unwrap().unwrap().iter().map(|(next, _)| next.body.len()).collect();
    assert_eq!(events, [1024, 1024], "each whole body reached the function");
    for body in [
        reqwest::Body::from(vec![b'c'; 1025]),
        reqwest::Body::wrap_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>(vec![b'd'; 1000]),
            Ok(vec![b'd'; 25]),
        ])),
    ] {
        let refused = client().post(&url).body(body).send().await.unwrap();
        assert_eq!(refused.status(), 413);
        assert_eq!(refused.headers()["x-amzn-errortype"], "RequestTooLargeException");
    }
    assert_healthy(&emulator).await;
}
