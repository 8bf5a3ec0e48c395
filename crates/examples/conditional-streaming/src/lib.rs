//! Run with `cargo run -p example-conditional-streaming`, then
//! `curl -N -X POST http://127.0.0.1:7000/invoke -d '{"scenario":"fail-mid-stream"}'`.
//!
//! # example-conditional-streaming
//!
//! A streaming function whose answer the caller picks, one scenario per case a streaming client,
//! runtime or emulator must get right: the query parameter `scenario` of a function URL or API
//! Gateway request, or `{"scenario": "..."}` in the body (function URL, API Gateway) or the raw
//! event (InvokeWithResponseStream, `/invoke`). The README has the table of what each scenario answers on each path.
//!
//! | scenario | answer |
//! | --- | --- |
//! | `ok` (default) | 200, five chunks 300 ms apart, a cookie |
//! | `bad-request`, `unauthorized`, `not-found`, `server-error` | 400, 401, 404, 500 with a JSON body |
//! | `fail-before-first-byte` | an error before any byte (`POST /error`), type `Function.ScenarioFailure` |
//! | `fail-mid-stream` | 200, two chunks, then an error (HTTP trailers) |
//! | `slow` | 200, a chunk, then a heartbeat every 5 s for 16 minutes: outlives any timeout |
//! | `large` | 200, `size_mb` MB (default 10, at most 200) in 64 KiB writes of one reused buffer |
//! | `empty` | 204 and headers, no body |
//! | `redirect` | 302 to `?scenario=ok` (a `location` header), no body |
//! | unknown name | 400 listing the known ones; an unreadable request is a `bad-request` |
//!
//! ## Parts
//! - [`scenario`]: reading the request ([`scenario::decide`]) and what each answer is made of,
//!   independent of the runtime (the peer on the official runtime answers from the same values).
//! - [`ConditionalStreaming`]: the handler on lambda-stream. `src/main.rs` hands it to
//!   [`lambda_stream::run`].

pub mod scenario;

use lambda_stream::{BoxError, Bytes, FunctionError, LambdaContext, ResponseStreamWriter, StreamingHandler};

use crate::scenario::{
    CHUNK_PAUSE, Decision, FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, HEARTBEAT_EVERY_STEPS, MB,
    MID_STREAM_CHUNKS, OK_CHUNKS, SLOW_FIRST_CHUNK, SLOW_STEP, SLOW_TOTAL, Scenario, heartbeat, large_buffer,
    large_writes,
};

/// The handler: answers as [`scenario::decide`] reads the event.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionalStreaming;

impl StreamingHandler for ConditionalStreaming {
    type Error = BoxError;

    async fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        _ctx: LambdaContext,
    ) -> Result<(), BoxError> {
        let decision = scenario::decide(&event);
        if let Some(answer) = decision.json_answer() {
            writer.write_status_and_headers(answer.head.prelude()).await?;
            writer.write_and_finish(answer.body).await?;
            return Ok(());
        }
        let Decision::Run(scenario) = decision else {
            // Every decision that is not a scenario has a JSON answer (handled above).
            return Err(FunctionError::new("Function.InternalError", "a decision without an answer").into());
        };
        // Every scenario but fail-before-first-byte has a head; that one fails here, before any byte.
        let Some(head) = scenario.head() else {
            return Err(FunctionError::new(FAILURE_TYPE, FAIL_BEFORE_MESSAGE).into());
        };
        writer.write_status_and_headers(head.prelude()).await?;
        match scenario {
            Scenario::Ok => {
                for (i, chunk) in OK_CHUNKS.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(CHUNK_PAUSE).await;
                    }
                    writer.write(*chunk).await?;
                }
                writer.finish().await?;
            }
            Scenario::FailMidStream => {
                for chunk in MID_STREAM_CHUNKS {
                    writer.write(chunk).await?;
                    tokio::time::sleep(CHUNK_PAUSE).await;
                }
                // Returning the error after body bytes went out: the runtime reports it in trailers.
                return Err(FunctionError::new(FAILURE_TYPE, FAIL_MID_MESSAGE).into());
            }
            Scenario::Slow => {
                writer.write(SLOW_FIRST_CHUNK).await?;
                let steps = (SLOW_TOTAL.as_millis() / SLOW_STEP.as_millis()) as u32;
                for step in 1..=steps {
                    tokio::time::sleep(SLOW_STEP).await;
                    if step % HEARTBEAT_EVERY_STEPS == 0 {
                        // After the deadline the stream is cut; this write then fails and ends us.
                        writer.write(heartbeat(step / HEARTBEAT_EVERY_STEPS)).await?;
                    }
                }
                writer.write_and_finish("slow: done (no timeout cut this short)\n").await?;
            }
            Scenario::Large { size_mb } => {
                let buffer = large_buffer();
                for len in large_writes(u64::from(size_mb) * MB) {
                    // `slice` shares the buffer: nothing is copied, memory stays at one buffer.
                    writer.write(buffer.slice(..len)).await?;
                }
                writer.finish().await?;
            }
            Scenario::Empty | Scenario::Redirect => writer.finish().await?,
            Scenario::FailBeforeFirstByte
            | Scenario::BadRequest
            | Scenario::Unauthorized
            | Scenario::NotFound
            | Scenario::ServerError => {
                // Answered above (no head, or a JSON answer); kept here so the match stays exhaustive.
                writer.finish().await?;
            }
        }
        Ok(())
    }
}
