//! A supervised bootstrap (`fixture-bootstrap`, whose event keywords make it crash, exit or
//! hang) that misbehaves as a process: the invocation it held ends at once with the error Lambda
//! reports, the process is replaced, and the next invocation is served by the new one.

use std::path::PathBuf;
use std::time::Duration;

use lambda_stream_emulator::{BootstrapCommand, Emulator, Error, FunctionConfig, Supervisor, SupervisorConfig};
use serde_json::Value;

use crate::common::{WAIT, assert_healthy, builder, client};
use crate::{iwrs_result, iwrs_url};

fn bootstrap() -> PathBuf {
    lambda_stream_fixtures::bootstrap_path()
}

async fn supervised(timeout: Duration, command: BootstrapCommand) -> (Emulator, Supervisor) {
    let emulator = builder("f").function(FunctionConfig::new("f").timeout(timeout)).build().await.unwrap();
    let supervisor = Supervisor::start(&emulator, SupervisorConfig::new(command)).await.unwrap();
    (emulator, supervisor)
}

/// One IWRS call with `event`; the payload and `ErrorCode`.
async fn call(emulator: &Emulator, event: &str) -> (Vec<u8>, Option<String>) {
    let response = client().post(iwrs_url(emulator, "f", "")).body(format!("\"{event}\"")).send().await.unwrap();
    let (payload, complete) = iwrs_result(response).await;
    (payload, complete.error_code)
}

/// The pid in an env-report answer.
fn pid(payload: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(payload).expect("an env report")["pid"].as_u64().unwrap()
}

#[tokio::test]
async fn runtime_process_exits_mid_stream() {
    let (emulator, supervisor) = supervised(Duration::from_secs(10), BootstrapCommand::new(bootstrap())).await;
    let (payload, code) = call(&emulator, "crash").await;
    // Whether the broken body or the exit is noticed first is a race, as on Lambda; either way the
    // invocation ends at once, long before its 10 s deadline.
    let code = code.expect("an error");
    assert!(["Runtime.ExitError", "Runtime.TruncatedResponse"].contains(&code.as_str()), "{code}");
    assert!(payload.is_empty() || payload == b"partial", "{payload:?}");
    let (after, code) = call(&emulator, "hello").await;
    assert_eq!(code, None);
    assert_ne!(pid(&after) as u32, supervisor.pids()[0], "a new process answered");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn runtime_process_exits_after_answering() {
    let (emulator, supervisor) = supervised(Duration::from_secs(10), BootstrapCommand::new(bootstrap())).await;
    let (first, code) = call(&emulator, "exit").await;
    assert_eq!(code, None, "the answer was complete before the exit");
    let (second, code) = call(&emulator, "hello").await;
    assert_eq!(code, None);
    assert_ne!(pid(&first), pid(&second), "a new process answered");
    assert!(supervisor.exits() >= 1);
    supervisor.shutdown().await;
}

#[tokio::test]
async fn runtime_process_hangs() {
    let (emulator, supervisor) = supervised(Duration::from_secs(2), BootstrapCommand::new(bootstrap())).await;
    let (payload, code) = call(&emulator, "hang").await;
    assert_eq!((payload.as_slice(), code.as_deref()), (&b""[..], Some("Sandbox.Timeout")));
    let hung = supervisor.pids()[0];
    let (after, code) = call(&emulator, "hello").await;
    assert_eq!(code, None);
    assert_ne!(pid(&after) as u32, hung, "the hung process was replaced");
    assert_eq!(supervisor.timeout_restarts(), 1);
    supervisor.shutdown().await;
}

#[tokio::test]
async fn runtime_process_killed_while_polling() {
    // A process that dies while its `GET /next` waits must not take the next invocation with it
    // (it would be lost until its deadline, which would then restart the healthy new process).
    let (emulator, supervisor) = supervised(Duration::from_secs(10), BootstrapCommand::new(bootstrap())).await;
    let (first, code) = call(&emulator, "hello").await;
    assert_eq!(code, None);
    // Give the process a moment to be back in its long poll (nothing observable says it is; on a
    // slow machine the test only gets weaker, it cannot fail for it), then kill it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = std::process::Command::new("kill").arg("-9").arg(pid(&first).to_string()).status().unwrap();
    assert!(killed.success());
    // Once the supervisor has reaped it, the process and its connections are gone: an invocation
    // sent now cannot have been taken by it while it was still alive.
    let reaped = tokio::time::timeout(Duration::from_secs(8), async {
        while supervisor.exits() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    reaped.await.expect("the supervisor sees the exit");
    let (after, code) = tokio::time::timeout(Duration::from_secs(8), call(&emulator, "hello"))
        .await
        .expect("served by the new process, not lost to the dead poll until the 10 s deadline");
    assert_eq!(code, None);
    assert_ne!(pid(&after), pid(&first));
    assert_eq!(supervisor.timeout_restarts(), 0);
    supervisor.shutdown().await;
}

#[tokio::test]
async fn runtime_process_prints_a_line_without_an_end() {
    // 8 MiB on stdout without a newline, then the runtime: the emulator keeps lines of at most
    // 64 KiB (the log is for tails of 4 KB), so a process cannot grow its memory by printing.
    let script = "head -c 8388608 /dev/zero | tr '\\0' x; echo; exec \"$0\"";
    let command = BootstrapCommand::new("/bin/sh").arg("-c").arg(script).arg(bootstrap());
    let (emulator, supervisor) = supervised(Duration::from_secs(10), command).await;
    let (payload, code) = call(&emulator, "hello").await;
    assert_eq!(code, None);
    pid(&payload);
    // The answer can come before the pipe reader has worked through the 8 MiB to the lines after
    // it (a busy machine showed it): wait for the later line, then look at everything.
    let started = std::time::Instant::now();
    let lines = loop {
        let lines = emulator.log().lines();
        if lines.iter().any(|l| l.starts_with("bootstrap pid ")) {
            break lines;
        }
        assert!(started.elapsed() < WAIT, "later output still captured: no \"bootstrap pid\" line in {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let longest = lines.iter().map(String::len).max().unwrap_or_default();
    assert_eq!(longest, 64 * 1024, "long output is cut into 64 KiB lines");
    assert!(lines.iter().filter(|l| l.len() == 64 * 1024).all(|l| l.bytes().all(|b| b == b'x')));
    supervisor.shutdown().await;
}

#[tokio::test]
async fn runtime_bootstrap_that_cannot_be_started() {
    let emulator = builder("f").build().await.unwrap();
    let command = BootstrapCommand::new("/nonexistent/bootstrap");
    let error = Supervisor::start(&emulator, SupervisorConfig::new(command)).await.unwrap_err();
    assert!(matches!(error, Error::Spawn { .. }), "{error:?}");
    assert!(error.to_string().contains("/nonexistent/bootstrap"), "{error}");
    // A runtime started by hand is still served.
    assert_healthy(&emulator).await;
}
