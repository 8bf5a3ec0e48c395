//! The rule catalogue (`rules.toml`, embedded at build time): every observable rule of the
//! streaming spec with an id, its spec section and the sources the fact comes from.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The catalogue as shipped.
pub const RULES_TOML: &str = include_str!("../rules.toml");

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, `area.name` (e.g. `runtime.trailers-are-trailers`).
    pub id: String,
    /// Section of `spec/streaming-protocol.md`.
    pub section: String,
    /// Sources, by the spec's short names.
    pub source: String,
    /// What must hold.
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<Rule>,
}

/// The rules, in catalogue order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// All rules.
    pub rules: Vec<Rule>,
}

impl Catalogue {
    /// The embedded catalogue.
    pub fn embedded() -> Result<Self, Error> {
        Self::parse(RULES_TOML)
    }

    /// Parses a catalogue; ids must be unique.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let file: File =
            toml::from_str(text).map_err(|e| Error::Parse { what: "rules.toml".into(), message: e.to_string() })?;
        let mut seen = std::collections::HashSet::new();
        for rule in &file.rule {
            if !seen.insert(rule.id.as_str()) {
                return Err(Error::Invalid(format!("rule {} is listed twice", rule.id)));
            }
        }
        Ok(Self { rules: file.rule })
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
