//! Replacing the supervised program (what `lambda-stream dev` does after a rebuild), with real
//! processes of `fixture-bootstrap` (its `env-report` handler, from lambda-stream-fixtures): in-flight invocations finish on the old
//! process, new ones go to the new process, the old one is stopped once it holds nothing, and a
//! program that cannot start leaves the old one serving.

mod common;

use std::path::Path;

use common::{WAIT, builder, client};
use lambda_stream_emulator::{BootstrapCommand, Emulator, Error, Supervisor, SupervisorConfig};
use serde_json::Value;

/// The fixture reports `EXTRA_FROM_TEST` in its answer: it tells the program versions apart.
fn version(v: &str) -> BootstrapCommand {
    BootstrapCommand::new(lambda_stream_fixtures::bootstrap_path()).env("EXTRA_FROM_TEST", v)
}

async fn invoke(emulator: &Emulator, payload: &str) -> Value {
    let url = format!("{}/2015-03-31/functions/{}/invocations", emulator.url(), emulator.function().name);
    let response = client().post(url).body(format!("\"{payload}\"")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-amz-function-error").is_none(), "no function error");
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn in_flight_invocations_finish_on_the_old_process_and_new_ones_go_to_the_new_one() {
    let emulator = builder("swapped").build().await.unwrap();
    let mut supervisor = Supervisor::start(&emulator, SupervisorConfig::new(version("v1"))).await.unwrap();
    let old_pid = supervisor.serving_pids()[0];

    // A slow invocation (one second) is taken by the old process...
    let slow = tokio::spawn({
        let url = emulator.url();
        let name = emulator.function().name.clone();
        async move {
            let url = format!("{url}/2015-03-31/functions/{name}/invocations");
            client().post(url).body("\"slow\"").send().await.unwrap()
        }
    });
    emulator
        .recorder()
        .wait_until(WAIT, "the slow invocation to be taken", |r| {
            r.invocations().into_iter().find(|i| i.runtime.taken_at.is_some())
        })
        .await
        .unwrap();

    // ...then the program is replaced while it runs.
    let drained = supervisor.replace(version("v2")).await.unwrap();
    assert_eq!(drained.in_flight(), 1, "the slow invocation finishes on the old process");
    let new_pid = supervisor.serving_pids()[0];
    assert_ne!(new_pid, old_pid);
    assert_eq!(supervisor.command().env, vec![("EXTRA_FROM_TEST".into(), "v2".into())]);

    let fresh = invoke(&emulator, "hello").await;
    assert_eq!(fresh["EXTRA_FROM_TEST"], "v2", "a new invocation goes to the new program: {fresh}");
    assert_eq!(fresh["pid"], u64::from(new_pid));

    let slow = slow.await.unwrap();
    assert_eq!(slow.status(), 200);
    assert!(slow.headers().get("x-amz-function-error").is_none(), "the in-flight one was not cut");
    let slow: Value = serde_json::from_slice(&slow.bytes().await.unwrap()).unwrap();
    assert_eq!(slow["EXTRA_FROM_TEST"], "v1", "the in-flight one finished on the old program: {slow}");
    assert_eq!(slow["pid"], u64::from(old_pid));

    tokio::time::timeout(WAIT, drained.wait()).await.expect("the old process is stopped once it is idle");
    assert!(!alive(u64::from(old_pid)), "the old process was stopped");
    assert!(alive(u64::from(new_pid)));
    assert_eq!(emulator.recorder().fault_count(), 0, "nothing was refused or cut: {:?}", emulator.recorder().faults());
    // Later invocations keep going to the new program.
    assert_eq!(invoke(&emulator, "again").await["EXTRA_FROM_TEST"], "v2");
    supervisor.shutdown().await;
    assert!(!alive(u64::from(new_pid)));
}

#[tokio::test]
async fn an_idle_old_process_waiting_in_next_is_stopped_and_takes_nothing_more() {
    let emulator = builder("idle-swap").build().await.unwrap();
    let config = SupervisorConfig::new(version("v1")).concurrency(2);
    let mut supervisor = Supervisor::start(&emulator, config).await.unwrap();
    // Both old copies are polling `/next` once they have answered once each.
    let (a, b) = tokio::join!(invoke(&emulator, "slow"), invoke(&emulator, "slow"));
    assert_eq!((a["EXTRA_FROM_TEST"].as_str(), b["EXTRA_FROM_TEST"].as_str()), (Some("v1"), Some("v1")));
    let old: Vec<u32> = supervisor.serving_pids();

    let drained = supervisor.replace(version("v2")).await.unwrap();
    assert_eq!(drained.in_flight(), 0);
    for i in 0..6 {
        let answer = invoke(&emulator, &format!("call {i}")).await;
        assert_eq!(answer["EXTRA_FROM_TEST"], "v2", "call {i} went to an old process: {answer}");
    }
    tokio::time::timeout(WAIT, drained.wait()).await.expect("idle old processes are stopped");
    for pid in old {
        assert!(!alive(u64::from(pid)), "old process {pid} stopped");
    }
    assert_eq!(supervisor.serving_pids().len(), 2);
    supervisor.shutdown().await;
}

#[tokio::test]
async fn a_program_that_cannot_start_leaves_the_old_one_serving() {
    let emulator = builder("kept").build().await.unwrap();
    let mut supervisor = Supervisor::start(&emulator, SupervisorConfig::new(version("v1"))).await.unwrap();
    let pid = supervisor.serving_pids();
    let missing = BootstrapCommand::new("/nonexistent/lambda-stream/bootstrap");
    match supervisor.replace(missing).await {
        Err(Error::Spawn { program, .. }) => assert!(program.ends_with("bootstrap")),
        other => panic!("expected a spawn error, got {other:?}"),
    }
    assert_eq!(supervisor.serving_pids(), pid);
    assert_eq!(supervisor.command().env, vec![("EXTRA_FROM_TEST".into(), "v1".into())]);
    assert_eq!(invoke(&emulator, "hello").await["EXTRA_FROM_TEST"], "v1");
    supervisor.shutdown().await;
}
