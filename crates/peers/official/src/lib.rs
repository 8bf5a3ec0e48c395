//! # peer-official
//!
//! The two example functions, `send-numbers` and `conditional-streaming`, written on the official
//! Rust runtime (`lambda_runtime` on crates.io, awslabs/aws-lambda-rust-runtime) with its
//! streaming API (`lambda_runtime::streaming::{channel, Body}` and [`StreamResponse`] with its
//! `metadata_prelude`), so the conformance suite and the benchmarks can put it beside lambda-stream.
//! `crates/peers/README.md` lists what this runtime cannot express, with sources.
//!
//! They read requests and build answers from the same values as our examples
//! ([`example_send_numbers`], [`example_conditional_streaming::scenario`]); only the runtime differs.
//!
//! ## Parts
//! - [`send_numbers`]: the Swift `SendNumbersWithPause` handler (bin `official-send-numbers`).
//! - [`conditional_streaming`]: the scenario handler (bin `official-conditional-streaming`).
//! - [`metadata_prelude`]: our examples' status/headers/cookies as the official `MetadataPrelude`.

use bytes::Bytes;
use example_conditional_streaming::scenario::{
    self, CHUNK_PAUSE, Decision, FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, HEARTBEAT_EVERY_STEPS, Head, MB,
    MID_STREAM_CHUNKS, OK_CHUNKS, SLOW_FIRST_CHUNK, SLOW_STEP, SLOW_TOTAL, Scenario,
};
use example_send_numbers::{Options, line};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use lambda_runtime::streaming::{Body, Sender, channel};
use lambda_runtime::{Diagnostic, LambdaEvent, MetadataPrelude, StreamResponse};
use serde_json::Value;

/// Our examples' head as the official runtime's prelude. Headers a `HeaderMap` cannot carry are
/// left out (ours are all valid).
pub fn metadata_prelude(head: &Head) -> MetadataPrelude {
    let mut headers = HeaderMap::new();
    for (name, value) in &head.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    }
    MetadataPrelude {
        status_code: StatusCode::from_u16(head.status).unwrap_or(StatusCode::OK),
        headers,
        cookies: head.cookies.clone(),
    }
}

/// The event back as bytes. The official runtime hands the handler a deserialised payload (it
/// parses every event as JSON before the handler runs, `src/deserializer.rs`), so the peers take
/// `serde_json::Value` and give our shared readers its JSON text.
fn event_bytes(payload: &Value) -> Vec<u8> {
    serde_json::to_vec(payload).unwrap_or_default()
}

fn diagnostic(error_type: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic { error_type: error_type.to_owned(), error_message: message.into() }
}

/// Sends `chunk`; `false` when the runtime stopped reading (the stream was cut).
async fn send(tx: &mut Sender, chunk: impl Into<Bytes>) -> bool {
    tx.send_data(chunk.into()).await.is_ok()
}

/// send-numbers: the Swift example's prelude, then `Number: n\n` with the pause between them.
pub async fn send_numbers(event: LambdaEvent<Value>) -> Result<StreamResponse<Body>, Diagnostic> {
    let options = Options::from_event(&event_bytes(&event.payload));
    let head = example_send_numbers::prelude();
    let head = Head { status: head.status(), headers: head.headers.into_iter().collect(), cookies: head.cookies };
    let (mut tx, rx) = channel();
    // The official API streams from a task that feeds the body while the handler has returned.
    tokio::spawn(async move {
        for n in 1..=options.count {
            if n > 1 {
                tokio::time::sleep(options.pause).await;
            }
            if !send(&mut tx, line(n)).await {
                return;
            }
        }
    });
    Ok(StreamResponse { metadata_prelude: metadata_prelude(&head), stream: rx })
}

/// conditional-streaming: the answer [`scenario::decide`] picks, as far as this runtime can give it.
pub async fn conditional_streaming(event: LambdaEvent<Value>) -> Result<StreamResponse<Body>, Diagnostic> {
    let decision = scenario::decide(&event_bytes(&event.payload));
    if let Some(answer) = decision.json_answer() {
        let (mut tx, rx) = channel();
        tokio::spawn(async move {
            send(&mut tx, answer.body).await;
        });
        return Ok(StreamResponse { metadata_prelude: metadata_prelude(&answer.head), stream: rx });
    }
    let Decision::Run(scenario) = decision else {
        return Err(diagnostic("Function.InternalError", "a decision without an answer"));
    };
    let Some(head) = scenario.head() else {
        // fail-before-first-byte: an error returned by the handler goes to `/error`.
        return Err(diagnostic(FAILURE_TYPE, FAIL_BEFORE_MESSAGE));
    };
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        match scenario {
            Scenario::Ok => {
                for (i, chunk) in OK_CHUNKS.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(CHUNK_PAUSE).await;
                    }
                    if !send(&mut tx, *chunk).await {
                        return;
                    }
                }
            }
            Scenario::FailMidStream => {
                for chunk in MID_STREAM_CHUNKS {
                    if !send(&mut tx, chunk).await {
                        return;
                    }
                    tokio::time::sleep(CHUNK_PAUSE).await;
                }
                // The only way to fail a started stream in this API: an error item in the body
                // stream. The runtime turns it into body text, not trailers (README).
                tx.send_error(lambda_runtime_api_client::Error::new(format!("{FAILURE_TYPE}: {FAIL_MID_MESSAGE}")));
            }
            Scenario::Slow => {
                if !send(&mut tx, SLOW_FIRST_CHUNK).await {
                    return;
                }
                let steps = (SLOW_TOTAL.as_millis() / SLOW_STEP.as_millis()) as u32;
                for step in 1..=steps {
                    tokio::time::sleep(SLOW_STEP).await;
                    if step % HEARTBEAT_EVERY_STEPS == 0
                        && !send(&mut tx, scenario::heartbeat(step / HEARTBEAT_EVERY_STEPS)).await
                    {
                        return;
                    }
                }
            }
            Scenario::Large { size_mb } => {
                let buffer = scenario::large_buffer();
                for len in scenario::large_writes(u64::from(size_mb) * MB) {
                    if !send(&mut tx, buffer.slice(..len)).await {
                        return;
                    }
                }
            }
            // Empty and redirect: dropping the sender ends the body after the prelude. The JSON scenarios and
            // fail-before-first-byte were answered above.
            _ => {}
        }
    });
    Ok(StreamResponse { metadata_prelude: metadata_prelude(&head), stream: rx })
}
