//! The buffered Invoke API: the answer collected, `X-Amz-Function-Error` on errors, the 6 MiB
//! limit as `Function.ResponseSizeTooLarge`, invocation types, function identifiers.

mod common;

use bytes::Bytes;
use common::{WAIT, builder, client, runtime, start};
use lambda_stream_emulator::{FaultKind, Limits};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{ErrorDiagnostic, env, names};
use serde_json::Value;

fn invoke_url(emulator: &lambda_stream_emulator::Emulator, name: &str) -> String {
    format!("{}/2015-03-31/functions/{name}/invocations", emulator.url())
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn buffered_and_streamed_answers_are_collected() {
    let emulator = start("collect").await;
    let served = runtime(&emulator).spawn(vec![
        vec![Step::Buffered {
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Bytes::from_static(b"{\"ok\":true}"),
        }],
        vec![Step::streaming("text/plain"), Step::chunk("a"), Step::chunk("b"), Step::End],
    ]);
    let first = client().post(invoke_url(&emulator, "collect")).body("{}").send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()[names::EXECUTED_VERSION], env::LATEST_VERSION);
    assert!(first.headers().get(names::AMZ_FUNCTION_ERROR).is_none());
    assert_eq!(first.text().await.unwrap(), "{\"ok\":true}");
    let second = client().post(invoke_url(&emulator, "collect")).body("{}").send().await.unwrap();
    assert_eq!(second.headers()["content-type"], "text/plain");
    assert_eq!(second.text().await.unwrap(), "ab");
    let served = served.await.unwrap().unwrap();
    assert!(served.iter().all(|(_, a)| a.as_ref().unwrap().status == 202));
    assert!(!emulator.recorder().wait_for_completed(2, WAIT).await.unwrap()[0].runtime.streaming);
}

#[tokio::test]
async fn function_errors_set_x_amz_function_error() {
    let emulator = start("errors").await;
    let diagnostic = ErrorDiagnostic::new("Function.Nope", "bad input");
    let served = runtime(&emulator).spawn(vec![
        vec![Step::post_error(&diagnostic)],
        vec![Step::streaming("text/plain"), Step::chunk("half"), Step::error_trailers(&diagnostic)],
    ]);
    for _ in 0..2 {
        let response = client().post(invoke_url(&emulator, "errors")).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
        let body = json(response).await;
        assert_eq!(body["errorType"], "Function.Nope");
        assert_eq!(body["errorMessage"], "bad input");
    }
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn more_than_the_buffered_limit_is_response_size_too_large() {
    let emulator = start("big").await;
    // The default limit, 6 MiB + 100 bytes: 7 chunks of 1 MiB pass it.
    let mib = Bytes::from(vec![b'x'; 1024 * 1024]);
    let mut script = vec![Step::streaming("application/octet-stream")];
    script.extend((0..7).map(|_| Step::Chunk(mib.clone())));
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let response = client().post(invoke_url(&emulator, "big")).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    let body = json(response).await;
    assert_eq!(body["errorType"], error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    assert_eq!(body["errorMessage"], "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
    let (next, _answer) = served.await.unwrap().unwrap().remove(0);
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.error().unwrap().error_type, error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    assert_eq!(record.runtime.bytes, 7 * 1024 * 1024, "the runtime's body was still read to its end");
}

/// The collected answer may be exactly the limit, across chunks; one byte more is too large.
#[tokio::test]
async fn a_streamed_answer_of_exactly_the_buffered_limit_is_collected() {
    let limits = Limits { max_buffered_response_bytes: 1000, ..Limits::default() };
    let emulator = builder("exact").limits(limits).build().await.unwrap();
    for (size, too_large) in [(1000, false), (1001, true)] {
        let script = vec![
            Step::streaming("application/octet-stream"),
            Step::Chunk(Bytes::from(vec![b'a'; 600])),
            Step::Chunk(Bytes::from(vec![b'b'; size - 600])),
            Step::End,
        ];
        let served = runtime(&emulator).spawn(vec![script]);
        let response = client().post(invoke_url(&emulator, "exact")).body("{}").send().await.unwrap();
        assert_eq!(response.headers().get(names::AMZ_FUNCTION_ERROR).is_some(), too_large, "{size} bytes");
        let body = response.bytes().await.unwrap();
        if too_large {
            let error: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(error["errorType"], error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
        } else {
            assert_eq!(body.len(), 1000);
        }
        served.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_buffered_runtime_answer_over_the_limit_is_refused_with_413() {
    let limits = Limits { max_buffered_response_bytes: 1000, ..Limits::default() };
    let emulator = builder("small").limits(limits).build().await.unwrap();
    // Exactly the limit is allowed.
    let served =
        runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body: Bytes::from(vec![b'y'; 1000]) }]]);
    let response = client().post(invoke_url(&emulator, "small")).body("{}").send().await.unwrap();
    assert!(response.headers().get(names::AMZ_FUNCTION_ERROR).is_none());
    assert_eq!(response.bytes().await.unwrap().len(), 1000);
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 202);
    // One byte more is not.
    let served =
        runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body: Bytes::from(vec![b'y'; 1001]) }]]);
    let response = client().post(invoke_url(&emulator, "small")).body("{}").send().await.unwrap();
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    assert_eq!(json(response).await["errorType"], error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE);
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 413);
    assert!(emulator.recorder().faults().iter().any(|f| f.kind == FaultKind::ResponseTooLarge));
}

/// An asynchronous invocation's caller is gone once it has its 202, but the function's answer is
/// still taken whole: the runtime's upload is read to its end and accepted, as on Lambda, where
/// the caller never sees it.
#[tokio::test]
async fn an_asynchronous_invocation_reads_the_whole_streamed_answer() {
    let emulator = start("async").await;
    let steps = [
        Step::streaming("text/plain"),
        Step::chunk("one "),
        Step::Pause(std::time::Duration::from_millis(100)),
        Step::chunk("two "),
        Step::Pause(std::time::Duration::from_millis(100)),
        Step::chunk("three"),
        Step::End,
    ];
    let served = tokio::spawn({
        let rt = runtime(&emulator);
        async move { rt.serve_one(&steps).await }
    });
    let event = client()
        .post(invoke_url(&emulator, "async"))
        .header("X-Amz-Invocation-Type", "Event")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), 202);
    let id = event.headers()[names::AMZN_REQUEST_ID].to_str().unwrap().to_owned();
    let (taken, answer) = served.await.unwrap().unwrap();
    assert_eq!(taken.request_id, id);
    assert_eq!(answer.unwrap().status, 202, "the runtime's answer is accepted");
    let record = emulator.recorder().wait_for(&id, WAIT).await.unwrap();
    assert_eq!(record.runtime.bytes, "one two three".len() as u64, "{record:?}");
    assert!(record.error().is_none() && record.faults.is_empty(), "{record:?}");
}

#[tokio::test]
async fn invocation_types_and_identifiers() {
    let emulator = start("types").await;
    let dry =
        client().post(invoke_url(&emulator, "types")).header("X-Amz-Invocation-Type", "DryRun").send().await.unwrap();
    assert_eq!(dry.status(), 204);

    let served = runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body: Bytes::new() }]]);
    let event = client()
        .post(invoke_url(&emulator, "types"))
        .header("X-Amz-Invocation-Type", "Event")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), 202, "asynchronous invocations are accepted at once");
    served.await.unwrap().unwrap();

    // The SDK percent-encodes the ':' of an ARN in the path.
    let served = runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body: Bytes::from("arn") }]]);
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Atypes";
    let by_arn = client().post(invoke_url(&emulator, arn)).body("{}").send().await.unwrap();
    assert_eq!(by_arn.text().await.unwrap(), "arn");
    served.await.unwrap().unwrap();

    let missing = client().post(invoke_url(&emulator, "other")).body("{}").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()[names::AMZN_ERROR_TYPE], "ResourceNotFoundException");
    assert_eq!(
        json(missing).await,
        serde_json::json!({"Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:other"})
    );
}

#[tokio::test]
async fn a_large_error_document_reaches_the_client_whole_and_the_recorder_keeps_its_start() {
    let emulator = start("big-error").await;
    let message = "m".repeat(1024 * 1024);
    let diagnostic = ErrorDiagnostic::new("Function.Huge", message.clone());
    let served = runtime(&emulator).spawn(vec![vec![Step::post_error(&diagnostic)]]);
    let response = client().post(invoke_url(&emulator, "big-error")).body("{}").send().await.unwrap();
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["errorMessage"].as_str().unwrap().len(), message.len(), "the client gets it whole");
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let error = record.error().unwrap();
    assert_eq!(error.error_type, "Function.Huge");
    let cap = lambda_stream_emulator::MAX_ERROR_TEXT + 64;
    assert!(error.details.len() < cap && error.error_message.len() < cap, "the record keeps only the start");
    assert!(
        error.error_message.ends_with(&format!("({} bytes in all)", message.len())),
        "{}",
        &error.error_message[4000..]
    );
}
