//! Judging: each `[[expect]]` block against what the client saw and what the recorder saw. A
//! block passes when every check it asks for holds, fails when one does not (with the evidence),
//! and is "not run" when none of its checks could be made (e.g. wire checks on a remote target).

use base64::Engine as _;
use lambda_stream_protocol::names;
use serde::Serialize;

use crate::observe::Observation;
use crate::scenario::{Expect, WireExpect};
use crate::target::WireObservation;

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check held.
    Pass,
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

/// The verdict of one block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockResult {
    /// The rules it is evidence for.
    pub rules: Vec<String>,
    /// Its verdict (never `ExpectedFail` here; deviations are applied per rule and scenario).
    pub verdict: Verdict,
    /// Checks made.
    pub checks: Vec<Check>,
    /// Why checks were skipped (wire checks without the emulator), if any were.
    pub skipped: Option<String>,
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn check(&mut self, what: impl Into<String>, ok: bool, evidence: impl Into<String>) {
        self.0.push(Check { what: what.into(), ok, evidence: evidence.into() });
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
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &text[..end], text.len())
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
    let mut skipped = None;
    if let Some(w) = &expect.wire {
        match (wire, wire_visible) {
            (Some(obs), _) => wire_checks(w, obs, &mut c),
            (None, true) => c.check("the emulator recorded the invocation", false, "no invocation was recorded"),
            (None, false) => skipped = Some("wire checks need the emulator in the loop".to_owned()),
        }
    }
    let verdict = if c.0.is_empty() {
        Verdict::NotRun
    } else if c.0.iter().all(|x| x.ok) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    BlockResult { rules: expect.rules.clone(), verdict, checks: c.0, skipped }
}

fn client_checks(e: &Expect, o: &Observation, c: &mut Checks) {
    if let Some(status) = e.status {
        c.check(format!("status {status}"), o.status == status, format!("status {}", o.status));
    }
    for (name, want) in &e.headers {
        let got = o.header(name);
        c.check(format!("header {name}: {want}"), got == Some(want.as_str()), format!("{name}: {got:?}"));
    }
    for name in &e.headers_absent {
        let got = o.header(name);
        c.check(format!("no header {name}"), got.is_none(), format!("{name}: {got:?}"));
    }
    if !e.cookies.is_empty() {
        let got = o.header_all("set-cookie");
        for cookie in &e.cookies {
            c.check(format!("Set-Cookie {cookie}"), got.contains(&cookie.as_str()), format!("Set-Cookie: {got:?}"));
        }
    }
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
    if let Some(size) = e.body_size_at_most {
        c.check(format!("body of at most {size} bytes"), o.body_size <= size, format!("{} bytes", o.body_size));
    }
    let times: Vec<f64> = o.chunks.iter().map(|a| a.at_ms).collect();
    let sizes: Vec<usize> = o.chunks.iter().map(|a| a.len).collect();
    if let Some(chunks) = &e.chunks {
        let got: Vec<String> = o.chunks.iter().map(|a| a.bytes.as_deref().map(lossy).unwrap_or_default()).collect();
        c.check(format!("chunks {chunks:?}"), &got == chunks, format!("chunks {got:?} at {}", fmt_ms(&times)));
    }
    if let Some(n) = e.chunk_count {
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
        let g = gaps(tail(&times, e.min_chunks));
        let ok = !g.is_empty() && g.iter().all(|x| bounds.contains(*x));
        c.check(format!("gaps between chunks within {bounds:?}"), ok, format!("gaps {}", fmt_ms(&g)));
    }
    if let Some(limit) = e.end_before_ms {
        c.check(format!("body ended within {limit:.0} ms"), o.end_ms <= limit, format!("ended at {:.0} ms", o.end_ms));
    }
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
        let kinds: Vec<&str> = o.frames.iter().map(|f| f.kind.as_str()).take(8).collect();
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
        let ends = o.frames.last().is_some_and(|f| f.kind == "InvokeComplete");
        let ok = o.completes.len() == 1 && ends && !o.frame_after_complete;
        c.check(
            "exactly one InvokeComplete, last",
            ok == last,
            format!(
                "{} InvokeComplete frame(s), last frame {:?}",
                o.completes.len(),
                o.frames.last().map(|f| f.kind.as_str())
            ),
        );
    }
    if let Some(ic) = &e.invoke_complete {
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
}

fn wire_checks(e: &WireExpect, w: &WireObservation, c: &mut Checks) {
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
    let times: Vec<f64> = w.chunks.iter().map(|(t, _)| *t).collect();
    let sizes: Vec<usize> = w.chunks.iter().map(|(_, l)| *l).collect();
    if let Some(n) = e.chunk_count {
        c.check(
            format!("runtime sent {n} body chunks"),
            w.chunks.len() == n,
            format!("{} chunks of {sizes:?} bytes at {}", w.chunks.len(), fmt_ms(&times)),
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
    let trailer = |name: &str| {
        w.trailers.as_ref().and_then(|t| t.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()))
    };
    if let Some(want) = e.error_trailers {
        let has = trailer(names::FUNCTION_ERROR_TYPE).is_some();
        c.check(format!("runtime sent error trailers: {want}"), has == want, format!("trailers {:?}", w.trailers));
    }
    // The trailer's type and body can only be judged when the runtime sent error trailers at all;
    // without them these checks are not made (whether they should exist is `error_trailers`).
    let sent_trailers = trailer(names::FUNCTION_ERROR_TYPE).is_some();
    if let Some(t) = e.trailer_error_type.as_ref().filter(|_| sent_trailers) {
        let got = trailer(names::FUNCTION_ERROR_TYPE);
        c.check(format!("trailer error type {t}"), got.as_deref() == Some(t.as_str()), format!("{got:?}"));
    }
    if let Some(want) = e.trailer_body_base64_json.filter(|_| sent_trailers) {
        let raw = trailer(names::FUNCTION_ERROR_BODY);
        let decoded = raw.as_deref().and_then(|r| base64::engine::general_purpose::STANDARD.decode(r.trim()).ok());
        let json = decoded.as_deref().and_then(|d| serde_json::from_slice::<serde_json::Value>(d).ok());
        let ok = json.as_ref().is_some_and(|j| j.get("errorType").is_some() && j.get("errorMessage").is_some());
        c.check(
            format!("error body trailer is base64 of the error JSON: {want}"),
            ok == want,
            format!("trailer body {raw:?}"),
        );
    }
    if let Some(origin) = &e.error_origin {
        let got = w.error.as_ref().map_or("none", |(_, o, _)| o.as_str());
        c.check(format!("error reported via {origin}"), got == origin, format!("via {got}"));
    }
    if let Some(t) = &e.error_type {
        let got = w.error.as_ref().map(|(t, _, _)| t.as_str());
        c.check(format!("invocation error type {t}"), got == Some(t.as_str()), format!("{got:?}"));
    }
    if let Some(faults) = &e.faults {
        c.check(format!("runtime faults {faults:?}"), &w.faults == faults, format!("faults {:?}", w.faults));
    }
    if let Some(n) = e.process_exits {
        c.check(format!("bootstrap exited {n} times"), w.process_exits == n, format!("{} exits", w.process_exits));
    }
    if let Some(n) = e.body_bytes {
        c.check(format!("runtime sent {n} body bytes"), w.bytes == n, format!("{} bytes", w.bytes));
    }
}
