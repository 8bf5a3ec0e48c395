//! Run with `cargo run -p example-conditional-streaming`, then `curl -N -X POST http://127.0.0.1:7000/invoke -d '{"scenario":"ok"}'`.
//!
//! The `conditional-streaming` binary: the [`example_conditional_streaming::ConditionalStreaming`] handler on the
//! lambda-stream runtime. Under Lambda (or `lambda-stream emulate`) it serves the Runtime API named
//! by `AWS_LAMBDA_RUNTIME_API`; see the crate's README for every way to call it.

use example_conditional_streaming::ConditionalStreaming;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_stream::Error> {
    // Logs go to stderr, where Lambda (and the emulator) collect them, at the level Lambda's
    // logging configuration sets (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`'s, else INFO.
    tracing_subscriber::fmt()
        .with_max_level(lambda_stream::Config::from_env().log_level)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: CloudWatch and the emulator's log would show them raw.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    lambda_stream::run(ConditionalStreaming).await
}
