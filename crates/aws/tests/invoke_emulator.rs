//! `invoke`'s two clients against our emulator (`lambda-stream-emulator`, function URL with
//! `Auth::iam`), offline: SigV4 is verified by the emulator with the SDKs' own signer, chunks must
//! arrive one by one as the runtime writes them, the prelude must become status and headers, and
//! a wrong key must get 403. The REST API client (`FunctionUrlClient::api_gateway`, what `invoke
//! --via api-gateway` uses) is checked the same way against the emulator's API Gateway front end
//! with IAM auth, which verifies SigV4 for service `execute-api`.

use std::time::Duration;

use aws_credential_types::Credentials;
use lambda_stream_aws::{AwsConfig, FunctionUrlClient, IwrsEvent, UrlRequest, invoke_with_response_stream};
use lambda_stream_emulator::{ApiGatewayConfig, Auth, Emulator, FunctionConfig};
use lambda_stream_fixtures::scripted_runtime::{ScriptedRuntime, Step};
use lambda_stream_protocol::{Prelude, env, names};

const KEY: &str = "AKIDLAMBDASTREAM";
const SECRET: &str = "emulator-secret";
const PAUSE: Duration = Duration::from_millis(400);

async fn emulator() -> Emulator {
    Emulator::builder()
        .function(FunctionConfig::new("numbers"))
        .bind("127.0.0.1:0")
        .auth(Auth::iam(KEY, SECRET))
        .build()
        .await
        .expect("emulator starts")
}

/// A runtime answering once: prelude (status 201, a header), then three chunks with pauses.
fn numbers_script() -> Vec<Step> {
    let prelude = Prelude::with_status(201).header("x-numbers", "three").header("content-type", "text/plain");
    vec![
        Step::streaming(names::HTTP_INTEGRATION_CONTENT_TYPE),
        Step::chunk(prelude.encode()),
        Step::chunk("1\n"),
        Step::Pause(PAUSE),
        Step::chunk("2\n"),
        Step::Pause(PAUSE),
        Step::chunk("3\n"),
        Step::End,
    ]
}

fn url_client(secret: &str) -> FunctionUrlClient {
    FunctionUrlClient::new(Credentials::new(KEY, secret, None, None, "test"), "us-east-1").unwrap()
}

#[tokio::test]
async fn signed_function_url_request_streams_chunks_with_prelude_headers() {
    let emulator = emulator().await;
    let served = ScriptedRuntime::new(emulator.runtime_api_addr()).spawn(vec![numbers_script()]);
    let request = UrlRequest::post_json(format!("{}/numbers?n=3", emulator.url()), r#"{"count":3}"#);
    let mut response = url_client(SECRET).send(&request).await.expect("signed request accepted");
    assert_eq!(response.status, 201, "status from the prelude");
    assert_eq!(response.headers.get("x-numbers").unwrap(), "three");
    assert_eq!(response.headers.get("content-type").unwrap(), "text/plain");

    let mut chunks = Vec::new();
    while let Some(chunk) = response.next_chunk().await {
        chunks.push(chunk.expect("body chunk"));
    }
    let body: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.to_vec()).collect();
    assert_eq!(body, b"1\n2\n3\n", "the prelude is stripped, the payload intact");
    let ttfb = response.ttfb().expect("a first byte arrived");
    let last = chunks.last().unwrap().at;
    // Streaming, not buffering: the first byte came well before the last (two pauses later; half
    // that span is the bound, generous for a loaded machine, and a buffered body gives ~0).
    assert!(last - ttfb >= PAUSE, "ttfb {ttfb:?}, last chunk {last:?}: buffered?");
    assert!(chunks.len() >= 3, "one chunk per write, got {}", chunks.len());

    let answers = served.await.unwrap().expect("runtime script");
    let event: serde_json::Value = serde_json::from_slice(&answers[0].0.body).unwrap();
    assert_eq!(event["body"], r#"{"count":3}"#, "the signed body reached the function");
    assert_eq!(event["rawQueryString"], "n=3");
    assert_eq!(event["requestContext"]["authorizer"]["iam"]["accessKey"], KEY, "caller identified by its key");
}

#[tokio::test]
async fn a_wrong_secret_gets_403_and_the_function_is_not_invoked() {
    let emulator = emulator().await;
    let request = UrlRequest::post_json(format!("{}/", emulator.url()), "{}");
    let response = url_client("not-the-secret").send(&request).await.expect("an answer");
    assert_eq!(response.status, 403);
    assert_eq!(response.headers.get(names::AMZN_ERROR_TYPE).unwrap(), "InvalidSignatureException");
    let body = response.collect().await.unwrap();
    let text: String = body.iter().map(|c| String::from_utf8_lossy(&c.bytes).into_owned()).collect();
    assert!(text.contains("signature"), "{text}");
    assert!(emulator.recorder().invocations().is_empty(), "no invocation for a refused request");
}

async fn sdk_clients(emulator: &Emulator, secret: &str) -> lambda_stream_aws::Clients {
    let mut config = AwsConfig::local(emulator.url(), "us-east-1");
    config.credentials = Some(Credentials::new(KEY, secret, None, None, "test"));
    config.connect().await.expect("clients")
}

#[tokio::test]
async fn invoke_with_response_stream_delivers_each_chunk_as_it_arrives() {
    let emulator = emulator().await;
    let served = ScriptedRuntime::new(emulator.runtime_api_addr()).spawn(vec![numbers_script()]);
    let clients = sdk_clients(&emulator, SECRET).await;
    let mut response = invoke_with_response_stream(&clients.lambda, "numbers", r#"{"count":3}"#).await.expect("IWRS");
    assert_eq!(response.status, 200);
    assert_eq!(response.executed_version.as_deref(), Some(env::LATEST_VERSION));
    let mut payloads = Vec::new();
    let mut completed = None;
    while let Some(event) = response.next_event().await {
        match event.expect("event") {
            IwrsEvent::Chunk(chunk) => payloads.push(chunk),
            IwrsEvent::Complete { error_code, error_details, .. } => completed = Some((error_code, error_details)),
        }
    }
    assert_eq!(completed, Some((None, None)), "InvokeComplete without error");
    // IWRS callers get the prelude bytes unstripped in the first PayloadChunk (spec section 1).
    let prelude = Prelude::with_status(201).header("x-numbers", "three").header("content-type", "text/plain");
    assert_eq!(payloads[0].bytes, prelude.encode());
    let rest: Vec<&[u8]> = payloads[1..].iter().map(|c| c.bytes.as_ref()).collect();
    assert_eq!(rest, [&b"1\n"[..], b"2\n", b"3\n"], "one PayloadChunk per runtime chunk");
    let gap = payloads[3].at - payloads[1].at;
    assert!(gap >= PAUSE, "chunks {gap:?} apart: buffered?");
    assert_eq!(response.ttfb(), Some(payloads[0].at));
    served.await.unwrap().expect("runtime script");
}

#[tokio::test]
async fn invoke_with_response_stream_with_a_wrong_secret_is_refused() {
    let emulator = emulator().await;
    let clients = sdk_clients(&emulator, "not-the-secret").await;
    let err = invoke_with_response_stream(&clients.lambda, "numbers", "{}").await.unwrap_err();
    assert!(err.to_string().contains("InvalidSignatureException"), "{err}");
    assert!(emulator.recorder().invocations().is_empty());
}

async fn emulator_with_rest_api() -> Emulator {
    Emulator::builder()
        .function(FunctionConfig::new("numbers"))
        .bind("127.0.0.1:0")
        .api_gateway(ApiGatewayConfig::new("v1").auth(Auth::iam(KEY, SECRET)))
        .build()
        .await
        .expect("emulator with a REST API starts")
}

fn rest_api_client(secret: &str, iam: bool) -> FunctionUrlClient {
    FunctionUrlClient::api_gateway(Credentials::new(KEY, secret, None, None, "test"), "us-east-1", iam).unwrap()
}

#[tokio::test]
async fn the_rest_api_client_signs_for_execute_api_and_reads_chunks_as_they_arrive() {
    let emulator = emulator_with_rest_api().await;
    let api = emulator.api_gateway_url().expect("the REST API listener");
    let served = ScriptedRuntime::new(emulator.runtime_api_addr()).spawn(vec![numbers_script()]);
    let request = UrlRequest::post_json(format!("{api}/numbers?n=3"), r#"{"count":3}"#);
    let mut response = rest_api_client(SECRET, true).send(&request).await.expect("signed request accepted");
    assert_eq!(response.status, 201, "status from the prelude");
    assert_eq!(response.headers.get("x-numbers").unwrap(), "three");
    assert!(response.headers.contains_key(names::AMZ_APIGW_ID), "API Gateway's id: {:?}", response.headers);

    let mut chunks = Vec::new();
    while let Some(chunk) = response.next_chunk().await {
        chunks.push(chunk.expect("body chunk"));
    }
    let body: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.to_vec()).collect();
    assert_eq!(body, b"1\n2\n3\n", "the prelude is stripped, the payload intact");
    let ttfb = response.ttfb().expect("a first byte arrived");
    let last = chunks.last().unwrap().at;
    assert!(last - ttfb >= PAUSE, "ttfb {ttfb:?}, last chunk {last:?}: buffered?");

    let answers = served.await.unwrap().expect("runtime script");
    let event: serde_json::Value = serde_json::from_slice(&answers[0].0.body).unwrap();
    assert_eq!(event["resource"], "/{proxy+}", "the REST proxy event (payload 1.0)");
    assert_eq!(event["path"], "/numbers");
    assert_eq!(event["queryStringParameters"]["n"], "3");
    assert_eq!(event["body"], r#"{"count":3}"#, "the signed body reached the function");
    assert_eq!(event["requestContext"]["identity"]["accessKey"], KEY, "caller identified by its key");
}

#[tokio::test]
async fn the_rest_api_refuses_a_wrong_secret_and_an_unsigned_request() {
    let emulator = emulator_with_rest_api().await;
    let api = emulator.api_gateway_url().expect("the REST API listener");
    let request = UrlRequest::post_json(format!("{api}/numbers"), "{}");
    for (client, error_type) in [
        (rest_api_client("not-the-secret", true), "InvalidSignatureException"),
        (rest_api_client(SECRET, false), "MissingAuthenticationTokenException"),
    ] {
        let response = client.send(&request).await.expect("an answer");
        assert_eq!(response.status, 403, "{error_type}");
        assert_eq!(response.headers.get(names::AMZN_ERROR_TYPE).unwrap(), error_type);
    }
    assert!(emulator.recorder().invocations().is_empty(), "no invocation for a refused request");
}
