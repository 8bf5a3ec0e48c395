//! The HTTP-integration prelude: how a streamed function sets the status, headers and cookies a
//! function URL (or API Gateway) answers with.
//!
//! When a streamed response's content type is
//! [`HTTP_INTEGRATION_CONTENT_TYPE`](crate::names::HTTP_INTEGRATION_CONTENT_TYPE), its body opens
//! with a JSON object, then eight `0x00` bytes, then the payload (NODE
//! `src/HttpResponseStream.js`; RUST `lambda-runtime/src/requests.rs`; SWIFT
//! `LambdaResponseStreamWriter+Headers.swift`). Every key is optional. API Gateway requires the
//! delimiter within the first 16 KiB and merges the two header maps with `multiValueHeaders`
//! winning (API Gateway guide, "response transfer mode for Lambda").
//!
//! ## Parts
//! - [`Prelude`]: the value, its [`encode`](Prelude::encode)ing and the header list a front end
//!   answers with ([`Prelude::response_headers`] for a function URL, [`Prelude::merged_headers`]
//!   for API Gateway, which keeps a function's `Content-Length`).
//! - [`PreludeDecoder`]: an incremental decoder. Chunks may split the JSON, the delimiter and the
//!   payload anywhere, or carry all three at once; cargo-lambda assumes "one chunk JSON, the next
//!   the delimiter" and breaks otherwise, this decoder does not. It scans each byte once, keeps at
//!   most 16 KiB, and fails with a [`PreludeError`] that says what was wrong and where.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde_json::Value;

use crate::limits::MAX_PRELUDE_BYTES;
use crate::names::REMAPPED_CONTENT_LENGTH;

/// The delimiter between the prelude's JSON and the payload.
pub const DELIMITER: [u8; 8] = [0; 8];

/// Status, headers and cookies of a streamed HTTP answer.
///
/// Every key is optional when decoding. When encoding, `statusCode` (200 when unset), `headers`
/// and `cookies` are always written, as the official Rust runtime writes them (RUST
/// `lambda-runtime/src/types.rs`, `MetadataPrelude`), because tools that decode the prelude into
/// that struct, cargo-lambda's emulator among them, fail the call when one is missing.
/// `multiValueHeaders` is written only when used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prelude {
    /// The HTTP status; a front end answers 200 when it is absent.
    pub status_code: Option<u16>,
    /// Single-valued headers.
    pub headers: BTreeMap<String, String>,
    /// Multi-valued headers; a name here replaces the same name in `headers`.
    pub multi_value_headers: BTreeMap<String, Vec<String>>,
    /// `Set-Cookie` values, one per cookie.
    pub cookies: Vec<String>,
}

/// The encoded shape of a [`Prelude`] (see its documentation for why the keys are always there).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePrelude<'a> {
    status_code: u16,
    headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    multi_value_headers: &'a BTreeMap<String, Vec<String>>,
    cookies: &'a [String],
}

impl Prelude {
    /// A prelude with just a status.
    pub fn with_status(status_code: u16) -> Self {
        Self { status_code: Some(status_code), ..Self::default() }
    }

    /// Adds a single-valued header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Adds a cookie (builder style).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }

    /// The JSON object alone, without the delimiter.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WirePrelude {
            status_code: self.status(),
            headers: &self.headers,
            multi_value_headers: &self.multi_value_headers,
            cookies: &self.cookies,
        };
        // Serialising maps of strings into a Vec cannot fail.
        serde_json::to_vec(&wire).expect("a prelude always serialises")
    }

    /// The bytes that open the body: the JSON object, then eight NUL bytes.
    pub fn encode(&self) -> Bytes {
        let mut out = self.to_json();
        out.extend_from_slice(&DELIMITER);
        Bytes::from(out)
    }

    /// The status a front end answers with: the prelude's, else 200.
    pub fn status(&self) -> u16 {
        self.status_code.unwrap_or(200)
    }

    /// The headers a function URL answers with: [`merged_headers`](Self::merged_headers), with a
    /// `content-length` renamed to `x-amzn-remapped-content-length`, since the streamed body is
    /// framed by the front end, not by the function.
    pub fn response_headers(&self) -> Vec<(String, String)> {
        let mut out = self.merged_headers();
        for (name, _) in &mut out {
            if name == "content-length" {
                *name = REMAPPED_CONTENT_LENGTH.to_owned();
            }
        }
        out
    }

    /// The prelude's headers as one list, names in lower case: `headers` merged with
    /// `multiValueHeaders` (which wins for a name in both, as API Gateway merges them, APIGW
    /// "Lambda proxy integration format for response streaming"), then each cookie as a
    /// `set-cookie`. Nothing is renamed: API Gateway keeps a function's `Content-Length`.
    pub fn merged_headers(&self) -> Vec<(String, String)> {
        let multi: BTreeMap<String, &Vec<String>> =
            self.multi_value_headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            if !multi.contains_key(&name) {
                out.push((name, value.clone()));
            }
        }
        for (name, values) in multi {
            for value in values {
                out.push((name.clone(), value.clone()));
            }
        }
        for cookie in &self.cookies {
            out.push(("set-cookie".to_owned(), cookie.clone()));
        }
        out
    }

    /// Reads a prelude from its JSON object (without the delimiter).
    ///
    /// Header values given as numbers or booleans are taken as their text, as API Gateway does;
    /// anything else of the wrong shape is an error naming the field.
    pub fn from_json(json: &[u8]) -> Result<Self, PreludeError> {
        let value: Value = serde_json::from_slice(json)
            .map_err(|e| PreludeError::MalformedJson { reason: e.to_string(), excerpt: excerpt(json) })?;
        let Value::Object(map) = value else {
            return Err(PreludeError::InvalidField {
                field: "(root)",
                reason: "the prelude must be a JSON object".into(),
            });
        };
        let mut prelude = Prelude::default();
        for (key, value) in map {
            match key.as_str() {
                "statusCode" => prelude.status_code = Some(status_code(&value)?),
                "headers" => {
                    for (name, v) in object(&value, "headers")? {
                        let text = scalar(v)
                            .ok_or_else(|| invalid("headers", format!("value of `{name}` must be a string")))?;
                        prelude.headers.insert(name.clone(), text);
                    }
                }
                "multiValueHeaders" => {
                    for (name, v) in object(&value, "multiValueHeaders")? {
                        let Value::Array(items) = v else {
                            return Err(invalid(
                                "multiValueHeaders",
                                format!("value of `{name}` must be an array of strings"),
                            ));
                        };
                        let texts =
                            items.iter().map(scalar).collect::<Option<Vec<_>>>().ok_or_else(|| {
                                invalid("multiValueHeaders", format!("`{name}` must hold only strings"))
                            })?;
                        prelude.multi_value_headers.insert(name.clone(), texts);
                    }
                }
                "cookies" => {
                    let Value::Array(items) = &value else {
                        return Err(invalid("cookies", "must be an array of strings".into()));
                    };
                    for item in items {
                        let Value::String(s) = item else {
                            return Err(invalid("cookies", "must hold only strings".into()));
                        };
                        prelude.cookies.push(s.clone());
                    }
                }
                // Unknown keys are ignored, as the front ends do.
                _ => {}
            }
        }
        Ok(prelude)
    }
}

fn status_code(value: &Value) -> Result<u16, PreludeError> {
    value
        .as_u64()
        .filter(|code| (100..=599).contains(code))
        .map(|code| code as u16)
        .ok_or_else(|| invalid("statusCode", format!("must be an integer from 100 to 599, got {value}")))
}

fn object<'a>(value: &'a Value, field: &'static str) -> Result<&'a serde_json::Map<String, Value>, PreludeError> {
    value.as_object().ok_or_else(|| invalid(field, "must be a JSON object".into()))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn invalid(field: &'static str, reason: String) -> PreludeError {
    PreludeError::InvalidField { field, reason }
}

fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(64)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > cut.len() {
        text.push('…');
    }
    text
}

/// Why a prelude could not be decoded. Each message names the problem and the byte counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreludeError {
    /// The body does not start with a JSON object.
    #[error("the body does not start with a prelude JSON object: byte {offset} is {byte:#04x}, expected `{{`")]
    NotAnObject {
        /// Offset of the offending byte.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// A NUL byte started the delimiter but fewer than eight followed.
    #[error(
        "the prelude delimiter must be eight NUL bytes, but only {zeros} came before byte {byte:#04x} at offset {offset}"
    )]
    BrokenDelimiter {
        /// How many NUL bytes were seen in a row.
        zeros: usize,
        /// The byte that broke the run.
        byte: u8,
        /// Its offset in the body.
        offset: usize,
    },
    /// No delimiter within the first 16 KiB.
    #[error("no prelude delimiter (eight NUL bytes) within the first {limit} bytes of the body")]
    TooLarge {
        /// The limit, [`MAX_PRELUDE_BYTES`].
        limit: usize,
    },
    /// The JSON before the delimiter does not parse.
    #[error("the prelude is not valid JSON ({reason}): {excerpt:?}")]
    MalformedJson {
        /// The parser's message.
        reason: String,
        /// The start of the offending text.
        excerpt: String,
    },
    /// The JSON parses but a field has the wrong shape.
    #[error("prelude field `{field}` {reason}")]
    InvalidField {
        /// The field's JSON name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The body ended before the delimiter.
    #[error("the body ended after {received} bytes, before the prelude's delimiter (eight NUL bytes)")]
    Truncated {
        /// Bytes received in all.
        received: usize,
    },
    /// The decoder was fed again after it completed or failed.
    #[error("the prelude decoder was used after it had already completed or failed")]
    AlreadyDone,
}

/// What [`PreludeDecoder::push`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreludeProgress {
    /// The delimiter has not arrived yet.
    NeedMore,
    /// The prelude, and the payload bytes that came after the delimiter in the same chunk
    /// (possibly empty).
    Complete {
        /// The decoded prelude.
        prelude: Prelude,
        /// Payload bytes after the delimiter in the chunk that completed it.
        rest: Bytes,
    },
}

/// Decodes a prelude from a body that arrives in chunks split anywhere.
#[derive(Debug, Default)]
pub struct PreludeDecoder {
    /// JSON bytes so far (the delimiter is counted, not kept).
    json: BytesMut,
    /// NUL bytes seen in a row at the end of the input.
    zeros: usize,
    /// Total bytes consumed.
    consumed: usize,
    /// Whether the first non-whitespace byte was seen.
    started: bool,
    state: DecoderState,
}

/// Where a [`PreludeDecoder`] is: still reading, or done one way or the other.
#[derive(Debug, Default)]
enum DecoderState {
    #[default]
    Reading,
    Complete,
    /// Failed with this error, which [`PreludeDecoder::finish`] repeats.
    Failed(PreludeError),
}

impl PreludeDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Feeds the next chunk of the body.
    pub fn push(&mut self, chunk: Bytes) -> Result<PreludeProgress, PreludeError> {
        if !matches!(self.state, DecoderState::Reading) {
            return Err(PreludeError::AlreadyDone);
        }
        let result = self.scan(chunk);
        match &result {
            Ok(PreludeProgress::NeedMore) => {}
            Ok(PreludeProgress::Complete { .. }) => self.state = DecoderState::Complete,
            Err(e) => self.state = DecoderState::Failed(e.clone()),
        }
        result
    }

    fn scan(&mut self, chunk: Bytes) -> Result<PreludeProgress, PreludeError> {
        for (i, &byte) in chunk.iter().enumerate() {
            let offset = self.consumed;
            self.consumed += 1;
            if byte == 0 {
                self.zeros += 1;
                if self.zeros == DELIMITER.len() {
                    let prelude = Prelude::from_json(&self.json)?;
                    return Ok(PreludeProgress::Complete { prelude, rest: chunk.slice(i + 1..) });
                }
            } else if self.zeros > 0 {
                return Err(PreludeError::BrokenDelimiter { zeros: self.zeros, byte, offset });
            } else {
                if !self.started && !byte.is_ascii_whitespace() {
                    if byte != b'{' {
                        return Err(PreludeError::NotAnObject { offset, byte });
                    }
                    self.started = true;
                }
                self.json.extend_from_slice(&[byte]);
            }
            if self.consumed >= MAX_PRELUDE_BYTES {
                return Err(PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES });
            }
        }
        Ok(PreludeProgress::NeedMore)
    }

    /// Reports the end of the body: an error unless the prelude completed. After a failed
    /// [`push`](Self::push) it repeats that failure; before the delimiter it is
    /// [`PreludeError::Truncated`].
    pub fn finish(&self) -> Result<(), PreludeError> {
        match &self.state {
            DecoderState::Complete => Ok(()),
            DecoderState::Failed(e) => Err(e.clone()),
            DecoderState::Reading => Err(PreludeError::Truncated { received: self.consumed }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Prelude {
        let mut p = Prelude::with_status(201).header("Content-Type", "text/plain").cookie("a=1; Secure");
        p.multi_value_headers.insert("x-many".into(), vec!["1".into(), "2".into()]);
        p
    }

    #[test]
    fn encodes_json_then_eight_nuls() {
        let bytes = Prelude::with_status(404).encode();
        assert_eq!(&bytes[..], b"{\"statusCode\":404,\"headers\":{},\"cookies\":[]}\0\0\0\0\0\0\0\0");
        assert_eq!(
            &Prelude::default().encode()[..],
            b"{\"statusCode\":200,\"headers\":{},\"cookies\":[]}\0\0\0\0\0\0\0\0"
        );
    }

    #[test]
    fn decodes_prelude_and_rest_in_one_chunk() {
        let mut body = sample().encode().to_vec();
        body.extend_from_slice(b"hello");
        let mut d = PreludeDecoder::new();
        let got = d.push(Bytes::from(body)).unwrap();
        assert_eq!(got, PreludeProgress::Complete { prelude: sample(), rest: Bytes::from_static(b"hello") });
        d.finish().unwrap();
        assert_eq!(d.push(Bytes::new()), Err(PreludeError::AlreadyDone));
    }

    #[test]
    fn decodes_byte_by_byte() {
        let body = sample().encode();
        let mut d = PreludeDecoder::new();
        for (i, b) in body.iter().enumerate() {
            let got = d.push(Bytes::copy_from_slice(&[*b])).unwrap();
            if i + 1 < body.len() {
                assert_eq!(got, PreludeProgress::NeedMore);
            } else {
                assert_eq!(got, PreludeProgress::Complete { prelude: sample(), rest: Bytes::new() });
            }
        }
    }

    #[test]
    fn merges_headers_with_multi_value_winning_and_remaps_content_length() {
        let mut p = Prelude::with_status(200).header("X-Dup", "single").header("Content-Length", "12");
        p.multi_value_headers.insert("x-dup".into(), vec!["m1".into(), "m2".into()]);
        p.cookies.push("c=1".into());
        assert_eq!(
            p.response_headers(),
            vec![
                ("x-amzn-remapped-content-length".into(), "12".into()),
                ("x-dup".into(), "m1".into()),
                ("x-dup".into(), "m2".into()),
                ("set-cookie".into(), "c=1".into()),
            ]
        );
        assert_eq!(
            p.merged_headers()[0],
            ("content-length".into(), "12".into()),
            "API Gateway's list keeps the function's Content-Length"
        );
        assert_eq!(p.merged_headers().len(), 4);
    }

    #[test]
    fn errors_name_the_problem() {
        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from_static(b"hello")).unwrap_err();
        assert!(err.to_string().contains("does not start with a prelude JSON object"), "{err}");

        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from_static(b"{}\0\0\0x")).unwrap_err();
        assert_eq!(err, PreludeError::BrokenDelimiter { zeros: 3, byte: b'x', offset: 5 });

        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from_static(b"{\"statusCode\":\0\0\0\0\0\0\0\0")).unwrap_err();
        assert!(matches!(err, PreludeError::MalformedJson { .. }), "{err}");

        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from_static(b"{\"statusCode\":99}\0\0\0\0\0\0\0\0")).unwrap_err();
        assert_eq!(err.to_string(), "prelude field `statusCode` must be an integer from 100 to 599, got 99");

        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from(vec![b' '; MAX_PRELUDE_BYTES])).unwrap_err();
        assert_eq!(err, PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES });

        let mut d = PreludeDecoder::new();
        assert_eq!(d.push(Bytes::from_static(b"{\"sta")).unwrap(), PreludeProgress::NeedMore);
        assert_eq!(d.finish(), Err(PreludeError::Truncated { received: 5 }));
    }

    #[test]
    fn malformed_json_errors_quote_at_most_64_bytes_of_it() {
        let excerpt_of = |json: &[u8]| match Prelude::from_json(json) {
            Err(PreludeError::MalformedJson { excerpt, .. }) => excerpt,
            other => panic!("expected MalformedJson, got {other:?}"),
        };
        assert_eq!(excerpt_of(b"{\"statusCode\":"), "{\"statusCode\":");
        let exactly_64 = format!("{{\"x\":\"{}", "a".repeat(58));
        assert_eq!(exactly_64.len(), 64);
        assert_eq!(excerpt_of(exactly_64.as_bytes()), exactly_64);
        let longer = format!("{}tail", exactly_64);
        assert_eq!(excerpt_of(longer.as_bytes()), format!("{exactly_64}…"));
        let err = Prelude::from_json(longer.as_bytes()).unwrap_err();
        // The message quotes the excerpt (escaped), ellipsis included.
        assert!(err.to_string().ends_with(&format!("{}…\"", "a".repeat(58))), "{err}");
    }

    /// Found by the `prelude` fuzz target: `finish` answered `Ok(())` after a failed `push`,
    /// although its contract is "an error unless the prelude completed".
    #[test]
    fn finish_after_a_failure_repeats_the_failure() {
        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from_static(b"{}\0\0\0x")).unwrap_err();
        assert_eq!(d.finish(), Err(err));

        let mut d = PreludeDecoder::new();
        let err = d.push(Bytes::from(vec![b' '; MAX_PRELUDE_BYTES])).unwrap_err();
        assert_eq!(err, PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES });
        assert_eq!(d.finish(), Err(err));
        assert_eq!(d.push(Bytes::new()), Err(PreludeError::AlreadyDone));
        assert_eq!(
            d.finish(),
            Err(PreludeError::TooLarge { limit: MAX_PRELUDE_BYTES }),
            "a refused push changes nothing"
        );
    }

    #[test]
    fn header_values_may_be_numbers() {
        let p = Prelude::from_json(br#"{"headers":{"x-n":5,"x-b":true},"multiValueHeaders":{"x-m":[1,"a"]}}"#).unwrap();
        assert_eq!(p.headers["x-n"], "5");
        assert_eq!(p.headers["x-b"], "true");
        assert_eq!(p.multi_value_headers["x-m"], vec!["1".to_string(), "a".to_string()]);
        assert!(Prelude::from_json(br#"{"headers":{"x":{}}}"#).is_err());
        assert!(Prelude::from_json(br#"{"cookies":"a=1"}"#).is_err());
        assert!(Prelude::from_json(br#"[1]"#).is_err());
    }
}
