//! The HTTP-integration prelude, malformed in every way a runtime can get it wrong. A prelude
//! the function URL cannot use is a 502 `Runtime.MalformedPrelude` naming the problem (a project
//! choice: AWS answers an opaque 5xx), recorded as a `MalformedPrelude` fault.

use bytes::Bytes;
use lambda_stream_emulator::{Emulator, FaultKind};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::names::HTTP_INTEGRATION_CONTENT_TYPE as PRELUDE_CT;
use serde_json::json as j;

use crate::common::{assert_healthy, client, runtime, start};
use crate::{json, prelude_chunk};

/// Runs one function URL call answered with `chunks` under the prelude content type.
async fn url_with(emulator: &Emulator, chunks: Vec<Bytes>) -> reqwest::Response {
    let mut steps = vec![Step::streaming(PRELUDE_CT)];
    steps.extend(chunks.into_iter().map(Step::Chunk));
    steps.push(Step::End);
    let served = runtime(emulator).spawn(vec![steps]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    let (_, reply) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(reply.unwrap().status, 202, "the runtime's answer is taken whatever its prelude");
    response
}

/// Asserts the 502 for an unusable prelude and returns its message (after "malformed
/// HTTP-integration prelude: "); checks the fault and that the emulator still serves.
async fn malformed(chunks: Vec<Bytes>) -> String {
    let emulator = start("f").await;
    let response = url_with(&emulator, chunks).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body = json(response).await;
    assert_eq!(body["errorType"], "Runtime.MalformedPrelude", "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    let problem = message.strip_prefix("malformed HTTP-integration prelude: ").expect(message).to_owned();
    let faults = emulator.recorder().faults();
    assert!(faults.iter().any(|f| f.kind == FaultKind::MalformedPrelude && f.message == message), "{faults:?}");
    assert_healthy(&emulator).await;
    problem
}

#[tokio::test]
async fn runtime_prelude_that_is_not_json() {
    let problem = malformed(vec![prelude_chunk("{not json", b"body")]).await;
    assert!(problem.starts_with("the prelude is not valid JSON ("), "{problem}");
    assert!(problem.ends_with("): \"{not json\""), "{problem}");
}

#[tokio::test]
async fn runtime_prelude_that_is_not_an_object() {
    let problem = malformed(vec![prelude_chunk("[200]", b"body")]).await;
    assert_eq!(problem, "the body does not start with a prelude JSON object: byte 0 is 0x5b, expected `{`");
}

#[tokio::test]
async fn runtime_prelude_without_a_delimiter_within_16_kib() {
    let json = format!("{{\"headers\":{{\"x-pad\":\"{}\"}}}}", "a".repeat(20 * 1024));
    let problem = malformed(vec![Bytes::from(json)]).await;
    assert_eq!(problem, "no prelude delimiter (eight NUL bytes) within the first 16384 bytes of the body");
}

/// A prelude of exactly `total` bytes, delimiter included.
fn prelude_of(total: usize) -> String {
    let frame = "{\"statusCode\":201,\"headers\":{\"x-pad\":\"\"}}";
    let pad = total - 8 - frame.len();
    format!("{{\"statusCode\":201,\"headers\":{{\"x-pad\":\"{}\"}}}}", "a".repeat(pad))
}

#[tokio::test]
async fn runtime_prelude_at_the_16_kib_bound() {
    let emulator = start("f").await;
    let at_bound = prelude_of(16 * 1024);
    let response = url_with(&emulator, vec![prelude_chunk(&at_bound, b"fits")]).await;
    assert_eq!(response.status(), 201, "a prelude of exactly 16 KiB is read");
    assert_eq!(response.text().await.unwrap(), "fits");
    let over = prelude_of(16 * 1024 + 1);
    let response = url_with(&emulator, vec![prelude_chunk(&over, b"does not")]).await;
    assert_eq!(response.status(), 502, "one byte more is not");
    assert!(json(response).await["errorMessage"].as_str().unwrap().contains("within the first 16384 bytes"));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_split_at_every_byte() {
    let emulator = start("f").await;
    let whole = prelude_chunk("{\"statusCode\":207,\"headers\":{\"x-split\":\"yes\"},\"cookies\":[\"a=1\"]}", b"body");
    let chunks = (0..whole.len()).map(|i| whole.slice(i..i + 1)).collect();
    let response = url_with(&emulator, chunks).await;
    assert_eq!(response.status(), 207);
    assert_eq!(response.headers()["x-split"], "yes");
    assert_eq!(response.headers()["set-cookie"], "a=1");
    assert_eq!(response.text().await.unwrap(), "body");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_that_ends_before_its_delimiter() {
    let problem = malformed(vec![Bytes::from_static(b"{\"statusCode\":200}")]).await;
    assert_eq!(problem, "the body ended after 18 bytes, before the prelude's delimiter (eight NUL bytes)");
}

#[tokio::test]
async fn runtime_prelude_with_a_broken_delimiter() {
    let mut bytes = b"{\"statusCode\":200}".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(b"x");
    let problem = malformed(vec![Bytes::from(bytes)]).await;
    assert_eq!(problem, "the prelude delimiter must be eight NUL bytes, but only 4 came before byte 0x78 at offset 22");
}

#[tokio::test]
async fn runtime_prelude_content_type_with_an_empty_body() {
    // Nothing to decode: the defaults stand (200, no headers) rather than a 502.
    let emulator = start("f").await;
    let response = url_with(&emulator, vec![]).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-type").is_none(), "{:?}", response.headers());
    assert_eq!(response.text().await.unwrap(), "");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_status_that_is_not_an_integer() {
    for (status, shown) in [("\"200\"", "\"200\""), ("200.5", "200.5"), ("-1", "-1"), ("null", "null")] {
        let problem = malformed(vec![prelude_chunk(&format!("{{\"statusCode\":{status}}}"), b"")]).await;
        assert_eq!(problem, format!("prelude field `statusCode` must be an integer from 100 to 599, got {shown}"));
    }
}

#[tokio::test]
async fn runtime_prelude_fields_of_the_wrong_shape() {
    for (prelude, problem) in [
        ("{\"headers\":[\"a\"]}", "prelude field `headers` must be a JSON object"),
        ("{\"headers\":{\"a\":{\"b\":1}}}", "prelude field `headers` value of `a` must be a string"),
        (
            "{\"multiValueHeaders\":{\"a\":\"b\"}}",
            "prelude field `multiValueHeaders` value of `a` must be an array of strings",
        ),
        ("{\"multiValueHeaders\":{\"a\":[[1]]}}", "prelude field `multiValueHeaders` `a` must hold only strings"),
        ("{\"cookies\":\"a=1\"}", "prelude field `cookies` must be an array of strings"),
        ("{\"cookies\":[1]}", "prelude field `cookies` must hold only strings"),
    ] {
        assert_eq!(malformed(vec![prelude_chunk(prelude, b"")]).await, problem, "{prelude}");
    }
}

#[tokio::test]
async fn runtime_prelude_nested_200_levels_deep() {
    // serde_json's recursion limit answers, not the stack.
    let json = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
    let problem = malformed(vec![prelude_chunk(&json, b"")]).await;
    assert!(problem.starts_with("the prelude is not valid JSON (recursion limit exceeded"), "{problem}");
}

#[tokio::test]
async fn runtime_prelude_headers_a_response_cannot_carry() {
    // Each header that cannot be sent is dropped with a warning; the rest of the answer stands.
    let emulator = start("f").await;
    let prelude = j!({
        "statusCode": 200,
        "headers": {"bad name": "x", "x-newline": "a\nb", "x-utf8": "café", "": "no name", "x-ok": "kept"}
    });
    let response = url_with(&emulator, vec![prelude_chunk(&prelude.to_string(), b"body")]).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-ok"], "kept");
    assert_eq!(headers["x-utf8"].as_bytes(), "café".as_bytes(), "UTF-8 bytes pass (obs-text)");
    for dropped in ["bad name", "x-newline"] {
        assert!(headers.get(dropped).is_none(), "{dropped}: {headers:?}");
    }
    assert_eq!(response.text().await.unwrap(), "body");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_with_keys_it_does_not_define() {
    // A prelude is not an API Gateway proxy answer: `body` and `isBase64Encoded` there mean
    // nothing and are ignored, like any unknown key; the body is what follows the delimiter.
    let emulator = start("f").await;
    let prelude = "{\"statusCode\":202,\"body\":\"ignored\",\"isBase64Encoded\":true,\"extra\":{}}";
    let response = url_with(&emulator, vec![prelude_chunk(prelude, b"the body")]).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.text().await.unwrap(), "the body");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_with_a_key_twice() {
    // JSON does not say what a duplicate key means; the last one counts, as in serde_json.
    let emulator = start("f").await;
    let response = url_with(&emulator, vec![prelude_chunk("{\"statusCode\":200,\"statusCode\":404}", b"")]).await;
    assert_eq!(response.status(), 404);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_body_after_a_status_that_has_none() {
    // 204 and 304 have no body (RFC 9110 §6.4.1): what the function writes after the prelude
    // is read and dropped, and the runtime's answer is still taken.
    let emulator = start("f").await;
    for status in [204u16, 304] {
        let chunk = prelude_chunk(&format!("{{\"statusCode\":{status}}}"), b"a body it may not have");
        let response = url_with(&emulator, vec![chunk, Bytes::from_static(b" and more")]).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.bytes().await.unwrap().len(), 0);
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_prelude_content_type_in_other_case_with_parameters() {
    let emulator = start("f").await;
    let content_type = "Application/VND.AwsLambda.Http-Integration-Response; charset=utf-8";
    let steps =
        vec![Step::streaming(content_type), Step::Chunk(prelude_chunk("{\"statusCode\":418}", b"tea")), Step::End];
    let served = runtime(&emulator).spawn(vec![steps]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 418, "still the prelude content type");
    assert_eq!(response.text().await.unwrap(), "tea");
    served.await.unwrap().unwrap();
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn runtime_error_trailers_right_after_the_prelude() {
    // The head leaves once the prelude is complete, so an error after it can only cut the body.
    let emulator = start("f").await;
    let diagnostic = lambda_stream_protocol::ErrorDiagnostic::new("Function.AfterPrelude", "m");
    let steps = vec![
        Step::streaming(PRELUDE_CT),
        Step::Chunk(prelude_chunk("{\"statusCode\":201}", b"")),
        Step::error_trailers(&diagnostic),
    ];
    let served = runtime(&emulator).spawn(vec![steps]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.bytes().await.is_err(), "the body is cut, not ended");
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, crate::common::WAIT).await.unwrap().remove(0);
    assert_eq!(record.error().unwrap().error_type, "Function.AfterPrelude");
    assert_healthy(&emulator).await;
}
