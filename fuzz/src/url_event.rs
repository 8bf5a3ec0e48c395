//! Target `url_event`: the emulator's function URL request → payload 2.0 event builder.
//!
//! Input: a raw request ([`crate::request`]). Invariants: the builder never panics; its output is
//! JSON that `aws_lambda_events`' `LambdaFunctionUrlRequest` reads back (what every Rust runtime
//! uses); `version` is `2.0`; `rawPath` is the request's path; header names are lower case; the
//! body round-trips byte for byte (as text, or as base64 when `isBase64Encoded`).

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_stream_emulator::fuzzing::url_event;

use crate::Seed;
use crate::request::{parse, render};

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let Some(request) = parse(data) else { return };
    let Some(event) = url_event(&request.method, &request.uri, &request.headers, &request.body) else { return };
    let value: serde_json::Value = serde_json::from_slice(&event).expect("the event is JSON");
    let typed: LambdaFunctionUrlRequest = serde_json::from_value(value.clone()).expect("aws_lambda_events reads it");
    assert_eq!(typed.version.as_deref(), Some("2.0"));
    let path = request.uri.split(['?', '#']).next().unwrap_or("");
    let uri: http::Uri = request.uri.parse().expect("the builder accepted the target, so it is a URI");
    assert_eq!(typed.raw_path.as_deref(), Some(uri.path()), "rawPath of {path:?}");
    for name in typed.headers.keys() {
        assert_eq!(name.as_str(), name.as_str().to_ascii_lowercase());
    }
    let body = match (typed.body.as_deref(), typed.is_base64_encoded) {
        (None, _) => Vec::new(),
        (Some(text), true) => STANDARD.decode(text).expect("isBase64Encoded bodies are base64"),
        (Some(text), false) => text.as_bytes().to_vec(),
    };
    assert_eq!(body, request.body, "the body round-trips");
}

/// Requests like the ones function URLs get.
pub fn seeds() -> Vec<Seed> {
    vec![
        (
            "json-post",
            render(
                "POST",
                "/some/path?a=1&b=two%20words&a=3",
                &[
                    ("host", "abc.lambda-url.us-east-1.on.aws"),
                    ("content-type", "application/json"),
                    ("cookie", "c1=v1; c2=v2"),
                    ("x-multi", "v1"),
                    ("X-Multi", "v2"),
                ],
                b"{\"hello\":\"world\"}",
            ),
        ),
        (
            "binary",
            render(
                "PUT",
                "/bin",
                &[("host", "h"), ("content-type", "application/octet-stream")],
                &[0, 159, 146, 150, 255],
            ),
        ),
        ("get-encoded-path", render("GET", "/a%2Fb/%E2%9C%93?x=%zz&y=+", &[("host", "h")], b"")),
        ("text-not-utf8", render("POST", "/", &[("host", "h"), ("content-type", "text/plain")], &[0xff, 0xfe])),
    ]
}
