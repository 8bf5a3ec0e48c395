//! Running a suite: scenarios against a target (in parallel where the target allows), blocks
//! judged, deviations applied, verdicts rolled up per scenario and per rule.

use std::sync::Arc;

use globset::{Glob, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::Error;
use crate::catalogue::{Catalogue, Rule};
use crate::check::{BlockResult, Check, Verdict, judge};
use crate::expected::{Deviation, Expected};
use crate::observe::Observation;
use crate::scenario::Scenario;
use crate::target::{Attempt, Target};
use crate::wire::WireObservation;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where.
    pub target: Target,
    /// A name for the report (e.g. `ours`, `official`, `cargo-lambda`).
    pub label: String,
    /// Expected deviations.
    pub expected: Expected,
    /// Scenario name globs; empty runs all.
    pub scenario_globs: Vec<String>,
    /// Scenarios at once on targets that allow it. Local scenarios spend their time waiting (a
    /// handler's pauses, a timeout to run out), not computing, so more than the machine's cores
    /// pays: on two cores the whole suite (debug build) took about 4 s at 8 against 7 s at 4, with
    /// about 2.5 s of CPU either way; its longest scenario (about 2.9 s) bounds it.
    pub jobs: usize,
    /// Show a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

impl RunOptions {
    /// Runs everything against `target`, no deviations, eight scenarios at once.
    pub fn new(target: Target) -> Self {
        Self {
            label: target.kind().to_owned(),
            target,
            expected: Expected::default(),
            scenario_globs: Vec::new(),
            jobs: 8,
            progress: false,
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// File stem.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Handler.
    pub handler: String,
    /// Front end.
    pub path: String,
    /// Verdict (deviations applied).
    pub verdict: Verdict,
    /// Why it was not run, or why the request failed.
    pub note: Option<String>,
    /// Status seen.
    pub status: Option<u16>,
    /// Time to the first payload byte, ms.
    pub ttfb_ms: Option<f64>,
    /// Arrival of each chunk, ms.
    pub chunk_ms: Vec<f64>,
    /// When the body ended, ms.
    pub end_ms: Option<f64>,
    /// The blocks' verdicts.
    pub blocks: Vec<BlockResult>,
    /// The deviation that excused it, if any.
    pub deviation: Option<Deviation>,
    /// The target could not be asked (throttled, refused credentials, TLS): no evidence either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
    /// When each piece crossed the wire, for timelines (absent when nothing was observed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<ScenarioTimeline>,
}

/// One chunk on a timeline: when (ms) and how many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimedChunk {
    /// Milliseconds after the request was sent.
    pub at_ms: f64,
    /// Bytes.
    pub len: usize,
}

/// What crossed the wire in one scenario, on one time axis (ms after the request was sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioTimeline {
    /// When the response head arrived.
    pub head_ms: f64,
    /// Each payload chunk as the client got it (IWRS: each `PayloadChunk`).
    pub chunks: Vec<TimedChunk>,
    /// When the body ended.
    pub end_ms: f64,
    /// Why the body was cut, if it was.
    pub aborted: Option<String>,
    /// The function's side, when the emulator was in the loop (local target).
    pub runtime: Option<RuntimeTimeline>,
}

/// The function's side of a scenario's invocation, on the client's time axis: aligned on the
/// emulator's receipt of the request, which on loopback follows the send by well under a
/// millisecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeTimeline {
    /// When the runtime took the invocation (`/next`).
    pub taken_ms: f64,
    /// When its answer's head arrived.
    pub head_ms: Option<f64>,
    /// Each body chunk the runtime sent, as the emulator received it.
    pub chunks: Vec<TimedChunk>,
    /// When its body ended.
    pub end_ms: Option<f64>,
    /// The error type it ended with, if any.
    pub error: Option<String>,
}

impl ScenarioTimeline {
    /// From what the client and (when visible) the emulator saw.
    pub fn observed(client: &Observation, wire: Option<&WireObservation>) -> Self {
        let runtime = wire.map(|w| {
            let at = |ms: f64| w.taken_after_ms + ms;
            RuntimeTimeline {
                taken_ms: w.taken_after_ms,
                head_ms: w.head_ms.map(at),
                chunks: w.chunks.iter().map(|c| TimedChunk { at_ms: at(c.at_ms), len: c.len }).collect(),
                end_ms: w.end_ms.map(at),
                error: w.error.as_ref().map(|e| e.error_type.clone()),
            }
        });
        Self {
            head_ms: client.head_ms,
            chunks: client.chunks.iter().map(|c| TimedChunk { at_ms: c.at_ms, len: c.len }).collect(),
            end_ms: client.end_ms,
            aborted: client.aborted.clone(),
            runtime,
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// Rule id.
    pub id: String,
    /// Spec section.
    pub section: String,
    /// Sources.
    pub source: String,
    /// Verdict (deviations applied).
    pub verdict: Verdict,
    /// Scenarios that give evidence for it.
    pub scenarios: Vec<String>,
    /// Evidence: the failed checks when it failed; when it passed, every check of (up to three of)
    /// its blocks, the checks that carry it; when partial, those and what was not checked; when
    /// not run, why.
    pub evidence: Vec<Evidence>,
    /// The deviation that excused it, if any.
    pub deviation: Option<Deviation>,
}

/// One piece of a rule's evidence. Serialized as its text (`SCENARIO: expected WHAT; saw WHAT`,
/// `SCENARIO: WHAT (SEEN)`, or the reason it was not run).
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A check one of the rule's blocks made in a scenario.
    Checked {
        /// The scenario.
        scenario: String,
        /// The check, held or failed.
        check: Check,
    },
    /// Why none of the rule's blocks could be judged.
    NotRun {
        /// The reason.
        reason: String,
    },
    /// A check (or a whole block) the rule's evidence asks for that could not be made in a
    /// scenario, with why: what keeps a rule "partial".
    Unchecked {
        /// The scenario.
        scenario: String,
        /// What was not checked, and why.
        what: String,
    },
}

impl Evidence {
    /// Whether this is a check that failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, Evidence::Checked { check, .. } if !check.ok)
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Checked { scenario, check } => write!(f, "{scenario}: {check}"),
            Evidence::NotRun { reason } => f.write_str(reason),
            Evidence::Unchecked { scenario, what } => write!(f, "{scenario}: not checked: {what}"),
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run's label.
    pub label: String,
    /// Target kind.
    pub target: String,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Per rule, in catalogue order.
    pub rules: Vec<RuleResult>,
    /// Deviations listed but not seen (the rule or scenario passed).
    pub stale: Vec<Deviation>,
    /// The expected file says every rule must be judged in full on this target
    /// ([`Expected::every_rule_judged`]): then a rule left "not run" or "partial" fails the run.
    #[serde(default)]
    pub every_rule_judged: bool,
}

impl Report {
    /// Rules that failed without an expected deviation.
    pub fn unexpected_failures(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.verdict == Verdict::Fail).collect()
    }

    /// Rules not judged in full (not run, or partial) on a target whose expected file requires
    /// every rule to be (empty otherwise).
    pub fn incomplete(&self) -> Vec<&RuleResult> {
        if !self.every_rule_judged {
            return Vec::new();
        }
        self.rules.iter().filter(|r| matches!(r.verdict, Verdict::NotRun | Verdict::Partial)).collect()
    }

    /// Whether the run counts as a success: no unexpected failure, no stale deviation, every
    /// scenario could ask the target (a target error leaves its rules unjudged, not passed), and
    /// (where the expected file requires it) no rule left not run or partial.
    pub fn ok(&self) -> bool {
        self.unexpected_failures().is_empty()
            && self.stale.is_empty()
            && self.target_errors().is_empty()
            && self.incomplete().is_empty()
    }

    /// `(scenario, error)` for each scenario whose request the target could not answer.
    pub fn target_errors(&self) -> Vec<(&str, &str)> {
        self.scenarios.iter().filter_map(|s| Some((s.name.as_str(), s.target_error.as_deref()?))).collect()
    }

    /// The result of a rule.
    pub fn rule(&self, id: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The result of a scenario.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// Ids of rules with this verdict.
    pub fn rules_with(&self, verdict: Verdict) -> Vec<&str> {
        self.rules.iter().filter(|r| r.verdict == verdict).map(|r| r.id.as_str()).collect()
    }
}

/// Checks that every scenario's rules exist and every rule has a scenario.
pub fn validate(catalogue: &Catalogue, scenarios: &[Scenario]) -> Result<(), Error> {
    let mut problems = Vec::new();
    for s in scenarios {
        for id in s.rules() {
            if catalogue.get(id).is_none() {
                problems.push(format!("scenario {} names unknown rule {id}", s.name));
            }
        }
    }
    for rule in &catalogue.rules {
        if !scenarios.iter().any(|s| s.rules().contains(&rule.id.as_str())) {
            problems.push(format!("rule {} has no scenario", rule.id));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Error::Invalid(problems.join("; "))) }
}

/// Selects scenarios by name globs (all when none are given).
pub fn select(scenarios: Vec<Scenario>, globs: &[String]) -> Result<Vec<Scenario>, Error> {
    if globs.is_empty() {
        return Ok(scenarios);
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(Glob::new(g).map_err(|e| Error::Invalid(format!("--scenario {g:?}: {e}")))?);
    }
    let set = builder.build().map_err(|e| Error::Invalid(e.to_string()))?;
    let chosen: Vec<Scenario> = scenarios.into_iter().filter(|s| set.is_match(&s.name)).collect();
    if chosen.is_empty() {
        return Err(Error::Invalid(format!("no scenario matches {globs:?}")));
    }
    Ok(chosen)
}

/// A scenario left unsent: every block not run, with the reason.
fn not_run_result(scenario: &Scenario, reason: String) -> ScenarioResult {
    let mut result = empty_result(scenario);
    result.blocks = skipped_blocks(scenario, &reason);
    result.note = Some(reason);
    result
}

fn empty_result(scenario: &Scenario) -> ScenarioResult {
    ScenarioResult {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        handler: scenario.handler.clone(),
        path: scenario.request.path.name().to_owned(),
        verdict: Verdict::NotRun,
        note: None,
        status: None,
        ttfb_ms: None,
        chunk_ms: Vec::new(),
        end_ms: None,
        blocks: Vec::new(),
        deviation: None,
        target_error: None,
        timeline: None,
    }
}

fn skipped_blocks(scenario: &Scenario, reason: &str) -> Vec<BlockResult> {
    scenario
        .expect
        .iter()
        .map(|e| BlockResult {
            rules: e.rules.clone(),
            verdict: Verdict::NotRun,
            checks: Vec::new(),
            skipped: Some(reason.to_owned()),
            unchecked: vec![format!("every check ({reason})")],
        })
        .collect()
}

/// The HTTP client scenarios are sent with: every run and test uses this one. Redirects are
/// answers to judge, not to follow (`url-redirect-empty` reads the 302 itself).
pub fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Target(format!("HTTP client: {e}")))
}

/// Runs one scenario and judges its blocks (no deviations applied).
pub async fn run_scenario(
    client: &reqwest::Client,
    target: &Target,
    scenario: &Scenario,
) -> Result<ScenarioResult, Error> {
    let attempt = target.attempt(client, scenario).await?;
    let mut result = empty_result(scenario);
    match attempt {
        Attempt::TargetError { error } => {
            let reason = format!("target error: {error}");
            result.blocks = skipped_blocks(scenario, &reason);
            result.note = Some(reason);
            result.target_error = Some(error);
        }
        Attempt::NotRun { reason } => {
            result.blocks = skipped_blocks(scenario, &reason);
            result.note = Some(reason);
        }
        Attempt::Failed { error } => {
            result.note = Some(error.clone());
            result.blocks = scenario
                .expect
                .iter()
                .map(|e| BlockResult {
                    rules: e.rules.clone(),
                    verdict: Verdict::Fail,
                    checks: vec![Check { what: "an answer".into(), ok: false, evidence: error.clone() }],
                    skipped: None,
                    unchecked: Vec::new(),
                })
                .collect();
        }
        Attempt::Observed { client, wire, wire_visible } => {
            result.status = Some(client.status);
            result.ttfb_ms = client.ttfb_ms();
            result.chunk_ms = client.chunk_times();
            result.end_ms = Some(client.end_ms);
            let wire = wire.as_deref();
            // The runtime's lane only for an invocation the recorder knew.
            result.timeline = Some(ScenarioTimeline::observed(&client, wire.filter(|w| w.recorded)));
            result.blocks = scenario.expect.iter().map(|e| judge(e, &client, wire, wire_visible)).collect();
        }
    }
    result.verdict = roll_up(result.blocks.iter().map(|b| b.verdict));
    Ok(result)
}

/// Blocks into a scenario's or a rule's verdict: any failure fails it; it passes only when every
/// block passed; some evidence judged and some not is "partial"; none judged is "not run".
fn roll_up(verdicts: impl Iterator<Item = Verdict>) -> Verdict {
    let all: Vec<Verdict> = verdicts.collect();
    if all.contains(&Verdict::Fail) {
        Verdict::Fail
    } else if !all.is_empty() && all.iter().all(|v| *v == Verdict::Pass) {
        Verdict::Pass
    } else if all.iter().any(|v| matches!(v, Verdict::Pass | Verdict::Partial)) {
        Verdict::Partial
    } else {
        Verdict::NotRun
    }
}

/// Runs the suite.
pub async fn run(catalogue: &Catalogue, scenarios: Vec<Scenario>, options: &RunOptions) -> Result<Report, Error> {
    for n in &options.expected.not_run {
        if !scenarios.iter().any(|s| s.name == n.scenario) {
            return Err(Error::Invalid(format!(
                "the expected file lists unknown scenario {:?} as not run",
                n.scenario
            )));
        }
    }
    let scenarios = select(scenarios, &options.scenario_globs)?;
    let client = http_client()?;
    let jobs = if options.target.parallel() { options.jobs.max(1) } else { 1 };
    let bar = options.progress.then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(scenarios.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} scenarios {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let semaphore = Arc::new(Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, scenario) in scenarios.iter().cloned().enumerate() {
        let (client, target, semaphore) = (client.clone(), options.target.clone(), semaphore.clone());
        if let Some(reason) = options.expected.not_run(&scenario.name) {
            let reason = format!("not expressible on this target: {reason}");
            tasks.spawn(async move { (i, Ok(not_run_result(&scenario, reason))) });
            continue;
        }
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (i, run_scenario(&client, &target, &scenario).await)
        });
    }
    let mut results: Vec<Option<ScenarioResult>> = vec![None; scenarios.len()];
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.map_err(|e| Error::Target(format!("a scenario task failed: {e}")))?;
        let result = result?;
        if let Some(bar) = &bar {
            bar.set_message(format!("{} {}", result.name, result.verdict.label()));
            bar.inc(1);
        }
        results[i] = Some(result);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let results: Vec<ScenarioResult> = results.into_iter().flatten().collect();
    Ok(assemble(catalogue, &options.label, options.target.kind(), results, &options.expected))
}

/// Rolls scenario results up per rule and applies the expected deviations: each rule judged from
/// its blocks, then the failing scenarios excused where a deviation covers them, then the
/// deviations that no longer fail listed as stale.
pub fn assemble(
    catalogue: &Catalogue,
    label: &str,
    target: &str,
    mut scenarios: Vec<ScenarioResult>,
    expected: &Expected,
) -> Report {
    let rules: Vec<RuleResult> = catalogue.rules.iter().map(|rule| rule_result(rule, &scenarios, expected)).collect();
    excuse_scenarios(&mut scenarios, expected);
    let stale = stale_deviations(expected, &rules, &scenarios);
    Report {
        label: label.to_owned(),
        target: target.to_owned(),
        scenarios,
        rules,
        stale,
        every_rule_judged: expected.every_rule_judged,
    }
}

/// What the scenarios' blocks say about one rule, before deviations.
#[derive(Default)]
struct Gathered {
    /// Every block's verdict.
    verdicts: Vec<Verdict>,
    /// Failed checks, or (while nothing failed) every check of up to three passing or partial
    /// blocks and what was not checked.
    evidence: Vec<Evidence>,
    /// The scenarios with a block for the rule.
    scenarios: Vec<String>,
    /// Every failing block is in a scenario an expected deviation names.
    excused_by_scenario: bool,
    /// Passing or partial blocks whose checks are in `evidence`.
    shown_blocks: usize,
}

fn gather(rule_id: &str, scenarios: &[ScenarioResult], expected: &Expected) -> Gathered {
    let mut g = Gathered { excused_by_scenario: true, ..Gathered::default() };
    for s in scenarios {
        for b in s.blocks.iter().filter(|b| b.rules.iter().any(|r| r == rule_id)) {
            if !g.scenarios.contains(&s.name) {
                g.scenarios.push(s.name.clone());
            }
            g.verdicts.push(b.verdict);
            let checked = |check: &Check| Evidence::Checked { scenario: s.name.clone(), check: check.clone() };
            let unchecked = |what: &String| Evidence::Unchecked { scenario: s.name.clone(), what: what.clone() };
            match b.verdict {
                Verdict::Fail => {
                    g.excused_by_scenario &= expected.for_scenario(&s.name).is_some();
                    g.evidence.extend(b.checks.iter().filter(|c| !c.ok).map(checked));
                }
                // Every check of the block carries the rule (the block is evidence for it as a
                // whole), so all of them are shown, not just the first.
                Verdict::Pass | Verdict::Partial if g.shown_blocks < 3 && !g.verdicts.contains(&Verdict::Fail) => {
                    g.shown_blocks += 1;
                    g.evidence.extend(b.checks.iter().map(checked));
                    g.evidence.extend(b.unchecked.iter().map(unchecked));
                }
                Verdict::NotRun if !g.verdicts.contains(&Verdict::Fail) => {
                    g.evidence.extend(b.unchecked.iter().take(1).map(unchecked));
                }
                _ => {}
            }
        }
    }
    if g.verdicts.contains(&Verdict::Fail) {
        // Passing evidence gathered before the first failure is not evidence for a failed rule.
        g.evidence.retain(Evidence::is_failure);
    }
    g
}

/// Why a rule none of whose blocks ran was not run: the first block's skip reason, else its
/// scenario's note.
fn not_run_reason(rule_id: &str, scenarios: &[ScenarioResult], names: &[String]) -> Vec<Evidence> {
    scenarios
        .iter()
        .filter(|s| names.contains(&s.name))
        .filter_map(|s| {
            s.blocks
                .iter()
                .find(|b| b.rules.iter().any(|r| r == rule_id))
                .and_then(|b| b.skipped.clone())
                .or(s.note.clone())
        })
        .take(1)
        .map(|reason| Evidence::NotRun { reason })
        .collect()
}

/// One rule's verdict, evidence and excusing deviation.
fn rule_result(rule: &Rule, scenarios: &[ScenarioResult], expected: &Expected) -> RuleResult {
    let mut g = gather(&rule.id, scenarios, expected);
    if g.verdicts.iter().all(|v| *v == Verdict::NotRun) {
        g.evidence = not_run_reason(&rule.id, scenarios, &g.scenarios);
    }
    let mut verdict = roll_up(g.verdicts.into_iter());
    let mut deviation = None;
    if verdict == Verdict::Fail {
        if let Some(d) = expected.for_rule(&rule.id) {
            verdict = Verdict::ExpectedFail;
            deviation = Some(d.clone());
        } else if g.excused_by_scenario {
            verdict = Verdict::ExpectedFail;
        }
    }
    RuleResult {
        id: rule.id.clone(),
        section: rule.section.clone(),
        source: rule.source.clone(),
        verdict,
        scenarios: g.scenarios,
        evidence: g.evidence,
        deviation,
    }
}

/// Marks failing scenarios as expected failures where a deviation names the scenario or every
/// failing block is about rules excused for this target.
fn excuse_scenarios(scenarios: &mut [ScenarioResult], expected: &Expected) {
    for s in scenarios.iter_mut().filter(|s| s.verdict == Verdict::Fail) {
        if let Some(d) = expected.for_scenario(&s.name) {
            s.verdict = Verdict::ExpectedFail;
            s.deviation = Some(d.clone());
            continue;
        }
        let excused = s
            .blocks
            .iter()
            .filter(|b| b.verdict == Verdict::Fail)
            .all(|b| b.rules.iter().any(|id| expected.for_rule(id).is_some()));
        if excused {
            s.verdict = Verdict::ExpectedFail;
        }
    }
}

/// Deviations whose rule or scenario ran and passed (intermittent ones excepted). Not run (or
/// unknown to this run) is neither confirmed nor stale.
fn stale_deviations(expected: &Expected, rules: &[RuleResult], scenarios: &[ScenarioResult]) -> Vec<Deviation> {
    expected
        .deviation
        .iter()
        .filter(|d| {
            let seen = match (&d.rule, &d.scenario) {
                (Some(id), _) => rules.iter().find(|r| &r.id == id).map(|r| r.verdict),
                (None, Some(name)) => scenarios.iter().find(|s| &s.name == name).map(|s| s.verdict),
                _ => None,
            };
            seen == Some(Verdict::Pass) && !d.intermittent
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, rule: &str, check: Check) -> ScenarioResult {
        let verdict = if check.ok { Verdict::Pass } else { Verdict::Fail };
        ScenarioResult {
            name: name.into(),
            description: String::new(),
            handler: "h".into(),
            path: "invoke".into(),
            verdict,
            note: None,
            status: Some(200),
            ttfb_ms: None,
            chunk_ms: Vec::new(),
            end_ms: None,
            blocks: vec![BlockResult {
                rules: vec![rule.into()],
                verdict,
                checks: vec![check],
                skipped: None,
                unchecked: Vec::new(),
            }],
            deviation: None,
            target_error: None,
            timeline: None,
        }
    }

    fn check(what: &str, ok: bool, evidence: &str) -> Check {
        Check { what: what.into(), ok, evidence: evidence.into() }
    }

    #[test]
    fn a_failed_rule_keeps_only_failed_checks_as_evidence() {
        let catalogue =
            Catalogue::parse("[[rule]]\nid = 'r'\nsection = '1'\nsource = 's'\ntext = 't'\n").expect("a catalogue");
        // The passing check's text says "expected " too: the evidence must be told apart by what
        // it is, not by its words.
        let scenarios = vec![
            scenario("a-passes", "r", check("body exactly as expected", true, "body \"x\"")),
            scenario("b-fails", "r", check("status 200", false, "status 502")),
        ];
        let report = assemble(&catalogue, "t", "local", scenarios, &Expected::default());
        let rule = report.rule("r").expect("the rule");
        assert_eq!(rule.verdict, Verdict::Fail);
        assert_eq!(rule.evidence.len(), 1, "{:?}", rule.evidence);
        assert_eq!(rule.evidence[0].to_string(), "b-fails: expected status 200; saw status 502");
        assert_eq!(serde_json::to_value(&rule.evidence).unwrap()[0], "b-fails: expected status 200; saw status 502");

        let passing = vec![scenario("a-passes", "r", check("body exactly as expected", true, "body \"x\""))];
        let report = assemble(&catalogue, "t", "local", passing, &Expected::default());
        assert_eq!(report.rules[0].evidence[0].to_string(), "a-passes: body exactly as expected (body \"x\")");
    }
}

#[cfg(test)]
mod rollup_tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::parse("[[rule]]\nid = 'r'\nsection = '1'\nsource = 's'\ntext = 't'\n").expect("a catalogue")
    }

    fn block(verdict: Verdict, checks: &[(&str, bool)], unchecked: &[&str]) -> BlockResult {
        BlockResult {
            rules: vec!["r".into()],
            verdict,
            checks: checks
                .iter()
                .map(|(w, ok)| Check { what: (*w).into(), ok: *ok, evidence: "seen".into() })
                .collect(),
            skipped: unchecked.first().map(|u| (*u).to_owned()),
            unchecked: unchecked.iter().map(|u| (*u).to_owned()).collect(),
        }
    }

    fn scenario(name: &str, blocks: Vec<BlockResult>) -> ScenarioResult {
        ScenarioResult {
            name: name.into(),
            description: String::new(),
            handler: "h".into(),
            path: "invoke".into(),
            verdict: roll_up(blocks.iter().map(|b| b.verdict)),
            note: None,
            status: Some(200),
            ttfb_ms: None,
            chunk_ms: Vec::new(),
            end_ms: None,
            blocks,
            deviation: None,
            timeline: None,
            target_error: None,
        }
    }

    #[test]
    fn a_rule_with_a_partial_or_unrun_block_is_partial_never_pass() {
        let pass = || block(Verdict::Pass, &[("status 200", true), ("InvokeComplete ErrorCode X", true)], &[]);
        let partial = block(Verdict::Partial, &[("status 200", true)], &["wire faults (no emulator)"]);
        let report = assemble(
            &catalogue(),
            "t",
            "x",
            vec![scenario("a", vec![pass()]), scenario("b", vec![partial])],
            &Expected::default(),
        );
        assert_eq!(report.rules[0].verdict, Verdict::Partial);
        assert_eq!(report.scenarios[1].verdict, Verdict::Partial);
        let evidence: Vec<String> = report.rules[0].evidence.iter().map(ToString::to_string).collect();
        assert!(evidence.contains(&"b: not checked: wire faults (no emulator)".to_owned()), "{evidence:?}");

        let not_run = block(Verdict::NotRun, &[], &["every check (no probe here)"]);
        let report = assemble(
            &catalogue(),
            "t",
            "x",
            vec![scenario("a", vec![pass()]), scenario("b", vec![not_run])],
            &Expected::default(),
        );
        assert_eq!(report.rules[0].verdict, Verdict::Partial);
        // A partial rule is no success where the expected file wants every rule judged in full.
        assert!(report.ok());
        let strict = Expected { every_rule_judged: true, ..Expected::default() };
        let report = assemble(
            &catalogue(),
            "t",
            "x",
            vec![scenario("a", vec![pass()]), scenario("b", vec![block(Verdict::NotRun, &[], &["x"])])],
            &strict,
        );
        assert_eq!(report.incomplete().len(), 1);
        assert!(!report.ok());
        let report = assemble(&catalogue(), "t", "x", vec![scenario("a", vec![pass()])], &strict);
        assert!(report.ok() && report.incomplete().is_empty());
    }

    #[test]
    fn a_passing_rule_shows_every_check_of_its_block() {
        let pass = block(Verdict::Pass, &[("status 200", true), ("InvokeComplete ErrorCode Function.X", true)], &[]);
        let report = assemble(&catalogue(), "t", "x", vec![scenario("a", vec![pass])], &Expected::default());
        let evidence: Vec<String> = report.rules[0].evidence.iter().map(ToString::to_string).collect();
        assert_eq!(evidence, ["a: status 200 (seen)", "a: InvokeComplete ErrorCode Function.X (seen)"]);
    }
}
