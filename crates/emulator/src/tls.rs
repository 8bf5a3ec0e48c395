//! TLS on the public listener (feature `tls`): what lets a client reach the emulator the way it
//! reaches Lambda, over HTTPS, so that the remote code path (TLS, SigV4, the AWS SDK's HTTPS
//! client, a custom trust root) runs end to end on 127.0.0.1.
//!
//! ## Parts
//! - [`TlsConfig::self_signed`]: a certificate made at start-up for `localhost`, `127.0.0.1` and
//!   `::1` (rcgen, ring); its PEM ([`TlsConfig::certificate_pem`]) is what a client adds to its
//!   trust store. Nothing is written to disk unless the caller does it.
//! - [`TlsConfig::from_pem`] / [`TlsConfig::from_pem_files`]: a certificate chain and private key
//!   the user brings (`emulate --tls-cert --tls-key`).
//! - The acceptor (tokio-rustls on the workspace's rustls with ring), used by the server for the
//!   client listener only. The Runtime API listeners stay plain HTTP on loopback, as on Lambda,
//!   where the runtime reaches the API inside its execution environment without TLS (RT-API).
//!
//! ## Why
//! Function URLs and the Lambda API are HTTPS only; a client that trusts a custom root (a proxy,
//! LocalStack, this emulator) has to be able to say so, and a wrong root must fail before a byte
//! of the request leaves. Offering HTTP/1.1 only in ALPN keeps the one protocol the front ends
//! speak.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// Host names and addresses the self-signed certificate is valid for.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate, its key and the acceptor built from them.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    certificate_pem: String,
    self_signed: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("self_signed", &self.self_signed).finish_non_exhaustive()
    }
}

/// Two configurations are the same when they serve the same certificate.
impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.certificate_pem == other.certificate_pem
    }
}

impl Eq for TlsConfig {}

impl TlsConfig {
    /// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, made now; clients trust
    /// it through [`TlsConfig::certificate_pem`].
    pub fn self_signed() -> Result<Self, Error> {
        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| Error::Tls(format!("cannot make a self-signed certificate: {e}")))?;
        let pem = made.cert.pem();
        let key = PrivateKeyDer::try_from(made.signing_key.serialize_der())
            .map_err(|e| Error::Tls(format!("the generated key is unusable: {e}")))?;
        let mut config = Self::build(vec![made.cert.der().clone()], key, pem)?;
        config.self_signed = true;
        Ok(config)
    }

    /// A certificate chain (leaf first) and its private key, both PEM.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(certificate_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("the certificate file is not PEM: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Tls("the certificate file holds no CERTIFICATE block".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|e| Error::Tls(format!("the key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}")))?;
        let pem = String::from_utf8_lossy(certificate_chain).into_owned();
        Self::build(chain, key, pem)
    }

    /// [`TlsConfig::from_pem`] from two files (`--tls-cert`, `--tls-key`).
    pub fn from_pem_files(certificate_chain: &Path, private_key: &Path) -> Result<Self, Error> {
        let read =
            |path: &Path| std::fs::read(path).map_err(|e| Error::Tls(format!("cannot read {}: {e}", path.display())));
        Self::from_pem(&read(certificate_chain)?, &read(private_key)?)
    }

    fn build(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>, pem: String) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("TLS versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| Error::Tls(format!("the certificate and key do not go together: {e}")))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(server)), certificate_pem: pem, self_signed: false })
    }

    /// The certificate chain in PEM: for a self-signed configuration, the certificate a client
    /// adds to its trust store.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Whether the certificate was made by [`TlsConfig::self_signed`].
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_names_loopback() {
        let config = TlsConfig::self_signed().unwrap();
        assert!(config.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(config.is_self_signed());
        assert_ne!(config, TlsConfig::self_signed().unwrap(), "each start-up makes a new certificate");
    }

    #[test]
    fn pem_input_is_checked() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = made.cert.pem();
        let key = made.signing_key.serialize_pem();
        let config = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(config.certificate_pem(), cert);
        assert!(!config.is_self_signed());
        // The same certificate is the same configuration; its Debug shows no key material.
        assert_eq!(config, TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap());
        assert_eq!(format!("{config:?}"), "TlsConfig { self_signed: false, .. }");
        let err = TlsConfig::from_pem(b"not pem", key.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("no CERTIFICATE"), "{err}");
        let err = TlsConfig::from_pem(cert.as_bytes(), b"").unwrap_err().to_string();
        assert!(err.contains("no PEM private key"), "{err}");
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let err =
            TlsConfig::from_pem(cert.as_bytes(), other.signing_key.serialize_pem().as_bytes()).unwrap_err().to_string();
        assert!(err.contains("do not go together"), "{err}");
    }
}
