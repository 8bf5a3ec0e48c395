//! # lambda-stream-conformance
//!
//! Says, for any Lambda response-streaming runtime binary or endpoint, which documented streaming
//! rules hold, with the evidence. The rules are those of the repository's `docs/protocol.md`;
//! `lambda-stream conform` is the command-line front.
//!
//! ## Parts
//! - [`catalogue`]: the rule catalogue (`rules.toml`): every observable rule with an id, its spec
//!   section and sources.
//! - [`scenario`]: the declarative scenarios (`scenarios/*.toml`, embedded at build time): one
//!   request each and `[[expect]]` blocks naming the rules they are evidence for.
//! - [`target`]: where scenarios run: the local emulator with a bootstrap per handler (the
//!   recorder then also shows the function's side of the wire; its API Gateway listener serves the
//!   `api-gateway` scenarios), optionally behind a [`target::Front`], a remote function URL, a
//!   remote InvokeWithResponseStream endpoint, a remote API Gateway REST API stage ([`sign`]: SigV4
//!   for `execute-api` when it uses IAM), and [`remote`].
//! - [`remote`]: functions the suite did not start, reached as clients reach Lambda: function URLs
//!   over HTTPS with SigV4, InvokeWithResponseStream and Invoke through aws-sdk-lambda, throttling
//!   and refused credentials reported as target errors, not rule failures.
//! - [`observe`]: the client: reqwest, every chunk timed on arrival, IWRS frames decoded with the
//!   protocol crate's `EventStreamDecoder`.
//! - [`wire`]: the function's side of an invocation as the emulator's recorder saw it, in the
//!   emulator's types (its error, its fault kinds).
//! - [`check`]: judging blocks into verdicts with evidence.
//! - [`expected`]: per-target expected deviations (`ci/expected/<target>.toml`), stale ones reported.
//! - [`mod@run`]: the runner (parallel where the target allows) and the per-scenario/per-rule report.
//! - [`report`]: table, JSON and JUnit renderings; [`html`]: one run as a self-contained page with
//!   a wire timeline per scenario, and several runs' JSON reports as a matrix.
//! - [`probe`]: the probe handler on lambda-stream (writer misuse, prelude split, no prelude), for
//!   rules the example handlers never exercise; bin `conformance-bootstrap` serves it and the
//!   examples. The deliberately broken runtime and platform the tests pin (negative controls) are
//!   `fixture-bootstrap` and the broken-platform proxy, in the unpublished lambda-stream-fixtures
//!   crate.
//!
//! ## Why it is built this way
//! Verdicts are per rule, not per scenario: each expectation block names its rules, so a runtime
//! that breaks one rule fails that rule's evidence and nothing else, and the matrix says which
//! rule, with what was seen. Nothing passes by not being checked: a block with no check made is
//! "not run", a block with some checks not made is "partial", never "pass", and a rule passes only
//! when every block of its evidence passed. Every rule has a negative control, something
//! deliberately broken that fails it (`tests/broken_runtime.rs`).

pub mod catalogue;
pub mod check;
mod error;
pub mod expected;
pub mod html;
pub mod observe;
pub mod probe;
pub mod remote;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sign;
pub mod target;
pub mod wire;

pub use catalogue::{Catalogue, Rule};
pub use check::Verdict;
pub use error::Error;
pub use expected::{Deviation, Expected};
pub use run::{Report, RunOptions, run};
pub use scenario::Scenario;
pub use target::Target;
