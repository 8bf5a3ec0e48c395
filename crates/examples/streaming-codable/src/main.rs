//! Run with `cargo run -p example-streaming-codable`, then
//! `curl -N http://127.0.0.1:7000/invoke -d '{"count": 3, "message": "Hello World!", "delayMs": 1000}'`.
//!
//! The `streaming-codable` binary: [`example_streaming_codable::handler`] on the lambda-stream
//! runtime. Under Lambda (or `lambda-stream emulate`) it serves the Runtime API named by
//! `AWS_LAMBDA_RUNTIME_API`; the crate's README lists every way to call it.

#[tokio::main]
async fn main() -> Result<(), lambda_stream::Error> {
    // Logs go to stderr, where Lambda (and the emulator) collect them. `RUST_LOG` picks the level.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    lambda_stream::run(example_streaming_codable::handler()).await
}
