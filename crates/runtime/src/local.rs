//! Local mode (feature `local`, on by default, **debug builds only**): the function serves
//! itself on 127.0.0.1:7000.
//!
//! Outside Lambda there is no `AWS_LAMBDA_RUNTIME_API`. Instead of failing, [`run`](crate::run)
//! then starts the embedded emulator (`lambda-stream-emulator`) in this process and points the
//! runtime loop at it, so `cargo run` followed by `curl -N -X POST http://127.0.0.1:7000/invoke`
//! streams the handler's answer, as the Swift runtime's local server does (SWIFT
//! `Lambda+LocalServer.swift`). Unlike Swift's, every front end of the emulator is there too: the
//! prelude is applied on `/invoke` and on function URL paths, and InvokeWithResponseStream and
//! Invoke answer AWS SDKs.
//!
//! The address follows Swift's variables: `LOCAL_LAMBDA_HOST` (default `127.0.0.1`),
//! `LOCAL_LAMBDA_PORT` (default `7000`; `0` picks a free port), `LOCAL_LAMBDA_INVOCATION_ENDPOINT`
//! (default `/invoke`). The invocation timeout is the emulator's default (15 s, as Swift's example
//! deploys with); at the deadline the caller's stream is cut with `Sandbox.Timeout`.
//!
//! The runtime talks to the emulator over loopback HTTP exactly as it would to Lambda: local mode
//! exercises the same wire code as production, not a shortcut.
//!
//! ## Debug builds only
//! This module exists only when the `local` feature is on **and** the build has debug assertions
//! (`cargo run`, `cargo test`; not `cargo build --release`), as the Swift runtime compiles its
//! local server only in debug builds (SWIFT `LambdaRuntime.swift`, `#if LocalServerSupport`). So the
//! `bootstrap` a release build makes for Lambda references no emulator code and the linker drops
//! it (`ci/release-check.sh` checks the binary; docs/performance.md has the sizes). A release
//! binary started without `AWS_LAMBDA_RUNTIME_API` fails with
//! [`Error::NoLocalMode`], which says how to get local mode.

use std::future::Future;
use std::time::Duration;

use lambda_stream_emulator::{Emulator, FunctionConfig};

use lambda_stream_protocol::env;

use crate::context::Config;
use crate::error::Error;
use crate::handler::StreamingHandler;
use crate::runtime::Runtime;

/// Where local mode listens. [`LocalOptions::from_env`] reads Swift's variables; tests build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// `LOCAL_LAMBDA_HOST`, default `127.0.0.1`.
    pub host: String,
    /// `LOCAL_LAMBDA_PORT`, default 7000; 0 picks a free port.
    pub port: u16,
    /// `LOCAL_LAMBDA_INVOCATION_ENDPOINT`, default `/invoke`.
    pub invoke_path: String,
    /// The invocation timeout; `None` keeps the emulator's default (15 s).
    pub timeout: Option<Duration>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), port: 7000, invoke_path: "/invoke".into(), timeout: None }
    }
}

impl LocalOptions {
    /// `HOST:PORT` to bind, an IPv6 host in brackets.
    fn bind_address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Swift's `LOCAL_LAMBDA_*` variables from this process's environment. Call it from `main`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The same, from any lookup (the seam tests use instead of the process environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut options = Self::default();
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(host) = var(env::LOCAL_HOST) {
            options.host = host;
        }
        if let Some(port) = var(env::LOCAL_PORT) {
            options.port = port.trim().parse().map_err(|_| Error::Local {
                reason: format!("{}={port:?} is not a port number (0 to 65535; 0 picks a free port)", env::LOCAL_PORT),
            })?;
        }
        if let Some(path) = var(env::LOCAL_INVOCATION_ENDPOINT) {
            if !path.starts_with('/') {
                return Err(Error::Local {
                    reason: format!("{}={path:?} must be a path starting with '/'", env::LOCAL_INVOCATION_ENDPOINT),
                });
            }
            options.invoke_path = path;
        }
        Ok(options)
    }
}

/// The embedded emulator, listening, before the runtime loop starts.
#[derive(Debug)]
pub struct LocalServer {
    emulator: Emulator,
    invoke_path: String,
}

impl LocalServer {
    /// Starts the emulator for a function named `function_name`.
    pub async fn start(options: &LocalOptions, function_name: &str) -> Result<Self, Error> {
        let mut function = FunctionConfig::new(function_name);
        if let Some(timeout) = options.timeout {
            function = function.timeout(timeout);
        }
        let bind = options.bind_address();
        let emulator = Emulator::builder()
            .function(function)
            .bind(bind.clone())
            .invoke_path(options.invoke_path.clone())
            .build()
            .await
            .map_err(|e| Error::Local {
                reason: format!(
                    "could not serve on {bind}: {e} (set {} to a free port, 0 for any, \
                     or set {} to use a running Runtime API)",
                    env::LOCAL_PORT,
                    env::RUNTIME_API
                ),
            })?;
        Ok(Self { emulator, invoke_path: options.invoke_path.clone() })
    }

    /// `http://HOST:PORT`: every front end of the emulator.
    pub fn url(&self) -> String {
        self.emulator.url()
    }

    /// The Swift-style endpoint, `http://HOST:PORT/invoke` by default.
    pub fn invoke_url(&self) -> String {
        format!("{}{}", self.emulator.url(), self.invoke_path)
    }

    /// The embedded emulator (its recorder, its function log).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The one line local mode prints: how to call the function with curl.
    pub fn curl_hint(&self) -> String {
        format!(
            "lambda-stream local mode: function `{}` listening; try: curl -N -X POST {} -d '{{}}'",
            self.emulator.function().name,
            self.invoke_url()
        )
    }

    /// Runs the runtime loop against the embedded emulator until `shutdown` completes, then stops
    /// the emulator.
    pub async fn serve<H: StreamingHandler>(
        self,
        handler: H,
        mut config: Config,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        config.runtime_api = Some(self.emulator.runtime_api());
        if config.function_name.is_empty() {
            config.function_name = self.emulator.function().name.clone();
        }
        let result = Runtime::builder().config(config).handler(handler).build()?.run_until(shutdown).await;
        self.emulator.shutdown().await;
        result
    }
}

/// What [`run`](crate::run) does without `AWS_LAMBDA_RUNTIME_API`: serve locally until Ctrl-C.
pub(crate) async fn run_from_env<H: StreamingHandler>(handler: H, config: Config) -> Result<(), Error> {
    let options = LocalOptions::from_env()?;
    let name = if config.function_name.is_empty() { executable_name() } else { config.function_name.clone() };
    let server = LocalServer::start(&options, &name).await?;
    // One line on stderr, whatever logging the binary set up: it is the instruction the user needs.
    eprintln!("{}", server.curl_hint());
    server
        .serve(handler, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// The function name local mode uses by default: this binary's file name.
fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty() && !name.contains(['/', ':']))
        .unwrap_or_else(|| "function".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_follow_swift_variables_and_defaults() {
        assert_eq!(LocalOptions::from_vars(|_| None).unwrap(), LocalOptions::default());
        let vars = |name: &str| match name {
            env::LOCAL_HOST => Some("0.0.0.0".to_string()),
            env::LOCAL_PORT => Some("7001".to_string()),
            env::LOCAL_INVOCATION_ENDPOINT => Some("/run".to_string()),
            _ => None,
        };
        let options = LocalOptions::from_vars(vars).unwrap();
        assert_eq!((options.host.as_str(), options.port, options.invoke_path.as_str()), ("0.0.0.0", 7001, "/run"));
    }

    #[test]
    fn ipv6_hosts_are_bracketed_once() {
        let at = |host: &str| LocalOptions { host: host.into(), port: 7000, ..LocalOptions::default() };
        assert_eq!(at("127.0.0.1").bind_address(), "127.0.0.1:7000");
        assert_eq!(at("::1").bind_address(), "[::1]:7000");
        assert_eq!(at("[::1]").bind_address(), "[::1]:7000");
        assert_eq!(at("localhost").bind_address(), "localhost:7000");
    }

    #[test]
    fn the_default_function_name_is_this_binary() {
        let stem = std::env::current_exe().unwrap().file_stem().unwrap().to_string_lossy().into_owned();
        assert!(!stem.is_empty());
        assert_eq!(executable_name(), stem);
    }

    #[test]
    fn bad_variables_say_what_to_set() {
        let err = LocalOptions::from_vars(|n| (n == env::LOCAL_PORT).then(|| "seven".into())).unwrap_err();
        assert!(err.to_string().contains("LOCAL_LAMBDA_PORT=\"seven\" is not a port number"), "{err}");
        let err =
            LocalOptions::from_vars(|n| (n == env::LOCAL_INVOCATION_ENDPOINT).then(|| "invoke".into())).unwrap_err();
        assert!(err.to_string().contains("must be a path starting with '/'"), "{err}");
    }
}
