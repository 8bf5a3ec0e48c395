//! Memory is bounded by what is in flight (probe defects 4 and 11), measured as the resident set
//! of this test process. It is a test binary of its own with one test, so no other test's
//! allocations share the process while it measures. The bounds are generous (the old emulator
//! grew by ~290 MB on the first workload and without bound on the second); `just soak` measures
//! the whole emulator process under far longer runs.

mod common;

use common::{client, runtime, start};
use lambda_stream_fixtures::scripted_runtime::Step;

/// The resident set of this process, in bytes (Linux `/proc/self/statm`).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_by_what_is_in_flight() {
    let emulator = start("memory").await;
    // The runtime side drops each event as soon as it has answered, so the process holds at
    // most one event on that side: what grows is the emulator's.
    let serve = |n: usize| {
        let rt = runtime(&emulator);
        tokio::spawn(async move {
            for _ in 0..n {
                let answer = [Step::streaming("text/plain"), Step::chunk("ok"), Step::End];
                rt.serve_one(&answer).await.unwrap();
            }
        })
    };

    // Warm up allocator arenas and connections with a few of the same requests.
    let payload = vec![b'p'; 5 * 1024 * 1024];
    let served = serve(3);
    for _ in 0..3 {
        let response = client().post(format!("{}/big", emulator.url())).body(payload.clone()).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    served.await.unwrap();
    let before = rss();

    // Defect 4: 30 function URL POSTs of 5 MiB (binary, so the event carries 6.7 MB of base64).
    let served = serve(30);
    for _ in 0..30 {
        let response = client().post(format!("{}/big", emulator.url())).body(payload.clone()).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    served.await.unwrap();
    let after_posts = rss();

    // Defect 11: 5,000 answers for request ids that never existed.
    let api = emulator.runtime_api();
    let http = client();
    for i in 0..5_000 {
        let url = format!("http://{api}/2018-06-01/runtime/invocation/nobody-{i:06}/response");
        assert_eq!(http.post(url).body("x").send().await.unwrap().status(), 400);
    }
    let after_unknown = rss();

    eprintln!(
        "RSS: {:.1} MiB before, {:.1} MiB after 30 x 5 MiB POSTs, {:.1} MiB after 5,000 unknown-id posts",
        before as f64 / MIB as f64,
        after_posts as f64 / MIB as f64,
        after_unknown as f64 / MIB as f64
    );
    assert!(after_posts < before + 64 * MIB, "30 finished 5 MiB invocations kept {} MiB", (after_posts - before) / MIB);
    assert!(
        after_unknown < after_posts + 16 * MIB,
        "5,000 unknown-id posts kept {} MiB",
        after_unknown.saturating_sub(after_posts) / MIB
    );
    assert_eq!(emulator.recorder().fault_count(), 5_000);
}
