//! SigV4 for the remote API Gateway target: a REST API whose methods use `AWS_IAM` authorization
//! takes requests signed for the service `execute-api` (docs/protocol.md §6), signed here with
//! `aws-sigv4`, the signer the AWS SDKs use. The payload's SHA-256 is sent and signed in
//! `x-amz-content-sha256`, as the project's other signing client does.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::Error;
use crate::observe::Outgoing;

/// A key pair to sign with, and the region to sign for when the URL does not name one.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Keys {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// The region for URLs that do not name one (`AWS_REGION`); `us-east-1` when unset.
    pub region: Option<String>,
}

impl std::fmt::Debug for SigV4Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Keys").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl SigV4Keys {
    /// The keys of this process's environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION`); `None` when either key is unset.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID").ok()?,
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY").ok()?,
            session_token: std::env::var("AWS_SESSION_TOKEN").ok(),
            region: std::env::var("AWS_REGION").ok(),
        })
    }
}

/// `REGION` of `https://ID.execute-api.REGION.amazonaws.com/...`.
fn region_of(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split(['/', ':', '?']).next()?;
    let region = host.split_once(".execute-api.")?.1.strip_suffix(".amazonaws.com")?;
    (!region.is_empty() && !region.contains('.')).then_some(region)
}

/// Adds the SigV4 headers for `execute-api` to `request`, as signed at `time`.
pub fn sign_execute_api(request: &mut Outgoing, keys: &SigV4Keys, time: SystemTime) -> Result<(), Error> {
    let region = region_of(&request.url).map(str::to_owned).or_else(|| keys.region.clone());
    let region = region.unwrap_or_else(|| "us-east-1".to_owned());
    let identity = Credentials::new(
        &keys.access_key_id,
        &keys.secret_access_key,
        keys.session_token.clone(),
        None,
        "lambda-stream-conformance",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("execute-api")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| Error::Target(format!("cannot sign for execute-api: {e}")))?
        .into();
    let headers = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let signable =
        SignableRequest::new(request.method.as_str(), &request.url, headers, SignableBody::Bytes(&request.body))
            .map_err(|e| Error::Target(format!("cannot sign {}: {e}", request.url)))?;
    let (instructions, _) =
        sign(signable, &params).map_err(|e| Error::Target(format!("cannot sign {}: {e}", request.url)))?.into_parts();
    let (headers, _params) = instructions.into_parts();
    for header in headers {
        request.headers.push((header.name().to_owned(), header.value().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_for_execute_api_in_the_urls_region() {
        let keys = SigV4Keys {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
            region: Some("us-west-2".into()),
        };
        let mut request = Outgoing {
            method: reqwest::Method::POST,
            url: "https://abc.execute-api.eu-central-1.amazonaws.com/prod/x?scenario=ok".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
            event_stream: false,
        };
        sign_execute_api(&mut request, &keys, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
        let header = |n: &str| request.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let auth = header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-central-1/execute-api/"),
            "{auth}"
        );
        assert_eq!(header("x-amz-security-token").as_deref(), Some("token"));
        assert!(header("x-amz-content-sha256").is_some());
        assert_eq!(region_of("http://127.0.0.1:9/prod"), None);
        assert!(!format!("{keys:?}").contains("secret"), "the secret stays out of logs");
    }
}
