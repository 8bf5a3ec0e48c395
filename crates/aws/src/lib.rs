//! # lambda-stream-aws
//!
//! Ships a streaming function to AWS Lambda and calls it there: what the Swift runtime's example
//! does by hand with `swift package archive`, the AWS CLI, SAM and `curl --aws-sigv4`, as a
//! library the `lambda-stream` command (and the live tests) drive, and that always cleans up.
//!
//! ## Parts
//! - [`package`]: builds a workspace binary for Lambda (cargo-zigbuild or cargo-lambda pinned to
//!   provided.al2023's glibc 2.34, else plain cargo with a warning) and zips it as an executable
//!   `bootstrap` ([`package::package`], [`package::zip_bootstrap`]).
//! - [`template`]: the CloudFormation template (`templates/lambda-stream.json`): role, function on
//!   `provided.al2023`, its function URL (`AWS_IAM`, `RESPONSE_STREAM`), log group, and the managed
//!   policy a caller needs; optionally an API Gateway REST API whose Lambda proxy integration
//!   streams ([`RestApiOptions`], `deploy --front api-gateway`); and its variant without the URL
//!   for moto.
//! - [`deploy`]: artifacts bucket, upload, create/update the stack with progress events, and
//!   [`Deployer::teardown`] / [`Deployer::sweep`], which remove what deploy created, using the tags
//!   deploy left on the stack.
//! - [`invoke`]: [`FunctionUrlClient`] (SigV4-signed requests to a function URL or, signed for
//!   `execute-api` or not at all, to an API Gateway REST API; body read as it arrives) and
//!   [`invoke_with_response_stream`] (aws-sdk-lambda), both with TTFB.
//! - [`AwsConfig`] / [`Clients`]: region, credentials and endpoint as injected values, so tests
//!   aim the same code at moto, LocalStack, recorded responses or the emulator.
//! - [`live`]: the opt-in gate for tests that touch real AWS (`LAMBDA_STREAM_AWS=1` + credentials).
//!
//! ## Why these choices
//! The SDKs are built without default features, on rustls with ring, sharing one TLS stack with
//! the function URL client (hyper + hyper-rustls; not reqwest, whose rustls feature without aws-lc
//! leaves every reqwest client in the workspace without a crypto provider). Nothing here reads or writes the process environment except through `aws-config`'s
//! standard chain, which only runs when a caller asks for real AWS.

mod config;
mod error;

pub mod deploy;
pub mod invoke;
pub mod live;
pub mod package;
pub mod template;

/// CloudFormation's status types, as [`Progress`] events and [`Error`]s carry them.
pub use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
pub use config::{AwsConfig, Clients, Trust, https_client, https_client_trusting};
pub use deploy::{
    Cleanup, DeployError, DeployOptions, Deployer, Deployment, Progress, RestApiOptions, StackAction, TeardownGuard,
    TeardownReport,
};
pub use error::{Error, Rejection, caller_refused};
pub use invoke::{
    BufferedResponse, Chunk, FunctionUrlClient, InvokeOptions, IwrsEvent, IwrsResponse, Signing, UrlRequest,
    UrlResponse, invoke_buffered, invoke_with_response_stream, invoke_with_response_stream_with,
};
pub use package::{Arch, Builder, Package, PackageOptions};
pub use template::{ConformanceEndpoints, Template};
