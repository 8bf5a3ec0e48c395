//! Expected deviations per target (`ci/expected/<target>.toml`), as rustls keeps its BoGo config:
//! each entry names a rule or a scenario and says why it fails there. A listed deviation that no
//! longer happens is reported as stale, so the file cannot rot into a blanket excuse; an entry
//! marked `intermittent = true` (observed both failing and passing) is exempt from that.
//!
//! A `[[not_run]]` entry names a scenario the target cannot express at all (Node's streams have
//! no typed writer misuse to provoke): it is not sent, and its rules read "not run" with the
//! reason, never pass and never fail.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// One expected deviation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// The rule expected to fail.
    #[serde(default)]
    pub rule: Option<String>,
    /// The scenario expected to fail (all its failing blocks).
    #[serde(default)]
    pub scenario: Option<String>,
    /// Why.
    pub reason: String,
    /// The target deviates only some of the time (a race on its side, seen both ways): a run
    /// where it passes does not report the entry as stale. Use it only for what was observed to
    /// flip between runs, and say so in the reason.
    #[serde(default)]
    pub intermittent: bool,
}

impl Deviation {
    /// `rule X` or `scenario Y`.
    pub fn subject(&self) -> String {
        match (&self.rule, &self.scenario) {
            (Some(r), _) => format!("rule {r}"),
            (None, Some(s)) => format!("scenario {s}"),
            (None, None) => "nothing".to_owned(),
        }
    }
}

/// The expected deviations of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// What the file is for (free text).
    #[serde(default)]
    pub target: Option<String>,
    /// Every rule of the catalogue must be judged in full on this target (pass, or fail as a
    /// listed deviation): a rule left "not run" or "partial" then fails the run
    /// ([`Report::ok`](crate::Report::ok)). For targets that run every scenario with the emulator
    /// in the loop (our runtime), so that a check that silently stopped being made shows up.
    #[serde(default)]
    pub every_rule_judged: bool,
    /// The deviations.
    #[serde(default)]
    pub deviation: Vec<Deviation>,
    /// Scenarios this target cannot express: not sent, reported as not run.
    #[serde(default)]
    pub not_run: Vec<NotRun>,
}

/// A scenario the target cannot express, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotRun {
    /// The scenario.
    pub scenario: String,
    /// Why it cannot run there.
    pub reason: String,
}

impl Expected {
    /// Parses a deviations file; every entry names exactly one rule or scenario.
    pub fn parse(what: &str, text: &str) -> Result<Self, Error> {
        let expected: Expected =
            toml::from_str(text).map_err(|e| Error::Parse { what: what.to_owned(), message: e.to_string() })?;
        for d in &expected.deviation {
            if d.rule.is_some() == d.scenario.is_some() {
                return Err(Error::Invalid(format!("{what}: each deviation names one rule or one scenario: {d:?}")));
            }
        }
        for n in &expected.not_run {
            if expected.for_scenario(&n.scenario).is_some() {
                return Err(Error::Invalid(format!(
                    "{what}: scenario {} is both a deviation and not run; keep one",
                    n.scenario
                )));
            }
        }
        Ok(expected)
    }

    /// Reads a deviations file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The deviation for a rule.
    pub fn for_rule(&self, id: &str) -> Option<&Deviation> {
        self.deviation.iter().find(|d| d.rule.as_deref() == Some(id))
    }

    /// Why a scenario is not run on this target, if it is listed as such.
    pub fn not_run(&self, scenario: &str) -> Option<&str> {
        self.not_run.iter().find(|n| n.scenario == scenario).map(|n| n.reason.as_str())
    }

    /// The deviation for a scenario.
    pub fn for_scenario(&self, name: &str) -> Option<&Deviation> {
        self.deviation.iter().find(|d| d.scenario.as_deref() == Some(name))
    }
}
