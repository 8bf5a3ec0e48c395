//! # lambda-stream-test-support
//!
//! A peer for wire-level tests that read like the spec (in the manner of h2's `tests/h2-support`):
//! a real HTTP/1.1 server on 127.0.0.1, scripted from the test, recording what crosses the wire
//! with arrival times.
//!
//! ## Parts
//! - [`runtime_api_peer`]: a scripted **Runtime API** (the Lambda side) for testing a runtime. It
//!   hands out scripted invocations on `GET /next` and records every `/response`, `/error` and
//!   `/init/error` request: the head, each body chunk with its arrival time, and the trailers.
//! - [`layers`]: a source scan that checks a crate's modules form layers (no import circle); the
//!   runtime's and the emulator's `tests/layers.rs` list their layers and call it.
//!
//! The other side, a scripted **runtime** for testing an emulator (in process, or as the
//! `fixture-bootstrap` process), is in the lambda-stream-fixtures crate.
//!
//! `publish = false`: these are test tools, not API.

pub mod layers;
pub mod runtime_api_peer;
