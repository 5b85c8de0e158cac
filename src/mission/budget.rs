//! Budget limits, checked between agent turns (never mid-write).

use std::collections::BTreeMap;

use super::event::Role;
use super::state::MissionState;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub max_cost_usd: Option<f64>,
    pub max_tokens: Option<u64>,
    pub per_role_usd: BTreeMap<Role, f64>,
    /// A pause for a provider's rate or usage limit ends by itself at the reset time.
    pub auto_resume: bool,
}

impl Limits {
    /// Why `role` may not start another model call, if it may not.
    pub fn exceeded(&self, st: &MissionState, role: Role) -> Option<String> {
        let total = &st.budget.total;
        if let Some(max) = self.max_cost_usd
            && total.cost_usd >= max
        {
            return Some(format!(
                "budget reached: ${:.2} spent of max_cost_usd ${max:.2}; raise [budget] max_cost_usd and run `mission resume`",
                total.cost_usd
            ));
        }
        if let Some(max) = self.max_tokens {
            let used = total.tokens_in + total.tokens_out;
            if used >= max {
                return Some(format!(
                    "budget reached: {used} tokens used of max_tokens {max}; raise [budget] max_tokens and run `mission resume`"
                ));
            }
        }
        if let (Some(max), Some(used)) =
            (self.per_role_usd.get(&role), st.budget.per_role.get(&role))
            && used.cost_usd >= *max
        {
            return Some(format!(
                "budget reached: {role} spent ${:.2} of per_role_usd ${max:.2}; raise it and run `mission resume`",
                used.cost_usd
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Usage;

    #[test]
    fn each_limit_trips() {
        let mut st = MissionState::default();
        st.budget.total = Usage {
            tokens_in: 90,
            tokens_out: 20,
            cost_usd: 2.0,
            ..Default::default()
        };
        st.budget.per_role.insert(
            Role::Worker,
            Usage {
                tokens_in: 0,
                tokens_out: 0,
                cost_usd: 1.5,
                ..Default::default()
            },
        );
        let none = Limits::default();
        assert_eq!(none.exceeded(&st, Role::Worker), None);
        let tokens = Limits {
            max_tokens: Some(100),
            ..Default::default()
        };
        assert!(
            tokens
                .exceeded(&st, Role::Worker)
                .unwrap()
                .contains("110 tokens")
        );
        let cost = Limits {
            max_cost_usd: Some(2.0),
            ..Default::default()
        };
        assert!(cost.exceeded(&st, Role::Worker).is_some());
        let role = Limits {
            per_role_usd: [(Role::Worker, 1.0)].into(),
            ..Default::default()
        };
        assert!(role.exceeded(&st, Role::Worker).is_some());
        assert!(role.exceeded(&st, Role::Orchestrator).is_none());
    }
}
