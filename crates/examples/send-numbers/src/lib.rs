//! Run with `cargo run -p example-send-numbers`, then `curl -N -X POST http://127.0.0.1:7000/invoke`.
//!
//! # example-send-numbers
//!
//! The Swift runtime's `SendNumbersWithPause` example (SWIFT `Examples/Streaming`) on lambda-stream:
//! status 200, `Content-Type: text/plain` and `x-my-custom-header: streaming-example`, then
//! `Number: 1\n`, `Number: 2\n`, `Number: 3\n` one second apart, each its own chunk, then the end.
//! A caller sees the lines arrive one by one: nothing is buffered on the way.
//!
//! ## Parts
//! - [`Options`]: how many numbers and how long a pause, read from the event (a JSON object with
//!   `count` and `pause_ms`, raw or as a function URL or API Gateway request's body); anything else keeps the
//!   defaults, as the Swift example ignores its `"this is not used"` payload.
//! - [`SendNumbers`]: the handler. `src/main.rs` only hands it to [`lambda_stream::run`].
//! - [`prelude`], [`line()`]: what goes on the wire, shared with the tests and the peer on the
//!   official runtime (`crates/peers`), so both answer byte for byte the same.

use std::time::Duration;

use example_event_input::{JsonBody, Request};
use lambda_stream::{BoxError, LambdaContext, Prelude, ResponseStreamWriter, StreamingHandler};
use serde_json::Value;

/// Numbers sent when the event names no `count`.
pub const DEFAULT_COUNT: u32 = 3;
/// The most numbers one invocation sends; a larger `count` is cut to this, so no caller can keep
/// the function busy for long (with [`MAX_PAUSE`], at most 100 × 10 s, well inside the 15-minute
/// ceiling of a Lambda timeout).
pub const MAX_COUNT: u32 = 100;
/// Pause between two numbers when the event names no `pause_ms`: one second, as in the Swift example.
pub const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause; a larger `pause_ms` is cut to this.
pub const MAX_PAUSE: Duration = Duration::from_secs(10);

/// What one invocation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How many numbers, `1..=count`.
    pub count: u32,
    /// The pause between two numbers (none after the last: the stream ends at once).
    pub pause: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { count: DEFAULT_COUNT, pause: DEFAULT_PAUSE }
    }
}

impl Options {
    /// Reads `count` and `pause_ms` from an event that is, or whose HTTP request body (function URL
    /// or API Gateway) is, a JSON object. A field that is missing, negative, fractional or not a
    /// number keeps its default; values above the caps ([`MAX_COUNT`], [`MAX_PAUSE`]) are cut to
    /// them. Never fails: an event of any other shape (a JSON string, text, an unreadable body)
    /// means "the defaults".
    pub fn from_event(event: &[u8]) -> Self {
        let mut options = Self::default();
        let Ok(request) = Request::from_event(event) else { return options };
        let JsonBody::Object(fields) = request.json_body() else { return options };
        if let Some(count) = fields.get("count").and_then(Value::as_u64) {
            options.count = count.min(u64::from(MAX_COUNT)) as u32;
        }
        if let Some(ms) = fields.get("pause_ms").and_then(Value::as_u64) {
            options.pause = Duration::from_millis(ms).min(MAX_PAUSE);
        }
        options
    }
}

/// The status and headers: 200, `Content-Type: text/plain`, `x-my-custom-header: streaming-example`
/// (the Swift example's values).
pub fn prelude() -> Prelude {
    Prelude::with_status(200).header("Content-Type", "text/plain").header("x-my-custom-header", "streaming-example")
}

/// The chunk for number `n`: `Number: n\n`.
pub fn line(n: u32) -> String {
    format!("Number: {n}\n")
}

/// The handler: [`prelude`], then one [`line()`] per number with [`Options::pause`] between them,
/// then `finish`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendNumbers;

impl StreamingHandler for SendNumbers {
    type Error = BoxError;

    async fn handle(
        &self,
        event: lambda_stream::Bytes,
        writer: &mut ResponseStreamWriter,
        _context: LambdaContext,
    ) -> Result<(), BoxError> {
        let options = Options::from_event(&event);
        writer.write_status_and_headers(prelude()).await?;
        for n in 1..=options.count {
            if n > 1 {
                tokio::time::sleep(options.pause).await;
            }
            writer.write(line(n)).await?;
        }
        writer.finish().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url_event(body: &str, base64: bool) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "version": "2.0",
            "rawPath": "/",
            "requestContext": {"http": {"method": "POST"}},
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    #[test]
    fn the_swift_payload_and_other_non_objects_keep_the_defaults() {
        for event in [&br#""this is not used""#[..], b"", b"not json", b"[1,2]", b"42", b"null", b"{}"] {
            assert_eq!(Options::from_event(event), Options::default(), "{:?}", String::from_utf8_lossy(event));
        }
        assert_eq!(Options::default(), Options { count: 3, pause: Duration::from_secs(1) });
    }

    #[test]
    fn a_raw_object_sets_count_and_pause() {
        let options = Options::from_event(br#"{"count": 5, "pause_ms": 300}"#);
        assert_eq!(options, Options { count: 5, pause: Duration::from_millis(300) });
        assert_eq!(Options::from_event(br#"{"count": 0}"#).count, 0);
    }

    #[test]
    fn a_function_url_body_sets_them_too_plain_or_base64() {
        let plain = url_event(r#"{"count":2,"pause_ms":10}"#, false);
        assert_eq!(Options::from_event(&plain), Options { count: 2, pause: Duration::from_millis(10) });
        // base64 of {"count":7}
        let encoded = url_event("eyJjb3VudCI6N30=", true);
        assert_eq!(Options::from_event(&encoded), Options { count: 7, pause: DEFAULT_PAUSE });
        // An unreadable URL body is "anything else": the defaults.
        assert_eq!(Options::from_event(&url_event("%%%", true)), Options::default());
        // The URL envelope's own fields are not options.
        assert_eq!(Options::from_event(&url_event("", false)), Options::default());
    }

    #[test]
    fn values_are_capped_and_bad_values_ignored() {
        let options = Options::from_event(br#"{"count": 1000000, "pause_ms": 99999999}"#);
        assert_eq!(options, Options { count: MAX_COUNT, pause: MAX_PAUSE });
        let options = Options::from_event(br#"{"count": -1, "pause_ms": 1.5}"#);
        assert_eq!(options, Options::default());
        let options = Options::from_event(br#"{"count": "5", "pause_ms": null}"#);
        assert_eq!(options, Options::default());
    }

    #[test]
    fn the_wire_values_match_the_swift_example() {
        assert_eq!(line(2), "Number: 2\n");
        let p = prelude();
        assert_eq!(p.status(), 200);
        assert_eq!(p.headers.get("Content-Type").map(String::as_str), Some("text/plain"));
        assert_eq!(p.headers.get("x-my-custom-header").map(String::as_str), Some("streaming-example"));
    }
}
