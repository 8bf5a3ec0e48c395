//! `conformance-bootstrap <handler>`: lambda-stream serving `send-numbers`, `conditional-streaming`
//! (the example handlers, as their own binaries do) or `probe` ([`lambda_stream_conformance::probe`]).
//! The tests use it as "our runtime" because cargo builds it with this crate's tests; external
//! emulators (cargo-lambda) run it to reach the probe. Without an argument the handler is read
//! from `_HANDLER`, the function's `Handler` setting, which Lambda hands every runtime (RT-ENV):
//! so one zip serves all three functions of the conformance stack
//! (`templates/conformance.json`), each with its own `Handler`.

use example_conditional_streaming::ConditionalStreaming;
use example_send_numbers::SendNumbers;
use lambda_stream_conformance::probe::Probe;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handler = std::env::args()
        .nth(1)
        .or_else(|| std::env::var(lambda_stream_protocol::env::HANDLER).ok())
        .unwrap_or_default();
    match handler.as_str() {
        "send-numbers" => lambda_stream::run(SendNumbers).await?,
        "conditional-streaming" => lambda_stream::run(ConditionalStreaming).await?,
        "probe" => lambda_stream::run(Probe).await?,
        other => {
            return Err(format!("unknown handler {other:?}: give send-numbers, conditional-streaming or probe (as the argument or _HANDLER)").into());
        }
    }
    Ok(())
}
