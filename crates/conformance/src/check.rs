//! Judging: each `[[expect]]` block against what the client saw and what the recorder saw. A
//! block passes when every check it asks for was made and held; it fails when one does not hold
//! (with the evidence); it is "partial" when every check made held but some could not be made (the
//! target cannot see the function's side, or what a check judges was absent, e.g. trailers), and
//! "not run" when none could be made. A check that was not made is listed by name in
//! [`BlockResult::unchecked`], with why: a block never passes on checks it skipped.

use base64::Engine as _;
use lambda_stream_protocol::names;
use serde::Serialize;

use crate::observe::{FrameKind, Observation};
use crate::scenario::{BandwidthExpect, Expect, InvokeCompleteExpect, JsonExpect, LogExpect, OriginExpect, WireExpect};
use crate::wire::{self, WireObservation};

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// Every check made held, but some of the evidence could not be checked on this target (not a
    /// pass: a rule judged on part of its evidence).
    Partial,
    /// A check failed, and an expected-deviations entry says it would.
    ExpectedFail,
    /// Nothing could be checked.
    NotRun,
    /// A check failed.
    Fail,
}

impl Verdict {
    /// Its name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Partial => "partial",
            Verdict::ExpectedFail => "expected-fail",
            Verdict::NotRun => "not run",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// What was seen.
    pub evidence: String,
}

/// `expected WHAT; saw EVIDENCE` for a failed check, `WHAT (EVIDENCE)` for one that held.
impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ok {
            write!(f, "{} ({})", self.what, self.evidence)
        } else {
            write!(f, "expected {}; saw {}", self.what, self.evidence)
        }
    }
}

/// The verdict of one block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockResult {
    /// The rules it is evidence for.
    pub rules: Vec<String>,
    /// Its verdict (never `ExpectedFail` here; deviations are applied per rule and scenario).
    pub verdict: Verdict,
    /// Checks made.
    pub checks: Vec<Check>,
    /// Why checks were skipped (wire checks without the emulator, trailers absent), if any were:
    /// the first reason.
    pub skipped: Option<String>,
    /// Every check the block asks for that was not made, as `WHAT (WHY)`; non-empty makes the block
    /// "partial" (or "not run" when no check was made at all).
    #[serde(default)]
    pub unchecked: Vec<String>,
}

#[derive(Default)]
struct Checks {
    made: Vec<Check>,
    unchecked: Vec<String>,
    skipped: Option<String>,
}

impl Checks {
    fn check(&mut self, what: impl Into<String>, ok: bool, evidence: impl Into<String>) {
        self.made.push(Check { what: what.into(), ok, evidence: evidence.into() });
    }

    /// A check the block asks for that cannot be made, and why.
    fn skip(&mut self, what: impl std::fmt::Display, why: &str) {
        self.unchecked.push(format!("{what} ({why})"));
        self.skipped.get_or_insert_with(|| why.to_owned());
    }
}

/// A block's verdict from its checks: any failure fails it; no check made is "not run"; a check
/// left unmade makes it "partial"; otherwise it passes.
pub fn block_verdict(checks: &[Check], unchecked: &[String]) -> Verdict {
    if checks.iter().any(|c| !c.ok) {
        Verdict::Fail
    } else if checks.is_empty() {
        Verdict::NotRun
    } else if !unchecked.is_empty() {
        Verdict::Partial
    } else {
        Verdict::Pass
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn short(text: &str) -> String {
    const MAX: usize = 160;
    if text.len() <= MAX {
        return format!("{text:?}");
    }
    let end = (0..=MAX).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    format!("{:?}... ({} bytes)", text.get(..end).unwrap_or_default(), text.len())
}

fn gaps(times: &[f64]) -> Vec<f64> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The last `n` values (all when `n` is `None`): the chunks that carry the writes, after any
/// chunks a runtime spends on the prelude.
fn tail(values: &[f64], n: Option<usize>) -> &[f64] {
    n.map_or(values, |n| &values[values.len().saturating_sub(n)..])
}

fn fmt_ms(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().take(12).map(|v| format!("{v:.0}")).collect();
    let more = if values.len() > 12 { format!(", ... ({} in all)", values.len()) } else { String::new() };
    format!("[{}{more}] ms", parts.join(", "))
}

/// Judges one block. `wire_visible`: whether the target can see the function's side at all.
pub fn judge(expect: &Expect, client: &Observation, wire: Option<&WireObservation>, wire_visible: bool) -> BlockResult {
    let mut c = Checks::default();
    client_checks(expect, client, &mut c);
    if let Some(w) = &expect.wire {
        match (wire, wire_visible) {
            (Some(obs), _) => wire_checks(w, obs, &mut c),
            (None, true) => c.check("the emulator recorded the invocation", false, "no invocation was recorded"),
            (None, false) => {
                for name in w.names() {
                    c.skip(format_args!("wire {name}"), "wire checks need the emulator in the loop");
                }
            }
        }
    }
    let verdict = block_verdict(&c.made, &c.unchecked);
    BlockResult { rules: expect.rules.clone(), verdict, checks: c.made, skipped: c.skipped, unchecked: c.unchecked }
}

/// Checks on what the client saw, phase by phase: the head, the body, its chunks and their
/// timing, how it ended, and (IWRS) the frames and the final `InvokeComplete`.
fn client_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    head_checks(e, o, c);
    body_checks(e, o, c);
    chunk_checks(e, o, c);
    timing_checks(e, o, c);
    ending_checks(e, o, c);
    if let Some(ic) = &e.invoke_complete {
        invoke_complete_checks(ic, o, c);
    }
    if !e.json.is_empty() {
        json_checks(&e.json, e.json_after_prelude, o, c);
    }
    if let Some(log) = &e.log {
        log_checks(log, o, c);
    }
    if let Some(shape) = &e.bandwidth {
        bandwidth_checks(shape, o, c);
    }
}

/// The part of `body` after a prelude: after the first eight NULs, or all of it without them.
fn after_prelude(body: &[u8]) -> &[u8] {
    const DELIMITER: [u8; 8] = [0; 8];
    body.windows(DELIMITER.len()).position(|w| w == DELIMITER).map_or(body, |at| &body[at + DELIMITER.len()..])
}

/// Checks on values of the body read as JSON (after its prelude with `skip_prelude`), each found
/// by its pointer.
fn json_checks(checks: &[JsonExpect], skip_prelude: bool, o: &Observation, c: &mut Checks) {
    let text = if skip_prelude { after_prelude(&o.body) } else { &o.body[..] };
    let document: Result<serde_json::Value, String> = if o.body.len() as u64 == o.body_size {
        serde_json::from_slice(text).map_err(|e| format!("a body that is not JSON ({e}): {}", short(&lossy(text))))
    } else {
        Err(format!("a body of {} bytes, too large to read as JSON", o.body_size))
    };
    for j in checks {
        let at = if j.pointer.is_empty() { "the body".to_owned() } else { format!("{} in the body", j.pointer) };
        let found = document.as_ref().map(|d| d.pointer(&j.pointer));
        let seen = |v: Option<&serde_json::Value>| match v {
            Some(v) => format!("{at}: {}", short(&v.to_string())),
            None => format!("nothing at {at}"),
        };
        let value = match found {
            Ok(v) => v,
            Err(why) => {
                c.check(format!("{at} read as JSON"), false, why.clone());
                continue;
            }
        };
        if let Some(want) = &j.equals {
            c.check(format!("{at} = {}", short(&want.to_string())), value == Some(want), seen(value));
        }
        if let Some(pattern) = &j.matches {
            let text = value.and_then(scalar_text);
            let ok = text.as_deref().is_some_and(|t| regex::Regex::new(pattern).is_ok_and(|r| r.is_match(t)));
            c.check(format!("{at} matches /{pattern}/"), ok, seen(value));
        }
        if let Some(absent) = j.absent {
            let what = if absent { format!("nothing at {at}") } else { format!("a value at {at}") };
            c.check(what, value.is_none() == absent, seen(value));
        }
        if let Some(future) = j.epoch_ms_in_future {
            // 5 s for clocks that disagree, 16 min for Lambda's longest timeout and a margin.
            let (low, high) = (o.sent_epoch_ms - 5_000.0, o.sent_epoch_ms + 16.0 * 60_000.0);
            let ms = value.and_then(scalar_text).and_then(|t| t.parse::<f64>().ok());
            let ok = ms.is_some_and(|ms| ms >= low && ms <= high);
            c.check(
                format!("{at} is a Unix time in ms after the request was sent ({:.0}): {future}", o.sent_epoch_ms),
                ok == future,
                seen(value),
            );
        }
        if let Some(header) = &j.equals_header {
            let want = o.header(header);
            let got = value.and_then(scalar_text);
            c.check(
                format!("{at} equals response header {header} ({want:?})"),
                want.is_some() && got.as_deref() == want,
                seen(value),
            );
        }
        if let Some(lower) = j.keys_lowercase {
            let keys: Vec<&str> = value
                .and_then(serde_json::Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let upper: Vec<&str> = keys.iter().copied().filter(|k| k.chars().any(|ch| ch.is_uppercase())).collect();
            c.check(
                format!("every key of {at} is lower case: {lower}"),
                !keys.is_empty() && upper.is_empty() == lower,
                if upper.is_empty() { format!("keys {keys:?}") } else { format!("keys with capitals {upper:?}") },
            );
        }
    }
}

/// A string's text, or a number's or boolean's as written.
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The log tail (IWRS `LogResult` or Invoke's `X-Amz-Log-Result`), decoded.
fn log_checks(e: &LogExpect, o: &Observation, c: &mut Checks) {
    let tail = o.log_result();
    let seen = || match &tail {
        Some(t) => {
            format!("log tail of {} bytes ending {}", t.len(), short(t.get(t.len().saturating_sub(120)..).unwrap_or(t)))
        }
        None => "no log tail".to_owned(),
    };
    if let Some(text) = &e.contains {
        c.check(
            format!("log tail contains {text:?}"),
            tail.as_deref().is_some_and(|t| t.contains(text.as_str())),
            seen(),
        );
    }
    if let Some(text) = &e.not_contains {
        c.check(
            format!("log tail does not contain {text:?}"),
            tail.as_deref().is_some_and(|t| !t.contains(text.as_str())),
            seen(),
        );
    }
    if let Some(max) = e.size_at_most {
        c.check(
            format!("log tail of at most {max} bytes"),
            tail.as_ref().is_some_and(|t| t.len() as u64 <= max),
            seen(),
        );
    }
}

/// The arrival shape: the first `burst_bytes` quickly, the rest no faster than the cap.
fn bandwidth_checks(e: &BandwidthExpect, o: &Observation, c: &mut Checks) {
    let Some(first) = o.ttfb_ms() else {
        c.check("a body to measure", false, "no body arrived");
        return;
    };
    let mut total = 0u64;
    let mut burst_at = None;
    for chunk in &o.chunks {
        total += chunk.len as u64;
        if burst_at.is_none() && total >= e.burst_bytes {
            burst_at = Some(chunk.at_ms);
        }
    }
    let Some(burst_at) = burst_at.filter(|_| o.body_size > e.burst_bytes) else {
        c.check(
            format!("more than the {} burst bytes", e.burst_bytes),
            false,
            format!("{} bytes arrived", o.body_size),
        );
        return;
    };
    let burst_ms = burst_at - first;
    c.check(
        format!("the first {} bytes within {:.0} ms of the first byte", e.burst_bytes, e.burst_within_ms),
        burst_ms <= e.burst_within_ms,
        format!("they took {burst_ms:.0} ms"),
    );
    // The bytes beyond the burst over the whole transfer: a token bucket refills while the burst
    // drains, so measuring from the burst's end would overstate the rate; from the first byte,
    // both a bucket and "6 MB free, then 2 MB/s" need at least (size - burst) / rate.
    let after = (o.body_size - e.burst_bytes) as f64;
    let secs = (o.end_ms - first) / 1000.0;
    let rate = if secs > 0.0 { after / secs } else { f64::INFINITY };
    c.check(
        format!("the bytes beyond the burst at most {:.0} bytes/s over the transfer", e.max_bytes_per_s_after),
        rate <= e.max_bytes_per_s_after,
        format!("{after:.0} bytes beyond the burst, {:.0} ms from first byte to end: {rate:.0} bytes/s", secs * 1000.0),
    );
}

/// Status, headers, cookies.
fn head_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    if let Some(status) = e.status {
        c.check(format!("status {status}"), o.status == status, format!("status {}", o.status));
    }
    for (name, want) in &e.headers {
        // Repeated field lines are one comma-separated list (RFC 9110 section 5.3).
        let all = o.header_all(name);
        let got = (!all.is_empty()).then(|| all.join(", "));
        c.check(format!("header {name}: {want}"), got.as_deref() == Some(want.as_str()), format!("{name}: {got:?}"));
    }
    for name in &e.headers_absent {
        let got = o.header(name);
        c.check(format!("no header {name}"), got.is_none(), format!("{name}: {got:?}"));
    }
    for name in &e.headers_present {
        let got = o.header(name);
        c.check(format!("a header {name}"), got.is_some(), format!("{name}: {got:?}"));
    }
    if !e.cookies.is_empty() {
        let got = o.header_all("set-cookie");
        for cookie in &e.cookies {
            c.check(format!("Set-Cookie {cookie}"), got.contains(&cookie.as_str()), format!("Set-Cookie: {got:?}"));
        }
    }
}

/// The payload's bytes: exact, prefix, patterns, size.
fn body_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    let body_text = lossy(&o.body);
    let kept_all = o.body.len() as u64 == o.body_size;
    if let Some(body) = &e.body {
        c.check(
            "body exactly as expected",
            kept_all && o.body == body.as_bytes(),
            format!("body {}", short(&body_text)),
        );
    }
    if let Some(prefix) = &e.body_prefix {
        c.check(
            format!("body starts with {}", short(prefix)),
            o.body.starts_with(prefix.as_bytes()),
            format!("body {}", short(&body_text)),
        );
    }
    if let Some(pattern) = &e.body_regex {
        let ok = regex::Regex::new(pattern).is_ok_and(|r| r.is_match(&body_text));
        c.check(format!("body matches /{pattern}/"), ok, format!("body {}", short(&body_text)));
    }
    if let Some(pattern) = &e.body_not_regex {
        let found = regex::Regex::new(pattern).ok().and_then(|r| r.find(&body_text).map(|m| m.as_str().to_owned()));
        c.check(
            format!("body does not match /{pattern}/"),
            found.is_none(),
            match found {
                Some(m) => format!("body contains {}", short(&m)),
                None => format!("body {}", short(&body_text)),
            },
        );
    }
    if let Some(size) = e.body_size {
        c.check(format!("body of {size} bytes"), o.body_size == size, format!("{} bytes", o.body_size));
    }
    if let Some(b64) = &e.body_base64 {
        let want = base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()).unwrap_or_default();
        let first_difference = o.body.iter().zip(&want).position(|(a, b)| a != b);
        c.check(
            format!("body of {} bytes exactly as expected (base64)", want.len()),
            kept_all && o.body == want,
            match first_difference {
                Some(i) => format!("{} bytes, first difference at byte {i}", o.body_size),
                None => format!("{} bytes", o.body_size),
            },
        );
    }
    if let Some(size) = e.body_size_at_most {
        c.check(format!("body of at most {size} bytes"), o.body_size <= size, format!("{} bytes", o.body_size));
    }
    if let Some(size) = e.body_size_at_least {
        c.check(format!("body of at least {size} bytes"), o.body_size >= size, format!("{} bytes", o.body_size));
    }
    if let Some(digest) = &e.body_sha256 {
        c.check(
            format!("body with SHA-256 {digest}"),
            o.body_sha256.eq_ignore_ascii_case(digest),
            format!("SHA-256 {} of {} bytes", o.body_sha256, o.body_size),
        );
    }
}

/// How the payload was cut into chunks.
fn chunk_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    let times = o.chunk_times();
    if let Some(chunks) = &e.chunks {
        let got: Vec<String> = o.chunks.iter().map(|a| a.bytes.as_deref().map(lossy).unwrap_or_default()).collect();
        c.check(format!("chunks {chunks:?}"), &got == chunks, format!("chunks {got:?} at {}", fmt_ms(&times)));
    }
    if let Some(n) = e.chunk_count {
        let sizes: Vec<usize> = o.chunks.iter().map(|a| a.len).collect();
        c.check(
            format!("{n} chunks"),
            o.chunks.len() == n,
            format!("{} chunks of {sizes:?} bytes at {}", o.chunks.len(), fmt_ms(&times)),
        );
    }
    if let Some(n) = e.min_chunks {
        c.check(
            format!("at least {n} chunks"),
            o.chunks.len() >= n,
            format!("{} chunks at {}", o.chunks.len(), fmt_ms(&times)),
        );
    }
}

/// When the payload arrived: first byte, lead over the end, gaps, end.
fn timing_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    if let Some(limit) = e.first_byte_before_ms {
        let ttfb = o.ttfb_ms();
        c.check(
            format!("first byte within {limit:.0} ms"),
            ttfb.is_some_and(|t| t <= limit),
            format!("first byte at {ttfb:.0?} ms"),
        );
    }
    if let Some(lead) = e.first_byte_lead_ms {
        let ttfb = o.ttfb_ms();
        let ok = ttfb.is_some_and(|t| o.end_ms - t >= lead);
        c.check(
            format!("first byte at least {lead:.0} ms before the end"),
            ok,
            format!("first byte at {ttfb:.0?} ms, end at {:.0} ms", o.end_ms),
        );
    }
    if let Some(bounds) = e.gap_ms {
        let g = gaps(tail(&o.chunk_times(), e.min_chunks));
        let ok = !g.is_empty() && g.iter().all(|x| bounds.contains(*x));
        c.check(format!("gaps between chunks within {bounds:?}"), ok, format!("gaps {}", fmt_ms(&g)));
    }
    if let Some(limit) = e.end_before_ms {
        c.check(format!("body ended within {limit:.0} ms"), o.end_ms <= limit, format!("ended at {:.0} ms", o.end_ms));
    }
    if let Some(limit) = e.end_after_ms {
        c.check(format!("body ended after {limit:.0} ms"), o.end_ms >= limit, format!("ended at {:.0} ms", o.end_ms));
    }
}

/// How the body ended: cut or not, and (IWRS) whether the frames were valid and ended with one
/// `InvokeComplete`.
fn ending_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    if let Some(aborted) = e.aborted {
        let what = if aborted { "the body was cut" } else { "the body ended normally" };
        c.check(
            what,
            o.aborted.is_some() == aborted,
            match &o.aborted {
                Some(why) => format!("cut: {why}"),
                None => "ended normally".to_owned(),
            },
        );
    }
    if let Some(valid) = e.frames_valid {
        let kinds: Vec<&FrameKind> = o.frames.iter().map(|f| &f.kind).take(8).collect();
        let ok = o.frame_errors.is_empty() && !o.frames.is_empty();
        c.check(
            "every frame has valid :message-type, :event-type, :content-type",
            ok == valid,
            if o.frame_errors.is_empty() {
                format!("{} frames: {kinds:?}", o.frames.len())
            } else {
                format!("invalid frames: {:?}", o.frame_errors)
            },
        );
    }
    if let Some(last) = e.complete_last {
        let last_kind = o.frames.last().map(|f| &f.kind);
        let ends = last_kind == Some(&FrameKind::InvokeComplete);
        let ok = o.completes.len() == 1 && ends && !o.frame_after_complete;
        c.check(
            "exactly one InvokeComplete, last",
            ok == last,
            format!("{} InvokeComplete frame(s), last frame {last_kind:?}", o.completes.len()),
        );
    }
}

/// The final `InvokeComplete`: its error code, details, and log tail.
fn invoke_complete_checks(ic: &InvokeCompleteExpect, o: &Observation, c: &mut Checks) {
    let done = o.completes.last();
    if let Some(code) = &ic.error_code {
        let got = done.and_then(|d| d.error_code.clone()).unwrap_or_default();
        let what = if code.is_empty() {
            "InvokeComplete without ErrorCode".to_owned()
        } else {
            format!("InvokeComplete ErrorCode {code}")
        };
        c.check(
            what,
            done.is_some() && &got == code,
            match done {
                Some(_) => format!("ErrorCode {got:?}"),
                None => "no InvokeComplete".to_owned(),
            },
        );
    }
    if let Some(want) = ic.error {
        let got = done.and_then(|d| d.error_code.clone()).filter(|c| !c.is_empty());
        c.check(
            format!("InvokeComplete reports an error: {want}"),
            done.is_some() && got.is_some() == want,
            format!("ErrorCode {got:?}"),
        );
    }
    if let Some(text) = &ic.error_details_contains {
        let got = done.and_then(|d| d.error_details.clone()).unwrap_or_default();
        c.check(
            format!("ErrorDetails contains {text:?}"),
            got.contains(text.as_str()),
            format!("ErrorDetails {}", short(&got)),
        );
    }
    if let Some(text) = &ic.log_contains {
        let got = o.log_result().unwrap_or_default();
        c.check(
            format!("LogResult contains {text:?}"),
            got.contains(text.as_str()),
            format!("LogResult {}", short(&got)),
        );
    }
}

/// Checks on the function's side of the wire, phase by phase: the answer's head, its body
/// chunks, its trailers, and how the invocation ended.
fn wire_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    wire_scenario_checks(e, w, c);
    if !w.recorded {
        // The request never became an invocation the emulator knows (or its record was not
        // found): checks on that invocation fail rather than pass on an empty record.
        if e.names().iter().any(|n| !WireExpect::SCENARIO_WIDE.contains(n)) {
            c.check("the emulator recorded the invocation", false, "no invocation was recorded for this request");
        }
        return;
    }
    wire_head_checks(e, w, c);
    wire_body_checks(e, w, c);
    wire_trailer_checks(e, w, c);
    wire_outcome_checks(e, w, c);
}

/// What holds for the whole scenario, recorded or not: how many invocations the runtime took and
/// how often the process exited.
fn wire_scenario_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    if let Some(n) = e.invocations {
        c.check(
            format!("the runtime took {n} invocations"),
            w.invocations_taken == n,
            format!("{} taken with GET /next", w.invocations_taken),
        );
    }
    if let Some(n) = e.process_exits {
        c.check(format!("bootstrap exited {n} times"), w.process_exits == n, format!("{} exits", w.process_exits));
    }
}

/// Response mode, framing, declared trailers, content type.
fn wire_head_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    if let Some(mode) = &e.mode_header {
        let got = w.header(names::RESPONSE_MODE);
        c.check(
            format!("runtime sent {}: {mode}", names::RESPONSE_MODE),
            got == Some(mode.as_str()),
            format!("{got:?}"),
        );
    }
    if let Some(chunked) = e.chunked {
        let te = w.header("transfer-encoding");
        let is = te.is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        c.check(format!("runtime body chunked: {chunked}"), is == chunked, format!("transfer-encoding: {te:?}"));
    }
    if let Some(declared) = e.trailer_declared {
        let got = w.header_list("trailer");
        let lower = got.as_deref().map(str::to_ascii_lowercase).unwrap_or_default();
        let is = lower.contains(names::FUNCTION_ERROR_TYPE) && lower.contains(names::FUNCTION_ERROR_BODY);
        c.check(
            format!("runtime declared both error trailers: {declared}"),
            is == declared,
            format!("trailer: {got:?}"),
        );
    }
    if let Some(ct) = &e.content_type {
        let got = w.header("content-type");
        c.check(format!("runtime content-type {ct}"), got == Some(ct.as_str()), format!("{got:?}"));
    }
}

/// The body chunks the runtime sent: count, gaps, bytes.
fn wire_body_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    let times = w.chunk_times();
    if let Some(n) = e.chunk_count {
        c.check(
            format!("runtime sent {n} body chunks"),
            w.chunks.len() == n,
            format!("{} chunks of {:?} bytes at {}", w.chunks.len(), w.chunk_sizes(), fmt_ms(&times)),
        );
    }
    if let Some(n) = e.min_chunks {
        c.check(
            format!("runtime sent at least {n} body chunks"),
            w.chunks.len() >= n,
            format!("{} chunks", w.chunks.len()),
        );
    }
    if let Some(bounds) = e.chunk_gap_ms {
        let g = gaps(tail(&times, e.min_chunks));
        let ok = !g.is_empty() && g.iter().all(|x| bounds.contains(*x));
        c.check(format!("runtime chunk gaps within {bounds:?}"), ok, format!("gaps {}", fmt_ms(&g)));
    }
    if let Some(n) = e.body_bytes {
        c.check(format!("runtime sent {n} body bytes"), w.bytes == n, format!("{} bytes", w.bytes));
    }
}

/// The error trailers: present or not, and (when sent) their type and base64 JSON body.
fn wire_trailer_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    let sent_trailers = w.trailer(names::FUNCTION_ERROR_TYPE).is_some();
    if let Some(want) = e.error_trailers {
        c.check(
            format!("runtime sent error trailers: {want}"),
            sent_trailers == want,
            format!("trailers {:?}", w.trailers),
        );
    }
    // The trailer's type and body can only be judged when the runtime sent error trailers at all;
    // without them these checks are not made, and say so (whether they should exist is
    // `error_trailers`).
    const NO_TRAILERS: &str = "no error trailers were sent";
    if let Some(t) = &e.trailer_error_type {
        if sent_trailers {
            let got = w.trailer(names::FUNCTION_ERROR_TYPE);
            c.check(format!("trailer error type {t}"), got == Some(t.as_str()), format!("{got:?}"));
        } else {
            c.skip(format_args!("trailer error type {t}"), NO_TRAILERS);
        }
    }
    if let Some(want) = e.trailer_body_base64_json {
        if !sent_trailers {
            c.skip("error body trailer is base64 of the error JSON", NO_TRAILERS);
            return;
        }
        let raw = w.trailer(names::FUNCTION_ERROR_BODY);
        let decoded = raw.and_then(|r| base64::engine::general_purpose::STANDARD.decode(r.trim()).ok());
        let json = decoded.as_deref().and_then(|d| serde_json::from_slice::<serde_json::Value>(d).ok());
        let ok = json.as_ref().is_some_and(|j| j.get("errorType").is_some() && j.get("errorMessage").is_some());
        c.check(
            format!("error body trailer is base64 of the error JSON: {want}"),
            ok == want,
            format!("trailer body {raw:?}"),
        );
    }
}

/// How the invocation ended: the error's origin and type, faults, process exits.
fn wire_outcome_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
    if let Some(origin) = e.error_origin {
        let got = w.error.as_ref().map(|error| error.origin);
        c.check(
            format!("error reported via {}", origin.name()),
            got == origin.origin(),
            format!("via {}", OriginExpect::describe(got)),
        );
    }
    if let Some(t) = &e.error_type {
        let got = w.error.as_ref().map(|error| error.error_type.as_str());
        c.check(format!("invocation error type {t}"), got == Some(t.as_str()), format!("{got:?}"));
    }
    if let Some(faults) = &e.faults {
        c.check(
            format!("runtime faults {}", wire::fault_list(faults)),
            &w.faults == faults,
            format!("faults {}", wire::fault_list(&w.faults)),
        );
    }
    if let Some(bounds) = e.returned_after_end_ms {
        let after = w.returned_ms.zip(w.client_end_ms).map(|(returned, end)| returned - end);
        c.check(
            format!("handler returned {bounds:?} ms after the client's body ended"),
            after.is_some_and(|ms| bounds.contains(ms)),
            match after {
                Some(ms) => format!("returned {ms:.0} ms after"),
                None => format!("client body ended at {:?} ms, returned at {:?} ms", w.client_end_ms, w.returned_ms),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use lambda_stream_emulator::{FaultKind, InvocationError};

    use super::*;
    use crate::scenario::Scenario;

    fn wire_block(wire: &str) -> Expect {
        let text = format!(
            "description = 'd'\nhandler = 'probe'\n[request]\npath = 'invoke'\n[[expect]]\nrules = ['r']\nwire = {wire}\n"
        );
        Scenario::parse("t", &text).unwrap().expect.remove(0)
    }

    fn failed_endpoint() -> WireObservation {
        let mut error = InvocationError::platform("Function.X", "m");
        error.origin = lambda_stream_emulator::ErrorOrigin::ErrorEndpoint;
        WireObservation {
            recorded: true,
            error: Some(error),
            faults: vec![FaultKind::LateAnswer],
            ..WireObservation::default()
        }
    }

    fn verdict(wire: &str, seen: &WireObservation) -> BlockResult {
        judge(&wire_block(wire), &Observation::default(), Some(seen), true)
    }

    #[test]
    fn error_origin_and_type_are_compared_as_values() {
        let seen = failed_endpoint();
        assert_eq!(
            verdict("{ error_origin = 'error-endpoint', error_type = 'Function.X' }", &seen).verdict,
            Verdict::Pass
        );
        let wrong = verdict("{ error_origin = 'platform' }", &seen);
        assert_eq!(wrong.verdict, Verdict::Fail);
        assert_eq!(wrong.checks[0].to_string(), "expected error reported via platform; saw via error-endpoint");
        assert_eq!(verdict("{ error_origin = 'none' }", &seen).verdict, Verdict::Fail);
        let clean = WireObservation { recorded: true, ..WireObservation::default() };
        assert_eq!(verdict("{ error_origin = 'none' }", &clean).verdict, Verdict::Pass);
        assert_eq!(verdict("{ error_origin = 'trailers' }", &clean).verdict, Verdict::Fail);
    }

    #[test]
    fn faults_are_compared_as_kinds_and_unknown_names_are_refused() {
        let seen = failed_endpoint();
        assert_eq!(verdict("{ faults = ['late-answer'] }", &seen).verdict, Verdict::Pass);
        let none = verdict("{ faults = [] }", &seen);
        assert_eq!(none.verdict, Verdict::Fail);
        assert_eq!(none.checks[0].to_string(), "expected runtime faults []; saw faults [late-answer]");
        let clean = WireObservation { recorded: true, ..WireObservation::default() };
        assert_eq!(verdict("{ faults = [] }", &clean).verdict, Verdict::Pass);
        let text = "description = 'd'\nhandler = 'h'\n[request]\npath = 'invoke'\n[[expect]]\nrules = ['r']\n";
        let err = Scenario::parse("t", &format!("{text}wire = {{ faults = ['LateAnswer'] }}\n")).unwrap_err();
        assert!(err.to_string().contains("unknown fault kind \"LateAnswer\""), "{err}");
        assert!(Scenario::parse("t", &format!("{text}wire = {{ error_origin = 'runtime' }}\n")).is_err());
    }

    #[test]
    fn json_after_a_prelude_is_read_past_the_eight_nuls_and_a_body_without_them_whole() {
        let expect = |skip: bool| Expect {
            rules: vec!["r".into()],
            json: vec![JsonExpect {
                pointer: "/deadline_ms".into(),
                equals: Some(serde_json::json!(7)),
                ..JsonExpect::default()
            }],
            json_after_prelude: skip,
            ..Expect::default()
        };
        let seen =
            |body: &[u8]| Observation { body: body.to_vec(), body_size: body.len() as u64, ..Observation::default() };
        let behind = b"{\"statusCode\":200}\0\0\0\0\0\0\0\0{\"deadline_ms\":7}";
        assert_eq!(judge(&expect(true), &seen(behind), None, false).verdict, Verdict::Pass);
        assert_eq!(judge(&expect(false), &seen(behind), None, false).verdict, Verdict::Fail);
        // A stripped prelude: the JSON alone.
        assert_eq!(judge(&expect(true), &seen(b"{\"deadline_ms\":7}"), None, false).verdict, Verdict::Pass);
        // Only the first eight NULs end the prelude; the value after them is judged.
        let wrong = b"{}\0\0\0\0\0\0\0\0{\"deadline_ms\":8}";
        let judged = judge(&expect(true), &seen(wrong), None, false);
        assert_eq!(judged.verdict, Verdict::Fail);
        assert_eq!(
            judged.checks[0].to_string(),
            "expected /deadline_ms in the body = \"7\"; saw /deadline_ms in the body: \"8\""
        );
        let text = "description = 'd'\nhandler = 'h'\n[request]\npath = 'invoke'\n[[expect]]\nrules = ['r']\n";
        let err = Scenario::parse("t", &format!("{text}json_after_prelude = true\n")).unwrap_err();
        assert!(err.to_string().contains("sets json_after_prelude without json checks"), "{err}");
    }

    #[test]
    fn frame_kinds_decide_whether_invoke_complete_came_last() {
        use crate::observe::Frame;
        let frame = |kind| Frame { at_ms: 0.0, kind, len: 0 };
        let mut expect = Expect { rules: vec!["r".into()], complete_last: Some(true), ..Expect::default() };
        let mut seen = Observation {
            frames: vec![frame(FrameKind::PayloadChunk), frame(FrameKind::InvokeComplete)],
            completes: vec![Default::default()],
            ..Observation::default()
        };
        assert_eq!(judge(&expect, &seen, None, false).verdict, Verdict::Pass);
        seen.frames.push(frame(FrameKind::PayloadChunk));
        assert_eq!(judge(&expect, &seen, None, false).verdict, Verdict::Fail);
        expect.complete_last = Some(false);
        assert_eq!(judge(&expect, &seen, None, false).verdict, Verdict::Pass);
    }
}

#[cfg(test)]
mod partial_tests {
    use super::*;
    use crate::scenario::Scenario;

    fn block(text: &str) -> Expect {
        let toml =
            format!("description = 'd'\nhandler = 'h'\n[request]\npath = 'invoke'\n[[expect]]\nrules = ['r']\n{text}");
        Scenario::parse("t", &toml).unwrap().expect.remove(0)
    }

    fn seen(status: u16, body: &str) -> Observation {
        Observation { status, body: body.as_bytes().to_vec(), body_size: body.len() as u64, ..Observation::default() }
    }

    #[test]
    fn a_block_with_a_skipped_wire_check_is_partial_never_pass() {
        let expect =
            block("status = 200\nbody_prefix = 'a'\nwire = { error_trailers = true, mode_header = 'streaming' }\n");
        let remote = judge(&expect, &seen(200, "abc"), None, false);
        assert_eq!(remote.verdict, Verdict::Partial, "{remote:?}");
        assert_eq!(remote.checks.len(), 2);
        assert_eq!(
            remote.unchecked,
            [
                "wire mode_header (wire checks need the emulator in the loop)",
                "wire error_trailers (wire checks need the emulator in the loop)"
            ]
        );
        // A failed check still fails the block.
        assert_eq!(judge(&expect, &seen(500, "abc"), None, false).verdict, Verdict::Fail);
        // Only wire checks, none made: not run.
        assert_eq!(judge(&block("wire = { chunked = true }\n"), &seen(200, ""), None, false).verdict, Verdict::NotRun);
    }

    #[test]
    fn trailer_checks_without_trailers_are_named_as_not_made() {
        let expect =
            block("body_prefix = 'a'\nwire = { trailer_error_type = 'Function.X', trailer_body_base64_json = true }\n");
        let wire = WireObservation { recorded: true, ..WireObservation::default() };
        let result = judge(&expect, &seen(200, "abc"), Some(&wire), true);
        assert_eq!(result.verdict, Verdict::Partial);
        assert_eq!(result.skipped.as_deref(), Some("no error trailers were sent"));
        assert_eq!(result.unchecked.len(), 2, "{:?}", result.unchecked);
    }

    #[test]
    fn digest_size_window_and_end_bounds_are_checked() {
        let mut o = seen(200, "hello");
        o.body_sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into();
        o.end_ms = 1600.0;
        let ok = block(
            "body_sha256 = '2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824'\n\
             body_size_at_least = 5\nbody_size_at_most = 5\nend_after_ms = 1400\nend_before_ms = 5000\n",
        );
        assert_eq!(judge(&ok, &o, None, false).verdict, Verdict::Pass);
        // The same size and prefix with one byte changed: only the digest tells.
        o.body_sha256 = "0".repeat(64);
        assert_eq!(judge(&ok, &o, None, false).verdict, Verdict::Fail);
        let late = block("end_before_ms = 1500\n");
        assert_eq!(judge(&late, &o, None, false).verdict, Verdict::Fail, "a cut after the upper bound fails");
        let short = block("body_size_at_least = 6\n");
        assert_eq!(judge(&short, &o, None, false).verdict, Verdict::Fail);
    }

    #[test]
    fn an_unrecorded_request_passes_only_scenario_wide_wire_checks() {
        let none = WireObservation { recorded: false, invocations_taken: 0, ..WireObservation::default() };
        let not_run = block("status = 204\nwire = { invocations = 0, process_exits = 0 }\n");
        assert_eq!(judge(&not_run, &seen(204, ""), Some(&none), true).verdict, Verdict::Pass);
        let ran = WireObservation { invocations_taken: 1, ..none.clone() };
        let result = judge(&not_run, &seen(204, ""), Some(&ran), true);
        assert_eq!(result.verdict, Verdict::Fail);
        assert_eq!(result.checks[1].to_string(), "expected the runtime took 0 invocations; saw 1 taken with GET /next");
        let per_invocation = block("wire = { faults = [] }\n");
        assert_eq!(judge(&per_invocation, &seen(200, ""), Some(&none), true).verdict, Verdict::Fail);
    }
}
