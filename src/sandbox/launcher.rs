//! Write confinement for every command an agent or the contract runs.
//!
//! Commands may write only beneath the mission's worktree, their private temp dir and the
//! caches allowed by config (Landlock: reads stay free; creating, writing, renaming or
//! deleting files only beneath those dirs), so the human's checkout, its `.git` and
//! `.mission/` are out of reach by construction. The one protected thing inside the
//! worktree, its `.git` link file, is checked after every command (`protect.rs`).
//!
//! `run_shell` builds the ruleset in the runner and only enters it in the forked child
//! (`pre_exec`: a few raw syscalls, no allocation). A terminal launched through a PTY, whose
//! spawner has no `pre_exec`, starts as `mission sandbox-exec --write DIR… -- sh -c CMD`
//! instead: that small process confines itself and execs the shell.
//!
//! Environment: an allowlist, not a blocklist of secret-looking names.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::rules::available;
use super::rules::ruleset;

pub use super::env::{ENV_ALLOWED, env_allowed};
use super::groups::ProcessGroups;
use super::limits::apply_rlimits;
use super::namespaces::{Isolation, JoinSetup};
use super::netns::{NetworkSetup, isolate_network};
use super::protect::Protected;
pub use super::writable::{ignored_dirs, writable_dirs};

/// The hidden subcommand that applies the rules, then runs the command.
pub const SUBCOMMAND: &str = "sandbox-exec";

/// How a command is started: through `sh -c`, with an allowlisted environment, confined
/// when `confine` is set.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub confine: Option<Confinement>,
    /// Variables passed besides the allowlist (`[sandbox] env_pass`).
    pub env_pass: Vec<String>,
    /// Variables never passed, whatever `env_pass` says: the providers' key variables.
    pub never: Vec<String>,
    /// Variables set in the child's environment (its private TMPDIR).
    pub env: Vec<(OsString, OsString)>,
    /// `false`: the command gets a network namespace of its own with only loopback.
    pub network: bool,
    /// Checked after every command; whatever the command changed there is restored.
    pub protect: Option<Arc<Protected>>,
    /// Where running commands' process groups are recorded, so that a resumed runner
    /// ends what a dead one left running.
    pub groups: Option<Arc<ProcessGroups>>,
    /// The mission's namespaces, which every confined process joins.
    pub isolation: Option<Arc<Isolation>>,
}

impl Default for Launcher {
    fn default() -> Self {
        Launcher {
            confine: None,
            env_pass: vec![],
            never: vec![],
            env: vec![],
            network: true,
            protect: None,
            groups: None,
            isolation: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Confinement {
    /// This program, which applies the rules and then execs the shell (PTY launches).
    pub exe: PathBuf,
    /// Where the command may write.
    pub writable: Vec<PathBuf>,
    /// Landlock scopes (ABI 6, where the kernel has them): no signal to a process outside
    /// the command's own domain, no abstract unix socket outside it. Needed where the
    /// namespaces cannot give the same (no pid namespace; a network shared with the host).
    pub scopes: Scopes,
    /// The Landlock ruleset for `writable`, built on first use and shared by every
    /// command this launcher starts: building it opens each directory.
    pub ruleset: Arc<std::sync::OnceLock<Result<Arc<OwnedFd>, String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    pub signals: bool,
    pub abstract_sockets: bool,
}

impl Scopes {
    pub const ALL: Scopes = Scopes {
        signals: true,
        abstract_sockets: true,
    };
}

impl Confinement {
    pub fn new(exe: PathBuf, writable: Vec<PathBuf>) -> Self {
        Confinement {
            exe,
            writable,
            scopes: Scopes::ALL,
            ruleset: Arc::default(),
        }
    }

    /// The ruleset, built on first use with `inside` (places inside the sandbox's mount
    /// namespace, reached through its init's `/proc/PID/root`) writable too.
    fn ruleset(&self, inside: &[PathBuf]) -> Result<Arc<OwnedFd>, String> {
        self.ruleset
            .get_or_init(|| {
                let all: Vec<PathBuf> = self.writable.iter().chain(inside).cloned().collect();
                ruleset(&all, self.scopes).map(Arc::new)
            })
            .clone()
    }
}

impl PartialEq for Confinement {
    fn eq(&self, other: &Self) -> bool {
        self.exe == other.exe && self.writable == other.writable
    }
}

impl Launcher {
    /// An unconfined launcher that never passes `never`: for tests and tools run by hand.
    pub fn plain(never: Vec<String>) -> Self {
        Launcher {
            never,
            ..Launcher::default()
        }
    }

    /// The launcher for roles that must not change the repository (orchestrator,
    /// explorers, reviewers, the user tester): it may write only in the worktree's
    /// ignored build directories that exist (`target/`…), in `scratch` (its TMPDIR) and
    /// the toolchain caches. `None` without confinement: then nothing can keep such a
    /// command from writing.
    pub fn read_only(&self, work: &Path, scratch: &Path) -> Option<Launcher> {
        let c = self.confine.as_ref()?;
        // Nothing that holds the worktree (the worktree itself, a parent such as `~`),
        // nothing relative (it would resolve against the worktree).
        let mut writable: Vec<PathBuf> = c
            .writable
            .iter()
            .filter(|p| p.is_absolute() && !work.starts_with(p))
            .cloned()
            .collect();
        writable.extend(ignored_dirs(work));
        writable.push(scratch.to_path_buf());
        writable.dedup();
        let mut env: Vec<(OsString, OsString)> = self
            .env
            .iter()
            .filter(|(k, _)| k != "TMPDIR")
            .cloned()
            .collect();
        env.push(("TMPDIR".into(), scratch.into()));
        Some(Launcher {
            confine: Some(Confinement {
                scopes: c.scopes,
                ..Confinement::new(c.exe.clone(), writable)
            }),
            env,
            ..self.clone()
        })
    }

    /// Program and arguments that run `command` with `sh -c` through `sandbox-exec` when
    /// confined: for spawners without `pre_exec` (PTYs).
    pub fn argv(&self, command: &str) -> Result<(OsString, Vec<OsString>), String> {
        let shell: [OsString; 3] = ["sh".into(), "-c".into(), command.into()];
        match &self.confine {
            None => Ok((shell[0].clone(), shell[1..].to_vec())),
            Some(c) => {
                let mut args: Vec<OsString> = vec![SUBCOMMAND.into()];
                if let Some(iso) = &self.isolation {
                    let h = iso.holder()?;
                    args.extend(h.exec_args());
                    for w in h.inside_writable() {
                        let mut arg = OsString::from("--write=");
                        arg.push(w);
                        args.push(arg);
                    }
                }
                if c.scopes.signals {
                    args.push("--scope-signals".into());
                }
                if c.scopes.abstract_sockets {
                    args.push("--scope-abstract-sockets".into());
                }
                for w in &c.writable {
                    // One argument, so a path that starts with `-` is not read as a flag.
                    let mut arg = OsString::from("--write=");
                    arg.push(w);
                    args.push(arg);
                }
                if !self.network && self.isolation.is_none() {
                    args.push("--no-network".into());
                }
                args.push("--".into());
                args.extend(shell);
                Ok((c.exe.clone().into(), args))
            }
        }
    }

    /// The whole environment a child gets: the allowlisted variables of this process,
    /// then `env`.
    pub fn child_env(&self) -> Vec<(OsString, OsString)> {
        self.child_env_from(std::env::vars_os())
    }

    /// `child_env` over the environment `ours` instead of this process's.
    pub fn child_env_from(
        &self,
        ours: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        let mut out: Vec<(OsString, OsString)> = ours
            .into_iter()
            .filter(|(k, _)| {
                k.to_str().is_some_and(|n| {
                    env_allowed(n, &self.env_pass) && !self.never.iter().any(|x| x == n)
                })
            })
            .filter(|(k, _)| !self.env.iter().any(|(o, _)| o == k))
            .collect();
        out.extend(self.env.iter().cloned());
        // Python's bytecode caches would land in the worktree and be committed as the
        // agent's work (binary, with the source's mtime inside), unless the repository
        // ignores them; a setting of the user's own wins.
        if !out.iter().any(|(k, _)| k == "PYTHONDONTWRITEBYTECODE") {
            out.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
        }
        out
    }

    /// Prepares what the child needs to confine itself between fork and exec, so that
    /// nothing is allocated there; `cwd` is where it runs. `Ok(None)` when there is
    /// nothing to do.
    pub fn child_setup(&self, cwd: &Path) -> Result<Option<ChildSetup>, String> {
        if self.confine.is_none() && self.network && self.isolation.is_none() {
            return Ok(None);
        }
        let holder = match &self.isolation {
            Some(iso) => Some(iso.holder()?),
            None => None,
        };
        let inside = holder
            .as_ref()
            .map(|h| h.inside_writable())
            .unwrap_or_default();
        let ruleset = match &self.confine {
            Some(c) => Some(c.ruleset(&inside)?),
            None => None,
        };
        let join = match &holder {
            // A launcher with the network on keeps the host's, whatever the holder has.
            Some(h) => Some(h.join_setup(cwd)?.keeping_host_network(self.network)),
            None => None,
        };
        Ok(Some(ChildSetup {
            ruleset,
            isolate_network: (!self.network && join.is_none()).then(NetworkSetup::new),
            join,
            rlimits: (None, None),
        }))
    }

    /// Makes `cmd` (which runs in `cwd`) start as every agent-facing child does: dying
    /// with the runner, and confined as this launcher says (namespaces, Landlock,
    /// network, limits), entered between fork and exec.
    pub fn set_up_child(
        &self,
        cmd: &mut tokio::process::Command,
        cwd: &Path,
    ) -> Result<(), String> {
        let setup = self.child_setup(cwd)?.map(Arc::new);
        // SAFETY: the hook makes only async-signal-safe syscalls on memory prepared above.
        unsafe {
            cmd.pre_exec(move || {
                // A session of its own: it leads its process group (ended as a group,
                // as before) and has no controlling terminal, so nothing it runs can
                // write to or type into the human's terminal through /dev/tty.
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The child dies with the runner; its own children are ended by process
                // group (by the runner, or by the next one from `.mission/pgroups`).
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A runner started under `nohup` or as a background job ignores these;
                // its children must not inherit that (Ctrl-C in a tested program, `kill
                // -INT` in a script).
                for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                match &setup {
                    Some(s) => s.enter(),
                    None => Ok(()),
                }
            });
        }
        Ok(())
    }

    /// How often the sandbox's memory cgroup has killed so far (0 without one).
    pub fn memory_hits(&self) -> u64 {
        self.isolation
            .as_ref()
            .and_then(|i| i.current())
            .and_then(|h| h.cgroup.as_ref().map(|c| c.memory_hits()))
            .unwrap_or(0)
    }

    /// The walls a command could have run into, `memory_hits` being the count before it.
    pub fn walls(&self, memory_hits: u64) -> super::hints::Walls {
        let limits = self.isolation.as_ref().map(|i| i.limits());
        super::hints::Walls {
            network_off: !self.network,
            max_processes: limits.map(|l| l.max_processes),
            max_memory_mb: limits.map(|l| l.max_memory_mb),
            memory_killed: self.memory_hits() > memory_hits,
        }
    }

    /// One line for humans: where commands may write, or that they are not confined.
    pub fn describe(&self) -> String {
        let net = if self.network {
            "; network: on ([sandbox] network = true)"
        } else {
            "; network: off, loopback only ([sandbox] network = true turns it on)"
        };
        let ns = match &self.isolation {
            Some(iso) => {
                let l = iso.limits();
                format!(
                    "; own user/pid/mount/ipc{} namespaces (the mission's processes, .mission/ and host sockets out of sight); at most {} processes, {} MB",
                    if iso.network() { "" } else { "/net" },
                    l.max_processes,
                    l.max_memory_mb
                )
            }
            None => String::new(),
        };
        let net = format!("{ns}{net}");
        match &self.confine {
            Some(c) => format!(
                "commands may write only in {} (Landlock){net}",
                c.writable
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("commands are not confined: they can write anywhere you can{net}"),
        }
    }
}

/// What a freshly forked child does before exec: everything prepared in the parent.
#[derive(Debug)]
pub struct ChildSetup {
    ruleset: Option<Arc<OwnedFd>>,
    isolate_network: Option<NetworkSetup>,
    pub(super) join: Option<JoinSetup>,
    rlimits: (Option<u64>, Option<u64>),
}

impl ChildSetup {
    /// Enters the confinement. Only async-signal-safe calls: this runs in the child
    /// between fork and exec of a multi-threaded parent.
    ///
    /// # Safety
    /// Call only in a single-threaded process about to exec (a `pre_exec` hook, or
    /// `sandbox-exec` before any thread starts).
    pub unsafe fn enter(&self) -> std::io::Result<()> {
        let check = |r: libc::c_long| {
            if r < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        if let Some(join) = &self.join {
            // SAFETY: plain syscalls on memory prepared before the fork; returns in the
            // command's process only.
            unsafe { join.enter()? };
        } else if let Some(net) = &self.isolate_network {
            // SAFETY: plain syscalls on memory prepared before the fork.
            unsafe { isolate_network(net)? };
        }
        // SAFETY: setrlimit on plain integers.
        unsafe { apply_rlimits(self.rlimits.0, self.rlimits.1) };
        if let Some(fd) = &self.ruleset {
            let raw: RawFd = fd.as_raw_fd();
            // SAFETY: prctl and landlock_restrict_self take plain integers.
            unsafe {
                check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) as libc::c_long)?;
                check(libc::syscall(libc::SYS_landlock_restrict_self, raw, 0u32))?;
            }
        }
        Ok(())
    }
}

/// The confinement for a mission working in `work` (temp dir `tmp`) away from the
/// `protected` places, when asked for and the kernel can enforce it.
pub fn confinement(
    work: &Path,
    tmp: &Path,
    extra: &[String],
    protected: &[PathBuf],
) -> Result<Confinement, String> {
    available()?;
    // The running program itself, even if its file is replaced or deleted meanwhile: a
    // command that could write over the `mission` binary must not choose what the next
    // command is confined by.
    let exe = Path::new("/proc/self/exe")
        .exists()
        .then(|| PathBuf::from("/proc/self/exe"))
        .map_or_else(std::env::current_exe, Ok)
        .map_err(|e| format!("cannot find this program to confine commands with: {e}"))?;
    Ok(Confinement::new(
        exe,
        writable_dirs(work, tmp, extra, protected),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_confined_launcher_goes_through_sandbox_exec() {
        let l = Launcher {
            confine: Some(Confinement::new(
                "/bin/mission".into(),
                vec!["/repo".into(), "/tmp".into()],
            )),
            network: false,
            ..Launcher::default()
        };
        let (prog, args) = l.argv("cargo test").unwrap();
        assert_eq!(prog, "/bin/mission");
        assert_eq!(
            args,
            [
                "sandbox-exec",
                "--scope-signals",
                "--scope-abstract-sockets",
                "--write=/repo",
                "--write=/tmp",
                "--no-network",
                "--",
                "sh",
                "-c",
                "cargo test"
            ]
        );
        let (prog, args) = Launcher::plain(vec![]).argv("ls").unwrap();
        assert_eq!(
            (prog.as_os_str(), args.as_slice()),
            (OsStr::new("sh"), &["-c".into(), "ls".into()][..])
        );
    }

    #[test]
    fn read_only_keeps_the_repo_and_shared_temp_out_but_its_build_dirs_in() {
        let d = tempfile::tempdir().unwrap();
        let repo = d.path();
        std::fs::write(repo.join(".gitignore"), "/target\n/node_modules\n").unwrap();
        for dir in ["target", "node_modules", "src", ".git", ".mission"] {
            std::fs::create_dir_all(repo.join(dir)).unwrap();
        }
        assert_eq!(
            ignored_dirs(repo),
            [repo.join("node_modules"), repo.join("target")]
        );
        let worker = Launcher {
            confine: Some(Confinement::new(
                "/bin/mission".into(),
                writable_dirs(repo, &d.path().join("tmp"), &[], &["/human".into()]),
            )),
            ..Launcher::default()
        };
        let scratch = d.path().join("scratch");
        let ro = worker.read_only(repo, &scratch).unwrap();
        let w = &ro.confine.as_ref().unwrap().writable;
        assert!(!w.contains(&repo.to_path_buf()), "{w:?}");
        assert!(!w.contains(&std::env::temp_dir()), "{w:?}");
        assert!(w.contains(&d.path().join("tmp")), "{w:?}");
        assert!(
            w.contains(&repo.join("target")) && w.contains(&scratch),
            "{w:?}"
        );
        assert_eq!(ro.env, [("TMPDIR".into(), scratch.clone().into())]);
        assert!(Launcher::default().read_only(repo, &scratch).is_none());
        // A configured parent of the repo, or a relative path, would reopen it.
        let parent = repo.parent().unwrap().to_path_buf();
        let wide = Launcher {
            confine: Some(Confinement::new(
                "/bin/mission".into(),
                vec![parent.clone(), "rel".into(), "/opt/x".into()],
            )),
            ..Launcher::default()
        };
        let w = wide
            .read_only(repo, &scratch)
            .unwrap()
            .confine
            .unwrap()
            .writable;
        assert!(!w.contains(&parent) && !w.contains(&"rel".into()), "{w:?}");
        assert!(w.contains(&"/opt/x".into()), "{w:?}");
    }

    #[test]
    fn writable_dirs_are_the_worktree_its_temp_and_caches_never_the_checkout() {
        let extra = [
            "~/.npm".into(),
            "/opt/x".into(),
            "/home".into(),
            "/".into(),
            "/opt/../home/u".into(),
            "/home/u/proj/.cargo".into(),
        ];
        let dirs = writable_dirs(
            Path::new("/w/r"),
            Path::new("/w/.r.tmp"),
            &extra,
            &["/home/u/proj".into()],
        );
        assert_eq!(
            dirs[..2],
            [PathBuf::from("/w/r"), PathBuf::from("/w/.r.tmp")]
        );
        assert!(dirs.contains(&PathBuf::from("/dev")));
        assert!(!dirs.contains(&std::env::temp_dir()), "{dirs:?}");
        assert!(dirs.contains(&PathBuf::from("/opt/x")));
        // A parent of the human's checkout would hand its .git and .mission back.
        assert!(!dirs.contains(&PathBuf::from("/home")), "{dirs:?}");
        assert!(!dirs.contains(&PathBuf::from("/")), "{dirs:?}");
        assert!(
            !dirs.iter().any(|d| d.to_string_lossy().contains("/home/u")),
            "through `..` or inside the checkout: {dirs:?}"
        );
        if let Some(h) = std::env::var_os("HOME")
            && !Path::new("/home/u/proj").starts_with(&h)
        {
            assert!(dirs.contains(&PathBuf::from(h).join(".npm")));
        }
    }
}
