//! The gate in front of everything that touches real AWS or needs an external service: tests ask
//! here, and get either a go-ahead or the reason they are skipped, which they print.
//!
//! Live AWS is opt-in (project rule): only with `LAMBDA_STREAM_AWS=1` *and* credentials in the
//! environment (keys, a profile, or a web identity as GitHub's OIDC role provides).

use std::collections::HashMap;

/// The variable that opts in to live AWS tests.
pub const OPT_IN: &str = "LAMBDA_STREAM_AWS";
/// The variable `ci/aws-offline.sh` sets to moto's endpoint (`http://127.0.0.1:PORT`).
pub const MOTO_ENDPOINT: &str = "LAMBDA_STREAM_MOTO_ENDPOINT";

/// A snapshot of the variables the gates read, so that tests can inject their own.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// This process's environment (read only).
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    /// An environment with exactly these variables.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// `Ok(())` when live AWS tests may run; otherwise why not.
    pub fn live_aws(&self) -> Result<(), String> {
        if self.get(OPT_IN) != Some("1") {
            return Err(format!("{OPT_IN}=1 is not set (live AWS tests deploy real, billed resources)"));
        }
        let keys = self.get("AWS_ACCESS_KEY_ID").is_some() && self.get("AWS_SECRET_ACCESS_KEY").is_some();
        let other = ["AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
            .iter()
            .any(|k| self.get(k).is_some());
        if !keys && !other {
            return Err(format!(
                "{OPT_IN}=1 but no credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a web identity)"
            ));
        }
        Ok(())
    }

    /// moto's endpoint, when `ci/aws-offline.sh` started one.
    pub fn moto_endpoint(&self) -> Result<String, String> {
        self.get(MOTO_ENDPOINT).map(str::to_owned).ok_or_else(|| {
            format!("{MOTO_ENDPOINT} is not set: run `bash ci/aws-offline.sh`, which starts moto and runs these tests")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_aws_needs_the_opt_in_and_credentials() {
        assert!(Env::from_pairs([]).live_aws().unwrap_err().contains("LAMBDA_STREAM_AWS=1"));
        assert!(Env::from_pairs([(OPT_IN, "1")]).live_aws().unwrap_err().contains("no credentials"));
        assert!(Env::from_pairs([("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]).live_aws().is_err());
        assert!(
            Env::from_pairs([(OPT_IN, "1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")])
                .live_aws()
                .is_ok()
        );
        assert!(Env::from_pairs([(OPT_IN, "1"), ("AWS_PROFILE", "dev")]).live_aws().is_ok());
        assert!(Env::from_pairs([(OPT_IN, "0"), ("AWS_PROFILE", "dev")]).live_aws().is_err());
    }

    #[test]
    fn moto_endpoint_is_read_from_the_injected_env() {
        assert!(Env::from_pairs([]).moto_endpoint().unwrap_err().contains("ci/aws-offline.sh"));
        assert_eq!(
            Env::from_pairs([(MOTO_ENDPOINT, "http://127.0.0.1:5000")]).moto_endpoint().unwrap(),
            "http://127.0.0.1:5000"
        );
    }
}
