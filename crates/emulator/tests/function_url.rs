//! Function URL front end (and `/invoke`), through reqwest: the payload v2.0 shape, the prelude
//! split every way, content-length remap, cookies, no-prelude content type, 502 before the first
//! byte, an aborted body after it, and chunks relayed as they arrive.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine as _;
use common::{WAIT, assert_healthy, client, runtime, split, start};
use lambda_stream_emulator::{ClientEnd, FaultKind};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names};
use serde_json::Value;

const PRELUDE_CT: &str = names::HTTP_INTEGRATION_CONTENT_TYPE;

#[tokio::test]
async fn the_event_is_payload_v2() {
    let emulator = start("shape").await;
    let call = tokio::spawn(
        client()
            .post(format!("{}/some/path?a=1&b=two%20words&a=3", emulator.url()))
            .header("X-Multi", "v1")
            .header("x-multi", "v2")
            .header("Cookie", "c1=v1; c2=v2")
            .header("Content-Type", "application/json")
            .header("User-Agent", "shape-test/1.0")
            .body("{\"hello\":\"world\"}")
            .send(),
    );
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/some/path");
    assert_eq!(event["rawQueryString"], "a=1&b=two%20words&a=3");
    assert_eq!(event["queryStringParameters"], serde_json::json!({"a": "1,3", "b": "two words"}));
    assert_eq!(event["headers"]["x-multi"], "v1,v2");
    assert_eq!(event["headers"]["content-type"], "application/json");
    assert!(event["headers"].get("cookie").is_none(), "cookies move out of the headers");
    assert_eq!(event["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["body"], "{\"hello\":\"world\"}");
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["requestId"], next.request_id.as_str());
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["http"]["method"], "POST");
    assert_eq!(context["http"]["path"], "/some/path");
    assert_eq!(context["http"]["protocol"], "HTTP/1.1");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "shape-test/1.0");
    assert_eq!(context["domainName"], emulator.local_addr().to_string().as_str());
    let epoch = context["timeEpoch"].as_u64().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(now.abs_diff(epoch) < 10_000, "timeEpoch {epoch} vs now {now}");
    let time = context["time"].as_str().unwrap();
    assert!(time.ends_with(" +0000") && time.len() == 26, "like 15/Jul/2025:10:36:52 +0000: {time}");
    // It is what the Rust events crate reads, as runtimes do.
    let typed: LambdaFunctionUrlRequest = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(typed.request_context.http.method.as_deref(), Some("POST"));

    rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("ok"), Step::End]).await.unwrap();
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "ok");
}

#[tokio::test]
async fn binary_bodies_are_base64() {
    let emulator = start("binary").await;
    let raw = vec![0u8, 159, 146, 150, 255];
    let call = tokio::spawn(
        client()
            .put(format!("{}/bin", emulator.url()))
            .header("Content-Type", "application/octet-stream")
            .body(raw.clone())
            .send(),
    );
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(event["body"].as_str().unwrap()).unwrap(), raw);
    assert_eq!(event["requestContext"]["http"]["method"], "PUT");
    rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::End]).await.unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
}

fn sample_prelude() -> Prelude {
    Prelude::with_status(201).header("X-Custom", "yes").cookie("a=1; Secure").cookie("b=2")
}

#[tokio::test]
async fn the_prelude_is_decoded_however_it_is_split() {
    let emulator = start("prelude").await;
    let json_len = sample_prelude().to_json().len();
    let mut body = sample_prelude().encode().to_vec();
    body.extend_from_slice(b"hello world");
    let cases: Vec<(&str, Vec<usize>)> = vec![
        ("all in one chunk", vec![]),
        ("JSON | delimiter | payload", vec![json_len, json_len + 8]),
        ("JSON + delimiter + payload start | rest", vec![json_len + 8 + 5]),
        ("delimiter split 3/5", vec![json_len + 3]),
        ("JSON split in the middle", vec![5, json_len]),
        ("byte by byte", (1..body.len()).collect()),
    ];
    let rt = runtime(&emulator);
    for (name, cuts) in cases {
        let served = rt.spawn(vec![split(&body, &cuts)]);
        let response = client().get(format!("{}/p", emulator.url())).send().await.unwrap();
        assert_eq!(response.status(), 201, "{name}");
        assert_eq!(response.headers()["x-custom"], "yes", "{name}");
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1; Secure", "b=2"], "{name}");
        assert_eq!(response.text().await.unwrap(), "hello world", "{name}");
        served.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_prelude_content_length_is_remapped() {
    let emulator = start("remap").await;
    let mut body =
        Prelude::with_status(200).header("Content-Length", "5").header("Content-Type", "text/plain").encode().to_vec();
    body.extend_from_slice(b"12345");
    let served = runtime(&emulator).spawn(vec![split(&body, &[])]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.headers()[names::REMAPPED_CONTENT_LENGTH], "5");
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert!(response.headers().get("content-length").is_none(), "the body stays chunked");
    assert_eq!(response.text().await.unwrap(), "12345");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_a_prelude_the_runtime_content_type_and_200() {
    let emulator = start("plain").await;
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/csv"), Step::chunk("a,b\n"), Step::End]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv");
    assert_eq!(response.text().await.unwrap(), "a,b\n");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_error_before_the_first_byte_is_a_502() {
    let emulator = start("early").await;
    let rt = runtime(&emulator);
    let diagnostic = ErrorDiagnostic::new("Function.Oops", "nothing written");
    // From trailers with an empty body, and from /error.
    for script in
        [vec![Step::streaming("text/plain"), Step::error_trailers(&diagnostic)], vec![Step::post_error(&diagnostic)]]
    {
        let served = rt.spawn(vec![script]);
        let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"errorType": "Function.Oops", "errorMessage": "nothing written"}));
        served.await.unwrap().unwrap();
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_malformed_prelude_is_a_502_naming_the_problem() {
    let emulator = start("malformed").await;
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming(PRELUDE_CT), Step::chunk("not json"), Step::End]]);
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("prelude") && message.contains("expected `{`"), "{message}");
    served.await.unwrap().unwrap();
    let faults = emulator.recorder().faults();
    assert!(faults.iter().any(|f| f.kind == FaultKind::MalformedPrelude), "{faults:?}");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_mid_stream_error_aborts_the_body() {
    let emulator = start("abort").await;
    let diagnostic = ErrorDiagnostic::new("Function.StreamBroke", "after the first chunk");
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("partial"),
        Step::error_trailers(&diagnostic),
    ]]);
    let mut response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"partial");
    let end = response.chunk().await;
    assert!(end.is_err(), "the body must end with an error (no terminating chunk), got {end:?}");
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 202);
    let record = emulator.recorder().wait_completed_one().await;
    assert!(
        matches!(&record.client.end, Some((_, ClientEnd::Aborted { reason })) if reason.contains("Function.StreamBroke"))
    );
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn chunks_are_relayed_as_they_arrive() {
    let emulator = start("timing").await;
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("first"),
        Step::Pause(Duration::from_millis(500)),
        Step::chunk("second"),
        Step::End,
    ]]);
    let mut response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    let mut arrivals = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        arrivals.push((Instant::now(), chunk));
    }
    let text: Vec<u8> = arrivals.iter().flat_map(|(_, c)| c.to_vec()).collect();
    assert_eq!(text, b"firstsecond");
    let gap = arrivals.last().unwrap().0 - arrivals[0].0;
    assert!(gap >= Duration::from_millis(300), "first byte only {gap:?} before the last: buffered?");
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_completed_one().await;
    assert_eq!(record.client.chunks.len(), 2);
    let client_gap = record.client.chunks[1].at - record.client.chunks[0].at;
    assert!(client_gap >= Duration::from_millis(300), "recorder: {client_gap:?}");
}

#[tokio::test]
async fn local_invoke_is_post_only_passes_the_raw_body_and_applies_the_prelude() {
    let emulator = start("local").await;
    let get = client().get(format!("{}/invoke", emulator.url())).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let mut body = Prelude::with_status(418).encode().to_vec();
    body.extend_from_slice(b"teapot");
    let served = runtime(&emulator).spawn(vec![split(&body, &[3])]);
    // The body is the event, byte for byte (SWIFT `Lambda+LocalServer.swift`): spacing, key
    // order and bytes that are not UTF-8 survive; the query and headers are not part of it.
    let posted: &[u8] = b"{ \"count\" :3,\n  \"a\": [1, 2] }\xff\x00";
    let post = client()
        .post(format!("{}/invoke?scenario=ignored", emulator.url()))
        .header("x-custom", "ignored")
        .body(posted.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 418);
    assert_eq!(post.text().await.unwrap(), "teapot");
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(next.body, posted, "/invoke passes the raw body as the event");
    let record = emulator.recorder().invocation(&next.request_id).unwrap();
    assert_eq!(record.front_end, lambda_stream_emulator::FrontEnd::LocalInvoke);
    let _ = WAIT;
}

/// Waits for the only invocation of a test to complete.
trait WaitOne {
    async fn wait_completed_one(&self) -> lambda_stream_emulator::InvocationRecord;
}

impl WaitOne for lambda_stream_emulator::Recorder {
    async fn wait_completed_one(&self) -> lambda_stream_emulator::InvocationRecord {
        self.wait_for_completed(1, WAIT).await.unwrap().remove(0)
    }
}

#[tokio::test]
async fn a_client_waiting_for_the_head_when_the_emulator_stops_is_recorded_as_gone() {
    // The client listener keeps half-closed connections open for their answer, so a waiting
    // client is not noticed leaving; the emulator stopping ends its connection, and the front
    // end's guard records the client leg as gone rather than leaving it open forever.
    let emulator = start("f").await;
    let recorder = emulator.recorder();
    let call = tokio::spawn(client().get(format!("{}/waiting", emulator.url())).send());
    let id = recorder
        .wait_until(WAIT, "an invocation to be queued", |r| r.invocations().first().map(|i| i.request_id.clone()))
        .await
        .unwrap();
    emulator.shutdown().await;
    let record = recorder.invocation(&id).unwrap();
    assert_eq!(record.client.head_at, None, "no head was sent");
    assert_eq!(record.client.end.map(|(_, end)| end), Some(ClientEnd::Disconnected));
    assert!(call.await.unwrap().is_err(), "the client's connection was closed without an answer");
}

/// HEAD, 204 and 304 answers end with their head (RFC 9110 §6.4.1): the client leg is recorded
/// as completed without one byte of the function's body, and the function's answer is still read
/// whole.
#[tokio::test]
async fn bodiless_answers_are_completed_without_a_body() {
    let emulator = start("bodiless").await;
    let answer = |status: u16| {
        let mut body = Prelude::with_status(status).encode().to_vec();
        body.extend_from_slice(b"never sent");
        split(&body, &[])
    };
    let served = runtime(&emulator).spawn(vec![answer(200), answer(204), answer(304)]);
    let head = client().head(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    for status in [204, 304] {
        let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
        assert_eq!(response.status(), status);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let replies: Vec<_> = served.await.unwrap().unwrap().into_iter().map(|(_, r)| r.map(|a| a.status)).collect();
    assert_eq!(replies, [Some(202); 3], "each answer is read whole");
    let records = emulator.recorder().wait_for_completed(3, WAIT).await.unwrap();
    let legs: Vec<_> =
        records.iter().map(|r| (r.client.status, r.client.bytes, r.client.end.clone().map(|e| e.1))).collect();
    let completed = |status| (Some(status), 0, Some(ClientEnd::Completed));
    assert_eq!(legs, [completed(200), completed(204), completed(304)]);
    assert_healthy(&emulator).await;
}
