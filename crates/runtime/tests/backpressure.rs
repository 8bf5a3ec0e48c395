//! Backpressure (DESIGN "Memory does not grow with the response"): when the Runtime API stops
//! reading, `write().await` stops returning once the bounded body channel, hyper's buffer and the
//! kernel's socket buffers are full, and the bytes the handler got rid of stay bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lambda_stream::{BoxError, Bytes, LambdaContext, ResponseStreamWriter, Runtime, handler_fn};
use lambda_stream_test_support::runtime_api_peer::RuntimeApiPeer;

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 512; // 32 MiB in all
const TOTAL: u64 = (CHUNK * CHUNKS) as u64;

/// What may sit between the handler and the peer's reads: three channel frames, hyper's buffer and
/// one frame it holds, and the kernel's loopback socket buffers (send buffer autotuned up to
/// `tcp_wmem`'s 4 MiB maximum, receive buffer pinned small by the peer). Far below the total.
const MAX_IN_FLIGHT: u64 = 8 * 1024 * 1024;

fn chunk(i: usize) -> Bytes {
    Bytes::from(vec![(i % 251) as u8; CHUNK])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_stops_the_writer() {
    let peer = RuntimeApiPeer::builder().receive_buffer(64 * 1024).start().await;
    peer.pause_reading();
    peer.push_event(Bytes::new());
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        for i in 0..CHUNKS {
            writer.write(chunk(i)).await?;
            counter.fetch_add(CHUNK as u64, Ordering::SeqCst);
        }
        writer.finish().await?;
        Ok::<(), BoxError>(())
    });
    let runtime = Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap();
    let serving = tokio::spawn(runtime.serve(1));

    // Wait until the writer has stalled: no progress for half a second.
    let started = Instant::now();
    let mut last = written.load(Ordering::SeqCst);
    let mut still_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = written.load(Ordering::SeqCst);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if now > 0 && still_since.elapsed() >= Duration::from_millis(500) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the writer never stalled; {now} bytes written");
    }
    let stalled_at = written.load(Ordering::SeqCst);
    let received = peer.body_bytes_received();
    let in_flight = stalled_at - received;
    eprintln!("stalled after {stalled_at} bytes written, {received} read by the peer, {in_flight} in flight");
    assert!(stalled_at < TOTAL, "write() kept returning while nobody read: all {TOTAL} bytes accepted");
    assert!(in_flight <= MAX_IN_FLIGHT, "{in_flight} bytes in flight, more than {MAX_IN_FLIGHT}");

    // Reading again lets the rest through, in order and complete.
    peer.resume_reading();
    let post = peer.next_post().await;
    serving.await.unwrap().unwrap();
    assert_eq!(written.load(Ordering::SeqCst), TOTAL);
    assert!(post.ended_cleanly);
    let body = post.body();
    assert_eq!(body.len() as u64, TOTAL);
    for (i, piece) in body.chunks(CHUNK).enumerate() {
        assert!(piece.iter().all(|b| *b == (i % 251) as u8), "chunk {i} arrived out of order or damaged");
    }
}
