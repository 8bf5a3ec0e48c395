//! The live dashboard: a page on a listener of its own that lists the emulator's invocations as
//! they happen and draws each one's wire timeline.
//!
//! ## Why a listener of its own
//! The public listener gives every path to the function URL, and the Runtime API listeners belong
//! to the function; a dashboard on either would take paths from them. So it is a third kind of
//! listener (`EmulatorBuilder::dashboard`, loopback by default), which reads the [`Recorder`] and
//! nothing else: it cannot change what the emulator does.
//!
//! ## Parts
//! - `GET /`: one self-contained page (inline style and script, no external asset) with the table
//!   of invocations (front end, status, TTFB, chunks, bytes, duration, error and its origin) and,
//!   for the invocation picked, its timeline (both legs of the wire, drawn by
//!   [`Timeline`](crate::timeline::Timeline)), the event, the prelude, the start of the body, the
//!   trailers, the headers on both legs and the runtime's faults.
//! - `GET /events`: server-sent events. On connect a `reset` with every invocation kept, then an
//!   `invocation` event for each record that changed and a `faults` event when a fault was
//!   recorded. They come from [`Recorder::subscribe`] (no polling); changes are coalesced for
//!   [`FLUSH_EVERY`], so a stream of small chunks costs a few events a second, not one a chunk.
//! - `GET /api/invocations` (the summaries), `GET /api/invocations/{id}` (one invocation in
//!   detail, with its SVG) and `GET /api/invocations/{id}/timeline.svg`.
//!
//! ## Bounded
//! The dashboard keeps nothing of its own beyond its connections: what it shows is the recorder's
//! bounded history (`EmulatorBuilder::history` finished invocations plus those in flight, each
//! with at most `excerpt_bytes` of its event and of its answer). Each event stream holds a
//! broadcast receiver (the channel is bounded; a stream that lags is sent a fresh `reset`) and a
//! set of changed ids bounded by [`MAX_DIRTY`] (beyond it, a `reset`). At most [`MAX_STREAMS`]
//! event streams are served at once; more get 503. The page itself drops the oldest finished rows
//! beyond the history, as the recorder does.
//!
//! ## Safe by default
//! Only `GET` and `HEAD` are served. The page shows payload excerpts, so requests whose `Host` is
//! a name other than `localhost` are refused (a web page could otherwise read the dashboard
//! through DNS rebinding), answers carry a restrictive `Content-Security-Policy`, and the page
//! writes every value as text, never as markup. The SVG is built with all text escaped.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::{names, prelude};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::http::{self as h, FrameSender, ResponseBody};
use crate::invocation::ErrorOrigin;
use crate::recorder::{Change, ClientEnd, Excerpt, InvocationRecord, Recorder};
use crate::timeline::Timeline;

/// Event streams served at once.
pub(crate) const MAX_STREAMS: usize = 32;
/// Changed invocations an event stream collects before it sends a `reset` instead.
pub(crate) const MAX_DIRTY: usize = 512;
/// How long an event stream collects changes before it sends them.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A comment line on an idle event stream, so a closed connection is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Faults sent in a `faults` event (the newest).
const RECENT_FAULTS: usize = 20;

const PAGE: &str = include_str!("dashboard.html");
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard's state: what it reads and how many streams are open.
#[derive(Debug)]
pub(crate) struct Dashboard {
    recorder: Recorder,
    function: String,
    /// The address it listens on (which `Host` values are accepted depends on it).
    bound: IpAddr,
    streams: AtomicUsize,
    shutdown: watch::Receiver<bool>,
}

impl Dashboard {
    pub(crate) fn new(recorder: Recorder, function: String, bound: IpAddr, shutdown: watch::Receiver<bool>) -> Self {
        Self { recorder, function, bound, streams: AtomicUsize::new(0), shutdown }
    }
}

/// Serves one dashboard request.
pub(crate) async fn handle(dashboard: Arc<Dashboard>, req: Request<Incoming>) -> Response<ResponseBody> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "the dashboard is read-only: use GET");
    }
    let host = req.headers().get(http::header::HOST).and_then(|v| v.to_str().ok());
    if let Err(refusal) = check_host(host, dashboard.bound) {
        return text(StatusCode::FORBIDDEN, &refusal);
    }
    let path = req.uri().path();
    let response = match path {
        "/" => page(),
        "/events" => events(&dashboard),
        "/api/invocations" => h::json_response(StatusCode::OK, &Value::Array(summaries(&dashboard.recorder))),
        _ => match path.strip_prefix("/api/invocations/") {
            Some(rest) => match rest.strip_suffix("/timeline.svg") {
                Some(id) => timeline_svg(&dashboard.recorder, id),
                None => detail(&dashboard.recorder, rest),
            },
            None => text(StatusCode::NOT_FOUND, &format!("no dashboard page at {path}: the page is at /")),
        },
    };
    secured(response)
}

/// Accepts `localhost`, loopback addresses, and (when the dashboard was bound to a non-loopback
/// address on purpose) IP literals; refuses other names and a missing `Host`.
fn check_host(host: Option<&str>, bound: IpAddr) -> Result<(), String> {
    let Some(host) = host else {
        return Err("a Host header is required".into());
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return Ok(());
    }
    match name.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() || ip == bound || bound.is_unspecified() => Ok(()),
        _ => Err(format!(
            "Host {host:?} is not this dashboard's: open it as http://localhost:PORT/ or by its IP address \
             (names are refused so that no web page can read it through DNS rebinding)"
        )),
    }
}

fn secured(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    let headers = response.headers_mut();
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_type(body: impl Into<Bytes>, status: StatusCode, content_type: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(h::full(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn text(status: StatusCode, message: &str) -> Response<ResponseBody> {
    with_type(format!("{message}\n"), status, "text/plain; charset=utf-8")
}

fn page() -> Response<ResponseBody> {
    with_type(PAGE, StatusCode::OK, "text/html; charset=utf-8")
}

fn not_found(id: &str) -> Response<ResponseBody> {
    text(StatusCode::NOT_FOUND, &format!("no invocation {id:?} is kept (the history keeps the newest ones)"))
}

fn timeline_svg(recorder: &Recorder, id: &str) -> Response<ResponseBody> {
    match recorder.inspect(id, |r| Timeline::from_record(r).to_svg()) {
        Some(svg) => with_type(svg, StatusCode::OK, "image/svg+xml"),
        None => not_found(id),
    }
}

fn detail(recorder: &Recorder, id: &str) -> Response<ResponseBody> {
    match recorder.inspect(id, detail_json) {
        Some(detail) => h::json_response(StatusCode::OK, &detail),
        None => not_found(id),
    }
}

fn summaries(recorder: &Recorder) -> Vec<Value> {
    recorder.each(summary_json)
}

/// Milliseconds between two recorder times, for JSON.
fn millis(from: Option<Duration>, to: Option<Duration>) -> Option<f64> {
    Some(to?.checked_sub(from?)?.as_secs_f64() * 1000.0)
}

fn origin_name(origin: ErrorOrigin) -> &'static str {
    match origin {
        ErrorOrigin::Trailers => "trailers",
        ErrorOrigin::ErrorEndpoint => "/error",
        ErrorOrigin::Platform => "platform",
    }
}

/// Where the invocation is, in one word the page colours by.
fn state(record: &InvocationRecord) -> &'static str {
    match (&record.outcome, &record.client.end) {
        (Some(Err(_)), _) => "error",
        (_, Some((_, ClientEnd::Aborted { .. }))) => "cut",
        (_, Some((_, ClientEnd::Disconnected))) => "gone",
        (Some(Ok(())), Some(_)) => "ok",
        _ if record.runtime.taken_at.is_none() => "queued",
        _ => "running",
    }
}

/// One table row: what a person scans for.
fn summary_json(record: &InvocationRecord) -> Value {
    let client = &record.client;
    let first_byte = client.chunks.first().map(|c| c.at);
    let end = client.end.as_ref().map(|(at, _)| *at);
    let error = record.error();
    json!({
        "id": record.request_id,
        "front_end": record.front_end.name(),
        "received_ms": client.received_at.map(|t| t.as_secs_f64() * 1000.0),
        "status": client.status,
        "ttfb_ms": millis(client.received_at, first_byte),
        "chunks": client.chunk_count,
        "bytes": client.bytes,
        "duration_ms": millis(client.received_at, end),
        "state": state(record),
        "error_type": error.map(|e| e.error_type.as_str()),
        "error_origin": error.map(|e| origin_name(e.origin)),
        "faults": record.faults.len(),
    })
}

/// An excerpt as text, with how much was left out.
fn excerpt_json(excerpt: &Excerpt) -> Value {
    json!({
        "text": String::from_utf8_lossy(&excerpt.bytes),
        "total": excerpt.total,
        "truncated": excerpt.is_truncated(),
    })
}

fn headers_json(headers: &[(String, String)]) -> Value {
    Value::Array(headers.iter().map(|(k, v)| json!([k, v])).collect())
}

/// Everything the page shows for one invocation.
fn detail_json(record: &InvocationRecord) -> Value {
    let runtime = &record.runtime;
    let client = &record.client;
    let http_integration = runtime.content_type.as_deref().is_some_and(|t| {
        t.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(names::HTTP_INTEGRATION_CONTENT_TYPE))
    });
    // The prelude is the body up to the eight NUL bytes; the excerpt holds it unless it is longer
    // than the excerpt.
    let (prelude, body_start) = match http_integration.then(|| split_prelude(&runtime.body.bytes)).flatten() {
        Some((prelude, rest)) => (Some(String::from_utf8_lossy(prelude).into_owned()), rest),
        None => (None, &runtime.body.bytes[..]),
    };
    let outcome = match &record.outcome {
        None => Value::Null,
        Some(Ok(())) => json!({ "ok": true }),
        Some(Err(e)) => json!({
            "ok": false,
            "error_type": e.error_type,
            "error_message": e.error_message,
            "origin": origin_name(e.origin),
        }),
    };
    let client_end = client.end.as_ref().map(|(_, end)| match end {
        ClientEnd::Completed => "completed".to_owned(),
        ClientEnd::Aborted { reason } => format!("cut: {reason}"),
        ClientEnd::Disconnected => "the client went away".to_owned(),
    });
    json!({
        "summary": summary_json(record),
        "event": excerpt_json(&record.event),
        "prelude": prelude,
        "prelude_expected": http_integration,
        "body_start": String::from_utf8_lossy(body_start),
        "body": { "total": runtime.body.total, "truncated": runtime.body.is_truncated() },
        "runtime": {
            "streaming": runtime.streaming,
            "content_type": runtime.content_type,
            "headers": headers_json(&runtime.headers),
            "trailers": runtime.trailers.as_deref().map(headers_json),
            "chunks": runtime.chunk_count,
            "bytes": runtime.bytes,
        },
        "client": {
            "status": client.status,
            "headers": headers_json(&client.headers),
            "chunks": client.chunk_count,
            "bytes": client.bytes,
            "end": client_end,
        },
        "outcome": outcome,
        "faults": record.faults.iter().map(|f| json!({
            "kind": format!("{:?}", f.kind),
            "message": f.message,
            "at_ms": f.at.as_secs_f64() * 1000.0,
        })).collect::<Vec<_>>(),
        "svg": Timeline::from_record(record).to_svg(),
    })
}

/// Splits an HTTP-integration body at the prelude's delimiter.
fn split_prelude(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = body.windows(prelude::DELIMITER.len()).position(|w| w == prelude::DELIMITER)?;
    Some((&body[..at], &body[at + prelude::DELIMITER.len()..]))
}

/// Releases an event stream's place when it ends.
struct StreamSlot(Arc<Dashboard>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

fn events(dashboard: &Arc<Dashboard>) -> Response<ResponseBody> {
    if dashboard.streams.fetch_add(1, Ordering::Relaxed) >= MAX_STREAMS {
        dashboard.streams.fetch_sub(1, Ordering::Relaxed);
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("{MAX_STREAMS} dashboard pages are open already; close one"),
        );
    }
    let slot = StreamSlot(dashboard.clone());
    let (tx, body) = h::channel();
    tokio::spawn(stream_changes(slot, tx));
    let mut response = Response::new(body);
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}

/// One server-sent event.
fn sse(event: &str, data: &Value) -> Bytes {
    // serde_json writes no raw newline, so the data is one `data:` line.
    format!("event: {event}\ndata: {data}\n\n").into()
}

fn reset(dashboard: &Dashboard) -> Bytes {
    sse(
        "reset",
        &json!({
            "function": dashboard.function,
            "history": dashboard.recorder.history(),
            "excerpt_bytes": dashboard.recorder.excerpt_bytes(),
            "invocations": summaries(&dashboard.recorder),
            "faults": faults_json(&dashboard.recorder),
        }),
    )
}

fn faults_json(recorder: &Recorder) -> Value {
    let faults = recorder.faults();
    let recent: Vec<Value> = faults
        .iter()
        .rev()
        .take(RECENT_FAULTS)
        .map(|f| {
            json!({
                "request_id": f.request_id,
                "kind": format!("{:?}", f.kind),
                "message": f.message,
                "at_ms": f.at.as_secs_f64() * 1000.0,
            })
        })
        .collect();
    json!({ "count": recorder.fault_count(), "recent": recent })
}

/// Feeds one event stream until the page goes away or the emulator stops.
async fn stream_changes(slot: StreamSlot, tx: FrameSender) {
    let dashboard = slot.0.clone();
    let mut shutdown = dashboard.shutdown.clone();
    let mut changes = dashboard.recorder.subscribe();
    // Subscribed before the snapshot: nothing that happens in between is missed.
    if tx.send(Ok(reset(&dashboard))).await.is_err() {
        return;
    }
    loop {
        // Wait for a first change (or send a keep-alive), then collect for FLUSH_EVERY.
        let first = tokio::select! {
            change = changes.recv() => change,
            _ = tokio::time::sleep(KEEP_ALIVE) => {
                if tx.send(Ok(Bytes::from_static(b": keep-alive\n\n"))).await.is_err() {
                    return;
                }
                continue;
            }
            () = stopped(&mut shutdown) => return,
            // The page went away: its place is free at once.
            () = tx.closed() => return,
        };
        let mut dirty = HashSet::new();
        let mut faults = false;
        let mut resync = false;
        let mut note = |change: Result<Change, RecvError>| match change {
            Ok(Change::Invocation(id)) => {
                if dirty.len() < MAX_DIRTY {
                    dirty.insert(id);
                } else {
                    resync = true;
                }
                true
            }
            Ok(Change::Fault) => {
                faults = true;
                true
            }
            Err(RecvError::Lagged(_)) => {
                resync = true;
                true
            }
            Err(RecvError::Closed) => false,
        };
        if !note(first) {
            return;
        }
        let window = tokio::time::sleep(FLUSH_EVERY);
        tokio::pin!(window);
        loop {
            tokio::select! {
                change = changes.recv() => if !note(change) { break },
                _ = &mut window => break,
            }
        }
        let mut out = Vec::new();
        if resync {
            out.push(reset(&dashboard));
        } else {
            for id in &dirty {
                if let Some(summary) = dashboard.recorder.inspect(id, summary_json) {
                    out.push(sse("invocation", &summary));
                }
            }
            if faults {
                out.push(sse("faults", &faults_json(&dashboard.recorder)));
            }
        }
        for event in out {
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// The address the dashboard's page is opened at.
pub(crate) fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::InvocationError;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn only_loopback_names_and_addresses_are_accepted_on_a_loopback_dashboard() {
        for ok in ["localhost:8080", "LOCALHOST", "127.0.0.1:9", "127.0.0.2", "[::1]:80"] {
            assert!(check_host(Some(ok), LOOPBACK).is_ok(), "{ok}");
        }
        for bad in ["evil.example:8080", "localhost.evil.example", "10.0.0.1:80", "[fe80::1]:80", ""] {
            assert!(check_host(Some(bad), LOOPBACK).is_err(), "{bad}");
        }
        assert!(check_host(None, LOOPBACK).is_err());
    }

    #[test]
    fn a_dashboard_bound_to_an_address_accepts_that_address_but_no_name() {
        let bound: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(check_host(Some("192.0.2.7:8080"), bound).is_ok());
        assert!(check_host(Some("192.0.2.8:8080"), bound).is_err());
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(check_host(Some("192.0.2.8:8080"), any).is_ok());
        assert!(check_host(Some("dashboard.example"), any).is_err());
    }

    /// A record in a given state: what the runtime and the client legs saw.
    fn record(taken: bool, outcome: Option<Result<(), InvocationError>>, end: Option<ClientEnd>) -> InvocationRecord {
        let mut record = InvocationRecord {
            request_id: "id".into(),
            client_request_id: None,
            front_end: crate::invocation::FrontEnd::FunctionUrl,
            event: Excerpt::default(),
            runtime: crate::recorder::RuntimeLeg::default(),
            client: crate::recorder::ClientLeg::default(),
            outcome,
            faults: Vec::new(),
        };
        record.runtime.taken_at = taken.then_some(Duration::from_millis(1));
        record.client.end = end.map(|end| (Duration::from_millis(2), end));
        record
    }

    #[test]
    fn each_state_has_its_word_and_an_error_wins_over_the_client_end() {
        let failed = || Some(Err(InvocationError::platform("Sandbox.Timeout", "late")));
        let cut = || Some(ClientEnd::Aborted { reason: "cut".into() });
        let cases = [
            (record(false, None, None), "queued"),
            (record(true, None, None), "running"),
            (record(true, Some(Ok(())), None), "running"),
            (record(true, Some(Ok(())), Some(ClientEnd::Completed)), "ok"),
            (record(true, None, cut()), "cut"),
            (record(true, Some(Ok(())), cut()), "cut"),
            (record(true, None, Some(ClientEnd::Disconnected)), "gone"),
            (record(true, Some(Ok(())), Some(ClientEnd::Disconnected)), "gone"),
            (record(true, failed(), None), "error"),
            (record(true, failed(), cut()), "error"),
            (record(false, failed(), Some(ClientEnd::Completed)), "error"),
        ];
        for (record, word) in cases {
            assert_eq!(state(&record), word, "{:?} / {:?}", record.outcome, record.client.end);
        }
    }

    #[test]
    fn milliseconds_between_two_times_and_none_when_one_is_missing_or_out_of_order() {
        let at = |ms: u64| Some(Duration::from_micros(ms * 1000));
        assert_eq!(millis(at(3), at(10)), Some(7.0));
        assert_eq!(millis(Some(Duration::from_micros(1500)), Some(Duration::from_micros(4000))), Some(2.5));
        assert_eq!(millis(at(10), at(3)), None);
        assert_eq!(millis(None, at(3)), None);
        assert_eq!(millis(at(3), None), None);
    }

    #[test]
    fn the_prelude_is_split_at_its_delimiter() {
        let body = b"{\"statusCode\":201}\0\0\0\0\0\0\0\0hello";
        let (prelude, rest) = split_prelude(body).unwrap();
        assert_eq!(prelude, b"{\"statusCode\":201}");
        assert_eq!(rest, b"hello");
        assert!(split_prelude(b"{\"statusCode\":201}\0\0\0").is_none(), "a prelude cut by the excerpt");
    }

    #[test]
    fn one_event_is_one_data_line() {
        let event = sse("invocation", &json!({ "text": "a\nb" }));
        let text = std::str::from_utf8(&event).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("data: ")).count(), 1, "{text}");
        assert!(text.ends_with("\n\n"));
    }
}
