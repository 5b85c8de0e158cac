//! The event protocol: every fact the runner records, one JSON object per line of
//! `events.jsonl`. The mission's state is a fold over these (see `state.rs`).

use serde::{Deserialize, Serialize};

use super::handoff::{DiffStat, Usage, WorkerReport};
use super::plan::{FeaturePlan, Plan};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Orchestrator,
    Worker,
    Reviewer,
    UserTester,
    /// Read-only research before planning, on the orchestrator's model.
    Explorer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Orchestrator,
        Role::Worker,
        Role::Reviewer,
        Role::UserTester,
        Role::Explorer,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point where the mission waits for a human (or `--auto-approve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Gate {
    /// The submitted plan and its contract await approval.
    Plan,
    /// A validated milestone awaits approval (`gates.approve_milestones`).
    Milestone { milestone: String },
    /// The orchestrator proposes to change the contract; nothing changes until approved.
    Amendment { milestone: String },
    /// The mission cannot heal itself: fix rounds or attempts are exhausted, or the
    /// orchestrator gave up. Approve accepts things as they are (the milestone passes, the
    /// feature is skipped); reject sends a note back and grants one more round or attempt.
    Escalation {
        milestone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feature: Option<String>,
    },
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gate::Plan => f.write_str("plan approval"),
            Gate::Milestone { milestone } => write!(f, "milestone {milestone} approval"),
            Gate::Amendment { milestone } => write!(f, "contract amendment from {milestone}"),
            Gate::Escalation {
                milestone,
                feature: Some(feat),
            } => write!(f, "escalation on {milestone}/{feat}"),
            Gate::Escalation { milestone, .. } => write!(f, "escalation on {milestone}"),
        }
    }
}

/// Something a reviewer (or the harness's own handoff check) found in a feature.
/// How bad a finding is: `high` fails the review; `medium` and `low` are reported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who reviewed a feature. On the wire a string: `harness` for the harness's own
/// mechanical handoff check, else the review agent's run id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Reviewer {
    Harness,
    Agent(String),
}

impl Reviewer {
    const HARNESS: &'static str = "harness";

    pub fn is_harness(&self) -> bool {
        matches!(self, Reviewer::Harness)
    }
}

impl From<String> for Reviewer {
    fn from(s: String) -> Self {
        if s == Reviewer::HARNESS {
            Reviewer::Harness
        } else {
            Reviewer::Agent(s)
        }
    }
}

impl From<Reviewer> for String {
    fn from(r: Reviewer) -> Self {
        r.to_string()
    }
}

impl std::fmt::Display for Reviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reviewer::Harness => f.write_str(Reviewer::HARNESS),
            Reviewer::Agent(run) => f.write_str(run),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// A user tester's verdict on one `user_test` assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub assertion_id: String,
    pub pass: bool,
    pub evidence: String,
}

/// One failed check at a milestone boundary, as handed to the orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The contract assertion, or `None` for a `validation.commands` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_id: Option<String>,
    pub check: String,
    pub evidence: String,
}

/// A line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    pub ts: jiff::Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

/// Declares `Event` and, from the same list, `EventByName`: the externally tagged form
/// of the same variants that `wire::read_tag_first` feeds once it has read the tag, so a
/// line is parsed in one pass instead of being buffered by serde's internally tagged
/// derive (see `wire.rs`). Variant attributes other than docs would be lost on the
/// second form, so variants take none.
macro_rules! events {
    (
        $(#[$meta:meta])*
        pub enum Event {
            $(
                $(#[doc = $vdoc:literal])*
                $variant:ident $({
                    $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
                })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum Event {
            $( $(#[doc = $vdoc])* $variant $({ $( $(#[$fmeta])* $field : $ty ),* })? ),*
        }

        #[derive(Deserialize)]
        #[serde(remote = "Event", rename_all = "snake_case")]
        enum EventByName {
            $( $variant $({ $( $(#[$fmeta])* $field : $ty ),* })? ),*
        }
    };
}

mod wire;
pub use wire::read_tag_first;

events! {
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// First event of every mission.
    MissionStarted {
        goal: String,
        slug: String,
        branch: String,
        base_commit: String,
        /// Where the mission's worktree was made. Absent for missions that worked in the
        /// checkout itself (before worktrees); a resumed runner derives the place anew.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worktree: Option<String>,
    },
    /// A runner picked the mission up again; `reset_to` is the commit the tree was reset to.
    MissionResumed {
        reset_to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discarded_patch: Option<String>,
    },
    AgentStarted {
        run_id: String,
        role: Role,
        model: String,
        task: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feature_id: Option<String>,
        /// Played by an external agent (ACP), which reports no usage: its cost is unknown.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        external: bool,
    },
    /// One model call of an agent run, with what it cost.
    AgentTurn {
        run_id: String,
        role: Role,
        usage: Usage,
        tools: Vec<String>,
        /// What the model said this turn (shortened), for people following along.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// A model call failed and is being retried (rate limit, server error, cut stream).
    ModelRetried {
        run_id: String,
        message: String,
    },
    /// A non-command tool call, for the activity feed.
    ToolUsed {
        run_id: String,
        tool: String,
        summary: String,
        ok: bool,
    },
    CommandRan {
        run_id: String,
        command: String,
        exit_code: Option<i32>,
        duration_ms: u64,
        timed_out: bool,
        /// Protected files the command changed, which the harness put back.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        restored: Vec<String>,
    },
    /// The conversation was shrunk to fit the model's context window: older tool output
    /// became stubs; the task and the latest turns stayed.
    ContextCompacted {
        run_id: String,
        tokens_before: u64,
        tokens_after: u64,
        elided: usize,
    },
    /// The agent kept making the same failing call; its run ends here.
    AgentStuck {
        run_id: String,
        tool: String,
        repeats: u32,
        error: String,
    },
    /// The `[notify] command` failed; the mission goes on.
    NotifyFailed {
        message: String,
    },
    /// An MCP server could not start, died or hung; its tools answer with an error and
    /// the mission goes on.
    McpServerFailed {
        server: String,
        error: String,
    },
    AgentFinished {
        run_id: String,
        role: Role,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    PlanSubmitted {
        plan: Plan,
    },
    GateOpened {
        gate: Gate,
        reason: String,
    },
    GateApproved {
        gate: Gate,
        auto: bool,
    },
    GateRejected {
        gate: Gate,
        note: String,
    },
    ContractFrozen {
        assertions: usize,
    },
    FeatureStarted {
        feature_id: String,
        attempt: u32,
        base_commit: String,
    },
    HandoffSubmitted {
        feature_id: String,
        attempt: u32,
        report: WorkerReport,
    },
    FeatureCommitted {
        feature_id: String,
        attempt: u32,
        commit: String,
        diff_stat: DiffStat,
        files_changed: Vec<String>,
    },
    FeatureFailed {
        feature_id: String,
        attempt: u32,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        patch: Option<String>,
    },
    ValidationStarted {
        milestone: String,
        round: u32,
    },
    CheckRan {
        milestone: String,
        round: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion_id: Option<String>,
        command: String,
        exit_code: Option<i32>,
        duration_ms: u64,
        timed_out: bool,
        output_tail: String,
    },
    /// A command assertion run once on the untouched tree while the plan is made: one
    /// that passes before any work proves nothing (the plan gate marks it).
    BaselineRan {
        assertion_id: String,
        command: String,
        exit_code: Option<i32>,
        duration_ms: u64,
        timed_out: bool,
        output_tail: String,
    },
    /// One feature's review: by a reviewer agent (`reviewer` is its run id) or by the
    /// harness's mechanical handoff check (`reviewer` is `harness`).
    ReviewSubmitted {
        milestone: String,
        round: u32,
        feature_id: String,
        reviewer: Reviewer,
        pass: bool,
        findings: Vec<Finding>,
    },
    /// The user tester's report on the milestone's `user_test` assertions.
    UserTestReported {
        milestone: String,
        round: u32,
        results: Vec<TestResult>,
    },
    ValidationFinished {
        milestone: String,
        round: u32,
        passed: bool,
        failures: Vec<Failure>,
        /// Assertions that passed this round (all kinds).
        #[serde(default)]
        checked: Vec<String>,
    },
    FixesSubmitted {
        milestone: String,
        round: u32,
        features: Vec<FeaturePlan>,
        note: String,
    },
    /// The orchestrator asks to replace or add these assertions; a `GateApproved` for
    /// the amendment gate applies them, a `GateRejected` drops them.
    ContractAmendmentProposed {
        milestone: String,
        assertions: Vec<super::plan::Assertion>,
        reason: String,
    },
    MilestonePassed {
        milestone: String,
        overridden: bool,
    },
    Paused {
        reason: String,
    },
    Unpaused,
    /// A provider's rate or usage limit holds longer than the retries wait: the mission
    /// pauses until `until` and (with `[limits] auto_resume`) goes on by itself then.
    RateLimited {
        model: String,
        message: String,
        until: jiff::Timestamp,
        auto_resume: bool,
    },
    MessageSaid {
        text: String,
    },
    /// Paths in the working tree that changed (the runner's watcher, debounced; ignored
    /// files, `.git` and `.mission` left out).
    FilesChanged {
        paths: Vec<String>,
        /// How many more paths changed than `paths` lists (a big checkout, a generator).
        #[serde(default, skip_serializing_if = "none_more")]
        more: usize,
    },
    MissionCompleted {
        report: String,
    },
    MissionFailed {
        reason: String,
    },
}
}

fn none_more(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names printed (`as_str`) are the names on the wire (serde), variant by variant.
    #[test]
    fn printed_names_are_the_wire_names() {
        fn wire<T: Serialize>(v: T) -> String {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
        for r in Role::ALL {
            assert_eq!(r.as_str(), wire(r));
        }
        for s in [Severity::High, Severity::Medium, Severity::Low] {
            assert_eq!(s.as_str(), wire(s));
        }
        use crate::mission::{AssertionKind as K, HandoffStatus as H, Phase as P};
        for k in [K::Command, K::Review, K::UserTest] {
            assert_eq!(k.as_str(), wire(k));
        }
        for h in [H::Done, H::Partial, H::Blocked] {
            assert_eq!(h.as_str(), wire(h));
        }
        for p in [
            P::Planning,
            P::AwaitingApproval,
            P::Running,
            P::Validating,
            P::Paused,
            P::Completed,
            P::Failed,
        ] {
            assert_eq!(p.as_str(), wire(p));
        }
        use crate::mission::state::MilestonePhase as M;
        for m in [M::Pending, M::Running, M::Validating, M::Passed, M::Failed] {
            assert_eq!(m.as_str(), wire(m));
        }
    }

    #[test]
    fn the_harness_reviewer_is_the_string_harness_on_the_wire() {
        let h: Reviewer = serde_json::from_str(r#""harness""#).unwrap();
        assert!(h.is_harness());
        assert_eq!(serde_json::to_string(&h).unwrap(), r#""harness""#);
        let a: Reviewer = serde_json::from_str(r#""reviewer-7""#).unwrap();
        assert_eq!(a, Reviewer::Agent("reviewer-7".into()));
        assert_eq!(a.to_string(), "reviewer-7");
    }
}
