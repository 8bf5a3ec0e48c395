//! The Swift-style local endpoint, `POST /invoke` (`LOCAL_LAMBDA_INVOCATION_ENDPOINT`): POST
//! only, 405 for other methods (SWIFT `Lambda+LocalServer.swift`). Today it behaves like a
//! function URL (the body becomes a payload v2.0 event and the prelude is decoded into the
//! response head); unlike Swift's local server, which answers 404 for unknown paths, every other
//! path of the public listener is the function URL front end.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::function_url;
use crate::http::{self as h, ResponseBody};
use crate::invocation::FrontEnd;
use crate::platform::Platform;

/// Serves `POST /invoke`.
pub(crate) async fn serve(platform: Arc<Platform>, peer: SocketAddr, req: Request<Incoming>) -> Response<ResponseBody> {
    if req.method() != Method::POST {
        return h::method_not_allowed();
    }
    function_url::serve(platform, peer, req, FrontEnd::LocalInvoke).await
}
