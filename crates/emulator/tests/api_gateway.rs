//! The API Gateway REST API front end, through reqwest against its own listener: the payload 1.0
//! event, the prelude at every split with `multiValueHeaders`, API Gateway's answers before the
//! first byte (502, 500, 504) and the cut after it, the idle and integration timeouts on tokio's
//! paused clock, a declared `Content-Length`, the bandwidth caps, SigV4 for `execute-api` and the
//! API key.

mod common;

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use bytes::Bytes;
use common::{KEY, Payload, SECRET, WAIT, builder, client, runtime, signed_for, split};
use lambda_stream_emulator::{
    ApiGatewayConfig, Auth, Bandwidth, ClientEnd, Emulator, EndpointType, FaultKind, FrontEnd, Limits,
};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names};
use serde_json::{Value, json};

const PRELUDE_CT: &str = names::HTTP_INTEGRATION_CONTENT_TYPE;

async fn start(name: &str, config: ApiGatewayConfig) -> (Emulator, String) {
    let emulator = builder(name).api_gateway(config).build().await.expect("emulator starts");
    let url = emulator.api_gateway_url().expect("an API Gateway listener");
    (emulator, url)
}

fn prelude_and(prelude: &Prelude, payload: &[u8]) -> Vec<u8> {
    let mut body = prelude.encode().to_vec();
    body.extend_from_slice(payload);
    body
}

async fn message_of(response: reqwest::Response) -> String {
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["message"].as_str().expect("a {\"message\"} body").to_owned()
}

#[tokio::test]
async fn the_event_is_the_rest_proxy_payload_1_0() {
    let config = ApiGatewayConfig::new("prod").stage_variable("color", "blue");
    let (emulator, url) = start("shape", config).await;
    let call = tokio::spawn(
        client()
            .post(format!("{url}/pets/dog%20house?a=1&b=two%20words&a=3"))
            .header("X-Multi", "v1")
            .header("x-multi", "v2")
            .header("Content-Type", "application/json")
            .header("User-Agent", "shape-test/1.0")
            .body("{\"hello\":\"world\"}")
            .send(),
    );
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["resource"], "/{proxy+}");
    assert_eq!(event["path"], "/pets/dog%20house");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["headers"]["x-multi"], "v2", "the single-value map keeps the last value");
    assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["v1", "v2"]));
    assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(event["queryStringParameters"], json!({"a": "3", "b": "two words"}));
    assert_eq!(event["multiValueQueryStringParameters"], json!({"a": ["1", "3"], "b": ["two words"]}));
    assert_eq!(event["pathParameters"], json!({"proxy": "pets/dog house"}));
    assert_eq!(event["stageVariables"], json!({"color": "blue"}));
    assert_eq!(event["body"], "{\"hello\":\"world\"}");
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["stage"], "prod");
    assert_eq!(context["path"], "/prod/pets/dog%20house");
    assert_eq!(context["resourcePath"], "/{proxy+}");
    assert_eq!(context["httpMethod"], "POST");
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["apiId"], "local");
    assert_eq!(context["protocol"], "HTTP/1.1");
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["identity"]["userAgent"], "shape-test/1.0");
    let time = context["requestTime"].as_str().unwrap();
    assert!(time.ends_with(" +0000") && time.len() == 26, "like 04/Mar/2020:19:15:17 +0000: {time}");
    assert!(context["requestTimeEpoch"].as_u64().unwrap() > 1_700_000_000_000);
    // API Gateway's request id is its own, not the invocation's.
    let apigw_id = context["requestId"].as_str().unwrap().to_owned();
    assert_ne!(apigw_id, next.request_id);
    // What runtimes deserialise it with.
    let typed: ApiGatewayProxyRequest = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(typed.http_method, http::Method::POST);
    assert_eq!(typed.multi_value_headers.get_all("x-multi").iter().count(), 2);
    assert_eq!(typed.request_context.stage.as_deref(), Some("prod"));

    rt.answer(&next.request_id, &split(&prelude_and(&Prelude::with_status(200), b"ok"), &[])).await.unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.headers()["x-amzn-requestid"], apigw_id.as_str());
    let extended = context["extendedRequestId"].as_str().unwrap();
    assert_eq!(response.headers()["x-amz-apigw-id"], extended);
    let trace = response.headers()["x-amzn-trace-id"].to_str().unwrap();
    assert!(trace.starts_with("Root=1-"), "{trace}");
    assert_eq!(next.header("lambda-runtime-trace-id"), Some(trace), "the function's trace id");
    assert_eq!(response.text().await.unwrap(), "ok");
    // The recorder finds the invocation by either id.
    let record = emulator.recorder().wait_for(&apigw_id, WAIT).await.unwrap();
    assert_eq!(record.request_id, next.request_id);
    assert_eq!(record.front_end, FrontEnd::ApiGateway);

    // A client may set API Gateway's request id with a UUID (APIGW-LOGGING).
    let chosen = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let call = tokio::spawn(client().get(format!("{url}/again")).header("x-amzn-RequestId", chosen).send());
    let next = rt.next().await.unwrap();
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["requestContext"]["requestId"], chosen);
    rt.answer(&next.request_id, &split(&prelude_and(&Prelude::with_status(200), b"ok"), &[])).await.unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.headers()["x-amzn-requestid"], chosen);
    assert_ne!(response.headers()["x-amz-apigw-id"], extended, "the extended id is always new");
}

#[tokio::test]
async fn the_stage_root_is_a_resource_and_other_paths_are_missing_tokens() {
    let (emulator, url) = start("root", ApiGatewayConfig::new("v1")).await;
    let served = runtime(&emulator).spawn(vec![split(&prelude_and(&Prelude::with_status(200), b"root"), &[])]);
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "root");
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!((event["resource"].as_str(), event["path"].as_str()), (Some("/"), Some("/")));
    assert_eq!(event["pathParameters"], Value::Null);
    assert_eq!(event["queryStringParameters"], Value::Null);

    let base = format!("http://{}", emulator.api_gateway_addr().unwrap());
    for path in ["/", "/prod/x", "/v10/x", "/v1x"] {
        let response = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(response.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
        assert!(response.headers().contains_key("x-amzn-requestid"));
        assert!(response.headers().contains_key("x-amz-apigw-id"));
        assert_eq!(message_of(response).await, "Missing Authentication Token", "{path}");
    }
    // The function URL keeps every path of its own listener.
    assert!(emulator.recorder().invocations().len() == 1);
    common::assert_healthy(&emulator).await;
}

/// `ANY` is the seven methods API Gateway supports: CONNECT and TRACE match no method, so they
/// get the missing-token answer of an unknown route and never reach the function (a CONNECT
/// passed on would have a 2xx from the function taken as an open tunnel, and no answer at all).
#[tokio::test]
async fn connect_and_trace_match_no_method() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (emulator, url) = start("methods", ApiGatewayConfig::new("v1")).await;
    let trace = client().request(reqwest::Method::TRACE, format!("{url}/x")).send().await.unwrap();
    assert_eq!(trace.status(), 403);
    assert_eq!(trace.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
    assert_eq!(message_of(trace).await, "Missing Authentication Token");

    let addr = emulator.api_gateway_addr().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("CONNECT {addr} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    assert!(answer.contains("Missing Authentication Token"), "{answer}");

    assert!(emulator.recorder().invocations().is_empty(), "neither reached the function");
    common::assert_healthy(&emulator).await;
}

#[tokio::test]
async fn status_headers_multi_value_headers_and_cookies_come_from_the_prelude() {
    let (emulator, url) = start("heads", ApiGatewayConfig::default()).await;
    let mut prelude = Prelude::with_status(201).header("X-Single", "one").header("X-Both", "from-headers");
    prelude.multi_value_headers.insert("x-both".into(), vec!["m1".into(), "m2".into()]);
    prelude.multi_value_headers.insert("X-Mv".into(), vec!["hello".into(), "world".into()]);
    prelude.headers.insert("x-amzn-RequestId".into(), "forged".into());
    prelude.headers.insert("Transfer-Encoding".into(), "gzip".into());
    prelude.cookies = vec!["c1=blue".into(), "c2=red; Secure".into()];
    let served = runtime(&emulator).spawn(vec![split(&prelude_and(&prelude, b"body"), &[])]);
    let response = client().get(format!("{url}/h")).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let all = |name: &str| -> Vec<String> {
        response.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    assert_eq!(all("x-single"), ["one"]);
    assert_eq!(all("x-both"), ["m1", "m2"], "multiValueHeaders wins for a name in both");
    assert_eq!(all("x-mv"), ["hello", "world"]);
    assert_eq!(all("set-cookie"), ["c1=blue", "c2=red; Secure"]);
    assert_ne!(all("x-amzn-requestid"), ["forged"], "API Gateway's id, not the function's");
    assert_eq!(all("transfer-encoding"), ["chunked"], "the front end frames the body");
    assert_eq!(response.text().await.unwrap(), "body");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_prelude_is_decoded_at_every_split() {
    let (emulator, url) = start("splits", ApiGatewayConfig::default()).await;
    let mut prelude = Prelude::with_status(202).header("x-custom", "yes");
    prelude.multi_value_headers.insert("x-mv".into(), vec!["a".into(), "b".into()]);
    let body = prelude_and(&prelude, b"hello world");
    let json_len = prelude.to_json().len();
    let mut cases: Vec<(String, Vec<usize>)> =
        (1..body.len()).map(|cut| (format!("one cut at {cut}"), vec![cut])).collect();
    cases.push(("byte by byte".into(), (1..body.len()).collect()));
    cases.push(("JSON | delimiter | payload".into(), vec![json_len, json_len + 8]));
    let rt = runtime(&emulator);
    for (name, cuts) in cases {
        let served = rt.spawn(vec![split(&body, &cuts)]);
        let response = client().get(format!("{url}/p")).send().await.unwrap();
        assert_eq!(response.status(), 202, "{name}");
        assert_eq!(response.headers()["x-custom"], "yes", "{name}");
        let mv: Vec<_> = response.headers().get_all("x-mv").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert_eq!(mv, ["a", "b"], "{name}");
        assert_eq!(response.text().await.unwrap(), "hello world", "{name}");
        served.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn an_error_before_the_first_byte_is_a_502_internal_server_error() {
    let (emulator, url) = start("early", ApiGatewayConfig::default()).await;
    let rt = runtime(&emulator);
    let diagnostic = ErrorDiagnostic::new("Function.Oops", "nothing written");
    let half_prelude = Bytes::copy_from_slice(&Prelude::with_status(200).encode()[..5]);
    for script in [
        vec![Step::post_error(&diagnostic)],
        vec![Step::streaming(PRELUDE_CT), Step::error_trailers(&diagnostic)],
        // Part of the metadata, then the error: still nothing reached the client.
        vec![Step::streaming(PRELUDE_CT), Step::Chunk(half_prelude.clone()), Step::error_trailers(&diagnostic)],
    ] {
        let served = rt.spawn(vec![script]);
        let response = client().get(format!("{url}/")).send().await.unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["x-amzn-errortype"], "InternalServerErrorException");
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body, json!({"message": "Internal server error"}), "the cause is not shown to the client");
        served.await.unwrap().unwrap();
    }
    let records = emulator.recorder().wait_for_completed(3, WAIT).await.unwrap();
    assert!(records.iter().all(|r| r.client.status == Some(502) && r.error().unwrap().error_type == "Function.Oops"));
}

#[tokio::test]
async fn an_answer_not_in_the_prelude_format_is_a_500() {
    let (emulator, url) = start("format", ApiGatewayConfig::default()).await;
    let rt = runtime(&emulator);
    let no_delimiter = Bytes::from(vec![b' '; 17 * 1024]);
    for (name, script) in [
        ("not JSON", vec![Step::streaming(PRELUDE_CT), Step::chunk("not json"), Step::End]),
        ("plain text without a prelude", vec![Step::streaming("text/plain"), Step::chunk("Number: 1\n"), Step::End]),
        (
            "metadata without its delimiter",
            vec![Step::streaming(PRELUDE_CT), Step::chunk("{\"statusCode\":200}"), Step::End],
        ),
        ("nothing at all", vec![Step::streaming(PRELUDE_CT), Step::End]),
        (
            "no delimiter in the first 16 KiB",
            vec![Step::streaming(PRELUDE_CT), Step::Chunk(no_delimiter.clone()), Step::End],
        ),
        (
            "status 99",
            vec![Step::streaming(PRELUDE_CT), Step::chunk("{\"statusCode\":99}\0\0\0\0\0\0\0\0x"), Step::End],
        ),
    ] {
        let served = rt.spawn(vec![script]);
        let response = client().get(format!("{url}/")).send().await.unwrap();
        assert_eq!(response.status(), 500, "{name}");
        assert_eq!(message_of(response).await, "Internal server error", "{name}");
        served.await.unwrap().unwrap();
    }
    let faults = emulator.recorder().faults();
    assert!(faults.iter().filter(|f| f.kind == FaultKind::MalformedPrelude).count() >= 5, "{faults:?}");
    common::assert_healthy(&emulator).await;
}

#[tokio::test]
async fn a_mid_stream_error_cuts_the_body() {
    let (emulator, url) = start("abort", ApiGatewayConfig::default()).await;
    let diagnostic = ErrorDiagnostic::new("Function.StreamBroke", "after the first chunk");
    let mut script = split(&prelude_and(&Prelude::with_status(200), b"partial"), &[]);
    script.pop();
    script.push(Step::error_trailers(&diagnostic));
    let served = runtime(&emulator).spawn(vec![script]);
    let mut response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"partial");
    let end = response.chunk().await;
    assert!(end.is_err(), "the body must end without its terminating chunk, got {end:?}");
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert!(
        matches!(&record.client.end, Some((_, ClientEnd::Aborted { reason })) if reason.contains("Function.StreamBroke")),
        "{:?}",
        record.client.end
    );
}

#[tokio::test]
async fn chunks_are_relayed_as_they_arrive() {
    let (emulator, url) = start("timing", ApiGatewayConfig::default()).await;
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(PRELUDE_CT),
        Step::Chunk(Prelude::with_status(200).encode()),
        Step::chunk("first"),
        Step::Pause(Duration::from_millis(500)),
        Step::chunk("second"),
        Step::End,
    ]]);
    let mut response = client().get(format!("{url}/")).send().await.unwrap();
    let mut arrivals = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        arrivals.push((Instant::now(), chunk));
    }
    let text: Vec<u8> = arrivals.iter().flat_map(|(_, c)| c.to_vec()).collect();
    assert_eq!(text, b"firstsecond");
    let lead = arrivals.last().unwrap().0 - arrivals[0].0;
    assert!(lead >= Duration::from_millis(300), "first byte only {lead:?} before the last: buffered?");
    served.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_function_timeout_before_the_first_byte_is_a_502() {
    let function = lambda_stream_emulator::FunctionConfig::new("late").timeout(Duration::from_secs(3));
    let emulator = builder("late").function(function).api_gateway(ApiGatewayConfig::default()).build().await.unwrap();
    let url = emulator.api_gateway_url().unwrap();
    let served = runtime(&emulator)
        .spawn(vec![vec![Step::Pause(Duration::from_secs(10)), Step::post_error(&ErrorDiagnostic::new("X", "y"))]]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(message_of(response).await, "Internal server error");
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert_eq!(record.error().unwrap().error_type, "Sandbox.Timeout");
    served.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_cuts_a_silent_stream() {
    let function = lambda_stream_emulator::FunctionConfig::new("idle").timeout(Duration::from_secs(600));
    let config = ApiGatewayConfig::default().endpoint_type(EndpointType::Edge);
    assert_eq!(config.idle_timeout, Duration::from_secs(30));
    let emulator = builder("idle").function(function).api_gateway(config).build().await.unwrap();
    let url = emulator.api_gateway_url().unwrap();
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(PRELUDE_CT),
        Step::Chunk(Prelude::with_status(200).encode()),
        Step::chunk("a"),
        Step::Pause(Duration::from_secs(20)),
        Step::chunk("b"),
        Step::Pause(Duration::from_secs(45)),
        Step::chunk("never"),
        Step::End,
    ]]);
    let mut response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"a");
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"b", "20 s of silence is under the timeout");
    assert!(response.chunk().await.is_err(), "45 s of silence is over the 30 s edge idle timeout");
    let record = emulator
        .recorder()
        .wait_until(WAIT, "the cut", |r| r.invocations().pop().filter(|rec| rec.client.end.is_some()))
        .await
        .unwrap();
    let (cut_at, end) = record.client.end.clone().unwrap();
    assert!(matches!(&end, ClientEnd::Aborted { reason } if reason.contains("idle timeout")), "{end:?}");
    let since_b = cut_at - record.client.chunks.last().unwrap().at;
    assert!(
        since_b >= Duration::from_secs(30) && since_b < Duration::from_millis(30_500),
        "cut {since_b:?} after the last chunk"
    );
    drop(served);
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_before_the_head_is_a_504() {
    let function = lambda_stream_emulator::FunctionConfig::new("slowstart").timeout(Duration::from_secs(600));
    let config = ApiGatewayConfig::default().idle_timeout(Duration::from_secs(30));
    let emulator = builder("slowstart").function(function).api_gateway(config).build().await.unwrap();
    let url = emulator.api_gateway_url().unwrap();
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(PRELUDE_CT),
        Step::Pause(Duration::from_secs(40)),
        Step::Chunk(Prelude::with_status(200).encode()),
        Step::End,
    ]]);
    let started = tokio::time::Instant::now();
    let response = client().get(format!("{url}/")).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 504);
    assert_eq!(message_of(response).await, "Endpoint request timed out");
    assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");
    drop(served);
}

#[tokio::test(start_paused = true)]
async fn the_integration_timeout_ends_even_a_lively_stream() {
    let function = lambda_stream_emulator::FunctionConfig::new("long").timeout(Duration::from_secs(900));
    let config = ApiGatewayConfig::default().integration_timeout(Duration::from_secs(10));
    let emulator = builder("long").function(function).api_gateway(config).build().await.unwrap();
    let url = emulator.api_gateway_url().unwrap();
    let mut script = vec![Step::streaming(PRELUDE_CT), Step::Chunk(Prelude::with_status(200).encode())];
    for i in 0..20 {
        script.push(Step::chunk(format!("tick {i}\n")));
        script.push(Step::Pause(Duration::from_secs(2)));
    }
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let started = tokio::time::Instant::now();
    let mut response = client().get(format!("{url}/")).send().await.unwrap();
    let mut ticks = 0;
    let cut = loop {
        match response.chunk().await {
            Ok(Some(_)) => ticks += 1,
            Ok(None) => panic!("the stream must not end cleanly"),
            Err(_) => break started.elapsed(),
        }
    };
    assert!((4..=6).contains(&ticks), "{ticks} ticks in 10 s");
    assert!(cut >= Duration::from_secs(10) && cut < Duration::from_millis(10_500), "{cut:?}");
    drop(served);
    // The cut names the clock that ran out: the integration timeout, not the (later) idle one.
    // (Recorded before the client saw the cut; the runtime's leg is still streaming.)
    let end = emulator.recorder().invocations().remove(0).client.end.map(|e| e.1);
    let expected = "API Gateway closed the stream: the integration timeout of 10.0 s passed";
    assert!(matches!(&end, Some(ClientEnd::Aborted { reason }) if reason == expected), "{end:?}");
}

#[tokio::test]
async fn a_declared_content_length_is_kept_and_held_to() {
    let (emulator, url) = start("length", ApiGatewayConfig::default()).await;
    let rt = runtime(&emulator);
    let exact = prelude_and(&Prelude::with_status(200).header("Content-Length", "5"), b"12345");
    let served = rt.spawn(vec![split(&exact, &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.headers()["content-length"], "5", "API Gateway keeps the function's Content-Length");
    assert!(response.headers().get("transfer-encoding").is_none());
    assert_eq!(response.text().await.unwrap(), "12345");
    served.await.unwrap().unwrap();
    // Exactly what was declared: a completed answer, not one cut "0 bytes short".
    let exact = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert_eq!(exact.client.end.map(|e| e.1), Some(ClientEnd::Completed));

    // Longer than declared: the client gets exactly what it was promised, the rest is dropped.
    let long = prelude_and(&Prelude::with_status(200).header("Content-Length", "5"), b"123456789");
    let served = rt.spawn(vec![split(&long, &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"12345");
    served.await.unwrap().unwrap();
    // Shorter than declared: the client sees an incomplete body.
    let short = prelude_and(&Prelude::with_status(200).header("Content-Length", "5"), b"12");
    let served = rt.spawn(vec![split(&short, &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    let got = response.bytes().await;
    assert!(got.is_err(), "the client must see an incomplete body, got {got:?}");
    served.await.unwrap().unwrap();
    // Declared, and the function ended without a byte: the head, then a cut transfer.
    let none = prelude_and(&Prelude::with_status(200).header("Content-Length", "5"), b"");
    let served = rt.spawn(vec![split(&none, &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!((response.status().as_u16(), &response.headers()["content-length"]), (200, &"5".parse().unwrap()));
    let got = response.bytes().await;
    assert!(got.is_err(), "the client must see an incomplete body, got {got:?}");
    served.await.unwrap().unwrap();
    let records = emulator.recorder().wait_for_completed(4, WAIT).await.unwrap();
    let reasons: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.client.end {
            Some((_, ClientEnd::Aborted { reason })) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert!(reasons.iter().any(|r| r.contains("more than the Content-Length")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("short of the Content-Length")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("ended 5 bytes short")), "{reasons:?}");
    let chunked = prelude_and(&Prelude::with_status(200).header("Content-Length", "five"), b"abc");
    let served = rt.spawn(vec![split(&chunked, &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.headers()["transfer-encoding"], "chunked", "an unusable length is dropped");
    assert_eq!(response.text().await.unwrap(), "abc");
    served.await.unwrap().unwrap();
}

/// Once a declared `Content-Length` has gone out in full the client's answer is over, and what the
/// function does next decides how the client leg is recorded: nothing more is a completed answer;
/// more bytes (in a later chunk, or with the prelude of a zero length) cut it as "more than the
/// Content-Length".
#[tokio::test]
async fn what_follows_a_declared_length_sent_in_full_decides_how_the_answer_ends() {
    let (emulator, url) = start("length-end", ApiGatewayConfig::default()).await;
    let rt = runtime(&emulator);
    let five = Prelude::with_status(200).header("Content-Length", "5");
    let ended = |response: &reqwest::Response| {
        let id = response.headers()[names::AMZN_REQUEST_ID].to_str().unwrap().to_owned();
        let recorder = emulator.recorder().clone();
        async move { recorder.wait_for(&id, WAIT).await.unwrap().client.end.unwrap().1 }
    };
    let more = |end: &ClientEnd| matches!(end, ClientEnd::Aborted { reason } if reason.contains("more than the Content-Length"));

    let served = rt.spawn(vec![split(&prelude_and(&five, b"12345"), &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    let end = ended(&response);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"12345");
    assert_eq!(end.await, ClientEnd::Completed, "exactly the declared length, then the end");
    served.await.unwrap().unwrap();

    // The rest comes in a chunk of its own, after the client has its five bytes.
    let script = vec![
        Step::streaming(PRELUDE_CT),
        Step::chunk(Bytes::from(prelude_and(&five, b"12345"))),
        Step::Pause(Duration::from_millis(100)),
        Step::chunk("6789"),
        Step::End,
    ];
    let served = rt.spawn(vec![script]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    let end = ended(&response);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"12345");
    let end = end.await;
    assert!(more(&end), "{end:?}");
    served.await.unwrap().unwrap();

    let zero = Prelude::with_status(200).header("Content-Length", "0");
    let served = rt.spawn(vec![split(&prelude_and(&zero, b"abc"), &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.headers()["content-length"], "0");
    let end = ended(&response);
    assert!(response.bytes().await.unwrap().is_empty());
    let end = end.await;
    assert!(more(&end), "{end:?}");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn head_requests_and_204_have_no_body() {
    let (emulator, url) = start("bodiless", ApiGatewayConfig::default()).await;
    let rt = runtime(&emulator);
    let served = rt.spawn(vec![split(&prelude_and(&Prelude::with_status(204).header("x-a", "1"), b"ignored"), &[])]);
    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["x-a"], "1");
    assert!(response.bytes().await.unwrap().is_empty());
    served.await.unwrap().unwrap();
    let served = rt.spawn(vec![split(&prelude_and(&Prelude::with_status(200), b"ignored"), &[])]);
    let response = client().head(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
    let (next, reply) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["httpMethod"], "HEAD");
    assert_eq!(reply.map(|a| a.status), Some(202), "the function's answer is still read whole");
    // Both answers ended with their head: completed, not one byte of the function's body sent.
    let records = emulator.recorder().wait_for_completed(2, WAIT).await.unwrap();
    let legs: Vec<_> =
        records.iter().map(|r| (r.client.status, r.client.bytes, r.client.end.clone().map(|e| e.1))).collect();
    assert_eq!(legs, [(Some(204), 0, Some(ClientEnd::Completed)), (Some(200), 0, Some(ClientEnd::Completed))]);
}

#[tokio::test(start_paused = true)]
async fn api_gateway_bandwidth_applies_after_lambdas() {
    // API Gateway's cap alone (Lambda's off), made small to see it.
    let limits = Limits {
        api_gateway_bandwidth: Some(Bandwidth { burst_bytes: 1000, bytes_per_second: 1000 }),
        ..Limits::default()
    };
    let emulator = builder("shaped").limits(limits).api_gateway(ApiGatewayConfig::default()).build().await.unwrap();
    let url = emulator.api_gateway_url().unwrap();
    let chunk = Bytes::from(vec![b's'; 1000]);
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(PRELUDE_CT),
        Step::Chunk(Prelude::with_status(200).encode()),
        Step::Chunk(chunk.clone()),
        Step::Chunk(chunk.clone()),
        Step::Chunk(chunk),
        Step::End,
    ]]);
    let body = client().get(format!("{url}/")).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 3000);
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let at: Vec<Duration> = record.client.chunks.iter().map(|c| c.at - record.client.chunks[0].at).collect();
    assert_eq!(at.len(), 3);
    assert!(at[1] >= Duration::from_millis(990) && at[1] < Duration::from_millis(1100), "{at:?}");
    assert!(at[2] >= Duration::from_millis(1990) && at[2] < Duration::from_millis(2100), "{at:?}");

    // The function URL of the same emulator is not shaped by API Gateway's cap.
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::Chunk(Bytes::from(vec![b'u'; 3000])),
        Step::End,
    ]]);
    let started = tokio::time::Instant::now();
    let body = client().get(format!("{}/", emulator.url())).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 3000);
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    served.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn aws_limits_through_api_gateway_follow_the_stricter_lambda_cap() {
    let emulator = builder("aws").aws_limits(true).api_gateway(ApiGatewayConfig::default()).build().await.unwrap();
    assert_eq!(emulator.limits().api_gateway_bandwidth, Some(Bandwidth::API_GATEWAY));
    assert_eq!(Bandwidth::API_GATEWAY.burst_bytes, 10 * 1024 * 1024);
    let url = emulator.api_gateway_url().unwrap();
    let mib = Bytes::from(vec![b'm'; 1024 * 1024]);
    let mut script = vec![Step::streaming(PRELUDE_CT), Step::Chunk(Prelude::with_status(200).encode())];
    script.extend((0..12).map(|_| Step::Chunk(mib.clone())));
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let body = client().get(format!("{url}/")).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 12 * 1024 * 1024);
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let first = record.client.chunks[0].at;
    let last = record.client.chunks.last().unwrap().at - first;
    // Lambda's 6 MiB burst, then 6 MiB at 2 MiB/s: three seconds (API Gateway's 10 MiB burst and
    // equal rate never bind behind it).
    assert!(last >= Duration::from_millis(2990) && last < Duration::from_millis(3300), "{last:?}");
}

#[tokio::test]
async fn iam_auth_checks_sigv4_for_execute_api() {
    let config = ApiGatewayConfig::default().auth(Auth::iam(KEY, SECRET));
    let (emulator, url) = start("iam", config).await;
    let addr = emulator.api_gateway_addr().unwrap();
    let unsigned = client().get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(message_of(unsigned).await, "Missing Authentication Token");
    let for_lambda =
        signed_for(addr, "lambda", "POST", "/prod/x", "{}", (KEY, SECRET), SystemTime::now(), Payload::Hashed);
    let refused = for_lambda.send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["x-amzn-errortype"], "InvalidSignatureException");
    assert!(message_of(refused).await.contains("execute-api"));
    let wrong_secret =
        signed_for(addr, "execute-api", "POST", "/prod/x", "{}", (KEY, "nope"), SystemTime::now(), Payload::Hashed);
    assert_eq!(wrong_secret.send().await.unwrap().status(), 403);

    let served = runtime(&emulator).spawn(vec![split(&prelude_and(&Prelude::with_status(200), b"signed"), &[])]);
    let ok =
        signed_for(addr, "execute-api", "POST", "/prod/x", "{}", (KEY, SECRET), SystemTime::now(), Payload::ContentSha);
    let response = ok.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "signed");
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["requestContext"]["identity"]["accessKey"], KEY);
    assert_eq!(emulator.recorder().invocations().len(), 1, "refused requests never reach the function");
}

#[tokio::test]
async fn a_required_api_key_must_be_given() {
    let (emulator, url) = start("key", ApiGatewayConfig::default().api_key("k-123")).await;
    for key in [None, Some("wrong")] {
        let mut request = client().get(format!("{url}/x"));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{key:?}");
        assert_eq!(response.headers()["x-amzn-errortype"], "ForbiddenException");
        assert_eq!(message_of(response).await, "Forbidden");
    }
    let served = runtime(&emulator).spawn(vec![split(&prelude_and(&Prelude::with_status(200), b"in"), &[])]);
    let response = client().get(format!("{url}/x")).header("x-api-key", "k-123").send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "in");
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["requestContext"]["identity"]["apiKey"], "k-123");
}

#[tokio::test]
async fn oversized_requests_get_api_gateways_and_lambdas_answers() {
    let (emulator, url) = start("sizes", ApiGatewayConfig::default()).await;
    // Over API Gateway's 10 MB: refused at the door.
    let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
    let response = client().post(format!("{url}/")).body(huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(message_of(response).await, "Request Too Long");
    // Under it, but the event is over Lambda's 6 MB request limit: Lambda refuses the call.
    let big = vec![b'y'; 7 * 1024 * 1024];
    let response = client().post(format!("{url}/")).body(big).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(message_of(response).await, "Internal server error");
    assert!(emulator.recorder().invocations().is_empty(), "neither reached the function");
    common::assert_healthy(&emulator).await;
}

/// Lambda's request limit is inclusive: an event of exactly the limit reaches the function, one
/// byte over is refused (API Gateway's 500). The event's size is measured first with the same
/// request; its fields are fixed-width (ids, times, and the Host header set here).
#[tokio::test]
async fn an_event_of_exactly_the_request_limit_reaches_the_function() {
    let answer = || vec![split(&prelude_and(&Prelude::with_status(200), b"ok"), &[])];
    let call = |url: String| client().post(format!("{url}/p")).header("host", "api.example").body("payload").send();
    let size = {
        let (emulator, url) = start("exact", ApiGatewayConfig::default()).await;
        let served = runtime(&emulator).spawn(answer());
        assert_eq!(call(url).await.unwrap().status(), 200);
        served.await.unwrap().unwrap().remove(0).0.body.len() as u64
    };
    for (limit, status) in [(size, 200), (size - 1, 500)] {
        let limits = Limits { max_request_bytes: limit, ..Limits::default() };
        let emulator = builder("exact").limits(limits).api_gateway(ApiGatewayConfig::default()).build().await.unwrap();
        let served = (status == 200).then(|| runtime(&emulator).spawn(answer()));
        let response = call(emulator.api_gateway_url().unwrap()).await.unwrap();
        assert_eq!(response.status(), status, "a limit of {limit} for an event of {size}");
        if let Some(served) = served {
            assert_eq!(served.await.unwrap().unwrap().remove(0).0.body.len() as u64, size, "the same event");
        }
    }
}

#[tokio::test]
async fn a_bad_stage_name_is_refused_at_build() {
    for stage in ["", "has space", "slash/y", &"s".repeat(129)] {
        let built = builder("stage").api_gateway(ApiGatewayConfig::new(stage)).build().await;
        assert!(built.is_err(), "{stage:?}");
    }
    assert!(builder("stage").build().await.unwrap().api_gateway_url().is_none(), "off unless asked for");
}

#[tokio::test]
async fn malformed_requests_get_answers_and_the_listener_keeps_serving() {
    let (emulator, url) = start("garbage", ApiGatewayConfig::default()).await;
    let addr = emulator.api_gateway_addr().unwrap();
    let broken_chunked =
        b"POST /prod/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n";
    let answer = common::raw_exchange(addr, broken_chunked).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("x-amz-apigw-id"), "{answer}");
    let short = b"POST /prod/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly this";
    let answer = common::raw_exchange(addr, short).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let not_http = b"\x00\x01\x02 nothing like HTTP\r\n\r\n";
    let _ = common::raw_exchange(addr, not_http).await;
    // Odd but valid paths reach the function, decoded as far as they decode.
    let served = runtime(&emulator).spawn(vec![split(&prelude_and(&Prelude::with_status(200), b"odd"), &[])]);
    let response = client().get(format!("{url}/%ff%zz//x")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "odd");
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["path"], "/%ff%zz//x");
    assert!(event["pathParameters"]["proxy"].as_str().unwrap().ends_with("%zz//x"));
    assert!(emulator.recorder().invocations().len() == 1, "the broken requests never reached the function");
}
