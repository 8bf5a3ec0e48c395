//! Broken HTTP on the public listener: hyper refuses what it cannot parse before any front end
//! sees it; what it can parse reaches the function URL as sent. Either way the emulator keeps
//! serving.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{WAIT, assert_healthy, client, runtime, start};
use crate::{assert_refused_and_healthy, ok_script, only_invocation, raw_text, status_line};
use lambda_stream_emulator::ClientEnd;

/// Sends `request` raw, asserts the status line hyper answers with, that nothing reached the
/// function, and that the emulator still serves.
async fn refused_by_hyper(request: &[u8], expected: &str) {
    let emulator = start("f").await;
    let answer = raw_text(emulator.local_addr(), request).await;
    assert_eq!(status_line(&answer), expected, "{answer:?}");
    assert_refused_and_healthy(&emulator).await;
}

/// Sends `request` raw to an emulator whose runtime answers "ok"; returns the raw answer and the
/// event the function received.
async fn served_raw(request: &[u8]) -> (String, Value) {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("ok")]);
    let answer = raw_text(emulator.local_addr(), request).await;
    let (invocation, reply) = served.await.unwrap().expect("runtime script").remove(0);
    assert_eq!(reply.map(|a| a.status), Some(202));
    assert_healthy(&emulator).await;
    (answer, serde_json::from_slice(&invocation.body).expect("event JSON"))
}

#[tokio::test]
async fn client_request_line_that_is_not_http() {
    refused_by_hyper(b"HELLO WORLD\r\n\r\n", "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_header_name_with_a_space() {
    refused_by_hyper(b"GET / HTTP/1.1\r\nhost: h\r\nbad name: x\r\n\r\n", "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_nul_byte_in_a_header_value() {
    refused_by_hyper(b"GET / HTTP/1.1\r\nhost: h\r\nx-a: a\x00b\r\n\r\n", "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_unknown_http_version() {
    refused_by_hyper(b"GET / HTTP/3.7\r\nhost: h\r\n\r\n", "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_http2_preface_on_the_http1_listener() {
    // hyper serves HTTP/1 only: the connection is closed without a byte.
    refused_by_hyper(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "").await;
}

#[tokio::test]
async fn client_header_section_of_1_mib() {
    let request = format!("GET / HTTP/1.1\r\nhost: h\r\nx-big: {}\r\n\r\n", "a".repeat(1024 * 1024));
    refused_by_hyper(request.as_bytes(), "HTTP/1.1 431 Request Header Fields Too Large").await;
}

#[tokio::test]
async fn client_more_than_100_headers() {
    let headers: String = (0..101).map(|i| format!("x-h{i}: v\r\n")).collect();
    let request = format!("GET / HTTP/1.1\r\nhost: h\r\n{headers}\r\n");
    refused_by_hyper(request.as_bytes(), "HTTP/1.1 431 Request Header Fields Too Large").await;
}

#[tokio::test]
async fn client_request_target_over_64_kib() {
    // `http::Uri` holds at most 64 KiB; hyper refuses a longer target before anything else.
    let request = format!("GET /?q={} HTTP/1.1\r\nhost: h\r\n\r\n", "a".repeat(100 * 1024));
    refused_by_hyper(request.as_bytes(), "HTTP/1.1 414 URI Too Long").await;
}

#[tokio::test]
async fn client_two_different_content_lengths() {
    let request = b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!";
    refused_by_hyper(request, "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_content_length_that_is_not_a_number() {
    refused_by_hyper(b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: ten\r\n\r\n", "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_transfer_encoding_other_than_chunked() {
    let request = b"POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: gzip\r\n\r\nxxxx";
    refused_by_hyper(request, "HTTP/1.1 400 Bad Request").await;
}

#[tokio::test]
async fn client_content_length_and_chunked_together() {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; hyper reads the chunked body.
    let request = b"POST /both HTTP/1.1\r\nhost: h\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\
                    transfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let (answer, event) = served_raw(request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK", "{answer}");
    assert!(answer.ends_with("\r\n\r\n2\r\nok\r\n0\r\n\r\n"), "{answer}");
    assert_eq!(event["body"], "hello", "the chunked body, not three bytes of it");
}

#[tokio::test]
async fn client_query_string_of_60_kib_reaches_the_function() {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("ok")]);
    let value = "v".repeat(60 * 1024);
    let response = client().get(format!("{}/q?big={value}", emulator.url())).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.text().await.unwrap().as_str()), (200, "ok"));
    let (invocation, _) = served.await.unwrap().unwrap().remove(0);
    let event: Value = serde_json::from_slice(&invocation.body).unwrap();
    assert_eq!(event["rawQueryString"].as_str().unwrap().len(), "big=".len() + value.len());
    assert_eq!(event["queryStringParameters"]["big"].as_str().unwrap().len(), value.len());
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_percent_encoding_garbage_in_the_path() {
    let request = b"GET /a%zz/%%/%ff%00?x=%zz&y=%e2%82 HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
    let (answer, event) = served_raw(request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert_eq!(event["rawPath"], "/a%zz/%%/%ff%00", "the path as sent, not decoded");
    assert_eq!(event["rawQueryString"], "x=%zz&y=%e2%82");
    // Invalid escapes are kept; a broken UTF-8 sequence becomes U+FFFD.
    assert_eq!(event["queryStringParameters"]["x"], "%zz");
    assert_eq!(event["queryStringParameters"]["y"], "\u{fffd}");
}

#[tokio::test]
async fn client_header_values_beyond_ascii() {
    // A UTF-8 value reaches the function as it is; a value that is not UTF-8 (obs-text, here
    // Latin-1) is decoded with U+FFFD for what cannot be read, never left out or emptied.
    let request =
        b"GET /h HTTP/1.1\r\nhost: h\r\nx-utf8: caf\xc3\xa9\r\nx-latin1: caf\xe9\r\nconnection: close\r\n\r\n";
    let (answer, event) = served_raw(request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert_eq!(event["headers"]["x-utf8"], "café");
    assert_eq!(event["headers"]["x-latin1"], "caf\u{fffd}");
}

#[tokio::test]
async fn client_hangs_up_inside_the_request_head() {
    let emulator = start("f").await;
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: h\r\nx-partial: ").await.unwrap();
    drop(stream);
    assert_healthy(&emulator).await;
    assert_eq!(emulator.recorder().invocations().len(), 1, "only the health check reached the function");
}

#[tokio::test]
async fn client_hangs_up_mid_body() {
    let emulator = start("f").await;
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nten bytes.").await.unwrap();
    drop(stream);
    assert_healthy(&emulator).await;
    assert_eq!(emulator.recorder().invocations().len(), 1, "the cut request never became an invocation");
}

#[tokio::test(start_paused = true)]
async fn client_sends_its_head_too_slowly() {
    // Slowloris: a client that never finishes its head is cut off after 30 s, without an
    // answer (the clock is paused, so the test does not wait them).
    let emulator = start("f").await;
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let started = tokio::time::Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: h\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut buf)).await;
    let elapsed = started.elapsed();
    assert!(read.is_ok(), "the emulator closed the connection");
    assert!(elapsed >= Duration::from_secs(30) && elapsed < Duration::from_secs(31), "cut after {elapsed:?}");
    assert_eq!(buf, b"", "hyper closes without an answer");
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_stalls_mid_body() {
    // No timeout applies once the head is in: the stalled request holds its own connection and
    // nothing else (see docs/misbehaviours.md), and never becomes an invocation.
    let emulator = start("f").await;
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nten bytes.").await.unwrap();
    assert_healthy(&emulator).await;
    assert_healthy(&emulator).await;
    assert_eq!(emulator.recorder().invocations().len(), 2, "only the two health checks ran");
    // Finishing the body late still works.
    let served = runtime(&emulator).spawn(vec![ok_script("late")]);
    stream.write_all(&[b'x'; 90]).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&buf).ends_with("0\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await.expect("answer").unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200 OK"));
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn client_pipelines_two_requests() {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("first"), ok_script("second")]);
    let request = b"GET /one HTTP/1.1\r\nhost: h\r\n\r\nGET /two HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
    let answer = raw_text(emulator.local_addr(), request).await;
    let first = answer.find("\r\n\r\n5\r\nfirst\r\n0\r\n\r\n").expect("first answer");
    let second = answer.find("\r\n\r\n6\r\nsecond\r\n0\r\n\r\n").expect("second answer");
    assert!(first < second, "answered in order: {answer}");
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    let served = served.await.unwrap().unwrap();
    let paths: Vec<String> = served
        .iter()
        .map(|(inv, _)| serde_json::from_slice::<Value>(&inv.body).unwrap()["rawPath"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["/one", "/two"]);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_half_closes_after_its_request() {
    // Like netcat: the request, then the write side closed. The answer still comes.
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("answered")]);
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream.write_all(b"GET /half HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut buf)).await.expect("closed").unwrap();
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n8\r\nanswered\r\n0\r\n\r\n"), "{answer}");
    served.await.unwrap().unwrap();
    let record = only_invocation(&emulator).await;
    assert!(matches!(record.client.end, Some((_, ClientEnd::Completed))), "{:?}", record.client);
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_expects_100_continue() {
    let emulator = start("f").await;
    let served = runtime(&emulator).spawn(vec![ok_script("ok")]);
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream
        .write_all(b"POST /e HTTP/1.1\r\nhost: h\r\ncontent-type: text/plain\r\nexpect: 100-continue\r\ncontent-length: 4\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut interim = vec![0u8; "HTTP/1.1 100 Continue\r\n\r\n".len()];
    tokio::time::timeout(WAIT, stream.read_exact(&mut interim)).await.expect("interim answer").unwrap();
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"body").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await.expect("final answer").unwrap();
    assert!(String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200 OK"));
    let (invocation, _) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(serde_json::from_slice::<Value>(&invocation.body).unwrap()["body"], "body");
    assert_healthy(&emulator).await;
}

#[tokio::test]
async fn client_speaks_http_1_0_without_a_host() {
    // HTTP/1.0 has no chunked coding: the streamed body is delimited by closing the connection.
    let (answer, event) = served_raw(b"GET /old HTTP/1.0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("transfer-encoding"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    assert_eq!(event["requestContext"]["domainName"], "localhost", "no Host: the default domain");
    assert_eq!(event["requestContext"]["http"]["protocol"], "HTTP/1.0");
}

#[tokio::test]
async fn client_asks_to_upgrade_to_websocket() {
    let request = b"GET /ws HTTP/1.1\r\nhost: h\r\nconnection: upgrade, close\r\nupgrade: websocket\r\n\r\n";
    let (answer, event) = served_raw(request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK", "a plain answer, never 101: {answer}");
    assert!(answer.ends_with("\r\n\r\n2\r\nok\r\n0\r\n\r\n"), "{answer}");
    assert_eq!(event["headers"]["upgrade"], "websocket", "the function sees what was asked");
}

#[tokio::test]
async fn client_uses_connect() {
    let emulator = start("f").await;
    let request = b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n";
    let answer = raw_text(emulator.local_addr(), request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 405 Method Not Allowed", "{answer}");
    assert!(
        answer.contains("\"Message\":\"Method Not Allowed: a function URL does not tunnel (CONNECT)\""),
        "{answer}"
    );
    assert_refused_and_healthy(&emulator).await;
}

#[tokio::test]
async fn client_sends_an_asterisk_request_target() {
    let (answer, event) = served_raw(b"OPTIONS * HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n").await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert_eq!(event["rawPath"], "*");
    assert_eq!(event["requestContext"]["http"]["method"], "OPTIONS");
}

#[tokio::test]
async fn client_sends_an_absolute_request_target() {
    let request = b"GET http://elsewhere.example/abs?q=1 HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
    let (answer, event) = served_raw(request).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert_eq!(event["rawPath"], "/abs");
    assert_eq!(event["rawQueryString"], "q=1");
    assert_eq!(event["requestContext"]["domainName"], "h", "the Host header, not the target's authority");
}

#[tokio::test]
async fn client_uses_a_method_nobody_defined() {
    let (answer, event) = served_raw(b"BREW /pot HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n").await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert_eq!(event["requestContext"]["http"]["method"], "BREW");
}

#[tokio::test]
async fn client_sends_head() {
    let (answer, event) = served_raw(b"HEAD /h HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n").await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert!(answer.contains("content-type: text/plain\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body after the head: {answer:?}");
    assert_eq!(event["requestContext"]["http"]["method"], "HEAD");
}
