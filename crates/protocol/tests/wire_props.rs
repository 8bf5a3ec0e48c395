//! Property tests of the other wire forms: error trailers and IWRS event-stream frames survive a
//! round trip, whatever their content and however the frames are split on arrival.

use bytes::Bytes;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{ErrorDiagnostic, EventStreamDecoder, InvokeEvent};
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

    #[test]
    fn trailer_garbage_is_an_error_not_a_panic(body in ".{0,64}") {
        let _ = ErrorDiagnostic::from_trailers("Function.X", Some(&body));
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

    #[test]
    fn event_stream_garbage_is_an_error_not_a_panic(bytes in vec(any::<u8>(), 0..200)) {
        let mut decoder = EventStreamDecoder::new();
        decoder.push(&bytes);
        for _ in 0..4 {
            match decoder.next_event() {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }
}
