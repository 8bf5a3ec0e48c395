//! Error documents: what a runtime reports when a handler fails, and how.
//!
//! Two wire forms carry the same document (RT-CUSTOM, RT-API):
//! - before the first body byte, `POST /error` with the JSON
//!   `{"errorMessage","errorType","stackTrace":[]}` and the header
//!   `Lambda-Runtime-Function-Error-Type`;
//! - after it, HTTP/1.1 trailers on the streamed response:
//!   `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`, the latter the
//!   **standard base64** of `{"errorType","errorMessage","trace":[]}` (NODE `src/ResponseStream.js`).
//!
//! Lambda normalises the type it reports against `(Runtime|Function)\.[A-Z][a-zA-Z]+`, else
//! `Function.Unknown`/`Runtime.Unknown` (RIE `invoke/runtime_response_request.go`,
//! `rapid/model/error_types.go`); [`normalize_error_type`] does the same. RIE drops a trailer body
//! that does not decode; [`ErrorDiagnostic::from_trailers`] says precisely why it did not, so the
//! emulator can record the runtime's fault and still report the type.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Error types the platform itself produces, and the ones this project's runtime uses.
pub mod error_types {
    /// The response was cut before it ended (RIE `core/directinvoke/directinvoke.go`).
    pub const RUNTIME_TRUNCATED_RESPONSE: &str = "Runtime.TruncatedResponse";
    /// The response passed the size limit (RIE).
    pub const FUNCTION_RESPONSE_SIZE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";
    /// The invocation passed its deadline (RIE).
    pub const SANDBOX_TIMEOUT: &str = "Sandbox.Timeout";
    /// The function's process exited during an invocation.
    pub const RUNTIME_EXIT_ERROR: &str = "Runtime.ExitError";
    /// A handler returned an error.
    pub const FUNCTION_UNHANDLED: &str = "Function.UnhandledError";
    /// A handler panicked.
    pub const FUNCTION_PANIC: &str = "Function.Panic";
    /// The handler's set-up failed before the first invocation.
    pub const RUNTIME_INIT_ERROR: &str = "Runtime.InitError";
    /// The invocation's `/next` answer could not be understood.
    pub const RUNTIME_INVALID_INVOCATION: &str = "Runtime.InvalidInvocation";
    /// Fallback for an unrecognised function error type.
    pub const FUNCTION_UNKNOWN: &str = "Function.Unknown";
    /// Fallback for an unrecognised runtime error type.
    pub const RUNTIME_UNKNOWN: &str = "Runtime.Unknown";
}

/// What went wrong in a function, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDiagnostic {
    /// The error's type, `Category.Reason` recommended (`Function.UnhandledError`).
    #[serde(rename = "errorType", default)]
    pub error_type: String,
    /// A human-readable message.
    #[serde(rename = "errorMessage", default)]
    pub error_message: String,
    /// Stack frames, if any (`trace` in the trailer form, `stackTrace` in the `/error` form).
    #[serde(rename = "trace", alias = "stackTrace", default)]
    pub trace: Vec<String>,
}

/// The `/error` body shape, which names the frames `stackTrace`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: &'a [String],
}

impl ErrorDiagnostic {
    /// A diagnostic with no trace.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self { error_type: error_type.into(), error_message: error_message.into(), trace: Vec::new() }
    }

    /// The JSON body of `POST /error`: `{"errorMessage","errorType","stackTrace"}`.
    pub fn to_error_body(&self) -> Vec<u8> {
        let body =
            ErrorBody { error_message: &self.error_message, error_type: &self.error_type, stack_trace: &self.trace };
        serde_json::to_vec(&body).expect("strings always serialise")
    }

    /// The JSON carried (base64) in the trailer: `{"errorType","errorMessage","trace"}`.
    pub fn to_trailer_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("strings always serialise")
    }

    /// The two trailer values: the error type, and the standard base64 of [`Self::to_trailer_json`].
    pub fn to_trailers(&self) -> (String, String) {
        (self.error_type.clone(), STANDARD.encode(self.to_trailer_json()))
    }

    /// Reads the trailers of a streamed response. `error_type` is the
    /// `Lambda-Runtime-Function-Error-Type` value; `body` the `Lambda-Runtime-Function-Error-Body`
    /// value, if sent. A missing body gives a diagnostic with the type and an empty message. A
    /// document without its own `errorType` takes the trailer's; when neither names a type (an
    /// empty trailer counts as none), the type is `Function.Unknown`, as for an `/error` body.
    pub fn from_trailers(error_type: &str, body: Option<&str>) -> Result<Self, TrailerError> {
        let error_type = if error_type.is_empty() { error_types::FUNCTION_UNKNOWN } else { error_type };
        let Some(body) = body else {
            return Ok(Self::new(error_type, ""));
        };
        let json = STANDARD.decode(body.trim()).map_err(|e| TrailerError::InvalidBase64 {
            reason: e.to_string(),
            excerpt: body.chars().take(48).collect(),
        })?;
        let mut diagnostic =
            Self::from_document(&json).map_err(|e| TrailerError::InvalidJson { reason: e.to_string() })?;
        if diagnostic.error_type.is_empty() {
            diagnostic.error_type = error_type.to_owned();
        }
        Ok(diagnostic)
    }

    /// Reads an `/error` body; `header_type` is its `Lambda-Runtime-Function-Error-Type`, used when
    /// the body has no `errorType`; when neither names a type (an empty header counts as none),
    /// the type is `Function.Unknown`. A body that is not the documented JSON is kept as the
    /// message, since the Runtime API lets runtimes send any format (RT-API).
    pub fn from_error_body(body: &[u8], header_type: Option<&str>) -> Self {
        let fallback_type = header_type.filter(|t| !t.is_empty()).unwrap_or(error_types::FUNCTION_UNKNOWN);
        match Self::from_document(body) {
            Ok(mut d) => {
                if d.error_type.is_empty() {
                    d.error_type = fallback_type.to_owned();
                }
                d
            }
            Err(_) => Self::new(fallback_type, String::from_utf8_lossy(body)),
        }
    }
}

impl ErrorDiagnostic {
    /// Reads the error JSON, which must be an object: serde would also build the struct from an
    /// array of its fields (`[]` gives an empty document), which no runtime means.
    fn from_document(json: &[u8]) -> Result<Self, serde_json::Error> {
        if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(serde::de::Error::custom("the error document must be a JSON object"));
        }
        serde_json::from_slice(json)
    }
}

/// Why a trailer error body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrailerError {
    /// The body is not standard base64 (a runtime that sends the JSON itself, or text).
    #[error("Lambda-Runtime-Function-Error-Body is not standard base64 ({reason}): {excerpt:?}")]
    InvalidBase64 {
        /// The decoder's message.
        reason: String,
        /// The start of the value.
        excerpt: String,
    },
    /// The body decodes, but not to the error JSON.
    #[error("Lambda-Runtime-Function-Error-Body decodes, but not to an error JSON object: {reason}")]
    InvalidJson {
        /// The parser's message.
        reason: String,
    },
}

/// Normalises an error type the way Lambda does before reporting it: kept when it matches
/// `(Runtime|Function)\.[A-Z][a-zA-Z]+` (so the reason has at least two letters), else
/// `Runtime.Unknown` for a `Runtime.` type and `Function.Unknown` for anything else.
pub fn normalize_error_type(raw: &str) -> Cow<'_, str> {
    let valid = |category: &str| {
        raw.strip_prefix(category).and_then(|r| r.strip_prefix('.')).is_some_and(|reason| {
            let mut chars = reason.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && reason.len() >= 2
                && chars.all(|c| c.is_ascii_alphabetic())
        })
    };
    if valid("Runtime") || valid("Function") {
        Cow::Borrowed(raw)
    } else if raw.starts_with("Runtime.") {
        Cow::Borrowed(error_types::RUNTIME_UNKNOWN)
    } else {
        Cow::Borrowed(error_types::FUNCTION_UNKNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_form_round_trips() {
        let d = ErrorDiagnostic { trace: vec!["at main".into()], ..ErrorDiagnostic::new("Function.Oops", "boom") };
        let (ty, body) = d.to_trailers();
        assert_eq!(ty, "Function.Oops");
        assert_eq!(
            STANDARD.decode(&body).unwrap(),
            br#"{"errorType":"Function.Oops","errorMessage":"boom","trace":["at main"]}"#
        );
        assert_eq!(ErrorDiagnostic::from_trailers(&ty, Some(&body)).unwrap(), d);
    }

    #[test]
    fn error_body_uses_stack_trace() {
        let d = ErrorDiagnostic::new("E", "m");
        assert_eq!(d.to_error_body(), br#"{"errorMessage":"m","errorType":"E","stackTrace":[]}"#);
        assert_eq!(ErrorDiagnostic::from_error_body(&d.to_error_body(), None), d);
        let raw = ErrorDiagnostic::from_error_body(b"plain text", Some("Function.X"));
        assert_eq!(raw, ErrorDiagnostic::new("Function.X", "plain text"));
    }

    /// Found by the `diagnostic` fuzz target: an empty error-type header on a typeless `/error`
    /// body gave a diagnostic with an empty type, which did not survive `to_error_body` and back.
    #[test]
    fn an_empty_error_type_header_counts_as_none() {
        let d = ErrorDiagnostic::from_error_body(b"{}", Some(""));
        assert_eq!(d, ErrorDiagnostic::new(error_types::FUNCTION_UNKNOWN, ""));
        assert_eq!(ErrorDiagnostic::from_error_body(&d.to_error_body(), None), d);
        let raw = ErrorDiagnostic::from_error_body(b"oops", Some(""));
        assert_eq!(raw, ErrorDiagnostic::new(error_types::FUNCTION_UNKNOWN, "oops"));
    }

    /// Found by the `diagnostic` fuzz target: an empty error-type trailer gave a diagnostic with
    /// an empty type, which became `Function.Unknown` once written as an `/error` body and read back.
    #[test]
    fn an_empty_error_type_trailer_counts_as_none() {
        let only_type = ErrorDiagnostic::from_trailers("", None).unwrap();
        assert_eq!(only_type, ErrorDiagnostic::new(error_types::FUNCTION_UNKNOWN, ""));
        let typeless = ErrorDiagnostic::from_trailers("", Some(&STANDARD.encode(r#"{"errorMessage":"m"}"#))).unwrap();
        assert_eq!(typeless, ErrorDiagnostic::new(error_types::FUNCTION_UNKNOWN, "m"));
        assert_eq!(ErrorDiagnostic::from_error_body(&typeless.to_error_body(), None), typeless);
        let typed = ErrorDiagnostic::from_trailers("", Some(&STANDARD.encode(r#"{"errorType":"Function.Own"}"#)));
        assert_eq!(typed.unwrap().error_type, "Function.Own");
    }

    /// Found by `trailer_base64_of_anything_but_the_error_json_is_an_error`: serde builds the
    /// struct from a JSON array too, so `[]` was read as an empty error document.
    #[test]
    fn an_array_is_not_an_error_document() {
        for json in ["[]", " [\"Function.Xy\",\"m\",[]]"] {
            let err = ErrorDiagnostic::from_trailers("Function.Xy", Some(&STANDARD.encode(json))).unwrap_err();
            assert!(err.to_string().contains("must be a JSON object"), "{err}");
            let kept = ErrorDiagnostic::from_error_body(json.as_bytes(), None);
            assert_eq!(kept, ErrorDiagnostic::new(error_types::FUNCTION_UNKNOWN, json));
        }
        let spaced = ErrorDiagnostic::from_error_body(b" \n{\"errorType\":\"Function.Xy\"}", None);
        assert_eq!(spaced, ErrorDiagnostic::new("Function.Xy", ""));
    }

    #[test]
    fn trailer_errors_say_why() {
        let err = ErrorDiagnostic::from_trailers("Function.X", Some("{not base64}")).unwrap_err();
        assert!(err.to_string().starts_with("Lambda-Runtime-Function-Error-Body is not standard base64"), "{err}");
        let err = ErrorDiagnostic::from_trailers("Function.X", Some(&STANDARD.encode("[1]"))).unwrap_err();
        assert!(matches!(err, TrailerError::InvalidJson { .. }));
        let only_type = ErrorDiagnostic::from_trailers("Function.X", None).unwrap();
        assert_eq!(only_type.error_type, "Function.X");
        let typeless =
            ErrorDiagnostic::from_trailers("Function.Y", Some(&STANDARD.encode(r#"{"errorMessage":"m"}"#))).unwrap();
        assert_eq!(typeless, ErrorDiagnostic::new("Function.Y", "m"));
    }

    #[test]
    fn normalisation_follows_the_pattern() {
        assert_eq!(normalize_error_type("Function.UnhandledError"), "Function.UnhandledError");
        assert_eq!(normalize_error_type("Runtime.StreamError"), "Runtime.StreamError");
        assert_eq!(normalize_error_type("Runtime.bad"), "Runtime.Unknown");
        assert_eq!(normalize_error_type("Runtime.Bad1"), "Runtime.Unknown");
        assert_eq!(normalize_error_type("MyError"), "Function.Unknown");
        assert_eq!(normalize_error_type("Function."), "Function.Unknown");
        assert_eq!(normalize_error_type("Sandbox.Timeout"), "Function.Unknown");
    }

    /// Found by the `diagnostic` fuzz target: `Function.X` was kept, but `[A-Z][a-zA-Z]+` needs
    /// at least two letters after the dot (RIE `GetValidRuntimeOrFunctionErrorType`).
    #[test]
    fn a_one_letter_reason_is_not_a_valid_error_type() {
        assert_eq!(normalize_error_type("Function.X"), "Function.Unknown");
        assert_eq!(normalize_error_type("Runtime.X"), "Runtime.Unknown");
        assert_eq!(normalize_error_type("Function.Xy"), "Function.Xy");
        assert_eq!(normalize_error_type("Runtime.Ab"), "Runtime.Ab");
    }
}
