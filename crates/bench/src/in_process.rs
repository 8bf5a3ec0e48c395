//! Our stack in one process: the emulator on the bench's runtime, our Runtime API loop with a
//! benchmark handler on a thread of its own (a current-thread runtime, as a small Lambda function
//! would run), talking over loopback exactly as a separate process would.

use std::time::{Duration, Instant};

use bytes::Bytes;
use lambda_stream::{BoxError, Config, LambdaContext, Prelude, ResponseStreamWriter, Runtime, StreamingHandler};
use lambda_stream_emulator::{ApiGatewayConfig, Emulator, FunctionConfig};
use tokio::sync::oneshot;

use crate::{ChunkSlot, Directive, WRITE_BYTES, is_rest_event, pattern, writes};

/// The function name the in-process setups use.
pub const FUNCTION: &str = "bench";

/// The benchmark handler: does what the event's [`Directive`] says.
#[derive(Debug, Clone)]
pub struct BenchHandler {
    chunks: ChunkSlot,
    buffer: Bytes,
}

impl BenchHandler {
    /// A handler that takes per-chunk sessions from `chunks`.
    pub fn new(chunks: ChunkSlot) -> Self {
        Self { chunks, buffer: pattern(WRITE_BYTES) }
    }
}

impl StreamingHandler for BenchHandler {
    type Error = BoxError;

    async fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        _ctx: LambdaContext,
    ) -> Result<(), BoxError> {
        if is_rest_event(&event) {
            // API Gateway takes only answers that open with status and headers.
            writer.write_status_and_headers(Prelude::with_status(200)).await?;
        }
        match Directive::from_event(&event) {
            // `write` then `finish`, not `write_and_finish`: the latter as the first call may be
            // sent as a buffered answer, and TTFB is about the streamed path.
            Some(Directive::Once(n)) => writer.write(self.buffer.slice(..n.min(WRITE_BYTES))).await?,
            Some(Directive::Bytes(total)) => {
                for len in writes(total) {
                    // `slice` shares the buffer: nothing is copied per write.
                    writer.write(self.buffer.slice(..len)).await?;
                }
            }
            Some(Directive::Chunks) => {
                let mut commands = self.chunks.lock().unwrap().take().ok_or("no chunk session is waiting")?;
                while let Some(command) = commands.recv().await {
                    writer.write(command.bytes).await?;
                    let _ = command.written.send(Instant::now());
                }
            }
            None => return Err("the event names no benchmark directive".into()),
        }
        writer.finish().await?;
        Ok(())
    }
}

/// Starts our runtime loop with [`BenchHandler`] against `endpoint` on a new thread; it serves
/// until the returned sender is used or dropped.
pub fn spawn_runtime(endpoint: String, chunks: ChunkSlot) -> (oneshot::Sender<()>, std::thread::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("lambda-stream-runtime".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async move {
                let runtime = Runtime::builder()
                    .endpoint(endpoint)
                    .config(Config::new(FUNCTION))
                    .handler(BenchHandler::new(chunks))
                    .build()
                    .expect("a valid endpoint");
                if let Err(e) = runtime
                    .run_until(async {
                        let _ = stopped.await;
                    })
                    .await
                {
                    eprintln!("bench runtime stopped: {e}");
                }
            });
        })
        .expect("a thread");
    (stop, thread)
}

/// Our emulator with our runtime loop serving [`BenchHandler`].
#[derive(Debug)]
pub struct InProcess {
    emulator: Option<Emulator>,
    chunks: ChunkSlot,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// Starts both; call inside the bench's tokio runtime.
    pub async fn start() -> Result<Self, crate::client::BoxError> {
        // A long timeout: a per-chunk session keeps one invocation open across many iterations.
        let emulator = Emulator::builder()
            .function(FunctionConfig::new(FUNCTION).timeout(Duration::from_secs(900)))
            .api_gateway(ApiGatewayConfig::new("bench"))
            .build()
            .await?;
        let chunks = ChunkSlot::default();
        let (stop, runtime) = spawn_runtime(emulator.runtime_api(), chunks.clone());
        Ok(Self { emulator: Some(emulator), chunks, stop: Some(stop), runtime: Some(runtime) })
    }

    /// The emulator's base URL (function URL front end on every path; IWRS for the SDK).
    pub fn url(&self) -> String {
        self.emulator.as_ref().map(Emulator::url).unwrap_or_default()
    }

    /// The emulator's API Gateway REST API stage URL (`http://HOST:PORT/bench`).
    pub fn api_gateway_url(&self) -> String {
        self.emulator.as_ref().and_then(Emulator::api_gateway_url).unwrap_or_default()
    }

    /// Where a per-chunk session's receiver goes before the `/chunks` request is sent.
    pub fn chunk_slot(&self) -> ChunkSlot {
        self.chunks.clone()
    }

    /// Stops the runtime loop, then the emulator.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(emulator) = self.emulator.take() {
            emulator.shutdown().await;
        }
        if let Some(runtime) = self.runtime.take() {
            let _ = tokio::task::spawn_blocking(move || runtime.join()).await;
        }
    }
}
