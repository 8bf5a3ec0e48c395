//! # lambda-stream-bench
//!
//! Criterion benchmarks. Speed is measured here and reported, never asserted as a tight timer in
//! a test (see the project's ground rules).
//!
//! ## Parts
//! - `benches/codec.rs`: the per-chunk work on the hot path that needs no socket: decoding a
//!   prelude whatever its split, and framing a PayloadChunk for InvokeWithResponseStream. These
//!   bound what the emulator adds per chunk before any I/O.
//!
//! Run `just bench` for the full set or `just bench short` for the quick CI run.
