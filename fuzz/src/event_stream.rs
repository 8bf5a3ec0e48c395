//! Target `event_stream`: [`EventStreamDecoder`] fed arbitrary bytes cut at fuzzer-chosen points.
//!
//! Invariants checked on every input:
//! - the messages, the error and what `finish` says are the same however the bytes are cut;
//! - the decoded messages are the frames at the start of the input, in order (nothing skipped,
//!   nothing invented), and framed again by the SDK's own writer they are the same bytes;
//! - without an error, `finish` is `Ok` exactly when every byte belonged to a complete message,
//!   and otherwise reports as `buffered` the number of bytes of the unfinished frame;
//! - every message that reads as an [`InvokeEvent`] encodes and decodes back to the same event.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::Message;
use bytes::Bytes;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{EventStreamDecoder, EventStreamError, InvokeEvent};

use crate::Seed;
use crate::input::Chunked;

/// What decoding a stream gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Complete messages, in order.
    pub messages: Vec<Message>,
    /// The error that stopped decoding, if any.
    pub error: Option<EventStreamError>,
    /// What `finish` said at the end (not asked after an error).
    pub finish: Option<Result<(), EventStreamError>>,
}

/// Feeds `pieces` in order, taking every complete message after each piece.
pub fn decode(pieces: &[&[u8]]) -> Outcome {
    let mut decoder = EventStreamDecoder::new();
    let mut messages = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break,
                Err(error) => return Outcome { messages, error: Some(error), finish: None },
            }
        }
    }
    Outcome { messages, error: None, finish: Some(decoder.finish()) }
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let input = Chunked::parse(data);
    let whole = decode(&[input.body]);
    let split = decode(&input.pieces());
    assert_eq!(split, whole, "the outcome depends on where the stream was cut ({:?})", input.cuts);

    // Each frame starts with its total length (big-endian u32).
    let mut offset = 0;
    for message in &whole.messages {
        let len = u32::from_be_bytes(input.body[offset..offset + 4].try_into().unwrap()) as usize;
        let frame = &input.body[offset..offset + len];
        let mut framed = Vec::new();
        // The SDK's writer refuses a few values its reader accepts (timestamps whose milliseconds
        // overflow); where it writes, it must give back the exact frame.
        if write_message_to(message, &mut framed).is_ok() {
            assert_eq!(framed, frame, "a decoded message is not the bytes it came from");
        }
        offset += len;
    }
    if let Some(finish) = &whole.finish {
        let left = input.body.len() - offset;
        let expected = if left == 0 { Ok(()) } else { Err(EventStreamError::Truncated { buffered: left }) };
        assert_eq!(finish, &expected, "finish misreports the unfinished frame");
    }
    if let Some(error) = &whole.error {
        assert!(!error.to_string().is_empty());
    }

    for message in &whole.messages {
        match InvokeEvent::from_message(message) {
            Ok(event) => {
                let again = decode(&[&event.encode()]);
                assert_eq!(again.finish, Some(Ok(())));
                let back: Vec<_> = again.messages.iter().map(|m| InvokeEvent::from_message(m).unwrap()).collect();
                assert_eq!(back, [event], "an event does not survive encode/decode");
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
}

/// A real IWRS answer (chunks, an empty chunk, the completion), cut in several ways, truncated,
/// and with a corrupted CRC.
pub fn seeds() -> Vec<Seed> {
    let events = [
        InvokeEvent::PayloadChunk(Bytes::from_static(b"Number: 1\n")),
        InvokeEvent::PayloadChunk(Bytes::new()),
        InvokeEvent::PayloadChunk(Bytes::from_static(b"{\"statusCode\":200}\0\0\0\0\0\0\0\0hello")),
        InvokeEvent::InvokeComplete(InvokeComplete {
            error_code: Some("Function.Oops".into()),
            error_details: Some("boom".into()),
            log_result: Some("bG9n".into()),
        }),
    ];
    let wire: Vec<u8> = events.iter().flat_map(|e| e.encode().to_vec()).collect();
    let first = events[0].encode().len() as u16;
    let done = InvokeEvent::InvokeComplete(InvokeComplete::default()).encode();
    let mut corrupt = wire.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    vec![
        ("answer", Chunked::encode(&wire, &[])),
        ("answer-cut-in-preludes", Chunked::encode(&wire, &[5, 12, first + 3, first + 13])),
        ("completion-only", Chunked::encode(&done, &[1])),
        ("truncated", Chunked::encode(&wire[..wire.len() - 3], &[])),
        ("truncated-in-prelude", Chunked::encode(&wire[..first as usize + 7], &[])),
        ("corrupt-crc", Chunked::encode(&corrupt, &[])),
    ]
}
