//! The mission's own git worktree, outside the human's checkout: every agent, command,
//! validator and the watcher work there, so the human can keep editing, committing and
//! switching branches in their checkout meanwhile.
//!
//! Its place is derived, not recorded: `<base>/<repo name>-<hash of the repo's path>/<branch
//! tail>`. A copied or moved repository therefore gets a worktree of its own on resume,
//! recreated from the mission branch, instead of sharing another copy's.

use std::path::{Path, PathBuf};

use crate::config::WorktreeConfig;
use crate::git::{Git, GitError};

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error(
        "cannot tell where to put the mission's worktree: neither XDG_DATA_HOME nor HOME is set; set [worktree] dir in .mission/mission.toml"
    )]
    NoBase,
    #[error(
        "the worktree would be {path}, inside the repository; set [worktree] dir to a directory outside it"
    )]
    InsideRepo { path: PathBuf },
    #[error("the mission's worktree {path}: {source}")]
    Git { path: PathBuf, source: GitError },
}

/// The default home of worktrees: `$XDG_DATA_HOME/mission/worktrees`.
fn default_base() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.data_dir().join("mission").join("worktrees"))
}

fn base(cfg: &WorktreeConfig) -> Result<PathBuf, WorktreeError> {
    match &cfg.dir {
        Some(d) => match d.strip_prefix("~/") {
            Some(rest) => directories::BaseDirs::new()
                .map(|b| b.home_dir().join(rest))
                .ok_or(WorktreeError::NoBase),
            None => Ok(PathBuf::from(d)),
        },
        None => default_base().ok_or(WorktreeError::NoBase),
    }
}

/// FNV-1a: a hash that stays the same across Rust releases, unlike `DefaultHasher`.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The worktree of the mission on `branch` of the repository at `repo` (canonical).
pub fn location(cfg: &WorktreeConfig, repo: &Path, branch: &str) -> Result<PathBuf, WorktreeError> {
    let name = repo
        .file_name()
        .map_or_else(|| "repo".into(), |n| n.to_string_lossy().into_owned());
    let id = stable_hash(repo.as_os_str().as_encoded_bytes());
    let tail = branch.strip_prefix("mission/").unwrap_or(branch);
    let path = lexical(&base(cfg)?)
        .join(format!("{name}-{:08x}", id as u32))
        .join(tail.replace('/', "-"));
    if path.starts_with(repo) {
        return Err(WorktreeError::InsideRepo { path });
    }
    Ok(path)
}

/// `path` with `.` and `..` resolved by name (`$PWD/../share` is beside the repository,
/// not inside it).
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The name git knows the worktree by (`.git/worktrees/<name>`): the branch and a hash of
/// the worktree's place, so that neither a worktree of the human's nor one registered by
/// another copy of this repository is ever taken for it.
pub fn git_name(branch: &str, path: &Path) -> String {
    format!(
        "{}-{:08x}",
        branch.replace('/', "-"),
        stable_hash(path.as_os_str().as_encoded_bytes()) as u32
    )
}

pub use crate::layout::temp_dir;

/// What `ensure` had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Present,
    Created,
    /// It was gone (deleted by hand, or the repository was moved or copied).
    Recreated,
}

/// Makes sure the mission's worktree exists at `path` with `branch` checked out, creating
/// it from the branch when it is missing or belongs to something else.
pub fn ensure(git: &Git, path: &Path, branch: &str) -> Result<Ensured, WorktreeError> {
    let name = git_name(branch, path);
    let wrap = |source| WorktreeError::Git {
        path: path.to_path_buf(),
        source,
    };
    let registered = git.worktree_path(&name);
    let ours = registered
        .as_ref()
        .is_some_and(|(p, valid)| *valid && same_dir(p, path));
    if ours {
        return Ok(Ensured::Present);
    }
    let existed = registered.is_some() || path.exists();
    // Another mission worktree holding the branch belongs to a copy of this repository
    // made elsewhere (or to this one before it moved): git checks a branch out once, so
    // its registration goes — never its files.
    for (other, holds) in git.worktrees_on(branch) {
        if other.starts_with("mission-") {
            git.forget_worktree(&other).map_err(wrap)?;
        } else {
            return Err(wrap(GitError::Io(std::io::Error::other(format!(
                "branch {branch} is checked out in your worktree {}; remove it there (`git worktree remove`), then resume",
                holds.display()
            )))));
        }
    }
    if path.exists() {
        // Left over by something that is not our registered worktree: an earlier mission's
        // directory whose registration was pruned, or an empty dir. Move it aside.
        let aside = path.with_file_name(format!(
            "{}.old-{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            jiff::Timestamp::now().as_second()
        ));
        std::fs::rename(path, &aside).map_err(|e| wrap(e.into()))?;
    }
    git.add_worktree(&name, path, branch).map_err(wrap)?;
    std::fs::create_dir_all(temp_dir(path)).map_err(|e| wrap(e.into()))?;
    Ok(if existed {
        Ensured::Recreated
    } else {
        Ensured::Created
    })
}

/// Opens the mission's worktree for the harness. Its `.git` link file is written anew
/// first: a command (or a runner killed mid-command) may have left a forged one, and git
/// — ours included — follows it.
pub fn open(git: &Git, path: &Path, branch: &str) -> Result<Git, WorktreeError> {
    let name = git_name(branch, path);
    let wrap = |source| WorktreeError::Git {
        path: path.to_path_buf(),
        source,
    };
    let link = path.join(".git");
    crate::sandbox::protect::replace_file(&link, git.worktree_link(&name).as_bytes())
        .map_err(|e| wrap(e.into()))?;
    let opened = git.open_worktree(&name).map_err(wrap)?;
    if !opened.workdir().is_some_and(|w| same_dir(w, path)) {
        return Err(wrap(GitError::Io(std::io::Error::other(
            "its registration points elsewhere; delete the worktree directory and resume",
        ))));
    }
    Ok(opened)
}

/// Removes the worktree and its temp dir; the branch stays for the human to review.
pub fn remove(git: &Git, path: &Path, branch: &str) -> Result<(), WorktreeError> {
    git.remove_worktree(&git_name(branch, path), path)
        .map_err(|source| WorktreeError::Git {
            path: path.to_path_buf(),
            source,
        })?;
    let _ = std::fs::remove_dir_all(temp_dir(path));
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, PathBuf, Git, String) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let g = Git::init(&root).unwrap();
        std::fs::write(root.join("a.txt"), "one\n").unwrap();
        let base = g.commit_all("initial").unwrap();
        (d, root.canonicalize().unwrap(), g, base)
    }

    #[test]
    fn location_is_outside_the_repo_and_stable() {
        let cfg = WorktreeConfig {
            dir: Some("/data/wt".into()),
        };
        let a = location(&cfg, Path::new("/home/u/proj"), "mission/add-json").unwrap();
        assert_eq!(
            a,
            location(&cfg, Path::new("/home/u/proj"), "mission/add-json").unwrap()
        );
        assert!(
            a.starts_with("/data/wt") && a.ends_with("add-json"),
            "{a:?}"
        );
        assert!(a.parent().unwrap().to_string_lossy().contains("proj-"));
        let b = location(&cfg, Path::new("/home/v/proj"), "mission/add-json").unwrap();
        assert_ne!(a, b, "two checkouts never share a worktree");
        let inside = WorktreeConfig {
            dir: Some("/home/u/proj/wt".into()),
        };
        assert!(matches!(
            location(&inside, Path::new("/home/u/proj"), "mission/x"),
            Err(WorktreeError::InsideRepo { .. })
        ));
        assert_eq!(temp_dir(Path::new("/d/r-1/x")), Path::new("/d/r-1/.x.tmp"));
        // A base named through the repository's parent is beside it, not inside.
        let beside = WorktreeConfig {
            dir: Some("/home/u/proj/../share/./wt".into()),
        };
        let c = location(&beside, Path::new("/home/u/proj"), "mission/x").unwrap();
        assert!(c.starts_with("/home/u/share/wt"), "{c:?}");
    }

    #[test]
    fn a_worktree_is_made_removed_and_remade_without_touching_the_checkout() {
        let (d, root, g, base) = repo();
        std::fs::write(root.join("a.txt"), "human's edit\n").unwrap();
        g.create_branch("mission/x", &base).unwrap();
        let wt = d.path().join("wt/x");
        assert_eq!(ensure(&g, &wt, "mission/x").unwrap(), Ensured::Created);
        assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), "one\n");
        assert!(wt.join(".git").is_file());
        assert!(temp_dir(&wt).is_dir());
        assert_eq!(ensure(&g, &wt, "mission/x").unwrap(), Ensured::Present);
        // A forged link (a command's doing) is never followed.
        std::fs::write(wt.join(".git"), "gitdir: /elsewhere\n").unwrap();
        let wg = open(&g, &wt, "mission/x").unwrap();
        assert!(
            std::fs::read_to_string(wt.join(".git"))
                .unwrap()
                .contains("worktrees")
        );
        assert_eq!(wg.current_branch().as_deref(), Some("mission/x"));
        std::fs::write(wt.join("b.txt"), "mission\n").unwrap();
        let c = wg.commit_all("feature").unwrap();
        assert_eq!(g.branch_head("mission/x").as_deref(), Some(c.as_str()));
        // The human's checkout: still on main, their edit intact.
        assert_eq!(g.current_branch().as_deref(), Some("main"));
        assert_eq!(
            std::fs::read_to_string(root.join("a.txt")).unwrap(),
            "human's edit\n"
        );
        assert!(!root.join("b.txt").exists());
        // Deleted by hand: made again from the branch.
        std::fs::remove_dir_all(&wt).unwrap();
        assert_eq!(ensure(&g, &wt, "mission/x").unwrap(), Ensured::Recreated);
        assert!(wt.join("b.txt").exists());
        remove(&g, &wt, "mission/x").unwrap();
        assert!(!wt.exists() && !temp_dir(&wt).exists());
        assert_eq!(g.branch_head("mission/x").as_deref(), Some(c.as_str()));
    }
}
