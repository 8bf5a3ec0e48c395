//! The function URL event, payload format version 2.0, built on `aws_lambda_events`' types so it
//! deserialises in every runtime that uses them.
//!
//! Shape per FURL ("Request payload") and the captured request in
//! `tests/fixtures/function-url-request-v2.json` (a request as AWS documents it): header names lower case, repeated headers
//! joined with commas, cookies moved from the `cookie` header to `cookies`, query parameters
//! decoded with repeated keys comma-joined, the body as text or base64 with `isBase64Encoded`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlRequestContext, LambdaFunctionUrlRequestContextAuthorizerDescription,
    LambdaFunctionUrlRequestContextAuthorizerIamDescription, LambdaFunctionUrlRequestContextHttpDescription,
};
use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::time::{epoch_millis, request_time};

/// What the URL front end knows about the request besides its head and body.
pub(crate) struct UrlRequestInfo<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) peer: SocketAddr,
    pub(crate) account_id: &'a str,
    /// The IAM caller's access key, when `Auth::Iam` verified the request.
    pub(crate) iam_access_key: Option<&'a str>,
    pub(crate) now: SystemTime,
}

/// Builds the v2.0 event for a request.
pub(crate) fn function_url_event(parts: &http::request::Parts, body: &[u8], info: &UrlRequestInfo<'_>) -> Vec<u8> {
    let mut headers = HeaderMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for name in parts.headers.keys() {
        // The event is JSON text: a value beyond ASCII is taken as UTF-8, with U+FFFD for what is
        // not (obs-text); never dropped or emptied, so the function sees every header it was sent.
        let values: Vec<String> =
            parts.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        if name == http::header::COOKIE {
            let split = values.iter().flat_map(|v| v.split(';')).map(str::trim).filter(|c| !c.is_empty());
            cookies.extend(split.map(str::to_owned));
            continue;
        }
        if let Ok(joined) = HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), joined);
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query: HashMap<String, String> = HashMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_query(k), decode_query(v));
        query
            .entry(k)
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&v);
            })
            .or_insert(v);
    }
    let domain = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let domain_prefix = domain.split(['.', ':']).next().unwrap_or("localhost").to_owned();
    let (body_text, is_base64) = encode_body(parts, body);

    let mut http_desc = LambdaFunctionUrlRequestContextHttpDescription::default();
    http_desc.method = Some(parts.method.as_str().to_owned());
    http_desc.path = Some(parts.uri.path().to_owned());
    http_desc.protocol = Some(format!("{:?}", parts.version));
    http_desc.source_ip = Some(info.peer.ip().to_string());
    http_desc.user_agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);

    let mut context = LambdaFunctionUrlRequestContext::default();
    context.account_id = Some(info.account_id.to_owned());
    context.request_id = Some(info.request_id.to_owned());
    context.apiid = Some(domain_prefix.clone());
    context.domain_name = Some(domain);
    context.domain_prefix = Some(domain_prefix);
    context.time = Some(request_time(info.now));
    context.time_epoch = epoch_millis(info.now) as i64;
    context.http = http_desc;
    context.other.insert("routeKey".into(), Value::from("$default"));
    context.other.insert("stage".into(), Value::from("$default"));
    if let Some(access_key) = info.iam_access_key {
        let mut iam = LambdaFunctionUrlRequestContextAuthorizerIamDescription::default();
        iam.access_key = Some(access_key.to_owned());
        iam.account_id = Some(info.account_id.to_owned());
        iam.caller_id = Some(format!("AIDA{}", access_key.trim_start_matches("AKIA")));
        iam.user_arn = Some(format!("arn:aws:iam::{}:user/local", info.account_id));
        iam.user_id = iam.caller_id.clone();
        let mut authorizer = LambdaFunctionUrlRequestContextAuthorizerDescription::default();
        authorizer.iam = Some(iam);
        context.authorizer = Some(authorizer);
    }

    let mut event = LambdaFunctionUrlRequest::default();
    event.version = Some("2.0".into());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = query;
    event.request_context = context;
    event.body = body_text;
    event.is_base64_encoded = is_base64;
    event.other.insert("routeKey".into(), Value::from("$default"));
    serde_json::to_vec(&event).expect("the event always serialises")
}

/// Text bodies go as they are; anything else (or invalid UTF-8) as base64, as function URLs do.
fn encode_body(parts: &http::request::Parts, body: &[u8]) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let textual = content_type.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded", "yaml"].iter().any(|t| content_type.contains(t));
    match std::str::from_utf8(body) {
        Ok(text) if textual => (Some(text.to_owned()), false),
        _ => (Some(base64::engine::general_purpose::STANDARD.encode(body)), true),
    }
}

/// API Gateway's REST API rule: a UTF-8 body as text, anything else as base64; no body is `None`.
pub(crate) fn encode_body_utf8(body: &[u8]) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    match std::str::from_utf8(body) {
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (Some(base64::engine::general_purpose::STANDARD.encode(body)), true),
    }
}

/// Decodes `%XX` and `+` in a query component; invalid escapes are kept as they are.
pub(crate) fn decode_query(text: &str) -> String {
    percent_decode(&text.replace('+', " "))
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_text_only_when_its_type_is_textual_and_it_is_utf8() {
        let parts = |content_type: &str| {
            http::Request::builder().header("content-type", content_type).body(()).unwrap().into_parts().0
        };
        let text = |s: &str| (Some(s.to_owned()), false);
        assert_eq!(encode_body(&parts("text/plain"), b"hello"), text("hello"));
        assert_eq!(encode_body(&parts("application/json; charset=utf-8"), b"{}"), text("{}"));
        // UTF-8, but not a textual type: base64, as for any binary body.
        assert_eq!(encode_body(&parts("application/octet-stream"), b"hello"), (Some("aGVsbG8=".into()), true));
        // A textual type that is not UTF-8: base64 too.
        assert_eq!(encode_body(&parts("text/plain"), &[0xff, 0xfe]), (Some("//4=".into()), true));
        assert_eq!(encode_body(&parts("text/plain"), b""), (None, false));
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(percent_decode("a%3Ab%2F"), "a:b/");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(decode_query("a+b%20c"), "a b c");
    }
}
