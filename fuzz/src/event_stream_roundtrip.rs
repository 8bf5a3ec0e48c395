//! Target `event_stream_roundtrip`: frames built by [`InvokeEvent::encode`] from fuzzer-chosen
//! events, decoded by [`EventStreamDecoder`] from fuzzer-chosen pieces.
//!
//! Input: the [`Chunked`] layout. The body is split at `0xFF` bytes into events: a segment that
//! starts with `0xFE` is an `InvokeComplete` whose remaining text (UTF-8, lossy) is split at `|`
//! into `ErrorCode`, `ErrorDetails` and `LogResult` (missing parts are absent); any other segment
//! is a `PayloadChunk` with those bytes. The cuts, scaled from the body to the encoded stream,
//! say where the stream is cut on arrival; with an odd number of cuts the stream also ends at the
//! last cut, as a connection that drops mid-stream.
//!
//! Invariants: the decoder gives back exactly the events whose frames arrived whole, in order;
//! `finish` is `Ok` when the stream ended on a frame boundary and otherwise reports exactly the
//! bytes of the unfinished frame.

use bytes::Bytes;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{EventStreamError, InvokeEvent};

use crate::Seed;
use crate::event_stream::decode;
use crate::input::Chunked;

/// Separates events in the body.
const EVENT_SEPARATOR: u8 = 0xff;
/// Marks a segment as an `InvokeComplete`.
const COMPLETE_MARK: u8 = 0xfe;

/// The events a body describes (see the module documentation).
pub fn events(body: &[u8]) -> Vec<InvokeEvent> {
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == EVENT_SEPARATOR)
        .map(|segment| match segment.split_first() {
            Some((&COMPLETE_MARK, text)) => {
                let text = String::from_utf8_lossy(text);
                let mut parts = text.split('|').map(str::to_owned);
                InvokeEvent::InvokeComplete(InvokeComplete {
                    error_code: parts.next(),
                    error_details: parts.next(),
                    log_result: parts.next(),
                })
            }
            _ => InvokeEvent::PayloadChunk(Bytes::copy_from_slice(segment)),
        })
        .collect()
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let input = Chunked::parse(data);
    let events = events(input.body);
    let frames: Vec<Bytes> = events.iter().map(InvokeEvent::encode).collect();
    let wire: Vec<u8> = frames.concat();

    let scale = |cut: usize| cut * wire.len() / input.body.len().max(1);
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| scale(c)).collect();
    let end = if cuts.len() % 2 == 1 { cuts.pop().unwrap() } else { wire.len() };
    let arrived = &wire[..end];
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().map(|c| c.min(end)) {
        pieces.push(&arrived[start..cut]);
        start = cut;
    }
    pieces.push(&arrived[start..]);

    // The events whose frames arrived whole, and the bytes of the one cut short.
    let mut whole_frames = 0;
    let mut boundary = 0;
    for frame in &frames {
        if boundary + frame.len() > end {
            break;
        }
        boundary += frame.len();
        whole_frames += 1;
    }

    let outcome = decode(&pieces);
    assert_eq!(outcome.error, None, "our own frames do not decode");
    let got: Vec<InvokeEvent> = outcome
        .messages
        .iter()
        .map(|m| InvokeEvent::from_message(m).expect("our own frame reads as an event"))
        .collect();
    assert_eq!(got, events[..whole_frames], "decoded events differ from the encoded ones");
    let expected_finish =
        if boundary == end { Ok(()) } else { Err(EventStreamError::Truncated { buffered: end - boundary }) };
    assert_eq!(outcome.finish, Some(expected_finish), "finish misreports how the stream ended");
}

/// A chunked answer with a completion, one cut short, and an empty stream.
pub fn seeds() -> Vec<Seed> {
    let answer = b"Number: 1\n\xffNumber: 2\n\xff\xff\xfeFunction.Oops|boom|bG9n".to_vec();
    vec![
        ("answer", Chunked::encode(&answer, &[4, 9])),
        ("answer-dropped-mid-frame", Chunked::encode(&answer, &[3, 20, 30])),
        ("success-completion", Chunked::encode(b"hello\xff\xfe", &[])),
        ("empty", Chunked::encode(b"", &[])),
    ]
}
