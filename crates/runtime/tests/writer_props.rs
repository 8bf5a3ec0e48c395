//! Property test of the writer's state rules (in the manner of quinn's `fuzz_targets/streams.rs`):
//! random sequences of the four operations with random payloads (often empty) run through the real
//! runtime against the scripted Runtime API peer, and against a small reference model. Both must
//! accept the same operations, reject the others with the same `StreamError` variant, and the bytes
//! on the wire must be the model's: the prelude only when status/headers were set, the chunks in
//! order, one end, buffered or streamed as the model says.

use std::sync::{Arc, Mutex};

use lambda_stream::{Bytes, LambdaContext, Prelude, ResponseStreamWriter, Runtime, StreamError, handler_fn};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Headers(Prelude),
    Write(Vec<u8>),
    Finish,
    WriteAndFinish(Vec<u8>),
}

/// Empty, small, or now and then large enough (up to 256 KiB) to span several hyper reads and fill
/// the body channel.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        6 => prop::collection::vec(any::<u8>(), 1..48),
        1 => (any::<u8>(), 1024_usize..256 * 1024).prop_map(|(byte, len)| vec![byte; len]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (100_u16..600, proptest::option::of("[a-z]{1,8}")).prop_map(|(status, header)| {
            let prelude = Prelude::with_status(status);
            Op::Headers(match header {
                Some(value) => prelude.header("x-prop", value),
                None => prelude,
            })
        }),
        payload().prop_map(Op::Write),
        Just(Op::Finish),
        payload().prop_map(Op::WriteAndFinish),
    ]
}

/// What the model expects on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Buffered,
    Streamed,
}

enum State {
    Idle,
    HeadersSet(Prelude),
    Streaming,
    Finished,
}

/// The reference model: the state diagram of `ResponseStreamWriter`, written out plainly.
struct Model {
    state: State,
    mode: Option<Mode>,
    prelude_sent: bool,
    wire: Vec<u8>,
}

impl Model {
    fn new() -> Self {
        Self { state: State::Idle, mode: None, prelude_sent: false, wire: Vec::new() }
    }

    /// Leaves Idle/HeadersSet for the wire in `mode`, putting the prelude first if one was set.
    fn start(&mut self, mode: Mode) {
        if let State::HeadersSet(prelude) = &self.state {
            self.wire.extend_from_slice(&prelude.encode());
            self.prelude_sent = true;
        }
        self.mode = Some(mode);
    }

    fn apply(&mut self, op: &Op) -> Result<(), StreamError> {
        match (op, &self.state) {
            (Op::Headers(p), State::Idle) => self.state = State::HeadersSet(p.clone()),
            (Op::Headers(_), State::HeadersSet(_)) => return Err(StreamError::HeadersTwice),
            (Op::Headers(_), State::Streaming) => return Err(StreamError::HeadersAfterBody),
            (Op::Headers(_), State::Finished) => return Err(StreamError::HeadersAfterFinish),
            (Op::Write(_), State::Finished) => return Err(StreamError::WriteAfterFinish),
            (Op::Finish | Op::WriteAndFinish(_), State::Finished) => return Err(StreamError::FinishAfterFinish),
            (Op::Write(bytes), State::Idle | State::HeadersSet(_)) => {
                self.start(Mode::Streamed);
                self.wire.extend_from_slice(bytes);
                self.state = State::Streaming;
            }
            (Op::Write(bytes), State::Streaming) => self.wire.extend_from_slice(bytes),
            // Payloads here are far below 6 MB, so a first-call finish is always buffered.
            (Op::Finish, State::Idle | State::HeadersSet(_)) => {
                self.start(Mode::Buffered);
                self.state = State::Finished;
            }
            (Op::WriteAndFinish(bytes), State::Idle | State::HeadersSet(_)) => {
                self.start(Mode::Buffered);
                self.wire.extend_from_slice(bytes);
                self.state = State::Finished;
            }
            (Op::Finish, State::Streaming) => self.state = State::Finished,
            (Op::WriteAndFinish(bytes), State::Streaming) => {
                self.wire.extend_from_slice(bytes);
                self.state = State::Finished;
            }
        }
        Ok(())
    }

    /// The handler returned `Ok`: the runtime finishes what is open.
    fn complete(&mut self) {
        match self.state {
            State::Idle | State::HeadersSet(_) => {
                self.start(Mode::Buffered);
            }
            State::Streaming | State::Finished => {}
        }
        self.state = State::Finished;
    }
}

/// Runs `ops` in one invocation through the runtime; returns each result and the recorded POST.
async fn run_through_runtime(peer: &RuntimeApiPeer, ops: &[Op]) -> (Vec<Result<(), StreamError>>, RecordedRequest) {
    let id = peer.push_event(Bytes::new());
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let ops = ops.to_vec();
    let handler = handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        for op in &ops {
            let result = match op {
                Op::Headers(p) => writer.write_status_and_headers(p.clone()).await,
                Op::Write(b) => writer.write(b.clone()).await,
                Op::Finish => writer.finish().await,
                Op::WriteAndFinish(b) => writer.write_and_finish(b.clone()).await,
            };
            sink.lock().unwrap().push(result);
        }
        Ok::<(), StreamError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id));
    let results = results.lock().unwrap().clone();
    (results, post)
}

fn check(ops: &[Op], results: &[Result<(), StreamError>], post: &RecordedRequest) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    let expected: Vec<_> = ops.iter().map(|op| model.apply(op)).collect();
    model.complete();
    prop_assert_eq!(results, &expected[..], "accepted and rejected operations differ from the model");

    let mode = model.mode.expect("complete() always decides a mode");
    prop_assert!(post.ended_cleanly, "one clean end");
    prop_assert!(post.trailers.is_none(), "no trailers on a successful answer");
    prop_assert_eq!(&post.body()[..], &model.wire[..], "the bytes on the wire");
    let content_type = post.header("content-type");
    if model.prelude_sent {
        prop_assert_eq!(content_type, Some(names::HTTP_INTEGRATION_CONTENT_TYPE));
    } else {
        prop_assert_eq!(content_type, Some(names::DEFAULT_STREAM_CONTENT_TYPE));
    }
    match mode {
        Mode::Buffered => {
            prop_assert!(!post.is_chunked());
            prop_assert_eq!(post.content_length(), Some(model.wire.len() as u64));
            prop_assert_eq!(post.header(names::RESPONSE_MODE), None);
        }
        Mode::Streamed => {
            prop_assert!(post.is_chunked());
            prop_assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
            prop_assert!(post.chunks.iter().all(|c| !c.bytes.is_empty()), "no empty chunk (it would end the body)");
        }
    }
    Ok(())
}

#[test]
fn random_operation_sequences_match_the_model_on_the_wire() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let peer = rt.block_on(RuntimeApiPeer::start());
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::with_cases(512) });
    let outcome = runner.run(&prop::collection::vec(op(), 0..8), |ops| {
        let (results, post) = rt.block_on(run_through_runtime(&peer, &ops));
        check(&ops, &results, &post)
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// The model itself, on a few hand-written sequences, so that a wrong model cannot pass unnoticed.
#[test]
fn the_model_follows_the_documented_rules() {
    let mut m = Model::new();
    assert_eq!(m.apply(&Op::Headers(Prelude::with_status(201))), Ok(()));
    assert_eq!(m.apply(&Op::Headers(Prelude::with_status(202))), Err(StreamError::HeadersTwice));
    assert_eq!(m.apply(&Op::Write(b"a".to_vec())), Ok(()));
    assert_eq!(m.apply(&Op::Headers(Prelude::with_status(203))), Err(StreamError::HeadersAfterBody));
    assert_eq!(m.apply(&Op::WriteAndFinish(b"b".to_vec())), Ok(()));
    assert_eq!(m.apply(&Op::Write(b"c".to_vec())), Err(StreamError::WriteAfterFinish));
    assert_eq!(m.apply(&Op::Finish), Err(StreamError::FinishAfterFinish));
    m.complete();
    let mut wire = Prelude::with_status(201).encode().to_vec();
    wire.extend_from_slice(b"ab");
    assert_eq!((m.mode, m.wire), (Some(Mode::Streamed), wire));

    let mut m = Model::new();
    m.complete();
    assert_eq!((m.mode, m.wire.len(), m.prelude_sent), (Some(Mode::Buffered), 0, false));
}
