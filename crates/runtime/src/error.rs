//! The crate's public errors, at the bottom of the module layers: every other module may use
//! them, and they use nothing of the crate.
//!
//! - [`Error`]: why the runtime could not start or had to stop (a fatal fault of the loop).
//! - [`StreamError`]: why one writer call failed, misuse kept apart from Runtime API faults.
//! - [`EventError`] (feature `json`): why an event did not decode as the handler's type; the
//!   caller gets it as a 400 (see the `event` module).
//!
//! The Runtime API client has an error type of its own (`client::ClientError`); the writer turns
//! it into a [`StreamError`] and the loop into an [`Error`], each naming what it was doing.

/// Why the runtime could not start or had to stop. Writer errors are [`StreamError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither [`RuntimeBuilder::endpoint`](crate::RuntimeBuilder::endpoint) nor the
    /// configuration's `runtime_api` was given.
    #[error(
        "no Runtime API endpoint: AWS_LAMBDA_RUNTIME_API is not set (outside Lambda, pass one with Runtime::builder().endpoint(\"127.0.0.1:9001\"))"
    )]
    NoEndpoint,
    /// [`run`](crate::run) found no `AWS_LAMBDA_RUNTIME_API` in a build without local mode (a
    /// release build, or one without the `local` feature).
    #[error(
        "AWS_LAMBDA_RUNTIME_API is not set, and local mode (the embedded emulator on 127.0.0.1:7000) is {why}: \
         run a debug build with the `local` feature (`cargo run`, without --release), or set \
         AWS_LAMBDA_RUNTIME_API to a running Runtime API (e.g. `lambda-stream emulate -- <binary>`)"
    )]
    NoLocalMode {
        /// Why local mode is not there: `a debug-build feature` or `not compiled in`.
        why: &'static str,
    },
    /// The endpoint is not in an accepted form.
    #[error(
        "invalid Runtime API endpoint {endpoint:?}: {reason} (expected host:port, host:port/prefix or http://host:port[/prefix])"
    )]
    InvalidEndpoint {
        /// The value given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The Runtime API could not be reached, or broke off, on a request the loop cannot do without.
    #[error("{request} failed: {reason}")]
    RuntimeApi {
        /// The request, e.g. `GET /next`.
        request: &'static str,
        /// What failed.
        reason: String,
    },
    /// The Runtime API answered a request the loop needs with an error status.
    #[error("{request} was answered with status {status}: {body}")]
    UnexpectedStatus {
        /// The request, e.g. `GET /next`.
        request: &'static str,
        /// The HTTP status.
        status: u16,
        /// The answer's body, as text.
        body: String,
    },
    /// Local mode (no `AWS_LAMBDA_RUNTIME_API`) could not start its embedded emulator.
    #[error("local mode could not start: {reason}")]
    Local {
        /// What failed, and what to set instead.
        reason: String,
    },
    /// The handler's set-up failed; it was reported to `/runtime/init/error`.
    #[error("the handler's set-up failed ({error_type}): {message}")]
    Init {
        /// The reported error type.
        error_type: String,
        /// The reported message.
        message: String,
    },
}

/// Why a writer operation failed.
///
/// Two kinds, kept apart as quinn keeps `WriteError`/`FinishError` apart from connection loss:
/// **misuse** (the handler broke a rule; retrying the same call can never work, see
/// [`is_misuse`](Self::is_misuse)) and **Runtime API faults** (the peer went away or refused the
/// response; the invocation is lost, and the writer keeps returning the same fault). Which call
/// gets which misuse variant is drawn on [`ResponseStreamWriter`](crate::ResponseStreamWriter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// `finish` or `write_and_finish` after the response was finished (SWIFT
    /// `finishAfterFinishHasBeenSent`).
    #[error("the response is already finished: finish() or write_and_finish() may be called only once")]
    FinishAfterFinish,
    /// `write` after the response was finished (SWIFT `writeAfterFinishHasBeenSent`).
    #[error("cannot write after the response is finished: write every chunk before calling finish()")]
    WriteAfterFinish,
    /// `write_status_and_headers` after a body write: the status line is already on its way.
    #[error(
        "cannot set status and headers after body bytes were written: call write_status_and_headers() before the first write()"
    )]
    HeadersAfterBody,
    /// `write_status_and_headers` a second time.
    #[error("status and headers were already set: call write_status_and_headers() at most once per response")]
    HeadersTwice,
    /// `write_status_and_headers` after the response was finished.
    #[error("cannot set status and headers after the response is finished: set them before finish()")]
    HeadersAfterFinish,
    /// `set_content_type` after the response started or finished.
    #[error(
        "cannot set the content type after the response started: call set_content_type() before the first write() or finish()"
    )]
    ContentTypeAfterStart,
    /// `set_content_type` with a value an HTTP header cannot carry.
    #[error("content type {value:?} is not a valid HTTP header value (visible ASCII only)")]
    InvalidContentType {
        /// The rejected value.
        value: String,
    },
    /// The connection to the Runtime API failed or broke; the response did not (fully) arrive.
    #[error("the Runtime API connection was lost, the response did not reach Lambda: {reason}")]
    Disconnected {
        /// What failed, naming the request and the endpoint.
        reason: String,
    },
    /// The Runtime API answered the response with an error status (e.g. 400 for a bad mode, 413
    /// for a response over the limit).
    #[error("the Runtime API rejected the response with status {status}: {body}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The answer's body, as text.
        body: String,
    },
}

impl StreamError {
    /// Whether the handler broke a writer rule (as opposed to a Runtime API fault).
    pub fn is_misuse(&self) -> bool {
        !matches!(self, Self::Disconnected { .. } | Self::Rejected { .. })
    }
}

/// Why an event did not decode as a typed handler's event type (feature `json`).
#[cfg(feature = "json")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The payload is not JSON, or not JSON of the expected type.
    #[error("{what} does not decode as {expected}: {reason}")]
    Invalid {
        /// Where the payload was: `the event`, `the function URL request's body`, ...
        what: &'static str,
        /// The expected type's name.
        expected: &'static str,
        /// serde's account of the mismatch, with line and column.
        reason: String,
    },
    /// A function URL or API Gateway request without a body.
    #[error("{what} is empty: send JSON for {expected} as the request body")]
    EmptyBody {
        /// Where the payload was expected.
        what: &'static str,
        /// The expected type's name.
        expected: &'static str,
    },
    /// A function URL or API Gateway request that is not one (its body is not text or not the
    /// base64 it claims to be, or the request does not fit its `aws_lambda_events` type).
    #[error("{what} could not be read: {reason}")]
    Request {
        /// Which request it was.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_local_mode_says_how_to_get_it_or_what_to_set() {
        let message = Error::NoLocalMode { why: "a debug-build feature and this is a release build" }.to_string();
        for words in [
            "AWS_LAMBDA_RUNTIME_API is not set",
            "local mode (the embedded emulator on 127.0.0.1:7000) is a debug-build feature",
            "`cargo run`, without --release",
            "or set AWS_LAMBDA_RUNTIME_API",
        ] {
            assert!(message.contains(words), "{message:?} lacks {words:?}");
        }
    }

    #[test]
    fn faults_are_not_misuse_and_every_rule_break_is() {
        let faults = [
            StreamError::Disconnected { reason: "x".into() },
            StreamError::Rejected { status: 413, body: "too large".into() },
        ];
        assert!(faults.iter().all(|e| !e.is_misuse()));
        let misuse = [
            StreamError::FinishAfterFinish,
            StreamError::WriteAfterFinish,
            StreamError::HeadersAfterBody,
            StreamError::HeadersTwice,
            StreamError::HeadersAfterFinish,
            StreamError::ContentTypeAfterStart,
            StreamError::InvalidContentType { value: "\n".into() },
        ];
        assert!(misuse.iter().all(StreamError::is_misuse));
    }
}
