//! Target `paths`: the Runtime API and client API path parsers.
//!
//! Input: a path (lossy UTF-8). Invariants, for [`parse_invocation_path`] and
//! [`parse_client_path`]:
//! - sound: whatever a parser accepts is rebuilt, byte for byte, by the matching builder from the
//!   id or name it returned, and that id or name is non-empty and has no `/`;
//! - complete: a path that is a prefix, a non-empty segment without `/` and a known suffix is
//!   accepted (checked by slicing, independently of the parser);
//! - the input itself, used as an id or a function name, round-trips through builder and parser
//!   when it is a valid segment, and is refused when it is not.

use lambda_stream_protocol::paths::{
    self, ClientPath, INVOCATION_PREFIX, InvocationPath, parse_client_path, parse_invocation_path,
};

use crate::Seed;

const IWRS_PREFIX: &str = "/2021-11-15/functions/";
const IWRS_SUFFIX: &str = "/response-streaming-invocations";
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && !s.contains('/')
}

/// The segment between `prefix` and `suffix`, if the path is exactly that and it is valid.
fn segment<'a>(path: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    if path.len() < prefix.len() + suffix.len() || !path.starts_with(prefix) || !path.ends_with(suffix) {
        return None;
    }
    path.get(prefix.len()..path.len() - suffix.len()).filter(|s| valid_segment(s))
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let path = String::from_utf8_lossy(data);
    let path = path.as_ref();

    let invocation = parse_invocation_path(path);
    match invocation {
        Some(InvocationPath::Response(id)) => {
            assert!(valid_segment(id));
            assert_eq!(paths::response(id), path);
        }
        Some(InvocationPath::Error(id)) => {
            assert!(valid_segment(id));
            assert_eq!(paths::error(id), path);
        }
        None => {}
    }
    let expected = segment(path, INVOCATION_PREFIX, "/response")
        .map(InvocationPath::Response)
        .or_else(|| segment(path, INVOCATION_PREFIX, "/error").map(InvocationPath::Error));
    assert_eq!(invocation, expected, "parse_invocation_path({path:?})");

    let client = parse_client_path(path);
    match client {
        Some(ClientPath::InvokeWithResponseStream(name)) => {
            assert!(valid_segment(name));
            assert_eq!(paths::invoke_with_response_stream(name), path);
        }
        Some(ClientPath::Invoke(name)) => {
            assert!(valid_segment(name));
            assert_eq!(paths::invoke(name), path);
        }
        None => {}
    }
    let expected = segment(path, IWRS_PREFIX, IWRS_SUFFIX)
        .map(ClientPath::InvokeWithResponseStream)
        .or_else(|| segment(path, INVOKE_PREFIX, INVOKE_SUFFIX).map(ClientPath::Invoke));
    assert_eq!(client, expected, "parse_client_path({path:?})");

    // The input as an id or a function name.
    let name = path;
    let ok = valid_segment(name);
    assert_eq!(parse_invocation_path(&paths::response(name)), ok.then_some(InvocationPath::Response(name)));
    assert_eq!(parse_invocation_path(&paths::error(name)), ok.then_some(InvocationPath::Error(name)));
    assert_eq!(
        parse_client_path(&paths::invoke_with_response_stream(name)),
        ok.then_some(ClientPath::InvokeWithResponseStream(name))
    );
    assert_eq!(parse_client_path(&paths::invoke(name)), ok.then_some(ClientPath::Invoke(name)));
}

/// Every path the emulator serves, with ids and names as clients send them.
pub fn seeds() -> Vec<Seed> {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:send-numbers:live";
    vec![
        ("next", paths::NEXT.as_bytes().to_vec()),
        ("init-error", paths::INIT_ERROR.as_bytes().to_vec()),
        ("response", paths::response("8476a536-e9f4-11e8-9739-2dfe598c3fcd").into_bytes()),
        ("error", paths::error("8476a536-e9f4-11e8-9739-2dfe598c3fcd").into_bytes()),
        ("iwrs", paths::invoke_with_response_stream("send-numbers").into_bytes()),
        ("iwrs-arn", paths::invoke_with_response_stream(arn).into_bytes()),
        ("invoke", paths::invoke("function").into_bytes()),
        ("invoke-on-iwrs-version", b"/2015-03-31/functions/f/response-streaming-invocations".to_vec()),
        ("nested-id", b"/2018-06-01/runtime/invocation/a/b/response".to_vec()),
        ("id", b"8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_vec()),
    ]
}
