//! Scrutiny at a milestone boundary, run by the harness itself: `validation.commands`
//! and every `command` assertion of the milestone. The exit code is the verdict.

use std::time::Duration;

use super::{RunError, Runner};
use crate::agent::tools::command::run_shell;
use crate::mission::{AssertionKind, Event, Failure};

pub(super) async fn run(r: &Runner, milestone: &str, round: u32) -> Result<(), RunError> {
    r.hub.emit(Event::ValidationStarted {
        milestone: milestone.to_string(),
        round,
    })?;
    let mut checks: Vec<(Option<String>, String)> = r
        .config
        .validation
        .commands
        .iter()
        .map(|c| (None, c.clone()))
        .collect();
    let assertions = r.hub.read(|s| {
        s.milestone_assertions(milestone)
            .into_iter()
            .filter(|a| a.kind == AssertionKind::Command)
            .filter_map(|a| Some((Some(a.id.clone()), a.command.clone()?)))
            .collect::<Vec<_>>()
    });
    checks.extend(assertions);
    let timeout = Duration::from_secs(r.config.validation.command_timeout_secs);
    let secrets = r.config.secret_env_names();
    let mut failures = vec![];
    for (assertion_id, command) in checks {
        let out = run_shell(
            &command,
            &r.layout.repo,
            timeout,
            &secrets,
            r.config.limits.output_cap_bytes,
        )
        .await;
        let tail = out.tail(20);
        r.hub.emit(Event::CheckRan {
            milestone: milestone.to_string(),
            round,
            assertion_id: assertion_id.clone(),
            command: command.clone(),
            exit_code: out.exit_code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
            output_tail: tail.clone(),
        })?;
        if !out.success() {
            let verdict = match (out.timed_out, out.exit_code) {
                (true, _) => format!("timed out after {}s", timeout.as_secs()),
                (false, Some(c)) => format!("exit {c}"),
                (false, None) => "killed by a signal".into(),
            };
            failures.push(Failure {
                assertion_id,
                check: command,
                evidence: format!("{verdict}\n{tail}"),
            });
        }
    }
    r.hub.emit(Event::ValidationFinished {
        milestone: milestone.to_string(),
        round,
        passed: failures.is_empty(),
        failures,
    })?;
    Ok(())
}
