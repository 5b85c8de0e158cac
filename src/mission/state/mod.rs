//! The mission's state as a fold over its events, and the pure rule that says what
//! the runner does next. Resume is nothing more than fold + `next_step`.

mod fold;
mod next;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::event::{Event, EventRecord, Failure, Gate, Role};
use super::handoff::Usage;
use super::plan::{Assertion, FeaturePlan, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Planning,
    AwaitingApproval,
    Running,
    Validating,
    Paused,
    Completed,
    Failed,
}

impl Phase {
    /// The name `status --json` uses.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MilestonePhase {
    Pending,
    Running,
    Validating,
    Passed,
    Failed,
}

impl MilestonePhase {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeaturePhase {
    Pending,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pending,
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureState {
    pub plan: FeaturePlan,
    pub phase: FeaturePhase,
    pub attempts: u32,
    /// Attempts that ended in failure (an interrupted attempt does not count).
    pub failures: u32,
    /// A human accepted the feature as failed and the mission went on without it.
    pub skipped: bool,
    pub commit: Option<String>,
    pub corrective: bool,
    /// Attempts a human granted on top of the configured limit (escalation approved).
    pub extra_attempts: u32,
    pub last_failure: Option<String>,
    /// Reviews of the committed feature, by agents and by the harness.
    pub reviews: Vec<Review>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub round: u32,
    pub reviewer: super::event::Reviewer,
    pub pass: bool,
    pub findings: Vec<super::event::Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationResult {
    pub round: u32,
    pub passed: bool,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestoneState {
    pub id: String,
    pub title: String,
    pub phase: MilestonePhase,
    pub features: Vec<FeatureState>,
    /// Corrective rounds the orchestrator has answered for this milestone.
    pub fix_rounds: u32,
    /// Rounds a human granted on top of `max_fix_rounds` (escalation rejected with a note).
    pub extra_rounds: u32,
    pub validating_round: Option<u32>,
    pub last_validation: Option<ValidationResult>,
    /// Notes from humans (rejections) the orchestrator has not acted on yet.
    pub human_notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionState {
    pub assertion: Assertion,
    pub verdict: Verdict,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAgent {
    pub run_id: String,
    pub role: Role,
    pub model: String,
    pub task: String,
    pub feature_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub total: Usage,
    pub per_role: BTreeMap<Role, Usage>,
    /// Runs of external agents (ACP), which report no usage: their cost is unknown, not 0.
    #[serde(default)]
    pub unpriced_runs: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MissionState {
    pub goal: String,
    pub slug: String,
    pub branch: String,
    pub base_commit: String,
    /// Where the mission's worktree was made (`None`: it works in the checkout itself).
    pub worktree: Option<String>,
    pub started_at: Option<jiff::Timestamp>,
    pub last_event_at: Option<jiff::Timestamp>,
    pub plan: Option<Plan>,
    pub plan_approved: bool,
    /// Tokens planning had spent when the plan was approved (the estimate's calibration).
    #[serde(default)]
    pub planning_tokens: Option<u64>,
    pub contract_frozen: bool,
    /// A contract amendment waiting for a human: the milestone it came from, the changes.
    pub pending_amendment: Option<(String, Vec<Assertion>)>,
    pub plan_rejections: Vec<String>,
    /// The plan last sent back, to show what its revision changed (to a console that
    /// attaches later too).
    #[serde(default)]
    pub rejected_plan: Option<Plan>,
    /// The latest baseline run of each command assertion: its id, command and exit code
    /// (matched by command: a command is run once however many assertions share it).
    #[serde(default)]
    pub baseline: Vec<(String, String, Option<i32>)>,
    pub milestones: Vec<MilestoneState>,
    pub assertions: Vec<AssertionState>,
    pub gate: Option<(Gate, String)>,
    /// The seq of the event that opened the gate: what a decision names, so that one
    /// meant for an earlier gate is never taken for the one open now.
    #[serde(default)]
    pub gate_id: u64,
    pub paused: Option<String>,
    /// When a pause for a provider's limit ends by itself.
    pub paused_until: Option<jiff::Timestamp>,
    /// Steering messages from `mission say`, with the seq they arrived at.
    pub messages: Vec<(u64, String)>,
    /// Messages up to this seq were acted on by the orchestrator already.
    pub messages_read_upto: u64,
    messages_offered_upto: u64,
    /// The agent shown as working: the latest one started that has not finished.
    pub active: Option<ActiveAgent>,
    /// Every agent running now (explorers and reviewers run alongside others).
    running_agents: Vec<ActiveAgent>,
    pub budget: Budget,
    pub completed: Option<String>,
    pub failed: Option<String>,
    pub events: u64,
    pub last_seq: u64,
}

impl MissionState {
    /// The plan's command assertions that passed on the untouched tree, before any work.
    pub fn already_passing(&self) -> Vec<&str> {
        let Some(plan) = &self.plan else {
            return vec![];
        };
        plan.assertions
            .iter()
            // By command: an assertion renamed, or a second one with the same command,
            // was run once for both (the baseline does not run a command twice).
            .filter(|a| {
                self.baseline.iter().any(|(_, command, exit)| {
                    Some(command) == a.command.as_ref() && *exit == Some(0)
                })
            })
            .map(|a| a.id.as_str())
            .collect()
    }
}

/// Knobs of the loop that come from config, not from events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub max_fix_rounds: u32,
    pub feature_attempts: u32,
    pub approve_milestones: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_fix_rounds: 3,
            feature_attempts: 2,
            approve_milestones: false,
        }
    }
}

/// What the runner does next. Derived, never stored: after a crash the same events
/// give the same step, so the interrupted step is simply done again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Plan,
    AskPlanApproval,
    /// An amendment was proposed and its gate is not open yet (even after a crash).
    AskAmendment {
        milestone: String,
    },
    FreezeContract,
    WaitForHuman,
    RunFeature {
        milestone: String,
        feature: String,
    },
    Validate {
        milestone: String,
        round: u32,
    },
    AskMilestoneApproval {
        milestone: String,
    },
    PassMilestone {
        milestone: String,
    },
    Fix {
        milestone: String,
        round: u32,
    },
    Escalate {
        gate: Gate,
        reason: String,
    },
    Finish,
    Done,
}

impl MissionState {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a EventRecord>) -> Self {
        let mut st = MissionState::default();
        for e in events {
            st.apply(e);
        }
        st
    }

    /// Tokens the orchestrator and its explorers have spent so far.
    pub fn planning_spent(&self) -> u64 {
        self.budget
            .per_role
            .iter()
            .filter(|(r, _)| matches!(r, Role::Orchestrator | Role::Explorer))
            .map(|(_, u)| u.tokens_in + u.tokens_out)
            .sum()
    }

    pub fn phase(&self) -> Phase {
        if self.completed.is_some() {
            return Phase::Completed;
        }
        if self.failed.is_some() {
            return Phase::Failed;
        }
        if self.paused.is_some() {
            return Phase::Paused;
        }
        if self.gate.is_some() {
            return Phase::AwaitingApproval;
        }
        if !self.plan_approved {
            return Phase::Planning;
        }
        if self
            .milestones
            .iter()
            .any(|m| m.phase == MilestonePhase::Validating)
        {
            return Phase::Validating;
        }
        Phase::Running
    }

    /// A milestone whose validation failed but that the mission is still healing (the
    /// orchestrator plans fixes): "fixing", not "failed", until a human is asked.
    pub fn is_repairing(&self, m: &MilestoneState) -> bool {
        m.phase == MilestonePhase::Failed
            && self.failed.is_none()
            && !matches!(&self.gate, Some((super::event::Gate::Escalation { milestone, .. }, _)) if *milestone == m.id)
    }

    pub fn milestone(&self, id: &str) -> Option<&MilestoneState> {
        self.milestones.iter().find(|m| m.id == id)
    }

    fn milestone_mut(&mut self, id: &str) -> Option<&mut MilestoneState> {
        self.milestones.iter_mut().find(|m| m.id == id)
    }

    pub fn feature(&self, id: &str) -> Option<(&MilestoneState, &FeatureState)> {
        self.milestones
            .iter()
            .find_map(|m| m.features.iter().find(|f| f.plan.id == id).map(|f| (m, f)))
    }

    fn feature_mut(&mut self, id: &str) -> Option<&mut FeatureState> {
        self.milestones
            .iter_mut()
            .flat_map(|m| m.features.iter_mut())
            .find(|f| f.plan.id == id)
    }

    /// The commit the working tree should be at: the last committed feature, or the base.
    pub fn head(&self) -> &str {
        self.milestones
            .iter()
            .flat_map(|m| m.features.iter())
            .filter_map(|f| f.commit.as_deref())
            .next_back()
            .unwrap_or(&self.base_commit)
    }

    pub fn unread_messages(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter(|(seq, _)| *seq > self.messages_read_upto)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Assertions a milestone's features claim to fulfil, in contract order.
    pub fn milestone_assertions(&self, milestone: &str) -> Vec<&Assertion> {
        let Some(m) = self.milestone(milestone) else {
            return vec![];
        };
        self.assertions
            .iter()
            .map(|a| &a.assertion)
            .filter(|a| {
                m.features
                    .iter()
                    .any(|f| f.plan.fulfills.iter().any(|id| id == &a.id))
            })
            .collect()
    }
}

impl MissionState {
    /// Replaces assertions by id and adds new ones; changed ones are checked again.
    fn amend(&mut self, changes: Vec<Assertion>) {
        for a in changes {
            if let Some(plan) = self.plan.as_mut() {
                match plan.assertions.iter_mut().find(|x| x.id == a.id) {
                    Some(x) => *x = a.clone(),
                    None => plan.assertions.push(a.clone()),
                }
            }
            let fresh = AssertionState {
                assertion: a.clone(),
                verdict: Verdict::Pending,
                evidence: None,
            };
            match self.assertions.iter_mut().find(|x| x.assertion.id == a.id) {
                Some(x) => *x = fresh,
                None => self.assertions.push(fresh),
            }
        }
        // The files on disk are written again from the amended contract.
        self.contract_frozen = false;
    }
}

pub fn summarize_failures(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| match &f.assertion_id {
            Some(id) => format!("{id} ({})", f.check),
            None => f.check.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl FeatureState {
    fn new(plan: FeaturePlan, corrective: bool) -> Self {
        FeatureState {
            plan,
            phase: FeaturePhase::Pending,
            attempts: 0,
            failures: 0,
            skipped: false,
            commit: None,
            corrective,
            extra_attempts: 0,
            last_failure: None,
            reviews: vec![],
        }
    }
}

#[cfg(test)]
mod tests;

/// The pause reason of a provider's limit, with the time it ends and what happens then.
pub fn rate_limit_reason(
    model: &str,
    message: &str,
    until: jiff::Timestamp,
    auto_resume: bool,
) -> String {
    let at = until.strftime("%H:%M:%S UTC");
    if auto_resume {
        format!(
            "{model} is rate-limited until {at} ({message}); the mission goes on by itself then (`mission unpause` sooner, `mission abort` to stop)"
        )
    } else {
        format!(
            "{model} is rate-limited until {at} ({message}); `mission unpause` goes on ([limits] auto_resume = false)"
        )
    }
}
