//! Target `prelude`: [`PreludeDecoder`] fed a body cut at fuzzer-chosen points.
//!
//! Invariants checked on every input:
//! - the outcome (prelude and payload, error, or "needs more") is the same however the body is
//!   cut, and the same as for the whole body in one chunk;
//! - the decoder never consumes more than [`MAX_PRELUDE_BYTES`]; `TooLarge` comes exactly at the
//!   limit, and a body that ends earlier is reported `Truncated` with its length;
//! - each error points at what is really there (the offending byte, the run of NULs, the
//!   delimiter before a JSON error), and after it the decoder refuses more input and `finish`
//!   repeats the error;
//! - a complete prelude is followed by eight NULs, its JSON alone decodes to the same value, the
//!   payload after it is handed back intact, and re-encoding it decodes to the same prelude (or
//!   is refused as too large when the re-encoding grew past the limit).

use bytes::Bytes;
use lambda_stream_protocol::limits::MAX_PRELUDE_BYTES;
use lambda_stream_protocol::prelude::DELIMITER;
use lambda_stream_protocol::{Prelude, PreludeDecoder, PreludeError, PreludeProgress};

use crate::Seed;
use crate::input::Chunked;

/// What decoding a body gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The prelude completed after `consumed` bytes; `payload` is everything after it.
    Complete {
        /// The decoded prelude.
        prelude: Prelude,
        /// Bytes up to and including the delimiter.
        consumed: usize,
        /// The bytes after the delimiter, from every later piece.
        payload: Vec<u8>,
    },
    /// The decoder gave up.
    Failed {
        /// Why.
        error: PreludeError,
        /// Bytes consumed when it did.
        consumed: usize,
    },
    /// The body ended first.
    Unfinished {
        /// Bytes consumed.
        consumed: usize,
        /// What `finish` said.
        finish: Result<(), PreludeError>,
    },
}

/// Decodes `pieces` in order with one decoder, checking the decoder's own contract on the way.
pub fn decode(pieces: &[&[u8]]) -> Outcome {
    let mut decoder = PreludeDecoder::new();
    for (i, piece) in pieces.iter().enumerate() {
        let result = decoder.push(Bytes::copy_from_slice(piece));
        let consumed = decoder.consumed();
        assert!(consumed <= MAX_PRELUDE_BYTES, "consumed {consumed} bytes, past the {MAX_PRELUDE_BYTES} limit");
        match result {
            Ok(PreludeProgress::NeedMore) => {
                assert!(consumed < MAX_PRELUDE_BYTES, "needs more at the limit");
            }
            Ok(PreludeProgress::Complete { prelude, rest }) => {
                assert_eq!(decoder.finish(), Ok(()), "finish after a complete prelude");
                assert_eq!(decoder.push(Bytes::from_static(b"x")), Err(PreludeError::AlreadyDone));
                let mut payload = rest.to_vec();
                pieces[i + 1..].iter().for_each(|p| payload.extend_from_slice(p));
                return Outcome::Complete { prelude, consumed, payload };
            }
            Err(error) => {
                assert_eq!(decoder.push(Bytes::from_static(b"x")), Err(PreludeError::AlreadyDone));
                assert_eq!(decoder.finish(), Err(error.clone()), "finish after a failure repeats it");
                assert_eq!(decoder.consumed(), consumed, "a refused push consumes nothing");
                return Outcome::Failed { error, consumed };
            }
        }
    }
    Outcome::Unfinished { consumed: decoder.consumed(), finish: decoder.finish() }
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let input = Chunked::parse(data);
    let whole = decode(&[input.body]);
    let split = decode(&input.pieces());
    assert_eq!(split, whole, "the outcome depends on where the body was cut ({:?})", input.cuts);
    check_outcome(&whole, input.body);
}

fn check_outcome(outcome: &Outcome, body: &[u8]) {
    match outcome {
        Outcome::Complete { prelude, consumed, payload } => {
            let consumed = *consumed;
            assert!(consumed >= DELIMITER.len() + 2, "a prelude is at least `{{}}` and the delimiter");
            assert_eq!(&body[consumed - DELIMITER.len()..consumed], DELIMITER);
            assert_eq!(&body[consumed..], &payload[..], "the payload after the prelude changed");
            let json = &body[..consumed - DELIMITER.len()];
            assert!(!json.contains(&0), "a NUL inside the JSON");
            assert_eq!(Prelude::from_json(json).as_ref(), Ok(prelude), "the JSON alone decodes differently");
            check_reencoding(prelude);
            let headers = prelude.response_headers();
            let cookies = headers.iter().filter(|(n, _)| n == "set-cookie").count();
            assert!(cookies >= prelude.cookies.len());
            assert!(headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()), "header names in lower case");
        }
        Outcome::Failed { error, consumed } => {
            let consumed = *consumed;
            assert!(consumed >= 1 && consumed <= body.len());
            assert!(!error.to_string().is_empty());
            match error {
                PreludeError::NotAnObject { offset, byte } => {
                    assert_eq!(*offset + 1, consumed);
                    assert_eq!(body[*offset], *byte);
                    assert_ne!(*byte, b'{');
                    assert!(body[..*offset].iter().all(|b| b.is_ascii_whitespace()));
                }
                PreludeError::BrokenDelimiter { zeros, byte, offset } => {
                    assert_eq!(*offset + 1, consumed);
                    assert_eq!(body[*offset], *byte);
                    assert_ne!(*byte, 0);
                    assert!((1..DELIMITER.len()).contains(zeros));
                    assert!(body[offset - zeros..*offset].iter().all(|&b| b == 0));
                }
                PreludeError::TooLarge { limit } => {
                    assert_eq!(*limit, MAX_PRELUDE_BYTES);
                    assert_eq!(consumed, MAX_PRELUDE_BYTES, "refused before the limit");
                }
                PreludeError::MalformedJson { excerpt, .. } => {
                    assert_eq!(&body[consumed - DELIMITER.len()..consumed], DELIMITER);
                    assert!(excerpt.chars().count() <= 65, "an excerpt of at most 64 bytes and `…`");
                }
                PreludeError::InvalidField { .. } => {
                    assert_eq!(&body[consumed - DELIMITER.len()..consumed], DELIMITER);
                }
                other => panic!("a fresh decoder cannot fail with {other:?}"),
            }
        }
        Outcome::Unfinished { consumed, finish } => {
            assert_eq!(*consumed, body.len());
            assert!(body.len() < MAX_PRELUDE_BYTES);
            assert_eq!(finish, &Err(PreludeError::Truncated { received: body.len() }));
        }
    }
}

/// A decoded prelude, encoded again, decodes to itself (the encoder always writes the status).
fn check_reencoding(prelude: &Prelude) {
    let encoded = prelude.encode();
    let expected_back = Prelude { status_code: Some(prelude.status()), ..prelude.clone() };
    let again = decode(&[&encoded]);
    if encoded.len() <= MAX_PRELUDE_BYTES {
        assert_eq!(
            again,
            Outcome::Complete { prelude: expected_back, consumed: encoded.len(), payload: Vec::new() },
            "re-encoding does not decode to the same prelude"
        );
    } else {
        // Numbers and booleans become strings, escapes change: the encoding can outgrow the limit.
        assert_eq!(
            again,
            Outcome::Failed { error: PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES }, consumed: MAX_PRELUDE_BYTES }
        );
    }
}

/// Real preludes (what runtimes write), with and without payload and cuts, at and past the
/// 16 KiB limit, and each way of being wrong.
pub fn seeds() -> Vec<Seed> {
    let mut sample = Prelude::with_status(201).header("Content-Type", "text/plain").cookie("a=1; Secure");
    sample.multi_value_headers.insert("x-many".into(), vec!["1".into(), "2".into()]);
    let sample = sample.encode();
    let with_payload = [&sample[..], b"Number: 1\n"].concat();
    let delimiter_start = sample.len() as u16 - 8;

    // `{"statusCode":200,"headers":{"x":"…"},"cookies":[]}` + 8 NULs = exactly 16 KiB.
    let overhead = br#"{"statusCode":200,"headers":{"x":""},"cookies":[]}"#.len() + 8;
    let at_limit = Prelude::with_status(200).header("x", "a".repeat(MAX_PRELUDE_BYTES - overhead)).encode();
    let past_limit = Prelude::with_status(200).header("x", "a".repeat(MAX_PRELUDE_BYTES - overhead + 1)).encode();

    vec![
        ("default", Chunked::encode(&Prelude::default().encode(), &[])),
        ("sample-with-payload", Chunked::encode(&with_payload, &[])),
        ("sample-cut-in-delimiter", Chunked::encode(&with_payload, &[3, delimiter_start + 3, delimiter_start + 8])),
        ("sample-byte-pieces", Chunked::encode(&sample, &[1, 2, 3, 4, 5, 6, 7, 8])),
        (
            "node-style",
            Chunked::encode(b"{\"statusCode\":200,\"headers\":{\"content-type\":\"text/html\"}}\0\0\0\0\0\0\0\0<h1>hi</h1>", &[]),
        ),
        ("leading-whitespace", Chunked::encode(b" \r\n\t{\"statusCode\":404}\0\0\0\0\0\0\0\0", &[])),
        (
            "scalar-header-values",
            Chunked::encode(
                b"{\"headers\":{\"x-n\":5,\"x-b\":true,\"Content-Length\":\"12\"},\"multiValueHeaders\":{\"x-m\":[1,\"a\"],\"X-N\":[\"m\"]}}\0\0\0\0\0\0\0\0",
                &[],
            ),
        ),
        ("at-limit", Chunked::encode(&at_limit, &[])),
        ("past-limit", Chunked::encode(&past_limit, &[16000])),
        ("broken-delimiter", Chunked::encode(b"{}\0\0\0x", &[])),
        ("not-an-object", Chunked::encode(b"hello", &[])),
        ("malformed-json", Chunked::encode(b"{\"statusCode\":\0\0\0\0\0\0\0\0", &[])),
        ("status-out-of-range", Chunked::encode(b"{\"statusCode\":99}\0\0\0\0\0\0\0\0", &[])),
        ("truncated", Chunked::encode(b"{\"sta", &[2])),
    ]
}
