//! Supervision with a real process: `fixture-bootstrap` (its `env-report` handler, from
//! lambda-stream-fixtures) is started with the Lambda environment, restarted after it exits and after a timeout, run as N
//! copies, its output captured for `LogResult`, and killed on shutdown.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{WAIT, builder, client};
use lambda_stream_emulator::{
    BootstrapCommand, EmulateOptions, Emulator, FunctionConfig, Supervisor, SupervisorConfig, emulate,
};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, env, names};
use serde_json::Value;

/// `fixture-bootstrap` with its default handler, `env-report`: it answers with its pid and
/// environment, and the event's keywords make it hang, crash, exit or be slow.
fn bootstrap() -> PathBuf {
    lambda_stream_fixtures::bootstrap_path()
}

async fn invoke(emulator: &Emulator, payload: &str) -> reqwest::Response {
    let url = format!("{}/2015-03-31/functions/{}/invocations", emulator.url(), emulator.function().name);
    client().post(url).body(format!("\"{payload}\"")).send().await.unwrap()
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Waits until `done` holds, checking every 20 ms, for at most the suite's [`WAIT`]; `what` says
/// what never happened when it runs out.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let waited = Instant::now();
    while !done() {
        assert!(waited.elapsed() < WAIT, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn alive(pid: u64) -> bool {
    // Linux: a reaped process has no /proc entry.
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn the_bootstrap_gets_the_lambda_environment_and_is_restarted_after_it_exits() {
    let emulator = builder("supervised").build().await.unwrap();
    let command = BootstrapCommand::new(bootstrap()).env("EXTRA_FROM_TEST", "passed through");
    let supervisor = Supervisor::start(&emulator, SupervisorConfig::new(command)).await.unwrap();

    let response = invoke(&emulator, "exit").await;
    assert_eq!(response.status(), 200);
    let first = json(response).await;
    assert_eq!(first[env::FUNCTION_NAME], "supervised");
    assert_eq!(first[env::FUNCTION_VERSION], env::LATEST_VERSION);
    assert_eq!(first[env::FUNCTION_MEMORY_SIZE], "128");
    assert_eq!(first[env::REGION], "us-east-1");
    assert_eq!(first[env::DEFAULT_REGION], "us-east-1");
    assert_eq!(first[env::HANDLER], "");
    assert_eq!(first[env::TASK_ROOT], bootstrap().parent().unwrap().to_str().unwrap());
    assert_eq!(first["EXTRA_FROM_TEST"], "passed through");
    let api = first[env::RUNTIME_API].as_str().unwrap();
    assert!(api.starts_with("127.0.0.1:") && !api.contains('/'), "HOST:PORT like Lambda: {api}");
    assert_ne!(api, emulator.local_addr().to_string(), "the Runtime API is not the public port");

    // The process exits after answering "exit"; the next invocation is served by a new one.
    let second = json(invoke(&emulator, "hello").await).await;
    assert_ne!(first["pid"], second["pid"], "a new process answered");
    assert!(
        supervisor.spawned() >= 2 && supervisor.exits() >= 1,
        "{} spawned, {} exits",
        supervisor.spawned(),
        supervisor.exits()
    );
    supervisor.shutdown().await;
}

/// A process that dies at once is restarted after the backoff, which doubles while it keeps
/// dying: 300 ms, then 600 ms, so a third start comes at least 900 ms after the first (a load on
/// the machine only makes that later). Without the backoff it would be restarted in a tight loop.
#[tokio::test]
async fn a_process_that_keeps_dying_is_restarted_after_a_doubling_backoff() {
    let emulator = builder("crashes").build().await.unwrap();
    let mut config = SupervisorConfig::new(BootstrapCommand::new("/bin/sh").arg("-c").arg("exit 3"));
    config.restart_backoff = Duration::from_millis(300);
    config.max_backoff = Duration::from_secs(5);
    let started = Instant::now();
    let supervisor = Supervisor::start(&emulator, config).await.unwrap();
    eventually("a third start", || supervisor.spawned() >= 3).await;
    let third = started.elapsed();
    assert!(third >= Duration::from_millis(900), "three starts in {third:?}: the backoff was not waited");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(supervisor.spawned() <= 4, "{} starts in {:?}", supervisor.spawned(), started.elapsed());
    assert!(supervisor.exits() >= 2, "{} exits", supervisor.exits());
    supervisor.shutdown().await;
}

#[tokio::test]
async fn a_timeout_restarts_the_process() {
    let function = FunctionConfig::new("hangs").timeout(Duration::from_secs(1));
    let emulator = builder("hangs").function(function).build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let response = invoke(&emulator, "hang").await;
    assert_eq!(response.headers()[names::AMZ_FUNCTION_ERROR], "Unhandled");
    assert_eq!(json(response).await["errorType"], error_types::SANDBOX_TIMEOUT);
    let hung_pid = supervisor.pids()[0] as u64;

    let after = json(invoke(&emulator, "hello").await).await;
    assert_ne!(after["pid"].as_u64().unwrap(), hung_pid, "the hung process was replaced");
    assert_eq!(supervisor.timeout_restarts(), 1);
    assert!(!alive(hung_pid), "the hung process was killed");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn with_two_processes_each_timeout_restarts_the_process_that_held_that_invocation() {
    let function = FunctionConfig::new("hang-two").timeout(Duration::from_secs(1));
    let emulator = builder("hang-two").function(function).build().await.unwrap();
    let config = SupervisorConfig::new(BootstrapCommand::new(bootstrap())).concurrency(2);
    let supervisor = Supervisor::start(&emulator, config).await.unwrap();
    let hung: Vec<u64> = supervisor.pids().iter().map(|&pid| pid as u64).collect();
    assert_eq!(hung.len(), 2);
    // A hung process polls no more, so each process takes one of the two.
    let (a, b) = tokio::join!(invoke(&emulator, "hang"), invoke(&emulator, "hang"));
    for response in [a, b] {
        assert_eq!(json(response).await["errorType"], error_types::SANDBOX_TIMEOUT);
    }
    let waited = Instant::now();
    while hung.iter().any(|&pid| alive(pid)) {
        assert!(
            waited.elapsed() < WAIT,
            "both hung processes are killed: {:?} alive",
            hung.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(supervisor.timeout_restarts(), 2);
    // Both slots get a new process (not one slot twice).
    let fresh = loop {
        let now: Vec<u64> = supervisor.serving_pids().iter().map(|&pid| pid as u64).collect();
        if now.len() == 2 && now.iter().all(|pid| !hung.contains(pid)) {
            break now;
        }
        assert!(waited.elapsed() < WAIT, "{now:?} after {hung:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let answer = json(invoke(&emulator, "hello").await).await;
    assert!(answer["pid"].as_u64().is_some_and(|pid| fresh.contains(&pid)), "{answer} from {fresh:?}");
    supervisor.shutdown().await;
}

/// A process that exits ends only the invocations it held: another process's invocation runs on
/// to its own end (cargo-mutants: nothing checked that an exit looks at the exiting slot alone).
#[tokio::test]
async fn a_process_exiting_leaves_the_other_process_invocation_alone() {
    let function = FunctionConfig::new("exit-one").timeout(Duration::from_secs(3));
    let emulator = builder("exit-one").function(function).build().await.unwrap();
    let config = SupervisorConfig::new(BootstrapCommand::new(bootstrap())).concurrency(2);
    let supervisor = Supervisor::start(&emulator, config).await.unwrap();
    let hanging = tokio::spawn({
        let url = format!("{}/2015-03-31/functions/{}/invocations", emulator.url(), emulator.function().name);
        async move { client().post(url).body("\"hang\"").send().await.unwrap() }
    });
    // One process holds the hanging invocation before the other is asked to exit.
    let waited = Instant::now();
    let held = loop {
        let taken = emulator.recorder().invocations().into_iter().find(|r| r.runtime.taken_at.is_some());
        if let Some(record) = taken {
            break record.request_id;
        }
        assert!(waited.elapsed() < WAIT, "no process took the hanging invocation");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exited = invoke(&emulator, "exit").await;
    assert_eq!(exited.status(), 200, "the exiting process answered first");
    eventually("the exit was never noticed", || supervisor.exits() > 0).await;
    // The other process's invocation ends at its own deadline, not with the exit.
    let answer = json(hanging.await.unwrap()).await;
    assert_eq!(answer["errorType"], error_types::SANDBOX_TIMEOUT, "{answer}");
    let record = emulator.recorder().invocation(&held).unwrap();
    assert_eq!(record.error().unwrap().error_type, error_types::SANDBOX_TIMEOUT, "{record:?}");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn work_after_the_response_is_cut_at_the_deadline_as_on_lambda() {
    // `linger` answers at once, then works three seconds more; the timeout is one second.
    let function = FunctionConfig::new("lingers").timeout(Duration::from_secs(1));
    let emulator = builder("lingers").function(function).build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let response = invoke(&emulator, "linger").await;
    assert!(response.headers().get(names::AMZ_FUNCTION_ERROR).is_none(), "the caller got its whole answer");
    let lingering_pid = json(response).await["pid"].as_u64().unwrap();
    // The deadline still runs after the response: the process is stopped and replaced. (A request
    // sent now would wait in the queue behind the lingering process and time out there: with one
    // process the emulator does not scale out as Lambda would.)
    eventually("no restart after the deadline", || supervisor.timeout_restarts() > 0).await;
    let after = json(invoke(&emulator, "hello").await).await;
    let after_pid = after["pid"].as_u64().unwrap_or_else(|| panic!("{after}"));
    assert_ne!(after_pid, lingering_pid, "the lingering process was replaced");
    assert_eq!(supervisor.timeout_restarts(), 1);
    assert!(!alive(lingering_pid), "the lingering process was killed");
    let lines = emulator.log().lines();
    assert!(lines.iter().any(|l| l.ends_with("Task timed out after 1.00 seconds")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("lingered")), "the work past the deadline did not finish");
    supervisor.shutdown().await;
}

/// The complement of the test above: a handler that answers and returns within its timeout is
/// left alone once the deadline passes (the deadline stops watching an invocation that has both
/// ended and returned; cargo-mutants showed nothing checked that it stops).
#[tokio::test]
async fn a_process_that_answers_and_returns_in_time_is_not_restarted_after_the_deadline() {
    let function = FunctionConfig::new("in-time").timeout(Duration::from_secs(1));
    let emulator = builder("in-time").function(function).build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let first = json(invoke(&emulator, "hello").await).await;
    let pid = first["pid"].as_u64().unwrap_or_else(|| panic!("{first}"));
    // The positive signal that the handler returned: the runtime asked for its next invocation.
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    eventually("the runtime never asked for its next invocation", || {
        emulator.recorder().invocation(&record.request_id).unwrap().runtime.returned_at.is_some()
    })
    .await;
    // Twice the timeout: a deadline still watching would have fired and restarted the process.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = json(invoke(&emulator, "hello").await).await;
    assert_eq!(second["pid"].as_u64(), Some(pid), "the same process serves on: {second}");
    assert_eq!(supervisor.timeout_restarts(), 0);
    let lines = emulator.log().lines();
    assert!(!lines.iter().any(|l| l.contains("Task timed out")), "{lines:#?}");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn a_process_dying_mid_stream_ends_its_invocation_at_once() {
    let function = FunctionConfig::new("crashes").timeout(Duration::from_secs(10));
    let emulator = builder("crashes").function(function).build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let start = Instant::now();
    let response = client()
        .post(format!("{}/", emulator.url()))
        .header("content-type", "text/plain")
        .body("crash")
        .send()
        .await
        .unwrap();
    // Whether the chunk written just before the exit is relayed before the exit is noticed is a
    // race (as on Lambda): either the head went out and the body is cut, or nothing went out.
    match response.status().as_u16() {
        200 => assert!(response.bytes().await.is_err(), "the body is cut"),
        502 => {
            let body = json(response).await;
            assert!(
                body["errorType"] == error_types::RUNTIME_EXIT_ERROR
                    || body["errorType"] == error_types::RUNTIME_TRUNCATED_RESPONSE,
                "{body}"
            );
        }
        other => panic!("unexpected status {other}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5), "not left waiting for the 10 s deadline");
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let error_type = record.error().unwrap().error_type.clone();
    assert!(
        [error_types::RUNTIME_TRUNCATED_RESPONSE, error_types::RUNTIME_EXIT_ERROR].contains(&error_type.as_str()),
        "{error_type}"
    );
    let after = invoke(&emulator, "hello").await;
    assert_eq!(after.status(), 200);
    assert!(after.headers().get(names::AMZ_FUNCTION_ERROR).is_none());
    supervisor.shutdown().await;
}

#[tokio::test]
async fn concurrency_runs_n_processes() {
    let emulator = builder("pair").build().await.unwrap();
    let config = SupervisorConfig::new(BootstrapCommand::new(bootstrap())).concurrency(2);
    let supervisor = Supervisor::start(&emulator, config).await.unwrap();
    assert_eq!(supervisor.pids().len(), 2);
    let (a, b) = tokio::join!(invoke(&emulator, "slow"), invoke(&emulator, "slow"));
    let (a, b) = (json(a).await, json(b).await);
    assert_ne!(a["pid"], b["pid"], "two processes answered");
    // In parallel, not one after the other: each invocation was taken by its process before the
    // other one's answer ended (read from the recorder, so a busy machine cannot fake or break it).
    let records = emulator.recorder().wait_for_completed(2, WAIT).await.unwrap();
    let (first, second) = (&records[0].runtime, &records[1].runtime);
    let taken = |leg: &lambda_stream_emulator::RuntimeLeg| leg.taken_at.expect("taken by a runtime");
    let ended = |leg: &lambda_stream_emulator::RuntimeLeg| leg.ended_at.expect("answer ended");
    assert!(
        taken(first) < ended(second) && taken(second) < ended(first),
        "the invocations did not overlap: {first:?} / {second:?}"
    );
    supervisor.shutdown().await;
}

#[tokio::test]
async fn output_is_captured_for_the_log_tail() {
    let emulator = builder("logs").build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let url = format!("{}/2021-11-15/functions/logs/response-streaming-invocations", emulator.url());
    let response = client().post(url).header("X-Amz-Log-Type", "Tail").body("\"hi\"").send().await.unwrap();
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&response.bytes().await.unwrap());
    let mut complete = None;
    while let Some(event) = decoder.next_event().unwrap() {
        if let InvokeEvent::InvokeComplete(done) = event {
            complete = Some(done);
        }
    }
    let log_result = complete.expect("InvokeComplete").log_result.expect("LogResult");
    let tail = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(log_result).unwrap()).unwrap();
    let pid = supervisor.pids()[0];
    assert!(tail.contains(&format!("bootstrap pid {pid} handling")), "stdout captured: {tail}");
    assert!(tail.contains("event: \"hi\""), "stderr captured: {tail}");
    assert!(tail.contains("START RequestId:") && tail.contains("END RequestId:"), "{tail}");
    assert!(emulator.log().lines().iter().any(|l| l.starts_with("bootstrap pid")));
    supervisor.shutdown().await;
}

/// The log tail is cut when the runtime asks for its next invocation and its output is in, not
/// after a pause: a line printed 400 ms after the answer ended (a 50 ms settle pause missed it)
/// is in the tail.
#[tokio::test]
async fn the_log_tail_holds_what_the_function_printed_after_its_answer() {
    let emulator = builder("late").build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let url = format!("{}/2015-03-31/functions/late/invocations", emulator.url());
    // Twice: the second invocation is the process's second poll, and its tail too waits for the
    // process to ask for the next one.
    for call in 1..=2 {
        let response = client().post(&url).header("X-Amz-Log-Type", "Tail").body("\"late-log\"").send().await.unwrap();
        assert_eq!(response.status(), 200);
        let log_result = response.headers()[names::AMZ_LOG_RESULT].to_str().unwrap().to_owned();
        let tail = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(log_result).unwrap()).unwrap();
        let late = lambda_stream_fixtures::bootstrap::handlers::LATE_LOG_LINE;
        assert_eq!(tail.matches(late).count(), 1, "call {call}: its own late line, once: {tail}");
        assert!(!tail.contains("lambda-stream-emulator log sync"), "the sync mark is not logged: {tail}");
    }
    supervisor.shutdown().await;
}

/// That wait ends when the process asks again, not at its 2 s cap (`LOG_SETTLE_MAX`): a
/// function that returns at once has its tail at once. (The fastest of three calls, so that one
/// slow moment on a busy machine cannot fail it; each would take over 2 s if the cap were waited.)
#[tokio::test]
async fn the_log_tail_comes_as_soon_as_the_process_asks_again() {
    let emulator = builder("prompt").build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let url = format!("{}/2015-03-31/functions/prompt/invocations", emulator.url());
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let response = client().post(&url).header("X-Amz-Log-Type", "Tail").body("\"hi\"").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key(names::AMZ_LOG_RESULT));
        fastest = fastest.min(started.elapsed());
    }
    assert!(
        fastest < Duration::from_millis(1500),
        "the fastest of three took {fastest:?}: the tail waited out its cap"
    );
    supervisor.shutdown().await;
}

/// The same after a restart: the new process's polls and output are what its tail waits for, not
/// those of the process it replaced.
#[tokio::test]
async fn the_log_tail_of_a_restarted_process_holds_what_it_printed_after_its_answer() {
    let emulator = builder("late-again").build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let url = format!("{}/2015-03-31/functions/late-again/invocations", emulator.url());
    // `exit` answers, then the process exits and is started again.
    let exited = client().post(&url).body("\"exit\"").send().await.unwrap();
    assert_eq!(exited.status(), 200);
    eventually("the process was not started again", || supervisor.spawned() >= 2).await;
    let response = client().post(&url).header("X-Amz-Log-Type", "Tail").body("\"late-log\"").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let log_result = response.headers()[names::AMZ_LOG_RESULT].to_str().unwrap().to_owned();
    let tail = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(log_result).unwrap()).unwrap();
    let late = lambda_stream_fixtures::bootstrap::handlers::LATE_LOG_LINE;
    assert_eq!(tail.matches(late).count(), 1, "the restarted process's late line, once: {tail}");
    supervisor.shutdown().await;
}

/// A supervisor dropped without `shutdown` (a panicking caller, an early return) still takes its
/// processes with it.
#[tokio::test]
async fn dropping_a_supervisor_kills_its_processes() {
    let emulator = builder("dropped").build().await.unwrap();
    let supervisor =
        Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bootstrap()))).await.unwrap();
    let pid = json(invoke(&emulator, "hello").await).await["pid"].as_u64().unwrap();
    assert!(alive(pid));
    drop(supervisor);
    eventually("the process outlived its supervisor", || !alive(pid)).await;
}

#[tokio::test]
async fn emulate_starts_everything_in_one_call_and_shutdown_kills_the_children() {
    let emulation = emulate(EmulateOptions::new(bootstrap())).await.unwrap();
    assert_eq!(
        emulation.emulator.function().name,
        lambda_stream_fixtures::BOOTSTRAP_NAME,
        "named after the bootstrap file"
    );
    assert_eq!(emulation.listening_line(), format!("listening on http://{}", emulation.local_addr()));
    assert_eq!(emulation.api_gateway_line(), None, "no API Gateway was asked for");
    assert!(emulation.local_addr().ip().is_loopback() && emulation.local_addr().port() != 0);
    let answer = json(invoke(&emulation.emulator, "hello").await).await;
    let pid = answer["pid"].as_u64().unwrap();
    assert!(alive(pid));
    emulation.shutdown().await;
    assert!(!alive(pid), "shutdown killed and reaped the bootstrap");
}

#[tokio::test]
async fn emulate_with_api_gateway_prints_its_stage_url_on_a_second_line() {
    let mut options = EmulateOptions::new(bootstrap());
    options.api_gateway = Some(lambda_stream_emulator::ApiGatewayConfig::new("beta"));
    let emulation = emulate(options).await.unwrap();
    let url = emulation.emulator.api_gateway_url().expect("an API Gateway listener");
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/beta"), "{url}");
    assert_eq!(emulation.api_gateway_line(), Some(format!("api gateway on {url}")));
    emulation.shutdown().await;
}
