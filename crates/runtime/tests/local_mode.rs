//! Local mode: without a Runtime API, the function serves itself through the embedded emulator,
//! as the Swift runtime's local server does, and streams each write as it happens.
#![cfg(all(feature = "local", debug_assertions))]

use std::time::{Duration, Instant};

use lambda_stream::local::{LocalOptions, LocalServer};
use lambda_stream::{BoxError, Config, LambdaContext, Prelude, ResponseStreamWriter, handler_fn};
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, env};
use tokio::sync::oneshot;

fn options() -> LocalOptions {
    LocalOptions { port: 0, ..LocalOptions::default() }
}

/// Writes a status and header, then "first", pauses 400 ms, then "second".
fn pausing_handler() -> impl lambda_stream::StreamingHandler {
    handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(201).header("x-local", "yes")).await?;
        writer.write("first\n").await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        writer.write("second\n").await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    })
}

#[tokio::test]
async fn invoke_streams_each_write_with_the_prelude_applied() {
    let server = LocalServer::start(&options(), "local-test").await.unwrap();
    let invoke_url = server.invoke_url();
    assert!(server.curl_hint().contains(&format!("curl -N -X POST {invoke_url}")), "{}", server.curl_hint());
    let (stop, stopped) = oneshot::channel::<()>();

    let client = async move {
        let http = reqwest::Client::new();
        let sent = Instant::now();
        let mut response = http.post(&invoke_url).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["x-local"], "yes");
        let mut arrivals = Vec::new();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            arrivals.push(sent.elapsed());
            body.extend_from_slice(&chunk);
        }
        assert_eq!(body, b"first\nsecond\n");
        // Not buffered: the first bytes came well before the handler's 400 ms pause ended (half of it
        // is the bound: a buffered body gives ~0, a loaded machine may delay the first chunk).
        let (first, last) = (arrivals[0], *arrivals.last().unwrap());
        assert!(last - first >= Duration::from_millis(200), "first at {first:?}, last at {last:?}");

        // Other methods on the Swift endpoint are refused, as in SWIFT Lambda+LocalServer.swift.
        let get = http.get(&invoke_url).send().await.unwrap();
        assert_eq!(get.status(), 405);
        let _ = stop.send(());
    };
    let serve = server.serve(pausing_handler(), Config::new("local-test"), async {
        let _ = stopped.await;
    });
    let (result, ()) = tokio::join!(serve, client);
    result.unwrap();
}

#[tokio::test]
async fn every_front_end_answers_in_local_mode() {
    let server = LocalServer::start(&options(), "local-fe").await.unwrap();
    let base = server.url();
    let (stop, stopped) = oneshot::channel::<()>();

    let client = async move {
        let http = reqwest::Client::new();
        // A function URL path: the prelude becomes the status line and headers.
        let url = http.get(format!("{base}/any/path?x=1")).send().await.unwrap();
        assert_eq!(url.status(), 201);
        assert_eq!(url.text().await.unwrap(), "first\nsecond\n");

        // InvokeWithResponseStream: event-stream frames, the prelude bytes unstripped in them.
        let iwrs = http
            .post(format!("{base}/2021-11-15/functions/local-fe/response-streaming-invocations"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(iwrs.status(), 200);
        let wire = iwrs.bytes().await.unwrap();
        let mut decoder = EventStreamDecoder::new();
        decoder.push(&wire);
        let mut payload = Vec::new();
        let mut completed = false;
        while let Some(event) = decoder.next_event().unwrap() {
            match event {
                InvokeEvent::PayloadChunk(bytes) => payload.extend_from_slice(&bytes),
                InvokeEvent::InvokeComplete(done) => {
                    assert_eq!(done.error_code, None);
                    completed = true;
                }
            }
        }
        decoder.finish().unwrap();
        assert!(completed, "no InvokeComplete frame");
        let mut expected = Prelude::with_status(201).header("x-local", "yes").encode().to_vec();
        expected.extend_from_slice(b"first\nsecond\n");
        assert_eq!(payload, expected);
        let _ = stop.send(());
    };
    let serve = server.serve(pausing_handler(), Config::default(), async {
        let _ = stopped.await;
    });
    let (result, ()) = tokio::join!(serve, client);
    result.unwrap();
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let options = LocalOptions { port: taken.local_addr().unwrap().port(), ..LocalOptions::default() };
    let err = LocalServer::start(&options, "f").await.unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("local mode could not start: could not serve on 127.0.0.1:"), "{message}");
    assert!(message.contains(&format!("set {}", env::LOCAL_PORT)), "{message}");
}

/// Serves one `/invoke` whose handler answers with the function name its context carries.
async fn function_name_seen(emulator_function: &str, config: Config) -> String {
    let server = LocalServer::start(&options(), emulator_function).await.unwrap();
    let invoke_url = server.invoke_url();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, ctx: LambdaContext| {
        writer.write_and_finish(ctx.config.function_name.clone()).await?;
        Ok::<(), BoxError>(())
    });
    let client = async move {
        let body = reqwest::Client::new().post(&invoke_url).body("{}").send().await.unwrap().text().await.unwrap();
        let _ = stop.send(());
        body
    };
    let serve = server.serve(handler, config, async {
        let _ = stopped.await;
    });
    let (result, body) = tokio::join!(serve, client);
    result.unwrap();
    body
}

#[tokio::test]
async fn the_context_names_the_function_given_or_else_the_emulators() {
    assert_eq!(function_name_seen("from-emulator", Config::default()).await, "from-emulator");
    assert_eq!(function_name_seen("from-emulator", Config::new("given")).await, "given");
}
