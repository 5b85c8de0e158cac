//! The fleet: every mission a person runs, on this machine (the registry) and on their
//! SSH hosts (each asked with `ssh HOST mission fleet --json --local`), with which one
//! needs them first.

pub mod hosts;
pub mod registry;

use std::path::Path;

use crate::layout::Layout;
pub use crate::mission::fleet::{Fleet, FleetMission, HostStatus, needs, sort};

/// The missions of this machine's registry, each read from its own log.
pub fn local() -> Vec<FleetMission> {
    registry::entries()
        .into_iter()
        .map(|e| describe(&e))
        .collect()
}

fn describe(e: &registry::Entry) -> FleetMission {
    let mut m = FleetMission {
        host: "local".into(),
        repo: e.repo.clone(),
        worktree: e.worktree.clone(),
        goal: e.goal.clone(),
        state: "gone".into(),
        needs_you: false,
        reason: String::new(),
        cost_usd: 0.0,
        budget_usd: None,
        runner_alive: false,
        started: e.started.clone(),
        milestones: (0, 0),
        gate_id: None,
    };
    let layout = Layout::new(Path::new(&e.repo));
    if !layout.events().exists() {
        m.reason = format!("{} or its mission is gone", e.repo);
        return m;
    }
    let st = match crate::checkpoint::load(&layout.events(), &layout.checkpoint()) {
        Ok(f) => f.state,
        Err(err) => {
            m.state = "unreadable".into();
            m.needs_you = true;
            m.reason = err.to_string();
            return m;
        }
    };
    // Another mission started in the repository since: this one was archived.
    if st.goal != e.goal && !st.goal.is_empty() {
        m.goal = st.goal.clone();
    }
    m.runner_alive = crate::store::runner_holds_lock(&layout.events());
    m.state = st.phase().as_str().to_string();
    m.cost_usd = st.budget.total.cost_usd;
    m.budget_usd = crate::config::Config::load_for_console(&layout.config())
        .ok()
        .and_then(|c| c.budget.max_cost_usd);
    m.milestones = (
        st.milestones
            .iter()
            .filter(|x| x.phase == crate::mission::state::MilestonePhase::Passed)
            .count(),
        st.milestones.len(),
    );
    (m.needs_you, m.reason) = needs(&st, m.runner_alive);
    m.gate_id = st.gate.as_ref().map(|_| st.gate_id);
    m
}
