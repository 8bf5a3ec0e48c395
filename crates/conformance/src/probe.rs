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
//! | `echo-event` | `Content-Type: application/octet-stream`, no prelude, the event it got as the body | `local.invoke-raw-event` |
//!
//! What each misuse returned is printed to stderr as `probe NAME: WHAT returned VARIANT (misuse:
//! true): MESSAGE` (or `returned Ok`), so a scenario reads it from the IWRS `LogResult` tail: the
//! evidence that the misuse was the typed error the rule names, not another one, Ok or a crash.

use example_event_input::{JsonBody, Request};
use lambda_stream::{BoxError, Bytes, LambdaContext, Prelude, ResponseStreamWriter, StreamingHandler};
use lambda_stream_protocol::names;

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
        _ctx: LambdaContext,
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
            other => {
                writer.write_status_and_headers(Prelude::with_status(400).header("content-type", "text/plain")).await?;
                writer.write_and_finish(format!("unknown probe {other:?}\n")).await?;
            }
        }
        Ok(())
    }
}
