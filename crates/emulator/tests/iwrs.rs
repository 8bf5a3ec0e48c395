//! InvokeWithResponseStream through the real aws-sdk-lambda (the only test binary that links it):
//! one PayloadChunk per runtime chunk as it arrives, InvokeComplete errors from trailers and from
//! `/error`, DryRun, unknown function, LogResult.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    InvokeWithResponseStreamCompleteEvent, InvokeWithResponseStreamResponseEvent, LogType,
    ResponseStreamingInvocationType,
};
use base64::Engine as _;
use common::{WAIT, runtime, start};
use lambda_stream_emulator::Emulator;
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, env, names};

fn sdk(emulator: &Emulator) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(emulator.url())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

/// Reads the whole stream: each PayloadChunk with its arrival time, then the InvokeComplete.
async fn read_stream(
    output: &mut aws_sdk_lambda::operation::invoke_with_response_stream::InvokeWithResponseStreamOutput,
) -> (Vec<(Instant, Vec<u8>)>, InvokeWithResponseStreamCompleteEvent) {
    let mut chunks = Vec::new();
    loop {
        match output.event_stream.recv().await.expect("a decodable event") {
            Some(InvokeWithResponseStreamResponseEvent::PayloadChunk(update)) => {
                chunks.push((Instant::now(), update.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default()));
            }
            Some(InvokeWithResponseStreamResponseEvent::InvokeComplete(done)) => {
                assert!(output.event_stream.recv().await.expect("clean end").is_none(), "nothing after InvokeComplete");
                return (chunks, done);
            }
            Some(other) => panic!("unexpected event {other:?}"),
            None => panic!("the stream ended without InvokeComplete"),
        }
    }
}

#[tokio::test]
async fn one_payload_chunk_per_runtime_chunk_as_it_arrives() {
    let emulator = start("stream").await;
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("Number: 1\n"),
        Step::Pause(Duration::from_millis(500)),
        Step::chunk("Number: 2\n"),
        Step::Pause(Duration::from_millis(200)),
        Step::chunk("Number: 3\n"),
        Step::End,
    ]]);
    let mut output = sdk(&emulator)
        .invoke_with_response_stream()
        .function_name("stream")
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect("IWRS succeeds");
    assert_eq!(output.status_code, 200);
    assert_eq!(output.executed_version(), Some(env::LATEST_VERSION));
    assert_eq!(output.response_stream_content_type(), Some(names::EVENT_STREAM_CONTENT_TYPE));
    let (chunks, done) = read_stream(&mut output).await;
    let payloads: Vec<&[u8]> = chunks.iter().map(|(_, c)| c.as_slice()).collect();
    assert_eq!(payloads, [&b"Number: 1\n"[..], b"Number: 2\n", b"Number: 3\n"], "one frame per runtime chunk");
    let gap = chunks[2].0 - chunks[0].0;
    assert!(gap >= Duration::from_millis(300), "first PayloadChunk only {gap:?} before the last: buffered?");
    assert_eq!((done.error_code(), done.error_details(), done.log_result()), (None, None, None));
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_prelude_reaches_sdk_callers_unstripped() {
    let emulator = start("prelude").await;
    let mut body = Prelude::with_status(201).encode().to_vec();
    body.extend_from_slice(b"payload");
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(names::HTTP_INTEGRATION_CONTENT_TYPE),
        Step::chunk(body.clone()),
        Step::End,
    ]]);
    let mut output = sdk(&emulator).invoke_with_response_stream().function_name("prelude").send().await.unwrap();
    let (chunks, _) = read_stream(&mut output).await;
    assert_eq!(chunks[0].1, body, "spec §1: SDK callers get the prelude bytes in the first PayloadChunk");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn trailer_errors_become_invoke_complete() {
    let emulator = start("trailers").await;
    let diagnostic = ErrorDiagnostic::new("Function.Boom", "it broke mid-stream");
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("some"),
        Step::error_trailers(&diagnostic),
    ]]);
    let mut output = sdk(&emulator).invoke_with_response_stream().function_name("trailers").send().await.unwrap();
    let (chunks, done) = read_stream(&mut output).await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(done.error_code(), Some("Function.Boom"));
    let details: serde_json::Value = serde_json::from_str(done.error_details().unwrap()).unwrap();
    assert_eq!(details["errorMessage"], "it broke mid-stream");
    assert_eq!(details["errorType"], "Function.Boom");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_error_before_the_first_byte_is_still_a_200_with_invoke_complete() {
    let emulator = start("early").await;
    let diagnostic = ErrorDiagnostic::new("Function.EarlyFailure", "nothing streamed");
    let served = runtime(&emulator).spawn(vec![vec![Step::post_error(&diagnostic)]]);
    let mut output = sdk(&emulator).invoke_with_response_stream().function_name("early").send().await.unwrap();
    assert_eq!(output.status_code, 200);
    let (chunks, done) = read_stream(&mut output).await;
    assert!(chunks.is_empty());
    assert_eq!(done.error_code(), Some("Function.EarlyFailure"));
    assert!(done.error_details().unwrap().contains("nothing streamed"));
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn dry_run_is_204() {
    let emulator = start("dry").await;
    let output = sdk(&emulator)
        .invoke_with_response_stream()
        .function_name("dry")
        .invocation_type(ResponseStreamingInvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(output.status_code, 204);
    assert!(emulator.recorder().invocations().is_empty(), "a dry run invokes nothing");
}

#[tokio::test]
async fn an_unknown_function_is_resource_not_found() {
    let emulator = start("known").await;
    let error = sdk(&emulator).invoke_with_response_stream().function_name("unknown").send().await.unwrap_err();
    let service_error = error.into_service_error();
    assert!(service_error.is_resource_not_found_exception(), "{service_error:?}");
    let message = service_error.to_string();
    assert!(
        message.contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:unknown"),
        "{message}"
    );
}

#[tokio::test]
async fn a_full_arn_names_the_function_and_tail_returns_the_log() {
    let emulator = start("tail").await;
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("x"), Step::End]]);
    let mut output = sdk(&emulator)
        .invoke_with_response_stream()
        .function_name("arn:aws:lambda:us-east-1:000000000000:function:tail")
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    let (_, done) = read_stream(&mut output).await;
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let log =
        base64::engine::general_purpose::STANDARD.decode(done.log_result().expect("LogResult with Tail")).unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains(&format!("START RequestId: {} Version: $LATEST", next.request_id)), "{log}");
    assert!(log.contains(&format!("END RequestId: {}", next.request_id)), "{log}");
    assert!(log.contains(&format!("REPORT RequestId: {}", next.request_id)), "{log}");
    emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
}

/// The `REPORT` line's duration is the time the function held the invocation, in milliseconds:
/// at least the pause its answer took, at most the whole call as the client timed it, and
/// billed rounded up to the next millisecond.
#[tokio::test]
async fn the_report_line_gives_the_duration_in_milliseconds() {
    let emulator = start("report").await;
    let pause = Duration::from_millis(300);
    let script = vec![Step::streaming("text/plain"), Step::chunk("x"), Step::Pause(pause), Step::End];
    let served = runtime(&emulator).spawn(vec![script]);
    let called = Instant::now();
    let mut output = sdk(&emulator)
        .invoke_with_response_stream()
        .function_name("report")
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    let (_, done) = read_stream(&mut output).await;
    let whole = called.elapsed();
    served.await.unwrap().unwrap();
    let log = base64::engine::general_purpose::STANDARD.decode(done.log_result().expect("LogResult")).unwrap();
    let log = String::from_utf8(log).unwrap();
    let report = log.lines().find(|l| l.starts_with("REPORT RequestId: ")).unwrap_or_else(|| panic!("{log}"));
    let field = |name: &str| -> f64 {
        let value = report.split('\t').find_map(|f| f.strip_prefix(name)).unwrap_or_else(|| panic!("{report}"));
        value.strip_suffix(" ms").unwrap().parse().unwrap()
    };
    let (duration, billed) = (field("Duration: "), field("Billed Duration: "));
    assert!(duration >= pause.as_secs_f64() * 1000.0, "{report}");
    assert!(duration <= whole.as_secs_f64() * 1000.0, "{report}: the call took {whole:?}");
    // (`Duration` is printed to 0.01 ms, the bill rounds the unprinted value up.)
    assert!(billed > duration - 0.01 && billed < duration + 1.01, "{report}");
}
