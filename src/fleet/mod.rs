//! The fleet: every mission a person runs, on this machine (the registry) and on their
//! SSH hosts (each asked with `ssh HOST mission fleet --json --local`), with which one
//! needs them first.

pub mod hosts;
pub mod registry;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::mission::MissionState;

/// One mission as the fleet lists it (`mission fleet --json`, stable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetMission {
    /// `local` for this machine, else the SSH host it was found on.
    pub host: String,
    pub repo: String,
    pub worktree: String,
    pub goal: String,
    /// `planning`, `running`, `awaiting_approval`, `paused`, `completed`, `failed`, or
    /// `gone` (the repository or its mission is no longer there).
    pub state: String,
    pub needs_you: bool,
    /// Why it needs you (or what it is doing).
    pub reason: String,
    pub cost_usd: f64,
    #[serde(default)]
    pub budget_usd: Option<f64>,
    pub runner_alive: bool,
    pub started: String,
    /// Milestones passed, of all.
    #[serde(default)]
    pub milestones: (usize, usize),
}

/// A host the fleet asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostStatus {
    pub host: String,
    pub reachable: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub missions: Vec<FleetMission>,
    pub hosts: Vec<HostStatus>,
}

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
    m
}

/// Whether a mission needs its human, and why (or what it is doing).
pub fn needs(st: &MissionState, runner_alive: bool) -> (bool, String) {
    if let Some((gate, reason)) = &st.gate {
        return (true, format!("{gate}: {reason}"));
    }
    if let Some(p) = &st.paused
        && st.paused_until.is_none()
    {
        return (true, format!("paused: {p}"));
    }
    if let Some(f) = &st.failed {
        return (false, format!("failed: {f}"));
    }
    if st.completed.is_some() {
        return (false, "completed".into());
    }
    if !runner_alive {
        return (
            true,
            "the runner stopped: `mission resume` continues it".into(),
        );
    }
    let doing = st
        .active
        .as_ref()
        .map(|a| match &a.feature_id {
            Some(f) => format!("{} on {f}", a.role),
            None => a.role.to_string(),
        })
        .unwrap_or_else(|| st.phase().as_str().replace('_', " "));
    (false, doing)
}

/// Who needs the human first: needs-you, then running, then ended; newest first within.
pub fn sort(missions: &mut [FleetMission]) {
    let rank = |m: &FleetMission| match (m.needs_you, m.state.as_str()) {
        (true, _) => 0,
        (false, "completed" | "failed" | "gone") => 2,
        _ => 1,
    };
    missions.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.started.cmp(&a.started)));
}
