//! The contract's baseline: while the orchestrator makes its plan, each command
//! assertion runs once on the untouched tree (in the sandbox, as at a milestone). An
//! assertion that already passes proves nothing (SWE-bench's FAIL_TO_PASS idea), and one
//! that cannot run at all (a program that is not installed, a shell syntax error) would
//! only be found at the milestone. Both go back to the orchestrator with the plan's
//! other problems; an already-passing assertion it keeps on a second submission is
//! taken as justified, and the plan gate marks it for the human.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::Runner;
use crate::agent::Vet;
use crate::agent::tools::command::{CommandOutput, run_shell};
use crate::mission::{AssertionKind, Event, Plan};

/// A command's baseline: its exit code, and why it cannot run at all if it cannot.
type Seen = (Option<i32>, Option<String>);

pub(super) struct Baseline<'a> {
    r: &'a Runner,
    /// Outcomes by command: a resubmitted plan does not run an unchanged command again.
    seen: Mutex<HashMap<String, Seen>>,
    /// Already-passing assertions (id, command) the orchestrator has been told about.
    flagged: Mutex<BTreeSet<(String, String)>>,
}

impl<'a> Baseline<'a> {
    pub fn new(r: &'a Runner) -> Self {
        Baseline {
            r,
            seen: Mutex::default(),
            flagged: Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl Vet<Plan> for Baseline<'_> {
    /// `Err` is what the orchestrator reads: every assertion that cannot run, and those
    /// that pass already (unless it was told about them before and kept them).
    async fn vet(&self, plan: &Plan) -> Result<(), String> {
        if !self.r.config.validation.baseline {
            return Ok(());
        }
        let timeout = Duration::from_secs(self.r.config.validation.command_timeout_secs);
        // "Untouched" stays true: what the commands leave behind (a build's lock file, a
        // test's output) is put back, unless the tree was not clean to begin with.
        let was_clean = self.r.git(|g| g.is_dirty()).is_ok_and(|dirty| !dirty);
        let mut cannot = vec![];
        let mut passing = vec![];
        for (i, a) in plan.assertions.iter().enumerate() {
            let (AssertionKind::Command, Some(command)) = (a.kind, &a.command) else {
                continue;
            };
            let known = self
                .seen
                .lock()
                .expect("baseline lock")
                .get(command)
                .cloned();
            let (exit_code, why) = match known {
                Some(k) => k,
                None => {
                    let out = run_shell(
                        command,
                        &self.r.layout.work,
                        timeout,
                        &self.r.launcher,
                        self.r.config.limits.output_cap_bytes,
                    )
                    .await;
                    let tail = out.tail(12);
                    if let Err(e) = self.r.hub.emit(Event::BaselineRan {
                        assertion_id: a.id.clone(),
                        command: command.clone(),
                        exit_code: out.exit_code,
                        duration_ms: out.duration.as_millis() as u64,
                        timed_out: out.timed_out,
                        output_tail: tail.clone(),
                    }) {
                        // The loop's next event meets the same error and stops the run.
                        tracing::error!("baseline event not recorded: {e}");
                    }
                    let k = (out.exit_code, cannot_run(&out));
                    self.seen
                        .lock()
                        .expect("baseline lock")
                        .insert(command.clone(), k.clone());
                    k
                }
            };
            if let Some(why) = why {
                cannot.push(format!(
                    "- assertions[{i}].command ({}): `{command}` cannot run on this machine: {why}",
                    a.id
                ));
            } else if exit_code == Some(0) {
                passing.push((i, a.id.clone(), command.clone()));
            }
        }
        if was_clean && self.r.git(|g| g.is_dirty()).unwrap_or(false) {
            let put_back = self
                .r
                .git(|g| g.head().and_then(|head| g.reset_hard(&head)));
            if let Err(e) = put_back {
                tracing::warn!("the baseline changed the tree and it could not be put back: {e}");
            }
        }
        let mut flagged = self.flagged.lock().expect("baseline lock");
        let new: Vec<_> = passing
            .iter()
            .filter(|(_, id, c)| !flagged.contains(&(id.clone(), c.clone())))
            .collect();
        if cannot.is_empty() && new.is_empty() {
            return Ok(());
        }
        let mut msg = String::from(
            "the plan parses, but its contract was run once on today's tree, before any work:",
        );
        if !cannot.is_empty() {
            msg.push_str(&format!(
                "\n{}\nA command that cannot run will fail at every milestone whatever the work: use programs this machine has (look with run_command), or make the assertion a review.",
                cannot.join("\n")
            ));
        }
        if !new.is_empty() {
            for (i, id, c) in &new {
                msg.push_str(&format!(
                    "\n- assertions[{i}] ({id}): `{c}` already passes (exit 0), so it proves nothing about the work"
                ));
            }
            msg.push_str(
                "\nReword each so that it fails until the feature exists (test the new behaviour). \
                 If one guards something that must keep working, keep it: submit the plan again \
                 with it unchanged, and the human sees it marked as passing before any work.",
            );
            for (_, id, c) in new {
                flagged.insert((id.clone(), c.clone()));
            }
        }
        msg.push_str("\nThen call submit_plan again with the whole plan.");
        Err(msg)
    }
}

/// Why a command could not run at all, from its exit code and what the shell said.
fn cannot_run(out: &CommandOutput) -> Option<String> {
    static NOT_FOUND: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?m)(?:^|[\s:])([^\s:/]+): (?:command )?not found").expect("a pattern")
    });
    static SHELL_SYNTAX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?m)^(?:sh|bash|dash): (?:\d+: |-c: line \d+: )?[Ss]yntax error")
            .expect("a pattern")
    });
    match out.exit_code {
        // A path (`./run.sh`) may be made by the work; a bare program name must exist.
        Some(127) => NOT_FOUND
            .captures(&out.output)
            .map(|c| format!("`{}` is not installed (or not on PATH)", &c[1])),
        // The shell's own words only (`sh: 1: Syntax error: …`, `sh: -c: line 1: syntax
        // error …`): a test or `make` printing "syntax error" is an ordinary failure.
        Some(2) if SHELL_SYNTAX.is_match(&out.output) => {
            Some(format!("the shell cannot parse it: {}", out.tail(1)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, output: &str) -> CommandOutput {
        CommandOutput {
            exit_code: Some(code),
            timed_out: false,
            duration: Duration::ZERO,
            output: output.into(),
            restored: vec![],
            signal: None,
        }
    }

    #[test]
    fn a_missing_program_cannot_run_but_a_missing_script_may_be_made_by_the_work() {
        assert_eq!(
            cannot_run(&out(127, "sh: 1: pytset: not found")).as_deref(),
            Some("`pytset` is not installed (or not on PATH)")
        );
        assert!(cannot_run(&out(127, "bash: cargo-nextest: command not found")).is_some());
        assert_eq!(cannot_run(&out(127, "sh: 1: ./run.sh: not found")), None);
        assert!(cannot_run(&out(2, "sh: 1: Syntax error: \"(\" unexpected")).is_some());
        assert!(cannot_run(&out(2, "bash: -c: line 1: syntax error near `)'")).is_some());
        assert_eq!(
            cannot_run(&out(2, "make: *** test_parser: syntax error in case 3")),
            None
        );
        assert_eq!(cannot_run(&out(1, "FAILED")), None);
    }
}
