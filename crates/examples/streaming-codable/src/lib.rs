//! # example-streaming-codable
//!
//! The Swift runtime's `Examples/Streaming+Codable` (SWIFT
//! `Examples/Streaming+Codable/Sources/main.swift`) on lambda-stream: the handler takes a typed
//! event instead of bytes, streams one timestamped line per message, and keeps working after
//! its response is complete.
//!
//! ## What it does
//! 1. The event is decoded as [`StreamingRequest`] (`{"count": 3, "message": "Hello World!",
//!    "delayMs": 1000}`) by [`lambda_stream::json_handler_fn`]: raw (the local `/invoke`,
//!    InvokeWithResponseStream, direct invocation) or as the body of a function URL request. A
//!    payload that does not decode gets a 400 with `{"errorType":"InvalidEvent",...}` before the
//!    first byte, and the handler is not called.
//! 2. `count` outside 1 to [`MAX_COUNT`] gets a 400 `text/plain` answer,
//!    `Error: Count must be between 1 and 100, got: N` ([`validate`]). Swift writes the same text
//!    under a 200; a client error is what it is, so this port says so in the status.
//! 3. Otherwise `text/plain; charset=utf-8`, no prelude (so InvokeWithResponseStream callers get
//!    the lines alone), one write per message, `[2025-07-15T10:36:52Z] Message 1/3: Hello World!`
//!    ([`message_line`]), each followed by a pause of `delayMs` (default 500 ms), then
//!    `✅ Successfully sent 3 messages` and `write_and_finish`: the caller's response is complete.
//! 4. Background work after `finish`, as Swift's example does: it logs, works for
//!    `backgroundMs` (default 100 ms, Swift's value; a field this port adds so that the work can
//!    be made visible), and logs again. The runtime asks Lambda for the next invocation only when
//!    the handler returns, so the next invocation waits for it, and the work counts towards the
//!    function timeout: work past the deadline is stopped with the environment (SWIFT
//!    `Examples/BackgroundTasks/README.md`).
//!
//! ## Parts
//! - [`StreamingRequest`] and its defaults; [`validate`]; [`message_line`], [`completion_line`],
//!   [`timestamp`]: the pieces of the answer, pure.
//! - [`handle`]: the handler; [`handler`]: it as a [`StreamingHandler`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_stream::{BoxError, LambdaContext, Prelude, ResponseStreamWriter, StreamingHandler, json_handler_fn};
use serde::Deserialize;

/// The event, as Swift's `StreamingRequest` (field names in camel case on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamingRequest {
    /// How many messages to send, 1 to [`MAX_COUNT`].
    pub count: i64,
    /// The text of every message.
    pub message: String,
    /// Pause after each message, ms; default [`DEFAULT_DELAY`].
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Background work after the response, ms; default [`DEFAULT_BACKGROUND`].
    #[serde(default)]
    pub background_ms: Option<u64>,
}

/// The most messages one request may ask for.
pub const MAX_COUNT: i64 = 100;
/// The pause after each message when `delayMs` is absent (Swift's default).
pub const DEFAULT_DELAY: Duration = Duration::from_millis(500);
/// The background work after the response when `backgroundMs` is absent (Swift's example sleeps
/// 100 ms).
pub const DEFAULT_BACKGROUND: Duration = Duration::from_millis(100);

impl StreamingRequest {
    /// The pause after each message.
    pub fn delay(&self) -> Duration {
        self.delay_ms.map_or(DEFAULT_DELAY, Duration::from_millis)
    }

    /// The background work after the response.
    pub fn background(&self) -> Duration {
        self.background_ms.map_or(DEFAULT_BACKGROUND, Duration::from_millis)
    }
}

/// Why a request is refused: `count` outside 1 to [`MAX_COUNT`].
pub fn validate(request: &StreamingRequest) -> Result<(), String> {
    if (1..=MAX_COUNT).contains(&request.count) {
        Ok(())
    } else {
        Err(format!("Count must be between 1 and {MAX_COUNT}, got: {}", request.count))
    }
}

/// `at` in ISO 8601, UTC, to the second: `2025-07-15T10:36:52Z`.
pub fn timestamp(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_date(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (days since the epoch, split into 400-year
/// eras of 146,097 days whose years start on 1 March, so that the leap day ends a year).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// One message line: `[TIMESTAMP] Message i/count: message`.
pub fn message_line(at: SystemTime, i: i64, request: &StreamingRequest) -> String {
    format!("[{}] Message {i}/{}: {}\n", timestamp(at), request.count, request.message)
}

/// The last line, written with `write_and_finish`.
pub fn completion_line(count: i64) -> String {
    format!("✅ Successfully sent {count} messages\n")
}

/// The handler: validation, the lines, `finish`, then background work.
pub async fn handle(
    request: StreamingRequest,
    writer: &mut ResponseStreamWriter,
    context: LambdaContext,
) -> Result<(), BoxError> {
    let id = context.request_id.as_str();
    tracing::info!(request_id = id, "received request to send {} messages: {:?}", request.count, request.message);
    if let Err(problem) = validate(&request) {
        tracing::error!(request_id = id, "{problem}");
        writer.write_status_and_headers(Prelude::with_status(400).header("content-type", "text/plain")).await?;
        writer.write_and_finish(format!("Error: {problem}\n")).await?;
        return Ok(());
    }
    writer.set_content_type("text/plain; charset=utf-8")?;
    for i in 1..=request.count {
        writer.write(message_line(SystemTime::now(), i, &request)).await?;
        let delay = request.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    writer.write_and_finish(completion_line(request.count)).await?;

    // The caller has its whole response. Work done from here on (logging, clean-up) delays only
    // the next invocation, and counts towards the function timeout.
    tracing::info!(request_id = id, "Background work: cleaning up resources and logging metrics");
    tokio::time::sleep(request.background()).await;
    tracing::info!(request_id = id, "Background work completed");
    Ok(())
}

/// [`handle`] as a [`StreamingHandler`] taking JSON events.
pub fn handler() -> impl StreamingHandler {
    json_handler_fn(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> StreamingRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn swifts_fields_and_defaults() {
        let r = request(r#"{"count": 3, "message": "Hello World!", "delayMs": 1000}"#);
        assert_eq!(
            (r.count, r.message.as_str(), r.delay(), r.background()),
            (3, "Hello World!", Duration::from_secs(1), DEFAULT_BACKGROUND)
        );
        let r = request(r#"{"count": 1, "message": "m"}"#);
        assert_eq!((r.delay(), r.background()), (DEFAULT_DELAY, DEFAULT_BACKGROUND));
        assert_eq!(request(r#"{"count": 1, "message": "m", "delayMs": 0}"#).delay(), Duration::ZERO);
    }

    #[test]
    fn count_is_validated_as_swift_does() {
        let at = |count| StreamingRequest { count, message: "m".into(), delay_ms: None, background_ms: None };
        assert!(validate(&at(1)).is_ok() && validate(&at(100)).is_ok());
        assert_eq!(validate(&at(0)).unwrap_err(), "Count must be between 1 and 100, got: 0");
        assert_eq!(validate(&at(101)).unwrap_err(), "Count must be between 1 and 100, got: 101");
        assert_eq!(validate(&at(-5)).unwrap_err(), "Count must be between 1 and 100, got: -5");
    }

    #[test]
    fn timestamps_are_iso_8601_utc() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(timestamp(at(0)), "1970-01-01T00:00:00Z");
        // The moment of Swift's sample request (its `timeEpoch`, 1752575812081 ms).
        assert_eq!(timestamp(at(1_752_575_812)), "2025-07-15T10:36:52Z");
        assert_eq!(timestamp(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(at(4_107_542_399)), "2100-02-28T23:59:59Z");
        assert_eq!(timestamp(at(4_107_542_400)), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn lines_as_swift_writes_them() {
        let r = StreamingRequest { count: 3, message: "Hello".into(), delay_ms: None, background_ms: None };
        let at = UNIX_EPOCH + Duration::from_secs(1_752_575_812);
        assert_eq!(message_line(at, 2, &r), "[2025-07-15T10:36:52Z] Message 2/3: Hello\n");
        assert_eq!(completion_line(3), "✅ Successfully sent 3 messages\n");
    }
}
