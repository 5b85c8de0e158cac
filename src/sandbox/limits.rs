//! `[sandbox] max_processes` and `max_memory_mb`: a cgroup of the sandbox's own where the
//! kernel lets us make one (v2 delegated, or v1 as root), rlimits always (the process
//! limit does not bind host root, the memory limit is per process), so a fork bomb or a
//! runaway allocation ends the command, not the machine.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_processes: u64,
    pub max_memory_mb: u64,
}

impl Limits {
    /// Half the machine's memory (at least 1 GiB), 512 processes.
    pub fn default_for_host() -> Self {
        Limits {
            max_processes: 512,
            max_memory_mb: (total_memory_mb() / 2).max(1024),
        }
    }
}

/// The machine's memory in MiB (`/proc/meminfo`), 8 GiB if unreadable.
pub fn total_memory_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(8192, |kb| kb / 1024)
}

/// A cgroup the sandbox's processes join: its `cgroup.procs` files, opened in advance so
/// that a child joins with one `write` between fork and exec.
#[derive(Debug)]
pub struct Cgroup {
    dirs: Vec<PathBuf>,
    pub pids: bool,
    pub memory: bool,
    memory_events: Option<PathBuf>,
    pub kind: &'static str,
}

impl Cgroup {
    /// A new cgroup below this process's own, with `limits`; `Err` says why there is none.
    pub fn create(limits: Limits, name: &str) -> Result<Cgroup, String> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let root = Path::new("/sys/fs/cgroup");
        if root.join("cgroup.controllers").exists() {
            let path = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .ok_or("no cgroup v2 entry in /proc/self/cgroup")?;
            return Self::v2(&root.join(path.trim_start_matches('/')), limits, name);
        }
        Self::v1(&own, root, limits, name)
    }

    fn v2(parent: &Path, limits: Limits, name: &str) -> Result<Cgroup, String> {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(|e| {
            format!(
                "cgroup v2 at {} is not delegated to you: {e}",
                parent.display()
            )
        })?;
        let controllers =
            std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let pids = controllers.split_whitespace().any(|c| c == "pids")
            && std::fs::write(dir.join("pids.max"), limits.max_processes.to_string()).is_ok();
        let memory = controllers.split_whitespace().any(|c| c == "memory")
            && std::fs::write(
                dir.join("memory.max"),
                (limits.max_memory_mb << 20).to_string(),
            )
            .is_ok();
        let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        if !pids && !memory {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "cgroup v2 at {} delegates neither the pids nor the memory controller",
                parent.display()
            ));
        }
        Ok(Cgroup {
            memory_events: memory.then(|| dir.join("memory.events")),
            dirs: vec![dir],
            pids,
            memory,
            kind: "cgroup v2",
        })
    }

    fn v1(own: &str, root: &Path, limits: Limits, name: &str) -> Result<Cgroup, String> {
        let mut cg = Cgroup {
            dirs: vec![],
            pids: false,
            memory: false,
            memory_events: None,
            kind: "cgroup v1",
        };
        let mut why = vec![];
        for (controller, file, value) in [
            ("pids", "pids.max", limits.max_processes.to_string()),
            (
                "memory",
                "memory.limit_in_bytes",
                (limits.max_memory_mb << 20).to_string(),
            ),
        ] {
            let Some(path) = own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
                ctrls.split(',').any(|c| c == controller).then_some(path)
            }) else {
                why.push(format!("no {controller} controller"));
                continue;
            };
            let dir = root
                .join(controller)
                .join(path.trim_start_matches('/'))
                .join(name);
            let made = std::fs::create_dir(&dir)
                .and_then(|_| std::fs::write(dir.join(file), &value))
                .map_err(|e| e.to_string());
            match made {
                Ok(()) => {
                    if controller == "pids" {
                        cg.pids = true;
                    } else {
                        cg.memory = true;
                        cg.memory_events = Some(dir.join("memory.failcnt"));
                    }
                    cg.dirs.push(dir);
                }
                Err(e) => {
                    let _ = std::fs::remove_dir(&dir);
                    why.push(format!("{controller}: {e}"));
                }
            }
        }
        if cg.dirs.is_empty() {
            return Err(format!("no cgroup could be made ({})", why.join("; ")));
        }
        Ok(cg)
    }

    /// The `cgroup.procs` files a process writes `0` to, to join.
    pub fn procs_paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// How often the memory limit was hit so far (v2 `oom_kill`, v1 `failcnt`).
    pub fn memory_hits(&self) -> u64 {
        let Some(p) = &self.memory_events else {
            return 0;
        };
        let text = std::fs::read_to_string(p).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .or_else(|| text.lines().next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Removable once its processes are gone: the holder's pid namespace ends them.
        for dir in &self.dirs {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Sets the rlimits in a forked child.
///
/// # Safety
/// Plain syscalls only: callable between fork and exec.
pub unsafe fn apply_rlimits(processes: Option<u64>, memory_bytes: Option<u64>) {
    let set = |res, v: u64| {
        let lim = libc::rlimit {
            rlim_cur: v,
            rlim_max: v,
        };
        // SAFETY: a live struct.
        unsafe { libc::setrlimit(res, &lim) };
    };
    if let Some(n) = processes {
        set(libc::RLIMIT_NPROC, n);
    }
    if let Some(b) = memory_bytes {
        set(libc::RLIMIT_AS, b);
    }
}
