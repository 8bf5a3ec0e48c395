//! Target `diagnostic`: the error document in both its wire forms, and the error-type
//! normalisation.
//!
//! Input: up to four fields separated by `0xFF` (a byte that never occurs in UTF-8): the
//! `Lambda-Runtime-Function-Error-Type` trailer, the `Lambda-Runtime-Function-Error-Body`
//! trailer (absent when the field is missing), a `POST /error` body (raw bytes), and that
//! request's `Lambda-Runtime-Function-Error-Type` header (absent when missing). Text fields are
//! read as lossy UTF-8.
//!
//! Invariants:
//! - [`ErrorDiagnostic::from_trailers`]: a missing body gives the type and an empty message; a
//!   body that decodes gives a document that survives `to_trailers` and back (and its `/error`
//!   form too), typed by the trailer when the document has no type of its own, and
//!   `Function.Unknown` when neither has one; `InvalidBase64` only for a body that is
//!   not standard base64, with an excerpt that is the start of it; `InvalidJson` only for one that
//!   is.
//! - [`ErrorDiagnostic::from_error_body`]: never fails and always names a type; the documented
//!   JSON survives `to_error_body` and back; anything else is kept whole as the message, typed by
//!   the header or, when that is missing or empty, `Function.Unknown`.
//! - [`normalize_error_type`]: agrees with an independent reading of its rule (keep
//!   `(Runtime|Function)\.[A-Z][a-zA-Z]+`, else `Runtime.Unknown` for a `Runtime.` type and
//!   `Function.Unknown` otherwise), is idempotent, and its answer is a valid header value.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{ErrorDiagnostic, TrailerError, normalize_error_type};

use crate::Seed;

const SEPARATOR: u8 = 0xff;

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let mut fields = data.split(|&b| b == SEPARATOR);
    let trailer_type = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let trailer_body = fields.next().map(|f| String::from_utf8_lossy(f).into_owned());
    let error_body = fields.next().unwrap_or_default();
    let header_type = fields.next().map(|f| String::from_utf8_lossy(f).into_owned());

    check_trailers(&trailer_type, trailer_body.as_deref());
    check_error_body(error_body, header_type.as_deref());
    for raw in [Some(trailer_type.as_str()), header_type.as_deref(), trailer_body.as_deref()].into_iter().flatten() {
        check_normalisation(raw);
    }
}

fn check_trailers(error_type: &str, body: Option<&str>) {
    match ErrorDiagnostic::from_trailers(error_type, body) {
        Ok(diagnostic) => {
            let trailer_type = if error_type.is_empty() { error_types::FUNCTION_UNKNOWN } else { error_type };
            match body {
                None => assert_eq!(diagnostic, ErrorDiagnostic::new(trailer_type, "")),
                Some(body) => {
                    let json = STANDARD.decode(body.trim()).expect("accepted a body that is not standard base64");
                    // serde_json skips unknown fields without checking them, so the document is
                    // read with the same derive, not as a `Value`.
                    assert!(is_object(&json), "accepted a document that is not a JSON object");
                    let document: ErrorDiagnostic =
                        serde_json::from_slice(&json).expect("accepted a body that is not the error JSON");
                    let own_type = document.error_type.as_str();
                    let expected_type = if own_type.is_empty() { trailer_type } else { own_type };
                    assert_eq!(diagnostic.error_message, document.error_message);
                    assert_eq!(diagnostic.trace, document.trace);
                    assert_eq!(diagnostic.error_type, expected_type);
                }
            }
            let (ty, encoded) = diagnostic.to_trailers();
            assert_eq!(ty, diagnostic.error_type);
            assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
            assert_eq!(ErrorDiagnostic::from_trailers(&ty, Some(&encoded)), Ok(diagnostic.clone()));
            assert_eq!(ErrorDiagnostic::from_error_body(&diagnostic.to_error_body(), None), diagnostic);
        }
        Err(error) => {
            let body = body.expect("a missing body is never an error");
            assert!(!error.to_string().is_empty());
            match &error {
                TrailerError::InvalidBase64 { excerpt, .. } => {
                    assert!(STANDARD.decode(body.trim()).is_err(), "refused valid base64: {error}");
                    assert!(body.starts_with(excerpt.as_str()), "the excerpt is not the start of the body");
                    assert!(excerpt.chars().count() <= 48);
                }
                TrailerError::InvalidJson { .. } => {
                    assert!(STANDARD.decode(body.trim()).is_ok(), "said the JSON is wrong when the base64 is: {error}");
                }
                other => panic!("unknown trailer error {other:?}"),
            }
        }
    }
}

fn check_error_body(body: &[u8], header_type: Option<&str>) {
    let diagnostic = ErrorDiagnostic::from_error_body(body, header_type);
    let fallback = header_type.filter(|t| !t.is_empty()).unwrap_or(error_types::FUNCTION_UNKNOWN);
    assert!(!diagnostic.error_type.is_empty(), "an /error body without a type");
    match serde_json::from_slice::<ErrorDiagnostic>(body).ok().filter(|_| is_object(body)) {
        Some(document) => {
            let expected_type = if document.error_type.is_empty() { fallback } else { &document.error_type };
            assert_eq!(diagnostic.error_type, expected_type);
            assert_eq!(ErrorDiagnostic::from_error_body(&diagnostic.to_error_body(), None), diagnostic);
        }
        None => assert_eq!(diagnostic, ErrorDiagnostic::new(fallback, String::from_utf8_lossy(body))),
    }
}

/// Whether JSON text is an object (serde would also build the struct from an array).
fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b" \t\r\n".contains(b)) == Some(&b'{')
}

/// `(Runtime|Function)\.[A-Z][a-zA-Z]+`, the whole value.
fn matches_rule(raw: &str) -> bool {
    let Some((category, reason)) = raw.split_once('.') else { return false };
    let reason = reason.as_bytes();
    matches!(category, "Runtime" | "Function")
        && reason.len() >= 2
        && reason[0].is_ascii_uppercase()
        && reason.iter().all(u8::is_ascii_alphabetic)
}

fn check_normalisation(raw: &str) {
    let normalised = normalize_error_type(raw);
    let expected = if matches_rule(raw) {
        raw
    } else if raw.starts_with("Runtime.") {
        error_types::RUNTIME_UNKNOWN
    } else {
        error_types::FUNCTION_UNKNOWN
    };
    assert_eq!(normalised, expected, "normalising {raw:?}");
    assert_eq!(normalize_error_type(&normalised), normalised, "normalising is not idempotent");
    assert!(normalised.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.'), "not a plain header value");
}

/// Real trailers and `/error` bodies (as runtimes send them), and the usual mistakes.
pub fn seeds() -> Vec<Seed> {
    let diagnostic = ErrorDiagnostic { trace: vec!["at main".into()], ..ErrorDiagnostic::new("Function.Oops", "boom") };
    let (ty, body) = diagnostic.to_trailers();
    let join = |fields: &[&[u8]]| fields.join(&SEPARATOR);
    vec![
        (
            "trailers-and-error-body",
            join(&[ty.as_bytes(), body.as_bytes(), &diagnostic.to_error_body(), b"Function.X"]),
        ),
        ("type-only", join(&[b"Runtime.StreamError"])),
        ("json-not-base64", join(&[b"Function.X", &diagnostic.to_trailer_json(), b"plain text"])),
        ("base64-of-array", join(&[b"Runtime.bad", STANDARD.encode("[1]").as_bytes(), b"{}", b""])),
        (
            "typeless-document",
            join(&[
                b"MyError",
                STANDARD.encode(r#"{"errorMessage":"m"}"#).as_bytes(),
                br#"{"errorMessage":"m","stackTrace":["a"]}"#,
            ]),
        ),
        ("swift-literal", join(&[b"Function.A", b"Requires base64", b"\xc3\x28 not utf-8", b"Sandbox.Timeout"])),
    ]
}
