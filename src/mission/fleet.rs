//! The fleet as data: every mission a person runs, as `mission fleet --json` lists it,
//! and who needs them first. (Finding the missions is `crate::fleet`'s work.)

use serde::{Deserialize, Serialize};

use super::MissionState;

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
    /// The open gate's id, so that a decision from the list names what it decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_id: Option<u64>,
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
