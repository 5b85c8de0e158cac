//! Narration: one line per event worth telling, shared by `--headless`, `mission log` and
//! the console's activity feed.

use super::event::Gate;
use super::{Event, EventRecord, MissionState};

/// Folds events and turns each into a line worth printing (most are; turns are not).
#[derive(Default)]
pub struct Printer {
    state: MissionState,
}

impl Printer {
    /// Starts from the state so far (a resumed mission).
    pub fn new(state: MissionState) -> Self {
        Printer { state }
    }

    pub fn line(&mut self, rec: &EventRecord) -> Option<String> {
        self.state.apply(rec);
        let st = &self.state;
        let elapsed = st
            .started_at
            .map(|s| (rec.ts.as_millisecond() - s.as_millisecond()) as f64 / 1000.0)
            .unwrap_or(0.0);
        let (label, text) = describe_event(rec, st)?;
        Some(format!("{elapsed:>7.1}s  {label:<12} {text}"))
    }
}

/// The label (feature, milestone, role…) and text of the line worth showing for `rec`,
/// given the state with `rec` already folded in; `None` for events not worth a line.
pub fn describe_event(rec: &EventRecord, st: &MissionState) -> Option<(String, String)> {
    let agent_label = || {
        st.active
            .as_ref()
            .map(|a| {
                a.feature_id
                    .clone()
                    .unwrap_or_else(|| a.role.as_str().to_string())
            })
            .unwrap_or_default()
    };
    describe(&rec.event, st, agent_label)
}

/// A commit's short form for humans (the one formatter for it); never panics on a short
/// or odd id.
pub fn short(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

/// How a command ended, in two words (the one formatter for it): `exit 0`, `timed out`,
/// `killed`.
pub fn exit(code: Option<i32>, timed_out: bool) -> String {
    match (timed_out, code) {
        (true, _) => "timed out".into(),
        (false, Some(c)) => format!("exit {c}"),
        (false, None) => "killed".into(),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

fn describe(
    ev: &Event,
    st: &MissionState,
    agent_label: impl Fn() -> String,
) -> Option<(String, String)> {
    let s = |x: &str| x.to_string();
    Some(match ev {
        Event::MissionStarted {
            goal,
            branch,
            base_commit,
            ..
        } => (
            s("start"),
            format!("{goal:?} on branch {branch} (from {})", short(base_commit)),
        ),
        Event::MissionResumed {
            reset_to,
            discarded_patch,
        } => (
            s("resume"),
            match discarded_patch {
                Some(p) => format!(
                    "tree reset to {}; interrupted work saved to {p}",
                    short(reset_to)
                ),
                None => format!("continuing from {}", short(reset_to)),
            },
        ),
        Event::AgentStarted {
            role, model, task, ..
        } => (
            agent_label(),
            format!("{role} ({model}): {}", one_line(task, 70)),
        ),
        Event::AgentTurn {
            text: Some(text), ..
        } => (agent_label(), format!("“{}”", one_line(text, 90))),
        Event::AgentTurn { .. } => return None,
        Event::ModelRetried { message, .. } => {
            (agent_label(), format!("↻ {}", one_line(message, 100)))
        }
        Event::ToolUsed { summary, ok, .. } => (
            agent_label(),
            format!("{}{}", if *ok { "" } else { "✘ " }, one_line(summary, 90)),
        ),
        Event::CommandRan {
            command,
            exit_code,
            duration_ms,
            timed_out,
            restored,
            ..
        } => (
            agent_label(),
            format!(
                "$ {} → {} ({:.1}s){}",
                one_line(command, 70),
                exit(*exit_code, *timed_out),
                *duration_ms as f64 / 1000.0,
                if restored.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ✘ changed protected files, restored: {}",
                        restored.join(", ")
                    )
                }
            ),
        ),
        Event::NotifyFailed { message } => (s("notify"), format!("✘ {message}")),
        Event::McpServerFailed { server, error } => {
            (s("mcp"), format!("✘ server `{server}`: {error}"))
        }
        Event::ContextCompacted {
            tokens_before,
            tokens_after,
            elided,
            ..
        } => (
            agent_label(),
            format!(
                "context compacted to fit the model: {} → {} tokens ({elided} old tool output(s) elided)",
                tokens_before, tokens_after
            ),
        ),
        Event::AgentStuck {
            tool,
            repeats,
            error,
            ..
        } => (
            agent_label(),
            format!(
                "✘ stuck repeating {tool} ({repeats}× the same failing call): {}",
                one_line(error, 80)
            ),
        ),
        Event::AgentFinished {
            ok: false, error, ..
        } => (
            agent_label(),
            format!("✘ agent stopped: {}", error.as_deref().unwrap_or("unknown")),
        ),
        Event::AgentFinished { .. } => return None,
        Event::PlanSubmitted { plan } => (
            s("plan"),
            format!(
                "{} milestone(s), {} feature(s), {} contract assertion(s)",
                plan.milestones.len(),
                plan.feature_count(),
                plan.assertions.len()
            ),
        ),
        Event::GateOpened { gate, reason } => (
            s("waiting"),
            match gate {
                Gate::Plan => {
                    format!("{reason}: `mission approve` or `mission reject --note \"…\"`")
                }
                _ => format!("{gate}: {reason}"),
            },
        ),
        Event::GateApproved { gate, auto } => (
            s("gate"),
            format!(
                "{gate}: approved{}",
                if *auto {
                    " automatically"
                } else {
                    " by a human"
                }
            ),
        ),
        Event::GateRejected { gate, note } => (s("gate"), format!("{gate}: rejected — {note}")),
        Event::ContractFrozen { assertions } => {
            (s("contract"), format!("frozen: {assertions} assertion(s)"))
        }
        Event::FeatureStarted {
            feature_id,
            attempt,
            ..
        } => {
            let title = st
                .feature(feature_id)
                .map(|(_, f)| f.plan.title.clone())
                .unwrap_or_default();
            (feature_id.clone(), format!("attempt {attempt}: {title}"))
        }
        Event::HandoffSubmitted {
            feature_id, report, ..
        } => (
            feature_id.clone(),
            format!(
                "handoff ({}): {}",
                report.status.as_str(),
                one_line(&report.summary, 80)
            ),
        ),
        Event::FeatureCommitted {
            feature_id,
            commit,
            diff_stat,
            ..
        } => (
            feature_id.clone(),
            format!(
                "✔ committed {}: {} file(s), +{} −{}",
                short(commit),
                diff_stat.files_changed,
                diff_stat.insertions,
                diff_stat.deletions
            ),
        ),
        Event::FeatureFailed {
            feature_id,
            attempt,
            reason,
            ..
        } => (
            feature_id.clone(),
            format!("✘ attempt {attempt} failed: {reason}"),
        ),
        Event::ValidationStarted { milestone, round } => (
            milestone.clone(),
            if *round == 0 {
                s("validating")
            } else {
                format!("validating again after fix round {round}")
            },
        ),
        Event::CheckRan {
            milestone,
            assertion_id,
            command,
            exit_code,
            timed_out,
            duration_ms,
            ..
        } => (
            milestone.clone(),
            format!(
                "{} {}{} → {} ({:.1}s)",
                if *exit_code == Some(0) { "✔" } else { "✘" },
                assertion_id
                    .as_ref()
                    .map(|a| format!("{a}: "))
                    .unwrap_or_default(),
                one_line(command, 60),
                exit(*exit_code, *timed_out),
                *duration_ms as f64 / 1000.0
            ),
        ),
        Event::BaselineRan {
            assertion_id,
            command,
            exit_code,
            timed_out,
            duration_ms,
            ..
        } => (
            "plan".into(),
            format!(
                "baseline {assertion_id}: {} → {} ({:.1}s){}",
                one_line(command, 60),
                exit(*exit_code, *timed_out),
                *duration_ms as f64 / 1000.0,
                if *exit_code == Some(0) {
                    ", passes already, before any work"
                } else {
                    ""
                }
            ),
        ),
        Event::ReviewSubmitted {
            feature_id,
            reviewer,
            pass,
            findings,
            ..
        } => {
            let who = if reviewer.is_harness() {
                "handoff check"
            } else {
                "review"
            };
            let first = findings
                .iter()
                .find(|f| f.severity == super::Severity::High)
                .or(findings.first())
                .map(|f| format!(" — {}: {}", f.severity, one_line(&f.message, 80)))
                .unwrap_or_default();
            (
                feature_id.clone(),
                format!(
                    "{} {who}{}{first}",
                    if *pass { "✔" } else { "✘" },
                    if *pass { " passed" } else { " failed" }
                ),
            )
        }
        Event::UserTestReported {
            milestone, results, ..
        } => (
            milestone.clone(),
            format!(
                "user test: {}",
                results
                    .iter()
                    .map(|r| format!("{} {}", r.assertion_id, if r.pass { "✔" } else { "✘" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Event::ValidationFinished {
            milestone,
            passed,
            failures,
            ..
        } => (
            milestone.clone(),
            if *passed {
                s("✔ validation passed")
            } else {
                format!(
                    "✘ validation failed: {} check(s) — {}",
                    failures.len(),
                    crate::mission::state::summarize_failures(failures)
                )
            },
        ),
        Event::FixesSubmitted {
            milestone,
            round,
            features,
            ..
        } => (
            milestone.clone(),
            format!(
                "fix round {round}: {}",
                features
                    .iter()
                    .map(|f| format!("{} {:?}", f.id, f.title))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Event::ContractAmendmentProposed {
            milestone,
            assertions,
            ..
        } => (
            milestone.clone(),
            format!(
                "contract amendment proposed: {}",
                assertions
                    .iter()
                    .map(|a| format!("{} {:?}", a.id, a.text))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Event::MilestonePassed {
            milestone,
            overridden,
        } => (
            milestone.clone(),
            if *overridden {
                s("accepted by a human")
            } else {
                s("✔ milestone passed")
            },
        ),
        Event::Paused { reason } => (s("paused"), reason.clone()),
        Event::Unpaused => (s("unpaused"), s("continuing")),
        Event::RateLimited {
            model,
            message,
            until,
            auto_resume,
        } => (
            s("paused"),
            one_line(
                &crate::mission::state::rate_limit_reason(model, message, *until, *auto_resume),
                120,
            ),
        ),
        Event::MessageSaid { text } => (s("message"), one_line(text, 90)),
        Event::FilesChanged { paths, more } => {
            let shown: Vec<&str> = paths.iter().take(4).map(String::as_str).collect();
            let more = paths.len().saturating_sub(shown.len()) + more;
            let list = shown.join(", ");
            (
                s("files"),
                if more > 0 {
                    format!("{list} (+{more} more)")
                } else {
                    list
                },
            )
        }
        Event::MissionCompleted { report } => {
            (s("done"), format!("✔ mission completed; report: {report}"))
        }
        Event::MissionFailed { reason } => (s("failed"), reason.clone()),
    })
}
