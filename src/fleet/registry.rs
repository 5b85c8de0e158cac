//! The per-user registry of missions: one small file per repository under
//! `$XDG_STATE_HOME/mission/missions/`, written by the runner that starts or resumes a
//! mission there. It says only *where* a mission is; what state it is in is read from
//! the mission's own log when the fleet is listed, so nothing here goes stale but the
//! repository's existence (a gone repository is shown as gone, never dropped).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub repo: String,
    pub worktree: String,
    pub goal: String,
    pub branch: String,
    /// RFC 3339, when the mission was started.
    pub started: String,
    /// The runner that last took the mission up (it may be gone).
    pub pid: u32,
    pub socket: String,
}

/// `$XDG_STATE_HOME/mission/missions` (default `~/.local/state/mission/missions`).
pub fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("mission").join("missions"))
}

/// The file of `repo`'s entry: one per repository, so runners never write the same file.
fn file_of(dir: &Path, repo: &str) -> PathBuf {
    let name = Path::new(repo)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = xxhash_rust::xxh3::xxh3_64(repo.as_bytes());
    dir.join(format!("{name}-{hash:016x}.json"))
}

/// Records (or updates) `entry`; a registry that cannot be written is reported to the
/// caller, who goes on without it (the mission does not depend on being listed).
pub fn record(entry: &Entry) -> std::io::Result<()> {
    let Some(dir) = dir() else {
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    let json = serde_json::to_string_pretty(entry).map_err(std::io::Error::other)?;
    crate::store::write_private(&file_of(&dir, &entry.repo), json.as_bytes())
}

/// Records the mission of `layout` as `st` has it, run by this process.
pub fn record_mission(
    layout: &crate::layout::Layout,
    st: &crate::mission::MissionState,
) -> std::io::Result<()> {
    record(&Entry {
        repo: layout.repo.display().to_string(),
        worktree: layout.work.display().to_string(),
        goal: st.goal.clone(),
        branch: st.branch.clone(),
        started: st.started_at.map(|t| t.to_string()).unwrap_or_default(),
        pid: std::process::id(),
        socket: layout.socket().display().to_string(),
    })
}

/// Every entry, oldest start first; unreadable files are skipped with a warning.
pub fn entries() -> Vec<Entry> {
    let Some(dir) = dir() else {
        return vec![];
    };
    let Ok(read) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut out: Vec<Entry> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            match serde_json::from_str(&text) {
                Ok(entry) => Some(entry),
                Err(err) => {
                    tracing::warn!("skipping {}: {err}", e.path().display());
                    None
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.started.cmp(&b.started));
    out
}
