//! The probe: a handler on lambda-stream for rules the example handlers never exercise. The
//! request names the probe (`probe` query parameter of a function URL request, or
//! `{"probe": "..."}` in the body or raw event):
//!
//! | probe | what it does | rule |
//! | --- | --- | --- |
//! | `prelude-split` | writes the prelude raw, the JSON split in two, the eight NULs split 3 + 5 and sent with the first payload bytes | `url.prelude-any-split`, `apigw.prelude-any-split` |
//! | `content-length` | a prelude with `content-length: 5`, body `hello` | `url.remapped-content-length` |
//! | `no-prelude` | `Content-Type: text/csv`, two writes, no prelude | `url.no-prelude-content-type`, `apigw.invalid-metadata-500` |
//! | `event` | 200 `application/json`, the event it received as the body | `apigw.event-shape` |
//! | `multi-value-headers` | 202; `x-both` in `headers` and in `multiValueHeaders`, `x-mv` only there, a cookie | `apigw.prelude-status-headers` |
//! | `finish-twice` | writes, finishes, finishes again | `writer.finish-twice` |
//! | `write-after-finish` | writes, finishes, writes again | `writer.write-after-finish` |
//! | `headers-after-body` | writes, then sets status and headers | `writer.headers-after-body` |
//! | `return-without-finish` | writes and returns without finishing | `writer.return-without-finish` |
//! | `background` | status 200, one write, `finish()`, then one more second of work before it returns | `runtime.background-after-finish` |
//! | `echo-event` | `Content-Type: application/octet-stream`, no prelude, the event it got as the body, byte for byte | `url.event-*`, `local.invoke-raw-event` |
//! | `echo-context` | answers the invocation's context (the `/next` headers) and Lambda variables as JSON, behind a prelude (200, `application/json`): a peer that refuses a stream without one (cargo-lambda) still shows what its runtime was given | `runtime-api.*` |
//! | `small-write` | `text/plain` without a prelude, a 10-byte write, a pause of [`SMALL_WRITE_PAUSE`], the rest | `runtime.small-write-flushed`, `iwrs.small-write-flushed` |
//! | `log-tail` | prints [`LOG_TAIL_LINES`] numbered lines (about 8 KB) to stderr, then answers | `iwrs.log-tail`, `invoke.log-tail` |
//! | `echo-binary` | answers the bytes of the request body (URL) or of the event's `base64` field, as `application/octet-stream` | `*.binary-round-trip` |
//! | `prelude-no-cookies` | a prelude with only `statusCode` and `headers` (no `cookies`), JSON and delimiter in two writes | `url.prelude-keys-optional` |
//! | `no-content-type` | two writes without setting a content type | `runtime.default-content-type` |
//!
//! What each misuse returned is printed to stderr as `probe NAME: WHAT returned VARIANT (misuse:
//! true): MESSAGE` (or `returned Ok`), so a scenario reads it from the IWRS `LogResult` tail: the
//! evidence that the misuse was the typed error the rule names, not another one, Ok or a crash.

use std::time::Duration;

use base64::Engine as _;
use example_event_input::{JsonBody, Request};
use lambda_stream::{BoxError, Bytes, LambdaContext, Prelude, ResponseStreamWriter, StreamingHandler};
use lambda_stream_protocol::{env, names};

/// `small-write`: the pause after the 10-byte write. Long, so that "the first write arrived before
/// the pause ended" holds with a wide margin on a busy machine, and a runtime that holds small
/// writes back (NODE issues 94 and 102) fails it by the whole pause.
pub const SMALL_WRITE_PAUSE: Duration = Duration::from_millis(1500);
/// `small-write`: the first write, ten bytes.
pub const SMALL_WRITE_FIRST: &str = "ten bytes\n";
/// `log-tail`: lines printed; each about 80 bytes, so about 8 KB, twice Lambda's 4 KB tail.
pub const LOG_TAIL_LINES: usize = 100;

/// The Lambda variables `echo-context` reports (RT-ENV).
pub const ECHOED_VARIABLES: [&str; 4] =
    [env::FUNCTION_NAME, env::FUNCTION_VERSION, env::FUNCTION_MEMORY_SIZE, env::REGION];

/// `echo-context`'s answer: the invocation's context as the runtime read it from `/next`, and the
/// Lambda variables the process was started with.
pub fn context_json(ctx: &LambdaContext) -> serde_json::Value {
    let variables: serde_json::Map<String, serde_json::Value> = ECHOED_VARIABLES
        .iter()
        .map(|name| ((*name).to_owned(), std::env::var(name).map_or(serde_json::Value::Null, serde_json::Value::from)))
        .collect();
    serde_json::json!({
        "request_id": ctx.request_id,
        "deadline_ms": ctx.deadline_ms(),
        "invoked_function_arn": ctx.invoked_function_arn,
        "trace_id": ctx.trace_id,
        "client_context": ctx.client_context,
        "env": variables,
    })
}

/// `echo-binary`'s answer: the event's `base64` field decoded (raw events), else the function URL
/// or API Gateway request's body (decoded from base64 when it was).
pub fn binary_of(event: &[u8]) -> Result<Vec<u8>, String> {
    let request = Request::from_event(event).map_err(|e| e.to_string())?;
    if request.is_http() {
        return Ok(request.body);
    }
    match request.json_body() {
        JsonBody::Object(fields) => match fields.get("base64").and_then(|v| v.as_str()) {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| format!("\"base64\" is not standard base64: {e}")),
            None => Err("a raw event needs a \"base64\" field".into()),
        },
        _ => Err("a raw event needs a JSON object with a \"base64\" field".into()),
    }
}

/// `log-tail`'s line `n` (1-based): about 80 bytes, numbered, the first and last marked.
pub fn log_line(n: usize) -> String {
    let mark = if n == 1 {
        "first"
    } else if n == LOG_TAIL_LINES {
        "last"
    } else {
        "middle"
    };
    format!("probe log-tail line {n:03} of {LOG_TAIL_LINES} ({mark}) ........................................")
}

/// How long the `background` probe works after its response.
pub const BACKGROUND_WORK: std::time::Duration = std::time::Duration::from_millis(1000);

/// The probe handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe;

/// Which probe the event asks for.
pub fn probe_name(event: &[u8]) -> Option<String> {
    let request = Request::from_event(event).ok()?;
    if let Some(name) = request.query_param("probe") {
        return Some(name.to_owned());
    }
    match request.json_body() {
        JsonBody::Object(fields) => fields.get("probe").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

fn report(name: &str, what: &str, result: Result<(), lambda_stream::StreamError>) {
    match result {
        Ok(()) => eprintln!("probe {name}: {what} returned Ok"),
        Err(e) => {
            // The variant's name: the Debug text up to its fields.
            let variant: String = format!("{e:?}").chars().take_while(char::is_ascii_alphanumeric).collect();
            eprintln!("probe {name}: {what} returned {variant} (misuse: {}): {e}", e.is_misuse());
        }
    }
}

impl StreamingHandler for Probe {
    type Error = BoxError;

    async fn handle(
        &self,
        event: Bytes,
        writer: &mut ResponseStreamWriter,
        ctx: LambdaContext,
    ) -> Result<(), BoxError> {
        let name = probe_name(&event).unwrap_or_default();
        let head = || Prelude::with_status(200).header("content-type", "text/plain").header("x-probe", name.as_str());
        match name.as_str() {
            "prelude-split" => {
                writer.set_content_type(names::HTTP_INTEGRATION_CONTENT_TYPE)?;
                writer.write(r#"{"statusCode":201,"headers":{"x-probe":"#).await?;
                writer.write(r#""prelude-split","content-type":"text/plain"}}"#).await?;
                writer.write(&b"\0\0\0"[..]).await?;
                writer.write(&b"\0\0\0\0\0first,"[..]).await?;
                writer.write(" second").await?;
                writer.finish().await?;
            }
            "content-length" => {
                writer.write_status_and_headers(head().header("content-length", "5")).await?;
                writer.write("hello").await?;
                writer.finish().await?;
            }
            "no-prelude" => {
                writer.set_content_type("text/csv")?;
                writer.write("a,b\n").await?;
                writer.write("1,2\n").await?;
                writer.finish().await?;
            }
            "event" => {
                let head =
                    Prelude::with_status(200).header("content-type", "application/json").header("x-probe", "event");
                writer.write_status_and_headers(head).await?;
                writer.write_and_finish(event).await?;
            }
            "multi-value-headers" => {
                let mut head = Prelude::with_status(202)
                    .header("content-type", "text/plain")
                    .header("x-single", "one")
                    .header("x-both", "from-headers")
                    .cookie("c1=blue");
                head.multi_value_headers.insert("x-both".into(), vec!["m1".into(), "m2".into()]);
                head.multi_value_headers.insert("x-mv".into(), vec!["hello".into(), "world".into()]);
                writer.write_status_and_headers(head).await?;
                writer.write_and_finish("multi-value headers").await?;
            }
            "finish-twice" => {
                writer.write_status_and_headers(head()).await?;
                writer.write("finished once").await?;
                writer.finish().await?;
                report(&name, "the second finish", writer.finish().await);
            }
            "write-after-finish" => {
                writer.write_status_and_headers(head()).await?;
                writer.write("before finish").await?;
                writer.finish().await?;
                report(&name, "a write after finish", writer.write("after finish").await);
            }
            "headers-after-body" => {
                writer.write_status_and_headers(head()).await?;
                writer.write("body first").await?;
                report(
                    &name,
                    "status and headers after the body",
                    writer.write_status_and_headers(Prelude::with_status(418)).await,
                );
                writer.finish().await?;
            }
            "return-without-finish" => {
                writer.write_status_and_headers(head()).await?;
                writer.write("not finished by the handler").await?;
                eprintln!("probe {name}: returning without finish");
            }
            "background" => {
                writer.write_status_and_headers(head()).await?;
                writer.write("answered; working on after the response\n").await?;
                writer.finish().await?;
                // Work after the response (SWIFT Examples/BackgroundTasks): logging, clean-up.
                tokio::time::sleep(BACKGROUND_WORK).await;
                eprintln!("probe {name}: background work done");
            }
            "echo-event" => {
                writer.set_content_type("application/octet-stream")?;
                writer.write_and_finish(event).await?;
            }
            "echo-context" => {
                writer
                    .write_status_and_headers(Prelude::with_status(200).header("content-type", "application/json"))
                    .await?;
                writer.write(context_json(&ctx).to_string()).await?;
                writer.finish().await?;
            }
            "small-write" => {
                // No prelude: the first byte either caller sees is the first of the ten.
                writer.set_content_type("text/plain")?;
                writer.write(SMALL_WRITE_FIRST).await?;
                tokio::time::sleep(SMALL_WRITE_PAUSE).await;
                writer.write("and the rest, after the pause\n").await?;
                writer.finish().await?;
            }
            "log-tail" => {
                for n in 1..=LOG_TAIL_LINES {
                    eprintln!("{}", log_line(n));
                }
                writer.write_status_and_headers(head()).await?;
                writer.write_and_finish("logged\n").await?;
            }
            "echo-binary" => match binary_of(&event) {
                Ok(bytes) => {
                    writer.set_content_type("application/octet-stream")?;
                    writer.write(bytes).await?;
                    writer.finish().await?;
                }
                Err(why) => {
                    let bad = Prelude::with_status(400).header("content-type", "text/plain");
                    writer.write_status_and_headers(bad).await?;
                    writer.write_and_finish(format!("echo-binary: {why}\n")).await?;
                }
            },
            "prelude-no-cookies" => {
                writer.set_content_type(names::HTTP_INTEGRATION_CONTENT_TYPE)?;
                writer
                    .write(
                        r#"{"statusCode":202,"headers":{"x-probe":"prelude-no-cookies","content-type":"text/plain"}}"#,
                    )
                    .await?;
                writer.write(&[0u8; 8][..]).await?;
                writer.write("no cookies key in the prelude\n").await?;
                writer.finish().await?;
            }
            "no-content-type" => {
                writer.write("no content type ").await?;
                writer.write("was set\n").await?;
                writer.finish().await?;
            }
            other => {
                writer.write_status_and_headers(Prelude::with_status(400).header("content-type", "text/plain")).await?;
                writer.write_and_finish(format!("unknown probe {other:?}\n")).await?;
            }
        }
        Ok(())
    }
}
