//! API paths: the Runtime API the function polls, and the client-facing APIs.
//!
//! Sources: RT-API (the Runtime API, base path `/2018-06-01`), IWRS (client path with version
//! `2021-11-15`), the Lambda API reference for the buffered `Invoke` (`2015-03-31`).

/// Base path of the Runtime API.
pub const RUNTIME_API_BASE: &str = "/2018-06-01";
/// `GET`: wait for the next invocation.
pub const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// `POST`: the function failed to initialise.
pub const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
/// Prefix of the per-invocation paths (`{prefix}{id}/response`, `{prefix}{id}/error`).
pub const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";

/// `POST`: the answer to invocation `request_id`.
pub fn response(request_id: &str) -> String {
    format!("{INVOCATION_PREFIX}{request_id}/response")
}

/// `POST`: the failure of invocation `request_id`, before any response byte.
pub fn error(request_id: &str) -> String {
    format!("{INVOCATION_PREFIX}{request_id}/error")
}

/// What a path under [`INVOCATION_PREFIX`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationPath<'a> {
    /// `{prefix}{id}/response`
    Response(&'a str),
    /// `{prefix}{id}/error`
    Error(&'a str),
}

/// Parses a per-invocation Runtime API path; `None` for anything else.
pub fn parse_invocation_path(path: &str) -> Option<InvocationPath<'_>> {
    let rest = path.strip_prefix(INVOCATION_PREFIX)?;
    let (id, what) = rest.split_once('/')?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    match what {
        "response" => Some(InvocationPath::Response(id)),
        "error" => Some(InvocationPath::Error(id)),
        _ => None,
    }
}

/// The API version in InvokeWithResponseStream's path (IWRS API reference).
pub const IWRS_API_VERSION: &str = "2021-11-15";

/// Prefix of the client-facing function paths of both invoke APIs.
const IWRS_PREFIX: &str = "/2021-11-15/functions/";
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";

/// `POST`: InvokeWithResponseStream for `function`.
pub fn invoke_with_response_stream(function: &str) -> String {
    format!("{IWRS_PREFIX}{function}/response-streaming-invocations")
}

/// `POST`: buffered Invoke for `function`.
pub fn invoke(function: &str) -> String {
    format!("{INVOKE_PREFIX}{function}/invocations")
}

/// A client-facing API path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPath<'a> {
    /// InvokeWithResponseStream of the named function (name, partial or full ARN, as given).
    InvokeWithResponseStream(&'a str),
    /// Buffered Invoke of the named function.
    Invoke(&'a str),
}

/// Parses a client API path (without its query); `None` when it is neither invoke API.
pub fn parse_client_path(path: &str) -> Option<ClientPath<'_>> {
    if let Some(rest) = path.strip_prefix(IWRS_PREFIX) {
        let name = rest.strip_suffix("/response-streaming-invocations")?;
        return (!name.is_empty() && !name.contains('/')).then_some(ClientPath::InvokeWithResponseStream(name));
    }
    if let Some(rest) = path.strip_prefix(INVOKE_PREFIX) {
        let name = rest.strip_suffix("/invocations")?;
        return (!name.is_empty() && !name.contains('/')).then_some(ClientPath::Invoke(name));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_paths_round_trip() {
        assert_eq!(parse_invocation_path(&response("abc")), Some(InvocationPath::Response("abc")));
        assert_eq!(parse_invocation_path(&error("abc")), Some(InvocationPath::Error("abc")));
        assert_eq!(parse_invocation_path(NEXT), None);
        assert_eq!(parse_invocation_path("/2018-06-01/runtime/invocation//response"), None);
        assert_eq!(parse_invocation_path("/2018-06-01/runtime/invocation/a/b/response"), None);
    }

    #[test]
    fn client_paths_round_trip() {
        assert_eq!(
            parse_client_path(&invoke_with_response_stream("f")),
            Some(ClientPath::InvokeWithResponseStream("f"))
        );
        assert_eq!(parse_client_path(&invoke("f")), Some(ClientPath::Invoke("f")));
        assert_eq!(parse_client_path("/2015-03-31/functions/f/response-streaming-invocations"), None);
        assert_eq!(parse_client_path("/2021-11-15/functions//response-streaming-invocations"), None);
    }

    #[test]
    fn client_paths_refuse_empty_and_nested_names_on_both_apis() {
        assert_eq!(parse_client_path("/2015-03-31/functions//invocations"), None);
        assert_eq!(parse_client_path("/2015-03-31/functions/a/b/invocations"), None);
        assert_eq!(parse_client_path("/2021-11-15/functions/a/b/response-streaming-invocations"), None);
        assert_eq!(parse_client_path("/2015-03-31/functions/f/invocations/"), None);
        assert_eq!(parse_client_path("/2021-11-15/functions/f"), None);
        assert_eq!(parse_client_path("/2018-06-01/runtime/invocation/next"), None);
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f:live";
        assert_eq!(parse_client_path(&invoke(arn)), Some(ClientPath::Invoke(arn)));
    }
}
