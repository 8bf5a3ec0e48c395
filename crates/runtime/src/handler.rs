//! The handler contract: what a function author implements, and how its failure is reported.

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use lambda_stream_protocol::ErrorDiagnostic;
use lambda_stream_protocol::diagnostic::error_types;

use crate::context::LambdaContext;
use crate::writer::ResponseStreamWriter;

/// The error type handlers usually return: any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A streaming function: gets one event, writes its answer through the writer.
///
/// # What the runtime does with the outcome
/// - `Ok(())` after [`finish`](ResponseStreamWriter::finish): nothing more.
/// - `Ok(())` **without finishing**: the runtime **finishes** the response for you; it is not
///   reported as an error. If nothing was written, that is a buffered answer holding only the
///   status and headers (if any were set), so an empty body still delivers them; an open stream
///   ends cleanly, without trailers.
/// - `Err(e)` before any body byte was sent: `POST /error` with
///   `{"errorMessage","errorType","stackTrace":[]}` and the header
///   `Lambda-Runtime-Function-Error-Type`.
/// - `Err(e)` after the response started: the stream ends with the HTTP/1.1 trailers
///   `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (standard base64
///   of `{"errorType","errorMessage","trace":[]}`), so the bytes already sent stay sent.
/// - A panic is caught and reported the same way, with the type `Function.Panic`.
///
/// The error type is `Function.UnhandledError` unless the error is a [`FunctionError`], which
/// names its own; the message is the error's `Display` followed by its `source()` chain, joined
/// with `": "`. After any outcome the runtime serves the next invocation.
///
/// The returned future does not have to be `Send`: the runtime awaits it on its own loop.
pub trait StreamingHandler {
    /// What the handler fails with; boxed and reported as described above.
    type Error: Into<BoxError>;

    /// Answers one invocation.
    fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        context: LambdaContext,
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A [`StreamingHandler`] made from an async closure; see [`handler_fn`].
#[derive(Debug, Clone, Copy)]
pub struct HandlerFn<F> {
    f: F,
}

/// Turns an async closure into a [`StreamingHandler`].
///
/// ```
/// use lambda_stream::{BoxError, LambdaContext, ResponseStreamWriter, handler_fn};
///
/// let echo = handler_fn(async |event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
///     writer.write_and_finish(event).await?;
///     Ok::<(), BoxError>(())
/// });
/// # let _ = echo;
/// ```
pub fn handler_fn<F, E>(f: F) -> HandlerFn<F>
where
    F: AsyncFn(Bytes, &mut ResponseStreamWriter, LambdaContext) -> Result<(), E>,
    E: Into<BoxError>,
{
    HandlerFn { f }
}

impl<F, E> StreamingHandler for HandlerFn<F>
where
    F: AsyncFn(Bytes, &mut ResponseStreamWriter, LambdaContext) -> Result<(), E>,
    E: Into<BoxError>,
{
    type Error = E;

    fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        context: LambdaContext,
    ) -> impl Future<Output = Result<(), E>> {
        (self.f)(event, writer, context)
    }
}

/// An error that names its own Lambda error type (`Category.Reason`, e.g. `Function.NotFound`).
///
/// Return it (boxed, or through `?` into a [`BoxError`]) to choose what callers see as the
/// error type instead of `Function.UnhandledError`. Lambda normalises types that do not match
/// `(Runtime|Function)\.[A-Z][a-zA-Z]+` to `Function.Unknown` (RIE `rapid/model/error_types.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    error_type: String,
    message: String,
}

impl FunctionError {
    /// An error of type `error_type` with `message`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self { error_type: error_type.into(), message: message.into() }
    }

    /// The Lambda error type.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FunctionError {}

/// The diagnostic a handler error is reported with (see [`StreamingHandler`]).
pub(crate) fn diagnostic_for_error(error: BoxError) -> ErrorDiagnostic {
    let error_type = error
        .downcast_ref::<FunctionError>()
        .map_or(error_types::FUNCTION_UNHANDLED, FunctionError::error_type)
        .to_owned();
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ErrorDiagnostic::new(error_type, message)
}

/// The diagnostic a caught panic is reported with: type `Function.Panic`, the panic's message.
pub(crate) fn diagnostic_for_panic(payload: &(dyn std::any::Any + Send)) -> ErrorDiagnostic {
    ErrorDiagnostic::new(error_types::FUNCTION_PANIC, format!("the handler panicked: {}", panic_message(payload)))
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a panic payload that is not a string)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("loading the table failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_messages_carry_the_source_chain() {
        let d = diagnostic_for_error(Box::new(Outer(std::io::Error::other("disk gone"))));
        assert_eq!(d.error_type, "Function.UnhandledError");
        assert_eq!(d.error_message, "loading the table failed: disk gone");
    }

    #[test]
    fn function_errors_name_their_type() {
        let d = diagnostic_for_error(Box::new(FunctionError::new("Function.NotFound", "no such user")));
        assert_eq!(d, ErrorDiagnostic::new("Function.NotFound", "no such user"));
    }

    #[test]
    fn panic_payloads_become_messages() {
        let d = diagnostic_for_panic(&"boom");
        assert_eq!(d, ErrorDiagnostic::new("Function.Panic", "the handler panicked: boom"));
        let d = diagnostic_for_panic(&String::from("owned"));
        assert_eq!(d.error_message, "the handler panicked: owned");
        let d = diagnostic_for_panic(&42_u8);
        assert!(d.error_message.contains("not a string"));
    }
}
