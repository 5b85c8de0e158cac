//! A mission's namespaces, seen from the runner: the holder process that keeps them
//! (`init.rs` is its other side), and what a child does between fork and exec to join them.
//!
//! Joining: `setns` into the user namespace first (so the rest are ours to enter), then
//! mount, ipc, net and pid; `chdir` again by path (the mount namespace has its own root);
//! join the sandbox's cgroup; then `fork`, because only children enter a pid namespace. The
//! forked child is the command; the process between (never exec'd) closes every descriptor,
//! waits, and exits as the command did, so the runner sees the command's status as before.
//! The command then drops every capability (bounding set included), so neither it nor what
//! it execs can change a mount, a namespace or its limits.

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::init::{InitSpec, c_path};
use super::limits::{Cgroup, Limits, apply_rlimits};

/// The hidden subcommand that holds the namespaces.
pub const INIT_SUBCOMMAND: &str = "sandbox-init";

/// The namespaces of one runner, made on first use and remade if their holder died.
#[derive(Debug)]
pub struct Isolation {
    exe: PathBuf,
    spec: InitSpec,
    limits: Limits,
    holder: Mutex<Option<Arc<Holder>>>,
    made: std::sync::atomic::AtomicU64,
}

/// A live holder and the descriptors children join through.
#[derive(Debug)]
pub struct Holder {
    child: Mutex<Child>,
    /// The pid namespace's init, as the host sees it.
    pub init_pid: i32,
    fds: Arc<NsFds>,
    pub cgroup: Option<Cgroup>,
    /// What the holder could not do (each a weaker wall), and why there is no cgroup.
    pub warnings: Vec<String>,
    limits: Limits,
}

impl Isolation {
    pub fn new(exe: PathBuf, spec: InitSpec, limits: Limits) -> Self {
        Isolation {
            exe,
            spec,
            limits,
            holder: Mutex::new(None),
            made: 0.into(),
        }
    }

    pub fn network(&self) -> bool {
        self.spec.network
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The live holder, started (or restarted) now if needed.
    pub fn holder(&self) -> Result<Arc<Holder>, String> {
        let mut slot = self.holder.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = slot.as_ref()
            && h.alive()
        {
            return Ok(h.clone());
        }
        let n = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let h = Arc::new(Holder::start(&self.exe, &self.spec, self.limits, n)?);
        *slot = Some(h.clone());
        Ok(h)
    }

    /// The holder if one is running (never starts one).
    pub fn current(&self) -> Option<Arc<Holder>> {
        self.holder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What the holder could not do, once it has started (each a weaker wall).
    pub fn warnings(&self) -> Result<Vec<String>, String> {
        Ok(self.holder()?.warnings.clone())
    }

    /// Ends the namespaces and everything still running in them.
    pub fn end(&self) {
        let h = self.holder.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = h {
            h.end();
        }
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        self.end();
    }
}

impl Holder {
    fn start(exe: &Path, spec: &InitSpec, limits: Limits, n: u64) -> Result<Holder, String> {
        let mut child = std::process::Command::new(exe)
            .arg(INIT_SUBCOMMAND)
            .args(spec.args())
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the sandbox's namespace holder: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        // Read its report on a thread, so a holder that hangs cannot hang the runner.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The outer process says `pid`, its child `ready`: in either order.
            let mut lines: Vec<String> = vec![];
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let failed = line.starts_with("error ");
                lines.push(line);
                let has = |p: &str| lines.iter().any(|l| l.starts_with(p));
                if failed || (has("pid ") && has("ready")) {
                    break;
                }
            }
            let _ = tx.send(lines);
        });
        let fail = |child: &mut Child, why: String| {
            let _ = child.kill();
            let _ = child.wait();
            Err(why)
        };
        let lines = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => l,
            Err(_) => {
                return fail(
                    &mut child,
                    "the sandbox's namespace holder did not answer in 10 s".into(),
                );
            }
        };
        let mut init_pid = None;
        let mut warnings = vec![];
        for line in &lines {
            if let Some(p) = line.strip_prefix("pid ") {
                init_pid = p.trim().parse::<i32>().ok();
            } else if let Some(w) = line.strip_prefix("warn ") {
                warnings.push(w.to_string());
            } else if let Some(e) = line.strip_prefix("error ") {
                return fail(&mut child, format!("cannot isolate commands: {e}"));
            }
        }
        let (Some(init_pid), true) = (init_pid, lines.iter().any(|l| l == "ready")) else {
            return fail(
                &mut child,
                format!("the sandbox's namespace holder ended early: {lines:?}"),
            );
        };
        let name = format!("mission-sandbox-{}-{n}", std::process::id());
        let cgroup = match Cgroup::create(limits, &name) {
            Ok(c) => Some(c),
            Err(e) => {
                warnings.push(format!(
                    "limits are rlimits only, per process ({e}); host root is not bound by the process limit"
                ));
                None
            }
        };
        let procs = cgroup.as_ref().map(|c| c.procs_paths()).unwrap_or_default();
        let fds = match NsFds::open(init_pid, !spec.network, &procs) {
            Ok(f) => f,
            Err(e) => return fail(&mut child, e),
        };
        Ok(Holder {
            child: Mutex::new(child),
            init_pid,
            fds: Arc::new(fds),
            cgroup,
            warnings,
            limits,
        })
    }

    fn alive(&self) -> bool {
        let mut c = self.child.lock().unwrap_or_else(|p| p.into_inner());
        matches!(c.try_wait(), Ok(None))
    }

    fn end(&self) {
        let mut c = self.child.lock().unwrap_or_else(|p| p.into_inner());
        // Closing its stdin tells it to kill the init; the kernel ends the rest.
        drop(c.stdin.take());
        for _ in 0..200 {
            if !matches!(c.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// What a child needs to join, prepared here so that nothing is allocated after fork.
    pub fn join_setup(&self, cwd: &Path) -> Result<JoinSetup, String> {
        JoinSetup::new(self.fds.clone(), cwd, self.rlimits())
    }

    /// The rlimits a joining child sets: the process limit always (it binds everyone but
    /// host root), the memory limit per process where no cgroup bounds the whole.
    pub fn rlimits(&self) -> (Option<u64>, Option<u64>) {
        let memory_cgroup = self.cgroup.as_ref().is_some_and(|c| c.memory);
        (
            Some(self.limits.max_processes),
            (!memory_cgroup).then_some(self.limits.max_memory_mb << 20),
        )
    }

    /// What commands may write that exists only inside the sandbox (its ptys, its
    /// `/dev/shm`) or is bound there file by file (the device nodes), for Landlock rules.
    pub fn inside_writable(&self) -> Vec<PathBuf> {
        let root = PathBuf::from(format!("/proc/{}/root/dev", self.init_pid));
        let mut out: Vec<PathBuf> = ["null", "zero", "full", "random", "urandom", "tty"]
            .iter()
            .map(|d| Path::new("/dev").join(d))
            .filter(|p| p.exists())
            .collect();
        out.extend(
            ["pts", "shm"]
                .iter()
                .map(|d| root.join(d))
                .filter(|p| p.exists()),
        );
        out
    }

    /// Arguments for `sandbox-exec` to join this holder's namespaces itself (PTY launches).
    pub fn exec_args(&self) -> Vec<std::ffi::OsString> {
        let mut out: Vec<std::ffi::OsString> = vec![format!("--join={}", self.init_pid).into()];
        if !self.fds.net_joined() {
            out.push("--join-keeps-network".into());
        }
        for p in self
            .cgroup
            .as_ref()
            .map(|c| c.procs_paths())
            .unwrap_or_default()
        {
            let mut a = std::ffi::OsString::from("--cgroup=");
            a.push(p);
            out.push(a);
        }
        let (procs, mem) = self.rlimits();
        if let Some(n) = procs {
            out.push(format!("--max-processes={n}").into());
        }
        if let Some(b) = mem {
            out.push(format!("--max-memory-bytes={b}").into());
        }
        out
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.end();
    }
}

/// Everything a forked child needs to enter the sandbox's namespaces.
#[derive(Debug)]
pub struct JoinSetup {
    fds: Arc<NsFds>,
    /// Stay in the host's network namespace even when the sandbox has its own (an
    /// external agent, which needs its provider).
    host_network: bool,
    cwd: CString,
    processes: Option<u64>,
    memory_bytes: Option<u64>,
}

/// The namespace descriptors of a holder's init, and its cgroup's `cgroup.procs`.
#[derive(Debug)]
pub struct NsFds {
    user: OwnedFd,
    mnt: OwnedFd,
    ipc: OwnedFd,
    pid: OwnedFd,
    net: Option<OwnedFd>,
    procs: Vec<OwnedFd>,
}

impl NsFds {
    /// Opens `/proc/PID/ns/*` of the init `pid` (its net namespace only when `net`).
    pub fn open(pid: i32, net: bool, cgroup_procs: &[PathBuf]) -> Result<NsFds, String> {
        let open = |name: &str| -> Result<OwnedFd, String> {
            std::fs::File::open(format!("/proc/{pid}/ns/{name}"))
                .map(OwnedFd::from)
                .map_err(|e| format!("cannot open the sandbox's {name} namespace: {e}"))
        };
        let procs = cgroup_procs
            .iter()
            .map(|p| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map(OwnedFd::from)
                    .map_err(|e| format!("cannot open {}: {e}", p.display()))
            })
            .collect::<Result<_, _>>()?;
        Ok(NsFds {
            user: open("user")?,
            mnt: open("mnt")?,
            ipc: open("ipc")?,
            pid: open("pid")?,
            net: if net { Some(open("net")?) } else { None },
            procs,
        })
    }

    fn net_joined(&self) -> bool {
        self.net.is_some()
    }
}

impl JoinSetup {
    pub fn new(
        fds: Arc<NsFds>,
        cwd: &Path,
        (processes, memory_bytes): (Option<u64>, Option<u64>),
    ) -> Result<Self, String> {
        let cwd = c_path(cwd).map_err(|e| format!("bad working directory: {e}"))?;
        Ok(JoinSetup {
            fds,
            host_network: false,
            cwd,
            processes,
            memory_bytes,
        })
    }

    /// The same, but the child keeps the host's network when `on`.
    pub fn keeping_host_network(mut self, on: bool) -> Self {
        self.host_network = on;
        self
    }

    /// Joins the namespaces and forks; returns in the command's process only.
    ///
    /// # Safety
    /// Call only in a single-threaded child about to exec (a `pre_exec` hook, or
    /// `sandbox-exec` before any thread starts): only async-signal-safe calls.
    pub unsafe fn enter(&self) -> std::io::Result<()> {
        let h = &self.fds;
        let err = std::io::Error::last_os_error;
        // SAFETY: raw syscalls on descriptors and buffers prepared before the fork.
        unsafe {
            for (fd, kind) in [
                (Some(&h.user), libc::CLONE_NEWUSER),
                (Some(&h.mnt), libc::CLONE_NEWNS),
                (Some(&h.ipc), libc::CLONE_NEWIPC),
                (
                    h.net.as_ref().filter(|_| !self.host_network),
                    libc::CLONE_NEWNET,
                ),
                (Some(&h.pid), libc::CLONE_NEWPID),
            ] {
                if let Some(fd) = fd
                    && libc::setns(fd.as_raw_fd(), kind) != 0
                {
                    return Err(err());
                }
            }
            if libc::chdir(self.cwd.as_ptr()) != 0 {
                return Err(err());
            }
            for fd in &h.procs {
                if libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) < 0 {
                    return Err(err());
                }
            }
            apply_rlimits(self.processes, self.memory_bytes);
            let pid = libc::fork();
            if pid < 0 {
                return Err(err());
            }
            if pid > 0 {
                wait_and_exit_as(pid);
            }
            // The command: it dies with the process between, and holds no capability.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            drop_capabilities()
        }
    }
}

/// The process between the runner and the command: waits for the command and exits the
/// way it did (code or signal). Holds no descriptor, so pipes close with the command.
unsafe fn wait_and_exit_as(pid: libc::pid_t) -> ! {
    // SAFETY: plain syscalls; this process never returns to Rust code that allocates.
    unsafe {
        // Keys typed at a terminal reach the command (same process group); this process
        // must outlive them to report the command's status.
        for sig in [
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        let mut status = 0;
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(126);
            }
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status));
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets: a process
/// that joined a user namespace has every capability in it until it drops them.
unsafe fn drop_capabilities() -> std::io::Result<()> {
    // SAFETY: prctl and capset on live structs.
    unsafe {
        for cap in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        let mut header = CapHeader {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let data = [CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this kernel lets us make the namespaces (`Err` says why not), by starting a
/// holder with nothing to mount and ending it.
pub fn available(exe: &Path) -> Result<(), String> {
    let spec = InitSpec {
        network: false,
        ..InitSpec::default()
    };
    let limits = Limits {
        max_processes: 64,
        max_memory_mb: 256,
    };
    Holder::start(exe, &spec, limits, u64::MAX).map(|h| h.end())
}
