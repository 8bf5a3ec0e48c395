//! Where the Runtime API listens: the value of `AWS_LAMBDA_RUNTIME_API`, checked once.
//!
//! A plain value type below the client: the client connects to an [`Endpoint`], the builder
//! parses one, and a bad value is an [`Error::InvalidEndpoint`] that says which forms are accepted.

use std::fmt;

use crate::error::Error;

/// Where the Runtime API listens: `host:port`, plus a path prefix some local emulators use.
///
/// Accepted forms: `host:port` (what AWS sets), `http://host:port`, `http://host:port/prefix`, and
/// `host:port/prefix` (cargo-lambda hands out `http://127.0.0.1:9000/.rt`; the official Rust
/// runtime panics on the scheme-less prefix form, docs/protocol.md §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    authority: String,
    prefix: String,
}

impl Endpoint {
    /// Parses an endpoint; the error says what is wrong and which forms are accepted.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidEndpoint { endpoint: raw.to_owned(), reason: reason.to_owned() };
        let trimmed = raw.trim();
        let rest = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(invalid("only the http scheme is supported (the Runtime API is plain HTTP)")),
            None => trimmed,
        };
        let (authority, prefix) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if prefix.contains(['?', '#']) {
            return Err(invalid("a query or fragment is not allowed"));
        }
        let (host, port) = authority.rsplit_once(':').ok_or_else(|| invalid("the port is missing"))?;
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        if host.starts_with('[') != host.ends_with(']') || (host.contains(':') && !host.starts_with('[')) {
            return Err(invalid("an IPv6 host must be in brackets, e.g. [::1]:9001"));
        }
        if host.contains(['@', ' ']) {
            return Err(invalid("the host contains characters a host name cannot have"));
        }
        port.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?;
        Ok(Self { authority: authority.to_owned(), prefix: prefix.trim_end_matches('/').to_owned() })
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path prefix, empty or starting with `/`, without a trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_in_every_documented_form_parse() {
        let e = Endpoint::parse("127.0.0.1:9001").unwrap();
        assert_eq!((e.authority(), e.prefix()), ("127.0.0.1:9001", ""));
        let e = Endpoint::parse("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!((e.authority(), e.prefix()), ("127.0.0.1:9000", "/.rt"));
        let e = Endpoint::parse("localhost:9000/.rt/").unwrap();
        assert_eq!((e.authority(), e.prefix()), ("localhost:9000", "/.rt"));
        let e = Endpoint::parse("HTTP://[::1]:80").unwrap();
        assert_eq!(e.authority(), "[::1]:80");
        assert_eq!(e.to_string(), "http://[::1]:80");
    }

    #[test]
    fn bad_endpoints_say_what_is_wrong() {
        for (raw, reason) in [
            ("https://h:1", "only the http scheme"),
            ("localhost", "the port is missing"),
            (":9001", "the host is missing"),
            ("h:99999", "the port must be a number"),
            ("h:0", "the port must be a number"),
            ("h:1/x?y", "a query or fragment"),
            ("::1:80", "in brackets"),
        ] {
            let err = Endpoint::parse(raw).unwrap_err().to_string();
            assert!(err.contains(reason), "{raw}: {err}");
            assert!(err.contains(raw), "{raw}: the message names the value: {err}");
        }
    }
}
