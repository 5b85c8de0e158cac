//! Validation at a milestone boundary, adversarial by design:
//! 1. the harness runs `validation.commands` and every `command` assertion (the exit code
//!    is the verdict);
//! 2. every newly committed feature gets a mechanical handoff check and, when a reviewer
//!    model is configured, a review agent — all features of the milestone at once;
//! 3. a user tester drives the built program for the `user_test` assertions.

use std::time::Duration;

use futures_util::StreamExt;

use super::{Runner, StepStop, agents_md};
use crate::agent::tools::command::run_shell;
use crate::agent::tools::{Access, submit};
use crate::mission::state::{FeaturePhase, FeatureState, MilestoneState};
use crate::mission::{
    AssertionKind, Event, Failure, Finding, HARNESS_REVIEWER, Handoff, HandoffStatus, Role,
    Severity,
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

async fn commands(
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
    Ok(())
}

/// Commands whose exit code is a verdict: the validation commands and every command
/// assertion. A worker's `grep` or `test -f` may fail for good reasons; these may not.
fn verdict_commands(r: &Runner, st: &crate::mission::MissionState) -> Vec<String> {
    let mut v = r.config.validation.commands.clone();
    v.extend(
        st.assertions
            .iter()
            .filter_map(|a| a.assertion.command.clone()),
    );
    v
}

fn is_test_or_build(command: &str) -> bool {
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

fn read_handoff(r: &Runner, feature: &str) -> Option<Handoff> {
    serde_json::from_str(&std::fs::read_to_string(r.layout.handoff(feature)).ok()?).ok()
}

/// Has this feature's review been answered? A failed review counts as answered once a
/// fix round followed it: the corrective features carry the fix and get reviews of their own.
fn review_settled(f: &FeatureState, m: &MilestoneState) -> bool {
    f.reviews.iter().all(|r| r.pass || r.round < m.fix_rounds)
}

async fn reviews(
    r: &Runner,
    milestone: &str,
    round: u32,
    failures: &mut Vec<Failure>,
    checked: &mut Vec<String>,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    let done: Vec<&FeatureState> = m
        .features
        .iter()
        .filter(|f| f.phase == FeaturePhase::Done && !f.skipped)
        .collect();
    // The harness's own check first, once per feature: cheap, and evidence for reviewers.
    let verdict_commands = verdict_commands(r, &st);
    for f in done
        .iter()
        .filter(|f| !f.reviews.iter().any(|rv| rv.reviewer == HARNESS_REVIEWER))
    {
        let Some(h) = read_handoff(r, &f.plan.id) else {
            continue;
        };
        let findings = handoff_findings(&h, &verdict_commands);
        r.hub.emit(Event::ReviewSubmitted {
            milestone: milestone.to_string(),
            round,
            feature_id: f.plan.id.clone(),
            reviewer: HARNESS_REVIEWER.into(),
            pass: !findings.iter().any(|x| x.severity == Severity::High),
            findings,
        })?;
    }
    // Features no review agent has read yet (a resumed validation picks up the rest).
    let fresh: Vec<&FeatureState> = done
        .iter()
        .copied()
        .filter(|f| !f.reviews.iter().any(|rv| rv.reviewer != HARNESS_REVIEWER))
        .collect();
    if r.clients.contains_key(&Role::Reviewer) {
        let limit = r.config.validation.review_concurrency.max(1);
        // Boxed up front: a closure inside the stream would trip the `Send` check of the
        // spawned runner (rust-lang/rust#102211).
        type ReviewFuture<'a> =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StepStop>> + Send + 'a>>;
        let jobs: Vec<ReviewFuture<'_>> = fresh
            .iter()
            .map(|f| Box::pin(review_one(r, m, f, round)) as ReviewFuture<'_>)
            .collect();
        let results: Vec<Result<(), StepStop>> = futures_util::stream::iter(jobs)
            .buffer_unordered(limit)
            .collect()
            .await;
        for res in results {
            res?;
        }
    }
    // Verdicts from the state as it is now, reviews included.
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    for f in m.features.iter().filter(|f| !f.skipped) {
        let failing: Vec<_> = f
            .reviews
            .iter()
            .filter(|rv| !rv.pass && rv.round >= m.fix_rounds)
            .collect();
        // The high findings, or everything a failing review said when none is high.
        let mut open: Vec<&Finding> = failing
            .iter()
            .flat_map(|rv| rv.findings.iter().filter(|x| x.severity == Severity::High))
            .collect();
        if open.is_empty() {
            open = failing.iter().flat_map(|rv| rv.findings.iter()).collect();
        }
        if open.is_empty() && review_settled(f, m) {
            continue;
        }
        let review_assertion = f.plan.fulfills.iter().find(|id| {
            st.plan
                .as_ref()
                .and_then(|p| p.assertion(id))
                .is_some_and(|a| a.kind == AssertionKind::Review)
        });
        failures.push(Failure {
            assertion_id: review_assertion.cloned(),
            check: format!("review of {}", f.plan.id),
            evidence: open
                .iter()
                .map(|x| match &x.path {
                    Some(p) => format!("[{}] {p}: {}", x.severity, x.message),
                    None => format!("[{}] {}", x.severity, x.message),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    for a in st
        .milestone_assertions(milestone)
        .into_iter()
        .filter(|a| a.kind == AssertionKind::Review)
    {
        let by: Vec<&FeatureState> = m
            .features
            .iter()
            .filter(|f| f.plan.fulfills.contains(&a.id) && !f.skipped)
            .collect();
        let reviewed = by
            .iter()
            .all(|f| f.reviews.iter().any(|rv| rv.reviewer != HARNESS_REVIEWER));
        if !by.is_empty()
            && reviewed
            && by.iter().all(|f| review_settled(f, m))
            && !failures
                .iter()
                .any(|x| x.assertion_id.as_deref() == Some(&a.id))
        {
            checked.push(a.id.clone());
        }
    }
    Ok(())
}

async fn review_one(
    r: &Runner,
    m: &MilestoneState,
    f: &FeatureState,
    round: u32,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let h = read_handoff(r, &f.plan.id);
    let (diff, stat) = match (&h, f.commit.as_deref()) {
        (Some(h), Some(commit)) => {
            let parent = r.git(|g| g.parent_of(commit)).unwrap_or_default();
            let diff = r.git(|g| g.diff_text(&parent, commit)).unwrap_or_default();
            let cap = 60_000;
            let diff = if diff.len() > cap {
                format!(
                    "{}\n[… diff truncated; read the files for the rest]",
                    &diff[..diff.floor_char_boundary(cap)]
                )
            } else {
                diff
            };
            (
                diff,
                format!(
                    "{} file(s), +{} −{}",
                    h.diff_stat.files_changed, h.diff_stat.insertions, h.diff_stat.deletions
                ),
            )
        }
        _ => (String::new(), "no diff".into()),
    };
    let handoff = match &h {
        Some(h) => {
            let mut t = format!(
                "status: {}\nsummary: {}\n",
                h.report.status.as_str(),
                h.report.summary
            );
            for c in &h.commands {
                t.push_str(&format!(
                    "command: `{}` → {}\n",
                    c.command,
                    c.exit_code
                        .map_or("killed".to_string(), |x| format!("exit {x}"))
                ));
            }
            for i in &h.report.issues {
                t.push_str(&format!("issue: {i}\n"));
            }
            for d in &h.report.deviations {
                t.push_str(&format!("deviation: {d}\n"));
            }
            t
        }
        None => "(no handoff found)\n".into(),
    };
    let assertions: String = f
        .plan
        .fulfills
        .iter()
        .filter_map(|id| st.plan.as_ref()?.assertion(id))
        .map(|a| format!("- {} [{:?}] {}\n", a.id, a.kind, a.text))
        .collect();
    let task = r.prompts.render(
        "review_task",
        &[
            ("feature_id", &f.plan.id),
            ("title", &f.plan.title),
            ("goal", &st.goal),
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("description", &f.plan.description),
            (
                "assertions",
                if assertions.is_empty() {
                    "(none)\n"
                } else {
                    &assertions
                },
            ),
            ("handoff", &handoff),
            ("stat", &stat),
            ("diff", &diff),
            ("agents", &agents_md(&r.layout)),
        ],
    );
    let run_id = r.run_id(Role::Reviewer, &f.plan.id);
    let toolbox = r.toolbox(Access::ReadAndRun);
    let result = r
        .agent(
            Role::Reviewer,
            &run_id,
            "reviewer",
            task,
            &toolbox,
            submit::submit_review(),
        )?
        .run(submit::parse_review)
        .await?;
    let review = result.value;
    let pass = review.verdict == submit::Verdict::Pass
        && !review.findings.iter().any(|x| x.severity == Severity::High);
    r.hub.emit(Event::ReviewSubmitted {
        milestone: m.id.clone(),
        round,
        feature_id: f.plan.id.clone(),
        reviewer: run_id,
        pass,
        findings: review.findings,
    })?;
    Ok(())
}

async fn user_tests(
    r: &Runner,
    milestone: &str,
    round: u32,
    failures: &mut Vec<Failure>,
    checked: &mut Vec<String>,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    let asked: Vec<_> = st
        .milestone_assertions(milestone)
        .into_iter()
        .filter(|a| a.kind == AssertionKind::UserTest)
        .cloned()
        .collect();
    if asked.is_empty() {
        return Ok(());
    }
    let list: String = asked
        .iter()
        .map(|a| format!("- {}: {}\n", a.id, a.text))
        .collect();
    let round_s = round.to_string();
    let task = r.prompts.render(
        "user_test_task",
        &[
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("round", &round_s),
            ("goal", &st.goal),
            ("assertions", &list),
            ("agents", &agents_md(&r.layout)),
        ],
    );
    let ids: Vec<String> = asked.iter().map(|a| a.id.clone()).collect();
    let parse = |v: &serde_json::Value| {
        let rep = submit::parse_report(v)?;
        if let Some(x) = rep.results.iter().find(|x| !ids.contains(&x.assertion_id)) {
            return Err(format!(
                "invalid report: `{}` is not one of the assertions you were given ({})",
                x.assertion_id,
                ids.join(", ")
            ));
        }
        Ok(rep)
    };
    let run_id = r.run_id(Role::UserTester, &m.id);
    let toolbox = r.toolbox(Access::Test);
    let result = r
        .agent(
            Role::UserTester,
            &run_id,
            "user_tester",
            task,
            &toolbox,
            submit::submit_report(),
        )?
        .run(parse)
        .await?;
    drop(toolbox); // every terminal the tester left open is closed now
    let results = result.value.results;
    for a in &asked {
        match results.iter().find(|x| x.assertion_id == a.id) {
            Some(x) if x.pass => checked.push(a.id.clone()),
            Some(x) => failures.push(Failure {
                assertion_id: Some(a.id.clone()),
                check: "user test".into(),
                evidence: x.evidence.clone(),
            }),
            None => failures.push(Failure {
                assertion_id: Some(a.id.clone()),
                check: "user test".into(),
                evidence: "the user tester did not report on it".into(),
            }),
        }
    }
    r.hub.emit(Event::UserTestReported {
        milestone: milestone.to_string(),
        round,
        results,
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
            files_changed: vec!["src/stats.rs".into()],
            diff_stat: DiffStat::default(),
            commit: "c".into(),
            usage: Usage::default(),
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
