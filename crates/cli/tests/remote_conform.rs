//! `lambda-stream emulate --auth iam --tls` and `lambda-stream conform --target remote` as a user
//! runs them, two real processes: the conformance scenarios go over HTTPS, signed with SigV4,
//! through aws-sdk-lambda, trusting the self-signed certificate `emulate` wrote. A wrong secret and
//! a wrong CA make `conform` fail with a target error that names the cause, judging no rule.
//!
//! The probe is served by `fixture-bootstrap --handler probe` (our runtime's probe answers, on the
//! fixture crate's raw client). Credentials are given to the child processes only, never read from
//! this process's environment; the endpoint is the emulator on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLI: &str = env!("CARGO_BIN_EXE_lambda-stream");
const KEY: &str = "AKIDCLIREMOTE";
const SECRET: &str = "cli-remote-secret";
const FUNCTION: &str = "cli-remote-probe";

/// Credentials and a region for a child, and nothing of the machine's AWS configuration.
fn aws_env<'a>(command: &'a mut Command, secret: &str, dir: &Path) -> &'a mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
}

/// `emulate --auth iam --tls` with the probe; its URL once it listens.
async fn emulate(dir: &Path) -> (Child, String, PathBuf) {
    let cert = dir.join("emulate-cert.pem");
    let mut command = Command::new(CLI);
    command
        .args(["emulate", "--auth", "iam", "--tls", "--tls-cert-out"])
        .arg(&cert)
        .args(["--function-name", FUNCTION, "--"])
        .arg(lambda_stream_fixtures::bootstrap_path())
        .args(["--handler", "probe"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = aws_env(&mut command, SECRET, dir).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("first stdout line was {line:?}")).to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let pem = std::fs::read_to_string(&cert).expect("emulate wrote its certificate");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    (child, url, cert)
}

/// `conform --target remote` against the emulator: (success, stdout, stderr).
async fn conform(url: &str, ca: &Path, secret: &str, dir: &Path) -> (bool, String, String) {
    let mut command = Command::new(CLI);
    command
        .args(["conform", "--target", "remote"])
        .args(["--url", &format!("probe={url}/"), "--function-name", &format!("probe={FUNCTION}")])
        .args(["--endpoint", url, "--ca-cert"])
        .arg(ca)
        .args(["--scenario", "url-echo-event", "--scenario", "iwrs-echo-context", "--scenario", "url-small-write"]);
    let out = aws_env(&mut command, secret, dir).output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lambda-stream-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn conform_runs_the_remote_path_against_an_iam_tls_emulator() {
    let dir = temp_dir("remote");
    let (mut emulator, url, cert) = emulate(&dir).await;

    let (ok, stdout, stderr) = conform(&url, &cert, SECRET, &dir).await;
    assert!(ok, "conform failed:\n{stdout}\n{stderr}");
    for rule in ["url.event-query", "runtime-api.client-context", "runtime-api.request-id"] {
        let line = stdout.lines().find(|l| l.starts_with(rule)).unwrap_or_else(|| panic!("{rule}:\n{stdout}"));
        assert!(line.contains(" pass "), "{line}");
    }
    // The runtime's side of the wire is not visible from a client: the client's checks held, the
    // wire's were not made, so the rule is partial, never passed.
    let wire = stdout.lines().find(|l| l.starts_with("runtime.small-write-flushed")).unwrap();
    assert!(wire.contains(" partial "), "{wire}");

    // A wrong secret: the emulator refuses the signature, conform names it and judges nothing.
    let (ok, stdout, stderr) = conform(&url, &cert, "not-the-secret", &dir).await;
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("target could not be asked") && stderr.contains("InvalidSignatureException"), "{stderr}");
    assert!(stdout.contains("TARGET ERROR"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.contains(" FAIL ")), "no rule fails on a refused caller:\n{stdout}");

    // A wrong CA: the TLS handshake fails before any request.
    let stranger = dir.join("stranger.pem");
    std::fs::write(&stranger, rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap().cert.pem())
        .unwrap();
    let (ok, stdout, stderr) = conform(&url, &stranger, SECRET, &dir).await;
    assert!(!ok, "{stdout}");
    let lower = stderr.to_ascii_lowercase();
    assert!(lower.contains("target could not be asked") && lower.contains("certificate"), "{stderr}");

    emulator.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
