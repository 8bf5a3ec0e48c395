//! The runtime's answer bodies: content types, chunked framing, hang-ups, lengths that lie, size
//! caps, trailers, `/error` and `/init/error` bodies. Each ends its invocation exactly once with
//! the error Lambda reports for it (or succeeds where the rules allow), and the client sees that.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lambda_stream_emulator::{Emulator, FaultKind, FunctionConfig, Limits};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, names, paths};
use serde_json::{Value, json as j};

use crate::common::{WAIT, assert_healthy, builder, client, runtime, start};
use crate::{invoke_url, iwrs_result, iwrs_url, json, queued_id, rie};

const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";

/// Runs one IWRS call answered by `steps`; returns the payload, `ErrorCode`, `ErrorDetails` as
/// JSON (or `Null`) and the runtime's answer (`None` when the script hung up or the connection
/// broke before an answer).
async fn iwrs_with(emulator: &Emulator, steps: Vec<Step>) -> (Vec<u8>, Option<String>, Value, Option<(u16, String)>) {
    let served = runtime(emulator).spawn(vec![steps]);
    let response = client().post(iwrs_url(emulator, "f", "")).body("{}").send().await.unwrap();
    let (payload, complete) = iwrs_result(response).await;
    let details = complete.error_details.as_deref().map_or(Value::Null, |d| serde_json::from_str(d).unwrap());
    let reply = match served.await.unwrap() {
        Ok(mut served) => served.remove(0).1.map(|a| (a.status, rie(&a).1)),
        Err(_) => None,
    };
    (payload, complete.error_code, details, reply)
}

/// Trailers with this error type and this raw body value.
fn trailers(error_type: &str, body: Option<&str>) -> Step {
    let mut list = vec![(ERROR_TYPE.to_owned(), error_type.to_owned())];
    list.extend(body.map(|b| (ERROR_BODY.to_owned(), b.to_owned())));
    Step::Trailers(list)
}

/// A raw `POST {path}` that declares `Content-Length: declared` and sends `sent` after its head.
fn raw_post(path: &str, declared: usize, sent: &str) -> Bytes {
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {declared}\r\n\r\n");
    Bytes::from(head + sent)
}

#[tokio::test]
async fn runtime_stream_without_a_content_type() {
    let emulator = start("f").await;
    let head = Step::Head { mode: Some("streaming".into()), headers: vec![] };
    let served = runtime(&emulator).spawn(vec![vec![head, Step::chunk("bytes"), Step::End]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.text().await.unwrap(), "bytes");
    served.await.unwrap().unwrap();
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_buffered_answer_without_a_content_type() {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body: Bytes::from("{}") }]]);
    let response = client().post(invoke_url(&emulator, "f", "")).body("{}").send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), "{}");
    served.await.unwrap().unwrap();
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_chunk_size_that_is_not_hex() {
    let emulator = start("f").await;
    let steps = vec![
        Step::streaming("text/plain"),
        Step::chunk("fine so far"),
        Step::Raw(Bytes::from_static(b"zz\r\nnot a chunk\r\n")),
    ];
    let (payload, code, details, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload, b"fine so far");
    assert_eq!(code.as_deref(), Some("Runtime.TruncatedResponse"));
    assert!(
        details["errorMessage"].as_str().unwrap().starts_with("the runtime's response body broke off after 11 bytes")
    );
    assert_eq!(reply, Some((400, "Runtime.TruncatedResponse".into())));
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert!(record.faults.iter().any(|f| f.kind == FaultKind::BrokenBody), "{:?}", record.faults);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_chunk_without_its_crlf() {
    let emulator = start("f").await;
    let steps = vec![Step::streaming("text/plain"), Step::Raw(Bytes::from_static(b"5\r\nhelloXX0\r\n\r\n"))];
    let (payload, code, _, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload, b"hello", "the chunk itself was whole");
    assert_eq!(code.as_deref(), Some("Runtime.TruncatedResponse"));
    assert_eq!(reply, Some((400, "Runtime.TruncatedResponse".into())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_hangs_up_mid_stream() {
    let emulator = start("f").await;
    let steps = vec![Step::streaming("text/plain"), Step::chunk("part"), Step::HangUp];
    let (payload, code, details, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload, b"part");
    assert_eq!(code.as_deref(), Some("Runtime.TruncatedResponse"));
    assert!(details["errorMessage"].as_str().unwrap().contains("broke off after 4 bytes"), "{details}");
    assert_eq!(reply, None, "nobody is left to answer");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_hangs_up_mid_buffered_body() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(invoke_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let post = Step::Raw(raw_post(&paths::response(&next.request_id), 100, "ten bytes."));
    assert_eq!(rt.answer(&next.request_id, &[post, Step::HangUp]).await.unwrap(), None);
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    let body = json(response).await;
    assert_eq!(body["errorType"], "Runtime.TruncatedResponse");
    assert!(body["errorMessage"].as_str().unwrap().contains("broke off after 10 bytes"), "{body}");
    assert_healthy(&emulator).await;
}

#[tokio::test(start_paused = true)]
async fn runtime_declares_a_longer_body_and_goes_silent() {
    let function = FunctionConfig::new("f").timeout(Duration::from_secs(2));
    let emulator = builder("f").function(function).build().await.unwrap();
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(invoke_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let post = raw_post(&paths::response(&next.request_id), 100, "ten bytes.");
    let mut connection =
        lambda_stream_fixtures::raw::RawClient::new(emulator.runtime_api_addr()).connect().await.unwrap();
    connection.send(&post).await.unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    let body = json(response).await;
    assert_eq!(
        (body["errorType"].as_str(), body["errorMessage"].as_str()),
        (Some("Sandbox.Timeout"), Some("Task timed out after 2.00 seconds"))
    );
    connection.hang_up().await;
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_declares_a_shorter_body() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(invoke_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let post = Step::Raw(raw_post(&paths::response(&next.request_id), 5, "hello, and more"));
    let answer = rt.answer(&next.request_id, &[post]).await.unwrap().unwrap();
    assert_eq!(answer.status, 202);
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "hello", "exactly Content-Length bytes");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_streams_past_the_size_cap() {
    let emulator = builder("f").max_streamed_response_bytes(1000).build().await.unwrap();
    let chunk = Bytes::from(vec![b'x'; 600]);
    let steps = vec![Step::streaming("text/plain"), Step::Chunk(chunk.clone()), Step::Chunk(chunk), Step::End];
    let (payload, code, details, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload.len(), 600, "the chunk that passed the cap is not relayed");
    assert_eq!(code.as_deref(), Some("Function.ResponseSizeTooLarge"));
    assert_eq!(details["errorMessage"], "Response payload size exceeded maximum allowed payload size (1000 bytes).");
    assert_eq!(reply, Some((413, "Function.ResponseSizeTooLarge".into())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_buffered_answer_declared_over_the_cap() {
    let limits = Limits { max_buffered_response_bytes: 1000, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let body = Bytes::from(vec![b'y'; 1001]);
    let served = runtime(&emulator).spawn(vec![vec![Step::Buffered { headers: vec![], body }]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(
        json(response).await,
        j!({"errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": "Response payload size exceeded maximum allowed payload size (1000 bytes)."})
    );
    let (_, reply) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(rie(&reply.unwrap()).0, 413);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_buffered_answer_chunked_past_the_cap() {
    let limits = Limits { max_buffered_response_bytes: 1000, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let chunk = Bytes::from(vec![b'z'; 400]);
    let mut steps = vec![Step::Head { mode: None, headers: vec![] }];
    steps.extend((0..3).map(|_| Step::Chunk(chunk.clone())));
    steps.push(Step::End);
    let served = runtime(&emulator).spawn(vec![steps]);
    let response = client().post(invoke_url(&emulator, "f", "")).body("{}").send().await.unwrap();
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    assert_eq!(json(response).await["errorType"], "Function.ResponseSizeTooLarge");
    let (_, reply) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(
        rie(&reply.unwrap()),
        (
            413,
            "Function.ResponseSizeTooLarge".into(),
            "Response payload size exceeded maximum allowed payload size (1000 bytes).".into()
        )
    );
    assert!(emulator.recorder().faults().iter().any(|f| f.kind == FaultKind::ResponseTooLarge));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_trailer_body_that_is_not_base64() {
    let emulator = start("f").await;
    let raw_json = "{\"errorMessage\":\"sent as JSON, not base64\"}";
    let steps = vec![Step::streaming("text/plain"), Step::chunk("x"), trailers("Function.Oops", Some(raw_json))];
    let (payload, code, details, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload, b"x");
    assert_eq!(code.as_deref(), Some("Function.Oops"), "the type still counts");
    assert_eq!(details, j!({"errorType": "Function.Oops", "errorMessage": "", "trace": []}));
    assert_eq!(reply, Some((202, String::new())));
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let fault = record.faults.iter().find(|f| f.kind == FaultKind::InvalidTrailer).expect("fault recorded");
    assert!(
        fault.message.starts_with("Lambda-Runtime-Function-Error-Body is not standard base64"),
        "{}",
        fault.message
    );
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_trailer_body_that_is_base64_of_something_else() {
    let emulator = start("f").await;
    // A number, and an array of the document's fields (which serde alone would read by position).
    for document in ["42", "[\"Function.Positional\", \"message\"]"] {
        let body = STANDARD.encode(document);
        let steps = vec![Step::streaming("text/plain"), Step::chunk("x"), trailers("Function.Oops", Some(&body))];
        let (_, code, details, reply) = iwrs_with(&emulator, steps).await;
        assert_eq!(code.as_deref(), Some("Function.Oops"), "{document}");
        assert_eq!(details["errorMessage"], "", "{document}");
        assert_eq!(reply.map(|r| r.0), Some(202));
    }
    let faults: Vec<_> =
        emulator.recorder().faults().into_iter().filter(|f| f.kind == FaultKind::InvalidTrailer).collect();
    assert_eq!(faults.len(), 2);
    for fault in faults {
        assert!(
            fault.message.starts_with("Lambda-Runtime-Function-Error-Body decodes, but not to an error JSON object"),
            "{}",
            fault.message
        );
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_types_that_are_not_category_reason() {
    // Lambda keeps only `(Runtime|Function).Reason` types (RIE fatalerror.go).
    let emulator = start("f").await;
    // (sent, reported, in the details): the details keep what the runtime sent, or
    // `Function.Unknown` when it sent no type at all.
    for (sent, reported, detailed) in [
        ("my error!", "Function.Unknown", "my error!"),
        ("Runtime.bad type", "Runtime.Unknown", "Runtime.bad type"),
        ("function.Lowercase", "Function.Unknown", "function.Lowercase"),
        ("Function.X", "Function.Unknown", "Function.X"),
        ("Function.Ok", "Function.Ok", "Function.Ok"),
        ("", "Function.Unknown", "Function.Unknown"),
    ] {
        let steps = vec![Step::streaming("text/plain"), Step::chunk("x"), trailers(sent, None)];
        let (_, code, details, _) = iwrs_with(&emulator, steps).await;
        assert_eq!(code.as_deref(), Some(reported), "{sent:?}");
        assert_eq!(details["errorType"], detailed, "{sent:?}");
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_trailer_body_without_a_type() {
    // Only the type trailer makes an error; a lone body trailer is ignored.
    let emulator = start("f").await;
    let body = STANDARD.encode(ErrorDiagnostic::new("Function.X", "m").to_trailer_json());
    let steps = vec![Step::streaming("text/plain"), Step::chunk("x"), Step::Trailers(vec![(ERROR_BODY.into(), body)])];
    let (payload, code, _, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!((payload.as_slice(), code), (&b"x"[..], None));
    assert_eq!(reply.map(|r| r.0), Some(202));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_trailers_not_declared_in_the_head() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(iwrs_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\n\r\n",
        paths::response(&next.request_id)
    );
    let steps = [Step::Raw(head.into()), Step::chunk("a"), trailers("Function.Undeclared", None)];
    assert_eq!(rt.answer(&next.request_id, &steps).await.unwrap().unwrap().status, 202);
    let (_, complete) = iwrs_result(call.await.unwrap().unwrap()).await;
    assert_eq!(complete.error_code.as_deref(), Some("Function.Undeclared"), "read all the same");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_trailer_section_of_100_kib() {
    let emulator = start("f").await;
    let big = Step::Trailers(vec![("x-big".into(), "b".repeat(100 * 1024))]);
    let steps = vec![Step::streaming("text/plain"), Step::chunk("a"), big];
    let (payload, code, _, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!(payload, b"a");
    assert_eq!(code.as_deref(), Some("Runtime.TruncatedResponse"), "hyper refuses the trailers");
    assert_eq!(reply, Some((400, "Runtime.TruncatedResponse".into())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_streaming_mode_with_a_content_length_body() {
    // The mode, not the framing, makes an answer streamed: a Content-Length body is relayed.
    let emulator = start("f").await;
    let headers = vec![("Lambda-Runtime-Function-Response-Mode".into(), "streaming".into())];
    let steps = vec![Step::Buffered { headers, body: Bytes::from("framed by length") }];
    let (payload, code, _, reply) = iwrs_with(&emulator, steps).await;
    assert_eq!((payload.as_slice(), code), (&b"framed by length"[..], None));
    assert_eq!(reply.map(|r| r.0), Some(202));
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert!(record.runtime.streaming);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_trailers_before_any_body_byte() {
    let emulator = start("f").await;
    let diagnostic = ErrorDiagnostic::new("Function.Early", "failed before writing");
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::error_trailers(&diagnostic)]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502, "nothing was sent yet: the function URL can still say so");
    assert_eq!(json(response).await, j!({"errorType": "Function.Early", "errorMessage": "failed before writing"}));
    served.await.unwrap().unwrap();
    assert_healthy(&emulator).await;
}

/// Posts `/error` for the invocation a function URL call waits on; returns the client's 502
/// body and the runtime's answer status and type.
async fn url_error(emulator: &Emulator, error_type: Option<&str>, body: &[u8]) -> (Value, (u16, String)) {
    let served = runtime(emulator).spawn(vec![vec![Step::PostError {
        error_type: error_type.map(str::to_owned),
        body: Bytes::copy_from_slice(body),
    }]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body = json(response).await;
    let (_, reply) = served.await.unwrap().unwrap().remove(0);
    let reply = reply.unwrap();
    (body, (reply.status, rie(&reply).1))
}

#[tokio::test]
async fn runtime_error_body_that_is_not_json() {
    let emulator = start("f").await;
    let (body, reply) = url_error(&emulator, Some("Function.Text"), b"plain text, not JSON").await;
    assert_eq!(body, j!({"errorType": "Function.Text", "errorMessage": "plain text, not JSON"}));
    assert_eq!(reply.0, 202);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_without_any_type() {
    let emulator = start("f").await;
    let (body, reply) = url_error(&emulator, None, b"{\"errorMessage\":\"no type anywhere\"}").await;
    assert_eq!(body, j!({"errorType": "Function.Unknown", "errorMessage": "no type anywhere"}));
    assert_eq!(reply.0, 202);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_type_header_that_is_not_category_reason() {
    let emulator = start("f").await;
    let document = ErrorDiagnostic::new("Function.InBody", "m").to_error_body();
    let (body, _) = url_error(&emulator, Some("oops"), &document).await;
    assert_eq!(body["errorType"], "Function.Unknown", "the header's type wins, normalised: {body}");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_with_an_empty_body() {
    let emulator = start("f").await;
    let (body, reply) = url_error(&emulator, Some("Function.Silent"), b"").await;
    assert_eq!(body, j!({"errorType": "Function.Silent", "errorMessage": ""}));
    assert_eq!(reply.0, 202);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_body_over_the_cap() {
    let limits = Limits { max_buffered_response_bytes: 1024, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let (body, reply) = url_error(&emulator, Some("Function.Huge"), &vec![b'e'; 64 * 1024]).await;
    let message = "Response payload size exceeded maximum allowed payload size (1024 bytes).";
    assert_eq!(body, j!({"errorType": "Function.ResponseSizeTooLarge", "errorMessage": message}));
    assert_eq!(reply, (413, "Function.ResponseSizeTooLarge".into()));
    assert!(emulator.recorder().faults().iter().any(|f| f.kind == FaultKind::ResponseTooLarge));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_body_cut_by_a_hang_up() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let next = rt.next().await.unwrap();
    let post = Step::Raw(raw_post(&paths::error(&next.request_id), 100, "{\"errorMe"));
    assert_eq!(rt.answer(&next.request_id, &[post, Step::HangUp]).await.unwrap(), None);
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    let body = json(response).await;
    assert_eq!(body["errorType"], "Runtime.TruncatedResponse");
    assert!(body["errorMessage"].as_str().unwrap().starts_with("the request body broke off after 9 bytes"), "{body}");
    assert!(emulator.recorder().faults().iter().any(|f| f.kind == FaultKind::BrokenBody));
    assert_healthy(&emulator).await;
}

/// Posts `/init/error` with these pieces while one function URL call is queued; returns the
/// runtime's answer status and the client's 502 body.
async fn init_error(emulator: &Emulator, error_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    queued_id(emulator).await;
    let mut request = client().post(format!("http://{}{}", emulator.runtime_api(), paths::INIT_ERROR)).body(body);
    if let Some(error_type) = error_type {
        request = request.header("Lambda-Runtime-Function-Error-Type", error_type);
    }
    let status = request.send().await.unwrap().status().as_u16();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    (status, json(response).await)
}

#[tokio::test]
async fn runtime_init_error_with_a_body_that_is_not_json() {
    let emulator = start("f").await;
    let (status, body) = init_error(&emulator, None, b"\x00\x01 garbage".to_vec()).await;
    assert_eq!(status, 202);
    assert_eq!(body, j!({"errorType": "Function.Unknown", "errorMessage": "\u{0}\u{1} garbage"}));
    let fault = emulator.recorder().faults().into_iter().find(|f| f.kind == FaultKind::InitError).unwrap();
    assert!(fault.message.starts_with("init error Function.Unknown: "), "{}", fault.message);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_init_error_with_a_long_message() {
    // The callers get the whole message; the fault kept is cut to 1 KiB at a character boundary.
    let emulator = start("f").await;
    let message = "é".repeat(3000);
    let body = ErrorDiagnostic::new("Runtime.Verbose", &message).to_error_body();
    let (status, body) = init_error(&emulator, Some("Runtime.Verbose"), body).await;
    assert_eq!(status, 202);
    assert_eq!(body, j!({"errorType": "Runtime.Verbose", "errorMessage": message}));
    let fault = emulator.recorder().faults().into_iter().find(|f| f.kind == FaultKind::InitError).unwrap();
    assert!(fault.message.len() <= 1024 && fault.message.ends_with("é…"), "{} bytes", fault.message.len());
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_init_error_body_over_1_mib() {
    let emulator = start("f").await;
    let (status, body) = init_error(&emulator, Some("Runtime.HugeInit"), vec![b'i'; 2 * 1024 * 1024]).await;
    assert_eq!(status, 202);
    assert_eq!(body, j!({"errorType": "Runtime.HugeInit", "errorMessage": ""}), "the body is dropped, the type kept");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_init_error_with_nothing_queued() {
    let emulator = start("f").await;
    let body = ErrorDiagnostic::new("Runtime.LateInit", "m").to_error_body();
    let response = client()
        .post(format!("http://{}{}", emulator.runtime_api(), paths::INIT_ERROR))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.LateInit")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(json(response).await, j!({"status": "OK"}));
    assert!(emulator.recorder().faults().iter().any(|f| f.kind == FaultKind::InitError));
    // Nothing was waiting, so nothing failed: the next invocation is served.
    assert_healthy(&emulator).await;
    assert!(emulator.recorder().invocations().iter().all(|i| i.outcome == Some(Ok(()))));
}
