//! Every way a SigV4 signature can fail with `Auth::Iam`: each is a 403 with the error type AWS
//! uses for it in `x-amzn-errortype` and a message that says what is wrong, nothing reaches the
//! function, and a correctly signed request still goes through.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::HeaderValue;
use lambda_stream_emulator::{Auth, Emulator};
use sha2::{Digest, Sha256};

use crate::common::{KEY, Payload, SECRET, builder, client, runtime, signed};
use crate::{aws_refusal, iwrs_url, message, ok_script, raw_answer};

const BODY: &str = "{\"n\":1}";

async fn iam() -> Emulator {
    builder("f").auth(Auth::iam(KEY, SECRET)).build().await.expect("emulator starts")
}

/// A `POST {path}` with [`BODY`], signed for `service` with `(key, secret)` at `at`, signing
/// `host`, `content-type`, `x-amz-date` and `extra`.
fn sign_request(
    emulator: &Emulator,
    path: &str,
    (key, secret): (&str, &str),
    at: SystemTime,
    service: &str,
    extra: &[(&str, &str)],
) -> reqwest::Request {
    let host = emulator.local_addr().to_string();
    let url = format!("http://{host}{path}");
    let identity = Credentials::new(key, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![("host", host.as_str()), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let request =
        SignableRequest::new("POST", url.clone(), headers.iter().copied(), SignableBody::Bytes(BODY.as_bytes()))
            .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut builder = client().post(url).header("content-type", "application/json").body(BODY);
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    for (name, value) in instructions.headers() {
        builder = builder.header(name, value);
    }
    builder.build().unwrap()
}

/// A request signed correctly, now.
fn good(emulator: &Emulator, path: &str) -> reqwest::Request {
    sign_request(emulator, path, (KEY, SECRET), SystemTime::now(), "lambda", &[])
}

/// The `Authorization` value of `request`.
fn authorization(request: &reqwest::Request) -> String {
    request.headers()["authorization"].to_str().unwrap().to_owned()
}

/// Replaces (or with `None` removes) a header.
fn set(mut request: reqwest::Request, name: &'static str, value: Option<&str>) -> reqwest::Request {
    match value {
        Some(value) => {
            request.headers_mut().insert(name, HeaderValue::from_str(value).unwrap());
        }
        None => {
            request.headers_mut().remove(name);
        }
    }
    request
}

/// Sends `request` and asserts a 403 with `error_type` and a message containing `fragment`; then
/// that nothing reached the function and a signed request is served.
async fn assert_refused(emulator: &Emulator, request: reqwest::Request, error_type: &str, fragment: &str) {
    let response = client().execute(request).await.unwrap();
    let (status, got_type, body) = aws_refusal(response).await;
    assert_eq!((status, got_type.as_str()), (403, error_type), "{body}");
    assert!(message(&body).contains(fragment), "{:?} lacks {fragment:?}", message(&body));
    assert!(emulator.recorder().invocations().is_empty(), "nothing reached the function");
    assert_signed_healthy(emulator).await;
}

/// [`crate::common::assert_healthy`] for an emulator that requires signatures.
async fn assert_signed_healthy(emulator: &Emulator) {
    let served = runtime(emulator).spawn(vec![ok_script("signed and served")]);
    let response = signed(emulator, "GET", "/health", "", (KEY, SECRET), SystemTime::now(), Payload::Hashed);
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "signed and served");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn client_sigv4_missing_authorization() {
    let emulator = iam().await;
    let request = set(good(&emulator, "/x"), "authorization", None);
    let text = "missing Authorization header: this emulator requires SigV4-signed requests (auth iam)";
    assert_refused(&emulator, request, "MissingAuthenticationTokenException", text).await;
}

#[tokio::test]
async fn client_sigv4_other_algorithm() {
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = authorization(&request).replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    let request = set(request, "authorization", Some(&value));
    let text = "Authorization header must use the AWS4-HMAC-SHA256 algorithm";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

/// Drops the `Authorization` part that starts with `part`.
fn without_part(request: reqwest::Request, part: &str) -> reqwest::Request {
    let value = authorization(&request);
    let (algorithm, rest) = value.split_once(' ').unwrap();
    let kept: Vec<&str> = rest.split(", ").filter(|p| !p.starts_with(part)).collect();
    let value = format!("{algorithm} {}", kept.join(", "));
    set(request, "authorization", Some(&value))
}

#[tokio::test]
async fn client_sigv4_authorization_without_credential() {
    let emulator = iam().await;
    let request = without_part(good(&emulator, "/x"), "Credential=");
    assert_refused(&emulator, request, "IncompleteSignatureException", "Authorization header lacks Credential=").await;
}

#[tokio::test]
async fn client_sigv4_authorization_without_signed_headers() {
    let emulator = iam().await;
    let request = without_part(good(&emulator, "/x"), "SignedHeaders=");
    let text = "Authorization header lacks SignedHeaders=";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_authorization_without_signature() {
    let emulator = iam().await;
    let request = without_part(good(&emulator, "/x"), "Signature=");
    assert_refused(&emulator, request, "IncompleteSignatureException", "Authorization header lacks Signature=").await;
}

#[tokio::test]
async fn client_sigv4_authorization_with_a_part_twice() {
    // Ambiguous: which `SignedHeaders=` would count?
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = format!("{}, SignedHeaders=host", authorization(&request));
    let request = set(request, "authorization", Some(&value));
    let text = "Authorization header names SignedHeaders more than once";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_authorization_with_an_unknown_part() {
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = format!("{}, Extra=1", authorization(&request));
    let request = set(request, "authorization", Some(&value));
    let text = "Authorization header has a part that is not Credential=, SignedHeaders= or Signature=: \"Extra=1\"";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_credential_scope_with_missing_parts() {
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = authorization(&request).replace("/aws4_request", "");
    let request = set(request, "authorization", Some(&value));
    let text = "is not KEY/DATE/REGION/SERVICE/aws4_request";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_credential_scope_of_another_day() {
    // The signature is still valid: the signer takes its day from x-amz-date, not from the scope.
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = authorization(&request);
    let day = value.split("Credential=").nth(1).and_then(|c| c.split('/').nth(1)).expect("a dated scope").to_owned();
    let value = value.replacen(&format!("/{day}/"), "/19991231/", 1);
    let request = set(request, "authorization", Some(&value));
    let text = format!("the credential scope's date \"19991231\" is not the day of x-amz-date {day}T");
    assert_refused(&emulator, request, "InvalidSignatureException", &text).await;
}

#[tokio::test]
async fn client_sigv4_unknown_access_key() {
    let emulator = iam().await;
    let request = sign_request(&emulator, "/x", ("AKIDSOMEONEELSE", SECRET), SystemTime::now(), "lambda", &[]);
    let text = "unknown access key \"AKIDSOMEONEELSE\": the emulator accepts only its configured key";
    assert_refused(&emulator, request, "UnrecognizedClientException", text).await;
}

#[tokio::test]
async fn client_sigv4_wrong_secret() {
    let emulator = iam().await;
    let request = sign_request(&emulator, "/x", (KEY, "not-the-secret"), SystemTime::now(), "lambda", &[]);
    let text = "signature mismatch: the request signature we calculated does not match the signature you provided";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_signature_that_is_not_hex() {
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let value = authorization(&request);
    let value = format!("{}Signature=not-hex-at-all", &value[..value.find("Signature=").unwrap()]);
    let request = set(request, "authorization", Some(&value));
    assert_refused(&emulator, request, "InvalidSignatureException", "signature mismatch").await;
}

#[tokio::test]
async fn client_sigv4_signed_for_another_service() {
    let emulator = iam().await;
    let request = sign_request(&emulator, "/x", (KEY, SECRET), SystemTime::now(), "s3", &[]);
    let text = "credential scope names service \"s3\"; this endpoint is signed for \"lambda\"";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_missing_x_amz_date() {
    let emulator = iam().await;
    let request = set(good(&emulator, "/x"), "x-amz-date", None);
    assert_refused(&emulator, request, "IncompleteSignatureException", "missing x-amz-date").await;
}

#[tokio::test]
async fn client_sigv4_x_amz_date_in_another_format() {
    let emulator = iam().await;
    let request = set(good(&emulator, "/x"), "x-amz-date", Some("2025-07-15T10:36:51Z"));
    let text = "x-amz-date \"2025-07-15T10:36:51Z\" is not YYYYMMDDTHHMMSSZ";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_signature_expired() {
    let emulator = iam().await;
    let at = SystemTime::now() - Duration::from_secs(20 * 60);
    let request = sign_request(&emulator, "/x", (KEY, SECRET), at, "lambda", &[]);
    let text = "is more than 15 minutes from the emulator's clock";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_signed_in_the_future() {
    let emulator = iam().await;
    let at = SystemTime::now() + Duration::from_secs(20 * 60);
    let request = sign_request(&emulator, "/x", (KEY, SECRET), at, "lambda", &[]);
    let text = "signature expired: x-amz-date";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_clock_skew_within_15_minutes_is_accepted() {
    let emulator = iam().await;
    let served = runtime(&emulator).spawn(vec![ok_script("late"), ok_script("early")]);
    for skew in [-14 * 60i64, 14 * 60] {
        let at = if skew < 0 {
            SystemTime::now() - Duration::from_secs(skew.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(skew as u64)
        };
        let request = sign_request(&emulator, "/x", (KEY, SECRET), at, "lambda", &[]);
        let response = client().execute(request).await.unwrap();
        assert_eq!(response.status(), 200, "skew {skew} s");
        response.bytes().await.unwrap();
    }
    served.await.unwrap().unwrap();
    assert_signed_healthy(&emulator).await;
}

#[tokio::test]
async fn client_sigv4_signed_header_missing_from_the_request() {
    let emulator = iam().await;
    let request = sign_request(&emulator, "/x", (KEY, SECRET), SystemTime::now(), "lambda", &[("x-custom", "1")]);
    let request = set(request, "x-custom", None);
    let text = "signed header \"x-custom\" is not in the request";
    assert_refused(&emulator, request, "IncompleteSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_signed_header_value_beyond_ascii() {
    let emulator = iam().await;
    let mut request =
        sign_request(&emulator, "/x", (KEY, SECRET), SystemTime::now(), "lambda", &[("x-custom", "cafe")]);
    request.headers_mut().insert("x-custom", HeaderValue::from_bytes(b"caf\xe9").unwrap());
    let text = "signed header \"x-custom\" has a value that is not visible ASCII";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_path_changed_after_signing() {
    let emulator = iam().await;
    let mut request = good(&emulator, "/signed");
    request.url_mut().set_path("/other");
    assert_refused(&emulator, request, "InvalidSignatureException", "signature mismatch").await;
}

#[tokio::test]
async fn client_sigv4_query_changed_after_signing() {
    let emulator = iam().await;
    let mut request = good(&emulator, "/x?amount=1");
    request.url_mut().set_query(Some("amount=1000"));
    assert_refused(&emulator, request, "InvalidSignatureException", "signature mismatch").await;
}

#[tokio::test]
async fn client_sigv4_signed_header_changed_after_signing() {
    let emulator = iam().await;
    let request = set(good(&emulator, "/x"), "content-type", Some("text/plain"));
    assert_refused(&emulator, request, "InvalidSignatureException", "signature mismatch").await;
}

#[tokio::test]
async fn client_sigv4_streaming_payload_marker() {
    let emulator = iam().await;
    let marker = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    let request = set(good(&emulator, "/x"), "x-amz-content-sha256", Some(marker));
    let text = "x-amz-content-sha256 \"STREAMING-AWS4-HMAC-SHA256-PAYLOAD\" is not accepted: sign the payload";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_content_sha_not_visible_ascii() {
    // Found by the `sigv4` fuzz target in CI: an unsigned claim whose value failed the string
    // conversion was read as absent, so a claim that is not the body's hash was accepted.
    let emulator = iam().await;
    let mut request = good(&emulator, "/x");
    request.headers_mut().insert("x-amz-content-sha256", HeaderValue::from_bytes(b"\xe9").unwrap());
    let text = "x-amz-content-sha256 is not visible ASCII: send the body's SHA-256 in hex";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_content_sha_sent_twice() {
    // The body's own hash, then a second claim: only the first was ever compared.
    let emulator = iam().await;
    let hash: String = Sha256::digest(BODY.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let mut request = set(good(&emulator, "/x"), "x-amz-content-sha256", Some(&hash));
    request.headers_mut().append("x-amz-content-sha256", HeaderValue::from_static("00"));
    let text = "x-amz-content-sha256 is sent more than once: send it once";
    assert_refused(&emulator, request, "InvalidSignatureException", text).await;
}

#[tokio::test]
async fn client_sigv4_request_without_host() {
    // HTTP/1.0 allows a request without Host; the signature needs it.
    let emulator = iam().await;
    let request = good(&emulator, "/x");
    let raw = format!(
        "POST /x HTTP/1.0\r\nx-amz-date: {}\r\nauthorization: {}\r\ncontent-length: 0\r\n\r\n",
        request.headers()["x-amz-date"].to_str().unwrap(),
        authorization(&request)
    );
    let answer = raw_answer(emulator.local_addr(), raw.as_bytes()).await.unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header("x-amzn-errortype"), Some("IncompleteSignatureException"));
    assert!(answer.text().contains("missing Host header"), "{}", answer.text());
    assert!(emulator.recorder().invocations().is_empty());
    assert_signed_healthy(&emulator).await;
}

#[tokio::test]
async fn client_sigv4_unsigned_call_for_an_unknown_function() {
    // The Invoke APIs check the function name before the signature (src/frontends/mod.rs), so an
    // unsigned caller learns that a name does not exist (docs/misbehaviours.md flags it).
    let emulator = iam().await;
    let response = client().post(iwrs_url(&emulator, "nope", "")).body("{}").send().await.unwrap();
    let (status, error_type, _) = aws_refusal(response).await;
    assert_eq!((status, error_type.as_str()), (404, "ResourceNotFoundException"));
    let response = client().post(iwrs_url(&emulator, "f", "")).body("{}").send().await.unwrap();
    let (status, error_type, _) = aws_refusal(response).await;
    assert_eq!((status, error_type.as_str()), (403, "MissingAuthenticationTokenException"));
    assert!(emulator.recorder().invocations().is_empty());
    assert_signed_healthy(&emulator).await;
}
