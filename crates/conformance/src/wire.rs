//! The function's side of one invocation, as the emulator's recorder saw it, in the emulator's
//! own types: the error is its [`InvocationError`] (origin an
//! [`ErrorOrigin`](lambda_stream_emulator::ErrorOrigin)), the faults are
//! [`FaultKind`]s. Checks compare values, never the `Debug` text of one.
//!
//! Scenario files name fault kinds in kebab case (`unknown-request-id`); [`FAULT_NAMES`] is the
//! one table between those names and [`FaultKind`], used both to read scenarios (an unknown name
//! is a parse error) and to print evidence.

use std::time::Duration;

use lambda_stream_emulator::{FaultKind, InvocationError, InvocationRecord};

/// Every fault kind a scenario can name, with its name in scenario files.
pub const FAULT_NAMES: [(FaultKind, &str); 11] = [
    (FaultKind::UnknownRequestId, "unknown-request-id"),
    (FaultKind::AlreadyAnswered, "already-answered"),
    (FaultKind::LateAnswer, "late-answer"),
    (FaultKind::InvalidResponseMode, "invalid-response-mode"),
    (FaultKind::BrokenBody, "broken-body"),
    (FaultKind::InvalidTrailer, "invalid-trailer"),
    (FaultKind::MalformedPrelude, "malformed-prelude"),
    (FaultKind::ResponseTooLarge, "response-too-large"),
    (FaultKind::ProcessExited, "process-exited"),
    (FaultKind::UnknownPath, "unknown-path"),
    (FaultKind::InitError, "init-error"),
];

/// The scenario-file name of a fault kind (`None` for a kind newer than this table).
pub fn fault_name(kind: FaultKind) -> Option<&'static str> {
    FAULT_NAMES.iter().find(|(k, _)| *k == kind).map(|(_, name)| *name)
}

/// The fault kind a scenario file names.
pub fn fault_kind(name: &str) -> Option<FaultKind> {
    FAULT_NAMES.iter().find(|(_, n)| *n == name).map(|(kind, _)| *kind)
}

/// Fault kinds as a scenario file would list them, for evidence: `[late-answer, broken-body]`.
pub fn fault_list(kinds: &[FaultKind]) -> String {
    let names: Vec<String> =
        kinds.iter().map(|k| fault_name(*k).map_or_else(|| format!("{k:?}"), str::to_owned)).collect();
    format!("[{}]", names.join(", "))
}

/// One body chunk the runtime sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireChunk {
    /// Milliseconds after the runtime took the invocation.
    pub at_ms: f64,
    /// Bytes in it.
    pub len: usize,
}

/// What the emulator's recorder saw of the function's side of one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WireObservation {
    /// The recorder knew the request's invocation; when `false` only the scenario-wide fields
    /// (`invocations_taken`, `process_exits`) mean anything.
    pub recorded: bool,
    /// The answer's head arrived (`/response` or `/error`).
    pub answered: bool,
    /// The answer's headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Declared the streaming mode.
    pub streaming: bool,
    /// Body chunks as they arrived.
    pub chunks: Vec<WireChunk>,
    /// Body bytes.
    pub bytes: u64,
    /// Trailers, if the body ended with some.
    pub trailers: Option<Vec<(String, String)>>,
    /// The error the invocation ended with (type, message, details, origin), if it failed.
    pub error: Option<InvocationError>,
    /// Fault kinds recorded for the invocation.
    pub faults: Vec<FaultKind>,
    /// Bootstrap exits during the scenario.
    pub process_exits: u64,
    /// Invocations the runtime took (`GET /next` answered) during the whole scenario.
    pub invocations_taken: u64,
    /// Milliseconds from the emulator's receipt of the client's request to the runtime taking it
    /// (`/next`): where this side's times sit on the client's time axis (on loopback the request
    /// arrives well under a millisecond after it is sent).
    pub taken_after_ms: f64,
    /// When the answer's head arrived, ms after the runtime took the invocation.
    pub head_ms: Option<f64>,
    /// When the answer's body ended, ms after the runtime took the invocation.
    pub end_ms: Option<f64>,
    /// When the emulator handed the client the end of its body, ms after the runtime took the
    /// invocation.
    pub client_end_ms: Option<f64>,
    /// When the runtime asked for its next invocation (the handler returned), ms after it took
    /// this one.
    pub returned_ms: Option<f64>,
}

impl WireObservation {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every field line of a header joined with ", ": HTTP treats repeated field lines as one
    /// comma-separated list (RFC 9110 section 5.3), so `Trailer: A` + `Trailer: B` declares both.
    pub fn header_list(&self, name: &str) -> Option<String> {
        let values: Vec<&str> =
            self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// A trailer's value (name case-insensitive).
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers.as_ref()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Arrival times of the body chunks, ms.
    pub fn chunk_times(&self) -> Vec<f64> {
        self.chunks.iter().map(|c| c.at_ms).collect()
    }

    /// Sizes of the body chunks.
    pub fn chunk_sizes(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.len).collect()
    }

    /// What is known of a request the recorder has no invocation for (a dry run, a refused
    /// request): only the scenario-wide figures.
    pub fn unrecorded(process_exits: u64, invocations_taken: u64) -> Self {
        Self { recorded: false, process_exits, invocations_taken, ..Self::default() }
    }

    /// From the recorder's record of the invocation, the bootstrap's exit count and the number of
    /// invocations the runtime took in the scenario.
    pub fn from_record(record: &InvocationRecord, process_exits: u64, invocations_taken: u64) -> Self {
        let taken = record.runtime.taken_at.unwrap_or_default();
        let ms = |d: Duration| d.saturating_sub(taken).as_secs_f64() * 1000.0;
        Self {
            recorded: true,
            invocations_taken,
            answered: record.runtime.head_at.is_some(),
            headers: record.runtime.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect(),
            streaming: record.runtime.streaming,
            chunks: record.runtime.chunks.iter().map(|c| WireChunk { at_ms: ms(c.at), len: c.len }).collect(),
            bytes: record.runtime.bytes,
            trailers: record.runtime.trailers.clone(),
            error: record.error().cloned(),
            faults: record.faults.iter().map(|f| f.kind).collect(),
            process_exits,
            taken_after_ms: record
                .client
                .received_at
                .map_or(0.0, |received| taken.saturating_sub(received).as_secs_f64() * 1000.0),
            head_ms: record.runtime.head_at.map(ms),
            end_ms: record.runtime.ended_at.map(ms),
            client_end_ms: record.client.end.as_ref().map(|(at, _)| ms(*at)),
            returned_ms: record.runtime.returned_at.map(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_are_one_to_one() {
        for (kind, name) in FAULT_NAMES {
            assert_eq!(fault_kind(name), Some(kind), "{name}");
            assert_eq!(fault_name(kind), Some(name), "{kind:?}");
        }
        assert_eq!(fault_kind("UnknownRequestId"), None, "names are kebab case");
        assert_eq!(fault_list(&[FaultKind::LateAnswer, FaultKind::BrokenBody]), "[late-answer, broken-body]");
    }
}
