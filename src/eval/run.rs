//! `mission eval run`: a mission per scenario, headless and sandboxed like any, with the
//! roles of a given config; then the scenario's hidden checks on what it left, and the
//! numbers that say how the harness did (SWE-bench's FAIL_TO_PASS / PASS_TO_PASS, plus
//! what only a harness can count: plans refused, malformed calls, failed edits, stuck
//! attempts, fix rounds, escalations, edits to pre-existing tests, cost, time).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Named;
use super::check::{prepare, run};
use crate::mission::event::Gate;
use crate::mission::{Event, MissionState};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A mission.toml with the roles to measure.
    pub config: PathBuf,
    /// This program, to run each mission in a process of its own.
    pub exe: PathBuf,
    /// The longest a mission may take.
    pub timeout: Duration,
    /// Record every provider exchange here (`--record`).
    pub record: Option<PathBuf>,
    /// Answer from this recording instead (`mission eval replay`).
    pub replay: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub passed: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calls {
    pub total: usize,
    /// Ending calls refused for their arguments (a plan the baseline sends back is well
    /// formed and not counted).
    pub malformed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    pub passed: bool,
    pub fail_to_pass: Tally,
    pub pass_to_pass: Tally,
    pub plan_valid_first_try: bool,
    pub tool_calls: Calls,
    pub edit_failures: usize,
    pub stuck_attempts: usize,
    pub fix_rounds: u32,
    pub escalated: bool,
    pub test_file_edits: usize,
    pub cost_usd: f64,
    pub wall_s: f64,
    /// The mission's exit code, and why it did not run at all if it did not.
    pub exit_code: Option<i32>,
    /// Everything the mission changed, from its base commit (SWE-bench's `model_patch`),
    /// so other agents can be graded on the same scenarios and runs compared.
    pub model_patch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A replay's findings (`mission eval replay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::replay::ReplayCheck>,
}

/// Runs one scenario's mission and grades it.
pub fn run_one(s: &Named, o: &RunOptions) -> ScenarioResult {
    let started = Instant::now();
    let mut r = ScenarioResult {
        name: s.name.clone(),
        ..Default::default()
    };
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(format!("no temporary directory: {e}"));
            return r;
        }
    };
    let repo = tmp.path().join("repo");
    let fail = |mut r: ScenarioResult, e: String| {
        r.error = Some(e);
        r.wall_s = started.elapsed().as_secs_f64();
        r
    };
    if let Err(e) = std::fs::create_dir_all(&repo) {
        return fail(r, e.to_string());
    }
    // The agents never see the hidden checks: they are copied in after the mission.
    if let Err(e) = prepare(s, &repo, false, false) {
        return fail(r, e);
    }
    let mission_dir = repo.join(".mission");
    let copied = std::fs::create_dir_all(&mission_dir)
        .and_then(|()| std::fs::copy(&o.config, mission_dir.join("mission.toml")).map(drop))
        .and_then(|()| {
            // A scripted provider's answers for this scenario, when the corpus has them.
            let script = s.dir.join("script.json");
            if script.exists() {
                std::fs::copy(script, mission_dir.join("script.json")).map(drop)
            } else {
                Ok(())
            }
        });
    if let Err(e) = copied {
        return fail(r, format!("setting up .mission/: {e}"));
    }
    // A replay answers from the scenario's recording, and compares with its result.
    let mut replayed = None;
    if let Some(dir) = &o.replay {
        let from = super::replay::exchanges(dir, &s.name);
        let then = super::replay::read_result(dir, &s.name);
        let exchanges = crate::llm::recording::load(&from).map(|x| x.len());
        match (then, exchanges) {
            (Ok(then), Ok(n)) => {
                if let Err(e) = std::fs::copy(&from, mission_dir.join("recording.jsonl")) {
                    return fail(r, format!("{}: {e}", from.display()));
                }
                replayed = Some((then, n));
            }
            (Err(e), _) => return fail(r, format!("not in the recording: {e}")),
            (_, Err(e)) => return fail(r, format!("not in the recording: {e}")),
        }
    }
    let record = o
        .record
        .as_ref()
        .map(|d| super::replay::exchanges(d, &s.name));
    if let Some(path) = &record {
        // A fresh recording: an earlier one of this scenario is replaced.
        let _ = std::fs::remove_file(path);
    }
    let goal = s.scenario.goal.clone();
    let mut child = match std::process::Command::new(&o.exe)
        .args(["start", &goal, "--headless", "--auto-approve", "--dir"])
        .arg(&repo)
        // Worktrees and the fleet registry of eval runs stay in the run's own directory.
        .env("XDG_DATA_HOME", tmp.path().join("share"))
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .env("MISSION_RECORD", record.as_deref().unwrap_or(Path::new("")))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(r, format!("{}: {e}", o.exe.display())),
    };
    r.exit_code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if started.elapsed() > o.timeout => {
                let _ = child.kill();
                let _ = child.wait();
                r.error = Some(format!("the mission ran over {} s", o.timeout.as_secs()));
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return fail(r, e.to_string()),
        }
    };
    let events = match crate::store::load(&mission_dir.join("events.jsonl")) {
        Ok(l) => l.events,
        Err(e) => return fail(r, format!("the mission's log: {e}")),
    };
    let st = MissionState::from_events(&events);
    count(&mut r, &events, &st, &mission_dir);
    // The hidden checks, on what the mission left in its worktree.
    let work = st
        .worktree
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.clone());
    // The patch before the hidden files are copied in: only what the mission did.
    r.model_patch = crate::git::Git::open(&work)
        .and_then(|g| g.working_patch(&st.base_commit))
        .unwrap_or_default();
    grade(s, &work, &mut r);
    r.wall_s = started.elapsed().as_secs_f64();
    if let Some((then, n)) = replayed {
        let log = crate::llm::recording::replay_log(&mission_dir);
        r.replay = Some(super::replay::check(&log, n, &r, &then));
    }
    if let Some(dir) = &o.record {
        let path = dir.join(&s.name).join(super::replay::RESULT);
        let saved = serde_json::to_string_pretty(&r)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                std::fs::create_dir_all(dir.join(&s.name))?;
                std::fs::write(&path, json + "\n")
            });
        if let Err(e) = saved {
            r.error = Some(format!("recording the result in {}: {e}", path.display()));
        }
    }
    r
}

/// What the log says of how the harness did.
fn count(
    r: &mut ScenarioResult,
    events: &[crate::mission::EventRecord],
    st: &MissionState,
    dir: &Path,
) {
    let mut plan_refusals = 0;
    for rec in events {
        match &rec.event {
            Event::ToolUsed {
                tool, ok, summary, ..
            } => {
                r.tool_calls.total += 1;
                // Sent back by the plan's baseline: well formed, its contract reworded.
                let sent_back = summary.starts_with(&format!("{tool} sent back"));
                if !ok && tool.starts_with("submit_") && !sent_back {
                    r.tool_calls.malformed += 1;
                    if tool == "submit_plan" {
                        plan_refusals += 1;
                    }
                }
                if !ok && tool == "edit_file" {
                    r.edit_failures += 1;
                }
            }
            Event::CommandRan { .. } => r.tool_calls.total += 1,
            Event::AgentStuck { .. } => r.stuck_attempts += 1,
            Event::GateOpened {
                gate: Gate::Escalation { .. },
                ..
            } => r.escalated = true,
            _ => {}
        }
    }
    r.plan_valid_first_try = st.plan.is_some() && plan_refusals == 0;
    r.fix_rounds = st.milestones.iter().map(|m| m.fix_rounds).sum();
    r.cost_usd = st.budget.total.cost_usd;
    r.test_file_edits = std::fs::read_dir(dir.join("handoffs"))
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|h| h.contains("changed pre-existing test files"))
        .count();
}

/// Runs the hidden checks in `work` (the hidden files copied in first).
fn grade(s: &Named, work: &Path, r: &mut ScenarioResult) {
    let hidden = s.dir.join("hidden");
    if hidden.is_dir()
        && let Err(e) = super::check::copy_dir(&hidden, work)
    {
        r.error = Some(format!("copying hidden/: {e}"));
        return;
    }
    let tally = |commands: &[String]| Tally {
        total: commands.len(),
        passed: commands
            .iter()
            .filter(|c| run(c, work).0 == Some(0))
            .count(),
    };
    r.fail_to_pass = tally(&s.scenario.fail_to_pass);
    r.pass_to_pass = tally(&s.scenario.pass_to_pass);
    let checks = r.fail_to_pass.passed == r.fail_to_pass.total
        && r.pass_to_pass.passed == r.pass_to_pass.total;
    r.passed = checks && r.escalated == s.scenario.expect_escalation && r.error.is_none();
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    pub pass_rate: f64,
    pub plan_valid_first_try: usize,
    pub tool_calls: Calls,
    pub well_formed_share: f64,
    pub edit_failures: usize,
    pub stuck_attempts: usize,
    pub fix_rounds: u32,
    pub escalations: usize,
    pub test_file_edits: usize,
    pub cost_usd: f64,
    pub wall_s: f64,
    /// This program's version and a hash of the prompts it embeds: what was measured.
    pub version: String,
    pub prompts_hash: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenarios: Vec<ScenarioResult>,
    pub summary: Summary,
}

pub fn summarize(results: Vec<ScenarioResult>) -> Report {
    let n = results.len();
    let calls = Calls {
        total: results.iter().map(|r| r.tool_calls.total).sum(),
        malformed: results.iter().map(|r| r.tool_calls.malformed).sum(),
    };
    let summary = Summary {
        scenarios: n,
        passed: results.iter().filter(|r| r.passed).count(),
        pass_rate: ratio(results.iter().filter(|r| r.passed).count(), n),
        plan_valid_first_try: results.iter().filter(|r| r.plan_valid_first_try).count(),
        well_formed_share: ratio(calls.total - calls.malformed, calls.total),
        tool_calls: calls,
        edit_failures: results.iter().map(|r| r.edit_failures).sum(),
        stuck_attempts: results.iter().map(|r| r.stuck_attempts).sum(),
        fix_rounds: results.iter().map(|r| r.fix_rounds).sum(),
        escalations: results.iter().filter(|r| r.escalated).count(),
        test_file_edits: results.iter().map(|r| r.test_file_edits).sum(),
        cost_usd: results.iter().map(|r| r.cost_usd).sum(),
        wall_s: results.iter().map(|r| r.wall_s).sum(),
        version: env!("CARGO_PKG_VERSION").into(),
        prompts_hash: prompts_hash(),
    };
    Report {
        scenarios: results,
        summary,
    }
}

/// The report as a table a person reads: a row per run, then the totals.
pub fn table(rep: &Report) -> String {
    let mut out = format!(
        "{:<22} {:>4} {:>6} {:>6} {:>5} {:>9} {:>5} {:>5} {:>5} {:>4} {:>5} {:>7} {:>6}\n",
        "scenario",
        "pass",
        "f→p",
        "p→p",
        "plan",
        "calls/bad",
        "edit✘",
        "stuck",
        "fixes",
        "esc",
        "tests",
        "cost",
        "time"
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for r in &rep.scenarios {
        out.push_str(&format!(
            "{:<22} {:>4} {:>6} {:>6} {:>5} {:>9} {:>5} {:>5} {:>5} {:>4} {:>5} {:>7} {:>5.0}s\n",
            r.name.chars().take(22).collect::<String>(),
            yes(r.passed),
            format!("{}/{}", r.fail_to_pass.passed, r.fail_to_pass.total),
            format!("{}/{}", r.pass_to_pass.passed, r.pass_to_pass.total),
            yes(r.plan_valid_first_try),
            format!("{}/{}", r.tool_calls.total, r.tool_calls.malformed),
            r.edit_failures,
            r.stuck_attempts,
            r.fix_rounds,
            yes(r.escalated),
            r.test_file_edits,
            format!("${:.2}", r.cost_usd),
            r.wall_s,
        ));
    }
    out
}

/// A hash of the prompts this program embeds: what a report or recording measured.
pub fn prompts_hash() -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64(crate::pipeline::Prompts::embedded_text().as_bytes())
    )
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
