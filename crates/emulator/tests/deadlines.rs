//! Deadlines and bandwidth shaping on tokio's paused clock (no process involved): virtual time
//! makes the timing exact and the tests fast.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{WAIT, builder, client, runtime};
use lambda_stream_emulator::{Bandwidth, ClientEnd, FaultKind, FunctionConfig, Limits};
use lambda_stream_fixtures::scripted_runtime::Step;
use lambda_stream_protocol::diagnostic::error_types;

#[tokio::test(start_paused = true)]
async fn the_stream_is_cut_exactly_at_the_deadline() {
    let function = FunctionConfig::new("deadline").timeout(Duration::from_secs(3));
    let emulator = builder("deadline").function(function).build().await.unwrap();
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("a"),
        Step::Pause(Duration::from_secs(10)),
        Step::chunk("b"),
        Step::End,
    ]]);
    let mut response = client().get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"a");
    assert!(response.chunk().await.is_err());
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert_eq!(record.error().unwrap().error_type, error_types::SANDBOX_TIMEOUT);
    let taken = record.runtime.taken_at.unwrap();
    let (cut_at, end) = record.client.end.clone().unwrap();
    assert!(
        matches!(end, ClientEnd::Aborted { ref reason } if reason.starts_with(error_types::SANDBOX_TIMEOUT)),
        "{end:?}"
    );
    let after = cut_at - taken;
    assert!(after >= Duration::from_secs(3) && after < Duration::from_millis(3100), "cut {after:?} after /next");
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 409);
}

#[tokio::test(start_paused = true)]
async fn an_answer_after_the_deadline_is_refused_and_the_client_got_a_timeout() {
    let function = FunctionConfig::new("late").timeout(Duration::from_secs(2));
    let emulator = builder("late").function(function).build().await.unwrap();
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let next = rt.next().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 502, "nothing was written before the deadline");
    let body = response.text().await.unwrap();
    assert!(body.contains(error_types::SANDBOX_TIMEOUT), "{body}");
    let answer = rt.answer(&next.request_id, &[Step::Buffered { headers: vec![], body: Bytes::from("late") }]).await;
    let answer = answer.unwrap().unwrap();
    assert_eq!(answer.status, 409);
    assert!(answer.body.contains("already ended"), "{}", answer.body);
    let record = emulator.recorder().invocation(&next.request_id).unwrap();
    assert!(record.faults.iter().any(|f| f.kind == FaultKind::LateAnswer), "{:?}", record.faults);
}

/// Found by the `emulator` fuzz target: a runtime that asks for its next invocation without
/// answering the one it holds has "returned", but its caller still has no answer; the deadline
/// must still end that invocation instead of leaving the caller waiting forever.
#[tokio::test(start_paused = true)]
async fn a_runtime_that_asks_again_without_answering_still_times_out() {
    let function = FunctionConfig::new("unanswered").timeout(Duration::from_secs(2));
    let emulator = builder("unanswered").function(function).build().await.unwrap();
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    let rt = runtime(&emulator);
    let held = rt.next().await.unwrap();
    // The runtime asks again (its handler "returned") and never answers `held`.
    let again = tokio::spawn({
        let rt = runtime(&emulator);
        async move { rt.next().await }
    });
    let response = tokio::time::timeout(Duration::from_secs(10), call).await.expect("the caller is answered");
    let response = response.unwrap().unwrap();
    assert_eq!(response.status(), 502, "nothing was written before the deadline");
    let body = response.text().await.unwrap();
    assert!(body.contains(error_types::SANDBOX_TIMEOUT), "{body}");
    let record = emulator.recorder().invocation(&held.request_id).unwrap();
    assert!(record.runtime.returned_at.is_some(), "the second /next marked it returned: {record:?}");
    assert_eq!(record.error().unwrap().error_type, error_types::SANDBOX_TIMEOUT);
    again.abort();
}

#[tokio::test(start_paused = true)]
async fn bandwidth_is_shaped_after_the_burst() {
    let limits =
        Limits { bandwidth: Some(Bandwidth { burst_bytes: 1000, bytes_per_second: 1000 }), ..Limits::default() };
    let emulator = builder("shaped").limits(limits).build().await.unwrap();
    let chunk = Bytes::from(vec![b's'; 1000]);
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("application/octet-stream"),
        Step::Chunk(chunk.clone()),
        Step::Chunk(chunk.clone()),
        Step::Chunk(chunk),
        Step::End,
    ]]);
    let body = client().get(format!("{}/", emulator.url())).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 3000);
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    let at: Vec<Duration> = record.client.chunks.iter().map(|c| c.at - record.client.chunks[0].at).collect();
    assert_eq!(at.len(), 3);
    // The burst goes at once; each further 1000 bytes waits one second.
    assert!(at[1] >= Duration::from_millis(990) && at[1] < Duration::from_millis(1100), "{at:?}");
    assert!(at[2] >= Duration::from_millis(1990) && at[2] < Duration::from_millis(2100), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn aws_limits_give_six_mib_then_two_mib_per_second() {
    let emulator = builder("aws").aws_limits(true).build().await.unwrap();
    let mib = Bytes::from(vec![b'm'; 1024 * 1024]);
    let mut script = vec![Step::streaming("application/octet-stream")];
    script.extend((0..8).map(|_| Step::Chunk(mib.clone())));
    script.push(Step::End);
    let served = runtime(&emulator).spawn(vec![script]);
    let body = client().get(format!("{}/", emulator.url())).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 8 * 1024 * 1024);
    served.await.unwrap().unwrap();
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    // hyper hands a large chunk over in pieces as they come off the socket, so go by bytes.
    let first = record.client.chunks[0].at;
    let mut sent = 0usize;
    let mut burst_done = None;
    for chunk in &record.client.chunks {
        sent += chunk.len;
        if sent >= 6 * 1024 * 1024 && burst_done.is_none() {
            burst_done = Some(chunk.at - first);
        }
    }
    let sixth = burst_done.unwrap();
    let last = record.client.chunks.last().unwrap().at - first;
    assert!(sixth < Duration::from_millis(100), "the 6 MiB burst is not shaped: {sixth:?}");
    // 2 MiB past the burst at 2 MiB/s: one second.
    assert!(last >= Duration::from_millis(990) && last < Duration::from_millis(1200), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn work_after_the_response_lasts_until_the_runtime_asks_again_and_the_next_invocation_waits() {
    let function = FunctionConfig::new("background").timeout(Duration::from_secs(10));
    let emulator = builder("background").function(function).build().await.unwrap();
    let rt = runtime(&emulator);
    let first = tokio::spawn(client().get(format!("{}/first", emulator.url())).send());
    let (taken, _) = rt.serve_one(&[Step::streaming("text/plain"), Step::chunk("done"), Step::End]).await.unwrap();
    assert_eq!(first.await.unwrap().unwrap().text().await.unwrap(), "done");
    // The second request arrives while the handler is still at work after its response.
    let second = tokio::spawn(client().get(format!("{}/second", emulator.url())).send());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let record = emulator.recorder().invocation(&taken.request_id).unwrap();
    assert!(record.is_complete() && record.runtime.returned_at.is_none(), "{record:?}");
    // The runtime asks for more: the handler has returned, the second invocation starts.
    let (next, _) = rt.serve_one(&[Step::streaming("text/plain"), Step::chunk("second"), Step::End]).await.unwrap();
    assert_eq!(second.await.unwrap().unwrap().text().await.unwrap(), "second");
    let first = emulator.recorder().invocation(&taken.request_id).unwrap();
    let (client_end, _) = first.client.end.clone().unwrap();
    let returned = first.runtime.returned_at.unwrap();
    assert!(returned - client_end >= Duration::from_secs(2), "returned {returned:?}, body ended {client_end:?}");
    assert!(first.error().is_none(), "work within the deadline is no timeout: {first:?}");
    let second = emulator.recorder().invocation(&next.request_id).unwrap();
    assert!(second.runtime.taken_at.unwrap() >= returned, "the second invocation waited for the first to return");
}

/// The deadline of an invocation counts from `/next`, not from the call: one that waited in the
/// queue for most of the timeout still gets the whole timeout once a runtime takes it (the
/// deadline keeper moves it from the queue deadline to its own, platform.rs `deadline_passed`).
#[tokio::test(start_paused = true)]
async fn an_invocation_taken_late_from_the_queue_gets_its_whole_timeout() {
    let function = FunctionConfig::new("late-taken").timeout(Duration::from_secs(2));
    let emulator = builder("late-taken").function(function).build().await.unwrap();
    let call = tokio::spawn(client().get(format!("{}/", emulator.url())).send());
    // Queued for 1.5 of its 2 seconds before a runtime comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("a"),
        Step::Pause(Duration::from_secs(10)),
        Step::chunk("b"),
        Step::End,
    ]]);
    let mut response = call.await.unwrap().unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"a");
    assert!(response.chunk().await.is_err(), "the deadline cuts the stream");
    let record = emulator.recorder().wait_for_completed(1, WAIT).await.unwrap().remove(0);
    assert_eq!(record.error().unwrap().error_type, error_types::SANDBOX_TIMEOUT);
    let waited = record.runtime.taken_at.unwrap() - record.client.received_at.unwrap();
    assert!(waited >= Duration::from_millis(1500), "queued {waited:?}");
    let (cut_at, _) = record.client.end.clone().unwrap();
    let after = cut_at - record.runtime.taken_at.unwrap();
    assert!(after >= Duration::from_secs(2) && after < Duration::from_millis(2100), "cut {after:?} after /next");
    let (_, answer) = served.await.unwrap().unwrap().remove(0);
    assert_eq!(answer.unwrap().status, 409);
}

/// The deadline keeper waits to be told only when it has nothing to watch: after a quiet spell
/// longer than the timeout (it has looked at an empty book and waits), a request that no runtime
/// takes still times out in the queue, exactly at the timeout, and so does one right after it.
#[tokio::test(start_paused = true)]
async fn a_deadline_after_a_quiet_spell_is_kept() {
    let function = FunctionConfig::new("quiet").timeout(Duration::from_secs(2));
    let emulator = builder("quiet").function(function).build().await.unwrap();
    for round in 0..2 {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let call = client().get(format!("{}/round{round}", emulator.url())).send();
        let response = tokio::time::timeout(Duration::from_secs(10), call).await.expect("the caller is answered");
        let response = response.unwrap();
        assert_eq!(response.status(), 502);
        assert!(response.text().await.unwrap().contains(error_types::SANDBOX_TIMEOUT));
        let record = emulator.recorder().wait_for_completed(round + 1, WAIT).await.unwrap().remove(round);
        let (ended, _) = record.client.end.clone().unwrap();
        let queued = ended - record.client.received_at.unwrap();
        assert!(queued >= Duration::from_secs(2) && queued < Duration::from_millis(2100), "ended after {queued:?}");
    }
}

/// Waits (on the test's clock, for at most [`WAIT`]) until `n` invocations wait in the queue.
async fn until_queued(emulator: &lambda_stream_emulator::Emulator, n: usize) {
    tokio::time::timeout(WAIT, async {
        while emulator.queued() < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} requests never queued up"));
}

/// Nothing outlives its invocation: whichever way an invocation ends (answered, timed out in the
/// queue, cut at its deadline), the emulator lets go of it, and one that timed out in the queue
/// leaves the queue at once rather than when a runtime next asks (a function whose bootstrap
/// never starts would otherwise grow the queue with every request).
#[tokio::test(start_paused = true)]
async fn every_ended_invocation_leaves_the_queue_and_the_registry() {
    let function = FunctionConfig::new("let-go").timeout(Duration::from_secs(2));
    let emulator = builder("let-go").function(function).build().await.unwrap();
    let settled = |emulator: &lambda_stream_emulator::Emulator| emulator.in_flight() == 0 && emulator.queued() == 0;
    assert!(settled(&emulator));
    // Three requests and no runtime: they wait in the queue, then time out there.
    let calls: Vec<_> = (0..3).map(|i| tokio::spawn(client().get(format!("{}/q{i}", emulator.url())).send())).collect();
    until_queued(&emulator, 3).await;
    assert_eq!(emulator.in_flight(), 3);
    for call in calls {
        let response = call.await.unwrap().unwrap();
        assert_eq!(response.status(), 502);
        assert!(response.text().await.unwrap().contains(error_types::SANDBOX_TIMEOUT));
    }
    let wait_settled = || async {
        tokio::time::timeout(WAIT, async {
            while !settled(&emulator) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    };
    wait_settled().await.unwrap_or_else(|_| {
        panic!("timed out in the queue: {} in flight, {} queued", emulator.in_flight(), emulator.queued())
    });
    // One answered, one cut at its deadline.
    let rt = runtime(&emulator);
    let answered = tokio::spawn(client().get(format!("{}/answered", emulator.url())).send());
    rt.serve_one(&[Step::streaming("text/plain"), Step::chunk("done"), Step::End]).await.unwrap();
    assert_eq!(answered.await.unwrap().unwrap().text().await.unwrap(), "done");
    let cut = tokio::spawn(client().get(format!("{}/cut", emulator.url())).send());
    let served = runtime(&emulator).spawn(vec![vec![
        Step::streaming("text/plain"),
        Step::chunk("a"),
        Step::Pause(Duration::from_secs(10)),
        Step::End,
    ]]);
    let mut response = cut.await.unwrap().unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap().as_ref(), b"a");
    assert!(response.chunk().await.is_err(), "the deadline cuts the stream");
    wait_settled().await.unwrap_or_else(|_| {
        panic!("answered and cut: {} in flight, {} queued", emulator.in_flight(), emulator.queued())
    });
    served.abort();
}

/// An invocation that times out in the queue takes only itself out of it: one queued after it
/// is still there, and a runtime that asks next gets it.
#[tokio::test(start_paused = true)]
async fn a_timeout_in_the_queue_leaves_the_others_queued() {
    let function = FunctionConfig::new("queue").timeout(Duration::from_secs(2));
    let emulator = builder("queue").function(function).build().await.unwrap();
    let first = tokio::spawn(client().get(format!("{}/first", emulator.url())).send());
    until_queued(&emulator, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = tokio::spawn(client().get(format!("{}/second", emulator.url())).send());
    until_queued(&emulator, 2).await;
    let timed_out = first.await.unwrap().unwrap();
    assert_eq!(timed_out.status(), 502);
    assert!(timed_out.text().await.unwrap().contains(error_types::SANDBOX_TIMEOUT));
    assert_eq!((emulator.queued(), emulator.in_flight()), (1, 1), "the second is still queued");
    let served = runtime(&emulator).spawn(vec![vec![Step::streaming("text/plain"), Step::chunk("second"), Step::End]]);
    let response = second.await.unwrap().unwrap();
    assert_eq!((response.status().as_u16(), response.text().await.unwrap()), (200, "second".to_owned()));
    let (next, _) = served.await.unwrap().unwrap().remove(0);
    let event: serde_json::Value = serde_json::from_slice(&next.body).unwrap();
    assert_eq!(event["rawPath"], "/second");
}
