//! The launcher of a mission's commands, built from its layout and config.

use std::sync::Arc;

use crate::config::Config;
use crate::git::Git;
use crate::layout::Layout;
use crate::sandbox::groups::ProcessGroups;
use crate::sandbox::protect::Protected;
use crate::sandbox::{self, Launcher};

/// How every agent, contract and MCP command of a mission starts (the runner's, and the
/// same for `doctor`): confined to the worktree, inside the mission's namespaces where the
/// kernel allows, with an allowlisted environment. The second value says what is not
/// enforced, when something is not.
pub fn command_launcher(layout: &Layout, config: &Config, git: &Git) -> (Launcher, Option<String>) {
    let tmp = layout.work_tmp();
    let _ = std::fs::create_dir_all(&tmp);
    // A mission older than worktrees works in the checkout itself: only its `.git`
    // and `.mission` can be kept out then.
    let protected = if layout.work == layout.repo {
        vec![]
    } else {
        vec![layout.repo.clone(), git.common_dir()]
    };
    let (confine, sandbox_problem) = if config.sandbox.enabled {
        match sandbox::confinement(&layout.work, &tmp, &config.sandbox.writable, &protected) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    let (confine, isolation, isolation_problem) = sandbox::isolate(
        confine,
        sandbox::IsolationRequest {
            network: config.sandbox.network,
            limits: config.sandbox.limits(),
            // The git dir (git works in the worktree), and this program's own directory,
            // which may lie under an emptied /tmp (a build tree).
            read: std::iter::once(git.common_dir())
                .chain(
                    std::env::current_exe()
                        .ok()
                        .and_then(|e| e.parent().map(std::path::Path::to_path_buf)),
                )
                // External agents a role uses, installed under an emptied directory
                // (`/tmp/tools`).
                .chain(
                    crate::mission::Role::ALL
                        .into_iter()
                        .filter_map(|r| config.role(r)?.agent.as_ref())
                        .filter_map(|name| config.agents.get(name))
                        .flat_map(|a| a.command.iter())
                        .filter_map(|arg| {
                            let path = std::path::Path::new(arg).canonicalize().ok()?;
                            sandbox::init::hidden_root(&path)
                        }),
                )
                .collect(),
            hide: vec![layout.dir.clone()],
        },
    );
    let sandbox_problem = match (sandbox_problem, isolation_problem) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    // Without Landlock the harness checks, after every command, what it cannot keep
    // commands from writing: the repository's git control files and `.mission/`.
    let mut protect = Protected::worktree_link(&layout.work, git.own_link());
    if confine.is_none() {
        let git_dir = git.common_dir();
        protect = protect.with_repository(&git_dir, &layout.dir);
    }
    let launcher = Launcher {
        confine,
        env_pass: config.sandbox.env_pass.clone(),
        never: config.secret_env_names(),
        env: vec![
            ("TMPDIR".into(), tmp.clone().into()),
            ("XDG_CACHE_HOME".into(), tmp.join("cache").into()),
        ],
        network: config.sandbox.network,
        protect: Some(Arc::new(protect)),
        groups: Some(Arc::new(ProcessGroups::new(layout.process_groups()))),
        isolation,
    };
    (launcher, sandbox_problem)
}
