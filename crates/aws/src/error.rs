//! The one error type of this crate. Misuse and missing prerequisites (a tool, credentials, a stack
//! in a state that must be deleted first) are kept apart from what AWS answered, and every message
//! says what to do next.

use std::path::PathBuf;

use aws_sdk_cloudformation::types::StackStatus;

/// Everything that can go wrong while packaging, deploying, invoking or tearing down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tool or toolchain piece this step needs is not installed here.
    #[error("{what} is missing: {fix}")]
    MissingTool {
        /// What is missing (`rust target aarch64-unknown-linux-gnu`, `cargo`).
        what: String,
        /// How to get it.
        fix: String,
    },
    /// `cargo build` (or zigbuild / cargo-lambda) failed; its diagnostics went to stderr.
    #[error("building {bin} failed ({status}); see the compiler output above")]
    Build {
        /// The binary that was being built.
        bin: String,
        /// The build command's exit status.
        status: String,
    },
    /// The build succeeded but named no executable for the binary.
    #[error(
        "the build produced no executable named {bin}: is it a [[bin]] of the workspace? (pass --package too when names clash)"
    )]
    NoExecutable {
        /// The binary asked for.
        bin: String,
    },
    /// Reading the binary or writing the zip failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing the zip archive failed.
    #[error("writing the zip archive {}: {source}", path.display())]
    Zip {
        /// The archive being written.
        path: PathBuf,
        /// The underlying error.
        source: zip::result::ZipError,
    },
    /// No AWS credentials were found in the environment, profile or web identity.
    #[error(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for \
         temporary ones), or AWS_PROFILE, or run inside a role ({0})"
    )]
    NoCredentials(String),
    /// No region was configured.
    #[error("no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")]
    NoRegion,
    /// An AWS API call failed.
    #[error("{operation} failed: {message}")]
    Aws {
        /// The API operation (`CreateStack`, `PutObject`).
        operation: &'static str,
        /// The service's error code and message, or the transport error.
        message: String,
    },
    /// The stack is in a state from which it cannot be updated; it has to be deleted first.
    #[error(
        "stack {stack} is in {status}, which CloudFormation cannot update: delete it first \
         (lambda-stream teardown --stack {stack}), then deploy again"
    )]
    StackNeedsDelete {
        /// The stack name.
        stack: String,
        /// Its status, e.g. `ROLLBACK_COMPLETE`.
        status: StackStatus,
    },
    /// Creating or updating the stack ended in a failed state.
    #[error("stack {stack} ended in {status}: {reasons}")]
    StackFailed {
        /// The stack name.
        stack: String,
        /// The final status (`ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, `DELETE_FAILED`...).
        status: StackStatus,
        /// The failure reasons CloudFormation reported, resource by resource.
        reasons: String,
    },
    /// Waiting for the stack took longer than allowed.
    #[error("stack {stack} still {status} after {waited_secs} s; check the CloudFormation console, then run teardown")]
    StackTimeout {
        /// The stack name.
        stack: String,
        /// Its last seen status.
        status: StackStatus,
        /// How long we waited.
        waited_secs: u64,
    },
    /// The stack has no output this tool needs.
    #[error("stack {stack} has no output {output}: was it deployed from lambda-stream's template?")]
    MissingOutput {
        /// The stack name.
        stack: String,
        /// The output key.
        output: String,
    },
    /// An argument cannot work (bad URL, header value).
    #[error("{0}")]
    Invalid(String),
    /// Signing the request failed.
    #[error("signing the request with SigV4 failed: {0}")]
    Signing(String),
    /// The HTTP exchange with the function URL failed.
    #[error("request to the function URL failed: {0}")]
    Http(String),
    /// The function reported an error in InvokeWithResponseStream's event stream.
    #[error("reading the event stream failed: {0}")]
    EventStream(String),
    /// The Lambda API answered a call with an error (its status, code and raw answer kept):
    /// throttling and refused credentials are the caller's problem ([`Error::is_throttling`],
    /// [`Error::is_auth_failure`]); others, such as `ResourceNotFoundException`, are answers.
    #[error("{} answered {} {}: {}{}", .0.operation, .0.status, .0.code, .0.message, .0.hint())]
    Service(Box<Rejection>),
}

/// A Lambda API error answer, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The API operation (`InvokeWithResponseStream`, `Invoke`).
    pub operation: &'static str,
    /// HTTP status.
    pub status: u16,
    /// The error code (`ResourceNotFoundException`, `TooManyRequestsException`, ...).
    pub code: String,
    /// The service's message.
    pub message: String,
    /// The answer's headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The answer's body.
    pub body: Vec<u8>,
}

/// Error codes AWS uses for throttling (Lambda API reference, Invoke "Errors"; the SDKs' retry
/// classifier lists the generic ones).
const THROTTLING_CODES: [&str; 5] =
    ["TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "EC2ThrottledException"];

/// Error codes of refused credentials or signatures (AWS common errors; function URLs answer
/// `AccessDeniedException`).
const AUTH_CODES: [&str; 9] = [
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AuthFailure",
];

impl Rejection {
    /// Whether the service throttled the call (429 or a throttling code).
    pub fn is_throttling(&self) -> bool {
        self.status == 429 || THROTTLING_CODES.contains(&self.code.as_str())
    }

    /// Whether the service refused the caller's credentials or signature.
    pub fn is_auth_failure(&self) -> bool {
        AUTH_CODES.contains(&self.code.as_str())
    }

    fn hint(&self) -> &'static str {
        if self.is_throttling() {
            " (throttled: retry later, or raise the function's concurrency)"
        } else if self.is_auth_failure() {
            " (check the credentials, the region and that the caller may invoke the function)"
        } else {
            ""
        }
    }
}

/// Whether an `x-amzn-errortype` value (`AccessDeniedException:http://...`, or the bare code)
/// names throttling or refused credentials: how a function URL front end says that the caller,
/// not the function, was refused.
pub fn caller_refused(error_type: &str) -> bool {
    let code = error_type.split(':').next().unwrap_or_default();
    THROTTLING_CODES.contains(&code) || AUTH_CODES.contains(&code)
}

impl Error {
    /// Whether the service throttled the call.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Error::Service(r) if r.is_throttling())
    }

    /// Whether the service refused the caller's credentials or signature, or there were none.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Error::NoCredentials(_)) || matches!(self, Error::Service(r) if r.is_auth_failure())
    }
}

/// An SDK error with its service code and message (the `Display` of `SdkError` alone only says
/// "service error"), or the transport error with its causes.
pub(crate) fn describe_sdk<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match err {
        aws_sdk_s3::error::SdkError::ServiceError(service) => {
            let meta = service.err();
            format!("{}: {}", meta.code().unwrap_or("unknown error"), meta.message().unwrap_or("(no message)"))
        }
        other => describe(other),
    }
}

/// The error and its causes on one line.
pub(crate) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Maps an SDK error of `operation` to [`Error::Aws`], or to [`Error::NoCredentials`] when the
/// call never left for lack of credentials.
pub(crate) fn aws<E, R>(operation: &'static str) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, R>) -> Error
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    move |err| {
        let message = describe_sdk(&err);
        if message.contains("no credentials") || message.contains("failed to load credentials") {
            return Error::NoCredentials(message);
        }
        Error::Aws { operation, message }
    }
}
