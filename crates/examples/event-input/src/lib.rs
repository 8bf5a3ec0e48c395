//! # example-event-input
//!
//! How the example functions (`send-numbers`, `conditional-streaming`, and their peers on the
//! official runtime) read what a caller sent, so that all four read it the same way and the
//! rules live in one place.
//!
//! A Lambda event reaches a function in one of two shapes:
//! - through a **function URL**: a JSON document in payload format version 2.0 (FURL "Request
//!   payload"; one AWS delivered is kept in the repository as
//!   `crates/emulator/tests/fixtures/function-url-request-v2.json`), carrying the HTTP request's
//!   query parameters and body, the body base64-encoded when `isBase64Encoded` is true;
//! - **raw**, through InvokeWithResponseStream, Invoke or the local `/invoke` endpoint: the
//!   payload the caller sent, as it is.
//!
//! ## Parts
//! - [`Request::from_event`]: tells the two shapes apart and extracts the query and the body.
//! - [`Request::json_body`]: the body read as the examples read it ([`JsonBody`]).
//! - [`InputError`]: a function URL payload whose body cannot be decoded.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

/// What a caller sent, whichever way it came.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Whether the event was a function URL request (payload format version 2.0).
    pub function_url: bool,
    /// The query parameters of a function URL request, in the order given; empty for raw events.
    pub query: Vec<(String, String)>,
    /// The body: the function URL request's body (decoded from base64 if it was), or the raw event.
    pub body: Vec<u8>,
}

/// A function URL request this module cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// `isBase64Encoded` is true but `body` is not standard base64.
    InvalidBase64(String),
    /// `body` is present but is not a string.
    BodyNotText,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBase64(reason) => write!(f, "the request body is marked base64 but does not decode: {reason}"),
            Self::BodyNotText => f.write_str("the function URL payload's \"body\" is not a string"),
        }
    }
}

impl std::error::Error for InputError {}

/// The body, read as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonBody {
    /// No body, only white space, or JSON `null`: the caller asked for nothing in particular.
    Empty,
    /// A JSON object: the only shape the examples take options from.
    Object(Map<String, Value>),
    /// Anything else: valid JSON that is not an object (e.g. the Swift example's
    /// `"this is not used"`), or not JSON at all. Carries why it is not an object.
    NotAnObject(String),
}

impl Request {
    /// Reads an event. A JSON object with `"version": "2.0"` and a `requestContext` object is a
    /// function URL request (those two fields are what tells it apart from a raw JSON event that
    /// merely has a `body` field); everything else is a raw event and becomes the body as it is.
    pub fn from_event(event: &[u8]) -> Result<Self, InputError> {
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(event) else {
            return Ok(Self::raw(event));
        };
        let is_url = doc.get("version").and_then(Value::as_str) == Some("2.0")
            && doc.get("requestContext").is_some_and(Value::is_object);
        if !is_url {
            return Ok(Self::raw(event));
        }
        let body = match doc.get("body") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(text)) => {
                if doc.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
                    base64::engine::general_purpose::STANDARD
                        .decode(text.as_bytes())
                        .map_err(|e| InputError::InvalidBase64(e.to_string()))?
                } else {
                    text.as_bytes().to_vec()
                }
            }
            Some(_) => return Err(InputError::BodyNotText),
        };
        Ok(Self { function_url: true, query: query_of(&doc), body })
    }

    fn raw(event: &[u8]) -> Self {
        Self { function_url: false, query: Vec::new(), body: event.to_vec() }
    }

    /// The first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body read as JSON; see [`JsonBody`].
    pub fn json_body(&self) -> JsonBody {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return JsonBody::Empty;
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => JsonBody::Object(map),
            Ok(Value::Null) => JsonBody::Empty,
            Ok(other) => JsonBody::NotAnObject(format!("the body is JSON but not an object: {other}")),
            Err(e) => JsonBody::NotAnObject(format!("the body is not JSON: {e}")),
        }
    }
}

/// The query of a function URL request: `queryStringParameters` (repeated keys already joined
/// with commas by the service, FURL "Request payload"), else `rawQueryString` decoded here.
fn query_of(doc: &Map<String, Value>) -> Vec<(String, String)> {
    if let Some(Value::Object(params)) = doc.get("queryStringParameters")
        && !params.is_empty()
    {
        return params.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect();
    }
    let raw = doc.get("rawQueryString").and_then(Value::as_str).unwrap_or("");
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// Decodes `+` and `%XX` in a query component (the `application/x-www-form-urlencoded` rules);
/// a malformed escape stays as written rather than failing the whole request.
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url_event(query: Value, raw_query: &str, body: Option<&str>, base64: bool) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "version": "2.0",
            "rawPath": "/",
            "rawQueryString": raw_query,
            "queryStringParameters": query,
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    #[test]
    fn the_captured_fixture_is_a_function_url_request_without_body() {
        // The real request AWS delivered (crates/emulator/tests/fixtures/function-url-request-v2.json,
        // outside this crate, so trimmed and copied here) with the fields that matter here; it has
        // no `body` and no query.
        let fixture = br#"{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"",
            "headers":{"accept":"*/*"},"requestContext":{"http":{"method":"GET","path":"/"}},
            "isBase64Encoded":false}"#;
        let request = Request::from_event(fixture).unwrap();
        assert!(request.function_url);
        assert!(request.query.is_empty());
        assert!(request.body.is_empty());
        assert_eq!(request.json_body(), JsonBody::Empty);
    }

    #[test]
    fn a_url_body_in_base64_is_decoded() {
        let event = url_event(json!({}), "", Some("eyJjb3VudCI6NX0="), true);
        let request = Request::from_event(&event).unwrap();
        assert_eq!(request.body, br#"{"count":5}"#);
        let JsonBody::Object(map) = request.json_body() else { panic!("an object") };
        assert_eq!(map["count"], 5);
    }

    #[test]
    fn a_url_body_in_plain_text_is_kept() {
        let event = url_event(json!({}), "", Some(r#"{"scenario":"ok"}"#), false);
        assert_eq!(Request::from_event(&event).unwrap().body, br#"{"scenario":"ok"}"#);
    }

    #[test]
    fn bad_base64_and_non_text_bodies_are_errors() {
        let event = url_event(json!({}), "", Some("not base64!"), true);
        assert!(matches!(Request::from_event(&event), Err(InputError::InvalidBase64(_))));
        let mut doc: Value = serde_json::from_slice(&url_event(json!({}), "", None, false)).unwrap();
        doc["body"] = json!(42);
        let event = serde_json::to_vec(&doc).unwrap();
        assert_eq!(Request::from_event(&event), Err(InputError::BodyNotText));
    }

    #[test]
    fn query_parameters_come_from_the_parsed_map_or_the_raw_string() {
        let event = url_event(json!({"scenario": "not-found", "size_mb": "2"}), "ignored=1", None, false);
        let request = Request::from_event(&event).unwrap();
        assert_eq!(request.query_param("scenario"), Some("not-found"));
        assert_eq!(request.query_param("size_mb"), Some("2"));
        assert_eq!(request.query_param("ignored"), None, "the parsed map wins when present");

        let event = url_event(json!({}), "scenario=fail-mid-stream&note=a+b%21&bad=%zz&flag", None, false);
        let request = Request::from_event(&event).unwrap();
        assert_eq!(request.query_param("scenario"), Some("fail-mid-stream"));
        assert_eq!(request.query_param("note"), Some("a b!"));
        assert_eq!(request.query_param("bad"), Some("%zz"), "a malformed escape is kept");
        assert_eq!(request.query_param("flag"), Some(""));
    }

    #[test]
    fn raw_events_are_bodies_whatever_they_hold() {
        for raw in
            [&br#"{"scenario":"slow"}"#[..], br#""this is not used""#, b"plain text", b"", br#"{"version":"1.0"}"#]
        {
            let request = Request::from_event(raw).unwrap();
            assert!(!request.function_url, "{:?}", String::from_utf8_lossy(raw));
            assert_eq!(request.body, raw);
        }
        // `version` 2.0 alone is not enough: a raw event may have such a field.
        let request = Request::from_event(br#"{"version":"2.0","body":"x"}"#).unwrap();
        assert!(!request.function_url);
    }

    #[test]
    fn bodies_read_as_json() {
        let read = |body: &[u8]| Request { body: body.to_vec(), ..Request::default() }.json_body();
        assert_eq!(read(b"  \n"), JsonBody::Empty);
        assert_eq!(read(b"null"), JsonBody::Empty);
        assert!(matches!(read(br#"{"a":1}"#), JsonBody::Object(m) if m["a"] == 1));
        assert!(matches!(read(br#""this is not used""#), JsonBody::NotAnObject(why) if why.contains("not an object")));
        assert!(matches!(read(b"{oops"), JsonBody::NotAnObject(why) if why.contains("not JSON")));
    }
}
