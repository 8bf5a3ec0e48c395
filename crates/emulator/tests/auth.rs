//! `Auth::Iam`: SigV4 requests signed with `aws-sigv4` (the SDKs' signer) are accepted, with the
//! body hashed or `x-amz-content-sha256` carrying the body's hash; `UNSIGNED-PAYLOAD` and a
//! missing or wrong signature get 403 with a message saying what is wrong.

mod common;

use std::time::{Duration, SystemTime};

use common::{Payload, builder, client, runtime, signed};
use lambda_stream_emulator::{Auth, Emulator};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::names;
use serde_json::Value;

use common::{KEY, SECRET};

async fn iam_emulator() -> Emulator {
    builder("secured").auth(Auth::iam(KEY, SECRET)).build().await.unwrap()
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
    let served = runtime(&emulator).spawn(vec![answer(), answer()]);
    let now = SystemTime::now();
    for payload in [Payload::Hashed, Payload::ContentSha] {
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

#[tokio::test]
async fn an_ambiguous_authorization_header_is_refused() {
    // Found by the `sigv4` fuzz target: a header with a second SignedHeaders= (or any part that
    // is not one of the three) was read by taking the last one.
    let emulator = iam_emulator().await;
    let response = signed(&emulator, "POST", "/path", "{}", (KEY, SECRET), SystemTime::now(), Payload::Hashed);
    let request = response.build().unwrap();
    let authorization = request.headers()["authorization"].to_str().unwrap().to_owned();
    for tampered in [
        format!("{authorization}, SignedHeaders=host"),
        authorization.replacen(", Signature=", ", Extra=1, Signature=", 1),
    ] {
        let mut again = request.try_clone().unwrap();
        again.headers_mut().insert("authorization", tampered.parse().unwrap());
        let (status, error_type, message) = refusal(client().execute(again).await.unwrap()).await;
        assert_eq!((status, error_type.as_str()), (403, "IncompleteSignatureException"), "{tampered}");
        assert!(message.contains("Authorization header"), "{message}");
    }
    assert!(emulator.recorder().invocations().is_empty());
}
