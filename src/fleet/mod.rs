//! The fleet: every mission a person runs, on this machine (the registry) and on their
//! SSH hosts (each asked with `ssh HOST mission fleet --json --local`), with which one
//! needs them first.

pub mod hosts;
pub mod registry;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::layout::Layout;
pub use crate::mission::fleet::{Fleet, FleetMission, HostStatus, needs, sort};

/// The missions of this machine's registry, each read from its own log — or, when its
/// log and its runner are as they were at the last look, as it was then (a console
/// refreshing every few seconds reads only what changed). Read on every core.
pub fn local() -> Vec<FleetMission> {
    let entries = registry::entries();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = entries
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(cached).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// What the log and the runner looked like: its size and change time, and whether the
/// lock was held.
type Look = (u64, Option<std::time::SystemTime>, bool);

static SEEN: std::sync::LazyLock<Mutex<HashMap<String, (Look, FleetMission)>>> =
    std::sync::LazyLock::new(Mutex::default);

fn cached(e: &registry::Entry) -> FleetMission {
    let layout = Layout::new(Path::new(&e.repo));
    let meta = std::fs::metadata(layout.events()).ok();
    let look: Look = (
        meta.as_ref().map_or(0, |m| m.len()),
        meta.and_then(|m| m.modified().ok()),
        crate::store::runner_holds_lock(&layout.events()),
    );
    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((was, m)) = seen.get(&e.repo)
        && *was == look
        && m.started == e.started
    {
        return m.clone();
    }
    drop(seen);
    let m = describe(e);
    SEEN.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(e.repo.clone(), (look, m.clone()));
    m
}

/// `[budget] max_cost_usd` of the repository (or the user's file), read without the
/// rest of the config's checks: the fleet only shows it.
fn budget_limit(layout: &Layout) -> Option<f64> {
    let read = |p: &Path| -> Option<f64> {
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        let v = t.get("budget")?.get("max_cost_usd")?;
        v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
    };
    read(&layout.config()).or_else(|| crate::config::user_config_path().and_then(|p| read(&p)))
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
    m.budget_usd = budget_limit(&layout);
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
