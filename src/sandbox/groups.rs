//! The process groups of running commands, written down in `.mission/pgroups` so that a
//! runner that starts after a crash (`kill -9` included) can end whatever the dead one
//! left running before it resets the worktree: a `cargo build` grandchild that survived
//! would otherwise keep writing into the resumed run.
//!
//! Each line is `<pgid> <start time of the group leader>`; the start time keeps a resumed
//! runner from killing an unrelated group that reused the number.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub struct ProcessGroups {
    path: PathBuf,
    live: Mutex<BTreeMap<i32, u64>>,
}

impl ProcessGroups {
    pub fn new(path: PathBuf) -> Self {
        ProcessGroups {
            path,
            live: Mutex::default(),
        }
    }

    /// Records a group that just started.
    pub fn add(&self, pgid: u32) {
        let Ok(pgid) = i32::try_from(pgid) else {
            return;
        };
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.insert(pgid, start_time(pgid).unwrap_or(0));
        self.write(&live);
    }

    /// Forgets a group that ended (or was killed).
    pub fn remove(&self, pgid: u32) {
        let Ok(pgid) = i32::try_from(pgid) else {
            return;
        };
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.remove(&pgid).is_some() {
            self.write(&live);
        }
    }

    /// Kills every group still running (a runner's clean exit).
    pub fn kill_all(&self) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        for pgid in live.keys() {
            kill_group(*pgid);
        }
        live.clear();
        self.write(&live);
    }

    fn write(&self, live: &BTreeMap<i32, u64>) {
        let text: String = live.iter().map(|(g, t)| format!("{g} {t}\n")).collect();
        // Best effort: a command must not fail because this note could not be written;
        // the group kill on drop still covers a live runner.
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

/// Ends the groups a dead runner recorded in `path` and empties it; returns how many
/// were still running.
pub fn end_leftovers(path: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    let mut ended = 0;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(Ok(pgid)), Some(Ok(started))) = (
            parts.next().map(str::parse::<i32>),
            parts.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        if pgid <= 1 {
            continue;
        }
        // The leader alive with another start time: the number was reused; not ours.
        if let Some(now) = start_time(pgid)
            && started != 0
            && now != started
        {
            continue;
        }
        if kill_group(pgid) {
            ended += 1;
        }
    }
    let _ = std::fs::remove_file(path);
    ended
}

fn kill_group(pgid: i32) -> bool {
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .is_ok()
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks since boot.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields follow the last `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Kills the process group led by `pid` (a command and what it started in its group).
pub fn kill_process_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn leftovers_of_a_dead_runner_are_ended() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("pgroups");
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let groups = ProcessGroups::new(path.clone());
        groups.add(child.id());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with(&child.id().to_string())
        );
        // The runner dies without cleaning up: a new one reads the file.
        drop(groups);
        assert_eq!(end_leftovers(&path), 1);
        let status = child.wait().unwrap();
        assert!(!status.success(), "the group was killed");
        assert!(!path.exists());
        assert_eq!(end_leftovers(&path), 0);
    }

    #[test]
    fn a_reused_number_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("pgroups");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        // Recorded with another start time: the leader now running is someone else.
        std::fs::write(&path, format!("{} 1\n", child.id())).unwrap();
        assert_eq!(end_leftovers(&path), 0);
        assert!(child.try_wait().unwrap().is_none(), "still running");
        child.kill().unwrap();
        let _ = child.wait();
    }
}
