//! The Invoke APIs' own checks (method, function name, qualifier, invocation type, client
//! context, body), and clients that leave while their invocation runs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_stream_emulator::{ClientEnd, FunctionConfig, Limits};
use serde_json::Value;

use crate::common::{WAIT, assert_healthy, builder, client, runtime, start};
use crate::{
    LiveAnswer, assert_refused_and_healthy, aws_refusal, invoke_url, iwrs_result, iwrs_url, message, ok_script,
    only_invocation, queued_id, raw_answer,
};

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function";

/// Asserts a 404 `ResourceNotFoundException` naming `arn`.
async fn assert_not_found(response: reqwest::Response, arn: &str) {
    let (status, error_type, body) = aws_refusal(response).await;
    assert_eq!((status, error_type.as_str()), (404, "ResourceNotFoundException"), "{body}");
    assert_eq!(body, serde_json::json!({"Type": "User", "message": format!("Function not found: {arn}")}));
}

/// Asserts a 400 with this error type and message.
async fn assert_bad_request(response: reqwest::Response, error_type: &str, text: &str) {
    let (status, got_type, body) = aws_refusal(response).await;
    assert_eq!((status, got_type.as_str()), (400, error_type), "{body}");
    assert_eq!(message(&body), text);
}

/// Every method but POST on `url` gets 405 `Method Not Allowed: use POST`.
async fn assert_post_only(url: &str) {
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let response = client().request(method.parse().unwrap(), url).body("{}").send().await.unwrap();
        let (status, error_type, body) = aws_refusal(response).await;
        assert_eq!(
            (status, error_type.as_str(), message(&body)),
            (405, "", "Method Not Allowed: use POST"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn client_wrong_method_on_iwrs() {
    let emulator = start("f").await;
    assert_post_only(&iwrs_url(&emulator, "f", "")).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_wrong_method_on_invoke() {
    let emulator = start("f").await;
    assert_post_only(&invoke_url(&emulator, "f", "")).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_wrong_method_on_the_local_invoke_endpoint() {
    let emulator = start("f").await;
    assert_post_only(&format!("{}/invoke", emulator.url())).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_iwrs_for_an_unknown_function() {
    let emulator = start("f").await;
    let response = client().post(iwrs_url(&emulator, "nope", "")).body("{}").send().await.unwrap();
    assert_not_found(response, &format!("{ARN}:nope")).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_invoke_for_an_unknown_function() {
    let emulator = start("f").await;
    let response = client().post(invoke_url(&emulator, "nope", "")).body("{}").send().await.unwrap();
    assert_not_found(response, &format!("{ARN}:nope")).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_function_names_and_arns_that_name_another_function() {
    let emulator = start("f").await;
    // (identifier as sent, percent-encoded where needed; the ARN the answer names)
    let cases = [
        ("arn:aws:lambda:us-east-1:000000000000:function:other", format!("{ARN}:other")),
        ("arn:aws:lambda:us-east-1:not-digits:function:f", "arn:aws:lambda:us-east-1:not-digits:function:f".into()),
        ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket".into()),
        ("arn:aws:lambda:", "arn:aws:lambda:".into()),
        ("function:f", format!("{ARN}:function:f")),
        ("F", format!("{ARN}:F")),
        ("f:", format!("{ARN}:f:")),
    ];
    for (identifier, arn) in cases {
        let response = client().post(iwrs_url(&emulator, identifier, "")).body("{}").send().await.unwrap();
        assert_not_found(response, &arn).await;
    }
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_function_arn_of_another_region_or_account() {
    // Lenient on purpose: a local emulator has no region, and any 12-digit account is taken as
    // the emulator's own (docs/misbehaviours.md).
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("a"), ok_script("b")]);
    for identifier in ["arn:aws:lambda:eu-west-3:000000000000:function:f", "123456789012:function:f"] {
        let response = client().post(iwrs_url(&emulator, identifier, "")).body("{}").send().await.unwrap();
        let (_, complete) = iwrs_result(response).await;
        assert_eq!(complete.error_code, None, "{identifier}");
    }
    let served = served.await.unwrap().unwrap();
    assert_eq!(served[1].0.header("lambda-runtime-invoked-function-arn"), Some(format!("{ARN}:f").as_str()));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_percent_encoded_function_name() {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("decoded")]);
    let response = client().post(iwrs_url(&emulator, "%66", "")).body("{}").send().await.unwrap();
    let (payload, complete) = iwrs_result(response).await;
    assert_eq!((payload.as_slice(), complete.error_code), (&b"decoded"[..], None));
    served.await.unwrap().unwrap();
    // An escape that is not UTF-8 decodes to U+FFFD: no such function.
    let response = client().post(iwrs_url(&emulator, "%ff", "")).body("{}").send().await.unwrap();
    assert_not_found(response, &format!("{ARN}:\u{fffd}")).await;
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_qualifier_in_the_name_and_the_parameter_disagree() {
    let emulator =
        builder("f").function(FunctionConfig::new("f").version("1").alias("live", "1")).build().await.unwrap();
    let response = client().post(iwrs_url(&emulator, "f:live", "?Qualifier=1")).body("{}").send().await.unwrap();
    assert_bad_request(
        response,
        "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    )
    .await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_empty_qualifier() {
    let emulator = start("f").await;
    let response = client().post(invoke_url(&emulator, "f", "?Qualifier=")).body("{}").send().await.unwrap();
    assert_not_found(response, &format!("{ARN}:f:")).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_unknown_invocation_type() {
    let emulator = start("f").await;
    for url in [iwrs_url(&emulator, "f", ""), invoke_url(&emulator, "f", "")] {
        let response = client().post(url).header("X-Amz-Invocation-Type", "Sync").body("{}").send().await.unwrap();
        let text = "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got \"Sync\"";
        assert_bad_request(response, "InvalidParameterValueException", text).await;
    }
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_event_invocation_on_iwrs() {
    let emulator = start("f").await;
    let response =
        client().post(iwrs_url(&emulator, "f", "")).header("X-Amz-Invocation-Type", "Event").body("{}").send();
    let text = "InvokeWithResponseStream supports only RequestResponse and DryRun invocation types";
    assert_bad_request(response.await.unwrap(), "InvalidParameterValueException", text).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_dry_run_on_iwrs() {
    let emulator = start("f").await;
    let response =
        client().post(iwrs_url(&emulator, "f", "")).header("X-Amz-Invocation-Type", "DryRun").body("{}").send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["x-amz-executed-version"], "$LATEST");
    assert!(response.bytes().await.unwrap().is_empty());
    // A dry run runs nothing.
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_dry_run_on_invoke() {
    let emulator = start("f").await;
    let response =
        client().post(invoke_url(&emulator, "f", "")).header("X-Amz-Invocation-Type", "DryRun").body("{}").send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    // A dry run runs nothing.
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_event_invocation_on_invoke_does_not_wait() {
    let emulator = start("f").await;
    // No runtime yet: the 202 cannot have waited for one.
    let response =
        client().post(invoke_url(&emulator, "f", "")).header("X-Amz-Invocation-Type", "Event").body("{}").send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 202);
    assert!(response.bytes().await.unwrap().is_empty());
    let (invocation, reply) = runtime(&emulator).serve_one(&ok_script("dropped")).await.unwrap();
    assert_eq!(invocation.body.as_ref(), b"{}");
    assert_eq!(reply.unwrap().status, 202, "the function still ran; its answer is dropped");
    assert_healthy(&emulator).await;
}

/// Sends `context` as `X-Amz-Client-Context` to IWRS and asserts the client context refusal.
async fn assert_context_refused(context: &str) {
    let emulator = start("f").await;
    let response = client().post(iwrs_url(&emulator, "f", "")).header("X-Amz-Client-Context", context).body("{}");
    let text = "Client context must be a valid Base64-encoded JSON object.";
    assert_bad_request(response.send().await.unwrap(), "InvalidRequestContentException", text).await;
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_context_that_is_not_base64() {
    assert_context_refused("not base64 at all!").await;
}

#[tokio::test]
async fn client_context_that_is_not_json() {
    assert_context_refused(&STANDARD.encode("{not json")).await;
}

#[tokio::test]
async fn client_context_that_is_json_but_not_an_object() {
    assert_context_refused(&STANDARD.encode("[1,2,3]")).await;
}

#[tokio::test]
async fn client_context_that_is_not_utf8() {
    assert_context_refused(&STANDARD.encode([0xff, 0xfe, b'{', b'}'])).await;
}

#[tokio::test]
async fn client_context_header_with_bytes_beyond_ascii() {
    let emulator = start("f").await;
    let mut request = format!(
        "POST /2021-11-15/functions/f/response-streaming-invocations HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\
         connection: close\r\nx-amz-client-context: {}",
        STANDARD.encode("{}")
    )
    .into_bytes();
    request.extend_from_slice(&[0xff, 0xfe]);
    request.extend_from_slice(b"\r\n\r\n{}");
    let answer = raw_answer(emulator.local_addr(), &request).await.unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("x-amzn-errortype"), Some("InvalidRequestContentException"));
    assert!(answer.text().contains("Client context must be a valid Base64-encoded JSON object."), "{}", answer.text());
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_log_type_other_than_tail() {
    // Anything but `Tail` means no log: the emulator does not refuse it.
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("a"), ok_script("b")]);
    let response = client().post(iwrs_url(&emulator, "f", "")).header("X-Amz-Log-Type", "Verbose").body("{}").send();
    let (payload, complete) = iwrs_result(response.await.unwrap()).await;
    assert_eq!((payload.as_slice(), complete.log_result), (&b"a"[..], None));
    let response = client().post(invoke_url(&emulator, "f", "")).header("X-Amz-Log-Type", "tail").body("{}").send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-amz-log-result").is_none(), "`tail` is not `Tail`");
    assert_eq!(response.text().await.unwrap(), "b");
    served.await.unwrap().unwrap();
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_chunked_request_body_over_the_cap() {
    let limits = Limits { max_request_bytes: 1024, ..Limits::default() };
    let emulator = builder("f").limits(limits).build().await.unwrap();
    let mut request = b"POST /2021-11-15/functions/f/response-streaming-invocations HTTP/1.1\r\nhost: h\r\n\
                        transfer-encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..64 {
        request.extend_from_slice(&lambda_stream_fixtures::raw::chunk(&[b'x'; 512]));
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_answer(emulator.local_addr(), &request).await.unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(answer.header("x-amzn-errortype"), Some("RequestTooLargeException"));
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["Message"], "the request body is larger than 1024 bytes");
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_malformed_invoke_paths_are_function_url_paths() {
    // A path that is not exactly an Invoke API path belongs to the function URL, which owns every
    // other path of the public listener.
    let emulator = start("f").await;
    let paths = [
        "/2021-11-15/functions//response-streaming-invocations",
        "/2021-11-15/functions/a/b/response-streaming-invocations",
        "/2015-03-31/functions/f/invocations/extra",
    ];
    let served = runtime(&emulator).spawn(paths.iter().map(|_| ok_script("url")).collect());
    for path in paths {
        let response = client().post(format!("{}{path}", emulator.url())).body("{}").send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "url", "{path}");
    }
    let served = served.await.unwrap().unwrap();
    for ((invocation, _), path) in served.iter().zip(paths) {
        let event: Value = serde_json::from_slice(&invocation.body).unwrap();
        assert_eq!(event["rawPath"], path);
    }
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_leaves_before_the_runtime_takes_the_invocation() {
    // The client listener keeps half-closed connections open for their answer, so a client that
    // has gone is noticed only when a write to it fails (docs/misbehaviours.md).
    let emulator = start("f").await;
    let call = tokio::spawn(client().get(format!("{}/gone", emulator.url())).send());
    let id = queued_id(&emulator).await;
    call.abort();
    let _ = call.await;
    // The invocation stays queued: the function still runs it, and its answer is taken.
    let (invocation, reply) = runtime(&emulator).serve_one(&ok_script("nobody listens")).await.unwrap();
    assert_eq!(invocation.request_id, id);
    assert_eq!(reply.unwrap().status, 202);
    let record = only_invocation(&emulator).await;
    assert_eq!(record.outcome, Some(Ok(())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_leaves_mid_stream_on_a_function_url() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().get(format!("{}/leave", emulator.url())).send());
    let next = rt.next().await.unwrap();
    let mut live = LiveAnswer::open(&emulator, &next.request_id, "text/plain").await;
    live.chunk(b"first").await;
    let mut response = call.await.unwrap().unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"first");
    drop(response);
    let filler = vec![b'z'; 16 * 1024];
    for _ in 0..64 {
        live.chunk(&filler).await;
    }
    assert_eq!(live.end(&[]).await.status, 202, "the function ran to its end");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert!(matches!(record.client.end, Some((_, ClientEnd::Disconnected))), "{:?}", record.client.end);
    assert_eq!(record.runtime.bytes, 5 + 64 * 16 * 1024, "every runtime byte was read");
    assert!(record.client.bytes < record.runtime.bytes);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_leaves_mid_stream_on_iwrs() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(iwrs_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let mut live = LiveAnswer::open(&emulator, &next.request_id, "text/plain").await;
    live.chunk(b"first").await;
    let mut response = call.await.unwrap().unwrap();
    assert!(!response.chunk().await.unwrap().unwrap().is_empty(), "the first PayloadChunk");
    drop(response);
    let filler = vec![b'z'; 16 * 1024];
    for _ in 0..64 {
        live.chunk(&filler).await;
    }
    assert_eq!(live.end(&[]).await.status, 202, "the function ran to its end");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert!(matches!(record.client.end, Some((_, ClientEnd::Disconnected))), "{:?}", record.client.end);
    assert_eq!(record.outcome, Some(Ok(())));
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_leaves_during_a_buffered_invoke() {
    let emulator = start("f").await;
    let rt = runtime(&emulator);
    let call = tokio::spawn(client().post(invoke_url(&emulator, "f", "")).body("{}").send());
    let next = rt.next().await.unwrap();
    let mut live = LiveAnswer::open(&emulator, &next.request_id, "text/plain").await;
    live.chunk(b"collected").await;
    call.abort(); // The client leaves while the answer is being collected.
    let _ = call.await;
    live.chunk(b" and more").await;
    assert_eq!(live.end(&[]).await.status, 202, "the function ran to its end");
    let record = emulator.recorder().wait_for(&next.request_id, WAIT).await.unwrap();
    assert_eq!(record.outcome, Some(Ok(())));
    assert_eq!(record.runtime.bytes, "collected and more".len() as u64);
    assert_healthy(&emulator).await;
}
