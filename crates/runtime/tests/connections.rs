//! Which connection each request goes on (src/client.rs): an invocation's answer goes out on the
//! connection its `GET /next` came back on, and once answered that connection carries the next
//! `GET /next`; when the Runtime API closed it, the request goes on a fresh one. And a Runtime API
//! that answers a streamed response before reading it (cargo-lambda's) still gets the whole body,
//! on a connection that is then closed.

use std::time::Duration;

use lambda_stream::{BoxError, Bytes, LambdaContext, ResponseStreamWriter, Runtime, handler_fn};
use lambda_stream_test_support::runtime_api_peer::{Invocation, PostAnswer, PostKind, RecordedRequest, RuntimeApiPeer};

/// Answers `buffered` with one buffered answer, `fail` with an error before any byte, anything else
/// with three streamed chunks a little apart.
fn handler() -> impl lambda_stream::StreamingHandler<Error = BoxError> {
    handler_fn(async |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        match &event[..] {
            b"buffered" => writer.write_and_finish("one piece").await?,
            b"fail" => return Err("failed".into()),
            _ => {
                for chunk in ["a", "b", "c"] {
                    writer.write(chunk).await?;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                writer.finish().await?;
            }
        }
        Ok::<(), BoxError>(())
    })
}

async fn serve(peer: &RuntimeApiPeer, invocations: usize) {
    Runtime::builder().endpoint(peer.endpoint()).handler(handler()).build().unwrap().serve(invocations).await.unwrap();
}

#[tokio::test]
async fn each_answer_goes_on_the_connection_its_next_came_back_on() {
    let peer = RuntimeApiPeer::start().await;
    let ids = [peer.push_event("buffered"), peer.push_event("streamed"), peer.push_event("fail")];
    serve(&peer, 3).await;
    let posts: Vec<RecordedRequest> = vec![peer.next_post().await, peer.next_post().await, peer.next_post().await];
    assert_eq!(posts[0].kind(), PostKind::Response(ids[0].clone()));
    assert_eq!(posts[1].kind(), PostKind::Response(ids[1].clone()));
    assert_eq!(posts[2].kind(), PostKind::Error(ids[2].clone()));
    // GET /next, answer, GET /next, answer, ...: one connection carries all six requests.
    for (n, post) in posts.iter().enumerate() {
        assert_eq!(post.earlier_on_connection, 2 * n + 1, "{} followed its GET /next on one connection", post.path);
        assert_eq!(post.connection, posts[0].connection, "an answered connection carries the next GET /next");
    }
    assert_eq!(posts[1].body(), "abc");
    assert_eq!(peer.next_polls(), 3);
}

#[tokio::test]
async fn a_connection_whose_answer_was_refused_is_not_carried_over() {
    // The first answer is refused (500): its connection is dropped, and the next GET /next, and
    // so the next answer, go on a fresh one. A success answer's connection carries on.
    let peer = RuntimeApiPeer::start().await;
    peer.push_post_answer(PostAnswer::Status(http::StatusCode::INTERNAL_SERVER_ERROR, "refused"));
    let ids = [peer.push_event("buffered"), peer.push_event("buffered"), peer.push_event("buffered")];
    serve(&peer, 3).await;
    let posts: Vec<RecordedRequest> = vec![peer.next_post().await, peer.next_post().await, peer.next_post().await];
    for (post, id) in posts.iter().zip(&ids) {
        assert_eq!(post.kind(), PostKind::Response(id.clone()));
    }
    assert_ne!(posts[1].connection, posts[0].connection, "a refused answer's connection is dropped");
    assert_eq!(posts[1].earlier_on_connection, 1, "a fresh connection: its GET /next, then the answer");
    assert_eq!(posts[2].connection, posts[1].connection, "an accepted answer's connection carries on");
    assert_eq!(posts[2].earlier_on_connection, 3);
}

#[tokio::test]
async fn an_answer_after_the_runtime_api_closed_the_next_connection_goes_on_a_fresh_one() {
    let peer = RuntimeApiPeer::start().await;
    let buffered = peer.push(Invocation::new("buffered").header("connection", "close"));
    let streamed = peer.push(Invocation::new("streamed").header("connection", "close"));
    serve(&peer, 2).await;
    for (id, body) in [(buffered, "one piece"), (streamed, "abc")] {
        let post = peer.next_post().await;
        assert_eq!(post.kind(), PostKind::Response(id));
        assert_eq!(post.earlier_on_connection, 0, "a fresh connection");
        assert_eq!(post.body(), body);
        assert!(post.ended_cleanly);
    }
}

#[tokio::test]
async fn a_runtime_api_that_answers_a_stream_at_once_still_gets_the_whole_body() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_post_answer(PostAnswer::AcceptEarly);
    let id = peer.push_event("streamed");
    let next = peer.push_event("buffered");
    serve(&peer, 2).await;
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id));
    assert_eq!(post.body(), "abc", "the body went on after the early answer");
    assert!(post.ended_cleanly);
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(next));
}

#[tokio::test]
async fn one_connection_is_open_while_the_next_invocation_is_awaited() {
    let peer = RuntimeApiPeer::start().await;
    let ids = [peer.push_event("buffered"), peer.push_event("fail")];
    let check = async {
        // A buffered answer, then an error report: each on the connection its GET /next came on.
        assert_eq!(peer.next_post().await.kind(), PostKind::Response(ids[0].clone()));
        assert_eq!(peer.next_post().await.kind(), PostKind::Error(ids[1].clone()));
        // While the third GET /next waits, its connection is the only one open: the answered
        // invocations' connection carries it, or was closed; none is held beside it.
        let started = std::time::Instant::now();
        while peer.next_polls() < 3 || peer.open_connections() != 1 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} connections open while waiting on GET /next #{}: an answered one was kept",
                peer.open_connections(),
                peer.next_polls(),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peer.push_event("buffered");
    };
    tokio::join!(serve(&peer, 3), check);
    assert_eq!(peer.next_post().await.body(), "one piece");
}
