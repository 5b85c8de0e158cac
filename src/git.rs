//! Git through git2: the mission branch, one commit per feature, diffs for handoffs,
//! and resetting the tree to the last committed feature on resume.

use std::path::{Path, PathBuf};

use git2::{DiffFormat, DiffOptions, IndexAddOption, Oid, Repository, ResetType, Signature};

use crate::mission::DiffStat;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not inside a git repository (run `git init` first)")]
    NotARepo {
        path: PathBuf,
        /// Kept for debugging, not shown: the message above says all a user needs.
        cause: git2::Error,
    },
    #[error("the repository has no commits yet; commit something first")]
    NoCommits,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, GitError>;

impl GitError {
    /// Another process holds a git lock (`index.lock`, a ref's `.lock`).
    pub fn is_locked(&self) -> bool {
        match self {
            GitError::Git(e) => {
                e.code() == git2::ErrorCode::Locked
                    || e.message().contains(".lock")
                    || e.message().contains("locked")
            }
            _ => false,
        }
    }
}

pub use crate::mission::narrate::short;

/// The trailer that ties a commit to its feature, so a commit made just before a crash
/// is recognised on resume instead of being made twice.
pub const FEATURE_TRAILER: &str = "Mission-Feature";

pub struct Git {
    repo: Repository,
}

/// The harness's own directories: never committed, cleaned or patched, whatever a
/// `.gitignore` written by an agent says.
fn is_harness_path(path: &Path) -> bool {
    matches!(
        path.components().next(),
        Some(std::path::Component::Normal(first)) if first == ".mission" || first == ".git"
    )
}

impl Git {
    pub fn open(path: &Path) -> Result<Self> {
        let repo = Repository::open(path).map_err(|cause| GitError::NotARepo {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Git { repo })
    }

    /// Opens the repository containing `path`, wherever in its tree `path` is.
    pub fn discover(path: &Path) -> Result<Self> {
        let repo = Repository::discover(path).map_err(|cause| GitError::NotARepo {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Git { repo })
    }

    /// A new repository whose first branch is `main`.
    pub fn init(path: &Path) -> Result<Self> {
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = Repository::init_opts(path, &opts)?;
        Ok(Git { repo })
    }

    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    pub fn head(&self) -> Result<String> {
        let head = self.repo.head().map_err(|_| GitError::NoCommits)?;
        Ok(head
            .peel_to_commit()
            .map_err(|_| GitError::NoCommits)?
            .id()
            .to_string())
    }

    pub fn current_branch(&self) -> Option<String> {
        self.repo.head().ok()?.shorthand().ok().map(str::to_owned)
    }

    fn signature(&self) -> Signature<'static> {
        self.repo
            .signature()
            .map(|s| s.to_owned())
            .or_else(|_| Signature::now("mission", "mission@localhost"))
            .unwrap_or_else(|_| {
                Signature::now("mission", "mission@localhost").expect("static signature")
            })
    }

    /// Commits everything in the tree (respecting .gitignore) on HEAD.
    pub fn commit_all(&self, message: &str) -> Result<String> {
        let mut index = self.repo.index()?;
        let mut skip_harness = |path: &Path, _: &[u8]| i32::from(is_harness_path(path));
        index.add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip_harness))?;
        index.remove_all([".mission"], None)?;
        index.update_all(["*"], None)?;
        index.write()?;
        let tree = self.repo.find_tree(index.write_tree()?)?;
        let sig = self.signature();
        let parents = match self.repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
            Some(c) => vec![c],
            None => vec![],
        };
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        let oid = self
            .repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)?;
        tracing::info!(commit = %oid, subject = message.lines().next().unwrap_or(""), "git commit");
        Ok(oid.to_string())
    }

    /// Creates `branch` at `at` unless it exists, without checking it out.
    pub fn create_branch(&self, branch: &str, at: &str) -> Result<()> {
        if self.branch_head(branch).is_none() {
            let commit = self.repo.find_commit(Oid::from_str(at)?)?;
            self.repo.branch(branch, &commit, false)?;
        }
        Ok(())
    }

    /// Checks `branch` out into a new worktree at `path`, registered as `name` under
    /// `.git/worktrees/`. A registration left by a worktree that was deleted, or that
    /// belongs to another copy of this repository, is dropped first — never its files.
    pub fn add_worktree(&self, name: &str, path: &Path, branch: &str) -> Result<()> {
        self.forget_worktree(name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let reference = self.repo.find_reference(&format!("refs/heads/{branch}"))?;
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        self.repo.worktree(name, path, Some(&opts))?;
        tracing::info!(branch, path = %path.display(), "git worktree added");
        Ok(())
    }

    /// Removes the worktree registered as `name` and its files; the branch stays.
    pub fn remove_worktree(&self, name: &str, path: &Path) -> Result<()> {
        if path.join(".git").is_file() {
            std::fs::remove_dir_all(path)?;
        }
        self.forget_worktree(name)
    }

    /// The registered worktrees (name, path) that have `branch` checked out.
    pub fn worktrees_on(&self, branch: &str) -> Vec<(String, PathBuf)> {
        let Ok(names) = self.repo.worktrees() else {
            return vec![];
        };
        let wanted = format!("ref: refs/heads/{branch}");
        let names: Vec<String> = (0..names.len())
            .filter_map(|i| names.get(i).ok().flatten().map(str::to_owned))
            .collect();
        names
            .iter()
            .filter(|name| {
                std::fs::read_to_string(self.common_dir().join("worktrees").join(name).join("HEAD"))
                    .is_ok_and(|h| h.trim() == wanted)
            })
            .filter_map(|name| {
                let wt = self.repo.find_worktree(name).ok()?;
                Some((name.clone(), wt.path().to_path_buf()))
            })
            .collect()
    }

    /// `git worktree prune` for one name: drops `.git/worktrees/<name>`, never a
    /// working tree (which, in a copied repository, may be another copy's).
    pub fn forget_worktree(&self, name: &str) -> Result<()> {
        let registration = self.common_dir().join("worktrees").join(name);
        match std::fs::remove_dir_all(&registration) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The worktree directory registered as `name`, and whether it is still there.
    pub fn worktree_path(&self, name: &str) -> Option<(PathBuf, bool)> {
        let wt = self.repo.find_worktree(name).ok()?;
        Some((wt.path().to_path_buf(), wt.validate().is_ok()))
    }

    /// Opens the worktree registered as `name` through its registration in the shared
    /// `.git/worktrees/`, never through the `.git` link file inside it (which commands
    /// can write).
    pub fn open_worktree(&self, name: &str) -> Result<Git> {
        let wt = self.repo.find_worktree(name)?;
        Ok(Git {
            repo: Repository::open_from_worktree(&wt)?,
        })
    }

    /// What the `.git` link file of the worktree registered as `name` must say.
    pub fn worktree_link(&self, name: &str) -> String {
        format!(
            "gitdir: {}\n",
            self.common_dir().join("worktrees").join(name).display()
        )
    }

    /// The lock file git holds while it writes this tree's index.
    pub fn index_lock(&self) -> PathBuf {
        self.repo.path().join("index.lock")
    }

    /// For a worktree: what its `.git` link file must say.
    pub fn own_link(&self) -> Option<String> {
        if !self.repo.is_worktree() {
            return None;
        }
        let name = self.repo.path().file_name()?.to_string_lossy().into_owned();
        Some(self.worktree_link(&name))
    }

    /// Where this repository's shared git data lives (`.git` of the main checkout).
    pub fn common_dir(&self) -> PathBuf {
        self.repo.commondir().to_path_buf()
    }

    /// Creates `branch` at `at` unless it exists, and checks it out.
    pub fn checkout_branch(&self, branch: &str, at: &str) -> Result<()> {
        let refname = format!("refs/heads/{branch}");
        if self.repo.find_reference(&refname).is_err() {
            let commit = self.repo.find_commit(Oid::from_str(at)?)?;
            self.repo.branch(branch, &commit, false)?;
        }
        self.repo.set_head(&refname)?;
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().safe()))?;
        Ok(())
    }

    pub fn branch_head(&self, branch: &str) -> Option<String> {
        self.repo
            .find_reference(&format!("refs/heads/{branch}"))
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|c| c.id().to_string())
    }

    /// Adds `.mission/` to `.git/info/exclude` so the harness's state is never committed.
    pub fn exclude_mission_dir(&self) -> Result<()> {
        let info = self.repo.path().join("info");
        std::fs::create_dir_all(&info)?;
        let path = info.join("exclude");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if !current
            .lines()
            .any(|l| l.trim() == ".mission/" || l.trim() == ".mission")
        {
            let mut text = current;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(".mission/\n");
            std::fs::write(&path, text)?;
        }
        Ok(())
    }

    /// Uncommitted changes, untracked files included (ignored ones not).
    pub fn is_dirty(&self) -> Result<bool> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).include_ignored(false);
        let statuses = self.repo.statuses(Some(&mut opts))?;
        Ok(statuses
            .iter()
            .any(|e| e.path().is_ok_and(|p| !is_harness_path(Path::new(p)))))
    }

    pub fn diff_stat(&self, from: &str, to: &str) -> Result<(DiffStat, Vec<String>)> {
        let diff = self.diff(from, to)?;
        let stats = diff.stats()?;
        let files = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.display().to_string())
            .collect();
        Ok((
            DiffStat {
                files_changed: stats.files_changed(),
                insertions: stats.insertions(),
                deletions: stats.deletions(),
            },
            files,
        ))
    }

    /// Whether `path` exists in the tree of commit `at`.
    pub fn exists_at(&self, at: &str, path: &str) -> bool {
        git2::Oid::from_str(at)
            .ok()
            .and_then(|oid| self.repo.find_commit(oid).ok())
            .and_then(|c| c.tree().ok())
            .is_some_and(|t| t.get_path(std::path::Path::new(path)).is_ok())
    }

    pub fn diff_text(&self, from: &str, to: &str) -> Result<String> {
        patch_text(&self.diff(from, to)?)
    }

    fn diff(&self, from: &str, to: &str) -> Result<git2::Diff<'_>> {
        let a = self.repo.find_commit(Oid::from_str(from)?)?.tree()?;
        let b = self.repo.find_commit(Oid::from_str(to)?)?.tree()?;
        Ok(self.repo.diff_tree_to_tree(Some(&a), Some(&b), None)?)
    }

    /// Everything in the tree that `base` does not have, untracked files and commits made
    /// since included.
    pub fn working_patch(&self, base: &str) -> Result<String> {
        let base = self.repo.find_commit(Oid::from_str(base)?)?.tree()?;
        let mut opts = DiffOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .show_untracked_content(true);
        let diff = self
            .repo
            .diff_tree_to_workdir_with_index(Some(&base), Some(&mut opts))?;
        patch_text(&diff)
    }

    /// Moves HEAD to `commit` keeping index and tree: a worker's own commits are folded
    /// into the feature's single commit.
    pub fn reset_soft(&self, commit: &str) -> Result<()> {
        let obj = self.repo.find_object(Oid::from_str(commit)?, None)?;
        self.repo.reset(&obj, ResetType::Soft, None)?;
        Ok(())
    }

    /// Is `commit` `ancestor` itself or built on it?
    pub fn descends_from(&self, commit: &str, ancestor: &str) -> bool {
        let (Ok(c), Ok(a)) = (Oid::from_str(commit), Oid::from_str(ancestor)) else {
            return false;
        };
        c == a || self.repo.graph_descendant_of(c, a).unwrap_or(false)
    }

    /// Resets the branch and the tree to `commit`, removing untracked (not ignored) files.
    pub fn reset_hard(&self, commit: &str) -> Result<()> {
        let obj = self.repo.find_object(Oid::from_str(commit)?, None)?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.force();
        self.repo.reset(&obj, ResetType::Hard, Some(&mut co))?;
        self.remove_untracked()
    }

    /// `git clean -fd`, without touching ignored files (build caches stay).
    fn remove_untracked(&self) -> Result<()> {
        let Some(root) = self.repo.workdir().map(Path::to_path_buf) else {
            return Ok(());
        };
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .include_ignored(false)
            .recurse_untracked_dirs(false);
        let paths: Vec<PathBuf> = self
            .repo
            .statuses(Some(&mut opts))?
            .iter()
            .filter(|e| e.status().contains(git2::Status::WT_NEW))
            .filter_map(|e| e.path().ok().map(PathBuf::from))
            .filter(|p| !is_harness_path(p))
            .map(|p| root.join(p))
            .collect();
        for p in paths {
            if p.is_dir() {
                std::fs::remove_dir_all(&p)?;
            } else {
                std::fs::remove_file(&p)?;
            }
        }
        Ok(())
    }

    pub fn parent_of(&self, commit: &str) -> Option<String> {
        let c = self.repo.find_commit(Oid::from_str(commit).ok()?).ok()?;
        c.parent_id(0).ok().map(|p| p.to_string())
    }

    /// The value of a `Key: value` trailer in a commit's message.
    pub fn trailer(&self, commit: &str, key: &str) -> Option<String> {
        let c = self.repo.find_commit(Oid::from_str(commit).ok()?).ok()?;
        let msg = c.message().ok()?.to_string();
        let prefix = format!("{key}: ");
        msg.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
    }

    pub fn commit_count(&self, from: &str, to: &str) -> Result<usize> {
        let mut walk = self.repo.revwalk()?;
        walk.push(Oid::from_str(to)?)?;
        walk.hide(Oid::from_str(from)?)?;
        Ok(walk.count())
    }
}

fn patch_text(diff: &git2::Diff<'_>) -> Result<String> {
    let mut out = Vec::new();
    diff.print(DiffFormat::Patch, |delta, _, line| {
        if delta
            .new_file()
            .path()
            .or(delta.old_file().path())
            .is_some_and(is_harness_path)
        {
            return true;
        }
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin() as u8);
        }
        out.extend_from_slice(line.content());
        true
    })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Git, String) {
        let d = tempfile::tempdir().unwrap();
        let g = Git::init(d.path()).unwrap();
        std::fs::write(d.path().join("a.txt"), "one\n").unwrap();
        std::fs::write(d.path().join(".gitignore"), "target/\n").unwrap();
        let base = g.commit_all("initial").unwrap();
        (d, g, base)
    }

    #[test]
    fn commit_diff_and_trailer() {
        let (d, g, base) = repo();
        g.checkout_branch("mission/x", &base).unwrap();
        assert_eq!(g.current_branch().as_deref(), Some("mission/x"));
        std::fs::write(d.path().join("a.txt"), "one\ntwo\n").unwrap();
        std::fs::write(d.path().join("b.txt"), "new\n").unwrap();
        std::fs::create_dir_all(d.path().join("target")).unwrap();
        std::fs::write(d.path().join("target/out"), "ignored\n").unwrap();
        let c = g
            .commit_all(&format!("feat\n\n{FEATURE_TRAILER}: m1-f1\n"))
            .unwrap();
        let (stat, files) = g.diff_stat(&base, &c).unwrap();
        assert_eq!(
            stat,
            DiffStat {
                files_changed: 2,
                insertions: 2,
                deletions: 0
            }
        );
        assert_eq!(files, vec!["a.txt".to_string(), "b.txt".to_string()]);
        assert!(g.diff_text(&base, &c).unwrap().contains("+two"));
        assert_eq!(g.trailer(&c, FEATURE_TRAILER).as_deref(), Some("m1-f1"));
        assert_eq!(g.parent_of(&c).as_deref(), Some(base.as_str()));
        assert!(!g.is_dirty().unwrap());
    }

    #[test]
    fn reset_discards_work_but_keeps_ignored_files() {
        let (d, g, base) = repo();
        std::fs::write(d.path().join("a.txt"), "changed\n").unwrap();
        std::fs::write(d.path().join("stray.txt"), "x\n").unwrap();
        std::fs::create_dir_all(d.path().join("target")).unwrap();
        std::fs::write(d.path().join("target/keep"), "cache\n").unwrap();
        assert!(g.is_dirty().unwrap());
        let patch = g.working_patch(&base).unwrap();
        assert!(
            patch.contains("+changed") && patch.contains("stray.txt"),
            "{patch}"
        );
        g.reset_hard(&base).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("a.txt")).unwrap(),
            "one\n"
        );
        assert!(!d.path().join("stray.txt").exists());
        assert!(d.path().join("target/keep").exists());
        assert!(!g.is_dirty().unwrap());
    }

    #[test]
    fn a_gitignore_that_unignores_everything_cannot_touch_the_harness_dirs() {
        let (d, g, base) = repo();
        g.exclude_mission_dir().unwrap();
        std::fs::create_dir_all(d.path().join(".mission")).unwrap();
        std::fs::write(d.path().join(".mission/events.jsonl"), "{}\n").unwrap();
        std::fs::write(d.path().join(".gitignore"), "!.*\n!*\n").unwrap();
        let c = g.commit_all("feature").unwrap();
        let (_, files) = g.diff_stat(&base, &c).unwrap();
        assert_eq!(files, vec![".gitignore".to_string()]);
        std::fs::write(d.path().join("stray"), "x").unwrap();
        assert!(!g.working_patch(&c).unwrap().contains("events.jsonl"));
        g.reset_hard(&base).unwrap();
        assert!(
            d.path().join(".mission/events.jsonl").exists(),
            "the log survives a reset"
        );
        assert!(!d.path().join("stray").exists());
    }

    #[test]
    fn a_workers_own_commits_fold_into_one() {
        let (d, g, base) = repo();
        std::fs::write(d.path().join("x.txt"), "1\n").unwrap();
        let own = g.commit_all("worker ran git commit").unwrap();
        std::fs::write(d.path().join("y.txt"), "2\n").unwrap();
        assert!(g.descends_from(&own, &base));
        assert!(
            g.working_patch(&base).unwrap().contains("x.txt"),
            "the patch covers its commits"
        );
        g.reset_soft(&base).unwrap();
        let c = g.commit_all("feature").unwrap();
        assert_eq!(g.parent_of(&c).as_deref(), Some(base.as_str()));
        assert_eq!(
            g.diff_stat(&base, &c).unwrap().1,
            vec!["x.txt".to_string(), "y.txt".to_string()]
        );
    }

    #[test]
    fn exclude_is_written_once() {
        let (d, g, _) = repo();
        g.exclude_mission_dir().unwrap();
        g.exclude_mission_dir().unwrap();
        let text = std::fs::read_to_string(d.path().join(".git/info/exclude")).unwrap();
        assert_eq!(text.matches(".mission/").count(), 1);
        std::fs::create_dir_all(d.path().join(".mission")).unwrap();
        std::fs::write(d.path().join(".mission/events.jsonl"), "{}\n").unwrap();
        assert!(!g.is_dirty().unwrap());
    }
}
