//! Streamed responses on the wire (RT-CUSTOM "Implementing response streaming"): the head a
//! streamed `POST /response` carries, and one chunk per `write`, delivered at once.

use std::task::Poll;
use std::time::Duration;

use lambda_stream::{BoxError, Bytes, LambdaContext, Prelude, ResponseStreamWriter, Runtime, handler_fn};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RuntimeApiPeer};

#[tokio::test]
async fn a_streamed_response_declares_mode_chunking_trailers_and_content_type() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(&b"ignored"[..]);
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("hello ").await?;
        writer.write("world").await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id));
    assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
    assert!(post.is_chunked(), "Transfer-Encoding: {:?}", post.header("transfer-encoding"));
    assert_eq!(post.content_length(), None);
    assert_eq!(post.header("trailer"), Some(names::DECLARED_TRAILERS));
    assert_eq!(post.header("content-type"), Some(names::DEFAULT_STREAM_CONTENT_TYPE));
    assert_eq!(post.body(), "hello world");
    assert!(post.ended_cleanly);
    assert_eq!(post.trailers, None, "a successful stream carries no trailers");
}

#[tokio::test]
async fn the_author_content_type_reaches_the_head() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.set_content_type("text/plain; charset=utf-8")?;
        writer.write("a").await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.url()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(post.body(), "a");
    assert!(post.ended_cleanly, "returning without finish ends the stream");
}

#[tokio::test]
async fn a_prelude_is_json_then_delimiter_as_two_chunks_with_the_integration_content_type() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.set_content_type("text/html")?;
        writer.write_status_and_headers(Prelude::with_status(201).header("x-a", "1")).await?;
        writer.write("<p>").await?;
        // Chunk boundaries are judged: writes 300 ms apart stay apart on a busy machine.
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer.write("</p>").await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.header("content-type"), Some(names::HTTP_INTEGRATION_CONTENT_TYPE));
    assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
    let expected_prelude = Prelude::with_status(201).header("x-a", "1").header("content-type", "text/html").encode();
    let mut expected = expected_prelude.to_vec();
    expected.extend_from_slice(b"<p></p>");
    assert_eq!(post.body(), expected, "the author's content type moves into the prelude");
    // The JSON and the delimiter are chunks of their own, as NODE and RUST send them (cargo-lambda
    // relies on it), then one chunk per write.
    let chunks: Vec<&[u8]> = post.chunks.iter().map(|c| &c.bytes[..]).collect();
    let json = &expected_prelude[..expected_prelude.len() - 8];
    assert_eq!(chunks, [json, &[0u8; 8][..], b"<p>", b"</p>"], "the prelude comes first, in two chunks");
}

#[tokio::test]
async fn each_write_arrives_before_the_next_one_is_made() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("first").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer.write("second").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer.write("third").await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    let chunks: Vec<&[u8]> = post.chunks.iter().map(|c| &c.bytes[..]).collect();
    assert_eq!(chunks, [&b"first"[..], b"second", b"third"], "one chunk per write");
    for pair in post.chunks.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(200), "a chunk waited for the next write: only {gap:?} between them");
    }
}

#[tokio::test]
async fn a_prefixed_endpoint_is_used_for_every_path() {
    let peer = RuntimeApiPeer::builder().prefix("/.rt").start().await;
    let id = peer.push_event(&b"x"[..]);
    let handler = handler_fn(async |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write(event).await?;
        Ok::<(), BoxError>(())
    });
    assert!(peer.url().ends_with("/.rt"));
    Runtime::builder().endpoint(peer.url()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id), "path {}", post.path);
    assert_eq!(post.body(), "x");
}

/// The head, the prelude's two chunks (JSON, then the delimiter) and the first body chunk leave
/// together: the body channel holds all three, so the first `write` after
/// `write_status_and_headers` queues them without waiting for the connection to take any, and
/// hyper writes them to the socket at once. With room for two, the third waited, the prelude went
/// out alone and the first body byte a write later, which API Gateway (it reads the prelude, then
/// waits for the body) and a function URL both paid for in time to first byte
/// (docs/performance.md, "Fourth round").
#[tokio::test]
async fn the_prelude_and_the_first_chunk_are_queued_without_waiting() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(&b"ignored"[..]);
    let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = waited.clone();
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(201)).await?;
        {
            // Polled twice in a row without returning to the scheduler: a write yields once after
            // queueing its chunk (so the connection's task can send it), so it is ready at the
            // second poll, unless it had to wait for room in the channel, which only the task
            // that feeds the connection can make, and it cannot run in between.
            let mut write = std::pin::pin!(writer.write("first"));
            let polled = std::future::poll_fn(|cx| {
                let first = write.as_mut().poll(cx);
                Poll::Ready(if first.is_pending() { write.as_mut().poll(cx) } else { first })
            })
            .await;
            flag.store(polled.is_pending(), std::sync::atomic::Ordering::SeqCst);
            match polled {
                Poll::Ready(written) => written?,
                Poll::Pending => write.await?,
            }
        }
        writer.finish().await?;
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert!(post.body().ends_with(b"\0\0\0\0\0\0\0\0first"), "{:?}", post.body());
    assert!(
        !waited.load(std::sync::atomic::Ordering::SeqCst),
        "the first write after the prelude waited for the connection to take a frame"
    );
}

/// On a current-thread runtime the connection's task shares the handler's thread. A handler that
/// computes between writes without awaiting anything (here: blocks its thread) must still have
/// its chunk on the wire at once, not when it next yields. The peer runs on another runtime, so
/// it reads while the handler's thread is blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_leaves_before_the_handler_computes_on_a_current_thread_runtime() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(Bytes::new());
    let endpoint = peer.endpoint();
    let runtime_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let handler = handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
                // An empty write starts the response: its head must leave now too.
                writer.write("").await?;
                // Work that never awaits, as a CPU-bound step would.
                std::thread::sleep(Duration::from_millis(600));
                writer.write("before").await?;
                std::thread::sleep(Duration::from_millis(600));
                writer.write("after").await?;
                std::thread::sleep(Duration::from_millis(600));
                writer.finish().await?;
                Ok::<(), BoxError>(())
            });
            Runtime::builder().endpoint(endpoint).handler(handler).build().unwrap().serve(1).await.unwrap();
        });
    });
    let post = peer.next_post().await;
    runtime_thread.join().unwrap();
    let chunks: Vec<&[u8]> = post.chunks.iter().map(|c| &c.bytes[..]).collect();
    assert_eq!(chunks, [&b"before"[..], b"after"], "one chunk per write");
    // The head and each chunk arrived while the handler was blocked after writing them, not when
    // it next yielded.
    let head_gap = post.chunks[0].at - post.head_at;
    assert!(
        head_gap >= Duration::from_millis(400),
        "the head waited for the handler to yield: {head_gap:?} before the first chunk"
    );
    let gap = post.chunks[1].at - post.chunks[0].at;
    assert!(
        gap >= Duration::from_millis(400),
        "the first chunk waited for the handler to yield: {gap:?} before the second"
    );
    let end = post.chunks[1].at.elapsed();
    assert!(
        end >= Duration::from_millis(200),
        "the second chunk waited for the finish: it arrived only {end:?} before the end"
    );
}
