//! The HTTP client side of the benchmarks: one pooled keep-alive hyper client (the same for the
//! floor and for every emulator, so client cost cancels out of the ratios) and body readers that
//! note when bytes arrive.

use std::time::{Duration, Instant};

use bytes::Bytes;
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

/// Sends `POST url` with an empty body and returns the response body, after checking the status.
pub async fn post(client: &HttpClient, url: &str) -> Result<Incoming, BoxError> {
    let request = http::Request::post(url).body(Full::new(Bytes::new()))?;
    let response = client.request(request).await?;
    if !response.status().is_success() && response.status() != http::StatusCode::BAD_REQUEST {
        return Err(format!("POST {url} answered {}", response.status()).into());
    }
    Ok(response.into_body())
}

/// Time from sending `POST url` to holding the first body byte; the rest of the body is read
/// (outside the measured time) so that the connection and the function are free for the next call.
pub async fn ttfb(client: &HttpClient, url: &str) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let mut body = post(client, url).await?;
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

/// Time to read a whole `POST url` body, and its length.
pub async fn fetch_all(client: &HttpClient, url: &str) -> Result<(Duration, u64), BoxError> {
    let start = Instant::now();
    let mut body = post(client, url).await?;
    let bytes = drain(&mut body).await?;
    Ok((start.elapsed(), bytes))
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
