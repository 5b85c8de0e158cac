//! What a plan will likely cost, shown before a human approves it: tokens and a low–high
//! cost range from the plan's size (features, assertions, milestones, likely fix rounds),
//! the model each role uses and its price, calibrated by what planning itself spent.
//!
//! The per-unit figures are what missions of this harness typically use per feature and
//! per review; planning that cost more (a big repository, a wordy model) scales them up.

use std::collections::BTreeMap;

use serde::Serialize;

use super::plan::AssertionKind;
use super::{MissionState, Role};

/// Input and output tokens one unit of work typically takes.
const WORKER_PER_FEATURE: (u64, u64) = (90_000, 8_000);
const REVIEW_PER_FEATURE: (u64, u64) = (25_000, 2_000);
const TESTER_PER_MILESTONE: (u64, u64) = (40_000, 3_000);
const FIX_PLANNING: (u64, u64) = (30_000, 3_000);
/// What planning usually takes; a mission whose planning took more scales the rest.
const PLANNING_BASELINE: u64 = 40_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub tokens: u64,
    pub cost_usd_low: f64,
    pub cost_usd_high: f64,
    /// The likely tokens per role, for the gate and the final report.
    pub per_role: BTreeMap<String, u64>,
    /// What the figures assume, in a sentence a human can check.
    pub basis: String,
}

/// How a finished mission's work compared with its estimate: (estimated, actual) tokens,
/// planning left out of both. `None` for a mission without a plan or not ended.
pub fn outcome_vs_estimate(st: &MissionState) -> Option<(u64, u64)> {
    if st.completed.is_none() && st.failed.is_none() {
        return None;
    }
    let est = estimate(st, &|_| None)?;
    let b = &st.budget.total;
    let planned = st.planning_tokens.unwrap_or_else(|| st.planning_spent());
    let actual = (b.tokens_in + b.tokens_out).saturating_sub(planned);
    Some((est.tokens, actual))
}

/// USD per input token and per output token of the model a role uses, if known.
pub type PriceOf<'a> = &'a dyn Fn(Role) -> Option<(f64, f64)>;

/// The estimate for the mission's plan; `None` before a plan exists.
pub fn estimate(st: &MissionState, price: PriceOf<'_>) -> Option<Estimate> {
    let plan = st.plan.as_ref()?;
    let features = plan.feature_count() as u64;
    let milestones = plan.milestones.len() as u64;
    let user_tests = plan
        .milestones
        .iter()
        .filter(|m| {
            m.features.iter().any(|f| {
                f.fulfills.iter().any(|a| {
                    plan.assertion(a)
                        .is_some_and(|x| x.kind == AssertionKind::UserTest)
                })
            })
        })
        .count() as u64;
    // Calibrated by planning as it stood at approval, so the estimate a human approved is
    // the one the final report compares with.
    let planned = st.planning_tokens.unwrap_or_else(|| st.planning_spent());
    let scale = (planned as f64 / PLANNING_BASELINE as f64).clamp(0.5, 3.0);
    // The likely case: a fix round for every other milestone, a corrective feature for
    // every fourth feature.
    let work =
        |(i, o): (u64, u64), n: f64| ((i as f64 * n * scale) as u64, (o as f64 * n * scale) as u64);
    let fixes = milestones as f64 * 0.5;
    let corrective = features as f64 * 0.25;
    let parts: Vec<(Role, (u64, u64))> = vec![
        (
            Role::Worker,
            work(WORKER_PER_FEATURE, features as f64 + corrective),
        ),
        (
            Role::Reviewer,
            work(REVIEW_PER_FEATURE, features as f64 + corrective),
        ),
        (
            Role::UserTester,
            work(TESTER_PER_MILESTONE, user_tests as f64 * (1.0 + 0.5)),
        ),
        (Role::Orchestrator, work(FIX_PLANNING, fixes)),
    ];
    let mut per_role = BTreeMap::new();
    let mut tokens = 0;
    let mut cost = 0.0;
    for (role, (i, o)) in parts {
        if i + o == 0 {
            continue;
        }
        per_role.insert(role.as_str().to_string(), i + o);
        tokens += i + o;
        if let Some((pi, po)) = price(role) {
            cost += i as f64 * pi + o as f64 * po;
        }
    }
    let k = |(i, o): (u64, u64)| format!("{}k", ((i + o) as f64 * scale / 1000.0).round());
    let mut basis = format!(
        "{features} feature(s) +25 % corrective, ~{} tokens each to build, ~{} to review; a fix round per 2 milestones",
        k(WORKER_PER_FEATURE),
        k(REVIEW_PER_FEATURE),
    );
    if scale != 1.0 {
        basis.push_str(&format!(
            " (×{scale:.1}: planning took {}k tokens, {}k is usual)",
            planned / 1000,
            PLANNING_BASELINE / 1000
        ));
    }
    match price(Role::Worker) {
        Some((i, o)) => basis.push_str(&format!(
            "; worker at ${:.2}/${:.2} per Mtok",
            i * 1e6,
            o * 1e6
        )),
        None => basis.push_str("; no price for the worker's model"),
    }
    // Low: nothing breaks and prompt caching works; high: every fix round is used.
    Some(Estimate {
        tokens,
        cost_usd_low: round2(cost * 0.5),
        cost_usd_high: round2(cost * 2.0),
        per_role,
        basis,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Usage;
    use crate::mission::plan::{Assertion, FeaturePlan, MilestonePlan, Plan};

    fn plan(features: usize) -> Plan {
        Plan {
            milestones: vec![MilestonePlan {
                id: "m1".into(),
                title: "m".into(),
                features: (0..features)
                    .map(|i| FeaturePlan {
                        id: format!("f{i}"),
                        title: "f".into(),
                        description: String::new(),
                        expected_behavior: None,
                        fulfills: vec!["a1".into()],
                    })
                    .collect(),
            }],
            assertions: vec![Assertion {
                id: "a1".into(),
                text: "t".into(),
                kind: AssertionKind::UserTest,
                command: None,
            }],
        }
    }

    #[test]
    fn bigger_plans_and_dearer_planning_cost_more_and_prices_matter() {
        let price = |_: Role| Some((3.0 / 1e6, 15.0 / 1e6));
        let mut st = MissionState::default();
        assert!(estimate(&st, &price).is_none(), "no plan, no estimate");
        st.plan = Some(plan(2));
        let small = estimate(&st, &price).unwrap();
        st.plan = Some(plan(8));
        let big = estimate(&st, &price).unwrap();
        assert!(big.tokens > small.tokens * 3, "{small:?} {big:?}");
        assert!(big.cost_usd_low < big.cost_usd_high);
        assert!(big.per_role.contains_key("user_tester"));
        assert!(
            big.basis.starts_with("8 feature(s) +25 % corrective")
                && big.basis.contains("worker at $3.00/$15.00 per Mtok"),
            "{}",
            big.basis
        );
        st.budget.per_role.insert(
            Role::Orchestrator,
            Usage {
                tokens_in: 120_000,
                tokens_out: 10_000,
                ..Default::default()
            },
        );
        let calibrated = estimate(&st, &price).unwrap();
        assert!(
            calibrated.tokens > big.tokens * 2,
            "planning cost more: scaled up"
        );
        let free = estimate(&st, &|_| None).unwrap();
        assert_eq!((free.cost_usd_low, free.cost_usd_high), (0.0, 0.0));
        assert_eq!(free.tokens, calibrated.tokens);
        // Once approved, the estimate stays what the human saw, whatever the orchestrator
        // spends later (fix planning).
        st.planning_tokens = Some(st.planning_spent());
        st.budget
            .per_role
            .get_mut(&Role::Orchestrator)
            .unwrap()
            .tokens_in += 500_000;
        assert_eq!(estimate(&st, &price).unwrap(), calibrated);
    }
}
