//! The function URL event the emulator builds, held against a request AWS really delivered:
//! `tests/fixtures/function-url-request-v2.json`, captured from a function URL with `AuthType
//! AWS_IAM` (account ids and keys blanked). The same request (`GET /`, curl's headers) goes
//! through the emulator, and every key of the captured event must be in the emulator's, with a
//! value of the same JSON type; the constant values (`version`, `routeKey`, `stage`) must be equal.
//!
//! Left out, with the reason:
//! - the `headers` values: AWS adds its edge's headers (`x-amzn-tls-*`, `x-forwarded-*`,
//!   `x-amzn-trace-id`); only the rule "names in lower case" is compared;
//! - `requestContext.authorizer`: present only for IAM-signed calls; tests/auth.rs covers it.

mod common;

use common::{client, runtime, start};
use lambda_stream_fixtures::scripted_runtime::Step;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/function-url-request-v2.json");

/// Object keys that are compared by presence and type only below this point, or not at all.
const SKIPPED: [&str; 2] = ["requestContext.authorizer", "headers"];

/// Walks the captured event; every key must exist in `ours` with the same JSON type.
fn same_shape(path: &str, captured: &Value, ours: &Value, problems: &mut Vec<String>) {
    if SKIPPED.contains(&path) {
        return;
    }
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if kind(captured) != kind(ours) {
        problems.push(format!("{path}: AWS sent a {}, the emulator a {}", kind(captured), kind(ours)));
        return;
    }
    if let (Value::Object(captured), Value::Object(ours)) = (captured, ours) {
        for (key, value) in captured {
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            match ours.get(key) {
                Some(mine) => same_shape(&child, value, mine, problems),
                None => problems.push(format!("{child}: missing from the emulator's event")),
            }
        }
    }
}

#[test]
fn the_fixture_is_what_runtimes_read() {
    // As a runtime on aws_lambda_events would read it.
    let typed: aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest =
        serde_json::from_str(FIXTURE).expect("the captured event deserialises");
    assert_eq!(typed.request_context.http.method.as_deref(), Some("GET"));
    assert_eq!(typed.request_context.time_epoch, 1_752_575_812_081);
}

#[tokio::test]
async fn the_emulator_builds_the_event_aws_delivered() {
    let captured: Value = serde_json::from_str(FIXTURE).unwrap();
    let emulator = start("fixture").await;
    let call = tokio::spawn(
        client().get(format!("{}/", emulator.url())).header("accept", "*/*").header("user-agent", "curl/8.7.1").send(),
    );
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    let ours: Value = serde_json::from_slice(&next.body).unwrap();

    let mut problems = Vec::new();
    same_shape("", &captured, &ours, &mut problems);
    assert!(problems.is_empty(), "the emulator's event differs from the captured one:\n{}", problems.join("\n"));

    for key in ["version", "routeKey", "rawPath", "rawQueryString", "isBase64Encoded"] {
        assert_eq!(ours[key], captured[key], "{key}");
    }
    for key in ["routeKey", "stage"] {
        assert_eq!(ours["requestContext"][key], captured["requestContext"][key], "requestContext.{key}");
    }
    for key in ["method", "path", "protocol", "userAgent"] {
        assert_eq!(ours["requestContext"]["http"][key], captured["requestContext"]["http"][key], "http.{key}");
    }
    // `time` as AWS writes it: "15/Jul/2025:10:36:52 +0000", same length and separators.
    let shape = |t: &str| t.chars().map(|c| if c.is_ascii_alphanumeric() { 'x' } else { c }).collect::<String>();
    let (theirs, mine) =
        (captured["requestContext"]["time"].as_str().unwrap(), ours["requestContext"]["time"].as_str().unwrap());
    assert_eq!(shape(mine), shape(theirs), "time {mine:?} vs the captured {theirs:?}");
    for event in [&captured, &ours] {
        let names: Vec<&String> = event["headers"].as_object().unwrap().keys().collect();
        assert!(names.iter().all(|n| **n == n.to_ascii_lowercase()), "header names in lower case: {names:?}");
    }
    assert!(ours["headers"]["user-agent"] == "curl/8.7.1" && ours["headers"]["accept"] == "*/*");

    rt.answer(&next.request_id, &[Step::streaming("text/plain"), Step::chunk("ok"), Step::End]).await.unwrap();
    assert_eq!(call.await.unwrap().unwrap().text().await.unwrap(), "ok");
}
