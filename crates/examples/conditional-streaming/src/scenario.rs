//! Which answer a request asks for, and what each answer is made of, independent of any runtime:
//! the lambda-stream handler ([`crate::ConditionalStreaming`]) and the peer on the official runtime
//! (`crates/peers`) both answer from these values, so that they can be compared byte for byte.

use std::time::Duration;

use example_event_input::{JsonBody, Request};
use lambda_stream::{Bytes, Prelude};
use serde_json::{Value, json};

/// Every scenario name, in the order the README lists them.
pub const KNOWN: [&str; 11] = [
    "ok",
    "bad-request",
    "unauthorized",
    "not-found",
    "server-error",
    "fail-before-first-byte",
    "fail-mid-stream",
    "slow",
    "large",
    "empty",
    "redirect",
];

/// The error type the failure scenarios report (`Category.Reason`, which Lambda keeps as it is;
/// other shapes become `Function.Unknown`, RIE `rapid/model/error_types.go`).
pub const FAILURE_TYPE: &str = "Function.ScenarioFailure";
/// The message of `fail-before-first-byte`.
pub const FAIL_BEFORE_MESSAGE: &str = "fail-before-first-byte: failing before the first byte, as asked";
/// The message of `fail-mid-stream`.
pub const FAIL_MID_MESSAGE: &str = "fail-mid-stream: failing after the first chunks, as asked";

/// The chunks of `ok`, one write each.
pub const OK_CHUNKS: [&str; 5] =
    ["chunk 1 of 5\n", "chunk 2 of 5\n", "chunk 3 of 5\n", "chunk 4 of 5\n", "chunk 5 of 5\n"];
/// The chunks `fail-mid-stream` writes before it fails.
pub const MID_STREAM_CHUNKS: [&str; 2] = ["chunk 1, before the failure\n", "chunk 2, before the failure\n"];
/// The pause between two chunks of `ok` and `fail-mid-stream`: long enough that each chunk is its
/// own write on the wire and a caller sees them arrive apart even on a busy machine (the
/// conformance scenarios time these writes; pieces of one write delivered tens of milliseconds
/// apart must not look like two writes, nor two writes like one).
pub const CHUNK_PAUSE: Duration = Duration::from_millis(300);

/// The first chunk of `slow`, written at once so a caller sees the stream start.
pub const SLOW_FIRST_CHUNK: &str = "slow: started, now outliving the timeout\n";
/// How long `slow` runs: longer than the longest Lambda timeout (15 minutes), so it always ends by
/// the deadline, never by itself.
pub const SLOW_TOTAL: Duration = Duration::from_secs(16 * 60);
/// `slow` sleeps in steps this long ...
pub const SLOW_STEP: Duration = Duration::from_secs(1);
/// ... and writes a heartbeat every this many steps: the write is how it notices that the stream
/// was cut at the deadline (it fails), so it stops instead of sleeping on unheard.
pub const HEARTBEAT_EVERY_STEPS: u32 = 5;

/// `large`'s size when the request names none, in MB (10^6 bytes, the unit of Lambda's 200 MB limit).
pub const DEFAULT_SIZE_MB: u32 = 10;
/// The largest `size_mb`; more is cut to this. 200 MB is Lambda's streamed response limit (RS-CONF).
pub const MAX_SIZE_MB: u32 = 200;
/// One MB.
pub const MB: u64 = 1_000_000;
/// `large` writes this much at a time, from one buffer it reuses.
pub const LARGE_WRITE_BYTES: usize = 64 * 1024;
/// `large`'s body repeats this line; 64 bytes divides [`LARGE_WRITE_BYTES`], so byte `i` of the
/// body is `LARGE_PATTERN[i % 64]` and a reader can check every byte without keeping any.
pub const LARGE_PATTERN: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

/// The status `empty` answers with: "no content" says what the body is.
pub const EMPTY_STATUS: u16 = 204;

/// The status `redirect` answers with: 302 Found, the redirect a sign-in callback sends (LWA
/// issue 499 was a 302 with an empty body).
pub const REDIRECT_STATUS: u16 = 302;
/// Where `redirect` points: this function's `ok` answer, so a client that follows it gets one.
pub const REDIRECT_LOCATION: &str = "?scenario=ok";

/// A scenario: one kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 200, [`OK_CHUNKS`] streamed with [`CHUNK_PAUSE`] between them, a cookie.
    Ok,
    /// 400 with a JSON body.
    BadRequest,
    /// 401 with a JSON body.
    Unauthorized,
    /// 404 with a JSON body.
    NotFound,
    /// 500 with a JSON body.
    ServerError,
    /// Fails before writing anything: reported through `/error`.
    FailBeforeFirstByte,
    /// 200, [`MID_STREAM_CHUNKS`], then fails: reported through trailers.
    FailMidStream,
    /// 200, [`SLOW_FIRST_CHUNK`], then heartbeats for [`SLOW_TOTAL`]: outlives any timeout.
    Slow,
    /// 200, `size_mb` MB of [`LARGE_PATTERN`] in [`LARGE_WRITE_BYTES`] writes.
    Large {
        /// Size in MB, at most [`MAX_SIZE_MB`].
        size_mb: u32,
    },
    /// [`EMPTY_STATUS`] and headers, no body.
    Empty,
    /// [`REDIRECT_STATUS`] to [`REDIRECT_LOCATION`], no body. Unlike a 204, whose answer can have
    /// no body by HTTP's own rules, a 302's caller reads a body until it ends: an empty body that
    /// is never ended keeps it waiting.
    Redirect,
}

impl Scenario {
    /// Its name in requests.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not-found",
            Self::ServerError => "server-error",
            Self::FailBeforeFirstByte => "fail-before-first-byte",
            Self::FailMidStream => "fail-mid-stream",
            Self::Slow => "slow",
            Self::Large { .. } => "large",
            Self::Empty => "empty",
            Self::Redirect => "redirect",
        }
    }

    /// The scenario called `name` (`size_mb` is used by `large` only); `None` when unknown.
    pub fn from_name(name: &str, size_mb: u32) -> Option<Self> {
        Some(match name {
            "ok" => Self::Ok,
            "bad-request" => Self::BadRequest,
            "unauthorized" => Self::Unauthorized,
            "not-found" => Self::NotFound,
            "server-error" => Self::ServerError,
            "fail-before-first-byte" => Self::FailBeforeFirstByte,
            "fail-mid-stream" => Self::FailMidStream,
            "slow" => Self::Slow,
            "large" => Self::Large { size_mb: size_mb.min(MAX_SIZE_MB) },
            "empty" => Self::Empty,
            "redirect" => Self::Redirect,
            _ => return None,
        })
    }

    /// The status and headers it answers with; `None` for `fail-before-first-byte`, which sends none.
    pub fn head(&self) -> Option<Head> {
        let head = |status: u16, content_type: &str| Head {
            status,
            headers: vec![
                ("content-type".to_owned(), content_type.to_owned()),
                ("x-scenario".to_owned(), self.name().to_owned()),
            ],
            cookies: Vec::new(),
        };
        Some(match self {
            Self::Ok => {
                let mut h = head(200, "text/plain; charset=utf-8");
                h.cookies.push("scenario=ok; Path=/; HttpOnly".to_owned());
                h
            }
            Self::FailMidStream | Self::Slow => head(200, "text/plain; charset=utf-8"),
            Self::Large { size_mb } => {
                let mut h = head(200, "application/octet-stream");
                h.headers.push(("x-size-bytes".to_owned(), (u64::from(*size_mb) * MB).to_string()));
                h
            }
            Self::Empty => head(EMPTY_STATUS, "text/plain; charset=utf-8"),
            Self::Redirect => {
                let mut h = head(REDIRECT_STATUS, "text/plain; charset=utf-8");
                h.headers.push(("location".to_owned(), REDIRECT_LOCATION.to_owned()));
                h
            }
            Self::BadRequest | Self::Unauthorized | Self::NotFound | Self::ServerError => {
                let status = match self {
                    Self::BadRequest => 400,
                    Self::Unauthorized => 401,
                    Self::NotFound => 404,
                    _ => 500,
                };
                let mut h = head(status, "application/json");
                if status == 401 {
                    h.headers
                        .push(("www-authenticate".to_owned(), "Bearer realm=\"conditional-streaming\"".to_owned()));
                }
                h
            }
            Self::FailBeforeFirstByte => return None,
        })
    }
}

/// Status, headers and cookies, as plain values any runtime can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values.
    pub cookies: Vec<String>,
}

impl Head {
    /// As lambda-stream's HTTP-integration prelude.
    pub fn prelude(&self) -> Prelude {
        let mut prelude = Prelude::with_status(self.status);
        for (name, value) in &self.headers {
            prelude = prelude.header(name.as_str(), value.as_str());
        }
        for cookie in &self.cookies {
            prelude = prelude.cookie(cookie.as_str());
        }
        prelude
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A known scenario.
    Run(Scenario),
    /// The request could not be read (a body that is not a JSON object, a `scenario` that is not a
    /// string, a bad `size_mb`, an undecodable URL body): answered like `bad-request`, saying why.
    Unreadable(String),
    /// A scenario name that does not exist: 400 listing the known ones.
    Unknown(String),
}

/// Reads the request: the `scenario` (and `size_mb`) query parameters of an HTTP request (a
/// function URL's payload 2.0 or an API Gateway REST API's payload 1.0 event) first; else
/// `{"scenario": "...", "size_mb": N}` in that request's body or the raw event; an empty body (or
/// JSON `null`) means `ok`.
pub fn decide(event: &[u8]) -> Decision {
    let request = match Request::from_event(event) {
        Ok(request) => request,
        Err(e) => return Decision::Unreadable(e.to_string()),
    };
    if let Some(name) = request.query_param("scenario") {
        let size_mb = match request.query_param("size_mb") {
            None => DEFAULT_SIZE_MB,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) => n.min(u64::from(MAX_SIZE_MB)) as u32,
                Err(_) => return Decision::Unreadable(format!("size_mb={raw:?} is not a whole number of MB")),
            },
        };
        return by_name(name, size_mb);
    }
    let fields = match request.json_body() {
        JsonBody::Empty => return Decision::Run(Scenario::Ok),
        JsonBody::Object(fields) => fields,
        JsonBody::NotAnObject(why) => {
            return Decision::Unreadable(format!("{why}; send {{\"scenario\": \"<name>\"}} or nothing"));
        }
    };
    let size_mb = match fields.get("size_mb") {
        None | Some(Value::Null) => DEFAULT_SIZE_MB,
        Some(value) => match value.as_u64() {
            Some(n) => n.min(u64::from(MAX_SIZE_MB)) as u32,
            None => return Decision::Unreadable(format!("\"size_mb\" must be a whole number of MB, got {value}")),
        },
    };
    match fields.get("scenario") {
        None | Some(Value::Null) => Decision::Run(Scenario::Ok),
        Some(Value::String(name)) => by_name(name, size_mb),
        Some(other) => Decision::Unreadable(format!("\"scenario\" must be a string, got {other}")),
    }
}

fn by_name(name: &str, size_mb: u32) -> Decision {
    match Scenario::from_name(name, size_mb) {
        Some(scenario) => Decision::Run(scenario),
        None => Decision::Unknown(name.to_owned()),
    }
}

/// A whole answer with a JSON body (the 4xx/5xx scenarios, unreadable and unknown requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonAnswer {
    /// Status and headers.
    pub head: Head,
    /// The JSON body.
    pub body: String,
}

impl Decision {
    /// The JSON answer, for the decisions that have one; `None` for the scenarios that stream,
    /// fail or send nothing.
    pub fn json_answer(&self) -> Option<JsonAnswer> {
        let (head, body) = match self {
            Self::Run(
                s @ (Scenario::BadRequest | Scenario::Unauthorized | Scenario::NotFound | Scenario::ServerError),
            ) => {
                let message = match s {
                    Scenario::BadRequest => "the request was bad, as asked",
                    Scenario::Unauthorized => "no valid credentials, as asked",
                    Scenario::NotFound => "nothing here, as asked",
                    _ => "the server failed, as asked",
                };
                (s.head()?, json!({"error": s.name(), "message": message}))
            }
            Self::Run(_) => return None,
            Self::Unreadable(why) => (
                Scenario::BadRequest.head()?,
                json!({"error": "bad-request", "message": format!("cannot read the request: {why}")}),
            ),
            Self::Unknown(name) => (
                Scenario::BadRequest.head()?,
                json!({"error": "unknown-scenario", "message": format!("unknown scenario {name:?}"), "known": KNOWN}),
            ),
        };
        Some(JsonAnswer { head, body: body.to_string() })
    }
}

/// The one buffer `large` writes again and again: [`LARGE_WRITE_BYTES`] of [`LARGE_PATTERN`].
/// `Bytes` clones share it, so a write costs no copy and no new memory.
pub fn large_buffer() -> Bytes {
    Bytes::from(LARGE_PATTERN.repeat(LARGE_WRITE_BYTES / LARGE_PATTERN.len()))
}

/// The sizes of `large`'s writes for `total` bytes: full buffers, then the rest.
pub fn large_writes(total: u64) -> impl Iterator<Item = usize> {
    let full = total / LARGE_WRITE_BYTES as u64;
    let rest = (total % LARGE_WRITE_BYTES as u64) as usize;
    std::iter::repeat_n(LARGE_WRITE_BYTES, full as usize).chain((rest > 0).then_some(rest))
}

/// The `n`th heartbeat chunk of `slow`.
pub fn heartbeat(n: u32) -> String {
    format!("heartbeat {n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_event(query: Value, body: Option<&str>, base64: bool) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "version": "2.0",
            "rawPath": "/",
            "rawQueryString": "",
            "queryStringParameters": query,
            "requestContext": {"http": {"method": "POST"}},
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    #[test]
    fn every_known_name_round_trips() {
        for name in KNOWN {
            let scenario = Scenario::from_name(name, 1).unwrap();
            assert_eq!(scenario.name(), name);
            assert_eq!(decide(format!(r#"{{"scenario":"{name}","size_mb":1}}"#).as_bytes()), Decision::Run(scenario));
        }
    }

    #[test]
    fn nothing_asked_means_ok() {
        for event in [&b""[..], b"  ", b"null", b"{}", br#"{"scenario":null}"#] {
            assert_eq!(decide(event), Decision::Run(Scenario::Ok), "{:?}", String::from_utf8_lossy(event));
        }
        assert_eq!(decide(&url_event(json!({}), None, false)), Decision::Run(Scenario::Ok));
    }

    #[test]
    fn the_query_names_the_scenario_of_a_url_request_and_wins_over_the_body() {
        let event = url_event(json!({"scenario": "not-found"}), Some(r#"{"scenario":"ok"}"#), false);
        assert_eq!(decide(&event), Decision::Run(Scenario::NotFound));
        let event = url_event(json!({"scenario": "large", "size_mb": "3"}), None, false);
        assert_eq!(decide(&event), Decision::Run(Scenario::Large { size_mb: 3 }));
        let event = url_event(json!({"scenario": "large"}), None, false);
        assert_eq!(decide(&event), Decision::Run(Scenario::Large { size_mb: DEFAULT_SIZE_MB }));
        let event = url_event(json!({"scenario": "large", "size_mb": "lots"}), None, false);
        assert!(matches!(decide(&event), Decision::Unreadable(why) if why.contains("size_mb=\"lots\"")));
    }

    fn rest_event(multi_query: Value, body: Option<&str>, base64: bool) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "resource": "/{proxy+}",
            "path": "/",
            "httpMethod": "GET",
            "multiValueQueryStringParameters": multi_query,
            "requestContext": {"stage": "prod", "httpMethod": "GET"},
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    #[test]
    fn an_api_gateway_event_names_it_by_query_or_body() {
        let event = rest_event(json!({"scenario": ["large"], "size_mb": ["4"]}), Some(r#"{"scenario":"ok"}"#), false);
        assert_eq!(decide(&event), Decision::Run(Scenario::Large { size_mb: 4 }));
        let event = rest_event(Value::Null, Some(r#"{"scenario":"fail-mid-stream"}"#), false);
        assert_eq!(decide(&event), Decision::Run(Scenario::FailMidStream));
        // base64 of {"scenario":"slow"}
        let event = rest_event(Value::Null, Some("eyJzY2VuYXJpbyI6InNsb3cifQ=="), true);
        assert_eq!(decide(&event), Decision::Run(Scenario::Slow));
        assert_eq!(decide(&rest_event(Value::Null, None, false)), Decision::Run(Scenario::Ok));
    }

    #[test]
    fn a_url_body_names_it_when_the_query_does_not_plain_or_base64() {
        let event = url_event(json!({}), Some(r#"{"scenario":"fail-mid-stream"}"#), false);
        assert_eq!(decide(&event), Decision::Run(Scenario::FailMidStream));
        // base64 of {"scenario":"slow"}
        let event = url_event(json!({}), Some("eyJzY2VuYXJpbyI6InNsb3cifQ=="), true);
        assert_eq!(decide(&event), Decision::Run(Scenario::Slow));
        let event = url_event(json!({}), Some("!!"), true);
        assert!(matches!(decide(&event), Decision::Unreadable(why) if why.contains("base64")));
    }

    #[test]
    fn unreadable_requests_are_bad_requests_that_say_why() {
        for (event, says) in [
            (&b"not json"[..], "not JSON"),
            (br#""this is not used""#, "not an object"),
            (br#"{"scenario": 7}"#, "must be a string"),
            (br#"{"scenario": "large", "size_mb": -1}"#, "whole number"),
            (br#"{"scenario": "large", "size_mb": "2"}"#, "whole number"),
        ] {
            let decision = decide(event);
            let Decision::Unreadable(why) = &decision else { panic!("{decision:?}") };
            assert!(why.contains(says), "{why}");
            let answer = decision.json_answer().unwrap();
            assert_eq!(answer.head.status, 400);
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            assert_eq!(body["error"], "bad-request");
            assert!(body["message"].as_str().unwrap().contains(says));
        }
    }

    #[test]
    fn an_unknown_scenario_lists_the_known_ones() {
        let decision = decide(br#"{"scenario":"teapot"}"#);
        assert_eq!(decision, Decision::Unknown("teapot".into()));
        let answer = decision.json_answer().unwrap();
        assert_eq!(answer.head.status, 400);
        assert_eq!(answer.head.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["error"], "unknown-scenario");
        assert_eq!(body["known"], json!(KNOWN));
    }

    #[test]
    fn size_mb_is_capped_at_lambdas_limit() {
        assert_eq!(
            decide(br#"{"scenario":"large","size_mb":100000}"#),
            Decision::Run(Scenario::Large { size_mb: 200 })
        );
        assert_eq!(decide(br#"{"scenario":"large"}"#), Decision::Run(Scenario::Large { size_mb: 10 }));
        assert_eq!(decide(br#"{"scenario":"large","size_mb":0}"#), Decision::Run(Scenario::Large { size_mb: 0 }));
        let head = Scenario::Large { size_mb: 2 }.head().unwrap();
        assert_eq!(head.header("x-size-bytes"), Some("2000000"));
    }

    #[test]
    fn heads_and_json_answers_per_scenario() {
        let statuses: Vec<_> =
            KNOWN.iter().map(|n| Scenario::from_name(n, 1).unwrap().head().map(|h| h.status)).collect();
        assert_eq!(
            statuses,
            [
                Some(200),
                Some(400),
                Some(401),
                Some(404),
                Some(500),
                None,
                Some(200),
                Some(200),
                Some(200),
                Some(204),
                Some(302)
            ]
        );
        assert_eq!(Scenario::Redirect.head().unwrap().header("location"), Some(REDIRECT_LOCATION));
        assert_eq!(Scenario::Empty.head().unwrap().header("location"), None);
        assert_eq!(Scenario::Ok.head().unwrap().cookies, ["scenario=ok; Path=/; HttpOnly"]);
        for (scenario, status) in [
            (Scenario::BadRequest, 400),
            (Scenario::Unauthorized, 401),
            (Scenario::NotFound, 404),
            (Scenario::ServerError, 500),
        ] {
            let answer = Decision::Run(scenario).json_answer().unwrap();
            assert_eq!(answer.head.status, status);
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            assert_eq!(body["error"], scenario.name());
        }
        assert!(Decision::Run(Scenario::Ok).json_answer().is_none());
        let prelude = Scenario::Ok.head().unwrap().prelude();
        assert_eq!(prelude.status(), 200);
        assert_eq!(prelude.headers.get("x-scenario").map(String::as_str), Some("ok"));
        assert_eq!(prelude.cookies.len(), 1);
    }

    #[test]
    fn large_writes_add_up_and_repeat_the_pattern() {
        let buffer = large_buffer();
        assert_eq!(buffer.len(), LARGE_WRITE_BYTES);
        assert!(buffer.iter().enumerate().all(|(i, b)| *b == LARGE_PATTERN[i % 64]));
        for total in [0, 1, 65_536, 65_537, 3 * MB] {
            let writes: Vec<_> = large_writes(total).collect();
            assert_eq!(writes.iter().map(|w| *w as u64).sum::<u64>(), total);
            assert!(writes.iter().all(|w| *w > 0 && *w <= LARGE_WRITE_BYTES));
        }
    }
}
