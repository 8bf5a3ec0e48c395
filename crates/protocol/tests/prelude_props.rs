//! Property tests of the prelude decoder: whatever the chunk boundaries, a valid prelude decodes
//! to the value that was encoded and the payload after it is handed back intact; arbitrary bytes
//! never make the decoder panic; and, with inputs around and up to twice the 16 KiB limit, a
//! prelude is accepted exactly when its delimiter ends within the limit and the decoder never
//! consumes past it.

use bytes::Bytes;
use lambda_stream_protocol::limits::MAX_PRELUDE_BYTES;
use lambda_stream_protocol::prelude::DELIMITER;
use lambda_stream_protocol::{Prelude, PreludeDecoder, PreludeError, PreludeProgress};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn header_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9-]{0,15}"
}

fn prelude() -> impl Strategy<Value = Prelude> {
    (
        proptest::option::of(100u16..=599),
        btree_map(header_name(), "[ -~]{0,24}", 0..4),
        btree_map(header_name(), vec("[ -~]{0,12}", 0..3), 0..3),
        vec("[a-z]{1,8}=[a-z0-9]{0,8}(; Path=/)?", 0..3),
    )
        .prop_map(|(status_code, headers, multi_value_headers, cookies)| Prelude {
            status_code,
            headers,
            multi_value_headers,
            cookies,
        })
}

/// Splits `bytes` at the given cut points (taken modulo the length, sorted, deduplicated).
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| Bytes::copy_from_slice(&bytes[w[0]..w[1]])).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_split_decodes_to_the_same_prelude(
        p in prelude(),
        payload in vec(any::<u8>(), 0..64),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let mut body = p.encode().to_vec();
        let prelude_len = body.len();
        body.extend_from_slice(&payload);

        let mut decoder = PreludeDecoder::new();
        let mut decoded = None;
        let mut after = Vec::new();
        for piece in split(&body, &cuts) {
            if decoded.is_some() {
                after.extend_from_slice(&piece);
                continue;
            }
            match decoder.push(piece).unwrap() {
                PreludeProgress::NeedMore => {}
                PreludeProgress::Complete { prelude, rest } => {
                    decoded = Some(prelude);
                    after.extend_from_slice(&rest);
                }
            }
        }
        // The encoder always writes a status (200 when unset).
        let written = Prelude { status_code: Some(p.status()), ..p.clone() };
        prop_assert_eq!(decoded.as_ref(), Some(&written));
        prop_assert_eq!(decoder.consumed(), prelude_len);
        prop_assert_eq!(after, payload);
        prop_assert!(decoder.finish().is_ok());
    }

    #[test]
    fn every_split_of_a_cut_prelude_needs_more_then_reports_truncation(
        p in prelude(),
        keep in any::<prop::sample::Index>(),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let body = p.encode();
        let kept = &body[..keep.index(body.len())];
        let mut decoder = PreludeDecoder::new();
        for piece in split(kept, &cuts) {
            prop_assert_eq!(decoder.push(piece).unwrap(), PreludeProgress::NeedMore);
        }
        prop_assert_eq!(decoder.finish(), Err(PreludeError::Truncated { received: kept.len() }));
    }

    #[test]
    fn short_garbage_never_panics_and_its_errors_say_what_went_wrong(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..256),
            // Mostly-JSON garbage reaches deeper states than uniform bytes.
            vec(prop_oneof![Just(b'{'), Just(b'}'), Just(b'"'), Just(b':'), Just(0u8), Just(b' '), any::<u8>()], 0..256),
        ],
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let (outcome, consumed) = decode(&bytes, &cuts);
        prop_assert!(consumed <= bytes.len());
        // Short garbage is never "too large"; whatever happened, an error renders a message.
        let too_large = matches!(outcome, Err(PreludeError::TooLarge { .. }));
        prop_assert!(!too_large, "{:?}", outcome);
        if let Err(e) = outcome {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// Pushes `body` cut at `cuts` until the decoder completes or fails; the outcome (`Ok(None)`
/// when it still needs more, `Ok(Some(len))` with the bytes up to the delimiter when complete)
/// and the bytes consumed.
fn decode(body: &[u8], cuts: &[usize]) -> (Result<Option<usize>, PreludeError>, usize) {
    let mut decoder = PreludeDecoder::new();
    for piece in split(body, cuts) {
        match decoder.push(piece) {
            Ok(PreludeProgress::NeedMore) => {}
            Ok(PreludeProgress::Complete { .. }) => return (Ok(Some(decoder.consumed())), decoder.consumed()),
            Err(e) => return (Err(e), decoder.consumed()),
        }
    }
    (Ok(None), decoder.consumed())
}

// Inputs around and past the 16 KiB limit: fewer cases, each up to 32 KiB.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A valid prelude whose delimiter ends within 16 KiB of the body's start decodes; one byte
    /// more and it is refused as too large, after exactly 16 KiB and not a byte more.
    #[test]
    fn a_prelude_is_accepted_exactly_when_its_delimiter_ends_within_16_kib(
        end in (MAX_PRELUDE_BYTES - 64)..(MAX_PRELUDE_BYTES + 64),
        leading_spaces in 0usize..4,
        payload in vec(any::<u8>(), 0..64),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        // `{"x":"aaa…"}` padded so that JSON + delimiter end at `end`.
        let overhead = leading_spaces + br#"{"x":""}"#.len() + DELIMITER.len();
        let mut body = vec![b' '; leading_spaces];
        body.extend_from_slice(format!(r#"{{"x":"{}"}}"#, "a".repeat(end - overhead)).as_bytes());
        body.extend_from_slice(&DELIMITER);
        prop_assert_eq!(body.len(), end);
        body.extend_from_slice(&payload);

        let (outcome, consumed) = decode(&body, &cuts);
        if end <= MAX_PRELUDE_BYTES {
            prop_assert_eq!(outcome, Ok(Some(end)));
        } else {
            prop_assert_eq!(outcome, Err(PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES }));
            prop_assert_eq!(consumed, MAX_PRELUDE_BYTES);
        }
    }

    /// Bodies up to twice the limit that open a JSON object, with or without a delimiter
    /// somewhere: the decoder never consumes more than 16 KiB; a delimiter that ends within the
    /// limit ends the prelude (valid or not) right there; otherwise "too large" comes exactly at
    /// 16 KiB, and a body shorter than that without a delimiter needs more.
    #[test]
    fn long_garbage_never_overruns_the_limit(
        // Past the `{` every non-NUL byte is alike to the scanner: a short random pattern
        // repeated to a random length keeps 32 KiB cases cheap.
        filler in (vec(1u8..=255, 1..16), 0..(2 * MAX_PRELUDE_BYTES))
            .prop_map(|(pattern, len)| pattern.iter().copied().cycle().take(len).collect::<Vec<u8>>()),
        delimiter_at in proptest::option::of(any::<prop::sample::Index>()),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let mut body = [&b"{"[..], &filler].concat();
        let delimiter_end = delimiter_at.map(|at| {
            let at = 1 + at.index(filler.len() + 1);
            body.splice(at..at, DELIMITER);
            at + DELIMITER.len()
        });

        let (outcome, consumed) = decode(&body, &cuts);
        prop_assert!(consumed <= MAX_PRELUDE_BYTES);
        match delimiter_end {
            Some(end) if end <= MAX_PRELUDE_BYTES => {
                prop_assert_eq!(consumed, end);
                let ended_there =
                    matches!(outcome, Ok(Some(_)) | Err(PreludeError::MalformedJson { .. } | PreludeError::InvalidField { .. }));
                prop_assert!(ended_there, "{:?}", outcome);
            }
            _ if body.len() >= MAX_PRELUDE_BYTES => {
                prop_assert_eq!(outcome, Err(PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES }));
                prop_assert_eq!(consumed, MAX_PRELUDE_BYTES);
            }
            _ => {
                prop_assert_eq!(outcome, Ok(None));
                prop_assert_eq!(consumed, body.len());
            }
        }
    }
}

#[test]
fn a_prelude_past_16_kib_is_refused_at_the_limit() {
    let big = Prelude::default().header("x-big", "a".repeat(MAX_PRELUDE_BYTES));
    let mut decoder = PreludeDecoder::new();
    let mut result = Ok(PreludeProgress::NeedMore);
    for piece in big.encode().chunks(1000) {
        result = decoder.push(Bytes::copy_from_slice(piece));
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES }));
    assert_eq!(decoder.consumed(), MAX_PRELUDE_BYTES);
}

#[test]
fn a_prelude_ending_exactly_at_16_kib_is_accepted() {
    // `{"statusCode":200,"headers":{"x":"…"},"cookies":[]}` + 8 NULs = 16384 bytes exactly.
    let overhead = br#"{"statusCode":200,"headers":{"x":""},"cookies":[]}"#.len() + 8;
    let p = Prelude::with_status(200).header("x", "a".repeat(MAX_PRELUDE_BYTES - overhead));
    let body = p.encode();
    assert_eq!(body.len(), MAX_PRELUDE_BYTES);
    let mut decoder = PreludeDecoder::new();
    assert_eq!(decoder.push(body).unwrap(), PreludeProgress::Complete { prelude: p, rest: Bytes::new() });
}
