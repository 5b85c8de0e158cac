//! What comes next: a pure function of the folded state, so resuming is fold + `next_step`.

use super::*;

impl MissionState {
    pub fn next_step(&self, policy: &Policy) -> Step {
        if self.completed.is_some() || self.failed.is_some() {
            return Step::Done;
        }
        if self.gate.is_some() || self.paused.is_some() {
            return Step::WaitForHuman;
        }
        if self.plan.is_none() {
            return Step::Plan;
        }
        if !self.plan_approved {
            return Step::AskPlanApproval;
        }
        if let Some((milestone, _)) = &self.pending_amendment {
            return Step::AskAmendment {
                milestone: milestone.clone(),
            };
        }
        if !self.contract_frozen {
            return Step::FreezeContract;
        }
        for m in &self.milestones {
            if m.phase == MilestonePhase::Passed {
                continue;
            }
            if let Some(f) = m
                .features
                .iter()
                .find(|f| f.phase != FeaturePhase::Done && !f.skipped)
            {
                if f.phase == FeaturePhase::Failed
                    && f.failures >= policy.feature_attempts + f.extra_attempts
                {
                    return Step::Escalate {
                        gate: Gate::Escalation {
                            milestone: m.id.clone(),
                            feature: Some(f.plan.id.clone()),
                        },
                        reason: format!(
                            "feature {} failed {} attempt(s); last: {}",
                            f.plan.id,
                            f.attempts,
                            f.last_failure.as_deref().unwrap_or("unknown")
                        ),
                    };
                }
                return Step::RunFeature {
                    milestone: m.id.clone(),
                    feature: f.plan.id.clone(),
                };
            }
            match &m.last_validation {
                Some(v) if v.round == m.fix_rounds && v.passed => {
                    return if policy.approve_milestones {
                        Step::AskMilestoneApproval {
                            milestone: m.id.clone(),
                        }
                    } else {
                        Step::PassMilestone {
                            milestone: m.id.clone(),
                        }
                    };
                }
                Some(v) if v.round == m.fix_rounds => {
                    if m.fix_rounds < policy.max_fix_rounds + m.extra_rounds {
                        return Step::Fix {
                            milestone: m.id.clone(),
                            round: m.fix_rounds + 1,
                        };
                    }
                    return Step::Escalate {
                        gate: Gate::Escalation {
                            milestone: m.id.clone(),
                            feature: None,
                        },
                        reason: format!(
                            "milestone {} still fails after {} fix round(s): {}",
                            m.id,
                            m.fix_rounds,
                            summarize_failures(&v.failures)
                        ),
                    };
                }
                _ => {
                    return Step::Validate {
                        milestone: m.id.clone(),
                        round: m.fix_rounds,
                    };
                }
            }
        }
        Step::Finish
    }
}
