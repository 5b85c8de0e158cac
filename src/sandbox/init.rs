//! `mission sandbox-init`: the process that holds a mission's namespaces.
//!
//! Started once per runner (lazily, by the first confined command) with an empty
//! environment. It unshares user, mount, ipc, pid (and net when the network is off)
//! namespaces and forks the pid namespace's init, which sets up the file system every
//! confined process sees, then only reaps orphans:
//!
//! - the host's file system read-only; the worktree, its temp dir and the configured caches
//!   writable again (bind mounts cloned before the rest went read-only);
//! - `/tmp`, `/var/tmp` and `/run` empty (host unix sockets — tmux, ssh-agent, docker, the
//!   desktop bus — live there), the repository's git dir visible again, read-only;
//! - the checkout's `.mission/` (control socket, lock, events) an empty, unreadable tmpfs;
//! - a `/proc` of the namespace's own processes, a minimal `/dev`, a private `/dev/shm`.
//!
//! Its stdout tells the runner `pid N` (the init's pid on the host, whose
//! `/proc/N/ns/*` commands join), any `warn …` lines, then `ready` or `error …`. When its
//! stdin closes (the runner ended, or died) it kills the init, and the kernel then kills
//! everything left in the pid namespace: nothing a command started outlives the runner.
//!
//! Everything here runs in a single-threaded process (before any runtime starts), so raw
//! syscalls are used as they are documented, without the fork-safety limits of `pre_exec`.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::netns::{loopback_up, write_proc};
use super::sys;

/// What the holder is asked to build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitSpec {
    /// Writable in the sandbox (worktree, temp dir, caches).
    pub write: Vec<PathBuf>,
    /// Visible read-only even where a hidden directory covers them (the git dir).
    pub read: Vec<PathBuf>,
    /// Covered by an empty, inaccessible tmpfs (`.mission/`).
    pub hide: Vec<PathBuf>,
    /// `false`: a network namespace of its own, loopback only.
    pub network: bool,
}

impl InitSpec {
    /// The holder's command-line arguments (after the subcommand).
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut out = vec![];
        let mut flag = |name: &str, p: &Path| {
            let mut a = std::ffi::OsString::from(format!("--{name}="));
            a.push(p);
            out.push(a);
        };
        for p in &self.write {
            flag("write", p);
        }
        for p in &self.read {
            flag("read", p);
        }
        for p in &self.hide {
            flag("hide", p);
        }
        if !self.network {
            out.push("--no-network".into());
        }
        out
    }
}

/// Host directories that hold other programs' unix sockets and scratch files.
const EMPTIED: &[&str] = &["/tmp", "/var/tmp", "/run"];

/// What must come back, read-only, for `path` to be seen inside the sandbox: the
/// directory right under an emptied one (`/tmp/tools` for `/tmp/tools/bin/agent`), so
/// that a program installed there finds its files beside it; `None` where the host's
/// tree shows it anyway.
pub fn hidden_root(path: &Path) -> Option<PathBuf> {
    // Never /run: what lies there is sockets (a user's D-Bus, systemd, agents), which a
    // read-only view does not keep anyone from connecting to.
    let emptied = EMPTIED
        .iter()
        .map(Path::new)
        .filter(|e| *e != Path::new("/run"))
        .find(|e| path.starts_with(e))?;
    let first = path.strip_prefix(emptied).ok()?.components().next()?;
    Some(emptied.join(first))
}

/// Device nodes bound from the host into the sandbox's own `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Runs the holder; returns the exit code.
pub fn run(spec: &InitSpec) -> i32 {
    let say = |line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut flags =
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWPID;
    if !spec.network {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: this process is single-threaded (no runtime was started).
    if unsafe { libc::unshare(flags) } != 0 {
        say(&format!(
            "error cannot create namespaces: {} (user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces)",
            std::io::Error::last_os_error()
        ));
        return 1;
    }
    // The same ids inside as outside: files keep their owners, and the commands' user owns
    // the worktree. Capabilities are dropped by every process that joins.
    // SAFETY: plain writes to this process's own /proc files.
    let mapped = unsafe {
        write_proc(c"/proc/self/setgroups", b"deny")
            .and_then(|_| write_proc(c"/proc/self/uid_map", format!("{uid} {uid} 1\n").as_bytes()))
            .and_then(|_| write_proc(c"/proc/self/gid_map", format!("{gid} {gid} 1\n").as_bytes()))
    };
    if let Err(e) = mapped {
        say(&format!(
            "error cannot map the user into its namespace: {e}"
        ));
        return 1;
    }
    // SAFETY: fork in a single-threaded process.
    let child = unsafe { libc::fork() };
    if child < 0 {
        say(&format!(
            "error cannot fork: {}",
            std::io::Error::last_os_error()
        ));
        return 1;
    }
    if child == 0 {
        init(spec);
    }
    say(&format!("pid {child}"));
    hold(child)
}

/// The outer process: waits for its stdin to close (the runner is gone or done with the
/// sandbox) or for the init to die, then takes the whole pid namespace down.
fn hold(child: libc::pid_t) -> i32 {
    let mut buf = [0u8; 64];
    loop {
        let mut fds = [libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: poll/read/waitpid on live buffers.
        unsafe {
            let n = libc::poll(fds.as_mut_ptr(), 1, 1000);
            if n > 0 {
                let r = libc::read(0, buf.as_mut_ptr().cast(), buf.len());
                if r <= 0 {
                    break;
                }
            }
            let mut status = 0;
            if libc::waitpid(child, &mut status, libc::WNOHANG) == child {
                return 1;
            }
        }
    }
    // SAFETY: killing and reaping our own child.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(child, &mut status, 0);
    }
    0
}

/// The pid namespace's init: builds the file system view, says `ready`, then reaps.
fn init(spec: &InitSpec) -> ! {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let mut out = std::io::stdout().lock();
    match build_view(spec) {
        Ok(warnings) => {
            for w in warnings {
                let _ = writeln!(out, "warn {w}");
            }
            let _ = writeln!(out, "ready");
        }
        Err(e) => {
            let _ = writeln!(out, "error {e}");
            let _ = out.flush();
            // SAFETY: ending the init ends the namespace.
            unsafe { libc::_exit(1) };
        }
    }
    let _ = out.flush();
    drop(out);
    // SAFETY: plain syscalls; the handler does nothing (it only makes pause() return).
    unsafe {
        // It stays dumpable: a runner that is not root opens its /proc/PID/ns/* as the
        // same user. Sandboxed processes still cannot ptrace or read it: they hold no
        // capability and it holds all of them in the namespace (and Landlock forbids
        // tracing outside the domain); its environment is empty.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            libc::close(null);
        }
        extern "C" fn nothing(_: libc::c_int) {}
        libc::signal(libc::SIGCHLD, nothing as *const () as libc::sighandler_t);
        loop {
            let mut status = 0;
            if libc::waitpid(-1, &mut status, 0) < 0 {
                libc::pause();
            }
        }
    }
}

/// Mounts the sandbox's view of the file system; `Ok` carries what could not be done
/// (each weakens one wall but leaves the others).
fn build_view(spec: &InitSpec) -> Result<Vec<String>, String> {
    let mut warnings = vec![];
    let err = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    sys::mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .map_err(|e| err("cannot make private", Path::new("/"), e))?;

    // Clones of what must stay visible, taken before anything is covered.
    let mut writable = vec![];
    for w in spec
        .write
        .iter()
        .filter(|w| w.is_dir() && *w != Path::new("/dev"))
    {
        writable.push((
            w.clone(),
            sys::clone_tree(w).map_err(|e| err("cannot clone", w, e))?,
        ));
    }
    let mut readable = vec![];
    for r in spec.read.iter().filter(|r| r.is_dir()) {
        let fd = sys::clone_tree(r).map_err(|e| err("cannot clone", r, e))?;
        sys::set_read_only(&fd).map_err(|e| err("cannot make read-only", r, e))?;
        readable.push((r.clone(), fd));
    }
    let mut devices = vec![];
    for d in DEVICES {
        let p = Path::new("/dev").join(d);
        if p.exists() {
            match sys::clone_mount(&p) {
                Ok(fd) => devices.push((d, fd)),
                Err(e) => warnings.push(format!("/dev/{d} is missing in the sandbox: {e}")),
            }
        }
    }

    for dir in EMPTIED.iter().map(Path::new) {
        if dir.is_symlink() || !dir.is_dir() {
            continue;
        }
        sys::mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("mode=0755,size=1m"),
        )
        .map_err(|e| err("cannot cover", dir, e))?;
    }
    // Mount points for what comes back, inside the emptied directories.
    for (p, _) in writable.iter().chain(readable.iter()) {
        if !p.is_dir() {
            std::fs::create_dir_all(p).map_err(|e| err("cannot make a mount point at", p, e))?;
        }
    }

    if let Err(e) = sys::read_only_tree(Path::new("/")) {
        warnings.push(format!(
            "the host's files are not mounted read-only ({e}); Landlock alone keeps commands from writing"
        ));
    }

    // Its own /dev: a few devices of the host, its own ptys, a private /dev/shm.
    let dev = Path::new("/dev");
    sys::mount(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        libc::MS_NOSUID,
        Some("mode=0755,size=1m"),
    )
    .map_err(|e| err("cannot mount", dev, e))?;
    for (name, fd) in &devices {
        let p = dev.join(name);
        std::fs::File::create(&p).map_err(|e| err("cannot create", &p, e))?;
        sys::move_mount(fd, &p).map_err(|e| err("cannot bind", &p, e))?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir(&pts).map_err(|e| err("cannot create", &pts, e))?;
    match sys::mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    ) {
        Ok(()) => {
            let _ = std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx"));
        }
        Err(e) => warnings.push(format!("no pseudo-terminals inside the sandbox: {e}")),
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(to, dev.join(link));
    }
    let shm = dev.join("shm");
    std::fs::create_dir(&shm).map_err(|e| err("cannot create", &shm, e))?;
    sys::mount(
        Some("tmpfs"),
        &shm,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=1777"),
    )
    .map_err(|e| err("cannot mount", &shm, e))?;

    if let Err(e) = sys::mount(
        Some("proc"),
        Path::new("/proc"),
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    ) {
        warnings.push(format!(
            "/proc still shows the host's processes ({e}); the runner is non-dumpable, so its environment stays unreadable"
        ));
    }

    // Outer directories first: a read-only directory that holds a writable one (a build
    // tree holding the worktree, an agent's home) must not land on top of it.
    let mut back: Vec<&(PathBuf, _)> = writable.iter().chain(readable.iter()).collect();
    back.sort_by_key(|(p, _)| p.components().count());
    for (p, fd) in back {
        sys::move_mount(fd, p).map_err(|e| err("cannot mount back", p, e))?;
    }
    for h in spec.hide.iter().filter(|h| h.is_dir()) {
        sys::mount(
            Some("tmpfs"),
            h,
            Some("tmpfs"),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            Some("mode=000,size=4k"),
        )
        .map_err(|e| err("cannot hide", h, e))?;
    }
    if !spec.network {
        // SAFETY: ioctls on a fresh socket.
        unsafe { loopback_up() }.map_err(|e| format!("cannot bring loopback up: {e}"))?;
    }
    Ok(warnings)
}

/// A path as a C string, for raw syscalls.
pub(super) fn c_path(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_under_emptied_directories_bring_their_tree_back() {
        assert_eq!(
            hidden_root(Path::new("/tmp/acp/node_modules/x/dist/index.js")),
            Some(PathBuf::from("/tmp/acp"))
        );
        assert_eq!(hidden_root(Path::new("/usr/bin/node")), None);
        assert_eq!(
            hidden_root(Path::new("/run/user/1000/fnm_multishells/1/bin/node")),
            None
        );
        assert_eq!(hidden_root(Path::new("/tmp")), None);
    }
}
