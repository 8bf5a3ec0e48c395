//! `Auth::Iam`: SigV4 requests signed with `aws-sigv4` (the SDKs' signer) are accepted, with the
//! body hashed or `x-amz-content-sha256` (including `UNSIGNED-PAYLOAD`); a missing or wrong
//! signature gets 403 with a message saying what is wrong.

mod common;

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use common::{builder, client, runtime};
use lambda_stream_emulator::{Auth, Emulator};
use lambda_stream_protocol::names;
use lambda_stream_test_support::scripted_runtime::Step;
use serde_json::Value;

const KEY: &str = "AKIDLOCALTEST";
const SECRET: &str = "local/secret/key";

async fn iam_emulator() -> Emulator {
    builder("secured").auth(Auth::iam(KEY, SECRET)).build().await.unwrap()
}

#[derive(Clone, Copy)]
enum Payload {
    /// The signer hashes the body; no `x-amz-content-sha256` header.
    Hashed,
    /// `x-amz-content-sha256` with the body's hash, signed.
    ContentSha,
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`, signed.
    Unsigned,
}

/// A request to `path` signed for service `lambda`; returns it ready to send.
fn signed(
    emulator: &Emulator,
    method: &str,
    path: &str,
    body: &'static str,
    (key, secret): (&str, &str),
    at: SystemTime,
    payload: Payload,
) -> reqwest::RequestBuilder {
    let host = emulator.local_addr().to_string();
    let url = format!("http://{host}{path}");
    let identity = Credentials::new(key, secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = match payload {
        Payload::Hashed => PayloadChecksumKind::NoHeader,
        Payload::ContentSha | Payload::Unsigned => PayloadChecksumKind::XAmzSha256,
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [("host", host.as_str()), ("content-type", "application/json")];
    let signable_body = match payload {
        Payload::Unsigned => SignableBody::UnsignedPayload,
        _ => SignableBody::Bytes(body.as_bytes()),
    };
    let request = SignableRequest::new(method, url.clone(), headers.into_iter(), signable_body).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut builder =
        client().request(method.parse().unwrap(), url).header("content-type", "application/json").body(body);
    for (name, value) in instructions.headers() {
        builder = builder.header(name, value);
    }
    builder
}

async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let error_type =
        response.headers().get(names::AMZN_ERROR_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    (status, error_type, body["Message"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn correctly_signed_requests_are_accepted() {
    let emulator = iam_emulator().await;
    let answer = || vec![Step::streaming("text/plain"), Step::chunk("signed ok"), Step::End];
    let served = runtime(&emulator).spawn(vec![answer(), answer(), answer()]);
    let now = SystemTime::now();
    for payload in [Payload::Hashed, Payload::ContentSha, Payload::Unsigned] {
        let response =
            signed(&emulator, "POST", "/path?q=1&a=b", "{\"x\":1}", (KEY, SECRET), now, payload).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "signed ok");
    }
    let served = served.await.unwrap().unwrap();
    let event: Value = serde_json::from_slice(&served[0].0.body).unwrap();
    assert_eq!(event["requestContext"]["authorizer"]["iam"]["accessKey"], KEY);
}

#[tokio::test]
async fn missing_or_wrong_signatures_are_refused_with_a_reason() {
    let emulator = iam_emulator().await;
    let url = format!("{}/path", emulator.url());
    let now = SystemTime::now();

    let (status, error_type, message) = refusal(client().get(&url).send().await.unwrap()).await;
    assert_eq!((status, error_type.as_str()), (403, "MissingAuthenticationTokenException"));
    assert!(message.contains("missing Authorization header"), "{message}");

    let response = signed(&emulator, "POST", "/path", "{}", ("AKIDSOMEONEELSE", SECRET), now, Payload::Hashed);
    let (status, error_type, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!((status, error_type.as_str()), (403, "UnrecognizedClientException"));
    assert!(message.contains("unknown access key"), "{message}");

    let response = signed(&emulator, "POST", "/path", "{}", (KEY, "not-the-secret"), now, Payload::Hashed);
    let (status, _, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(message.contains("signature mismatch"), "{message}");

    // Signed for one body, sent with another.
    let response =
        signed(&emulator, "POST", "/path", "{}", (KEY, SECRET), now, Payload::Hashed).body("{\"tampered\":1}");
    let (status, _, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(message.contains("signature mismatch"), "{message}");

    let hour_ago = now - Duration::from_secs(3600);
    let response = signed(&emulator, "POST", "/path", "{}", (KEY, SECRET), hour_ago, Payload::Hashed);
    let (status, _, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(message.contains("expired"), "{message}");

    assert!(emulator.recorder().invocations().is_empty(), "no refused request reached the function");
}

#[tokio::test]
async fn the_invoke_apis_are_checked_too() {
    let emulator = iam_emulator().await;
    let path = "/2021-11-15/functions/secured/response-streaming-invocations";
    let unsigned = client().post(format!("{}{path}", emulator.url())).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("x"), Step::End]]);
    let response =
        signed(&emulator, "POST", path, "{}", (KEY, SECRET), SystemTime::now(), Payload::Hashed).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], names::EVENT_STREAM_CONTENT_TYPE);
    served.await.unwrap().unwrap();
}
