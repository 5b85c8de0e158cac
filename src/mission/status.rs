//! The stable `mission status --json` snapshot, derived from the state fold.

use serde::Serialize;

use super::state::{FeaturePhase, MilestonePhase, MissionState, Phase, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub goal: String,
    pub state: Phase,
    pub branch: String,
    pub milestones: Vec<MilestoneStatus>,
    pub contract: ContractStatus,
    pub budget: BudgetStatus,
    pub events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// The open gate's id, for `mission approve --gate ID` (a decision names its gate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// When a pause for a provider's limit ends by itself (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_agent: Option<ActiveStatus>,
    /// Where the mission works: its worktree (or the checkout, for an older mission).
    /// Derived from config and the repository's place, so the caller fills it in.
    pub worktree: String,
    /// Whether a live process runs the mission, whatever the last recorded state says
    /// (the caller, who can look at processes, fills it in).
    pub runner: RunnerStatus,
    /// What the plan will likely cost, once there is one (the caller knows the prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<super::estimate::Estimate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunnerStatus {
    pub alive: bool,
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActiveStatus {
    pub role: String,
    pub model: String,
    pub task: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilestoneStatus {
    pub id: String,
    pub title: String,
    pub state: MilestonePhase,
    pub fix_rounds: u32,
    pub features: Vec<FeatureStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureStatus {
    pub id: String,
    pub title: String,
    pub state: FeaturePhase,
    pub attempts: u32,
    pub commit: Option<String>,
    pub corrective: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractStatus {
    pub assertions: usize,
    pub passed: usize,
    pub failed: usize,
    pub pending: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub limit_usd: Option<f64>,
    /// Runs of external agents whose cost is not in `cost_usd` (they report none).
    #[serde(skip_serializing_if = "is_zero")]
    pub cost_unknown_runs: u32,
    pub per_role: std::collections::BTreeMap<String, RoleBudget>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleBudget {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

impl Status {
    pub fn from_state(st: &MissionState, limit_usd: Option<f64>) -> Self {
        let count = |v: Verdict| st.assertions.iter().filter(|a| a.verdict == v).count();
        Status {
            goal: st.goal.clone(),
            state: st.phase(),
            branch: st.branch.clone(),
            milestones: st
                .milestones
                .iter()
                .map(|m| MilestoneStatus {
                    id: m.id.clone(),
                    title: m.title.clone(),
                    state: m.phase,
                    fix_rounds: m.fix_rounds,
                    features: m
                        .features
                        .iter()
                        .map(|f| FeatureStatus {
                            id: f.plan.id.clone(),
                            title: f.plan.title.clone(),
                            state: f.phase,
                            attempts: f.attempts,
                            commit: f.commit.clone(),
                            corrective: f.corrective,
                        })
                        .collect(),
                })
                .collect(),
            contract: ContractStatus {
                assertions: st.assertions.len(),
                passed: count(Verdict::Passed),
                failed: count(Verdict::Failed),
                pending: count(Verdict::Pending),
            },
            budget: BudgetStatus {
                tokens_in: st.budget.total.tokens_in,
                tokens_out: st.budget.total.tokens_out,
                cost_usd: st.budget.total.cost_usd,
                limit_usd,
                cost_unknown_runs: st.budget.unpriced_runs,
                per_role: st
                    .budget
                    .per_role
                    .iter()
                    .map(|(r, u)| {
                        (
                            r.as_str().to_string(),
                            RoleBudget {
                                tokens_in: u.tokens_in,
                                tokens_out: u.tokens_out,
                                cost_usd: u.cost_usd,
                            },
                        )
                    })
                    .collect(),
            },
            events: st.events,
            waiting_for: st.gate.as_ref().map(|(g, r)| format!("{g}: {r}")),
            gate_id: st.gate.as_ref().map(|_| st.gate_id),
            paused_reason: st.paused.clone(),
            resumes_at: st.paused_until.map(|t| t.to_string()),
            active_agent: st.active.as_ref().map(|a| ActiveStatus {
                role: a.role.as_str().into(),
                model: a.model.clone(),
                task: a.task.clone(),
            }),
            worktree: st.worktree.clone().unwrap_or_default(),
            runner: RunnerStatus::default(),
            estimate: None,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
