//! The API Gateway REST API proxy event, payload format 1.0, built on `aws_lambda_events`'
//! `ApiGatewayProxyRequest` so it deserialises in every runtime that uses those types.
//!
//! A streaming Lambda proxy integration passes the same input as a buffered one (APIGW "Lambda
//! proxy integration format for response streaming"): `resource`, `path`, `httpMethod`,
//! `headers`, `multiValueHeaders`, `queryStringParameters`, `multiValueQueryStringParameters`,
//! `pathParameters`, `stageVariables`, `requestContext`, `body`, `isBase64Encoded`.
//!
//! ## Choices where the shape leaves room
//! - A repeated header or query key: the single-value map holds its **last** value, the
//!   multi-value map all of them in order (what LocalStack's REST API emulation does, LOCALSTACK
//!   `services/apigateway/next_gen/execute_api/integrations/aws.py`). Header names arrive in
//!   lower case (hyper's), where AWS keeps the client's spelling.
//! - Empty maps (no query, no path parameters on the root resource, no stage variables) are
//!   `null`, as API Gateway sends them.
//! - The body: UTF-8 text as it is; anything else base64 with `isBase64Encoded: true` (as if the
//!   API had binary media types for it; LocalStack does the same). No body is `null`.
//! - `path` is the request path below the stage as received; `pathParameters.proxy` is that path
//!   without its leading `/`, percent-decoded (API Gateway decodes request parameters before it
//!   passes them on, API Gateway developer guide, "Important notes" for REST APIs).
//! - `X-Forwarded-For`, `X-Forwarded-Port` and `X-Forwarded-Proto` are added, as API Gateway adds
//!   them for its caller.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use aws_lambda_events::event::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::payload::{decode_query, encode_body_utf8, percent_decode};
use crate::time::{epoch_millis, request_time};

/// Which resource of the API matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `/`: the stage's root.
    Root,
    /// `/{proxy+}`: any path below the root.
    Proxy,
}

impl Resource {
    /// The resource path as API Gateway names it.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Resource::Root => "/",
            Resource::Proxy => "/{proxy+}",
        }
    }
}

/// What the API Gateway front end knows about the request besides its head and body.
pub(crate) struct RestRequestInfo<'a> {
    /// API Gateway's request id (`x-amzn-RequestId`).
    pub(crate) request_id: &'a str,
    /// API Gateway's extended request id (`x-amz-apigw-id`).
    pub(crate) extended_request_id: &'a str,
    pub(crate) peer: SocketAddr,
    /// The port the client connected to (for `X-Forwarded-Port`).
    pub(crate) local_port: u16,
    pub(crate) account_id: &'a str,
    pub(crate) api_id: &'a str,
    pub(crate) stage: &'a str,
    pub(crate) stage_variables: &'a [(String, String)],
    pub(crate) resource: Resource,
    /// The path below the stage, starting with `/`.
    pub(crate) path: &'a str,
    /// The IAM caller's access key, when SigV4 was verified.
    pub(crate) iam_access_key: Option<&'a str>,
    /// The API key the caller gave, when the API requires one.
    pub(crate) api_key: Option<&'a str>,
    pub(crate) now: SystemTime,
}

/// Builds the payload format 1.0 event for a request.
pub(crate) fn rest_proxy_event(parts: &http::request::Parts, body: &[u8], info: &RestRequestInfo<'_>) -> Vec<u8> {
    let mut multi_headers = parts.headers.clone();
    let forwarded = [
        ("x-forwarded-for", info.peer.ip().to_string()),
        ("x-forwarded-port", info.local_port.to_string()),
        ("x-forwarded-proto", "http".to_owned()),
    ];
    for (name, value) in forwarded {
        if let Ok(value) = HeaderValue::from_str(&value) {
            multi_headers.insert(HeaderName::from_static(name), value);
        }
    }
    let mut headers = HeaderMap::new();
    for name in multi_headers.keys() {
        if let Some(last) = multi_headers.get_all(name).iter().next_back() {
            headers.insert(name.clone(), last.clone());
        }
    }

    let mut multi_query: Vec<(String, Vec<String>)> = Vec::new();
    for pair in parts.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_query(k), decode_query(v));
        match multi_query.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) => values.push(v),
            None => multi_query.push((k, vec![v])),
        }
    }
    let last_query: HashMap<String, String> =
        multi_query.iter().filter_map(|(k, vs)| Some((k.clone(), vs.last()?.clone()))).collect();

    let domain = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let domain_prefix = domain.split(['.', ':']).next().unwrap_or("localhost").to_owned();
    let user_agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);

    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(info.peer.ip().to_string());
    identity.user_agent = user_agent;
    identity.api_key = info.api_key.map(str::to_owned);
    if info.api_key.is_some() {
        identity.api_key_id = Some(format!("{}-key", info.api_id));
    }
    if let Some(access_key) = info.iam_access_key {
        identity.access_key = Some(access_key.to_owned());
        identity.account_id = Some(info.account_id.to_owned());
        let caller = format!("AIDA{}", access_key.trim_start_matches("AKIA"));
        identity.caller = Some(caller.clone());
        identity.user = Some(caller);
        identity.user_arn = Some(format!("arn:aws:iam::{}:user/local", info.account_id));
    }

    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(info.account_id.to_owned());
    context.apiid = Some(info.api_id.to_owned());
    context.resource_id = Some(match info.resource {
        Resource::Root => "root00".to_owned(),
        Resource::Proxy => "proxy0".to_owned(),
    });
    context.stage = Some(info.stage.to_owned());
    context.domain_name = Some(domain);
    context.domain_prefix = Some(domain_prefix);
    context.request_id = Some(info.request_id.to_owned());
    context.protocol = Some(format!("{:?}", parts.version));
    context.identity = identity;
    context.resource_path = Some(info.resource.path().to_owned());
    context.path = Some(format!("/{}{}", info.stage, info.path));
    context.http_method = parts.method.clone();
    context.request_time = Some(request_time(info.now));
    context.request_time_epoch = epoch_millis(info.now) as i64;
    context.other.insert("extendedRequestId".into(), Value::from(info.extended_request_id));

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(info.resource.path().to_owned());
    event.path = Some(info.path.to_owned());
    event.http_method = parts.method.clone();
    event.headers = headers;
    event.multi_value_headers = multi_headers;
    event.query_string_parameters = last_query.into();
    event.multi_value_query_string_parameters = multi_query.into_iter().collect::<HashMap<_, _>>().into();
    if info.resource == Resource::Proxy {
        let proxy = percent_decode(info.path.trim_start_matches('/'));
        event.path_parameters = HashMap::from([("proxy".to_owned(), proxy)]);
    }
    event.stage_variables = info.stage_variables.iter().cloned().collect();
    event.request_context = context;
    let (body, is_base64) = encode_body_utf8(body);
    event.body = body;
    event.is_base64_encoded = is_base64;

    // Serialising a struct of strings and maps into a Value cannot fail.
    let mut value = serde_json::to_value(&event).expect("the event always serialises");
    if let Value::Object(map) = &mut value {
        for key in ["queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables"] {
            if map.get(key).is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty)) {
                map.insert(key.to_owned(), Value::Null);
            }
        }
    }
    serde_json::to_vec(&value).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(resource: Resource, path: &'a str, vars: &'a [(String, String)]) -> RestRequestInfo<'a> {
        RestRequestInfo {
            request_id: "req-1",
            extended_request_id: "ext-1=",
            peer: "127.0.0.1:5555".parse().unwrap(),
            local_port: 9000,
            account_id: "000000000000",
            api_id: "local",
            stage: "prod",
            stage_variables: vars,
            resource,
            path,
            iam_access_key: None,
            api_key: None,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn repeated_headers_and_query_keys_keep_the_last_value_and_all_values() {
        let req = http::Request::builder()
            .method("POST")
            .uri("/prod/a%20b/c?x=1&x=2&y=%21")
            .header("host", "api.local:9000")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let event = rest_proxy_event(&parts, b"{\"a\":1}", &info(Resource::Proxy, "/a%20b/c", &[]));
        let v: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(v["resource"], "/{proxy+}");
        assert_eq!(v["path"], "/a%20b/c");
        assert_eq!(v["httpMethod"], "POST");
        assert_eq!(v["headers"]["x-multi"], "two");
        assert_eq!(v["multiValueHeaders"]["x-multi"], serde_json::json!(["one", "two"]));
        assert_eq!(v["headers"]["x-forwarded-port"], "9000");
        assert_eq!(v["queryStringParameters"], serde_json::json!({"x": "2", "y": "!"}));
        assert_eq!(v["multiValueQueryStringParameters"]["x"], serde_json::json!(["1", "2"]));
        assert_eq!(v["pathParameters"], serde_json::json!({"proxy": "a b/c"}));
        assert_eq!(v["stageVariables"], Value::Null);
        assert_eq!(v["requestContext"]["stage"], "prod");
        assert_eq!(v["requestContext"]["path"], "/prod/a%20b/c");
        assert_eq!(v["requestContext"]["resourcePath"], "/{proxy+}");
        assert_eq!(v["requestContext"]["requestId"], "req-1");
        assert_eq!(v["requestContext"]["extendedRequestId"], "ext-1=");
        assert_eq!(v["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(v["body"], "{\"a\":1}");
        assert_eq!(v["isBase64Encoded"], false);
        // It reads back into the type runtimes use.
        let back: ApiGatewayProxyRequest = serde_json::from_slice(&event).unwrap();
        assert_eq!(back.multi_value_query_string_parameters.all("x"), Some(vec!["1", "2"]));
    }

    #[test]
    fn the_root_has_no_path_parameters_and_binary_bodies_are_base64() {
        let (parts, ()) = http::Request::builder().uri("/prod").body(()).unwrap().into_parts();
        let vars = [("v".to_owned(), "1".to_owned())];
        let event = rest_proxy_event(&parts, &[0xff, 0x00], &info(Resource::Root, "/", &vars));
        let v: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(v["resource"], "/");
        assert_eq!(v["pathParameters"], Value::Null);
        assert_eq!(v["queryStringParameters"], Value::Null);
        assert_eq!(v["stageVariables"], serde_json::json!({"v": "1"}));
        assert_eq!(v["body"], "/wA=");
        assert_eq!(v["isBase64Encoded"], true);
        let (parts, ()) = http::Request::builder().uri("/prod").body(()).unwrap().into_parts();
        let v: Value = serde_json::from_slice(&rest_proxy_event(&parts, b"", &info(Resource::Root, "/", &[]))).unwrap();
        assert_eq!(v["body"], Value::Null);
    }

    proptest::proptest! {
        /// Whatever a client sends that hyper lets through, the event is JSON that the events
        /// crate reads back, with every header value and every query value kept.
        #[test]
        fn any_request_gives_a_readable_event(
            query in "[ -~]{0,40}",
            values in proptest::collection::vec("[ -~]{0,12}", 0..5),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            path in "(/[a-zA-Z0-9%._~-]{0,8}){1,4}",
        ) {
            let mut builder = http::Request::builder().method("PUT");
            let uri = format!("/prod{path}?{}", query.replace(['#', ' '], "+"));
            let Ok(uri) = uri.parse::<http::Uri>() else { return Ok(()) };
            builder = builder.uri(uri);
            for value in &values {
                builder = builder.header("x-v", value.trim());
            }
            let (parts, ()) = builder.body(()).unwrap().into_parts();
            let event = rest_proxy_event(&parts, &body, &info(Resource::Proxy, &path, &[]));
            let back: ApiGatewayProxyRequest = serde_json::from_slice(&event).unwrap();
            proptest::prop_assert_eq!(back.multi_value_headers.get_all("x-v").iter().count(), values.len());
            let v: Value = serde_json::from_slice(&event).unwrap();
            proptest::prop_assert_eq!(v["isBase64Encoded"].as_bool(), Some(!body.is_empty() && std::str::from_utf8(&body).is_err()));
        }
    }
}
