//! What commands must not change even where they can write: the worktree's `.git` link
//! file (inside the writable worktree, so no Landlock rule can keep it out of reach), and —
//! where the kernel cannot confine commands at all — the repository's git control files
//! (config, hooks, refs, HEAD) and `.mission/`. Checked after every command; whatever
//! changed is put back and reported, so the harness can record a finding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files bigger than this are not kept in a snapshot (none of the protected ones is).
const MAX_KEPT: u64 = 4 << 20;

#[derive(Debug, Default)]
pub struct Protected {
    /// The worktree's `.git` file and what it must hold.
    link: Option<(PathBuf, Vec<u8>)>,
    /// Snapshotted before and compared after each command (no Landlock).
    roots: Vec<PathBuf>,
    /// Names under `roots` that change legitimately while commands run (the log, the
    /// index, locks): never snapshotted.
    skip: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Link(PathBuf),
}

/// The protected places as they were before a command.
#[derive(Debug, Default)]
pub struct Snapshot(BTreeMap<PathBuf, Entry>);

impl Protected {
    /// Guards the worktree's link file at `work/.git`, which must hold `link` (what git
    /// wrote, never what is on disk now: a command may have changed it).
    pub fn worktree_link(work: &Path, link: Option<String>) -> Protected {
        Protected {
            link: link.map(|l| (work.join(".git"), l.into_bytes())),
            ..Protected::default()
        }
    }

    /// Also snapshots, around every command, the git control files of the repository
    /// whose shared git dir is `git_dir`, and `mission_dir`: for a kernel without Landlock.
    pub fn with_repository(mut self, git_dir: &Path, mission_dir: &Path) -> Protected {
        for name in [
            "config",
            "HEAD",
            "packed-refs",
            "hooks",
            "info",
            "refs",
            "worktrees",
        ] {
            self.roots.push(git_dir.join(name));
        }
        self.roots.push(mission_dir.to_path_buf());
        self.skip = vec![
            "index",
            "events.jsonl",
            "events.jsonl.torn",
            "transcripts",
            "patches",
            "logs",
            "tmp",
            "runner.log",
            "pgroups",
            "pgroups.tmp",
            "lock",
            "control.sock",
            "logs",
        ];
        self
    }

    /// Whether the protected places are snapshotted around commands (no Landlock).
    pub fn snapshots(&self) -> bool {
        !self.roots.is_empty()
    }

    pub fn before(&self) -> Snapshot {
        let mut map = BTreeMap::new();
        for root in &self.roots {
            self.collect(root, &mut map);
        }
        Snapshot(map)
    }

    fn collect(&self, path: &Path, map: &mut BTreeMap<PathBuf, Entry>) {
        let skipped = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| self.skip.contains(&n) || n.ends_with(".lock"));
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if skipped {
            return;
        }
        if meta.is_symlink() {
            if let Ok(t) = std::fs::read_link(path) {
                map.insert(path.to_path_buf(), Entry::Link(t));
            }
        } else if meta.is_dir() {
            map.insert(path.to_path_buf(), Entry::Dir);
            if let Ok(rd) = std::fs::read_dir(path) {
                for e in rd.flatten() {
                    self.collect(&e.path(), map);
                }
            }
        } else if meta.len() <= MAX_KEPT
            && let Ok(bytes) = std::fs::read(path)
        {
            map.insert(path.to_path_buf(), Entry::File(bytes));
        }
    }

    /// Puts back whatever a command changed; returns what that was, for a finding.
    pub fn restore(&self, before: &Snapshot) -> Vec<String> {
        let mut restored = vec![];
        if let Some((path, bytes)) = &self.link {
            let intact = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
                && std::fs::read(path).is_ok_and(|b| &b == bytes);
            if !intact && replace_file(path, bytes).is_ok() {
                restored.push(format!(
                    "{} (the worktree's link to the repository)",
                    path.display()
                ));
            }
        }
        if self.roots.is_empty() {
            return restored;
        }
        let after = self.before();
        // Added: removed, deepest first.
        for path in after.0.keys().rev() {
            if !before.0.contains_key(path) {
                remove_any(path);
                restored.push(format!("{} (added)", path.display()));
            }
        }
        for (path, entry) in &before.0 {
            if after.0.get(path) == Some(entry) {
                continue;
            }
            remove_any_but_dir(path, entry);
            let ok = match entry {
                Entry::Dir => std::fs::create_dir_all(path).is_ok(),
                Entry::File(bytes) => replace_file(path, bytes).is_ok(),
                Entry::Link(target) => std::os::unix::fs::symlink(target, path).is_ok(),
            };
            if ok && !matches!((entry, after.0.get(path)), (Entry::Dir, Some(Entry::Dir))) {
                restored.push(path.display().to_string());
            }
        }
        restored
    }
}

/// Puts `bytes` at `path` whatever is there now (a directory, a symlink), never writing
/// through a symlink: the file is created anew, refusing to follow or reuse anything.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::read(path).is_ok_and(|b| b == bytes)
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
    {
        return Ok(());
    }
    remove_any(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(bytes)
}

fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

fn remove_any_but_dir(path: &Path, wanted: &Entry) {
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if !(is_dir && *wanted == Entry::Dir) {
        remove_any(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worktree_link_is_put_back_whatever_replaced_it() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".git"), "gitdir: /r/.git/worktrees/x\n").unwrap();
        let p = Protected::worktree_link(d.path(), Some("gitdir: /r/.git/worktrees/x\n".into()));
        assert!(!p.snapshots());
        let snap = p.before();
        assert!(p.restore(&snap).is_empty(), "nothing changed");
        std::fs::remove_file(d.path().join(".git")).unwrap();
        std::fs::create_dir_all(d.path().join(".git/hooks")).unwrap();
        let what = p.restore(&snap);
        assert_eq!(what.len(), 1, "{what:?}");
        assert_eq!(
            std::fs::read_to_string(d.path().join(".git")).unwrap(),
            "gitdir: /r/.git/worktrees/x\n"
        );
        std::fs::remove_file(d.path().join(".git")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join(".git")).unwrap();
        assert_eq!(p.restore(&snap).len(), 1);
        assert!(d.path().join(".git").is_file());
    }

    #[test]
    fn without_landlock_git_control_files_and_the_record_are_restored() {
        let d = tempfile::tempdir().unwrap();
        let (git, mission) = (d.path().join(".git"), d.path().join(".mission"));
        std::fs::create_dir_all(git.join("hooks")).unwrap();
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::create_dir_all(&mission).unwrap();
        std::fs::write(git.join("config"), "[core]\n").unwrap();
        std::fs::write(git.join("refs/heads/main"), "abc\n").unwrap();
        std::fs::write(git.join("index"), "binary").unwrap();
        std::fs::write(mission.join("contract.json"), "{\"a\":1}").unwrap();
        std::fs::write(mission.join("events.jsonl"), "{}\n").unwrap();
        let p = Protected::worktree_link(d.path(), None).with_repository(&git, &mission);
        assert!(p.snapshots());
        let snap = p.before();
        std::fs::write(git.join("config"), "[core]\nfsmonitor = evil\n").unwrap();
        std::fs::write(git.join("hooks/pre-commit"), "#!/bin/sh\nevil\n").unwrap();
        std::fs::remove_file(git.join("refs/heads/main")).unwrap();
        std::fs::write(mission.join("contract.json"), "{}").unwrap();
        // Changed legitimately while a command runs: not ours to restore.
        std::fs::write(git.join("index"), "new").unwrap();
        std::fs::write(mission.join("events.jsonl"), "{}\n{}\n").unwrap();
        let what = p.restore(&snap);
        assert_eq!(what.len(), 4, "{what:?}");
        assert_eq!(
            std::fs::read_to_string(git.join("config")).unwrap(),
            "[core]\n"
        );
        assert!(!git.join("hooks/pre-commit").exists());
        assert_eq!(
            std::fs::read_to_string(git.join("refs/heads/main")).unwrap(),
            "abc\n"
        );
        assert_eq!(
            std::fs::read_to_string(mission.join("contract.json")).unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(std::fs::read_to_string(git.join("index")).unwrap(), "new");
        assert!(p.restore(&p.before()).is_empty());
    }
}
