//! The Runtime API's paths, methods, request ids and response modes: each misuse gets an
//! RIE-shaped `{"errorMessage","errorType"}` answer and a recorded fault, and the invocation it
//! concerns is left as the rules say (still answerable, or ended once).

use std::time::Duration;

use bytes::Bytes;
use lambda_stream_emulator::{Fault, FaultKind, FunctionConfig};
use lambda_stream_fixtures::raw::RawClient;
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, paths};

use crate::common::{WAIT, assert_healthy, builder, client, runtime, start};
use crate::{LiveAnswer, assert_refused_and_healthy, json, ok_script, queued_id, rie, rie_raw};

/// The faults of `kind` recorded so far.
fn faults(emulator: &lambda_stream_emulator::Emulator, kind: FaultKind) -> Vec<Fault> {
    emulator.recorder().faults().into_iter().filter(|f| f.kind == kind).collect()
}

fn raw(emulator: &lambda_stream_emulator::Emulator) -> RawClient {
    RawClient::new(emulator.runtime_api_addr())
}

/// Sends `request` raw to the Runtime API and reads the answer, failing (not hanging) when none
/// comes within [`WAIT`]: a wrong request taken for a `/next` would otherwise wait forever.
async fn exchange(emulator: &lambda_stream_emulator::Emulator, request: &[u8]) -> lambda_stream_fixtures::raw::Answer {
    let answer = tokio::time::timeout(WAIT, raw(emulator).exchange(request)).await;
    answer.expect("the Runtime API answers in time").expect("an HTTP answer")
}

#[tokio::test]
async fn runtime_next_with_another_method() {
    let emulator = start("f").await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let request = raw(&emulator).head(method, paths::NEXT).header("content-length", 0).into_bytes();
        let answer = exchange(&emulator, &request).await;
        assert_eq!(rie_raw(&answer), (405, "MethodNotAllowed".into(), "use GET for /next".into()), "{method}");
    }
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_answer_endpoints_with_another_method() {
    let emulator = start("f").await;
    for path in [paths::response("some-id"), paths::error("some-id"), paths::INIT_ERROR.to_owned()] {
        for method in ["GET", "PUT", "DELETE"] {
            let answer = exchange(&emulator, &raw(&emulator).head(method, &path).into_bytes()).await;
            assert_eq!(rie_raw(&answer), (405, "MethodNotAllowed".into(), format!("use POST for {path}")));
        }
    }
    assert!(emulator.recorder().faults().is_empty(), "a wrong method is refused before anything is recorded");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_unknown_path() {
    let emulator = start("f").await;
    let unknown = ["/", "/2018-06-01/runtime/whatever", "/2018-06-01/runtime/invocation/id/other", "/2020-01-01/next"];
    for path in unknown {
        let request = raw(&emulator).head("POST", path).header("content-length", 3).into_bytes();
        let answer = exchange(&emulator, &[request, b"abc".to_vec()].concat()).await;
        assert_eq!(rie_raw(&answer), (404, "UnknownPath".into(), format!("no Runtime API endpoint at {path}")));
    }
    let recorded = faults(&emulator, FaultKind::UnknownPath);
    assert_eq!(recorded.len(), unknown.len());
    assert_eq!(recorded[0].message, "POST /");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_empty_request_id() {
    let emulator = start("f").await;
    for path in ["/2018-06-01/runtime/invocation//response", "/2018-06-01/runtime/invocation//error"] {
        let answer = exchange(&emulator, &raw(&emulator).head("POST", path).into_bytes()).await;
        assert_eq!(rie_raw(&answer), (404, "UnknownPath".into(), format!("no Runtime API endpoint at {path}")));
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_response_for_an_unknown_id() {
    let emulator = start("f").await;
    let answer = runtime(&emulator).answer("no-such-id", &ok_script("x")).await.unwrap().unwrap();
    let expected = "unknown request id \"no-such-id\": no invocation with this id was handed out";
    assert_eq!(rie(&answer), (400, "InvalidRequestID".into(), expected.into()));
    let recorded = faults(&emulator, FaultKind::UnknownRequestId);
    assert_eq!((recorded.len(), recorded[0].request_id.as_deref()), (1, None), "{recorded:?}");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_for_an_unknown_id() {
    let emulator = start("f").await;
    let step = Step::post_error(&ErrorDiagnostic::new("Function.Oops", "m"));
    let answer = runtime(&emulator).answer("no-such-id", &[step]).await.unwrap().unwrap();
    let expected = "unknown request id \"no-such-id\": no invocation with this id was handed out";
    assert_eq!(rie(&answer), (400, "InvalidRequestID".into(), expected.into()));
    assert_eq!(faults(&emulator, FaultKind::UnknownRequestId).len(), 1);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_request_id_of_60_kib() {
    // Faults are kept (up to MAX_FAULTS), so each one's message is bounded, whatever the runtime
    // puts in the path (up to the 64 KiB of a request target).
    let emulator = start("f").await;
    let id = "i".repeat(60 * 1024);
    let answer = runtime(&emulator)
        .answer(&id, &[Step::Buffered { headers: vec![], body: Bytes::from_static(b"{}") }])
        .await
        .unwrap()
        .unwrap();
    let (status, error_type, _) = rie(&answer);
    assert_eq!((status, error_type.as_str()), (400, "InvalidRequestID"));
    let unknown = exchange(&emulator, &raw(&emulator).head("GET", &format!("/{id}")).into_bytes()).await;
    assert_eq!(unknown.status, 404);
    let kept = emulator.recorder().faults();
    assert_eq!(kept.len(), 2);
    for fault in &kept {
        assert!(fault.message.len() <= 1024, "a fault message of {} bytes is kept", fault.message.len());
        assert!(fault.message.ends_with('…'), "{}", &fault.message[fault.message.len() - 16..]);
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_answers_before_next() {
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/early", emulator.url())).send());
    let id = queued_id(&emulator).await;
    let rt = runtime(&emulator);
    let answer = rt.answer(&id, &ok_script("too early")).await.unwrap().unwrap();
    let expected = format!("request id {id:?} has not been handed out by /next yet");
    assert_eq!(rie(&answer), (400, "InvalidRequestID".into(), expected));
    let record = emulator.recorder().invocation(&id).unwrap();
    assert!(record.faults.iter().any(|f| f.kind == FaultKind::UnknownRequestId), "{:?}", record.faults);
    // The invocation is untouched: taken and answered in order, it reaches the client.
    let (next, reply) = rt.serve_one(&ok_script("in order")).await.unwrap();
    assert_eq!((next.request_id.as_str(), reply.unwrap().status), (id.as_str(), 202));
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "in order");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_answers_twice() {
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let (next, first) = rt.serve_one(&ok_script("first")).await.unwrap();
    assert_eq!(first.unwrap().status, 202);
    let second = rt.answer(&next.request_id, &ok_script("second")).await.unwrap().unwrap();
    let expected =
        format!("invocation {} was already answered; a second /response or /error is refused", next.request_id);
    assert_eq!(rie(&second), (409, "InvocationAlreadyAnswered".into(), expected));
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "first", "the first answer stands");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.faults.iter().filter(|f| f.kind == FaultKind::AlreadyAnswered).count(), 1);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_posts_error_after_its_response() {
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let (next, _) = rt.serve_one(&ok_script("answered")).await.unwrap();
    let step = Step::post_error(&ErrorDiagnostic::new("Function.Late", "second thoughts"));
    let late = rt.answer(&next.request_id, &[step]).await.unwrap().unwrap();
    let (status, error_type, _) = rie(&late);
    assert_eq!((status, error_type.as_str()), (409, "InvocationAlreadyAnswered"));
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "answered");
    assert_eq!(emulator.recorder().invocation(&next.request_id).unwrap().outcome, Some(Ok(())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_answers_again_while_its_first_answer_streams() {
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let mut first = LiveAnswer::open(&emulator, &next.request_id, "text/plain").await;
    first.chunk(b"one ").await;
    let mut response = call.await.unwrap().unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"one ");
    let second = rt.answer(&next.request_id, &ok_script("intruder")).await.unwrap().unwrap();
    assert_eq!(rie(&second).0, 409);
    assert_eq!(rie(&second).1, "InvocationAlreadyAnswered");
    let step = Step::post_error(&ErrorDiagnostic::new("Function.Intruder", "m"));
    assert_eq!(rie(&rt.answer(&next.request_id, &[step]).await.unwrap().unwrap()).0, 409);
    first.chunk(b"two").await;
    assert_eq!(first.end(&[]).await.status, 202);
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"two");
    assert!(response.chunk().await.unwrap().is_none(), "the first answer ended cleanly");
    assert_healthy(&emulator).await;
}

/// An emulator with a 2 s timeout whose one invocation was taken and timed out (paused clock);
/// returns the request id, after checking the client got `Sandbox.Timeout`.
async fn timed_out() -> (lambda_stream_emulator::Emulator, String) {
    let function = FunctionConfig::new("f").timeout(Duration::from_secs(2));
    let emulator = builder("f").function(function).build().await.unwrap();
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let next = runtime(&emulator).next().await.unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(json(response).await["errorType"], "Sandbox.Timeout");
    (emulator, next.request_id)
}

#[tokio::test(start_paused = true)]
async fn runtime_answers_after_the_deadline() {
    let (emulator, id) = timed_out().await;
    let late = runtime(&emulator).answer(&id, &ok_script("late")).await.unwrap().unwrap();
    let expected =
        format!("invocation {id} already ended (deadline passed, size limit or runtime exit); this answer is dropped");
    assert_eq!(rie(&late), (409, "InvocationTimedOut".into(), expected));
    let record = emulator.recorder().invocation(&id).unwrap();
    assert!(record.faults.iter().any(|f| f.kind == FaultKind::LateAnswer), "{:?}", record.faults);
    assert_eq!(record.error().unwrap().error_type, "Sandbox.Timeout", "the timeout stands");
    assert_healthy(&emulator).await;
}

#[tokio::test(start_paused = true)]
async fn runtime_posts_error_after_the_deadline() {
    let (emulator, id) = timed_out().await;
    let step = Step::post_error(&ErrorDiagnostic::new("Function.Late", "too late"));
    let late = runtime(&emulator).answer(&id, &[step]).await.unwrap().unwrap();
    let (status, error_type, _) = rie(&late);
    assert_eq!((status, error_type.as_str()), (409, "InvocationTimedOut"));
    assert_eq!(emulator.recorder().invocation(&id).unwrap().error().unwrap().error_type, "Sandbox.Timeout");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_response_mode_other_than_streaming() {
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    for wrong in ["Streaming", "buffered", "", "streaming, streaming"] {
        let head = Step::Head { mode: Some(wrong.into()), headers: vec![] };
        let answer = rt.answer(&next.request_id, &[head, Step::chunk("x"), Step::End]).await.unwrap().unwrap();
        let expected = format!("Lambda-Runtime-Function-Response-Mode must be exactly \"streaming\", got {wrong:?}");
        assert_eq!(rie(&answer), (400, "InvalidFunctionResponseMode".into(), expected));
    }
    assert_eq!(faults(&emulator, FaultKind::InvalidResponseMode).len(), 4);
    // A refused head does not use the invocation up (RIE fails it instead; docs/misbehaviours.md).
    let reply = rt.answer(&next.request_id, &ok_script("right")).await.unwrap().unwrap();
    assert_eq!(reply.status, 202);
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "right");
    assert_healthy(&emulator).await;
}

/// After a poller hung up: a live runtime polls, and the next invocation goes to it (not to the
/// gone connection, where it would be lost until its deadline).
async fn the_next_invocation_goes_to_a_live_poller(emulator: &lambda_stream_emulator::Emulator) {
    let served = runtime(emulator).spawn(vec![ok_script("to the live poller")]);
    let response = tokio::time::timeout(WAIT, client().get(format!("{}/", emulator.url())).send())
        .await
        .expect("the invocation went to the live poller, not the gone one")
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "to the live poller");
    served.await.unwrap().unwrap();
    assert_healthy(emulator).await;
}

#[tokio::test]
async fn runtime_next_poller_hangs_up_before_any_invocation() {
    // A runtime that gives up its long poll must not take the next invocation with it.
    let emulator = start("f").await;
    let mut poll = raw(&emulator).connect().await.unwrap();
    poll.send(&raw(&emulator).head("GET", paths::NEXT).into_bytes()).await.unwrap();
    // Give the emulator a moment to take up the poll before hanging up (nothing observable says
    // it has; on a slow machine the test only gets weaker, it cannot fail for it).
    tokio::time::sleep(Duration::from_millis(100)).await;
    poll.hang_up().await;
    the_next_invocation_goes_to_a_live_poller(&emulator).await;
}

#[tokio::test]
async fn runtime_next_poller_sends_its_request_line_in_pieces_then_hangs_up() {
    // The same, with the request line arriving in three writes 100 ms apart: the emulator must
    // still see a `/next` poll (and so notice the hang-up), not give up on the first piece.
    let emulator = start("f").await;
    let mut poll = raw(&emulator).connect().await.unwrap();
    let request = raw(&emulator).head("GET", paths::NEXT).into_bytes();
    for piece in [&request[..6], &request[6..20], &request[20..]] {
        poll.send(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poll.hang_up().await;
    the_next_invocation_goes_to_a_live_poller(&emulator).await;
}
