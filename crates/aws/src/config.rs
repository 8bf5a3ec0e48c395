//! Where and as whom to talk to AWS: region, credentials and an optional endpoint, injected as
//! values so that tests point the same code at moto, LocalStack, recorded responses or our
//! emulator without touching the process environment.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sdk_s3::config::Region;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::Error;
use crate::error::describe;

/// How to reach AWS (or a stand-in for it).
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// Region; default: the environment or profile (`AWS_REGION`, `~/.aws/config`).
    pub region: Option<String>,
    /// Endpoint for every service (moto, LocalStack, the emulator); default: AWS's own.
    pub endpoint_url: Option<String>,
    /// Profile name; default: `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// Fixed credentials; default: the standard chain (environment, profile, web identity,
    /// container and instance roles).
    pub credentials: Option<Credentials>,
    /// HTTP client for the SDKs; default: hyper on rustls (ring) trusting [`AwsConfig::trust`].
    /// Tests inject a replay client.
    pub http_client: Option<SharedHttpClient>,
    /// Which certificates the SDKs' HTTPS client trusts; default the system's roots.
    pub trust: Trust,
}

/// Which certificates a TLS client trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The system's root certificates, as the AWS SDKs use them by default.
    #[default]
    System,
    /// Only these PEM certificates (a custom CA: a proxy, LocalStack, `lambda-stream emulate
    /// --tls`); a server whose chain does not lead to one of them is refused.
    Pem(Vec<u8>),
}

impl Trust {
    /// Trust only the certificates in the PEM file at `path`.
    pub fn pem_file(path: &std::path::Path) -> Result<Self, Error> {
        let pem = std::fs::read(path).map_err(|source| Error::Io {
            action: "reading the CA certificate",
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::Pem(pem))
    }

    /// rustls roots holding exactly the certificates of `pem` (an error when none parses, so a
    /// wrong file is caught before the first request).
    pub(crate) fn pem_roots(pem: &[u8]) -> Result<rustls::RootCertStore, Error> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Invalid(format!("the CA file is not PEM: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::Invalid("the CA file holds no usable CERTIFICATE block".into()));
        }
        Ok(roots)
    }
}

impl AwsConfig {
    /// A configuration for a local stand-in: fixed region, endpoint and dummy credentials.
    pub fn local(endpoint_url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            region: Some(region.into()),
            endpoint_url: Some(endpoint_url.into()),
            profile: None,
            credentials: Some(Credentials::new("testing", "testing", None, None, "lambda-stream-local")),
            http_client: None,
            trust: Trust::System,
        }
    }

    /// Resolves region and credentials and builds the service clients. Fails with what to do
    /// when there is no region or no credentials, before any request is made.
    pub async fn connect(&self) -> Result<Clients, Error> {
        let http_client = match &self.http_client {
            Some(client) => client.clone(),
            None => https_client_trusting(&self.trust)?,
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Error::NoRegion);
        }
        let provider = sdk.credentials_provider().ok_or_else(|| Error::NoCredentials("no provider".into()))?;
        provider.provide_credentials().await.map_err(|e| Error::NoCredentials(describe(&e)))?;
        Ok(Clients::new(sdk, self.endpoint_url.is_some()))
    }
}

/// The SDKs' HTTPS client: hyper on rustls with ring, the lighter of the SDK's TLS choices to
/// build (aws-lc needs cmake and a C toolchain run).
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// [`https_client`] trusting `trust`: with [`Trust::Pem`] only those certificates, so a server
/// with another chain fails the handshake (a transport error, never a response). Fails when the
/// PEM holds no certificate.
pub fn https_client_trusting(trust: &Trust) -> Result<SharedHttpClient, Error> {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let Trust::Pem(pem) = trust else { return Ok(https_client()) };
    Trust::pem_roots(pem)?;
    let store = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem.clone());
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| Error::Invalid(format!("TLS trust store: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

/// The service clients `deploy`, `invoke` and `teardown` use, all from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct Clients {
    /// The resolved configuration (region, credentials, endpoint).
    pub sdk: SdkConfig,
    /// S3: the artifacts bucket.
    pub s3: aws_sdk_s3::Client,
    /// CloudFormation: the stack.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// Lambda: InvokeWithResponseStream.
    pub lambda: aws_sdk_lambda::Client,
    /// STS: the account id, to name the artifacts bucket.
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Clients sharing `sdk`; with a custom endpoint S3 uses path-style addressing, since local
    /// stand-ins on `127.0.0.1:PORT` have no per-bucket host names.
    pub fn new(sdk: SdkConfig, custom_endpoint: bool) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(custom_endpoint).build();
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            sdk,
        }
    }

    /// The region the clients talk to.
    pub fn region(&self) -> &str {
        self.sdk.region().map_or("us-east-1", |r| r.as_ref())
    }

    /// The current credentials, for signing requests the SDKs do not make (function URLs).
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        let provider: SharedCredentialsProvider =
            self.sdk.credentials_provider().ok_or_else(|| Error::NoCredentials("no provider".into()))?;
        provider.provide_credentials().await.map_err(|e| Error::NoCredentials(describe(&e)))
    }
}
