//! # example-event-input
//!
//! How the example functions (`send-numbers`, `conditional-streaming`, and their peers on the
//! official runtime) read what a caller sent, so that all four read it the same way and the
//! rules live in one place.
//!
//! A Lambda event reaches a function in one of three shapes:
//! - through a **function URL**: a JSON document in payload format version 2.0 (FURL "Request
//!   payload"; one AWS delivered is kept in the repository as
//!   `crates/emulator/tests/fixtures/function-url-request-v2.json`), carrying the HTTP request's
//!   query parameters and body, the body base64-encoded when `isBase64Encoded` is true;
//! - through an **API Gateway REST API** (a Lambda proxy integration, buffered or streamed): the
//!   proxy event, payload format 1.0 (APIGW-PROXY "Input format of a Lambda function for proxy
//!   integration"), with `httpMethod`, `queryStringParameters`, `multiValueQueryStringParameters`,
//!   `body` and `isBase64Encoded` the same way;
//! - **raw**, through InvokeWithResponseStream, Invoke or the local `/invoke` endpoint: the
//!   payload the caller sent, as it is.
//!
//! ## Parts
//! - [`Request::from_event`]: tells the shapes apart ([`Via`]) and extracts the query and the body.
//! - [`Request::json_body`]: the body read as the examples read it ([`JsonBody`]).
//! - [`InputError`]: an HTTP request payload whose body cannot be decoded.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

/// Which way an event came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// A raw payload (InvokeWithResponseStream, Invoke, `/invoke`).
    #[default]
    Raw,
    /// A function URL request (payload format version 2.0).
    FunctionUrl,
    /// An API Gateway REST API proxy request (payload format 1.0).
    ApiGateway,
}

/// What a caller sent, whichever way it came.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Which way the event came.
    pub via: Via,
    /// The query parameters of an HTTP request (function URL or API Gateway), each value of a
    /// repeated key in the order given; empty for raw events.
    pub query: Vec<(String, String)>,
    /// The body: the HTTP request's body (decoded from base64 if it was), or the raw event.
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
            Self::BodyNotText => f.write_str("the HTTP request payload's \"body\" is not a string"),
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
    /// Reads an event. A JSON object with a `requestContext` object is an HTTP request when it
    /// also has `"version": "2.0"` (a function URL) or an `httpMethod` string (an API Gateway REST
    /// API proxy event, which has no `version`): those fields are what tell it apart from a raw
    /// JSON event that merely has a `body` field. Everything else is a raw event and becomes the
    /// body as it is.
    pub fn from_event(event: &[u8]) -> Result<Self, InputError> {
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(event) else {
            return Ok(Self::raw(event));
        };
        let has_context = doc.get("requestContext").is_some_and(Value::is_object);
        let via = if has_context && doc.get("version").and_then(Value::as_str) == Some("2.0") {
            Via::FunctionUrl
        } else if has_context && doc.get("httpMethod").is_some_and(Value::is_string) {
            Via::ApiGateway
        } else {
            return Ok(Self::raw(event));
        };
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
        let query = match via {
            Via::ApiGateway => rest_query_of(&doc),
            _ => query_of(&doc),
        };
        Ok(Self { via, query, body })
    }

    fn raw(event: &[u8]) -> Self {
        Self { via: Via::Raw, query: Vec::new(), body: event.to_vec() }
    }

    /// Whether the event was an HTTP request (function URL or API Gateway).
    pub fn is_http(&self) -> bool {
        self.via != Via::Raw
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

/// The query of an API Gateway REST API proxy event: `multiValueQueryStringParameters` (every
/// value of a repeated key), else `queryStringParameters`; API Gateway has decoded both already.
/// Either may be `null` when the request had no query.
fn rest_query_of(doc: &Map<String, Value>) -> Vec<(String, String)> {
    if let Some(Value::Object(params)) = doc.get("multiValueQueryStringParameters")
        && !params.is_empty()
    {
        return params
            .iter()
            .flat_map(|(k, values)| {
                let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
                values.iter().filter_map(|v| Some((k.clone(), v.as_str()?.to_owned())))
            })
            .collect();
    }
    match doc.get("queryStringParameters") {
        Some(Value::Object(params)) => {
            params.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect()
        }
        _ => Vec::new(),
    }
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
        assert_eq!(request.via, Via::FunctionUrl);
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
            assert_eq!(request.via, Via::Raw, "{:?}", String::from_utf8_lossy(raw));
            assert_eq!(request.body, raw);
        }
        // `version` 2.0 alone is not enough: a raw event may have such a field.
        let request = Request::from_event(br#"{"version":"2.0","body":"x"}"#).unwrap();
        assert_eq!(request.via, Via::Raw);
        let request = Request::from_event(br#"{"httpMethod":"GET","body":"x"}"#).unwrap();
        assert_eq!(request.via, Via::Raw, "httpMethod alone is not enough either");
    }

    fn rest_event(query: Value, multi: Value, body: Option<&str>, base64: bool) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "resource": "/{proxy+}",
            "path": "/numbers",
            "httpMethod": "POST",
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi,
            "pathParameters": {"proxy": "numbers"},
            "stageVariables": null,
            "requestContext": {"stage": "prod", "httpMethod": "POST", "requestId": "r"},
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    #[test]
    fn an_api_gateway_rest_event_is_read_like_a_url_request() {
        let event = rest_event(
            json!({"scenario": "slow", "n": "2"}),
            json!({"scenario": ["slow"], "n": ["1", "2"]}),
            Some(r#"{"count":3}"#),
            false,
        );
        let request = Request::from_event(&event).unwrap();
        assert_eq!(request.via, Via::ApiGateway);
        assert!(request.is_http());
        assert_eq!(request.query_param("scenario"), Some("slow"));
        let ns: Vec<_> = request.query.iter().filter(|(k, _)| k == "n").map(|(_, v)| v.as_str()).collect();
        assert_eq!(ns, ["1", "2"], "every value of a repeated key, in order");
        assert_eq!(request.body, br#"{"count":3}"#);

        // No query at all (API Gateway sends null), a base64 body.
        let event = rest_event(Value::Null, Value::Null, Some("eyJjb3VudCI6NX0="), true);
        let request = Request::from_event(&event).unwrap();
        assert!(request.query.is_empty());
        assert_eq!(request.body, br#"{"count":5}"#);
        // Only the single-value map (a hand-written event).
        let event = rest_event(json!({"scenario": "ok"}), Value::Null, None, false);
        assert_eq!(Request::from_event(&event).unwrap().query_param("scenario"), Some("ok"));
        let event = rest_event(Value::Null, Value::Null, Some("%%"), true);
        assert!(matches!(Request::from_event(&event), Err(InputError::InvalidBase64(_))));
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
