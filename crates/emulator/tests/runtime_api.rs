//! Runtime API rules: the `/next` headers, the mode header, and every kind of misbehaving
//! runtime getting a clear 4xx or a recorded error while the emulator keeps serving.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use common::{WAIT, assert_healthy, client, runtime, start};
use lambda_stream_emulator::FaultKind;
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{ErrorDiagnostic, names};

#[tokio::test]
async fn next_carries_the_documented_headers() {
    let emulator = start("headers").await;
    let context = r#"{"custom":{"k":"v"}}"#;
    let url = format!("{}/2021-11-15/functions/headers/response-streaming-invocations", emulator.url());
    let call = tokio::spawn(
        client()
            .post(url)
            .header(names::AMZ_CLIENT_CONTEXT, base64::engine::general_purpose::STANDARD.encode(context))
            .body("{\"n\":1}")
            .send(),
    );
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    assert_eq!(next.status, 200);
    assert_eq!(next.body.as_ref(), b"{\"n\":1}");
    let id = &next.request_id;
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(id.matches('-').count(), 4, "a UUID: {id}");
    let deadline: u64 = next.header(names::DEADLINE_MS).unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(deadline > now + 13_000 && deadline < now + 16_000, "deadline {deadline} vs now {now}: about 15 s ahead");
    assert_eq!(
        next.header(names::INVOKED_FUNCTION_ARN),
        Some("arn:aws:lambda:us-east-1:000000000000:function:headers")
    );
    assert!(next.header(names::TRACE_ID).unwrap().starts_with("Root=1-"));
    assert_eq!(next.header(names::CLIENT_CONTEXT), Some(context));
    assert_eq!(next.header(names::COGNITO_IDENTITY), None);

    let answer = rt.answer(id, &[Step::streaming("text/plain"), Step::chunk("ok"), Step::End]).await.unwrap();
    assert_eq!(answer.unwrap().status, 202);
    assert_eq!(call.await.unwrap().unwrap().status(), 200);
    let record = emulator.recorder().wait_for(id, WAIT).await.unwrap();
    assert!(record.runtime.streaming);
    assert_eq!(record.runtime.chunks.len(), 1);
}

#[tokio::test]
async fn the_mode_header_must_be_exactly_streaming() {
    let emulator = start("mode").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    for wrong in ["Streaming", "buffered", ""] {
        let head = Step::Head { mode: Some(wrong.into()), headers: vec![] };
        let answer = rt.answer(&next.request_id, &[head, Step::chunk("x"), Step::End]).await.unwrap().unwrap();
        assert_eq!(answer.status, 400, "mode {wrong:?}");
        assert!(answer.body.contains("InvalidFunctionResponseMode"), "{}", answer.body);
    }
    let faults = emulator.recorder().faults();
    assert_eq!(faults.iter().filter(|f| f.kind == FaultKind::InvalidResponseMode).count(), 3);
    // The refused posts did not use the invocation up: a correct answer still goes through.
    let answer =
        rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("right"), Step::End]).await.unwrap();
    assert_eq!(answer.unwrap().status, 202);
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "right");
}

#[tokio::test]
async fn unknown_request_id_is_a_400() {
    let emulator = start("unknown").await;
    let rt = runtime(&emulator);
    let answer = rt
        .answer("no-such-id", &[Step::Buffered { headers: vec![], body: Bytes::from_static(b"{}") }])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("InvalidRequestID") && answer.body.contains("no-such-id"), "{}", answer.body);
    let answer = rt.answer("other-id", &[Step::post_error(&ErrorDiagnostic::new("Function.X", "m"))]).await.unwrap();
    assert_eq!(answer.unwrap().status, 400);
    let faults = emulator.recorder().faults();
    assert_eq!(faults.iter().filter(|f| f.kind == FaultKind::UnknownRequestId).count(), 2, "{faults:?}");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_second_answer_is_refused() {
    let emulator = start("twice").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let (next, answer) = rt.serve_one(&[Step::streaming("text/plain"), Step::chunk("one"), Step::End]).await.unwrap();
    assert_eq!(answer.unwrap().status, 202);
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "one");

    let again = rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("two"), Step::End]).await;
    let again = again.unwrap().unwrap();
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already answered"), "{}", again.body);
    let error = rt.answer(&next.request_id, &[Step::post_error(&ErrorDiagnostic::new("Function.X", "late"))]).await;
    assert_eq!(error.unwrap().unwrap().status, 409);
    let record = emulator.recorder().invocation(&next.request_id).unwrap();
    assert_eq!(record.faults.iter().filter(|f| f.kind == FaultKind::AlreadyAnswered).count(), 2);
    assert_eq!(record.outcome, Some(Ok(())), "the first answer stands");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn broken_chunked_framing_is_a_truncated_response() {
    let emulator = start("framing").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let steps = [
        Step::streaming("text/plain"),
        Step::chunk("fine so far"),
        Step::Raw(Bytes::from_static(b"zz\r\nthis is not a chunk size\r\n")),
    ];
    let _ = rt.answer(&next.request_id, &steps).await; // The connection is broken; no answer is owed.
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the head went out with the first chunk");
    assert!(response.bytes().await.is_err(), "the client must see the body cut, not a clean end");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.error().unwrap().error_type, error_types::RUNTIME_TRUNCATED_RESPONSE);
    assert!(record.faults.iter().any(|f| f.kind == FaultKind::BrokenBody), "{:?}", record.faults);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_runtime_hanging_up_mid_stream_is_a_truncated_response() {
    let emulator = start("hangup").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let answer = rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("part"), Step::HangUp]).await;
    assert_eq!(answer.unwrap(), None);
    let response = call.await.unwrap().unwrap();
    assert!(response.bytes().await.is_err());
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.error().unwrap().error_type, error_types::RUNTIME_TRUNCATED_RESPONSE);
    assert_eq!(record.runtime.bytes, 4);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn an_invalid_base64_trailer_still_reports_the_type() {
    let emulator = start("trailer").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let trailers = Step::Trailers(vec![
        ("Lambda-Runtime-Function-Error-Type".into(), "Function.Oops".into()),
        ("Lambda-Runtime-Function-Error-Body".into(), "{\"errorMessage\":\"sent as JSON, not base64\"}".into()),
    ]);
    let answer = rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("x"), trailers]).await;
    assert_eq!(answer.unwrap().unwrap().status, 202);
    assert!(call.await.unwrap().unwrap().bytes().await.is_err(), "a trailer error cuts the client's body");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.error().unwrap().error_type, "Function.Oops");
    let fault = record.faults.iter().find(|f| f.kind == FaultKind::InvalidTrailer).expect("fault recorded");
    assert!(fault.message.contains("not standard base64"), "{}", fault.message);
    assert_eq!(
        record.runtime.trailers.as_ref().unwrap()[0],
        (names::FUNCTION_ERROR_TYPE.to_string(), "Function.Oops".to_string())
    );
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn init_error_is_accepted_and_recorded() {
    let emulator = start("init").await;
    let body = ErrorDiagnostic::new(error_types::RUNTIME_INIT_ERROR, "no config").to_error_body();
    let response = client()
        .post(format!("http://{}/2018-06-01/runtime/init/error", emulator.runtime_api()))
        .header("Lambda-Runtime-Function-Error-Type", error_types::RUNTIME_INIT_ERROR)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let faults = emulator.recorder().faults();
    assert!(faults.iter().any(|f| f.kind == FaultKind::InitError && f.message.contains("no config")), "{faults:?}");
    let unknown =
        client().get(format!("http://{}/2018-06-01/runtime/whatever", emulator.runtime_api())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_healthy(&emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_closes_its_write_side_still_gets_its_answer() {
    let emulator = start("half-close").await;
    // The request, then the write side closed at once (as netcat does): hyper must not drop the
    // connection on that EOF before the answer is written. The race is in hyper's reading, so
    // try it many times on both listeners.
    for _ in 0..50 {
        let request = b"GET /2018-06-01/runtime/health HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
        let answer = common::raw_exchange(emulator.runtime_api_addr(), request).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer:?}");
        let request = b"GET /2015-03-31/functions/nope/invocations HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
        let answer = common::raw_exchange(emulator.local_addr(), request).await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer:?}");
    }
}

/// A function name that could not stand in a path or an ARN is refused when the emulator is
/// built, and so is an invoke path that is not a path.
#[tokio::test]
async fn the_builder_refuses_a_name_or_path_it_could_not_serve() {
    use lambda_stream_emulator::Error;
    for name in ["", "a/b", "a:b", "/", ":"] {
        let refused = common::builder(name).build().await.err();
        assert!(matches!(&refused, Some(Error::Config(m)) if m.contains("function name")), "{name:?}: {refused:?}");
    }
    let refused = common::builder("f").invoke_path("invoke").build().await.err();
    assert!(matches!(&refused, Some(Error::Config(m)) if m.contains("must start with '/'")), "{refused:?}");
    common::builder("a-name_1").build().await.expect("a plain name is fine");
}

/// Dropping the emulator without `shutdown` stops it as well: neither its public port nor its
/// Runtime API keeps answering for a handle that is gone.
#[tokio::test]
async fn dropping_the_emulator_closes_its_ports() {
    let emulator = start("dropped").await;
    let ports = [emulator.local_addr(), emulator.runtime_api_addr()];
    for port in ports {
        tokio::net::TcpStream::connect(port).await.expect("listening while the emulator lives");
    }
    drop(emulator);
    let closed = async {
        for port in ports {
            while tokio::net::TcpStream::connect(port).await.is_ok() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(WAIT, closed).await.expect("both ports close once the emulator is dropped");
}
