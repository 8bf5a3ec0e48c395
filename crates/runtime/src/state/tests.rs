//! The state machine driven directly, with no I/O: long random call sequences against a small
//! reference model (in the manner of quinn's `fuzz_targets/streams.rs`).
//!
//! The model is written from the outside: it knows the documented rules (docs/protocol.md §4 and
//! the table on `ResponseStreamWriter`) and what must end up on the wire, not the machine's phases
//! or actions. A small interpreter plays the machine's actions onto a simulated wire and refuses
//! any action that could not happen on a real one (a second answer for one invocation, a chunk
//! before the stream opened or after it ended, an empty chunk). After every call the test checks:
//! - the call's result is the model's, to the exact `StreamError` variant;
//! - a misuse leaves the machine exactly as it was;
//! - the simulated wire and the log are the model's, chunk for chunk.
//!
//! Cheap enough for 10,000 sequences of up to 48 calls in the normal `cargo test` run.

use bytes::Bytes;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRunner};

use super::{Action, Unreported, WriterState};
use crate::error::StreamError;

/// Lambda's buffered-response limit as the model knows it (6 MB, RS-CONF), written out here rather
/// than taken from the protocol crate, so a wrong constant there cannot agree with itself.
const SIX_MB: usize = 6_000_000;

/// Zeroes to slice large payloads from without allocating (static, so `Bytes` borrows it).
static LARGE: [u8; SIX_MB + 1] = [0; SIX_MB + 1];

const INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
const OCTET_STREAM: &str = "application/octet-stream";

/// One call of the handler, or the Runtime API failing the response under it.
#[derive(Debug, Clone)]
enum Op {
    ContentType(String),
    Headers(Prelude),
    Write(Bytes),
    Finish,
    WriteAndFinish(Bytes),
    /// The writer saw the Runtime API fail while performing an action.
    Fault(StreamError),
}

/// How the handler ended.
#[derive(Debug, Clone)]
enum End {
    Returned,
    Failed(ErrorDiagnostic),
}

/// One request on the (simulated) wire.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    /// A streamed `POST /response`: its head's content type, its chunks, how it ended.
    Streamed { content_type: String, chunks: Vec<Bytes>, end: StreamEnd },
    /// A buffered `POST /response`.
    Buffered { content_type: String, body: Bytes },
    /// `POST /error`.
    Error(ErrorDiagnostic),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StreamEnd {
    Open,
    Clean,
    Trailers(ErrorDiagnostic),
}

/// What happened outside the machine: requests on the wire and log lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wire {
    requests: Vec<Request>,
    logged: Vec<(ErrorDiagnostic, Unreported)>,
}

impl Wire {
    fn open_stream(&mut self) -> Result<&mut Vec<Bytes>, String> {
        match self.requests.last_mut() {
            Some(Request::Streamed { chunks, end: StreamEnd::Open, .. }) => Ok(chunks),
            other => Err(format!("a stream action with no open stream: {other:?}")),
        }
    }

    fn first_answer(&self, what: &str) -> Result<(), String> {
        match self.requests.is_empty() {
            true => Ok(()),
            false => Err(format!("{what} after the invocation was already answered: {:?}", self.requests)),
        }
    }

    /// Plays one action; an action no real wire could carry is an error.
    fn perform(&mut self, action: Action) -> Result<(), String> {
        match action {
            Action::Nothing => {}
            Action::Stream { open, chunk, end } => {
                if open.is_none() && chunk.is_none() && !end {
                    return Err("an empty Stream action instead of Nothing".into());
                }
                if let Some(open) = open {
                    self.first_answer("opening a stream")?;
                    let chunks = open.prelude.map(Vec::from).unwrap_or_default();
                    self.requests.push(Request::Streamed {
                        content_type: open.content_type,
                        chunks,
                        end: StreamEnd::Open,
                    });
                }
                let chunks = self.open_stream()?;
                if let Some(chunk) = chunk {
                    if chunk.is_empty() {
                        return Err("an empty chunk would end a chunked body".into());
                    }
                    chunks.push(chunk);
                }
                if end && let Some(Request::Streamed { end, .. }) = self.requests.last_mut() {
                    *end = StreamEnd::Clean;
                }
            }
            Action::Buffered { content_type, body } => {
                self.first_answer("a buffered answer")?;
                self.requests.push(Request::Buffered { content_type, body });
            }
            Action::EndWithTrailers(diagnostic) => {
                self.open_stream()?;
                if let Some(Request::Streamed { end, .. }) = self.requests.last_mut() {
                    *end = StreamEnd::Trailers(diagnostic);
                }
            }
            Action::ReportError(diagnostic) => {
                self.first_answer("POST /error")?;
                self.requests.push(Request::Error(diagnostic));
            }
            Action::Log(diagnostic, why) => self.logged.push((diagnostic, why)),
        }
        Ok(())
    }
}

/// The reference model: the documented rules, as flags and the wire they must produce.
#[derive(Debug, Default)]
struct Model {
    content_type: Option<String>,
    head: Option<Prelude>,
    /// A streamed request is open or was opened.
    started: bool,
    /// finish/write_and_finish happened, or the handler ended.
    finished: bool,
    fault: Option<StreamError>,
    wire: Wire,
}

impl Model {
    /// The prelude as it goes out: the author's content type joins its headers unless it has one.
    fn prelude_bytes(&self) -> Option<Bytes> {
        let head = self.head.as_ref()?;
        let names_one =
            head.headers.keys().chain(head.multi_value_headers.keys()).any(|k| k.eq_ignore_ascii_case("content-type"));
        Some(match (&self.content_type, names_one) {
            (Some(ct), false) => head.clone().header("content-type", ct.clone()).encode(),
            _ => head.encode(),
        })
    }

    fn head_content_type(&self) -> String {
        match (&self.head, &self.content_type) {
            (Some(_), _) => INTEGRATION.into(),
            (None, Some(ct)) => ct.clone(),
            (None, None) => OCTET_STREAM.into(),
        }
    }

    fn open(&mut self) {
        let mut chunks = Vec::new();
        if let Some(p) = self.prelude_bytes() {
            chunks.push(p.slice(..p.len() - 8));
            chunks.push(p.slice(p.len() - 8..));
        }
        let content_type = self.head_content_type();
        self.wire.requests.push(Request::Streamed { content_type, chunks, end: StreamEnd::Open });
        self.started = true;
    }

    fn push_chunk(&mut self, chunk: &Bytes) {
        if let (false, Some(Request::Streamed { chunks, .. })) = (chunk.is_empty(), self.wire.requests.last_mut()) {
            chunks.push(chunk.clone());
        }
    }

    fn end_stream(&mut self, how: StreamEnd) {
        if let Some(Request::Streamed { end, .. }) = self.wire.requests.last_mut() {
            *end = how;
        }
    }

    /// The first body call is also the last: one buffered request when it fits in 6 MB.
    fn first_and_last(&mut self, chunk: &Bytes) {
        let prelude = self.prelude_bytes().unwrap_or_default();
        if prelude.len() + chunk.len() <= SIX_MB {
            let mut body = prelude.to_vec();
            body.extend_from_slice(chunk);
            let content_type = self.head_content_type();
            self.wire.requests.push(Request::Buffered { content_type, body: body.into() });
        } else {
            self.open();
            self.push_chunk(chunk);
            self.end_stream(StreamEnd::Clean);
        }
    }

    fn call(&mut self, op: &Op) -> Result<(), StreamError> {
        if let Op::Fault(fault) = op {
            self.fault = Some(fault.clone());
            return Ok(());
        }
        if let Some(fault) = &self.fault {
            return Err(fault.clone());
        }
        match op {
            Op::ContentType(value) => {
                if self.started || self.finished {
                    return Err(StreamError::ContentTypeAfterStart);
                }
                if !value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                    return Err(StreamError::InvalidContentType { value: value.clone() });
                }
                self.content_type = Some(value.clone());
            }
            Op::Headers(head) => {
                if self.finished {
                    return Err(StreamError::HeadersAfterFinish);
                }
                if self.started {
                    return Err(StreamError::HeadersAfterBody);
                }
                if self.head.is_some() {
                    return Err(StreamError::HeadersTwice);
                }
                self.head = Some(head.clone());
            }
            Op::Write(chunk) => {
                if self.finished {
                    return Err(StreamError::WriteAfterFinish);
                }
                if !self.started {
                    self.open();
                }
                self.push_chunk(chunk);
            }
            Op::Finish | Op::WriteAndFinish(_) => {
                if self.finished {
                    return Err(StreamError::FinishAfterFinish);
                }
                let chunk = match op {
                    Op::WriteAndFinish(chunk) => chunk.clone(),
                    _ => Bytes::new(),
                };
                if self.started {
                    self.push_chunk(&chunk);
                    self.end_stream(StreamEnd::Clean);
                } else {
                    self.first_and_last(&chunk);
                }
                self.finished = true;
            }
            Op::Fault(_) => unreachable!("handled above"),
        }
        Ok(())
    }

    fn end(&mut self, end: &End) {
        match (end, &self.fault) {
            (End::Returned, Some(_)) => {}
            (End::Failed(d), Some(fault)) => self.wire.logged.push((d.clone(), Unreported::Fault(fault.clone()))),
            (End::Returned, None) if self.finished => {}
            (End::Failed(d), None) if self.finished => self.wire.logged.push((d.clone(), Unreported::Finished)),
            // Returned without finishing: finished for it, never an error.
            (End::Returned, None) if self.started => self.end_stream(StreamEnd::Clean),
            (End::Returned, None) => self.first_and_last(&Bytes::new()),
            (End::Failed(d), None) if self.started => self.end_stream(StreamEnd::Trailers(d.clone())),
            (End::Failed(d), None) => self.wire.requests.push(Request::Error(d.clone())),
        }
        self.finished = true;
    }
}

/// Plays `op` on the machine; the action goes onto `wire`.
fn drive(machine: &mut WriterState, wire: &mut Wire, op: &Op) -> Result<Result<(), StreamError>, String> {
    let action = match op {
        Op::ContentType(value) => machine.set_content_type(value.clone()).map(|()| Action::Nothing),
        Op::Headers(head) => machine.status_and_headers(head.clone()),
        Op::Write(chunk) => machine.write(chunk.clone()),
        Op::Finish => machine.finish(),
        Op::WriteAndFinish(chunk) => machine.write_and_finish(chunk.clone()),
        Op::Fault(fault) => {
            machine.fault(fault.clone());
            Ok(Action::Nothing)
        }
    };
    match action {
        Ok(action) => wire.perform(action).map(|()| Ok(())),
        Err(e) => Ok(Err(e)),
    }
}

/// Bytes equal by content; the same slice of the same buffer is equal without reading 6 MB.
fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

fn same_request(a: &Request, b: &Request) -> bool {
    match (a, b) {
        (
            Request::Streamed { content_type: ct_a, chunks: a, end: end_a },
            Request::Streamed { content_type: ct_b, chunks: b, end: end_b },
        ) => ct_a == ct_b && end_a == end_b && a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_bytes(a, b)),
        (Request::Buffered { content_type: ct_a, body: a }, Request::Buffered { content_type: ct_b, body: b }) => {
            ct_a == ct_b && same_bytes(a, b)
        }
        _ => a == b,
    }
}

fn same_wire(a: &Wire, b: &Wire) -> bool {
    a.logged == b.logged
        && a.requests.len() == b.requests.len()
        && a.requests.iter().zip(&b.requests).all(|(a, b)| same_request(a, b))
}

/// The wire for a failure message: large bodies by their length, not their 6 MB of bytes.
fn summary(wire: &Wire) -> String {
    let short = |b: &Bytes| match b.len() {
        0..=64 => format!("{b:?}"),
        n => format!("<{n} bytes>"),
    };
    let requests: Vec<String> = wire
        .requests
        .iter()
        .map(|r| match r {
            Request::Streamed { content_type, chunks, end } => {
                let chunks: Vec<String> = chunks.iter().map(short).collect();
                format!("Streamed({content_type}, [{}], {end:?})", chunks.join(", "))
            }
            Request::Buffered { content_type, body } => format!("Buffered({content_type}, {})", short(body)),
            Request::Error(d) => format!("Error({d:?})"),
        })
        .collect();
    format!("requests [{}], logged {:?}", requests.join(", "), wire.logged)
}

/// Runs one case; the first difference from the model fails it, naming the call.
fn check(ops: &[Op], end: &End) -> Result<(), TestCaseError> {
    let mut machine = WriterState::new();
    let mut wire = Wire::default();
    let mut model = Model::default();
    for (i, op) in ops.iter().enumerate() {
        let before = machine.clone();
        let got =
            drive(&mut machine, &mut wire, op).map_err(|e| TestCaseError::fail(format!("call {i} {op:?}: {e}")))?;
        let expected = model.call(op);
        prop_assert_eq!(machine.fault_seen(), model.fault.as_ref(), "call {} {:?}: the fault kept", i, op);
        prop_assert_eq!(&got, &expected, "call {} {:?}: the result", i, op);
        if let Err(e) = &got {
            prop_assert_eq!(&machine, &before, "call {} {:?}: an error ({}) changed the state", i, op, e);
        }
        prop_assert!(
            same_wire(&wire, &model.wire),
            "call {} {:?}: the wire\n machine: {}\n   model: {}",
            i,
            op,
            summary(&wire),
            summary(&model.wire)
        );
    }
    let action = match end {
        End::Returned => machine.returned(),
        End::Failed(d) => machine.handler_failed(d.clone()),
    };
    wire.perform(action).map_err(|e| TestCaseError::fail(format!("end {end:?}: {e}")))?;
    model.end(end);
    prop_assert!(
        same_wire(&wire, &model.wire),
        "after the handler ended ({:?})\n machine: {}\n   model: {}",
        end,
        summary(&wire),
        summary(&model.wire)
    );

    // Without a fault, the invocation got exactly one answer, and it is complete.
    if model.fault.is_none() {
        prop_assert_eq!(wire.requests.len(), 1, "one answer per invocation: {:?}", wire.requests);
        let complete = !matches!(wire.requests[0], Request::Streamed { end: StreamEnd::Open, .. });
        prop_assert!(complete, "the stream was left open: {:?}", wire.requests);
    }
    // Once the handler ended the response is over: nothing more goes on the wire.
    for op in [Op::Write(Bytes::from_static(b"late")), Op::Finish] {
        let late = drive(&mut machine, &mut wire, &op).map_err(TestCaseError::fail)?;
        prop_assert!(late.is_err(), "{:?} after the handler ended was accepted", op);
    }
    prop_assert!(same_wire(&wire, &model.wire), "a call after the end reached the wire: {}", summary(&wire));
    Ok(())
}

/// Empty, or a few bytes.
fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        1 => Just(Bytes::new()),
        4 => prop::collection::vec(any::<u8>(), 1..24).prop_map(Bytes::from),
    ]
}

/// A final chunk: now and then around 6 MB, so that prelude + payload lands on both sides of the
/// buffered limit (only the first-and-last body call cares about the size).
fn final_payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        24 => payload(),
        1 => (SIX_MB - 300..=SIX_MB + 1).prop_map(|len| Bytes::from_static(&LARGE[..len])),
    ]
}

fn prelude() -> impl Strategy<Value = Prelude> {
    let name = prop::sample::select(vec!["x-prop", "content-type", "Content-Type", "set-cookie"]);
    (100_u16..600, prop::option::of((name, "[a-z]{1,8}")), any::<bool>(), prop::option::of("[a-z]{1,6}=[a-z]{1,6}"))
        .prop_map(|(status, header, multi, cookie)| {
            let mut head = Prelude::with_status(status);
            if let Some((name, value)) = header {
                if multi {
                    head.multi_value_headers.insert(name.to_owned(), vec![value]);
                } else {
                    head = head.header(name, value);
                }
            }
            if let Some(cookie) = cookie {
                head = head.cookie(cookie);
            }
            head
        })
}

fn op() -> impl Strategy<Value = Op> {
    let content_type = prop_oneof![
        4 => "[a-z]{1,8}/[a-z]{1,8}",
        1 => prop::sample::select(vec!["text/plain\r\nx: y", "caf\u{e9}", "a\u{7f}b", "\ttab ok"]).prop_map(String::from),
    ];
    let fault = prop_oneof![
        "[a-z ]{0,12}".prop_map(|reason| StreamError::Disconnected { reason }),
        (400_u16..600, "[a-z]{0,8}").prop_map(|(status, body)| StreamError::Rejected { status, body }),
    ];
    prop_oneof![
        2 => content_type.prop_map(Op::ContentType),
        3 => prelude().prop_map(Op::Headers),
        8 => payload().prop_map(Op::Write),
        2 => Just(Op::Finish),
        2 => final_payload().prop_map(Op::WriteAndFinish),
        1 => fault.prop_map(Op::Fault),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Returned),
        1 => ("Function\\.[A-Z][a-z]{1,8}", "[a-z ]{0,16}").prop_map(|(t, m)| End::Failed(ErrorDiagnostic::new(t, m))),
    ]
}

/// Cases in the normal test run: the machine is pure, so 10,000 take a few seconds.
const CASES: u32 = 10_000;

#[test]
fn random_call_sequences_follow_the_model() {
    // XorShift: proptest's default ChaCha generator, unoptimised in a debug build, took most of
    // the time; the sequences need variety, not cryptographic randomness.
    let config =
        Config { failure_persistence: None, rng_algorithm: RngAlgorithm::XorShift, ..Config::with_cases(CASES) };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&(prop::collection::vec(op(), 0..48), end()), |(ops, end)| check(&ops, &end));
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

// Hand-written sequences: the rules the model encodes, pinned one by one, so that a wrong model
// cannot pass unnoticed, and the machine's answers to them.

fn run_ops(ops: &[Op], end: End) -> (Vec<Result<(), StreamError>>, Wire) {
    let mut machine = WriterState::new();
    let mut wire = Wire::default();
    let results = ops.iter().map(|op| drive(&mut machine, &mut wire, op).unwrap()).collect();
    let action = match end {
        End::Returned => machine.returned(),
        End::Failed(d) => machine.handler_failed(d),
    };
    wire.perform(action).unwrap();
    (results, wire)
}

fn model_ops(ops: &[Op], end: End) -> (Vec<Result<(), StreamError>>, Wire) {
    let mut model = Model::default();
    let results = ops.iter().map(|op| model.call(op)).collect();
    model.end(&end);
    (results, model.wire)
}

fn both(ops: &[Op], end: End) -> (Vec<Result<(), StreamError>>, Wire) {
    let from_machine = run_ops(ops, end.clone());
    let from_model = model_ops(ops, end);
    assert_eq!(from_machine, from_model, "machine and model disagree on {ops:?}");
    from_machine
}

fn text(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

#[test]
fn each_misuse_has_its_own_variant() {
    use Op::*;
    use StreamError::*;
    let head = || Headers(Prelude::with_status(201));
    let cases: [(Vec<Op>, StreamError); 9] = [
        (vec![Finish, Finish], FinishAfterFinish),
        (vec![Write(text("a")), Finish, Finish], FinishAfterFinish),
        (vec![WriteAndFinish(text("a")), WriteAndFinish(text("b"))], FinishAfterFinish),
        (vec![Finish, Write(text("a"))], WriteAfterFinish),
        (vec![head(), head()], HeadersTwice),
        (vec![Write(Bytes::new()), head()], HeadersAfterBody),
        (vec![Finish, head()], HeadersAfterFinish),
        (vec![Write(text("a")), ContentType("text/plain".into())], ContentTypeAfterStart),
        (vec![ContentType("a\nb".into())], InvalidContentType { value: "a\nb".into() }),
    ];
    for (ops, expected) in cases {
        let (results, _) = both(&ops, End::Returned);
        let (last, before) = results.split_last().unwrap();
        assert!(before.iter().all(Result::is_ok), "{ops:?}: {results:?}");
        assert_eq!(last, &Err(expected), "{ops:?}");
    }
}

#[test]
fn a_fault_sticks_and_is_never_misuse() {
    let fault = StreamError::Rejected { status: 413, body: "too large".into() };
    let ops = [Op::Write(text("a")), Op::Fault(fault.clone()), Op::Write(text("b")), Op::Finish, Op::Finish];
    let (results, wire) = both(&ops, End::Failed(ErrorDiagnostic::new("Function.X", "late")));
    assert_eq!(results[2..], [Err(fault.clone()), Err(fault.clone()), Err(fault.clone())]);
    assert_eq!(wire.logged, [(ErrorDiagnostic::new("Function.X", "late"), Unreported::Fault(fault))]);
}

#[test]
fn returning_without_finishing_finishes_the_response() {
    // Nothing written: an empty buffered answer.
    let (_, wire) = both(&[], End::Returned);
    assert_eq!(wire.requests, [Request::Buffered { content_type: OCTET_STREAM.into(), body: Bytes::new() }]);
    // Only status and headers: a buffered answer holding them (NODE issue 97).
    let head = Prelude::with_status(404);
    let (_, wire) = both(&[Op::Headers(head.clone())], End::Returned);
    assert_eq!(wire.requests, [Request::Buffered { content_type: INTEGRATION.into(), body: head.encode() }]);
    // An open stream: ended cleanly, no trailers.
    let (_, wire) = both(&[Op::Write(text("a"))], End::Returned);
    let chunks = vec![text("a")];
    assert_eq!(wire.requests, [Request::Streamed { content_type: OCTET_STREAM.into(), chunks, end: StreamEnd::Clean }]);
    assert!(wire.logged.is_empty(), "returning without finishing is not an error");
}

#[test]
fn a_failed_handler_is_reported_where_it_still_can_be() {
    let d = ErrorDiagnostic::new("Function.X", "boom");
    let (_, wire) = both(&[Op::Headers(Prelude::with_status(200))], End::Failed(d.clone()));
    assert_eq!(wire.requests, [Request::Error(d.clone())], "held headers are dropped; /error");
    let (_, wire) = both(&[Op::Write(text("a"))], End::Failed(d.clone()));
    let chunks = vec![text("a")];
    let trailers = StreamEnd::Trailers(d.clone());
    assert_eq!(wire.requests, [Request::Streamed { content_type: OCTET_STREAM.into(), chunks, end: trailers }]);
    let (_, wire) = both(&[Op::Finish], End::Failed(d.clone()));
    assert_eq!(wire.requests.len(), 1);
    assert_eq!(wire.logged, [(d, Unreported::Finished)], "after finishing: logged, the response stands");
}

#[test]
fn the_prelude_opens_the_stream_as_two_chunks_and_takes_the_authors_content_type() {
    let ops = [Op::ContentType("text/html".into()), Op::Headers(Prelude::with_status(201)), Op::Write(text("<p>"))];
    let (_, wire) = both(&ops, End::Returned);
    let prelude = Prelude::with_status(201).header("content-type", "text/html").encode();
    let (json, delimiter) = prelude.split_at(prelude.len() - 8);
    let Request::Streamed { content_type, chunks, end } = &wire.requests[0] else { panic!("{wire:?}") };
    assert_eq!(content_type, INTEGRATION);
    assert_eq!(chunks, &[Bytes::copy_from_slice(json), Bytes::copy_from_slice(delimiter), text("<p>")]);
    assert_eq!(delimiter, [0; 8]);
    assert_eq!(end, &StreamEnd::Clean);
    // A prelude that names its own content type keeps it.
    let own = Prelude::with_status(200).header("Content-Type", "application/json");
    let ops = [Op::ContentType("text/html".into()), Op::Headers(own.clone()), Op::Finish];
    let (_, wire) = both(&ops, End::Returned);
    assert_eq!(wire.requests, [Request::Buffered { content_type: INTEGRATION.into(), body: own.encode() }]);
    // Without a prelude the author's content type is the head's.
    let (_, wire) = both(&[Op::ContentType("text/csv".into()), Op::WriteAndFinish(text("a,b"))], End::Returned);
    assert_eq!(wire.requests, [Request::Buffered { content_type: "text/csv".into(), body: text("a,b") }]);
}

#[test]
fn six_megabytes_with_the_prelude_is_the_buffered_limit() {
    let head = Prelude::with_status(200);
    let prelude_len = head.encode().len();
    let at_limit = Bytes::from_static(&LARGE[..SIX_MB - prelude_len]);
    let (_, wire) = both(&[Op::Headers(head.clone()), Op::WriteAndFinish(at_limit)], End::Returned);
    assert!(matches!(&wire.requests[..], [Request::Buffered { body, .. }] if body.len() == SIX_MB));
    let over = Bytes::from_static(&LARGE[..SIX_MB - prelude_len + 1]);
    let (_, wire) = both(&[Op::Headers(head), Op::WriteAndFinish(over)], End::Returned);
    assert!(
        matches!(&wire.requests[..], [Request::Streamed { end: StreamEnd::Clean, chunks, .. }] if chunks.len() == 3)
    );
    let (_, wire) = both(&[Op::WriteAndFinish(Bytes::from_static(&LARGE[..SIX_MB]))], End::Returned);
    assert!(matches!(&wire.requests[..], [Request::Buffered { body, .. }] if body.len() == SIX_MB));
    let (_, wire) = both(&[Op::WriteAndFinish(Bytes::from_static(&LARGE))], End::Returned);
    assert!(matches!(&wire.requests[..], [Request::Streamed { chunks, .. }] if chunks.len() == 1));
}

#[test]
fn an_empty_write_opens_the_stream_and_sends_nothing_else() {
    let (_, wire) = both(&[Op::Write(Bytes::new()), Op::Write(Bytes::new())], End::Returned);
    let empty = Request::Streamed { content_type: OCTET_STREAM.into(), chunks: vec![], end: StreamEnd::Clean };
    assert_eq!(wire.requests, [empty]);
    let mut machine = WriterState::new();
    machine.write(Bytes::new()).unwrap();
    assert_eq!(machine.write(Bytes::new()), Ok(Action::Nothing), "an empty write on an open stream does nothing");
}

#[test]
fn the_interpreter_refuses_what_no_wire_could_carry() {
    // The checks above rest on the interpreter; it must refuse impossible action sequences.
    let mut wire = Wire::default();
    assert!(wire.perform(Action::Stream { open: None, chunk: Some(text("a")), end: false }).is_err());
    wire.perform(Action::Buffered { content_type: OCTET_STREAM.into(), body: Bytes::new() }).unwrap();
    assert!(wire.perform(Action::ReportError(ErrorDiagnostic::new("Function.X", "m"))).is_err());
    let mut wire = Wire::default();
    let open = super::Open { content_type: OCTET_STREAM.into(), prelude: None };
    wire.perform(Action::Stream { open: Some(open), chunk: None, end: true }).unwrap();
    assert!(wire.perform(Action::Stream { open: None, chunk: Some(text("late")), end: false }).is_err());
    assert!(wire.perform(Action::EndWithTrailers(ErrorDiagnostic::new("Function.X", "m"))).is_err());
}

#[test]
fn phase_names_follow_the_diagram() {
    let mut machine = WriterState::default();
    assert_eq!(machine.phase_name(), "Idle");
    machine.status_and_headers(Prelude::with_status(200)).unwrap();
    assert_eq!(machine.phase_name(), "HeadersSet");
    machine.write(text("a")).unwrap();
    assert_eq!(machine.phase_name(), "Streaming");
    machine.finish().unwrap();
    assert_eq!(machine.phase_name(), "Finished");
    assert_eq!(machine.fault_seen(), None);
    machine.fault(StreamError::Disconnected { reason: "gone".into() });
    assert_eq!(machine.phase_name(), "Failed");
    assert_eq!(machine.fault_seen(), Some(&StreamError::Disconnected { reason: "gone".into() }));
}
