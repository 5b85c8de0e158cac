//! Write confinement for every command an agent or the contract runs.
//!
//! A command starts as `mission sandbox-exec --write DIR… -- sh -c COMMAND`: that small
//! process restricts itself with Landlock (reads stay free; creating, writing, renaming or
//! deleting files only beneath the DIRs) and then execs the shell, so the rules hold for
//! the command and everything it starts. Restricting inside our own child rather than in a
//! `pre_exec` hook keeps allocation out of a process forked from a multi-threaded runtime.
//!
//! Landlock cannot carve exceptions out of an allowed tree, so `.git` and `.mission`
//! inside the repository stay writable to commands; the file tools refuse them instead.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, path_beneath_rules,
};

use super::command::is_secret_var;

/// The newest Landlock ABI whose write rights we ask for; older kernels get what they
/// support of the rights it adds (device ioctls).
const ABI_WANTED: ABI = ABI::V5;

/// The oldest ABI we confine with: before ABI 2 every rename across directories fails
/// (git could not store an object), before ABI 3 truncation is not controlled (a
/// "read-only" command could empty a file).
const ABI_REQUIRED: ABI = ABI::V3;

/// The hidden subcommand that applies the rules, then runs the command.
pub const SUBCOMMAND: &str = "sandbox-exec";

/// How a command is started: through `sh -c`, without secrets in its environment, and
/// confined when `confine` is set.
#[derive(Debug, Clone, Default)]
pub struct Launcher {
    /// Variables removed from the child's environment (besides the secret-looking ones).
    pub secret_env: Vec<String>,
    pub confine: Option<Confinement>,
    /// Variables set in the child's environment (a private TMPDIR for read-only roles).
    pub env: Vec<(OsString, OsString)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confinement {
    /// This program, which applies the rules and then execs the shell.
    pub exe: PathBuf,
    /// Where the command may write.
    pub writable: Vec<PathBuf>,
}

impl Launcher {
    /// An unconfined launcher that strips `secret_env`: for tests and tools run by hand.
    pub fn plain(secret_env: Vec<String>) -> Self {
        Launcher {
            secret_env,
            ..Launcher::default()
        }
    }

    /// The launcher for roles that must not change the repository (orchestrator,
    /// explorers, reviewers, the user tester): it may write only in the repository's
    /// ignored build directories that exist (`target/`…), in `scratch` (its TMPDIR — the
    /// shared temp dir may hold the repository itself) and the toolchain caches. `None`
    /// without confinement: then nothing can keep such a command from writing.
    pub fn read_only(&self, repo: &Path, scratch: &Path) -> Option<Launcher> {
        let c = self.confine.as_ref()?;
        let temp = std::env::temp_dir();
        // Nothing that holds the repository (the repo itself, a parent such as `~` or the
        // temp dir a throwaway repo lives in), nothing relative (it would resolve against
        // the repo, the commands' working directory).
        let mut writable: Vec<PathBuf> = c
            .writable
            .iter()
            .filter(|p| p.is_absolute() && !repo.starts_with(p) && **p != temp)
            .cloned()
            .collect();
        writable.extend(ignored_dirs(repo));
        writable.push(scratch.to_path_buf());
        Some(Launcher {
            secret_env: self.secret_env.clone(),
            confine: Some(Confinement {
                exe: c.exe.clone(),
                writable,
            }),
            env: vec![("TMPDIR".into(), scratch.into())],
        })
    }

    /// Program and arguments that run `command` with `sh -c`.
    pub fn argv(&self, command: &str) -> (OsString, Vec<OsString>) {
        let shell: [OsString; 3] = ["sh".into(), "-c".into(), command.into()];
        match &self.confine {
            None => (shell[0].clone(), shell[1..].to_vec()),
            Some(c) => {
                let mut args: Vec<OsString> = vec![SUBCOMMAND.into()];
                for w in &c.writable {
                    // One argument, so a path that starts with `-` is not read as a flag.
                    let mut arg = OsString::from("--write=");
                    arg.push(w);
                    args.push(arg);
                }
                args.push("--".into());
                args.extend(shell);
                (c.exe.clone().into(), args)
            }
        }
    }

    /// The variables of this process's environment that a child must not see.
    pub fn secrets_in_env(&self) -> Vec<OsString> {
        std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| {
                k.to_str()
                    .is_some_and(|n| is_secret_var(n, &self.secret_env))
            })
            .collect()
    }

    /// One line for humans: where commands may write, or that they are not confined.
    pub fn describe(&self) -> String {
        match &self.confine {
            Some(c) => format!(
                "commands may write only in {} (Landlock)",
                c.writable
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "commands are not confined: they can write anywhere you can".into(),
        }
    }
}

/// Top-level directories of `repo` that git ignores (build output: `target/`,
/// `node_modules/`…), `.git` and `.mission` excepted.
pub fn ignored_dirs(repo: &Path) -> Vec<PathBuf> {
    let kept: std::collections::HashSet<PathBuf> = ignore::WalkBuilder::new(repo)
        .max_depth(Some(1))
        .hidden(false)
        .parents(true)
        .require_git(false)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .collect();
    let Ok(entries) = std::fs::read_dir(repo) else {
        return vec![];
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| !kept.contains(p))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != ".git" && n != ".mission")
        })
        .collect();
    dirs.sort();
    dirs
}

/// The places a command may write by default: the repository, the temp directory,
/// `/dev` (null, ttys), cargo's download caches and `~/.cache`, plus `extra` (a leading
/// `~/` is the home directory). Not `~/.cargo/bin` or `~/.rustup`: a program planted
/// there would run unconfined in the user's next shell.
pub fn writable_dirs(repo: &Path, extra: &[String]) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let from_env = |var: &str, fallback: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(fallback)))
    };
    let mut dirs = vec![
        repo.to_path_buf(),
        std::env::temp_dir(),
        PathBuf::from("/dev"),
    ];
    if let Some(cargo) = from_env("CARGO_HOME", ".cargo") {
        dirs.push(cargo.join("registry"));
        dirs.push(cargo.join("git"));
    }
    dirs.extend(from_env("XDG_CACHE_HOME", ".cache"));
    for e in extra {
        match (e.strip_prefix("~/"), &home) {
            (Some(rest), Some(h)) => dirs.push(h.join(rest)),
            _ => dirs.push(PathBuf::from(e)),
        }
    }
    dirs.dedup();
    dirs
}

/// Whether this kernel enforces the Landlock rules we need; `Err` says why not.
pub fn available() -> Result<(), String> {
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI_REQUIRED))
        .and_then(|r| r.create())
        .map_err(|e| {
            format!(
                "this kernel's Landlock cannot confine commands (it needs Landlock ABI 3, Linux 6.2+, with `landlock` in the LSM list): {e}"
            )
        })?;
    let fd: Option<OwnedFd> = created.into();
    fd.map(drop).ok_or_else(|| {
        "this kernel does not offer Landlock (Linux 6.2+ with `landlock` in its LSM list)".into()
    })
}

/// The confinement for a mission in `repo`, when asked for and the kernel can enforce it.
pub fn confinement(repo: &Path, extra: &[String]) -> Result<Confinement, String> {
    available()?;
    // The running program itself, even if its file is replaced or deleted meanwhile: a
    // command that could write over the `mission` binary must not choose what the next
    // command is confined by.
    let exe = Path::new("/proc/self/exe")
        .exists()
        .then(|| PathBuf::from("/proc/self/exe"))
        .map_or_else(std::env::current_exe, Ok)
        .map_err(|e| format!("cannot find this program to confine commands with: {e}"))?;
    Ok(Confinement {
        exe,
        writable: writable_dirs(repo, extra),
    })
}

/// Restricts this process to writing beneath `writable`, then replaces it with
/// `program args…`. Returns only on failure, with the reason.
pub fn exec_confined(writable: &[PathBuf], program: &OsStr, args: &[OsString]) -> String {
    let rights = AccessFs::from_write(ABI_WANTED);
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI_REQUIRED))
        .map(|r| r.set_compatibility(CompatLevel::BestEffort))
        .and_then(|r| r.handle_access(rights))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(writable, rights)))
        .and_then(|r| r.restrict_self());
    match status {
        Err(e) => return format!("cannot confine the command: {e}"),
        Ok(s) if s.ruleset == RulesetStatus::NotEnforced => {
            return "cannot confine the command: this kernel does not enforce Landlock".into();
        }
        Ok(_) => {}
    }
    let err = std::process::Command::new(program).args(args).exec();
    format!("cannot run {}: {err}", program.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confined_launcher_goes_through_sandbox_exec() {
        let l = Launcher {
            secret_env: vec![],
            confine: Some(Confinement {
                exe: "/bin/mission".into(),
                writable: vec!["/repo".into(), "/tmp".into()],
            }),
            env: vec![],
        };
        let (prog, args) = l.argv("cargo test");
        assert_eq!(prog, "/bin/mission");
        assert_eq!(
            args,
            [
                "sandbox-exec",
                "--write=/repo",
                "--write=/tmp",
                "--",
                "sh",
                "-c",
                "cargo test"
            ]
        );
        let (prog, args) = Launcher::plain(vec![]).argv("ls");
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
            confine: Some(Confinement {
                exe: "/bin/mission".into(),
                writable: writable_dirs(repo, &[]),
            }),
            ..Launcher::default()
        };
        let scratch = repo.join(".mission/tmp");
        let ro = worker.read_only(repo, &scratch).unwrap();
        let w = &ro.confine.as_ref().unwrap().writable;
        assert!(!w.contains(&repo.to_path_buf()), "{w:?}");
        assert!(!w.contains(&std::env::temp_dir()), "{w:?}");
        assert!(
            w.contains(&repo.join("target")) && w.contains(&scratch),
            "{w:?}"
        );
        assert_eq!(ro.env, [("TMPDIR".into(), scratch.clone().into())]);
        assert!(Launcher::default().read_only(repo, &scratch).is_none());
        // A configured parent of the repo, or a relative path, would reopen it.
        let parent = repo.parent().unwrap().to_path_buf();
        let wide = Launcher {
            confine: Some(Confinement {
                exe: "/bin/mission".into(),
                writable: vec![parent.clone(), "rel".into(), "/opt/x".into()],
            }),
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
    fn writable_dirs_start_with_the_repo_and_expand_home() {
        let dirs = writable_dirs(Path::new("/r"), &["~/.npm".into(), "/opt/x".into()]);
        assert_eq!(dirs[0], Path::new("/r"));
        assert!(dirs.contains(&PathBuf::from("/dev")));
        assert!(dirs.contains(&std::env::temp_dir()));
        assert_eq!(dirs.last().unwrap(), Path::new("/opt/x"));
        if let Some(h) = std::env::var_os("HOME") {
            assert!(dirs.contains(&PathBuf::from(h).join(".npm")));
        }
    }
}
