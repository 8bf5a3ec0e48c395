//! Run under the emulator: `cargo run -p lambda-stream-cli -- emulate -- target/debug/official-send-numbers`.
//!
//! The `send-numbers` example on the official `lambda_runtime` crate ([`peer_official::send_numbers`]).
//! Like every program on that runtime it needs the Lambda environment (`AWS_LAMBDA_RUNTIME_API`,
//! `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_VERSION`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`)
//! and panics without it (`lambda_runtime` `src/lib.rs`, `Config::from_env`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // As the official runtime's own streaming example sets up logging (RUST
    // `examples/basic-streaming-response/src/main.rs`: "required to enable CloudWatch error logging
    // by the runtime"), so the bootstrap compared with ours carries a logger as ours does.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_target(false)
        .without_time()
        .init();
    lambda_runtime::run(lambda_runtime::service_fn(peer_official::send_numbers)).await
}
