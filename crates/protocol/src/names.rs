//! Header names and content types seen on the wire.
//!
//! Header names are written in lower case, as HTTP/1.1 compares them case-insensitively and the
//! `http` crate stores them that way. Sources: RT-API and RT-CUSTOM (Runtime API headers),
//! IWRS (client API headers), NODE `src/HttpResponseStream.js` (prelude content type).

/// Request id of an invocation, on the `/next` answer.
pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
/// Deadline of the invocation in epoch milliseconds, on the `/next` answer.
pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
/// ARN of the invoked function, on the `/next` answer.
pub const INVOKED_FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
/// X-Ray trace id, on the `/next` answer.
pub const TRACE_ID: &str = "lambda-runtime-trace-id";
/// Client context (JSON), on the `/next` answer when the caller gave one.
pub const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
/// Cognito identity (JSON), on the `/next` answer when the caller had one.
pub const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
/// Tenant id, on the `/next` answer of tenant-isolated functions (RIE `rapi/rendering/rendering.go`).
pub const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";

/// Declares a streamed response on `POST /response`; its only valid value is [`RESPONSE_MODE_STREAMING`].
pub const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";
/// The one value of [`RESPONSE_MODE`] Lambda accepts (RIE `rapi/handler/invocationresponse.go`).
pub const RESPONSE_MODE_STREAMING: &str = "streaming";
/// Error type, as a header on `/error` and as a trailer on a streamed response.
pub const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";
/// Base64 error document, as a trailer on a streamed response.
pub const FUNCTION_ERROR_BODY: &str = "lambda-runtime-function-error-body";
/// The `Trailer` header value a streamed response declares, in the casing the docs use.
pub const DECLARED_TRAILERS: &str = "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body";

/// Content type that announces an HTTP-integration prelude at the start of the body.
pub const HTTP_INTEGRATION_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";
/// Content type of a streamed response that declares none (NODE `src/ResponseStream.js`).
pub const DEFAULT_STREAM_CONTENT_TYPE: &str = "application/octet-stream";
/// Content type of an `/error` body (Runtime API OpenAPI document).
pub const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";
/// Content type of an InvokeWithResponseStream answer.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// A prelude's `content-length` reaches the client under this name (CL issue 862).
pub const REMAPPED_CONTENT_LENGTH: &str = "x-amzn-remapped-content-length";

/// Client API: invocation type (`RequestResponse`, `Event`, `DryRun`).
pub const INVOCATION_TYPE: &str = "x-amz-invocation-type";
/// Client API: log type (`None`, `Tail`).
pub const LOG_TYPE: &str = "x-amz-log-type";
/// Client API: base64 client context.
pub const AMZ_CLIENT_CONTEXT: &str = "x-amz-client-context";
/// Client API: the version that ran.
pub const EXECUTED_VERSION: &str = "x-amz-executed-version";
/// Buffered Invoke: set when the function failed (`Unhandled` or `Handled`).
pub const AMZ_FUNCTION_ERROR: &str = "x-amz-function-error";
/// Buffered Invoke: base64 tail of the log when `Tail` was asked for.
pub const AMZ_LOG_RESULT: &str = "x-amz-log-result";
/// Request id of a client call.
pub const AMZN_REQUEST_ID: &str = "x-amzn-requestid";
/// Error type of a client API error (AWS JSON shape).
pub const AMZN_ERROR_TYPE: &str = "x-amzn-errortype";

/// API Gateway: the caller's API key (APIGW; gateway response `INVALID_API_KEY` when wrong).
pub const API_KEY: &str = "x-api-key";
/// API Gateway: its extended request id on every answer (`requestContext.extendedRequestId`).
pub const AMZ_APIGW_ID: &str = "x-amz-apigw-id";
/// API Gateway: the X-Ray trace header on its answers.
pub const AMZN_TRACE_ID: &str = "x-amzn-trace-id";
