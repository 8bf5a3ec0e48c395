//! Typed events end to end in local mode: the same handler gets its type from the raw `/invoke`
//! body and from the body of the function URL request the emulator builds, with the request
//! itself (as `aws_lambda_events` types it) in the second case; a body that does not decode is a
//! 400 before the handler runs.
#![cfg(all(feature = "local", feature = "json", debug_assertions))]

use lambda_stream::local::{LocalOptions, LocalServer};
use lambda_stream::{
    BoxError, Config, HttpRequest, JsonEvent, LambdaContext, ResponseStreamWriter, json_handler_fn,
    json_request_handler_fn,
};
use tokio::sync::oneshot;

#[derive(Debug, serde::Deserialize)]
struct Order {
    count: u32,
}

#[tokio::test]
async fn one_handler_reads_raw_and_function_url_events_and_refuses_what_does_not_decode() {
    let server = LocalServer::start(&LocalOptions { port: 0, ..LocalOptions::default() }, "typed").await.unwrap();
    let (base, invoke) = (server.url(), server.invoke_url());
    let handler = json_request_handler_fn(
        async |event: JsonEvent<Order>, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
            let from = match &event.request {
                None => "raw".to_owned(),
                Some(HttpRequest::FunctionUrl(request)) => format!(
                    "url {} {} {}",
                    request.raw_path.as_deref().unwrap_or(""),
                    request.raw_query_string.as_deref().unwrap_or(""),
                    request.headers.get("x-caller").and_then(|v| v.to_str().ok()).unwrap_or("")
                ),
                Some(other) => format!("other {other:?}"),
            };
            writer.write_and_finish(format!("{} from {from}", event.payload.count)).await?;
            Ok::<(), BoxError>(())
        },
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let client = async move {
        let http = reqwest::Client::new();
        let raw = http.post(&invoke).body(r#"{"count": 1}"#).send().await.unwrap();
        let raw = (raw.status().as_u16(), raw.text().await.unwrap());
        let url = http
            .post(format!("{base}/orders?x=1"))
            .header("x-caller", "test")
            .header("content-type", "application/json")
            .body(r#"{"count": 2}"#)
            .send()
            .await
            .unwrap();
        let url = (url.status().as_u16(), url.text().await.unwrap());
        let bad = http.post(&invoke).body(r#"{"count": -1}"#).send().await.unwrap();
        let bad = (bad.status().as_u16(), bad.text().await.unwrap());
        let _ = stop.send(());
        (raw, url, bad)
    };
    let serve = server.serve(handler, Config::default(), async {
        let _ = stopped.await;
    });
    let (result, (raw, url, bad)) = tokio::join!(serve, client);
    result.unwrap();
    assert_eq!(raw, (200, "1 from raw".to_owned()));
    assert_eq!(url, (200, "2 from url /orders x=1 test".to_owned()));
    assert_eq!(bad.0, 400, "{bad:?}");
    let error: serde_json::Value = serde_json::from_str(&bad.1).unwrap();
    assert_eq!(error["errorType"], "InvalidEvent");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("the event does not decode as Order: invalid value: integer `-1`"), "{message}");
}

#[tokio::test]
async fn a_handler_of_the_payload_alone_gets_it_raw_and_from_a_function_url_body_and_never_a_bad_one() {
    let server = LocalServer::start(&LocalOptions { port: 0, ..LocalOptions::default() }, "typed").await.unwrap();
    let (base, invoke) = (server.url(), server.invoke_url());
    let handler = json_handler_fn(async |event: Order, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_and_finish(format!("count {}", event.count)).await?;
        Ok::<(), BoxError>(())
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let client = async move {
        let http = reqwest::Client::new();
        let mut answers = Vec::new();
        for request in [
            http.post(&invoke).body(r#"{"count": 3}"#),
            http.post(format!("{base}/orders")).header("content-type", "application/json").body(r#"{"count": 4}"#),
            http.post(&invoke).body("not json"),
        ] {
            let answer = request.send().await.unwrap();
            answers.push((answer.status().as_u16(), answer.text().await.unwrap()));
        }
        let _ = stop.send(());
        answers
    };
    let serve = server.serve(handler, Config::default(), async {
        let _ = stopped.await;
    });
    let (result, answers) = tokio::join!(serve, client);
    result.unwrap();
    assert_eq!(answers[0], (200, "count 3".to_owned()));
    assert_eq!(answers[1], (200, "count 4".to_owned()));
    assert_eq!(answers[2].0, 400, "{:?}", answers[2]);
    let error: serde_json::Value = serde_json::from_str(&answers[2].1).unwrap();
    assert_eq!(error["errorType"], "InvalidEvent");
    assert!(
        error["errorMessage"].as_str().unwrap().starts_with("the event does not decode as Order: expected ident"),
        "{error}"
    );
}
