//! Property tests of the other wire forms: error trailers and IWRS event-stream frames survive a
//! round trip, whatever their content and however the frames are split on arrival; a trailer
//! body that is not base64 of the error JSON, and a frame with any byte changed, are errors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{ErrorDiagnostic, EventStreamDecoder, EventStreamError, InvokeEvent, TrailerError};
use proptest::collection::vec;
use proptest::prelude::*;

fn diagnostic() -> impl Strategy<Value = ErrorDiagnostic> {
    (".{1,24}", ".{0,64}", vec(".{0,24}", 0..4)).prop_map(|(error_type, error_message, trace)| ErrorDiagnostic {
        error_type,
        error_message,
        trace,
    })
}

fn event() -> impl Strategy<Value = InvokeEvent> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..300).prop_map(|b| InvokeEvent::PayloadChunk(Bytes::from(b))),
        1 => (proptest::option::of(".{0,20}"), proptest::option::of(".{0,40}"), proptest::option::of("[A-Za-z0-9+/=]{0,20}"))
            .prop_map(|(error_code, error_details, log_result)| InvokeEvent::InvokeComplete(InvokeComplete { error_code, error_details, log_result })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trailers_round_trip(d in diagnostic()) {
        let (ty, body) = d.to_trailers();
        prop_assert_eq!(&ty, &d.error_type);
        // The body is a legal HTTP header value: standard base64 only.
        prop_assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='));
        prop_assert_eq!(ErrorDiagnostic::from_trailers(&ty, Some(&body)).unwrap(), d.clone());
        let from_body = ErrorDiagnostic::from_error_body(&d.to_error_body(), None);
        prop_assert_eq!(from_body, d);
    }

    /// A body with a character outside standard base64 is refused as such, quoting its start.
    #[test]
    fn trailer_garbage_is_an_error_not_a_panic(body in "[A-Za-z0-9+/=]{0,40}[^A-Za-z0-9+/=\\s][^\\s]{0,40}") {
        match ErrorDiagnostic::from_trailers("Function.Xy", Some(&body)) {
            Err(TrailerError::InvalidBase64 { excerpt, .. }) => {
                prop_assert_eq!(excerpt, body.chars().take(48).collect::<String>());
            }
            other => prop_assert!(false, "expected InvalidBase64, got {:?}", other),
        }
    }

    /// Standard base64 of something that is not the error JSON is refused as such.
    #[test]
    fn trailer_base64_of_anything_but_the_error_json_is_an_error(
        // `x` cannot start a JSON document; arrays and strings are JSON but not the document.
        raw in prop_oneof![
            vec(any::<u8>(), 0..48).prop_map(|b| [&b"x"[..], &b].concat()),
            "\\[[0-9,]{0,10}\\]".prop_map(String::into_bytes),
            "\"[a-z]{0,10}\"".prop_map(String::into_bytes),
        ],
    ) {
        let result = ErrorDiagnostic::from_trailers("Function.Xy", Some(&STANDARD.encode(&raw)));
        let invalid_json = matches!(result, Err(TrailerError::InvalidJson { .. }));
        prop_assert!(invalid_json, "{:?}", result);
    }

    #[test]
    fn event_frames_round_trip_split_anywhere(events in vec(event(), 0..8), step in 1usize..64) {
        let wire: Vec<u8> = events.iter().flat_map(|e| e.encode().to_vec()).collect();
        let mut decoder = EventStreamDecoder::new();
        let mut got = Vec::new();
        for piece in wire.chunks(step) {
            decoder.push(piece);
            while let Some(e) = decoder.next_event().unwrap() {
                got.push(e);
            }
        }
        prop_assert!(decoder.finish().is_ok());
        prop_assert_eq!(got, events);
    }

    /// A frame with any byte changed never yields an event: the decoder reports a bad frame, or
    /// (when the change made the declared length longer) waits for bytes that never come and
    /// `finish` reports the stream truncated. CRC-32 catches every change of one byte.
    #[test]
    fn event_stream_garbage_is_an_error_not_a_panic(
        event in event(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        step in 1usize..64,
    ) {
        let mut wire = event.encode().to_vec();
        let at = at.index(wire.len());
        wire[at] ^= flip;
        let mut decoder = EventStreamDecoder::new();
        let mut outcome = Ok(None);
        for piece in wire.chunks(step) {
            decoder.push(piece);
            outcome = decoder.next_event();
            if !matches!(outcome, Ok(None)) {
                break;
            }
        }
        match outcome {
            Err(EventStreamError::Frame { .. }) => {}
            Ok(None) => {
                let truncated = matches!(decoder.finish(), Err(EventStreamError::Truncated { .. }));
                prop_assert!(truncated, "byte {} changed, nothing decoded, yet finish is {:?}", at, decoder.finish());
                prop_assert!(at < 4, "only a longer declared length can leave the frame waiting (byte {})", at);
            }
            other => prop_assert!(false, "byte {} changed: {:?}", at, other),
        }
    }
}
