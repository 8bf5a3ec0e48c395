//! Typed JSON events (feature `json`, on by default): a handler that takes the author's own
//! `E: DeserializeOwned` instead of the raw bytes, as the Swift runtime's
//! `StreamingLambdaHandlerWithEvent` takes a `Decodable` (SWIFT
//! `Examples/Streaming+Codable/Sources/LambdaStreaming+Codable.swift`).
//!
//! ## One type, three ways in
//! The same function is reached raw (direct invocation, InvokeWithResponseStream, the local
//! `/invoke`, which all deliver the caller's payload as it is) or wrapped in an HTTP request (a
//! function URL's payload format 2.0, FURL "Request payload"; an API Gateway REST proxy request,
//! APIGW). [`decode_event`] tells them apart and decodes `E` from the payload itself or from the
//! request's `body` (base64-decoded first when `isBase64Encoded` is true), as Swift's adapter
//! does with its `FunctionURLRequest` and `APIGatewayRequest` attempts before decoding "as-is".
//!
//! Unlike Swift, which tries to decode each wrapper type and takes the first that fits, the shape
//! is recognised by the fields that define it, so that a raw event with optional fields is never
//! mistaken for an empty request:
//! - a JSON object with `"version": "2.0"` and a `requestContext` holding an `http` object is a
//!   function URL request (API Gateway HTTP APIs use the same shape but cannot stream, APIGW);
//! - a JSON object with a string `httpMethod` and a `requestContext` object is an API Gateway
//!   REST proxy request (payload format 1.0);
//! - anything else is the event itself.
//!
//! A raw event that happens to have those fields is read as a request: name the payload's fields
//! differently if that can happen.
//!
//! ## Parts
//! - [`json_handler_fn`]: the handler gets `E`.
//! - [`json_request_handler_fn`]: the handler gets a [`JsonEvent<E>`]: `E` and, when the event
//!   came through an HTTP front end, the whole request as an `aws_lambda_events` type
//!   ([`HttpRequest`]): headers, query, cookies, the caller's identity.
//! - [`decode_event`]: the decoding alone, for hand-written [`StreamingHandler`]s.
//! - [`EventError`]: why an event did not decode, with a message that says what was expected.
//!
//! ## A payload that does not decode
//! Both handler makers answer it themselves, before the first byte and without calling the
//! handler: status **400** with `content-type: application/json` and
//! `{"errorType":"InvalidEvent","errorMessage":"..."}` through the HTTP-integration prelude, so a
//! function URL or `/invoke` caller gets a 400 that says what is wrong, and an
//! InvokeWithResponseStream caller gets the prelude and that document as the payload (as for any
//! answer with a status, docs/protocol.md §2). Swift instead throws the decoding error, which
//! Lambda reports as a function error (a 502 on a function URL); a malformed request is the
//! caller's fault, so the answer here is a client error and the invocation is not a failure.

use std::marker::PhantomData;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine as _;
use bytes::Bytes;
use lambda_stream_protocol::Prelude;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::context::LambdaContext;
use crate::error::EventError;
use crate::handler::{BoxError, StreamingHandler};
use crate::writer::ResponseStreamWriter;

/// The HTTP request an event arrived in, as `aws_lambda_events` types it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HttpRequest {
    /// A function URL request (payload format 2.0).
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
    /// An API Gateway REST proxy request (payload format 1.0), e.g. a REST API streaming its
    /// integration response.
    ApiGateway(Box<ApiGatewayProxyRequest>),
}

/// A decoded event: the author's type and, when it came through an HTTP front end, the request.
#[derive(Debug, Clone)]
pub struct JsonEvent<E> {
    /// The payload: the raw event, or the request's body, decoded as `E`.
    pub payload: E,
    /// The request around the payload; `None` for a raw event.
    pub request: Option<HttpRequest>,
}

/// Where the payload was found; names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Raw,
    FunctionUrl,
    ApiGateway,
}

impl Shape {
    fn of(doc: &Map<String, Value>) -> Self {
        let context = doc.get("requestContext").and_then(Value::as_object);
        if doc.get("version").and_then(Value::as_str) == Some("2.0")
            && context.is_some_and(|c| c.get("http").is_some_and(Value::is_object))
        {
            Self::FunctionUrl
        } else if doc.get("httpMethod").is_some_and(Value::is_string) && context.is_some() {
            Self::ApiGateway
        } else {
            Self::Raw
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Raw => "the event",
            Self::FunctionUrl => "the function URL request's body",
            Self::ApiGateway => "the API Gateway request's body",
        }
    }
}

/// Decodes an event as `E`, raw or inside a function URL or API Gateway request (see the module
/// documentation for how the shape is recognised), and keeps the request.
pub fn decode_event<E: DeserializeOwned>(event: &[u8]) -> Result<JsonEvent<E>, EventError> {
    decode(event, true)
}

/// The decoding; the typed request is built only when `keep_request`.
fn decode<E: DeserializeOwned>(event: &[u8], keep_request: bool) -> Result<JsonEvent<E>, EventError> {
    let expected = short_type_name::<E>();
    let invalid = |shape: Shape, reason: String| EventError::Invalid { what: shape.what(), expected, reason };
    let doc: Value = serde_json::from_slice(event).map_err(|e| invalid(Shape::Raw, e.to_string()))?;
    let shape = match &doc {
        Value::Object(map) => Shape::of(map),
        _ => Shape::Raw,
    };
    if shape == Shape::Raw {
        let payload = serde_json::from_value(doc).map_err(|e| invalid(shape, e.to_string()))?;
        return Ok(JsonEvent { payload, request: None });
    }
    let body = request_body(&doc, shape)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EventError::EmptyBody { what: shape.what(), expected });
    }
    let payload = serde_json::from_slice(&body).map_err(|e| invalid(shape, e.to_string()))?;
    let request = if keep_request {
        let typed = |e: serde_json::Error| EventError::Request { what: shape.what(), reason: e.to_string() };
        Some(match shape {
            Shape::FunctionUrl => HttpRequest::FunctionUrl(Box::new(serde_json::from_value(doc).map_err(typed)?)),
            _ => HttpRequest::ApiGateway(Box::new(serde_json::from_value(doc).map_err(typed)?)),
        })
    } else {
        None
    };
    Ok(JsonEvent { payload, request })
}

/// A request's `body`, base64-decoded when `isBase64Encoded` says so; empty when absent.
fn request_body(doc: &Value, shape: Shape) -> Result<Vec<u8>, EventError> {
    let text = match doc.get("body") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => text,
        Some(_) => {
            return Err(EventError::Request { what: shape.what(), reason: "\"body\" is not a string".into() });
        }
    };
    if doc.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| EventError::Request { what: shape.what(), reason: format!("the body is marked base64: {e}") })
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// `my_crate::Order` → `Order`, for messages a caller reads.
fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// The error type of an answer to a payload that does not decode.
pub const INVALID_EVENT: &str = "InvalidEvent";

/// Answers an event that did not decode: 400, the error as JSON, before the first byte.
async fn reject(writer: &mut ResponseStreamWriter, error: &EventError) -> Result<(), BoxError> {
    tracing::warn!("answered 400: {error}");
    let document = serde_json::json!({ "errorType": INVALID_EVENT, "errorMessage": error.to_string() });
    writer.write_status_and_headers(Prelude::with_status(400).header("content-type", "application/json")).await?;
    writer.write_and_finish(document.to_string()).await?;
    Ok(())
}

/// A [`StreamingHandler`] whose closure takes a decoded `E`; see [`json_handler_fn`].
#[derive(Debug)]
pub struct JsonHandlerFn<E, F> {
    f: F,
    event: PhantomData<fn() -> E>,
}

/// Turns an async closure taking the author's event type into a [`StreamingHandler`].
///
/// The event is decoded raw or from a function URL or API Gateway request's body (see the module
/// documentation); one that does not decode is answered with a 400 and the closure is not called.
///
/// ```
/// use lambda_stream::{BoxError, LambdaContext, ResponseStreamWriter, json_handler_fn};
///
/// #[derive(serde::Deserialize)]
/// struct Greeting {
///     name: String,
/// }
///
/// let hello = json_handler_fn(async |event: Greeting, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
///     writer.write_and_finish(format!("hello, {}\n", event.name)).await?;
///     Ok::<(), BoxError>(())
/// });
/// # let _ = hello;
/// ```
pub fn json_handler_fn<E, F, Er>(f: F) -> JsonHandlerFn<E, F>
where
    E: DeserializeOwned,
    F: AsyncFn(E, &mut ResponseStreamWriter, LambdaContext) -> Result<(), Er>,
    Er: Into<BoxError>,
{
    JsonHandlerFn { f, event: PhantomData }
}

impl<E, F, Er> StreamingHandler for JsonHandlerFn<E, F>
where
    E: DeserializeOwned,
    F: AsyncFn(E, &mut ResponseStreamWriter, LambdaContext) -> Result<(), Er>,
    Er: Into<BoxError>,
{
    type Error = BoxError;

    async fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        context: LambdaContext,
    ) -> Result<(), BoxError> {
        match decode::<E>(&event, false) {
            Ok(decoded) => {
                drop(event);
                (self.f)(decoded.payload, writer, context).await.map_err(Into::into)
            }
            Err(error) => reject(writer, &error).await,
        }
    }
}

/// A [`StreamingHandler`] whose closure takes a [`JsonEvent<E>`]; see [`json_request_handler_fn`].
#[derive(Debug)]
pub struct JsonRequestHandlerFn<E, F> {
    f: F,
    event: PhantomData<fn() -> E>,
}

/// Like [`json_handler_fn`], for handlers that also need the HTTP request the event came in
/// (headers, query, cookies, the caller): the closure gets a [`JsonEvent<E>`].
pub fn json_request_handler_fn<E, F, Er>(f: F) -> JsonRequestHandlerFn<E, F>
where
    E: DeserializeOwned,
    F: AsyncFn(JsonEvent<E>, &mut ResponseStreamWriter, LambdaContext) -> Result<(), Er>,
    Er: Into<BoxError>,
{
    JsonRequestHandlerFn { f, event: PhantomData }
}

impl<E, F, Er> StreamingHandler for JsonRequestHandlerFn<E, F>
where
    E: DeserializeOwned,
    F: AsyncFn(JsonEvent<E>, &mut ResponseStreamWriter, LambdaContext) -> Result<(), Er>,
    Er: Into<BoxError>,
{
    type Error = BoxError;

    async fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        context: LambdaContext,
    ) -> Result<(), BoxError> {
        match decode::<E>(&event, true) {
            Ok(decoded) => {
                drop(event);
                (self.f)(decoded, writer, context).await.map_err(Into::into)
            }
            Err(error) => reject(writer, &error).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Order {
        count: u32,
        delay_ms: Option<u64>,
    }

    fn url_request(body: &str, base64: bool) -> Vec<u8> {
        serde_json::json!({
            "version": "2.0",
            "rawPath": "/orders",
            "rawQueryString": "a=1",
            "headers": { "x-caller": "test" },
            "requestContext": { "http": { "method": "POST", "path": "/orders" }, "timeEpoch": 0 },
            "body": body,
            "isBase64Encoded": base64,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_raw_event_decodes_as_is() {
        let decoded = decode_event::<Order>(br#"{"count": 3}"#).unwrap();
        assert_eq!(decoded.payload, Order { count: 3, delay_ms: None });
        assert!(decoded.request.is_none());
    }

    #[test]
    fn a_function_url_request_gives_its_body_plain_or_base64_and_itself() {
        let decoded = decode_event::<Order>(&url_request(r#"{"count":2,"delayMs":5}"#, false)).unwrap();
        assert_eq!(decoded.payload, Order { count: 2, delay_ms: Some(5) });
        let Some(HttpRequest::FunctionUrl(request)) = decoded.request else { panic!("{:?}", decoded.request) };
        assert_eq!(request.raw_path.as_deref(), Some("/orders"));
        assert_eq!(request.headers.get("x-caller").unwrap(), "test");
        let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"count":7}"#);
        let decoded = decode_event::<Order>(&url_request(&encoded, true)).unwrap();
        assert_eq!(decoded.payload.count, 7);
    }

    #[test]
    fn an_api_gateway_rest_request_gives_its_body() {
        let event = serde_json::json!({
            "resource": "/orders", "path": "/orders", "httpMethod": "POST",
            "headers": {}, "requestContext": { "stage": "prod", "httpMethod": "POST", "resourcePath": "/orders" },
            "body": "{\"count\":4}", "isBase64Encoded": false,
        });
        let decoded = decode_event::<Order>(event.to_string().as_bytes()).unwrap();
        assert_eq!(decoded.payload.count, 4);
        let Some(HttpRequest::ApiGateway(request)) = decoded.request else { panic!("{:?}", decoded.request) };
        assert_eq!(request.http_method, http::Method::POST);
    }

    #[test]
    fn a_raw_event_with_a_body_field_is_not_a_request() {
        #[derive(Deserialize)]
        struct Note {
            body: String,
        }
        let decoded = decode_event::<Note>(br#"{"body": "hi", "version": "2.0"}"#).unwrap();
        assert_eq!(decoded.payload.body, "hi");
        assert!(decoded.request.is_none());
    }

    #[test]
    fn a_raw_event_with_only_one_of_the_rest_request_fields_is_not_a_request() {
        // A REST proxy request needs both a string `httpMethod` and a `requestContext` object.
        for event in [
            serde_json::json!({ "count": 5, "httpMethod": "POST" }),
            serde_json::json!({ "count": 5, "requestContext": { "stage": "prod" } }),
        ] {
            let decoded = decode_event::<Order>(event.to_string().as_bytes()).unwrap();
            assert_eq!(decoded.payload, Order { count: 5, delay_ms: None }, "{event}");
            assert!(decoded.request.is_none(), "{event}");
        }
    }

    #[test]
    fn what_does_not_decode_says_where_and_what_was_expected() {
        let e = decode_event::<Order>(b"not json").unwrap_err().to_string();
        assert!(e.starts_with("the event does not decode as Order: expected ident"), "{e}");
        let e = decode_event::<Order>(br#"{"count": "three"}"#).unwrap_err().to_string();
        assert!(e.contains("the event does not decode as Order: invalid type: string \"three\""), "{e}");
        let e = decode_event::<Order>(&url_request("{\"count\": -1}", false)).unwrap_err().to_string();
        assert!(e.contains("the function URL request's body does not decode as Order: invalid value"), "{e}");
        let e = decode_event::<Order>(&url_request("", false)).unwrap_err().to_string();
        assert!(e.contains("the function URL request's body is empty: send JSON for Order"), "{e}");
        let e = decode_event::<Order>(&url_request("%%%", true)).unwrap_err().to_string();
        assert!(e.contains("the body is marked base64"), "{e}");
    }

    #[test]
    fn type_names_are_short() {
        assert_eq!(short_type_name::<Order>(), "Order");
        assert_eq!(short_type_name::<Vec<u8>>(), "Vec");
        assert_eq!(short_type_name::<u32>(), "u32");
    }
}
