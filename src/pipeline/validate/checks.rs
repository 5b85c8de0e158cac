//! The harness's own checks: `validation.commands` and every `command` assertion (the
//! exit code is the verdict), and what it can tell from a handoff by itself.

use super::*;

pub(super) async fn commands(
    r: &Runner,
    milestone: &str,
    round: u32,
    failures: &mut Vec<Failure>,
    checked: &mut Vec<String>,
) -> Result<(), StepStop> {
    let mut checks: Vec<(Option<String>, String)> = r
        .config
        .validation
        .commands
        .iter()
        .map(|c| (None, c.clone()))
        .collect();
    checks.extend(r.hub.read(|s| {
        s.milestone_assertions(milestone)
            .into_iter()
            .filter(|a| a.kind == AssertionKind::Command)
            .filter_map(|a| Some((Some(a.id.clone()), a.command.clone()?)))
            .collect::<Vec<_>>()
    }));
    let timeout = Duration::from_secs(r.config.validation.command_timeout_secs);
    for (assertion_id, command) in checks {
        let out = run_shell(
            &command,
            &r.layout.work,
            timeout,
            &r.launcher,
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
        if out.success() && out.restored.is_empty() {
            checked.extend(assertion_id);
            continue;
        }
        if !out.restored.is_empty() {
            failures.push(Failure {
                assertion_id,
                check: command,
                evidence: format!(
                    "the check changed protected files, which the harness restored: {}",
                    out.restored.join(", ")
                ),
            });
            continue;
        }
        let verdict = match out.timed_out {
            true => format!("timed out after {}s", timeout.as_secs()),
            false => crate::mission::narrate::exit(out.exit_code, false),
        };
        failures.push(Failure {
            assertion_id,
            check: command,
            evidence: format!("{verdict}\n{tail}"),
        });
    }
    Ok(())
}

/// Commands whose exit code is a verdict: the validation commands and every command
/// assertion. A worker's `grep` or `test -f` may fail for good reasons; these may not.
pub(super) fn verdict_commands(r: &Runner, st: &crate::mission::MissionState) -> Vec<String> {
    let mut v = r.config.validation.commands.clone();
    v.extend(
        st.assertions
            .iter()
            .filter_map(|a| a.assertion.command.clone()),
    );
    v
}

pub(super) fn is_test_or_build(command: &str) -> bool {
    let c = command.trim();
    [
        "cargo test",
        "cargo build",
        "cargo check",
        "cargo clippy",
        "npm test",
        "npm run test",
        "npm run build",
        "pytest",
        "python -m pytest",
        "go test",
        "go build",
        "make test",
        "make check",
        "make",
    ]
    .iter()
    .any(|p| c == *p || c.starts_with(&format!("{p} ")))
}

/// What the harness itself can tell from a handoff: success claimed while a test, build
/// or contract command last failed, and files named in the summary that the diff does
/// not touch.
pub fn handoff_findings(h: &Handoff, verdict_commands: &[String]) -> Vec<Finding> {
    let mut out = vec![];
    for c in h.commands.iter().filter(|c| !c.restored.is_empty()) {
        out.push(Finding {
            severity: Severity::High,
            path: None,
            line: None,
            message: format!(
                "`{}` changed protected files, which the harness restored: {}",
                c.command,
                c.restored.join(", ")
            ),
        });
    }
    if h.report.status == HandoffStatus::Done {
        let mut seen: Vec<&str> = vec![];
        for c in h.commands.iter().rev() {
            if seen.contains(&c.command.as_str()) {
                continue;
            }
            seen.push(&c.command);
            if c.exit_code != Some(0) {
                let how = match (c.timed_out, c.exit_code) {
                    (true, _) => "timed out".to_string(),
                    (false, Some(code)) => format!("exited with {code}"),
                    (false, None) => "was killed".into(),
                };
                let verdict = verdict_commands.iter().any(|v| v == &c.command)
                    || is_test_or_build(&c.command);
                out.push(Finding {
                    severity: if verdict {
                        Severity::High
                    } else {
                        Severity::Low
                    },
                    path: None,
                    line: None,
                    message: format!("the handoff says done, but `{}` last {how}", c.command),
                });
            }
        }
    }
    static PATH_LIKE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"[A-Za-z0-9_./-]+\.(rs|toml|md|py|js|ts|tsx|go|java|c|h|cpp|json|ya?ml|sh|txt)\b",
        )
        .expect("a valid pattern")
    });
    let path_like = &*PATH_LIKE;
    for m in path_like.find_iter(&h.report.summary) {
        let named = m.as_str().trim_start_matches("./");
        let touched = h
            .files_changed
            .iter()
            .any(|f| f == named || f.ends_with(&format!("/{named}")));
        if named.contains('/') && !touched && !out.iter().any(|f| f.path.as_deref() == Some(named))
        {
            out.push(Finding {
                severity: Severity::Medium,
                path: Some(named.to_string()),
                line: None,
                message: format!("the handoff names {named}, which the diff does not touch"),
            });
        }
    }
    out
}
