//! Shared set-up for the emulator's end-to-end tests: an emulator on 127.0.0.1 port 0 and a
//! scripted runtime joined to it.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file compiles this module on its own and uses only part of it"
)]

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use lambda_stream_emulator::{Emulator, EmulatorBuilder, FunctionConfig};
use lambda_stream_fixtures::scripted_runtime::{ScriptedRuntime, Step};

/// Generous bound for anything that should happen "soon".
pub const WAIT: Duration = Duration::from_secs(20);

pub fn builder(name: &str) -> EmulatorBuilder {
    Emulator::builder().function(FunctionConfig::new(name)).bind("127.0.0.1:0")
}

pub async fn start(name: &str) -> Emulator {
    builder(name).build().await.expect("emulator starts")
}

pub fn runtime(emulator: &Emulator) -> ScriptedRuntime {
    ScriptedRuntime::new(emulator.runtime_api_addr())
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("reqwest client")
}

/// A streamed answer with the prelude's content type: `body` (prelude and payload) cut into
/// chunks at `cuts`, then the end.
pub fn split(body: &[u8], cuts: &[usize]) -> Vec<Step> {
    let mut steps = vec![Step::streaming(lambda_stream_protocol::names::HTTP_INTEGRATION_CONTENT_TYPE)];
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        if cut > start {
            steps.push(Step::chunk(bytes::Bytes::copy_from_slice(&body[start..cut])));
            start = cut;
        }
    }
    steps.push(Step::End);
    steps
}

/// A complete, ordinary invocation through the function URL front end: proves the emulator is
/// still serving after whatever the test did before.
pub async fn assert_healthy(emulator: &Emulator) {
    let runtime = runtime(emulator);
    let served = runtime.spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("still "),
        Step::chunk("serving"),
        Step::End,
    ]]);
    let response = client().get(format!("{}/health", emulator.url())).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "still serving");
    let served = served.await.unwrap().expect("runtime script");
    assert_eq!(served[0].1.as_ref().map(|a| a.status), Some(202));
}

/// The key pair of the IAM-secured emulators in these tests.
pub const KEY: &str = "AKIDLOCALTEST";
pub const SECRET: &str = "local/secret/key";

#[derive(Clone, Copy)]
pub enum Payload {
    /// The signer hashes the body; no `x-amz-content-sha256` header.
    Hashed,
    /// `x-amz-content-sha256` with the body's hash, signed.
    ContentSha,
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`, signed.
    Unsigned,
}

/// A request to `path` of the function URL, signed for service `lambda`; returns it ready to send.
pub fn signed(
    emulator: &Emulator,
    method: &str,
    path: &str,
    body: &'static str,
    keys: (&str, &str),
    at: SystemTime,
    payload: Payload,
) -> reqwest::RequestBuilder {
    signed_for(emulator.local_addr(), "lambda", method, path, body, keys, at, payload)
}

/// A request to `path` on `addr`, signed for `service`; returns it ready to send.
#[allow(clippy::too_many_arguments, reason = "each part of a signed request is a case the tests vary")]
pub fn signed_for(
    addr: std::net::SocketAddr,
    service: &str,
    method: &str,
    path: &str,
    body: &'static str,
    (key, secret): (&str, &str),
    at: SystemTime,
    payload: Payload,
) -> reqwest::RequestBuilder {
    let host = addr.to_string();
    let url = format!("http://{host}{path}");
    let identity = Credentials::new(key, secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = match payload {
        Payload::Hashed => PayloadChecksumKind::NoHeader,
        Payload::ContentSha | Payload::Unsigned => PayloadChecksumKind::XAmzSha256,
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [("host", host.as_str()), ("content-type", "application/json")];
    let signable_body = match payload {
        Payload::Unsigned => SignableBody::UnsignedPayload,
        _ => SignableBody::Bytes(body.as_bytes()),
    };
    let request = SignableRequest::new(method, url.clone(), headers.into_iter(), signable_body).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut builder =
        client().request(method.parse().unwrap(), url).header("content-type", "application/json").body(body);
    for (name, value) in instructions.headers() {
        builder = builder.header(name, value);
    }
    builder
}

/// Sends `request` as raw bytes on a new connection to `addr`, closes the write side, and returns
/// what came back (up to 64 KiB, or what arrived within 10 s).
pub async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let _ = stream.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 || out.len() > 64 * 1024 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}
