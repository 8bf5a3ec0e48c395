//! What `emulate` and `dev` share: the options of the emulator they serve, where the dashboard is
//! announced, and the stop signal.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use lambda_stream_emulator::{ApiGatewayConfig, Auth, EmulateOptions, Emulator, EndpointType, TlsConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthMode {
    /// Anyone may call the function URL (AuthType NONE).
    None,
    /// Function URL requests must be SigV4-signed (service `lambda`) with this process's
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AuthType AWS_IAM).
    Iam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EndpointKind {
    /// Idle timeout 5 minutes.
    Regional,
    /// Edge-optimized: idle timeout 30 seconds.
    Edge,
    /// Private: idle timeout 5 minutes.
    Private,
}

/// How the emulator serves: the options `emulate` and `dev` share.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Function name clients use; defaults to the bootstrap's file name.
    #[arg(long)]
    function_name: Option<String>,
    /// Invocation timeout in seconds (at most 900, as on Lambda); at the deadline the stream is
    /// cut with Sandbox.Timeout and the bootstrap restarted.
    #[arg(long, default_value_t = 15.0, value_parser = parse_timeout)]
    timeout: f64,
    /// Client authentication of the function URL.
    #[arg(long, value_enum, default_value_t = AuthMode::None)]
    auth: AuthMode,
    /// Shape bandwidth like Lambda: the first 6 MiB at full speed, then 2 MiB/s (and through
    /// API Gateway also API Gateway's 10 MiB, then 2 MiB/s).
    #[arg(long)]
    aws_limits: bool,
    /// Also serve an API Gateway REST API with a streaming Lambda proxy integration at
    /// http://HOST:PORT/STAGE/{proxy+}, on a port of its own (printed as a second line).
    #[arg(long)]
    api_gateway: bool,
    /// Port of the API Gateway listener; 0 picks a free one.
    #[arg(long, default_value_t = 0, requires = "api_gateway")]
    api_gateway_port: u16,
    /// The REST API's stage (the first path segment).
    #[arg(long, default_value = "prod", requires = "api_gateway")]
    stage: String,
    /// The REST API's endpoint type, which sets its idle timeout.
    #[arg(long, value_enum, default_value_t = EndpointKind::Regional, requires = "api_gateway")]
    endpoint_type: EndpointKind,
    /// Client authentication of the REST API: iam checks SigV4 for service execute-api with this
    /// process's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_enum, default_value_t = AuthMode::None, requires = "api_gateway")]
    api_gateway_auth: AuthMode,
    /// Require this value in the x-api-key header of REST API requests.
    #[arg(long, requires = "api_gateway")]
    api_key: Option<String>,
    /// A fixed Runtime API address (HOST:PORT) for runtimes you start by hand, besides the
    /// bootstraps this command starts; default a free loopback port, logged at start.
    #[arg(long, value_name = "HOST:PORT")]
    runtime_api: Option<SocketAddr>,
    /// Finished invocations the emulator remembers (sizes and times, and the first 4 KiB of each
    /// event and answer).
    #[arg(long, default_value_t = lambda_stream_emulator::DEFAULT_HISTORY)]
    history: usize,
    /// Number of bootstrap processes serving invocations at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Serve the live dashboard (invocations as they happen, each one's wire timeline) on
    /// 127.0.0.1:PORT, a port of its own; without PORT a free one. Its address goes to stderr.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0")]
    dashboard: Option<u16>,
    /// Serve the client port over HTTPS with a self-signed certificate for localhost, 127.0.0.1
    /// and ::1, made at start-up. Its PEM is written to --tls-cert-out (default a file in the
    /// temporary directory, logged at start) for clients to trust, e.g. `curl --cacert FILE` or
    /// `lambda-stream conform --target remote --ca-cert FILE`.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: bool,
    /// Serve the client port over HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With --tls: where to write the self-signed certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_cert_out: Option<PathBuf>,
}

impl ServeArgs {
    /// The emulate options for `bootstrap` and its arguments.
    pub(crate) fn options(&self, bootstrap: PathBuf, args: Vec<OsString>) -> anyhow::Result<EmulateOptions> {
        let auth = auth_from(self.auth, "--auth")?;
        let mut options = EmulateOptions::new(bootstrap);
        options.host = self.host;
        options.port = self.port;
        options.function_name = self.function_name.clone();
        options.timeout = Duration::from_secs_f64(self.timeout);
        options.auth = auth;
        options.aws_limits = self.aws_limits;
        options.concurrency = usize::from(self.concurrency);
        options.runtime_api = self.runtime_api;
        options.history = self.history;
        // Loopback whatever --host says: the page shows payload excerpts.
        options.dashboard = self.dashboard.map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
        options.args = args;
        options.tls = self.tls_config()?;
        if self.api_gateway {
            let endpoint_type = match self.endpoint_type {
                EndpointKind::Regional => EndpointType::Regional,
                EndpointKind::Edge => EndpointType::Edge,
                EndpointKind::Private => EndpointType::Private,
            };
            let mut config = ApiGatewayConfig::new(self.stage.clone())
                .endpoint_type(endpoint_type)
                .auth(auth_from(self.api_gateway_auth, "--api-gateway-auth")?);
            if let Some(key) = &self.api_key {
                config = config.api_key(key.clone());
            }
            options.api_gateway = Some(config);
            options.api_gateway_port = self.api_gateway_port;
        }
        Ok(options)
    }

    /// The TLS configuration `--tls` or `--tls-cert/--tls-key` ask for; a self-signed
    /// certificate is written where clients can read it, and its path logged.
    fn tls_config(&self) -> anyhow::Result<Option<TlsConfig>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return Ok(Some(TlsConfig::from_pem_files(cert, key).context("--tls-cert/--tls-key")?));
        }
        if !self.tls {
            return Ok(None);
        }
        let tls = TlsConfig::self_signed()?;
        let path = self.tls_cert_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("lambda-stream-emulate-{}-cert.pem", std::process::id()))
        });
        std::fs::write(&path, tls.certificate_pem())
            .with_context(|| format!("writing the self-signed certificate to {}", path.display()))?;
        tracing::info!(
            "TLS: self-signed certificate for localhost, 127.0.0.1 and ::1 in {0}; trust it with `curl --cacert {0}` \
             or `lambda-stream conform --target remote --ca-cert {0}`",
            path.display()
        );
        Ok(Some(tls))
    }
}

/// The auth a flag asks for; `iam` takes this process's key pair.
fn auth_from(mode: AuthMode, flag: &str) -> anyhow::Result<Auth> {
    Ok(match mode {
        AuthMode::None => Auth::None,
        AuthMode::Iam => match Auth::iam_from_env() {
            Some(auth) => auth,
            None => bail!(
                "{flag} iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment: \
                 requests are checked against that key pair"
            ),
        },
    })
}

/// Prints where the dashboard is (stderr: stdout keeps its `listening on` (and `api gateway on`)
/// lines).
pub(crate) fn announce_dashboard(emulator: &Emulator) {
    if let Some(url) = emulator.dashboard_url() {
        eprintln!("dashboard on {url}");
    }
}

fn parse_timeout(raw: &str) -> Result<f64, String> {
    let secs: f64 = raw.parse().map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 900.0) {
        return Err(format!("{secs} s is outside Lambda's range: give more than 0 and at most 900 seconds"));
    }
    Ok(secs)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
