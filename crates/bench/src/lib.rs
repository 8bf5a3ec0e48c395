//! # lambda-stream-bench
//!
//! How fast a streamed byte gets from a handler to a client, measured against what the machine
//! allows (a raw hyper relay, "the floor") and against what users would pick instead (the official
//! `lambda_runtime` crate, cargo-lambda's emulator). Speed is measured here and reported, never
//! asserted as a tight timer in a test (the project's ground rules).
//!
//! ## Parts
//! - `benches/codec.rs`: per-chunk codec work without I/O (prelude decode, PayloadChunk framing).
//! - `benches/e2e.rs` (criterion): TTFB through a function URL, through InvokeWithResponseStream
//!   (aws-sdk-lambda) and through the emulator's API Gateway REST API, per-chunk latency for 16 B / 1 KiB / 64 KiB writes, throughput for 64 MiB
//!   and 200 MB, and the runtime's own cost against a minimal Runtime API sink; each next to the
//!   floor, the official runtime under our emulator and cargo-lambda's emulator where they can do
//!   the case.
//! - `benches/process.rs` (a plain program): whole-process figures — peak memory of the emulator
//!   and the runtime process while 199 MB stream (200 MB plus the prelude is over the emulator's
//!   cap), and cold start (spawn to first `GET /next`).
//! - `bench-report` (`src/bin`): reads criterion's `estimates.json` files, the process figures and
//!   the skip notes, and writes `target/bench-report.md` ([`report`]) and the same with plots as
//!   `target/bench-report.html` ([`html`]).
//! - `bench-emulate` (`src/bin`): `lambda-stream emulate` for the memory figure, without building
//!   the CLI's AWS SDKs.
//! - The harness pieces the benches share: [`floor`] (raw hyper relay and function server),
//!   [`in_process`] (our emulator plus our runtime loop on its own thread), [`sink`] (a minimal
//!   Runtime API), [`client`] (a pooled hyper client and body readers), [`peers`] (finding the
//!   peer binaries and cargo-lambda, recording why one is skipped).
//!
//! ## Why it is built this way
//! Everything runs in one process over loopback where it can, so criterion controls the
//! iterations and one emulator serves every iteration: invocations are cheap, start-up is not what
//! is measured (except by the cold-start figure). The floor has the same four hops as an
//! invocation (client -> relay -> function and back) and the same client, so a ratio to it is the
//! cost of the Lambda logic alone. Baselines that cannot run here (a binary not built, cargo-lambda
//! not installed) are skipped with a printed reason that the report repeats: never a fake number.
//!
//! Run `just bench` for the full set or `just bench short` for the quick CI run.

pub mod client;
pub mod concurrency;
pub mod floor;
pub mod hog;
pub mod html;
pub mod in_process;
pub mod peers;
pub mod report;
pub mod sink;

use std::path::PathBuf;

/// Bytes per write in streamed bodies (throughput cases): the examples' `large` write size.
pub const WRITE_BYTES: usize = 64 * 1024;

/// The cargo target directory the running benchmark was built into.
///
/// Found from the executable's own path (`<target>/release/deps/<bench>` or
/// `<target>/release/<bin>`), so that it is right whatever `CARGO_TARGET_DIR` was at build time
/// and whatever the working directory is (`cargo bench` runs benches in the package directory).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|n| n == "release" || n == "debug"))
        .and_then(|profile| profile.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// A body of `len` bytes made of a repeating printable pattern, shared by every write.
pub fn pattern(len: usize) -> bytes::Bytes {
    const LINE: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
    bytes::Bytes::from(LINE.iter().copied().cycle().take(len).collect::<Vec<u8>>())
}

/// What a benchmark handler is asked to do, carried in the request path (function URL, floor)
/// or as the raw payload (InvokeWithResponseStream), so one handler serves every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// Write this many bytes at once, then finish (TTFB).
    Once(usize),
    /// Stream this many bytes in [`WRITE_BYTES`] writes (throughput).
    Bytes(u64),
    /// Write what the bench hands over, one write per command, until it stops (per-chunk latency).
    Chunks,
}

impl Directive {
    /// As a path: `/once/16`, `/bytes/67108864`, `/chunks`.
    pub fn path(&self) -> String {
        match self {
            Self::Once(n) => format!("/once/{n}"),
            Self::Bytes(n) => format!("/bytes/{n}"),
            Self::Chunks => "/chunks".to_owned(),
        }
    }

    /// Reads a path made by [`Directive::path`] (a query string is ignored).
    pub fn parse(path: &str) -> Option<Self> {
        let path = path.split('?').next().unwrap_or_default();
        let mut parts = path.trim_matches('/').split('/');
        match (parts.next()?, parts.next()) {
            ("once", Some(n)) => n.parse().ok().map(Self::Once),
            ("bytes", Some(n)) => n.parse().ok().map(Self::Bytes),
            ("chunks", None) => Some(Self::Chunks),
            _ => None,
        }
    }

    /// Reads the directive from a Lambda event: a function URL payload's `rawPath`, an API
    /// Gateway REST event's `path` (below the stage), or the raw payload itself
    /// (InvokeWithResponseStream).
    pub fn from_event(event: &[u8]) -> Option<Self> {
        if let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice::<serde_json::Value>(event) {
            if let Some(raw_path) = doc.get("rawPath").and_then(serde_json::Value::as_str) {
                return Self::parse(raw_path);
            }
            if is_rest_event(event)
                && let Some(path) = doc.get("path").and_then(serde_json::Value::as_str)
            {
                return Self::parse(path);
            }
        }
        Self::parse(std::str::from_utf8(event).ok()?)
    }
}

/// Whether an event is an API Gateway REST API proxy event (payload 1.0: `httpMethod` and a
/// `requestContext`): its answer must open with the HTTP-integration prelude, which API Gateway
/// requires of every streamed answer.
pub fn is_rest_event(event: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(event),
        Ok(serde_json::Value::Object(doc))
            if doc.get("httpMethod").is_some_and(serde_json::Value::is_string)
                && doc.get("requestContext").is_some_and(serde_json::Value::is_object)
    )
}

/// One write of a per-chunk latency session: the bench hands the bytes over and learns when the
/// write returned (for the floor: when the chunk was handed to hyper).
#[derive(Debug)]
pub struct ChunkCommand {
    /// What to write.
    pub bytes: bytes::Bytes,
    /// Gets the instant the write returned.
    pub written: tokio::sync::oneshot::Sender<std::time::Instant>,
}

/// Where a per-chunk session's command receiver waits for the handler (or the floor's function)
/// that serves the [`Directive::Chunks`] request to take it.
pub type ChunkSlot = std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<ChunkCommand>>>>;

/// The sizes of a throughput stream's writes: full [`WRITE_BYTES`] writes, then the rest.
pub fn writes(total: u64) -> impl Iterator<Item = usize> {
    let full = total / WRITE_BYTES as u64;
    let rest = (total % WRITE_BYTES as u64) as usize;
    std::iter::repeat_n(WRITE_BYTES, full as usize).chain((rest > 0).then_some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_round_trip_through_paths_and_events() {
        for d in [Directive::Once(16), Directive::Bytes(200_000_000), Directive::Chunks] {
            assert_eq!(Directive::parse(&d.path()), Some(d));
            assert_eq!(Directive::from_event(d.path().as_bytes()), Some(d));
            let url_event = serde_json::json!({"version": "2.0", "rawPath": d.path(), "requestContext": {}});
            assert_eq!(Directive::from_event(url_event.to_string().as_bytes()), Some(d));
            let rest_event = serde_json::json!({"httpMethod": "GET", "path": d.path(), "requestContext": {}});
            assert_eq!(Directive::from_event(rest_event.to_string().as_bytes()), Some(d));
            assert!(is_rest_event(rest_event.to_string().as_bytes()));
            assert!(!is_rest_event(url_event.to_string().as_bytes()));
        }
        assert_eq!(Directive::parse("/nope"), None);
    }

    #[test]
    fn writes_add_up_to_the_total() {
        assert_eq!(writes(200_000_000).map(|n| n as u64).sum::<u64>(), 200_000_000);
        assert_eq!(writes(64 << 20).count(), 1024);
        assert_eq!(writes(10).collect::<Vec<_>>(), vec![10]);
    }
}
