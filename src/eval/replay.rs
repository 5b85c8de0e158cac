//! Recordings of eval runs and their replay. `mission eval run --record DIR` leaves:
//!
//! - `DIR/recording.json`: what was measured (version, prompts hash, the config's text,
//!   the corpus);
//! - `DIR/<scenario>/exchanges.jsonl`: every provider exchange of the scenario's mission;
//! - `DIR/<scenario>/result.json`: how it was graded.
//!
//! `mission eval replay DIR` runs the scenarios again with every role answered from its
//! recording, and reports where the harness now asks something else, and where the
//! outcome differs — so CI catches a harness regression without a key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run::ScenarioResult;
use crate::llm::recording::Replayed;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub prompts_hash: String,
    /// The corpus the recording was made on, as given.
    pub corpus: PathBuf,
    /// The mission.toml of the recorded run: its roles, limits and validation settings
    /// (keys are never in it; they come from the environment).
    pub config: String,
}

pub const MANIFEST: &str = "recording.json";
pub const EXCHANGES: &str = "exchanges.jsonl";
pub const RESULT: &str = "result.json";

pub fn exchanges(dir: &Path, scenario: &str) -> PathBuf {
    dir.join(scenario).join(EXCHANGES)
}

pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (a recording is the directory `mission eval run --record DIR` wrote)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn read_result(dir: &Path, scenario: &str) -> Result<ScenarioResult, String> {
    let path = dir.join(scenario).join(RESULT);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The recorded config with every role answered by the recording: its roles keep their
/// models (for labels and prices) and settings; the providers become one `replay`. A
/// validator that borrowed the orchestrator's model gets a role of its own, so the same
/// roles speak as in the recorded run.
pub fn replay_config(recorded: &str) -> Result<String, String> {
    let mut t: toml::Table = recorded
        .parse()
        .map_err(|e| format!("the recorded config: {e}"))?;
    let providers = t.get("providers").and_then(|p| p.as_table()).cloned();
    let offline = |provider: &str| {
        let kind = providers
            .as_ref()
            .and_then(|p| p.get(provider))
            .and_then(|p| p.get("kind"))
            .and_then(|k| k.as_str());
        matches!(kind.unwrap_or(provider), "scripted" | "replay")
    };
    let roles = t
        .entry("roles")
        .or_insert_with(|| toml::Value::Table(Default::default()))
        .as_table_mut()
        .ok_or("the recorded config's `roles` is not a table")?;
    // External agents run whole sessions of their own, which are not recorded.
    let external: Vec<&String> = roles
        .iter()
        .filter(|(_, r)| r.get("agent").is_some())
        .map(|(name, _)| name)
        .collect();
    if !external.is_empty() {
        return Err(format!(
            "the recording's roles {} were played by external agents (ACP), whose sessions are not recorded: it cannot be replayed",
            external
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let lends = roles
        .get("orchestrator")
        .and_then(|o| o.as_table())
        .filter(|o| !offline(o.get("provider").and_then(|p| p.as_str()).unwrap_or("")))
        .cloned();
    if let Some(o) = lends {
        for role in ["reviewer", "user_tester"] {
            roles
                .entry(role)
                .or_insert_with(|| toml::Value::Table(o.clone()));
        }
    }
    for (_, role) in roles.iter_mut() {
        if let Some(r) = role.as_table_mut() {
            r.insert("provider".into(), "replay".into());
        }
    }
    let mut replay = toml::Table::new();
    replay.insert("kind".into(), "replay".into());
    replay.insert("recording".into(), "recording.jsonl".into());
    let mut p = toml::Table::new();
    p.insert("replay".into(), toml::Value::Table(replay));
    t.insert("providers".into(), toml::Value::Table(p));
    toml::to_string(&t).map_err(|e| e.to_string())
}

/// What a replay of one scenario found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayCheck {
    /// Requests the harness made.
    pub asked: usize,
    /// Exchanges in the recording.
    pub recorded: usize,
    /// Requests that differ from the recorded ones, or that the recording cannot answer.
    pub diverged: Vec<Replayed>,
    /// Recorded exchanges nobody asked for: the harness now asks less.
    pub unused: usize,
    /// Outcome fields that differ from the recorded result: `field: recorded → now`.
    pub outcome: Vec<String>,
}

impl ReplayCheck {
    pub fn same(&self) -> bool {
        self.diverged.is_empty() && self.unused == 0 && self.outcome.is_empty()
    }
}

/// Reads a replay's log and compares the graded outcome with the recorded one.
pub fn check(
    log: &Path,
    recorded: usize,
    now: &ScenarioResult,
    then: &ScenarioResult,
) -> ReplayCheck {
    let lines: Vec<Replayed> = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let answered = lines.iter().filter(|l| l.exchange.is_some()).count();
    ReplayCheck {
        asked: lines.len(),
        recorded,
        unused: recorded.saturating_sub(answered),
        diverged: lines
            .into_iter()
            .filter(|l| l.exchange.is_none() || !l.differences.is_empty())
            .collect(),
        outcome: outcome_changes(then, now),
    }
}

/// The graded fields that may not move in a replay (time may).
fn outcome_changes(then: &ScenarioResult, now: &ScenarioResult) -> Vec<String> {
    let mut out = vec![];
    let mut cmp = |field: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{field}: {a} → {b}"));
        }
    };
    cmp("passed", then.passed.to_string(), now.passed.to_string());
    let tally = |t: &super::run::Tally| format!("{}/{}", t.passed, t.total);
    cmp(
        "fail_to_pass",
        tally(&then.fail_to_pass),
        tally(&now.fail_to_pass),
    );
    cmp(
        "pass_to_pass",
        tally(&then.pass_to_pass),
        tally(&now.pass_to_pass),
    );
    cmp(
        "plan_valid_first_try",
        then.plan_valid_first_try.to_string(),
        now.plan_valid_first_try.to_string(),
    );
    let calls = |c: &super::run::Calls| format!("{} ({} malformed)", c.total, c.malformed);
    cmp(
        "tool_calls",
        calls(&then.tool_calls),
        calls(&now.tool_calls),
    );
    cmp(
        "edit_failures",
        then.edit_failures.to_string(),
        now.edit_failures.to_string(),
    );
    cmp(
        "stuck_attempts",
        then.stuck_attempts.to_string(),
        now.stuck_attempts.to_string(),
    );
    cmp(
        "fix_rounds",
        then.fix_rounds.to_string(),
        now.fix_rounds.to_string(),
    );
    cmp(
        "escalated",
        then.escalated.to_string(),
        now.escalated.to_string(),
    );
    cmp(
        "test_file_edits",
        then.test_file_edits.to_string(),
        now.test_file_edits.to_string(),
    );
    cmp(
        "cost_usd",
        format!("{:.4}", then.cost_usd),
        format!("{:.4}", now.cost_usd),
    );
    cmp(
        "exit_code",
        format!("{:?}", then.exit_code),
        format!("{:?}", now.exit_code),
    );
    if then.model_patch != now.model_patch {
        out.push("model_patch: the change differs".into());
    }
    out
}

/// One line for a person: what diverged first, where.
pub fn first_divergence(c: &ReplayCheck) -> Option<String> {
    if let Some(d) = c.diverged.first() {
        let task: String = d
            .task
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(50)
            .collect();
        return Some(match d.differences.first() {
            Some(x) => format!(
                "{} turn {} of \"{task}\": {}: {} → {}",
                d.role,
                d.turn + 1,
                x.path,
                one_line(&x.recorded),
                one_line(&x.now)
            ),
            None => format!(
                "{} turn {} of \"{task}\": nothing recorded answers it",
                d.role,
                d.turn + 1
            ),
        });
    }
    if c.unused > 0 {
        return Some(format!(
            "{} recorded exchange(s) were never asked for",
            c.unused
        ));
    }
    c.outcome.first().cloned()
}

fn one_line(s: &str) -> String {
    let s = s.replace('\n', "⏎");
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_config_answers_every_role_from_the_recording() {
        let real = "[providers.gw]\nkind = \"anthropic\"\napi_key_env = \"GW_KEY\"\n\n[roles.orchestrator]\nprovider = \"gw\"\nmodel = \"big\"\n\n[roles.worker]\nprovider = \"gw\"\nmodel = \"small\"\nthinking_budget_tokens = 2048\n\n[limits]\nmax_turns = 9\n";
        let c: toml::Table = replay_config(real).unwrap().parse().unwrap();
        let roles = c["roles"].as_table().unwrap();
        // The validators borrowed the orchestrator's model: they keep speaking.
        for r in ["orchestrator", "worker", "reviewer", "user_tester"] {
            assert_eq!(roles[r]["provider"].as_str(), Some("replay"), "{r}");
        }
        assert_eq!(roles["reviewer"]["model"].as_str(), Some("big"));
        assert_eq!(
            roles["worker"]["thinking_budget_tokens"].as_integer(),
            Some(2048)
        );
        assert_eq!(c["limits"]["max_turns"].as_integer(), Some(9));
        assert!(c["providers"].get("gw").is_none(), "no key is needed");
        // A scripted orchestrator lent nothing: no role appears that did not speak.
        let scripted = "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n";
        let c: toml::Table = replay_config(scripted).unwrap().parse().unwrap();
        assert!(c["roles"].get("reviewer").is_none());
        // An external agent's sessions are not recorded: said, not replayed wrongly.
        let acp = "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n[roles.worker]\nagent = \"codex\"\n";
        let e = replay_config(acp).unwrap_err();
        assert!(
            e.contains("roles worker were played by external agents"),
            "{e}"
        );
    }
}
