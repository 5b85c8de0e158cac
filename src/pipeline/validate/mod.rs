//! Validation at a milestone boundary, adversarial by design:
//! 1. the harness runs `validation.commands` and every `command` assertion (the exit code
//!    is the verdict);
//! 2. every newly committed feature gets a mechanical handoff check and, when a reviewer
//!    model is configured, a review agent — all features of the milestone at once;
//! 3. a user tester drives the built program for the `user_test` assertions.

mod checks;
mod review;
mod user_test;

pub use checks::handoff_findings;
use checks::*;
use review::*;
use user_test::*;

use std::time::Duration;

use futures_util::StreamExt;

use super::{Runner, StepStop, agents_md};
use crate::agent::tools::command::run_shell;
use crate::agent::tools::{Access, submit};
use crate::mission::state::{FeaturePhase, FeatureState, MilestoneState};
use crate::mission::{
    AssertionKind, Event, Failure, Finding, Handoff, HandoffStatus, Role, Severity,
};

pub(super) async fn run(r: &Runner, milestone: &str, round: u32) -> Result<(), StepStop> {
    r.hub.emit(Event::ValidationStarted {
        milestone: milestone.to_string(),
        round,
    })?;
    let mut failures = vec![];
    let mut checked = vec![];
    commands(r, milestone, round, &mut failures, &mut checked).await?;
    reviews(r, milestone, round, &mut failures, &mut checked).await?;
    user_tests(r, milestone, round, &mut failures, &mut checked).await?;
    r.hub.emit(Event::ValidationFinished {
        milestone: milestone.to_string(),
        round,
        passed: failures.is_empty(),
        failures,
        checked,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::{CommandRecord, DiffStat, Usage, WorkerReport};

    fn handoff(status: HandoffStatus, summary: &str, commands: &[(&str, i32)]) -> Handoff {
        Handoff {
            feature_id: "f".into(),
            attempt: 1,
            run_id: "r".into(),
            report: WorkerReport {
                status,
                summary: summary.into(),
                issues: vec![],
                deviations: vec![],
            },
            commands: commands
                .iter()
                .map(|(c, x)| CommandRecord {
                    command: c.to_string(),
                    exit_code: Some(*x),
                    duration_ms: 1,
                    timed_out: false,
                    restored: vec![],
                })
                .collect(),
            mcp_calls: vec![],
            files_changed: vec!["src/stats.rs".into()],
            diff_stat: DiffStat::default(),
            commit: "c".into(),
            usage: Usage::default(),
            agent: None,
        }
    }

    #[test]
    fn claimed_success_over_a_failing_command_is_a_high_finding() {
        let h = handoff(
            HandoffStatus::Done,
            "done",
            &[("cargo test", 0), ("cargo test", 101)],
        );
        let f = handoff_findings(&h, &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(
            f[0].message.contains("`cargo test` last exited with 101"),
            "{}",
            f[0].message
        );
        // Failing first and passing later (test-first) is fine.
        let h = handoff(
            HandoffStatus::Done,
            "done",
            &[("cargo test", 101), ("cargo test", 0)],
        );
        assert!(handoff_findings(&h, &[]).is_empty());
        // A `grep` that finds nothing is no verdict, unless the contract makes it one.
        let h = handoff(HandoffStatus::Done, "done", &[("grep -q x f", 1)]);
        assert_eq!(handoff_findings(&h, &[])[0].severity, Severity::Low);
        assert_eq!(
            handoff_findings(&h, &["grep -q x f".into()])[0].severity,
            Severity::High
        );
        // A partial handoff does not claim success.
        let h = handoff(HandoffStatus::Partial, "half", &[("cargo test", 101)]);
        assert!(handoff_findings(&h, &[]).is_empty());
    }

    #[test]
    fn files_named_but_untouched_are_a_medium_finding() {
        let h = handoff(
            HandoffStatus::Done,
            "Changed src/stats.rs and src/parse.rs; see README.md",
            &[],
        );
        let f = handoff_findings(&h, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].severity.as_str(), f[0].path.as_deref()),
            ("medium", Some("src/parse.rs"))
        );
    }
}
