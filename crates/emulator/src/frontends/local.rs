//! The Swift-style local endpoint, `POST /invoke` (`LOCAL_LAMBDA_INVOCATION_ENDPOINT`): POST
//! only, 405 for other methods (SWIFT `Lambda+LocalServer.swift`).
//!
//! ## In: the body is the event, byte for byte
//! Swift's local server hands the body of `POST /invoke` to the function's `GET /next` as it is
//! (SWIFT `Lambda+LocalServer.swift`, `LocalServerInvocation(requestId:request: body)`), which is
//! what direct invocation and InvokeWithResponseStream deliver on Lambda. So a handler sees the
//! same event locally as it will on Lambda, and the Swift examples' habit holds: post the event
//! itself (`-d '{"count": 3, "message": "Hello"}'`), or post a whole function URL request JSON to
//! simulate a function URL (SWIFT `Examples/Streaming+Codable/events/sample-request.json`).
//! Headers, query and path of the request are not part of the event. Rule
//! `local.invoke-raw-event`.
//!
//! ## Out: the prelude is decoded (the project's choice)
//! Swift's local server relays the function's bytes as they are, prelude included. Here the
//! answer is read as a function URL reads it: an HTTP-integration prelude becomes the response's
//! status and headers, an error before the first byte is a 502 with the error JSON, a mid-stream
//! error cuts the body (rule `local.invoke-streams`). Unlike Swift's local server, which answers
//! 404 for unknown paths, every other path of the public listener is the function URL front end.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::function_url;
use crate::http::{self as h, ResponseBody};
use crate::invocation::FrontEnd;
use crate::platform::Platform;

/// Serves `POST /invoke`: the raw body in, the function URL's answer out.
pub(crate) async fn serve(platform: Arc<Platform>, peer: SocketAddr, req: Request<Incoming>) -> Response<ResponseBody> {
    if req.method() != Method::POST {
        return h::method_not_allowed();
    }
    function_url::serve(platform, peer, req, FrontEnd::LocalInvoke).await
}
