//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default; not a stable
//! API). They take plain pieces, build the `http` types the emulator's internals take, and call
//! the same functions the front ends call.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::SystemTime;

use crate::payload::{UrlRequestInfo, function_url_event};
use crate::rest_event::{Resource, RestRequestInfo, rest_proxy_event};

/// Builds request parts from pieces; `None` when the pieces are not a valid HTTP request head
/// (hyper would have refused such a request before any handler saw it).
fn parts(method: &[u8], uri: &str, headers: &[(Vec<u8>, Vec<u8>)]) -> Option<http::request::Parts> {
    let mut builder = http::Request::builder().method(http::Method::from_bytes(method).ok()?).uri(uri);
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name).ok()?;
        let value = http::HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(name, value);
    }
    Some(builder.body(()).ok()?.into_parts().0)
}

/// The SigV4 verifier on a request made of these pieces, against the key pair given. `Ok` with
/// the caller's access key, `Err` with the refusal's message; `None` for an invalid head.
pub fn verify_sigv4(
    method: &[u8],
    uri: &str,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
    now: SystemTime,
) -> Option<Result<String, String>> {
    let parts = parts(method, uri, headers)?;
    let expected = crate::auth::Expected { access_key_id, secret_access_key, service: crate::auth::LAMBDA };
    Some(crate::auth::verify(&parts, body, expected, now).map_err(|r| r.message))
}

/// The function URL event (payload 2.0) for a request made of these pieces; `None` for an
/// invalid head.
pub fn url_event(method: &[u8], uri: &str, headers: &[(Vec<u8>, Vec<u8>)], body: &[u8]) -> Option<Vec<u8>> {
    let parts = parts(method, uri, headers)?;
    let info = UrlRequestInfo {
        request_id: "fuzz",
        peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 1)),
        account_id: "000000000000",
        iam_access_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    Some(function_url_event(&parts, body, &info))
}

/// The API Gateway REST API event (payload 1.0) for a request made of these pieces, as the
/// `{proxy+}` resource of stage `prod` sees it; `None` for an invalid head.
pub fn rest_event(method: &[u8], uri: &str, headers: &[(Vec<u8>, Vec<u8>)], body: &[u8]) -> Option<Vec<u8>> {
    let parts = parts(method, uri, headers)?;
    let path = parts.uri.path().strip_prefix("/prod").filter(|p| p.starts_with('/')).unwrap_or("/").to_owned();
    let info = RestRequestInfo {
        request_id: "fuzz",
        extended_request_id: "fuzz=",
        peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 1)),
        local_port: 1,
        account_id: "000000000000",
        api_id: "fuzz",
        stage: "prod",
        stage_variables: &[],
        resource: Resource::Proxy,
        path: &path,
        iam_access_key: None,
        api_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    Some(rest_proxy_event(&parts, body, &info))
}
