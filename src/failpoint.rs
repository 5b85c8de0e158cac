//! Deterministic faults for the reliability suite (RELIABILITY.md), set with
//! `MISSION_FAILPOINT` in debug builds only; release builds compile every check away.
//!
//! - `abort_after_event=N`: the process aborts (no destructor, no flush) right after
//!   event N is durable — a crash at a precise point instead of a random `kill -9`.
//! - `disk_full_from_append=N`: the Nth append of this process and every later one fail
//!   with ENOSPC, as on a disk that filled up.
//! - `no_watcher=1`: the file watcher is not started, so the events of a run do not depend
//!   on when its batches land (crash matrices count events).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Points {
    abort_after_event: Option<u64>,
    disk_full_from_append: Option<u64>,
    no_watcher: bool,
}

fn parse(spec: &str) -> Points {
    let mut p = Points::default();
    for part in spec.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
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

fn points() -> Points {
    static POINTS: OnceLock<Points> = OnceLock::new();
    *POINTS.get_or_init(|| {
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

/// Whether the file watcher stays off (debug builds, `no_watcher=1`).
pub fn watcher_off() -> bool {
    cfg!(debug_assertions) && points().no_watcher
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
            }
        );
        assert_eq!(parse("nonsense"), Points::default());
    }
}
