//! One feature, one worker, one commit: the single writer at work.

use super::orchestrator::handoff_digest;
use super::{Runner, StepStop, agents_md};
use crate::agent::AgentError;
use crate::agent::tools::{Access, submit};
use crate::git::FEATURE_TRAILER;
use crate::mission::{Event, Handoff, HandoffStatus, Role, WorkerReport};

pub(super) async fn run(r: &Runner, milestone: &str, feature: &str) -> Result<(), StepStop> {
    let st = r.hub.state();
    let (Some(m), Some((_, f))) = (st.milestone(milestone), st.feature(feature)) else {
        return Err(StepStop::Pause(format!(
            "feature {feature} vanished from the plan"
        )));
    };
    let attempt = f.attempts + 1;
    let base = st.head().to_string();
    // Whatever an earlier attempt left behind is saved and discarded: each attempt starts
    // from the last committed feature.
    discard_work(r, &base, &format!("{feature}-before-attempt{attempt}"))?;
    r.hub.emit(Event::FeatureStarted {
        feature_id: feature.to_string(),
        attempt,
        base_commit: base.clone(),
    })?;

    let assertions: String = f
        .plan
        .fulfills
        .iter()
        .filter_map(|id| st.plan.as_ref()?.assertion(id))
        .map(|a| match &a.command {
            Some(c) => format!(
                "- {} [{:?}] {} — checked with `{c}`\n",
                a.id, a.kind, a.text
            ),
            None => format!("- {} [{:?}] {}\n", a.id, a.kind, a.text),
        })
        .collect();
    let earlier = m
        .features
        .iter()
        .take_while(|x| x.plan.id != feature)
        .map(|x| x.plan.id.as_str());
    let handoffs = handoff_digest(r, earlier);
    // A corrective feature carries the failures it was made for: the assertion, the
    // command and its output, not only the orchestrator's paraphrase of them.
    let why_fix = match (&m.last_validation, f.corrective) {
        (Some(v), true) if !v.failures.is_empty() => {
            let mut s = String::from("\n## The failed checks this fix is for\n");
            for fl in &v.failures {
                let which = fl.assertion_id.as_deref().unwrap_or("validation command");
                let tail: Vec<&str> = fl.evidence.lines().collect();
                let tail = tail[tail.len().saturating_sub(15)..].join("\n");
                s.push_str(&format!("- {which}: `{}`\n```\n{tail}\n```\n", fl.check));
            }
            s
        }
        _ => String::new(),
    };
    let retry = match &f.last_failure {
        Some(why) if attempt > 1 => format!(
            "## Previous attempt\nAttempt {} failed: {why}\nIts changes were discarded; start again from the committed tree.\n\n",
            attempt - 1
        ),
        _ => String::new(),
    };
    let expected = f
        .plan
        .expected_behavior
        .as_ref()
        .map(|e| format!("\nExpected behaviour: {e}\n"))
        .unwrap_or_default()
        + &why_fix;
    let task = r.prompts.render(
        "feature_task",
        &[
            ("feature_id", feature),
            ("max_turns", &r.config.limits.max_turns.to_string()),
            ("title", &f.plan.title),
            ("goal", &st.goal),
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("description", &f.plan.description),
            ("expected", &expected),
            (
                "assertions",
                if assertions.is_empty() {
                    "(none)\n"
                } else {
                    &assertions
                },
            ),
            ("handoffs", &handoffs),
            ("retry", &retry),
            ("agents", &agents_md(&r.layout)),
        ],
    );
    let run_id = r.run_id(Role::Worker, feature);
    let toolbox = r.toolbox(Role::Worker, Access::Write).await;
    let result = {
        let mut run = r.agent(
            Role::Worker,
            &run_id,
            "worker",
            task,
            &toolbox,
            submit::submit_handoff(),
        )?;
        run.feature_id = Some(feature.to_string());
        run
    }
    .run(submit::parse_handoff)
    .await;

    let mut result = match result {
        Ok(res) => res,
        Err(e @ AgentError::Stuck { .. }) => {
            return fail(r, feature, attempt, &base, format!("the worker got {e}"));
        }
        // Out of turns and no handoff even in the forced last turn: its files are kept
        // and the harness hands off what it saw, as partial; validation judges the rest.
        Err(AgentError::MaxTurns { turns, commands }) => crate::agent::AgentResult {
            value: WorkerReport {
                status: HandoffStatus::Partial,
                summary: format!(
                    "The worker ran out of turns ([limits] max_turns = {turns}) without handing off; the harness wrote this handoff from what it observed. Its files are kept and committed; see the commands and the diff."
                ),
                issues: vec![format!(
                    "ran out of turns after {turns} model calls; no handoff from the worker"
                )],
                deviations: vec![],
            },
            commands,
            mcp_calls: vec![],
            usage: Default::default(),
            out_of_turns: true,
        },
        Err(e) => return Err(e.into()),
    };
    if result.out_of_turns
        && !result
            .value
            .issues
            .iter()
            .any(|i| i.starts_with("ran out of turns"))
    {
        result.value.issues.push(format!(
            "ran out of turns ([limits] max_turns = {}); handed off in the harness's last, forced turn",
            r.config.limits.max_turns
        ));
    }
    if result.value.status == HandoffStatus::Blocked {
        return fail(
            r,
            feature,
            attempt,
            &base,
            format!("the worker is blocked: {}", result.value.summary),
        );
    }
    r.hub.emit(Event::HandoffSubmitted {
        feature_id: feature.to_string(),
        attempt,
        report: result.value.clone(),
    })?;
    let message = commit_message(feature, &f.plan.title, &result.value.summary, attempt);
    let commit = commit_feature(r, &base, &message).await?;
    let handoff = Handoff {
        feature_id: feature.to_string(),
        attempt,
        run_id,
        report: result.value,
        commands: result.commands,
        mcp_calls: result.mcp_calls,
        files_changed: vec![],
        diff_stat: Default::default(),
        commit: commit.clone(),
        usage: result.usage,
        agent: r.external(Role::Worker).map(|e| e.name),
    };
    record_commit(r, handoff, &base)
}

pub(super) fn commit_message(feature: &str, title: &str, summary: &str, attempt: u32) -> String {
    format!(
        "{feature}: {title}\n\n{summary}\n\n{FEATURE_TRAILER}: {feature}\nMission-Attempt: {attempt}\n"
    )
}

/// One commit per feature, on the base, even if the worker committed on its own. A git
/// lock held by another process is waited out, then the mission pauses naming it; the
/// handed-off work is never thrown away for it (a resumed runner commits it).
async fn commit_feature(r: &Runner, base: &str, message: &str) -> Result<String, StepStop> {
    let wait = crate::failpoint::git_lock_wait_secs();
    let mut waited = 0;
    loop {
        let result = r.git(|g| {
            g.reset_soft(base)?;
            g.commit_all(message)
        });
        match result {
            Ok(c) => return Ok(c),
            Err(e) if e.is_locked() && waited < wait => {
                waited += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) if e.is_locked() => {
                let lock = r.git(|g| g.index_lock());
                let reason = format!(
                    "git cannot commit: {} has stayed for {wait}s; if no git process is running, delete it. The handed-off work is kept and committed when the mission goes on ({e})",
                    lock.display()
                );
                if r.mode.auto_approve {
                    return Err(StepStop::Pause(format!("{reason} (`mission resume`)")));
                }
                r.hub.emit(Event::Paused {
                    reason: format!("{reason} (`mission unpause`)"),
                })?;
                r.hub
                    .wait_until(|s| s.paused.is_none() || s.failed.is_some())
                    .await;
                if r.hub.read(|s| s.failed.is_some()) {
                    return Err(StepStop::Pause("the mission was abandoned".into()));
                }
                waited = 0;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes the handoff file and the `feature_committed` event for a commit that exists.
pub(super) fn record_commit(r: &Runner, mut handoff: Handoff, base: &str) -> Result<(), StepStop> {
    let (stat, files) = r.git(|g| g.diff_stat(base, &handoff.commit))?;
    handoff.diff_stat = stat.clone();
    handoff.files_changed = files.clone();
    // A test that existed before the feature and was changed by it: the worker may have
    // weakened it to pass. Said in the handoff, which the reviewer reads.
    let touched: Vec<&String> = files
        .iter()
        .filter(|f| crate::mission::handoff::is_test_path(f))
        .filter(|f| r.git(|g| g.exists_at(base, f)))
        .collect();
    if !touched.is_empty() {
        let note = format!(
            "harness: changed pre-existing test files: {} — check that no test was weakened, skipped or deleted to pass",
            touched
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !handoff.report.issues.contains(&note) {
            handoff.report.issues.push(note);
        }
    }
    crate::store::write_handoff(&r.layout, &handoff).map_err(|source| super::RunError::Write {
        path: r.layout.handoff(&handoff.feature_id),
        source,
    })?;
    r.hub.emit(Event::FeatureCommitted {
        feature_id: handoff.feature_id,
        attempt: handoff.attempt,
        commit: handoff.commit,
        diff_stat: stat,
        files_changed: files,
    })?;
    Ok(())
}

fn fail(
    r: &Runner,
    feature: &str,
    attempt: u32,
    base: &str,
    reason: String,
) -> Result<(), StepStop> {
    let patch = discard_work(r, base, &format!("{feature}-attempt{attempt}"))?;
    r.hub.emit(Event::FeatureFailed {
        feature_id: feature.to_string(),
        attempt,
        reason,
        patch,
    })?;
    Ok(())
}

/// Saves uncommitted work under `.mission/patches/` and resets the tree to `base`.
/// Returns the patch's path when there was something to save.
pub(super) fn discard_work(r: &Runner, base: &str, name: &str) -> Result<Option<String>, StepStop> {
    let (dirty, head) = r.git(|g| Ok::<_, crate::git::GitError>((g.is_dirty()?, g.head()?)))?;
    if !dirty && head == base {
        return Ok(None);
    }
    let mut saved = None;
    if dirty || head != base {
        let patch = r.git(|g| g.working_patch(base))?;
        let path = r.layout.patches().join(format!("{name}.patch"));
        std::fs::write(&path, patch).map_err(|source| super::RunError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        saved = Some(path.display().to_string());
    }
    r.git(|g| g.reset_hard(base))?;
    Ok(saved)
}
