//! Regression tests for the eleven defects an adversarial probe of the emulator found (issue
//! "Nobody gets in, nothing leaks, nothing hangs"). Each test is named after its defect, shows the
//! attack or the misbehaviour, the answer it now gets, and that the emulator keeps serving.
//! Memory-bound defects (4 and 11) are also measured as RSS in `tests/memory.rs`, in a test
//! binary of their own.

mod common;

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{KEY, Payload, SECRET, WAIT, assert_healthy, builder, client, raw_exchange, runtime, signed, start};
use lambda_stream_emulator::{
    Auth, BootstrapCommand, FaultKind, FunctionConfig, MAX_FAULTS, Supervisor, SupervisorConfig,
};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, EventStreamDecoder, InvokeEvent, names};
use serde_json::Value;
use sha2::{Digest, Sha256};

const PRELUDE_CT: &str = names::HTTP_INTEGRATION_CONTENT_TYPE;

fn iwrs_url(emulator: &lambda_stream_emulator::Emulator, query: &str) -> String {
    format!(
        "{}/2021-11-15/functions/{}/response-streaming-invocations{query}",
        emulator.url(),
        emulator.function().name
    )
}

/// The frames of an IWRS body.
fn frames(body: &[u8]) -> Vec<InvokeEvent> {
    let mut decoder = EventStreamDecoder::new();
    decoder.push(body);
    let mut out = Vec::new();
    while let Some(event) = decoder.next_event().unwrap() {
        out.push(event);
    }
    out
}

async fn json_body(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

// 1. `--auth iam` left the Runtime API open on the public port.
#[tokio::test]
async fn defect_01_runtime_api_is_not_reachable_from_the_public_port() {
    let emulator = builder("secured").auth(Auth::iam(KEY, SECRET)).build().await.unwrap();
    assert_ne!(emulator.runtime_api_addr(), emulator.local_addr(), "the Runtime API has a listener of its own");
    assert!(emulator.runtime_api_addr().ip().is_loopback());

    // A signed caller's invocation waits for the function.
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("real"), Step::End]]);
    let body = "{\"secret\":\"payload\"}";
    let call =
        tokio::spawn(signed(&emulator, "POST", "/x", body, (KEY, SECRET), SystemTime::now(), Payload::Hashed).send());

    // An unsigned client on the public port asks for `/next` and tries to post an answer: both are
    // just function URL paths there, and unsigned requests are refused before reaching anything.
    let next = client().get(format!("{}/2018-06-01/runtime/invocation/next", emulator.url())).send().await.unwrap();
    assert_eq!(next.status(), 403);
    let text = next.text().await.unwrap();
    assert!(!text.contains("secret"), "no event leaks: {text}");
    let forged = client()
        .post(format!("{}/2018-06-01/runtime/invocation/whatever/response", emulator.url()))
        .body("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "real", "the signed caller got the function's answer");
    served.await.unwrap().unwrap();

    // Without auth, the Runtime API paths on the public port reach the function as URL paths.
    let open = start("open").await;
    let served = runtime(&open).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("as a URL"), Step::End]]);
    let next = client().get(format!("{}/2018-06-01/runtime/invocation/next", open.url())).send().await.unwrap();
    assert_eq!(next.text().await.unwrap(), "as a URL");
    let (invocation, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&invocation.body).unwrap();
    assert_eq!(event["rawPath"], "/2018-06-01/runtime/invocation/next");
}

/// A request signed with the body hash in a signed `x-amz-content-sha256` header, for `signed_body`.
fn signed_with_content_sha(
    emulator: &lambda_stream_emulator::Emulator,
    signed_body: &str,
    claimed_sha: &str,
) -> reqwest::RequestBuilder {
    let host = emulator.local_addr().to_string();
    let url = format!("http://{host}/tamper");
    let identity = Credentials::new(KEY, SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [("host", host.as_str())];
    let request = SignableRequest::new(
        "POST",
        url.clone(),
        headers.into_iter(),
        SignableBody::Precomputed(claimed_sha.to_owned()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut builder = client().post(url).body(signed_body.to_owned());
    for (name, value) in instructions.headers() {
        builder = builder.header(name, value);
    }
    builder
}

fn sha_hex(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let error_type =
        response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    (status, error_type, body["Message"].as_str().unwrap_or_default().to_owned())
}

// 2. The body was not covered by the signature.
#[tokio::test]
async fn defect_02_the_signature_covers_the_body_that_arrived() {
    let emulator = builder("secured").auth(Auth::iam(KEY, SECRET)).build().await.unwrap();
    let original = "{\"amount\":1}";
    let tampered = "{\"amount\":1000000}";

    // Signed over the original's hash (header signed), sent with another body.
    let response = signed_with_content_sha(&emulator, tampered, &sha_hex(original.as_bytes())).send().await.unwrap();
    let (status, error_type, message) = refusal(response).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));
    assert!(message.contains("does not match the SHA-256 of the body"), "{message}");

    // Signed over the original body without the header; the attacker adds an unsigned
    // `x-amz-content-sha256` naming the tampered body's hash.
    let response = signed(&emulator, "POST", "/tamper", original, (KEY, SECRET), SystemTime::now(), Payload::Hashed)
        .header("x-amz-content-sha256", sha_hex(tampered.as_bytes()))
        .body(tampered);
    let (status, _, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(message.contains("signature mismatch"), "{message}");

    // UNSIGNED-PAYLOAD is refused, as Lambda refuses unsigned payloads.
    let response =
        signed(&emulator, "POST", "/tamper", original, (KEY, SECRET), SystemTime::now(), Payload::Unsigned).send();
    let (status, error_type, message) = refusal(response.await.unwrap()).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));
    assert!(message.contains("UNSIGNED-PAYLOAD"), "{message}");

    assert!(emulator.recorder().invocations().is_empty(), "no tampered request reached the function");
    // The genuine request still works.
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("ok"), Step::End]]);
    let ok = signed_with_content_sha(&emulator, original, &sha_hex(original.as_bytes())).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    served.await.unwrap().unwrap();
}

// 3. A panic reachable from the network: SignedHeaders without `host`.
#[tokio::test]
async fn defect_03_signed_headers_without_host_is_refused_not_a_panic() {
    let emulator = builder("secured").auth(Auth::iam(KEY, SECRET)).build().await.unwrap();
    let amz_date = "20251130T000000Z";
    for signed_headers in ["x-amz-date", "", "x-amz-date;;host", "Host;x-amz-date", "host;x-amz-date;x-nope"] {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={KEY}/20251130/us-east-1/lambda/aws4_request, \
             SignedHeaders={signed_headers}, Signature=00"
        );
        let request = format!(
            "POST /x HTTP/1.1\r\nhost: {}\r\nx-amz-date: {amz_date}\r\nauthorization: {authorization}\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n",
            emulator.local_addr()
        );
        let answer = raw_exchange(emulator.local_addr(), request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{signed_headers:?}: {answer}");
    }
    // Still serving: a correctly signed request goes through.
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("ok"), Step::End]]);
    let response = signed(&emulator, "POST", "/x", "{}", (KEY, SECRET), SystemTime::now(), Payload::Hashed);
    assert_eq!(response.send().await.unwrap().text().await.unwrap(), "ok");
    served.await.unwrap().unwrap();
}

// 4. Finished invocations kept their payloads (and the recorder kept every record).
#[tokio::test]
async fn defect_04_finished_invocations_leave_only_a_bounded_history() {
    let emulator = builder("history").history(4).build().await.unwrap();
    let payload = "x".repeat(256 * 1024);
    let scripts = (0..12).map(|_| vec![Step::streaming("text/plain"), Step::chunk("done"), Step::End]).collect();
    let served = runtime(&emulator).spawn(scripts);
    for _ in 0..12 {
        let response = client().post(format!("{}/big", emulator.url())).body(payload.clone()).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
    }
    served.await.unwrap().unwrap();
    emulator.recorder().wait_for_completed(4, WAIT).await.unwrap();
    // Let the last relay record its end, then open one more record (pruning happens on open).
    assert_healthy(&emulator).await;
    let kept = emulator.recorder().invocations();
    assert!(kept.len() <= 5, "{} records kept with a history of 4", kept.len());
    // A late answer for a long-finished invocation is still told apart from an unknown id.
    let first_id = kept[0].request_id.clone();
    let late = runtime(&emulator).answer(&first_id, &[Step::streaming("text/plain"), Step::End]).await.unwrap();
    assert_eq!(late.unwrap().status, 409);
}

// 5. Callers hung when the bootstrap never started.
#[tokio::test]
async fn defect_05_callers_get_the_init_failure_when_the_bootstrap_never_starts() {
    let function = FunctionConfig::new("broken").timeout(Duration::from_secs(10));
    let emulator = builder("broken").function(function).build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new("/bin/false"))).await.unwrap();
    let started = Instant::now();
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body = json_body(response).await;
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(body["errorMessage"].as_str().unwrap().contains("Runtime exited with error: exit status: 1"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered within the function timeout");

    let response = client().post(iwrs_url(&emulator, "")).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let frames = frames(&response.bytes().await.unwrap());
    let Some(InvokeEvent::InvokeComplete(done)) = frames.last() else { panic!("{frames:?}") };
    assert_eq!(done.error_code.as_deref(), Some("Runtime.ExitError"));
    supervisor.shutdown().await;
    // Without the broken bootstrap, a runtime started by hand is served.
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn defect_05_init_error_fails_the_waiting_callers() {
    let emulator = start("init-fails").await;
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    // Wait until the invocation is queued, then report an init failure as a runtime would.
    emulator.recorder().wait_until(WAIT, "the invocation to be queued", |r| r.invocations().pop()).await.unwrap();
    let body = ErrorDiagnostic::new("Runtime.ConfigError", "DATABASE_URL is not set").to_error_body();
    let answer = client()
        .post(format!("http://{}/2018-06-01/runtime/init/error", emulator.runtime_api()))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    let body = json_body(response).await;
    assert_eq!(body["errorType"], "Runtime.ConfigError");
    assert_eq!(body["errorMessage"], "DATABASE_URL is not set");
    assert_healthy(&emulator).await;
}

#[tokio::test(start_paused = true)]
async fn defect_05_a_runtime_that_never_polls_times_the_caller_out() {
    let function = FunctionConfig::new("nobody").timeout(Duration::from_secs(3));
    let emulator = builder("nobody").function(function).build().await.unwrap();
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body = json_body(response).await;
    assert_eq!(body["errorType"], "Sandbox.Timeout");
    assert!(body["errorMessage"].as_str().unwrap().contains("no runtime called /next"), "{body}");
    assert_healthy(&emulator).await;
}

// 6. Framing headers from the prelude reached the client.
#[tokio::test]
async fn defect_06_framing_and_hop_by_hop_headers_from_the_prelude_are_dropped() {
    let emulator = start("framing").await;
    let prelude = serde_json::json!({
        "statusCode": 200,
        "headers": {"connection": "x-custom-hop, keep-alive", "x-custom-hop": "1", "keep-alive": "timeout=5",
                    "upgrade": "h2c", "te": "trailers", "trailer": "x-t", "content-length": "5",
                    "x-amzn-requestid": "forged", "x-kept": "yes"},
        "multiValueHeaders": {"transfer-encoding": ["chunked", "gzip"], "proxy-connection": ["keep-alive"]},
        "cookies": []
    });
    let mut bytes = serde_json::to_vec(&prelude).unwrap();
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(b"hello");
    let served =
        runtime(&emulator).spawn(vec![vec![Step::streaming(PRELUDE_CT), Step::Chunk(bytes.into()), Step::End]]);
    // curl failed with error 61 on the old answer; reqwest must read it whole.
    let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    let headers = response.headers().clone();
    assert_eq!(response.text().await.unwrap(), "hello");
    for dropped in ["connection", "x-custom-hop", "keep-alive", "upgrade", "te", "trailer", "proxy-connection"] {
        assert!(!headers.contains_key(dropped), "{dropped} reached the client: {headers:?}");
    }
    assert!(headers.get_all("transfer-encoding").iter().all(|v| v == "chunked"), "{headers:?}");
    assert!(!headers.contains_key("content-length"));
    assert_eq!(headers["x-amzn-remapped-content-length"], "5");
    assert_eq!(headers["x-kept"], "yes");
    let (invocation, _) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(headers["x-amzn-requestid"], invocation.request_id.as_str(), "the emulator's id, not the function's");
}

// 7. No limit on the client context.
#[tokio::test]
async fn defect_07_client_context_over_3583_bytes_is_refused() {
    let emulator = start("context").await;
    let json_of_len = |len: usize| {
        // Base64 of N bytes is 4 * ceil(N / 3) long; pad a JSON object to land on `len`.
        let raw = len / 4 * 3;
        let filler = "a".repeat(raw - "{\"k\":\"\"}".len());
        STANDARD.encode(format!("{{\"k\":\"{filler}\"}}"))
    };
    let too_long = json_of_len(3584 + 3);
    assert!(too_long.len() > 3583);
    let response = client()
        .post(iwrs_url(&emulator, ""))
        .header("X-Amz-Client-Context", too_long)
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, error_type, message) = refusal(response).await;
    assert_eq!((status, error_type.as_str()), (400, "InvalidRequestContentException"));
    assert!(message.contains("3583"), "{message}");
    let huge = STANDARD.encode("x".repeat(300_000));
    let response = client().post(iwrs_url(&emulator, "")).header("X-Amz-Client-Context", huge).body("{}").send();
    assert_eq!(response.await.unwrap().status(), 400);
    // Exactly 3,583 bytes is not too long: what is refused there is the content (a length that is
    // no multiple of 4 is not padded base64), with the other message.
    let response = client().post(iwrs_url(&emulator, "")).header("X-Amz-Client-Context", "A".repeat(3583)).body("{}");
    let (status, error_type, message) = refusal(response.send().await.unwrap()).await;
    assert_eq!((status, error_type.as_str()), (400, "InvalidRequestContentException"));
    assert!(message.contains("valid Base64") && !message.contains("3583"), "{message}");
    assert!(emulator.recorder().invocations().is_empty(), "nothing reached the function");

    // At the cap it is accepted and reaches the function whole.
    let at_cap = json_of_len(3580);
    assert!(at_cap.len() <= 3583);
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("ok"), Step::End]]);
    let response = client().post(iwrs_url(&emulator, "")).header("X-Amz-Client-Context", &at_cap).body("{}").send();
    assert_eq!(response.await.unwrap().status(), 200);
    let (invocation, _) = served.await.unwrap().unwrap().remove(0);
    let context = invocation.header(names::CLIENT_CONTEXT).unwrap();
    assert_eq!(context.as_bytes(), STANDARD.decode(&at_cap).unwrap());
}

// 8. 1xx statuses in the prelude.
#[tokio::test]
async fn defect_08_a_status_outside_200_to_599_is_a_function_error() {
    let emulator = start("status").await;
    for status in [100u16, 101, 103, 199, 600, 999] {
        let mut bytes = format!("{{\"statusCode\":{status}}}").into_bytes();
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(b"body");
        let served =
            runtime(&emulator).spawn(vec![vec![Step::streaming(PRELUDE_CT), Step::Chunk(bytes.into()), Step::End]]);
        let response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
        assert_eq!(response.status(), 502, "statusCode {status}");
        let body = json_body(response).await;
        assert_eq!(body["errorType"], "Runtime.MalformedPrelude");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains("statusCode") && message.contains(&status.to_string()), "{body}");
        served.await.unwrap().unwrap();
    }
    let faults = emulator.recorder().faults();
    assert_eq!(faults.iter().filter(|f| f.kind == FaultKind::MalformedPrelude).count(), 6, "{faults:?}");
    assert_healthy(&emulator).await;
}

// 9. Broken request bodies were answered 413.
#[tokio::test]
async fn defect_09_broken_request_bodies_are_bad_requests() {
    let emulator = start("bodies").await;
    let addr = emulator.local_addr();
    let broken = [
        "POST /x HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "POST /x HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nonly twenty bytes...",
    ];
    for request in broken {
        let answer = raw_exchange(addr, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{request:?}: {answer}");
        assert!(answer.contains("InvalidRequestContentException"), "{answer}");
    }
    // Too large is still 413.
    let big = format!("POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: {}\r\n\r\n", 7 * 1024 * 1024);
    let answer = raw_exchange(addr, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("RequestTooLargeException"), "{answer}");
    assert!(emulator.recorder().invocations().is_empty());
    assert_healthy(&emulator).await;
}

// 10. `Qualifier` was ignored.
#[tokio::test]
async fn defect_10_an_unknown_qualifier_is_not_found() {
    let function = FunctionConfig::new("versions").version("1").alias("live", "1");
    let emulator = builder("versions").function(function).build().await.unwrap();
    for (query, name_suffix) in [("?Qualifier=bogus", ""), ("", ":bogus"), ("?Qualifier=2", "")] {
        let url = format!(
            "{}/2021-11-15/functions/versions{name_suffix}/response-streaming-invocations{query}",
            emulator.url()
        );
        let response = client().post(url).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 404, "{query}{name_suffix}");
        assert_eq!(response.headers()["x-amzn-errortype"], "ResourceNotFoundException");
        let body = json_body(response).await;
        assert!(body["message"].as_str().unwrap().starts_with("Function not found: arn:aws:lambda:"), "{body}");
    }
    let invoke = format!("{}/2015-03-31/functions/versions/invocations?Qualifier=nope", emulator.url());
    assert_eq!(client().post(invoke).body("{}").send().await.unwrap().status(), 404);
    assert!(emulator.recorder().invocations().is_empty());

    let answer = || vec![Step::streaming("text/plain"), Step::chunk("ok"), Step::End];
    let served = runtime(&emulator).spawn(vec![answer(), answer()]);
    let latest = client().post(iwrs_url(&emulator, "?Qualifier=$LATEST")).body("{}").send().await.unwrap();
    assert_eq!(latest.status(), 200);
    assert_eq!(latest.headers()[names::EXECUTED_VERSION], "$LATEST");
    latest.bytes().await.unwrap();
    let live = client().post(iwrs_url(&emulator, "?Qualifier=live")).body("{}").send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()[names::EXECUTED_VERSION], "1");
    live.bytes().await.unwrap();
    let served = served.await.unwrap().unwrap();
    assert!(served[1].0.header(names::INVOKED_FUNCTION_ARN).unwrap().ends_with(":function:versions:live"));
}

// 11. Posts for unknown request ids grew memory without bound.
#[tokio::test]
async fn defect_11_posts_for_unknown_ids_keep_a_bounded_fault_list() {
    let emulator = start("unknown").await;
    let api = emulator.runtime_api();
    let posts = MAX_FAULTS + 500;
    let client = client();
    for i in 0..posts {
        let url = format!("http://{api}/2018-06-01/runtime/invocation/never-{i}/response");
        let answer = client.post(url).body("x").send().await.unwrap();
        assert_eq!(answer.status(), 400);
    }
    let recorder = emulator.recorder();
    assert_eq!(recorder.fault_count(), posts as u64, "every fault is counted");
    let kept = recorder.faults();
    assert_eq!(kept.len(), MAX_FAULTS, "only the newest are kept");
    assert!(kept.last().unwrap().message.contains(&format!("never-{}", posts - 1)), "{:?}", kept.last());
    assert_healthy(&emulator).await;
}
