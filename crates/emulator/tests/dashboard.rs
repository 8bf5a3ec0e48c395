//! The live dashboard on a listener of its own: its event stream announces an invocation as it
//! happens (no polling by the test either: it reads the stream), its API shows the event, the
//! prelude, the trailers and the timeline of both legs, what it keeps is bounded, and it refuses
//! what it should.

mod common;

use std::time::Duration;

use common::{WAIT, client, runtime};
use futures_util::StreamExt as _;
use lambda_stream_emulator::{Emulator, FunctionConfig};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names};
use serde_json::Value;

async fn with_dashboard(history: usize, excerpt: usize) -> Emulator {
    Emulator::builder()
        .function(FunctionConfig::new("watched"))
        .history(history)
        .excerpt_bytes(excerpt)
        .dashboard("127.0.0.1:0")
        .build()
        .await
        .unwrap()
}

fn dashboard(emulator: &Emulator) -> String {
    emulator.dashboard_url().expect("a dashboard was asked for")
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

async fn get_json(url: &str) -> Value {
    let response = get(url).await;
    assert_eq!(response.status(), 200, "{url}");
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Reads server-sent events as they arrive.
struct Events {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Events {
    async fn open(base: &str) -> Self {
        let response = get(&format!("{base}events")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { stream: response.bytes_stream().boxed(), buffer: String::new() }
    }

    /// The next event: its name and data.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = None;
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_owned();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(d).unwrap());
                    }
                }
                if let Some(data) = data {
                    return (name, data);
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(WAIT, self.stream.next()).await.expect("an event in time");
            self.buffer.push_str(std::str::from_utf8(&chunk.expect("stream open").unwrap()).unwrap());
        }
    }

    /// Waits for an `invocation` event that `accept`s.
    async fn until(&mut self, accept: impl Fn(&Value) -> bool) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "invocation" && accept(&data) {
                return data;
            }
        }
    }
}

#[tokio::test]
async fn an_invocation_is_announced_as_it_happens_with_both_legs_the_event_the_prelude_and_the_trailers() {
    let emulator = with_dashboard(8, 4096).await;
    let base = dashboard(&emulator);
    assert_ne!(emulator.dashboard_addr(), Some(emulator.local_addr()), "a listener of its own");
    let page = get(&base).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("new EventSource(\"/events\")") && !html.contains("http://") && !html.contains("https://"));

    let mut events = Events::open(&base).await;
    let (name, reset) = events.next().await;
    assert_eq!(name, "reset");
    assert_eq!(reset["function"], "watched");
    assert_eq!(reset["history"], 8);
    assert_eq!(reset["invocations"], Value::Array(vec![]));

    let mut prelude = Prelude::with_status(201).header("x-answer", "yes").encode().to_vec();
    prelude.extend_from_slice(b"hello ");
    let failure = ErrorDiagnostic::new("Oops", "it broke");
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming(names::HTTP_INTEGRATION_CONTENT_TYPE),
        Step::chunk(prelude),
        // 300 ms apart, so the two chunks reach the client as two even on a busy machine.
        Step::Pause(Duration::from_millis(300)),
        Step::chunk("world"),
        Step::error_trailers(&failure),
    ]]);
    let response = client()
        .post(format!("{}/orders/42?x=1", emulator.url()))
        .header("content-type", "text/plain")
        .body("the-event-body")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.bytes().await.is_err(), "the body is cut by the trailer error");
    served.await.unwrap().unwrap();

    // The stream announced it while it was running and again when it ended.
    let first = events.until(|_| true).await;
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["front_end"], "function URL");
    let done = events.until(|i| i["id"] == id.as_str() && i["state"] == "error").await;
    assert_eq!(done["status"], 201);
    assert_eq!(done["error_type"], detail_error_type(&emulator, &id));
    assert_eq!(done["error_origin"], "trailers");
    assert_eq!(done["chunks"], 2, "two chunks reached the client: {done}");
    assert!(done["ttfb_ms"].as_f64().unwrap() > 0.0 && done["duration_ms"].as_f64().unwrap() >= 300.0, "{done}");

    let detail = get_json(&format!("{base}api/invocations/{id}")).await;
    let event = detail["event"]["text"].as_str().unwrap();
    assert!(event.contains("/orders/42") && event.contains("the-event-body"), "{event}");
    assert_eq!(detail["event"]["truncated"], false);
    let prelude = detail["prelude"].as_str().unwrap();
    assert!(prelude.contains("\"statusCode\":201") && prelude.contains("x-answer"), "{prelude}");
    assert_eq!(detail["body_start"], "hello world");
    let trailers = detail["runtime"]["trailers"].as_array().unwrap();
    assert!(trailers.iter().any(|t| t[0] == "lambda-runtime-function-error-type" && t[1] == "Oops"), "{trailers:?}");
    assert_eq!(detail["outcome"]["origin"], "trailers");
    // The timeline: both lanes, one bar per chunk on each leg (2 from the runtime, 2 to the client).
    let svg = detail["svg"].as_str().unwrap();
    assert!(svg.contains(r#"data-lane="client""#) && svg.contains(r#"data-lane="runtime""#));
    assert_eq!(svg.matches(r#"class="mark chunk""#).count(), 4, "{svg}");
    assert_eq!(svg.matches(r#"class="mark abort""#).count(), 1, "the cut on the client lane");
    assert_eq!(svg.matches(r#"class="mark error""#).count(), 1, "the error on the runtime lane");

    let svg = get(&format!("{base}api/invocations/{id}/timeline.svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
    let list = get_json(&format!("{base}api/invocations")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// The error type the recorder holds (normalised as Lambda does).
fn detail_error_type(emulator: &Emulator, id: &str) -> String {
    emulator.recorder().invocation(id).unwrap().error().unwrap().error_type.clone()
}

#[tokio::test]
async fn what_the_dashboard_shows_is_bounded_by_the_history_and_the_excerpt() {
    let emulator = with_dashboard(2, 16).await;
    let base = dashboard(&emulator);
    let mut ids = Vec::new();
    for i in 0..5 {
        let served = runtime(&emulator).spawn(vec![vec![
            Step::streaming("text/plain"),
            Step::chunk(format!("answer number {i} with more than sixteen bytes")),
            Step::End,
        ]]);
        let response =
            client().post(format!("{}/invoke", emulator.url())).body(format!("event {i} {}", "x".repeat(100))).send();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        ids.push(response.headers()["x-amzn-requestid"].to_str().unwrap().to_owned());
        served.await.unwrap().unwrap();
    }
    emulator.recorder().wait_for_completed(2, WAIT).await.unwrap();
    let list = get_json(&format!("{base}api/invocations")).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "only the history is kept: {list:?}");
    let id = list[1]["id"].as_str().unwrap();
    let detail = get_json(&format!("{base}api/invocations/{id}")).await;
    assert_eq!(detail["event"]["text"].as_str().unwrap().len(), 16);
    assert_eq!(detail["event"]["truncated"], true);
    assert!(detail["event"]["total"].as_u64().unwrap() > 100);
    assert_eq!(detail["body_start"].as_str().unwrap().len(), 16);
    assert_eq!(detail["body"]["total"].as_u64().unwrap(), "answer number 4 with more than sixteen bytes".len() as u64);
    // Forgotten invocations are gone from the API too; the newest two are there.
    for (i, id) in ids.iter().enumerate() {
        let status = get(&format!("{base}api/invocations/{id}")).await.status();
        assert_eq!(status, if i < 3 { 404 } else { 200 }, "invocation {i}");
    }
}

#[tokio::test]
async fn the_dashboard_is_read_only_and_refuses_foreign_hosts_and_unknown_pages() {
    let emulator = with_dashboard(4, 64).await;
    let base = dashboard(&emulator);
    let post = client().post(&base).body("x").send().await.unwrap();
    assert_eq!(post.status(), 405);
    let rebinding = client().get(&base).header("host", "attacker.example").send().await.unwrap();
    assert_eq!(rebinding.status(), 403, "a DNS-rebound page may not read the dashboard");
    assert!(rebinding.text().await.unwrap().contains("localhost"));
    let localhost = format!("http://localhost:{}/", emulator.dashboard_addr().unwrap().port());
    assert_eq!(client().get(&localhost).send().await.unwrap().status(), 200);
    assert_eq!(get(&format!("{base}nope")).await.status(), 404);
    assert_eq!(get(&format!("{base}api/invocations/unknown-id")).await.status(), 404);
    // The function URL keeps every path, `/events` included: the dashboard is not on its port.
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("fn"), Step::End]]);
    let url_events = get(&format!("{}/events", emulator.url())).await;
    assert_eq!(url_events.text().await.unwrap(), "fn");
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn open_event_streams_are_capped_and_a_closed_one_frees_its_place() {
    let emulator = with_dashboard(4, 64).await;
    let base = dashboard(&emulator);
    let mut open = Vec::new();
    for _ in 0..32 {
        let mut events = Events::open(&base).await;
        assert_eq!(events.next().await.0, "reset");
        open.push(events);
    }
    let refused = get(&format!("{base}events")).await;
    assert_eq!(refused.status(), 503);
    drop(open.pop());
    // The server notices the closed stream by itself; wait for the place to be free.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let response = get(&format!("{base}events")).await;
        if response.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the closed stream's place was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_dashboard_unless_asked_for() {
    let emulator = Emulator::builder().build().await.unwrap();
    assert_eq!(emulator.dashboard_url(), None);
}

#[tokio::test]
async fn a_page_opened_after_runtime_faults_gets_them_newest_first_in_its_snapshot() {
    let emulator = with_dashboard(8, 64).await;
    let base = dashboard(&emulator);
    // Two answers for request ids the emulator never handed out: a fault each.
    for id in ["never-handed-out-1", "never-handed-out-2"] {
        let url = format!("http://{}/2018-06-01/runtime/invocation/{id}/response", emulator.runtime_api());
        let answer = client().post(url).body("late").send().await.unwrap();
        assert!(answer.status().is_client_error(), "{}", answer.status());
    }
    let mut events = Events::open(&base).await;
    let (name, reset) = events.next().await;
    assert_eq!(name, "reset");
    assert_eq!(reset["faults"]["count"], 2, "{reset}");
    let recent = reset["faults"]["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    // Newest first; the id is in the message (an id never handed out names no invocation).
    for (fault, id) in recent.iter().zip(["never-handed-out-2", "never-handed-out-1"]) {
        assert_eq!(fault["kind"], "UnknownRequestId", "{fault}");
        assert_eq!(fault["request_id"], Value::Null, "{fault}");
        assert!(fault["message"].as_str().is_some_and(|m| m.contains(&format!("\"{id}\""))), "{fault}");
    }
    let at = |i: usize| recent[i]["at_ms"].as_f64().unwrap();
    assert!(at(0) >= at(1) && at(1) > 0.0, "{recent:?}");
}
