//! InvokeWithResponseStream frames, built on the AWS SDK's own event-stream types.
//!
//! An IWRS answer is a sequence of AWS event-stream messages (IWRS). Each carries three headers
//! the SDK checks before it looks at the payload (smithy-rs
//! `rust-runtime/aws-smithy-eventstream/src/smithy.rs`; aws-sdk-lambda `event_stream_serde.rs`):
//! `:message-type` = `event`, `:event-type` = `PayloadChunk` or `InvokeComplete`, and
//! `:content-type` (`application/octet-stream` for a chunk, which the SDK insists on;
//! `application/json` for the completion, whose payload is `{"ErrorCode","ErrorDetails","LogResult"}`).
//!
//! Framing (prelude, CRCs) is done by `aws-smithy-eventstream`, never by hand, so that what the
//! emulator sends is exactly what the SDK decodes.
//!
//! ## Parts
//! - [`InvokeEvent`]: one event, [`encode`](InvokeEvent::encode)d into a frame or read from a
//!   [`Message`] with every `:`-header checked.
//! - [`EventStreamDecoder`]: frames from bytes that arrive in arbitrary pieces.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder, write_message_to};
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::{Buf, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// `:message-type` header name.
pub const MESSAGE_TYPE: &str = ":message-type";
/// `:event-type` header name.
pub const EVENT_TYPE: &str = ":event-type";
/// `:content-type` header name.
pub const CONTENT_TYPE: &str = ":content-type";

/// `:event-type` of a payload chunk.
pub const PAYLOAD_CHUNK: &str = "PayloadChunk";
/// `:event-type` of the last frame.
pub const INVOKE_COMPLETE: &str = "InvokeComplete";

/// The end of an invocation, as the last IWRS frame reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeComplete {
    /// The function's error type, if it failed.
    #[serde(rename = "ErrorCode", default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The error's details, if it failed.
    #[serde(rename = "ErrorDetails", default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// Base64 tail of the function's log, when the caller asked for `Tail`.
    #[serde(rename = "LogResult", default, skip_serializing_if = "Option::is_none")]
    pub log_result: Option<String>,
}

/// One event of an InvokeWithResponseStream answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeEvent {
    /// Bytes the function wrote.
    PayloadChunk(Bytes),
    /// The end of the stream, with the error if any.
    InvokeComplete(InvokeComplete),
}

impl InvokeEvent {
    /// The event as an event-stream message with all three `:`-headers.
    pub fn to_message(&self) -> Message {
        let (event_type, content_type, payload) = match self {
            InvokeEvent::PayloadChunk(bytes) => (PAYLOAD_CHUNK, "application/octet-stream", bytes.clone()),
            InvokeEvent::InvokeComplete(done) => (
                INVOKE_COMPLETE,
                "application/json",
                Bytes::from(serde_json::to_vec(done).expect("strings always serialise")),
            ),
        };
        Message::new(payload)
            .add_header(Header::new(MESSAGE_TYPE, HeaderValue::String("event".into())))
            .add_header(Header::new(EVENT_TYPE, HeaderValue::String(event_type.into())))
            .add_header(Header::new(CONTENT_TYPE, HeaderValue::String(content_type.into())))
    }

    /// The event as one framed event-stream message.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.payload_len() + 128);
        write_message_to(&self.to_message(), &mut out).expect("headers and payload are within event-stream limits");
        Bytes::from(out)
    }

    fn payload_len(&self) -> usize {
        match self {
            InvokeEvent::PayloadChunk(b) => b.len(),
            InvokeEvent::InvokeComplete(_) => 64,
        }
    }

    /// Reads an event from a message, checking the three `:`-headers as the SDK does.
    pub fn from_message(message: &Message) -> Result<Self, EventStreamError> {
        let header = |name: &'static str| -> Result<&str, EventStreamError> {
            let found = message.headers().iter().find(|h| h.name().as_str() == name);
            match found.map(|h| h.value()) {
                Some(HeaderValue::String(s)) => Ok(s.as_str()),
                Some(_) => Err(EventStreamError::Header { name, reason: "is not a string".into() }),
                None => Err(EventStreamError::Header { name, reason: "is missing".into() }),
            }
        };
        let message_type = header(MESSAGE_TYPE)?;
        if message_type != "event" {
            return Err(EventStreamError::Header {
                name: MESSAGE_TYPE,
                reason: format!("is {message_type:?}, expected \"event\""),
            });
        }
        let content_type = header(CONTENT_TYPE)?;
        match header(EVENT_TYPE)? {
            PAYLOAD_CHUNK => {
                if content_type != "application/octet-stream" {
                    return Err(EventStreamError::Header {
                        name: CONTENT_TYPE,
                        reason: format!("of a PayloadChunk is {content_type:?}, expected \"application/octet-stream\""),
                    });
                }
                Ok(InvokeEvent::PayloadChunk(message.payload().clone()))
            }
            INVOKE_COMPLETE => serde_json::from_slice(message.payload())
                .map(InvokeEvent::InvokeComplete)
                .map_err(|e| EventStreamError::Payload { reason: e.to_string() }),
            other => Err(EventStreamError::Header { name: EVENT_TYPE, reason: format!("is unknown: {other:?}") }),
        }
    }
}

/// Why an event stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamError {
    /// The bytes are not a valid event-stream frame (length, CRC, header encoding).
    #[error("invalid event-stream frame: {reason}")]
    Frame {
        /// The frame decoder's message.
        reason: String,
    },
    /// A `:`-header is missing or wrong.
    #[error("event-stream header `{name}` {reason}")]
    Header {
        /// The header's name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An InvokeComplete payload is not the documented JSON.
    #[error("InvokeComplete payload is not the documented JSON: {reason}")]
    Payload {
        /// The parser's message.
        reason: String,
    },
    /// The stream ended inside a frame.
    #[error("the event stream ended inside a frame ({buffered} bytes left over)")]
    Truncated {
        /// Bytes of the unfinished frame.
        buffered: usize,
    },
}

/// Reads event-stream frames from bytes that arrive in arbitrary pieces.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    buffer: BytesMut,
    frames: MessageFrameDecoder,
    mid_frame: bool,
}

impl EventStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, with its headers unchecked; `None` until one has arrived.
    pub fn next_message(&mut self) -> Result<Option<Message>, EventStreamError> {
        let before = self.buffer.remaining();
        let frame = self
            .frames
            .decode_frame(&mut self.buffer)
            .map_err(|e| EventStreamError::Frame { reason: e.to_string() })?;
        match frame {
            DecodedFrame::Complete(message) => {
                self.mid_frame = false;
                Ok(Some(message))
            }
            DecodedFrame::Incomplete => {
                // The SDK's decoder takes the 12-byte prelude out of the buffer once it has it.
                self.mid_frame |= self.buffer.remaining() != before;
                Ok(None)
            }
        }
    }

    /// The next complete event, its headers checked; `None` until one has arrived.
    pub fn next_event(&mut self) -> Result<Option<InvokeEvent>, EventStreamError> {
        self.next_message()?.as_ref().map(InvokeEvent::from_message).transpose()
    }

    /// Reports the end of the stream: an error when a frame was left unfinished.
    pub fn finish(&self) -> Result<(), EventStreamError> {
        if self.buffer.is_empty() && !self.mid_frame {
            Ok(())
        } else {
            Err(EventStreamError::Truncated { buffered: self.buffer.len() + if self.mid_frame { 12 } else { 0 } })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_split_anywhere() {
        let events = vec![
            InvokeEvent::PayloadChunk(Bytes::from_static(b"Number: 1\n")),
            InvokeEvent::PayloadChunk(Bytes::new()),
            InvokeEvent::InvokeComplete(InvokeComplete {
                error_code: Some("Function.Oops".into()),
                error_details: Some("boom".into()),
                log_result: None,
            }),
        ];
        let wire: Vec<u8> = events.iter().flat_map(|e| e.encode().to_vec()).collect();
        for step in [1, 3, 7, 12, 13, 100, wire.len()] {
            let mut d = EventStreamDecoder::new();
            let mut got = Vec::new();
            for piece in wire.chunks(step) {
                d.push(piece);
                while let Some(e) = d.next_event().unwrap() {
                    got.push(e);
                }
            }
            d.finish().unwrap();
            assert_eq!(got, events, "split every {step} bytes");
        }
    }

    #[test]
    fn frames_carry_the_three_headers() {
        let m = InvokeEvent::PayloadChunk(Bytes::from_static(b"x")).to_message();
        let names: Vec<_> = m.headers().iter().map(|h| h.name().as_str().to_owned()).collect();
        assert_eq!(names, [MESSAGE_TYPE, EVENT_TYPE, CONTENT_TYPE]);
        let done = InvokeEvent::InvokeComplete(InvokeComplete::default()).to_message();
        assert_eq!(done.payload().as_ref(), b"{}");
    }

    #[test]
    fn rejects_what_the_sdk_rejects() {
        let bare = Message::new(Bytes::from_static(b"x"));
        assert!(matches!(InvokeEvent::from_message(&bare), Err(EventStreamError::Header { name: MESSAGE_TYPE, .. })));
        let wrong_ct = Message::new(Bytes::from_static(b"x"))
            .add_header(Header::new(MESSAGE_TYPE, HeaderValue::String("event".into())))
            .add_header(Header::new(EVENT_TYPE, HeaderValue::String(PAYLOAD_CHUNK.into())))
            .add_header(Header::new(CONTENT_TYPE, HeaderValue::String("text/plain".into())));
        let err = InvokeEvent::from_message(&wrong_ct).unwrap_err();
        assert!(err.to_string().contains("expected \"application/octet-stream\""), "{err}");
    }

    /// `finish` reports exactly the bytes of the unfinished frame, whether or not the SDK's
    /// decoder has already taken its 12-byte prelude out of the buffer.
    #[test]
    fn finish_counts_the_bytes_of_an_unfinished_frame() {
        let first = InvokeEvent::PayloadChunk(Bytes::from_static(b"first")).encode();
        let second = InvokeEvent::PayloadChunk(Bytes::from_static(b"second chunk")).encode();
        for cut in [1, 11, 12, 13, second.len() - 1] {
            let mut d = EventStreamDecoder::new();
            d.push(&first);
            d.push(&second[..cut]);
            assert_eq!(d.next_message().unwrap().map(|m| m.payload().clone()), Some(Bytes::from_static(b"first")));
            assert_eq!(d.next_message().unwrap(), None, "cut at {cut}");
            // Asked again with nothing new: still nothing, and the count does not change.
            assert_eq!(d.next_message().unwrap(), None, "cut at {cut}");
            assert_eq!(d.finish(), Err(EventStreamError::Truncated { buffered: cut }), "cut at {cut}");
            d.push(&second[cut..]);
            assert_eq!(d.next_event().unwrap(), Some(InvokeEvent::PayloadChunk(Bytes::from_static(b"second chunk"))));
            assert_eq!(d.finish(), Ok(()), "cut at {cut}, then completed");
        }
        // Bytes pushed but never asked for are unfinished too.
        let mut d = EventStreamDecoder::new();
        d.push(&first[..5]);
        assert_eq!(d.finish(), Err(EventStreamError::Truncated { buffered: 5 }));
        assert_eq!(EventStreamDecoder::new().finish(), Ok(()));
    }

    #[test]
    fn truncated_and_corrupt_streams_are_errors() {
        let wire = InvokeEvent::PayloadChunk(Bytes::from_static(b"hello")).encode();
        let mut d = EventStreamDecoder::new();
        d.push(&wire[..wire.len() - 1]);
        assert_eq!(d.next_event().unwrap(), None);
        assert!(matches!(d.finish(), Err(EventStreamError::Truncated { .. })));

        let mut corrupt = wire.to_vec();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let mut d = EventStreamDecoder::new();
        d.push(&corrupt);
        assert!(matches!(d.next_event(), Err(EventStreamError::Frame { .. })));
    }
}
