//! Names of the environment variables of a Lambda execution environment and of local mode, in
//! one place: the emulator sets them for the bootstraps it starts, the runtime reads them.
//!
//! Sources: the Lambda developer guide, "Defined runtime environment variables" (RT-ENV); the
//! Swift runtime's local server for the `LOCAL_LAMBDA_*` names (SWIFT `Lambda+LocalServer.swift`).

/// `HOST:PORT` of the Runtime API (RT-API).
pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
/// The function's name.
pub const FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// The version being run (`$LATEST` or a number).
pub const FUNCTION_VERSION: &str = "AWS_LAMBDA_FUNCTION_VERSION";
/// Memory available to the function, in MB.
pub const FUNCTION_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
/// The CloudWatch log group of the function.
pub const LOG_GROUP_NAME: &str = "AWS_LAMBDA_LOG_GROUP_NAME";
/// The CloudWatch log stream of this execution environment.
pub const LOG_STREAM_NAME: &str = "AWS_LAMBDA_LOG_STREAM_NAME";
/// The application log level chosen in the function's logging configuration (`TRACE`, `DEBUG`,
/// `INFO`, `WARN`, `ERROR` or `FATAL`), set only when application log-level filtering is on
/// (LOG-CTL).
pub const LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// `on-demand`, `provisioned-concurrency` or `snap-start`.
pub const INITIALIZATION_TYPE: &str = "AWS_LAMBDA_INITIALIZATION_TYPE";
/// The region the function runs in.
pub const REGION: &str = "AWS_REGION";
/// The default region of the SDKs (Lambda sets it to the same value).
pub const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// The handler setting (empty for `provided.al2023` functions).
pub const HANDLER: &str = "_HANDLER";
/// The directory holding the function's code.
pub const TASK_ROOT: &str = "LAMBDA_TASK_ROOT";

/// The version name of a function's unpublished code: the value of [`FUNCTION_VERSION`] (and of
/// the `x-amz-executed-version` answer header) when no published version is invoked.
pub const LATEST_VERSION: &str = "$LATEST";

/// Local mode: host to serve on, default `127.0.0.1` (SWIFT).
pub const LOCAL_HOST: &str = "LOCAL_LAMBDA_HOST";
/// Local mode: port to serve on, default 7000 (SWIFT).
pub const LOCAL_PORT: &str = "LOCAL_LAMBDA_PORT";
/// Local mode: path of the invoke endpoint, default `/invoke` (SWIFT).
pub const LOCAL_INVOCATION_ENDPOINT: &str = "LOCAL_LAMBDA_INVOCATION_ENDPOINT";
