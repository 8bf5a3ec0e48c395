//! Shared set-up for the emulator's end-to-end tests: an emulator on 127.0.0.1 port 0 and a
//! scripted runtime joined to it.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file compiles this module on its own and uses only part of it"
)]

use std::time::Duration;

use lambda_stream_emulator::{Emulator, EmulatorBuilder, FunctionConfig};
use lambda_stream_test_support::scripted_runtime::{ScriptedRuntime, Step};

/// Generous bound for anything that should happen "soon".
pub const WAIT: Duration = Duration::from_secs(20);

pub fn builder(name: &str) -> EmulatorBuilder {
    Emulator::builder().function(FunctionConfig::new(name)).bind("127.0.0.1:0")
}

pub async fn start(name: &str) -> Emulator {
    builder(name).build().await.expect("emulator starts")
}

pub fn runtime(emulator: &Emulator) -> ScriptedRuntime {
    ScriptedRuntime::new(emulator.runtime_api_addr())
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("reqwest client")
}

/// A complete, ordinary invocation through the function URL front end: proves the emulator is
/// still serving after whatever the test did before.
pub async fn assert_healthy(emulator: &Emulator) {
    let runtime = runtime(emulator);
    let served = runtime.spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("still "),
        Step::chunk("serving"),
        Step::End,
    ]]);
    let response = client().get(format!("{}/health", emulator.url())).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "still serving");
    let served = served.await.unwrap().expect("runtime script");
    assert_eq!(served[0].1.as_ref().map(|a| a.status), Some(202));
}
