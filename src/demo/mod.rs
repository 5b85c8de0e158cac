//! `mission demo`: a throwaway git repository holding a small real crate, and a scripted
//! mission on it — real files, real `cargo` runs, real commits, a real failure healed.

mod script;

use std::path::{Path, PathBuf};

use crate::git::Git;
use crate::layout::Layout;

pub const GOAL: &str = "Turn numstat into a working CLI: read numbers from stdin, print count, mean and median, with --json, clear errors and --help";

const PROJECT: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../demo/project/Cargo.toml")),
    ("src/lib.rs", include_str!("../../demo/project/src/lib.rs")),
    (
        "src/main.rs",
        include_str!("../../demo/project/src/main.rs"),
    ),
    ("README.md", include_str!("../../demo/project/README.md")),
    ("AGENTS.md", include_str!("../../demo/project/AGENTS.md")),
    (".gitignore", include_str!("../../demo/project/gitignore")),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} exists and is not empty; give --dir a new or empty directory")]
    NotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// Creates the demo repository and its mission config; returns the repository's path.
pub fn prepare(dir: Option<&Path>, pace_ms: u64) -> Result<PathBuf, DemoError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!(
            "mission-demo-{}",
            jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S")
        )),
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map_err(|source| DemoError::Io {
                path: dir.clone(),
                source,
            })?
            .next()
            .is_some()
    {
        return Err(DemoError::NotEmpty(dir));
    }
    for (name, text) in PROJECT {
        write(&dir.join(name), text)?;
    }
    let git = Git::init(&dir)?;
    git.commit_all("numstat: an empty crate to start from")?;
    git.exclude_mission_dir()?;
    let layout = Layout::new(&dir);
    // The demo's worktree goes beside the throwaway repository, not into the data dir.
    let canonical = dir.canonicalize().map_err(|source| DemoError::Io {
        path: dir.clone(),
        source,
    })?;
    let worktrees = canonical.with_file_name(format!(
        "{}-worktrees",
        canonical.file_name().unwrap_or_default().to_string_lossy()
    ));
    write(
        &layout.config(),
        &config(pace_ms, &worktrees.display().to_string()),
    )?;
    let script = serde_json::to_string_pretty(&script::script()).unwrap_or_default();
    write(&layout.dir.join("demo-script.json"), &script)?;
    Ok(dir)
}

fn config(pace_ms: u64, worktrees: &str) -> String {
    format!(
        r#"# The demo's mission: scripted models, everything else real.
[roles.orchestrator]
provider = "scripted"
model = "demo-orchestrator"

[roles.worker]
provider = "scripted"
model = "demo-worker"

[roles.reviewer]
provider = "scripted"
model = "demo-reviewer"

[roles.user_tester]
provider = "scripted"
model = "demo-tester"

[providers.scripted]
script = "demo-script.json"
pace_ms = {pace_ms}

[validation]
commands = ["cargo test -q"]
max_fix_rounds = 2
command_timeout_secs = 300

[gates]
approve_plan = true

[worktree]
dir = {worktrees:?}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_script_parses_and_its_plan_is_valid() {
        let script: crate::llm::scripted::Script =
            serde_json::from_value(script::script()).unwrap();
        let plan_call = &script.entries[0].turns[1].tool_calls[0];
        assert_eq!(plan_call.name, "submit_plan");
        let plan = crate::agent::tools::submit::parse_plan(&plan_call.arguments).unwrap();
        assert!(plan.feature_count() >= 5);
        assert!(plan.milestones.len() >= 2);
    }

    #[test]
    fn prepare_makes_a_clean_committed_repo() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("demo");
        prepare(Some(&dir), 0).unwrap();
        let git = Git::open(&dir).unwrap();
        assert!(!git.is_dirty().unwrap());
        assert_eq!(git.current_branch().as_deref(), Some("main"));
        crate::config::Config::load(&Layout::new(&dir).config()).unwrap();
        assert!(matches!(
            prepare(Some(&dir), 0),
            Err(DemoError::NotEmpty(_))
        ));
    }
}
