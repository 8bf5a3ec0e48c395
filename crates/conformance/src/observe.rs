//! What a client sees: one request sent with reqwest, every piece of the answer timed as it
//! arrives, IWRS frames decoded as they complete (with the protocol crate's
//! [`EventStreamDecoder`], which checks the `:`-headers as the SDK does).

use std::time::{Duration, Instant};

use aws_smithy_types::event_stream::Message;
use base64::Engine as _;
use futures_util::StreamExt as _;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, names};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Body bytes kept for checks; beyond this only the size is counted, so a 200 MB answer does not
/// grow the suite's memory.
pub const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;
/// HTTP pieces that arrive closer together than this count as one chunk: a write crosses TCP in
/// one or more reads, and writes the function spaces apart arrive apart. The scenarios pace the
/// writes they time at 300 ms or more, so a window of 100 ms keeps a write whose pieces a busy
/// machine delivers tens of milliseconds apart in one chunk, and still tells paced writes apart.
pub const ARRIVAL_WINDOW_MS: f64 = 100.0;
/// How long one request may take before the suite gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One chunk as the client got it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrival {
    /// Milliseconds after the request was sent.
    pub at_ms: f64,
    /// Bytes in it.
    pub len: usize,
    /// Its bytes, when the body is small enough to keep.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
}

/// What an event-stream frame was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameKind {
    /// A `PayloadChunk` event.
    PayloadChunk,
    /// An `InvokeComplete` event.
    InvokeComplete,
    /// A frame the decoder refused, with the reason.
    Invalid(String),
}

/// One event-stream frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// Milliseconds after the request was sent.
    pub at_ms: f64,
    /// Which event it carried.
    pub kind: FrameKind,
    /// Payload bytes.
    pub len: usize,
}

/// What the client saw of one request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observation {
    /// Status.
    pub status: u16,
    /// Response headers, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// When the head arrived (ms after sending).
    pub head_ms: f64,
    /// The payload's chunks: HTTP arrivals grouped by [`ARRIVAL_WINDOW_MS`], or IWRS PayloadChunks.
    pub chunks: Vec<Arrival>,
    /// Total payload bytes.
    pub body_size: u64,
    /// The payload (at most [`MAX_KEPT_BODY`] bytes).
    #[serde(skip)]
    pub body: Vec<u8>,
    /// SHA-256 of the whole payload, lower-case hex (every byte, also beyond [`MAX_KEPT_BODY`]).
    pub body_sha256: String,
    /// The running SHA-256 of the payload so far; [`Observation::seal_digest`] writes it out.
    #[serde(skip)]
    pub(crate) digest: Sha256,
    /// When the body ended (ms after sending).
    pub end_ms: f64,
    /// Why the body was cut, if it was.
    pub aborted: Option<String>,
    /// IWRS: every frame, in order.
    pub frames: Vec<Frame>,
    /// IWRS: frames that could not be read, with the reason.
    pub frame_errors: Vec<String>,
    /// IWRS: InvokeComplete frames seen.
    pub completes: Vec<InvokeComplete>,
    /// IWRS: a frame came after InvokeComplete.
    pub frame_after_complete: bool,
    /// The request id the answer named (`x-amzn-requestid`).
    pub request_id: Option<String>,
    /// When the request was sent, in milliseconds since the Unix epoch (for deadlines the
    /// function reports).
    pub sent_epoch_ms: f64,
}

impl Observation {
    /// Time to first byte of the payload, ms after sending.
    pub fn ttfb_ms(&self) -> Option<f64> {
        self.chunks.first().map(|c| c.at_ms)
    }

    /// Arrival times of the payload's chunks, ms after sending.
    pub fn chunk_times(&self) -> Vec<f64> {
        self.chunks.iter().map(|c| c.at_ms).collect()
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// Decoded log tail: `LogResult` of the last InvokeComplete (IWRS), else the
    /// `X-Amz-Log-Result` header (buffered Invoke).
    pub fn log_result(&self) -> Option<String> {
        let raw = match self.completes.last().and_then(|c| c.log_result.as_deref()) {
            Some(raw) => raw,
            None => self.header(names::AMZ_LOG_RESULT)?,
        };
        base64::engine::general_purpose::STANDARD.decode(raw).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Writes the digest of every byte [`Observation::keep`] saw into `body_sha256`; called once
    /// the body has ended.
    pub(crate) fn seal_digest(&mut self) {
        self.body_sha256 = self.digest.clone().finalize().iter().map(|b| format!("{b:02x}")).collect();
    }

    /// Counts, digests and (up to [`MAX_KEPT_BODY`]) keeps a piece of the body.
    pub(crate) fn keep(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
        self.body_size += bytes.len() as u64;
        let room = MAX_KEPT_BODY.saturating_sub(self.body.len());
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Decode the answer as an event stream (IWRS) when it is one.
    pub event_stream: bool,
}

/// Sends `request` and watches the answer arrive. Transport failures before the head are errors;
/// a body that breaks off after the head is an observation (`aborted`).
pub async fn send(client: &reqwest::Client, request: Outgoing) -> Result<Observation, String> {
    let mut builder = client.request(request.method.clone(), &request.url).timeout(REQUEST_TIMEOUT);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let started = Instant::now();
    let sent_epoch_ms = epoch_ms_now();
    let ms = move || started.elapsed().as_secs_f64() * 1000.0;
    let response = builder
        .body(request.body)
        .send()
        .await
        .map_err(|e| format!("{} {}: {}", request.method, request.url, error_chain(&e)))?;
    let mut obs = Observation {
        sent_epoch_ms,
        status: response.status().as_u16(),
        head_ms: ms(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        ..Observation::default()
    };
    obs.request_id = obs.header(names::AMZN_REQUEST_ID).map(str::to_owned);
    let is_event_stream = request.event_stream
        && obs
            .header(reqwest::header::CONTENT_TYPE.as_str())
            .is_some_and(|ct| ct.starts_with(names::EVENT_STREAM_CONTENT_TYPE));
    let mut decoder = EventStreamDecoder::new();
    let mut stream = response.bytes_stream();
    while let Some(piece) = stream.next().await {
        let piece = match piece {
            Ok(piece) => piece,
            Err(e) => {
                obs.aborted = Some(error_chain(&e));
                break;
            }
        };
        let at_ms = ms();
        if is_event_stream {
            if !on_event_stream_piece(&mut obs, &mut decoder, at_ms, &piece) {
                break;
            }
        } else {
            on_http_piece(&mut obs, at_ms, &piece);
        }
    }
    if is_event_stream
        && obs.aborted.is_none()
        && let Err(e) = decoder.finish()
    {
        obs.aborted = Some(e.to_string());
    }
    obs.end_ms = ms();
    obs.seal_digest();
    Ok(obs)
}

/// Decodes the frames `piece` completes; `false` once the stream is unreadable (nothing after
/// that point can be framed).
fn on_event_stream_piece(obs: &mut Observation, decoder: &mut EventStreamDecoder, at_ms: f64, piece: &[u8]) -> bool {
    decoder.push(piece);
    loop {
        match decoder.next_message() {
            Ok(Some(message)) => on_frame(obs, at_ms, &message),
            Ok(None) => break,
            Err(e) => {
                obs.frame_errors.push(e.to_string());
                obs.aborted.get_or_insert_with(|| format!("unreadable event stream: {e}"));
                break;
            }
        }
    }
    // Only a framing error (checked by the decoder) makes the rest unreadable.
    obs.aborted.is_none()
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn epoch_ms_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Adds an HTTP body piece to the current arrival, or starts a new one.
pub(crate) fn on_http_piece(obs: &mut Observation, at_ms: f64, piece: &[u8]) {
    let keep = obs.body.len() < MAX_KEPT_BODY;
    match obs.chunks.last_mut() {
        // Pieces join an arrival while they come within the window of its start, so a
        // slow drip does not merge into one chunk.
        Some(last) if at_ms - last.at_ms <= ARRIVAL_WINDOW_MS => {
            last.len += piece.len();
            if let Some(bytes) = &mut last.bytes {
                bytes.extend_from_slice(piece);
            }
        }
        _ => obs.chunks.push(Arrival { at_ms, len: piece.len(), bytes: keep.then(|| piece.to_vec()) }),
    }
    obs.keep(piece);
}

fn on_frame(obs: &mut Observation, at_ms: f64, message: &Message) {
    if !obs.completes.is_empty() {
        obs.frame_after_complete = true;
    }
    match InvokeEvent::from_message(message) {
        Ok(InvokeEvent::PayloadChunk(bytes)) => {
            obs.frames.push(Frame { at_ms, kind: FrameKind::PayloadChunk, len: bytes.len() });
            let keep = obs.body.len() < MAX_KEPT_BODY;
            obs.chunks.push(Arrival { at_ms, len: bytes.len(), bytes: keep.then(|| bytes.to_vec()) });
            obs.keep(&bytes);
        }
        Ok(InvokeEvent::InvokeComplete(done)) => {
            obs.frames.push(Frame { at_ms, kind: FrameKind::InvokeComplete, len: message.payload().len() });
            obs.completes.push(done);
        }
        Err(e) => {
            // The frame is well framed (length and CRCs held) but its headers are not what the
            // SDK accepts: the frame fails `frames_valid`, and its payload still counts by its
            // `:event-type`, so when and what arrived can be judged too (cargo-lambda's frames
            // lack `:message-type`, and the time they arrive is the other half of its story).
            obs.frames.push(Frame { at_ms, kind: FrameKind::Invalid(e.to_string()), len: message.payload().len() });
            obs.frame_errors.push(e.to_string());
            match event_type(message) {
                Some("PayloadChunk") => {
                    let bytes = message.payload();
                    let keep = obs.body.len() < MAX_KEPT_BODY;
                    obs.chunks.push(Arrival { at_ms, len: bytes.len(), bytes: keep.then(|| bytes.to_vec()) });
                    obs.keep(bytes);
                }
                Some("InvokeComplete") => {
                    if let Ok(done) = serde_json::from_slice::<InvokeComplete>(message.payload()) {
                        obs.completes.push(done);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A message's `:event-type` header, when it is a string.
fn event_type(message: &Message) -> Option<&str> {
    match message.headers().iter().find(|h| h.name().as_str() == ":event-type")?.value() {
        aws_smithy_types::event_stream::HeaderValue::String(s) => Some(s.as_str()),
        _ => None,
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
