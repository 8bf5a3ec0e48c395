//! The Swift runtime's `SendNumbersWithPause` example in Rust: ten numbers, one per chunk, with a
//! pause between them, so `curl --no-buffer` shows them arriving one by one.
//!
//! Run it where `AWS_LAMBDA_RUNTIME_API` points at a Runtime API (Lambda, or an emulator).

use std::time::Duration;

use lambda_stream::{BoxError, LambdaContext, ResponseStreamWriter, handler_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_stream::Error> {
    lambda_stream::run(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        for i in 1..=10 {
            writer.write(format!("{i}\n")).await?;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        writer.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .await
}
