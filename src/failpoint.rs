//! Deterministic faults for the reliability suite (RELIABILITY.md), set with
//! `MISSION_FAILPOINT` in debug builds only; release builds compile every check away.
//!
//! - `abort_after_event=N`: the process aborts (no destructor, no flush) right after
//!   event N is durable — a crash at a precise point instead of a random `kill -9`.
//! - `disk_full_from_append=N`: the Nth append of this process and every later one fail
//!   with ENOSPC, as on a disk that filled up.
//! - `no_watcher=1`: the file watcher is not started, so the events of a run do not depend
//!   on when its batches land (crash matrices count events).
//! - `rename_tool=FROM:TO`: the tool FROM is offered to models as TO — a deliberate
//!   harness change, which `mission eval replay` must report as a divergence.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Points {
    abort_after_event: Option<u64>,
    disk_full_from_append: Option<u64>,
    no_watcher: bool,
    rename_tool: Option<(String, String)>,
}

fn parse(spec: &str) -> Points {
    let mut p = Points::default();
    for part in spec.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        if key.trim() == "rename_tool" {
            p.rename_tool = value
                .split_once(':')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()));
            continue;
        }
        let value = value.trim().parse().ok();
        match key.trim() {
            "abort_after_event" => p.abort_after_event = value,
            "disk_full_from_append" => p.disk_full_from_append = value,
            "no_watcher" => p.no_watcher = value == Some(1),
            _ => {}
        }
    }
    p
}

fn points() -> &'static Points {
    static POINTS: OnceLock<Points> = OnceLock::new();
    POINTS.get_or_init(|| {
        std::env::var("MISSION_FAILPOINT")
            .map(|s| parse(&s))
            .unwrap_or_default()
    })
}

/// Before an append's write: fails it when the disk is "full".
pub fn append() -> std::io::Result<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    static APPENDS: AtomicU64 = AtomicU64::new(0);
    let n = APPENDS.fetch_add(1, Ordering::Relaxed) + 1;
    match points().disk_full_from_append {
        Some(from) if n >= from => Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
        _ => Ok(()),
    }
}

/// Seconds a held git lock is waited out before the mission pauses: 30, or
/// `MISSION_GIT_LOCK_WAIT_SECS` in debug builds (tests).
pub fn git_lock_wait_secs() -> u32 {
    let default = 30;
    if !cfg!(debug_assertions) {
        return default;
    }
    std::env::var("MISSION_GIT_LOCK_WAIT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds an external agent told to stop (an abort) has before its process group is
/// ended: 15, or `MISSION_ACP_CANCEL_GRACE_SECS` in debug builds (tests).
pub fn acp_cancel_grace_secs() -> u64 {
    let default = 15;
    if !cfg!(debug_assertions) {
        return default;
    }
    std::env::var("MISSION_ACP_CANCEL_GRACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether the file watcher stays off (debug builds, `no_watcher=1`).
pub fn watcher_off() -> bool {
    cfg!(debug_assertions) && points().no_watcher
}

/// The name a tool is offered under: its own, or another in debug builds when asked.
pub fn offered_name(name: &str) -> Option<&'static str> {
    if !cfg!(debug_assertions) {
        return None;
    }
    match &points().rename_tool {
        Some((from, to)) if from == name => Some(to.as_str()),
        _ => None,
    }
}

/// After event `seq` is durable: aborts the process when asked to.
pub fn after_event(seq: u64) {
    if cfg!(debug_assertions) && points().abort_after_event == Some(seq) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            parse("abort_after_event=12, disk_full_from_append=3,no_watcher=1"),
            Points {
                abort_after_event: Some(12),
                disk_full_from_append: Some(3),
                no_watcher: true,
                rename_tool: None,
            }
        );
        assert_eq!(
            parse("rename_tool=read_file:view_file").rename_tool,
            Some(("read_file".into(), "view_file".into()))
        );
        assert_eq!(parse("nonsense"), Points::default());
    }
}
