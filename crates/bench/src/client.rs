//! The HTTP client side of the benchmarks: one pooled keep-alive hyper client (the same for the
//! floor and for every emulator, so client cost cancels out of the ratios) and body readers that
//! note when bytes arrive.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Any failure in the harness; benches print it and stop the case.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A pooled HTTP/1.1 client with `TCP_NODELAY`.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new pooled client. Connections are kept alive, so iterations after the first reuse one.
pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    // Small writes must leave at once; Nagle's algorithm would hold them back on the client side.
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Sends `POST url` with an empty body and returns the response body, after checking that the
/// status is exactly `expect`: a case that measures a 200 must fail on a 400 (a function
/// answering "bad request" quickly is not a fast stream), and the one case that measures an
/// answer chosen to be a 400 says so.
pub async fn post(client: &HttpClient, url: &str, expect: StatusCode) -> Result<Incoming, BoxError> {
    let request = http::Request::post(url).body(Full::new(Bytes::new()))?;
    let response = client.request(request).await?;
    if response.status() != expect {
        return Err(format!("POST {url} answered {}, not {expect}", response.status()).into());
    }
    Ok(response.into_body())
}

/// Time from sending `POST url` to holding the first body byte of an answer with status
/// `expect`; the rest of the body is read (outside the measured time) so that the connection and
/// the function are free for the next call.
pub async fn ttfb(client: &HttpClient, url: &str, expect: StatusCode) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let mut body = post(client, url, expect).await?;
    loop {
        match body.frame().await {
            Some(frame) => {
                if frame?.data_ref().is_some_and(|d| !d.is_empty()) {
                    break;
                }
            }
            None => return Err(format!("POST {url}: the body ended without a byte").into()),
        }
    }
    let elapsed = start.elapsed();
    drain(&mut body).await?;
    Ok(elapsed)
}

/// Time to read a whole `POST url` body (status 200), and its length.
pub async fn fetch_all(client: &HttpClient, url: &str) -> Result<(Duration, u64), BoxError> {
    let start = Instant::now();
    let mut body = post(client, url, StatusCode::OK).await?;
    let bytes = drain(&mut body).await?;
    Ok((start.elapsed(), bytes))
}

/// Time to read a whole `POST url` body that must be exactly `expected` bytes long: a throughput
/// figure is bytes over time, so the bytes are the ones received, and a short (cut) or long body
/// is an error rather than a faster or slower stream.
pub async fn fetch_exactly(client: &HttpClient, url: &str, expected: u64) -> Result<Duration, BoxError> {
    let (elapsed, bytes) = fetch_all(client, url).await?;
    if bytes != expected {
        return Err(format!("POST {url}: received {bytes} bytes, expected {expected}").into());
    }
    Ok(elapsed)
}

/// Reads a body to its end without keeping it; returns its length.
pub async fn drain(body: &mut Incoming) -> Result<u64, BoxError> {
    let mut total = 0_u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Reads until `n` more bytes have arrived and returns the instant the last of them did.
pub async fn read_bytes(body: &mut Incoming, n: usize) -> Result<Instant, BoxError> {
    let mut got = 0;
    while got < n {
        match body.frame().await {
            Some(frame) => {
                if let Some(data) = frame?.data_ref() {
                    got += data.len();
                }
            }
            None => return Err(format!("the body ended after {got} of {n} bytes").into()),
        }
    }
    Ok(Instant::now())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    use super::*;

    /// A server on 127.0.0.1:0 answering every request with `status` and `body`.
    async fn answering(status: StatusCode, body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = service_fn(move |_req| async move {
                    let mut response = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                    *response.status_mut() = status;
                    Ok::<_, Infallible>(response)
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn a_status_other_than_the_expected_one_is_an_error() {
        let client = http_client();
        let bad_request = answering(StatusCode::BAD_REQUEST, "no").await;
        let e = ttfb(&client, &bad_request, StatusCode::OK).await.unwrap_err();
        assert!(e.to_string().contains("answered 400 Bad Request, not 200 OK"), "{e}");
        // The case that measures a 400 on purpose names it.
        assert!(ttfb(&client, &bad_request, StatusCode::BAD_REQUEST).await.is_ok());
        let ok = answering(StatusCode::OK, "hello").await;
        assert!(ttfb(&client, &ok, StatusCode::BAD_REQUEST).await.is_err());
        assert!(fetch_all(&client, &bad_request).await.is_err());
    }

    #[tokio::test]
    async fn throughput_counts_the_bytes_received() {
        let client = http_client();
        let url = answering(StatusCode::OK, "hello").await;
        assert!(fetch_exactly(&client, &url, 5).await.is_ok());
        let e = fetch_exactly(&client, &url, 64).await.unwrap_err();
        assert!(e.to_string().contains("received 5 bytes, expected 64"), "{e}");
    }
}
