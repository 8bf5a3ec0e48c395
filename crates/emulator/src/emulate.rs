//! One call for `lambda-stream emulate`: an emulator and a supervised bootstrap from one set of
//! options.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::recorder::DEFAULT_HISTORY;
use crate::{
    ApiGatewayConfig, Auth, BootstrapCommand, Emulator, EmulatorBuilder, Error, FunctionConfig, Supervisor,
    SupervisorConfig,
};

/// Options of `lambda-stream emulate [--host] [--port] [--function-name] [--timeout] [--auth]
/// [--aws-limits] [--runtime-api HOST:PORT] [--history N] [--concurrency N] [--api-gateway ...]
/// -- <bootstrap> [args]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulateOptions {
    /// Host to listen on. Default 127.0.0.1.
    pub host: IpAddr,
    /// Port; 0 picks a free one. Default 0.
    pub port: u16,
    /// Function name; default the bootstrap's file name.
    pub function_name: Option<String>,
    /// Invocation timeout. Default 15 s.
    pub timeout: Duration,
    /// Client auth. Default none.
    pub auth: Auth,
    /// Lambda-like bandwidth shaping.
    pub aws_limits: bool,
    /// Copies of the bootstrap. Default 1.
    pub concurrency: usize,
    /// A fixed Runtime API address for runtimes started by hand; default a free loopback port.
    /// Each supervised bootstrap gets a loopback listener of its own either way.
    pub runtime_api: Option<SocketAddr>,
    /// Finished invocations the recorder keeps. Default [`DEFAULT_HISTORY`].
    pub history: usize,
    /// An API Gateway REST API in front of the function, on a listener of its own. Default none.
    pub api_gateway: Option<ApiGatewayConfig>,
    /// The API Gateway listener's port on `host`; 0 (the default) picks a free one.
    pub api_gateway_port: u16,
    /// Where to serve the live dashboard, if anywhere (a listener of its own). Default none.
    pub dashboard: Option<SocketAddr>,
    /// The bootstrap program.
    pub bootstrap: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Serve the client front ends over HTTPS with this certificate (feature `tls`).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::TlsConfig>,
}

impl EmulateOptions {
    /// Defaults for `bootstrap`.
    pub fn new(bootstrap: impl Into<PathBuf>) -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            function_name: None,
            timeout: Duration::from_secs(15),
            auth: Auth::None,
            aws_limits: false,
            concurrency: 1,
            runtime_api: None,
            history: DEFAULT_HISTORY,
            api_gateway: None,
            api_gateway_port: 0,
            dashboard: None,
            bootstrap: bootstrap.into(),
            args: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// A running emulator with its supervised bootstrap.
#[derive(Debug)]
pub struct Emulation {
    /// The emulator (recorder, addresses, log).
    pub emulator: Emulator,
    /// The supervised processes.
    pub supervisor: Supervisor,
}

impl Emulation {
    /// The address clients use.
    pub fn local_addr(&self) -> SocketAddr {
        self.emulator.local_addr()
    }

    /// The one line `emulate` prints when ready: `listening on http://HOST:PORT`.
    pub fn listening_line(&self) -> String {
        format!("listening on {}", self.emulator.url())
    }

    /// The second line `emulate --api-gateway` prints when ready:
    /// `api gateway on http://HOST:PORT/STAGE`; `None` without API Gateway.
    pub fn api_gateway_line(&self) -> Option<String> {
        Some(format!("api gateway on {}", self.emulator.api_gateway_url()?))
    }

    /// Stops the processes, then the emulator.
    pub async fn shutdown(self) {
        self.supervisor.shutdown().await;
        self.emulator.shutdown().await;
    }
}

impl EmulateOptions {
    /// The emulator these options describe, not yet started (`lambda-stream dev` starts it before
    /// it has a bootstrap to supervise).
    pub fn emulator_builder(&self) -> Result<EmulatorBuilder, Error> {
        let name = match &self.function_name {
            Some(name) => name.clone(),
            None => self
                .bootstrap
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::Config(format!("cannot name the function after {:?}", self.bootstrap)))?,
        };
        let mut builder = Emulator::builder()
            .function(FunctionConfig::new(name).timeout(self.timeout))
            .bind(SocketAddr::new(self.host, self.port).to_string())
            .auth(self.auth.clone())
            .aws_limits(self.aws_limits)
            .history(self.history);
        if let Some(addr) = self.runtime_api {
            builder = builder.runtime_api_bind(addr.to_string());
        }
        if let Some(addr) = self.dashboard {
            builder = builder.dashboard(addr.to_string());
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.clone() {
            builder = builder.tls(tls);
        }
        if let Some(config) = &self.api_gateway {
            builder = builder
                .api_gateway(config.clone())
                .api_gateway_bind(SocketAddr::new(self.host, self.api_gateway_port).to_string());
        }
        Ok(builder)
    }

    /// How to supervise the bootstrap these options name.
    pub fn supervisor_config(&self) -> SupervisorConfig {
        let mut command = BootstrapCommand::new(&self.bootstrap);
        command.args = self.args.clone();
        SupervisorConfig::new(command).concurrency(self.concurrency)
    }
}

/// Starts an emulator and the supervised bootstrap.
pub async fn emulate(options: EmulateOptions) -> Result<Emulation, Error> {
    let emulator = options.emulator_builder()?.build().await?;
    let supervisor = Supervisor::start(&emulator, options.supervisor_config()).await?;
    Ok(Emulation { emulator, supervisor })
}
