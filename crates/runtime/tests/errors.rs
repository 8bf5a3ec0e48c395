//! Failures before the first body byte (`POST /error`, RT-CUSTOM), set-up failures
//! (`POST /runtime/init/error`, RT-API), unreadable `/next` answers, and that the runtime goes on
//! serving after any of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lambda_stream::{
    BoxError, Bytes, Error, ErrorDiagnostic, FunctionError, LambdaContext, Prelude, ResponseStreamWriter, Runtime,
    handler_fn,
};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{env, names};
use lambda_stream_test_support::runtime_api_peer::{Invocation, PostKind, RecordedRequest, RuntimeApiPeer};

fn assert_error_post(post: &RecordedRequest, request_id: &str, error_type: &str, message: &str) {
    assert_eq!(post.kind(), PostKind::Error(request_id.to_owned()), "path {}", post.path);
    assert_eq!(post.header(names::FUNCTION_ERROR_TYPE), Some(error_type));
    let json: serde_json::Value = serde_json::from_slice(&post.body()).expect("a JSON error body");
    assert_eq!(json, serde_json::json!({"errorMessage": message, "errorType": error_type, "stackTrace": []}));
    assert_eq!(post.error_document(), ErrorDiagnostic::new(error_type, message));
}

#[tokio::test]
async fn an_error_before_the_first_byte_posts_to_error() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    let handler = handler_fn(async |_event, _writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        Err::<(), BoxError>("no such user".into())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_error_post(&post, &id, error_types::FUNCTION_UNHANDLED, "no such user");
    assert_eq!(post.header("content-type"), Some(names::ERROR_CONTENT_TYPE));
    // serve(1) returned, so the runtime has had every request it made answered, and the peer
    // records a request before answering it: a /response after the /error would be queued already.
    assert!(peer.next_post_within(Duration::ZERO).await.is_none(), "no /response after /error");
}

#[tokio::test]
async fn a_panic_before_the_first_byte_posts_to_error() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    let handler = handler_fn(async |event: Bytes, _writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        if event.is_empty() {
            panic!("empty event");
        }
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    assert_error_post(&peer.next_post().await, &id, error_types::FUNCTION_PANIC, "the handler panicked: empty event");
}

#[tokio::test]
async fn an_error_after_only_status_and_headers_posts_to_error() {
    // Status and headers are held until the first write, so nothing has been sent yet.
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(200)).await?;
        Err::<(), BoxError>("after headers".into())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    assert_error_post(&peer.next_post().await, &id, error_types::FUNCTION_UNHANDLED, "after headers");
    // serve(1) returned: any other request it made is recorded already (see above).
    assert!(peer.next_post_within(Duration::ZERO).await.is_none());
}

#[tokio::test]
async fn the_runtime_serves_the_next_invocation_after_failed_ones() {
    let peer = RuntimeApiPeer::start().await;
    let panics = peer.push_event(&b"panic"[..]);
    let fails = peer.push_event(&b"fail"[..]);
    let works = peer.push_event(&b"work"[..]);
    let handler =
        handler_fn(async |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| match &event[..] {
            b"panic" => panic!("boom"),
            b"fail" => {
                writer.write("half").await?;
                Err::<(), BoxError>("broke midway".into())
            }
            _ => {
                writer.write_and_finish("done").await?;
                Ok(())
            }
        });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(3).await.unwrap();
    assert_error_post(&peer.next_post().await, &panics, error_types::FUNCTION_PANIC, "the handler panicked: boom");
    let second = peer.next_post().await;
    assert_eq!(second.kind(), PostKind::Response(fails));
    assert_eq!(second.trailer(names::FUNCTION_ERROR_TYPE), Some(error_types::FUNCTION_UNHANDLED));
    let third = peer.next_post().await;
    assert_eq!(third.kind(), PostKind::Response(works));
    assert_eq!(third.body(), "done");
}

#[tokio::test]
async fn a_missing_next_header_reports_that_invocation_and_goes_on() {
    let peer = RuntimeApiPeer::start().await;
    let no_deadline = peer.push(Invocation::new(&b"a"[..]).without_header(names::DEADLINE_MS));
    let bad_deadline = peer.push(Invocation::new(&b"b"[..]).header(names::DEADLINE_MS, "tomorrow"));
    let no_arn = peer.push(Invocation::new(&b"c"[..]).without_header(names::INVOKED_FUNCTION_ARN));
    let fine = peer.push_event(&b"d"[..]);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let handler = handler_fn(async move |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        seen.fetch_add(1, Ordering::SeqCst);
        writer.write_and_finish(event).await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(4).await.unwrap();

    let post = peer.next_post().await;
    let message = "the runtime could not read the invocation: header lambda-runtime-deadline-ms is missing";
    assert_error_post(&post, &no_deadline, error_types::RUNTIME_INVALID_INVOCATION, message);
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Error(bad_deadline));
    assert!(post.error_document().error_message.contains("must be epoch milliseconds, got \"tomorrow\""));
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Error(no_arn));
    assert!(post.error_document().error_message.contains("lambda-runtime-invoked-function-arn is missing"));
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(fine));
    assert_eq!(post.body(), "d");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler ran only for the readable invocation");
}

#[tokio::test]
async fn a_missing_request_id_is_skipped_and_polling_goes_on() {
    let peer = RuntimeApiPeer::start().await;
    peer.push(Invocation::new(&b"lost"[..]).without_header(names::REQUEST_ID));
    let fine = peer.push_event(&b"kept"[..]);
    let handler = handler_fn(async |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_and_finish(event).await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(2).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(fine), "nothing can be reported without a request id");
    assert_eq!(post.body(), "kept");
    assert_eq!(peer.next_polls(), 2);
}

#[tokio::test]
async fn a_failed_set_up_posts_to_init_error_and_stops() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let runtime = Runtime::builder()
        .endpoint(peer.endpoint())
        .init(async || -> Result<_, BoxError> {
            let model = load_model()?;
            Ok(handler_fn(async move |_e, w: &mut ResponseStreamWriter, _c: LambdaContext| {
                w.write_and_finish(model.clone()).await?;
                Ok::<(), BoxError>(())
            }))
        })
        .build()
        .unwrap();
    let err = runtime.run().await.unwrap_err();
    assert!(matches!(err, Error::Init { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the handler's set-up failed (Runtime.InitError): model file missing");
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::InitError);
    assert_eq!(post.header(names::FUNCTION_ERROR_TYPE), Some(error_types::RUNTIME_INIT_ERROR));
    assert_eq!(post.error_document(), ErrorDiagnostic::new(error_types::RUNTIME_INIT_ERROR, "model file missing"));
    assert_eq!(peer.next_polls(), 0, "no invocation is fetched after a failed set-up");
}

#[tokio::test]
async fn a_set_up_failing_with_a_function_error_reports_its_own_type() {
    let peer = RuntimeApiPeer::start().await;
    let runtime = Runtime::builder()
        .endpoint(peer.endpoint())
        .init(async || -> Result<_, BoxError> {
            if peer_is_unreachable() {
                return Err(FunctionError::new("Function.ConfigMissing", "TABLE_NAME is not set").into());
            }
            Ok(handler_fn(async |_e, _w: &mut ResponseStreamWriter, _c: LambdaContext| Ok::<(), BoxError>(())))
        })
        .build()
        .unwrap();
    let err = runtime.run().await.unwrap_err();
    assert_eq!(err.to_string(), "the handler's set-up failed (Function.ConfigMissing): TABLE_NAME is not set");
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::InitError);
    assert_eq!(post.error_document(), ErrorDiagnostic::new("Function.ConfigMissing", "TABLE_NAME is not set"));
}

/// A set-up step that fails, as loading a missing file would.
fn load_model() -> Result<Vec<u8>, std::io::Error> {
    Err(std::io::Error::other("model file missing"))
}

#[tokio::test]
async fn a_panicking_set_up_posts_to_init_error() {
    let peer = RuntimeApiPeer::start().await;
    let runtime = Runtime::builder()
        .endpoint(peer.endpoint())
        .init(async || -> Result<_, BoxError> {
            if peer_is_unreachable() {
                panic!("config is corrupt");
            }
            Ok(handler_fn(async |_e, _w: &mut ResponseStreamWriter, _c: LambdaContext| Ok::<(), BoxError>(())))
        })
        .build()
        .unwrap();
    assert!(matches!(runtime.run().await, Err(Error::Init { .. })));
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::InitError);
    assert_eq!(post.error_document().error_message, "the handler's set-up panicked: config is corrupt");
}

/// Always true; keeps the panic above reachable in the compiler's eyes.
fn peer_is_unreachable() -> bool {
    std::hint::black_box(true)
}

#[tokio::test]
async fn a_successful_set_up_serves() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let greeting = String::from("hello from set-up");
    let runtime = Runtime::builder()
        .endpoint(peer.endpoint())
        .init(async move || {
            Ok::<_, BoxError>(handler_fn(async move |_e, w: &mut ResponseStreamWriter, _c: LambdaContext| {
                w.write_and_finish(greeting.clone()).await?;
                Ok::<(), BoxError>(())
            }))
        })
        .build()
        .unwrap();
    runtime.serve(1).await.unwrap();
    assert_eq!(peer.next_post().await.body(), "hello from set-up");
}

#[tokio::test]
async fn an_unreachable_runtime_api_ends_run_with_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let handler = handler_fn(async |_e, _w: &mut ResponseStreamWriter, _c: LambdaContext| Ok::<(), BoxError>(()));
    let runtime = Runtime::builder().endpoint(format!("127.0.0.1:{port}")).handler(handler).build().unwrap();
    let err = runtime.run().await.unwrap_err();
    assert!(matches!(err, Error::RuntimeApi { request: "GET /next", .. }), "{err:?}");
    assert!(err.to_string().contains("connect failed"), "{err}");
}

#[tokio::test]
async fn endpoints_are_checked_when_building() {
    let handler = || handler_fn(async |_e, _w: &mut ResponseStreamWriter, _c: LambdaContext| Ok::<(), BoxError>(()));
    let err = Runtime::builder().handler(handler()).build().unwrap_err();
    assert!(matches!(err, Error::NoEndpoint));
    assert!(err.to_string().contains(&format!("{} is not set", env::RUNTIME_API)), "{err}");
    let err = Runtime::builder().endpoint("https://example.com:443").handler(handler()).build().unwrap_err();
    assert!(matches!(err, Error::InvalidEndpoint { .. }));
    assert!(err.to_string().contains("only the http scheme"), "{err}");
    let mut from_config = lambda_stream::Config::new("f");
    from_config.runtime_api = Some("127.0.0.1:9001".into());
    let builder = Runtime::builder().config(from_config).handler(handler());
    let described = format!("{builder:?}");
    assert!(described.starts_with("RuntimeBuilder") && described.contains("127.0.0.1:9001"), "{described}");
    let runtime = builder.build().unwrap();
    assert_eq!(runtime.endpoint().authority(), "127.0.0.1:9001");
    let described = format!("{runtime:?}");
    assert!(described.starts_with("Runtime { endpoint: Endpoint { authority: \"127.0.0.1:9001\""), "{described}");
}

#[tokio::test]
async fn shutdown_stops_a_runtime_waiting_for_work() {
    let peer = RuntimeApiPeer::start().await;
    let handler = handler_fn(async |_e, _w: &mut ResponseStreamWriter, _c: LambdaContext| Ok::<(), BoxError>(()));
    let runtime = Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap();
    let result =
        tokio::time::timeout(Duration::from_secs(5), runtime.run_until(tokio::time::sleep(Duration::from_millis(200))))
            .await;
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    assert_eq!(peer.next_polls(), 1, "it was waiting on GET /next, with no timeout of its own");
    // The given-up GET /next does not linger: its connection is closed.
    let started = std::time::Instant::now();
    while peer.abandoned_polls() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the GET /next connection stayed open after shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
