//! `conformance-bootstrap <handler>`: lambda-stream serving `send-numbers`, `conditional-streaming`
//! (the example handlers, as their own binaries do) or `probe` ([`lambda_stream_conformance::probe`]).
//! The tests use it as "our runtime" because cargo builds it with this crate's tests; external
//! emulators (cargo-lambda) run it to reach the probe.

use example_conditional_streaming::ConditionalStreaming;
use example_send_numbers::SendNumbers;
use lambda_stream_conformance::probe::Probe;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handler = std::env::args().nth(1).unwrap_or_default();
    match handler.as_str() {
        "send-numbers" => lambda_stream::run(SendNumbers).await?,
        "conditional-streaming" => lambda_stream::run(ConditionalStreaming).await?,
        "probe" => lambda_stream::run(Probe).await?,
        other => {
            return Err(format!("unknown handler {other:?}: give send-numbers, conditional-streaming or probe").into());
        }
    }
    Ok(())
}
