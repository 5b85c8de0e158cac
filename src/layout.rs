//! Where everything lives under `.mission/` in the target repository.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    /// The human's checkout, which holds `.mission/`.
    pub repo: PathBuf,
    pub dir: PathBuf,
    /// Where agents, commands, validators and the watcher work: the mission's own
    /// worktree once a runner set it up (the checkout itself for a mission older than
    /// worktrees).
    pub work: PathBuf,
}

impl Layout {
    pub fn new(repo: &Path) -> Self {
        Layout {
            repo: repo.to_path_buf(),
            dir: repo.join(".mission"),
            work: repo.to_path_buf(),
        }
    }

    /// The commands' private temp dir.
    pub fn work_tmp(&self) -> PathBuf {
        if self.work == self.repo {
            self.dir.join("tmp")
        } else {
            temp_dir(&self.work)
        }
    }
    /// Process groups of running commands, so that a resumed runner can end what a dead
    /// one left running.
    pub fn process_groups(&self) -> PathBuf {
        self.dir.join("pgroups")
    }
    pub fn events(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    /// A cache of the folded state (see `checkpoint`).
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }
    /// The runner's diagnostic log (`runner.log`, rotated).
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("mission.toml")
    }
    pub fn contract_json(&self) -> PathBuf {
        self.dir.join("contract.json")
    }
    pub fn contract_md(&self) -> PathBuf {
        self.dir.join("contract.md")
    }
    /// The plan and contract awaiting approval; `contract.*` appear only once frozen.
    pub fn proposal(&self) -> PathBuf {
        self.dir.join("proposal.md")
    }
    pub fn handoff(&self, feature_id: &str) -> PathBuf {
        self.dir.join("handoffs").join(format!("{feature_id}.json"))
    }
    pub fn transcript(&self, run_id: &str) -> PathBuf {
        self.dir.join("transcripts").join(format!("{run_id}.jsonl"))
    }
    pub fn patches(&self) -> PathBuf {
        self.dir.join("patches")
    }
    pub fn report(&self) -> PathBuf {
        self.dir.join("report.md")
    }
    pub fn prompts(&self) -> PathBuf {
        self.dir.join("prompts")
    }

    /// Creates `.mission/` and its folders, readable by their owner only: transcripts and
    /// handoffs quote code, commands and their output.
    pub fn create_dirs(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let private = || std::fs::Permissions::from_mode(0o700);
        std::fs::create_dir_all(&self.dir)?;
        std::fs::set_permissions(&self.dir, private())?;
        for d in ["handoffs", "transcripts", "patches"] {
            std::fs::create_dir_all(self.dir.join(d))?;
            std::fs::set_permissions(self.dir.join(d), private())?;
        }
        Ok(())
    }
}

/// The commands' private temp dir, beside the worktree: not in it (it would show in the
/// tree and in diffs), not the shared `/tmp` (where other users' files and, often,
/// throwaway repositories live).
pub fn temp_dir(worktree: &Path) -> PathBuf {
    let name = worktree
        .file_name()
        .map_or_else(|| "work".into(), |n| n.to_string_lossy().into_owned());
    worktree.with_file_name(format!(".{name}.tmp"))
}
