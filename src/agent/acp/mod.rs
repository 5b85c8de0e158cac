//! An external coding agent (Codex, Claude Code, Gemini CLI…) playing a role, over the
//! Agent Client Protocol: the mission is the client. The agent runs inside the mission's
//! sandbox with the role's confinement (a worker may write the worktree; a reviewer may
//! not), its cwd the worktree, in a fresh session per run (clean context, like built-in
//! roles), given the same task text. Its `session/update`s go to the transcript and the
//! activity feed; its `fs/*` requests are served inside the worktree only; its permission
//! requests are answered by `[agents.<name>] permissions`. The role's ending tool is
//! offered on an MCP server of the mission's own (`ending.rs`); an agent that ends its
//! turn without calling it is asked once, and a worker's handoff is then written by the
//! harness from its last message. Pause and abort send `session/cancel`; the agent's
//! whole process group ends with the run.

mod beneath;
pub mod ending;
mod observed;
mod probe;
mod requests;
mod rpc;
mod session;

pub use probe::probe;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{AgentError, AgentResult, AgentRun, Vet};
use crate::config::agents::AgentConfig;
use rpc::Connection;

/// The external agent a run uses, and what it needs from the runner.
#[derive(Debug, Clone)]
pub struct External {
    pub name: String,
    pub config: AgentConfig,
    /// This program: the agent starts `mission acp-ending` as its MCP server.
    pub exe: PathBuf,
    /// A writable place inside the sandbox for the ending tool's arguments.
    pub scratch: PathBuf,
}

const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of the agent's stderr kept for an error that ends its run.
const STDERR_TAIL: usize = 12;

fn unavailable(name: &str, what: String) -> AgentError {
    AgentError::External {
        agent: name.to_string(),
        message: what,
    }
}

/// The agent's process, its group ended on drop.
struct Process {
    child: Option<tokio::process::Child>,
    pgid: Option<u32>,
    groups: Option<std::sync::Arc<crate::sandbox::groups::ProcessGroups>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        // Adapters do not exit when their input closes, and leave native children
        // behind: the whole group goes.
        if let Some(pgid) = self.pgid {
            crate::sandbox::groups::kill_process_group(pgid);
            if let Some(g) = &self.groups {
                g.remove(pgid);
            }
        }
        if let Some(c) = &mut self.child {
            let _ = c.start_kill();
        }
    }
}

fn spawn(run: &AgentRun<'_>, ext: &External) -> Result<Process, AgentError> {
    // The role's own launcher: write confinement for a worker, none for a judge. A role
    // that may run no command here (no sandbox on this machine) gets no agent either: an
    // agent runs commands as it likes, and only the sandbox bounds it.
    let Some(launcher) = run.toolbox.commands.clone() else {
        return Err(unavailable(
            &ext.name,
            format!(
                "the {} may run no command here (the sandbox is not in force: see `mission doctor`), so no external agent can play it",
                run.role
            ),
        ));
    };
    start(&launcher, &run.toolbox.root, &ext.config).map_err(|e| unavailable(&ext.name, e))
}

/// Starts the agent as a mission does: through `launcher` (the role's confinement, the
/// mission's namespaces) with the host's network unless it says otherwise, in `cwd`,
/// with the allowlisted environment, its settings and its keys by name.
fn start(
    launcher: &crate::sandbox::Launcher,
    cwd: &std::path::Path,
    config: &AgentConfig,
) -> Result<Process, String> {
    let mut launcher = launcher.clone();
    let host_network = config.network.unwrap_or(true);
    if host_network
        && !launcher.network
        && let Some(c) = launcher.confine.as_mut()
    {
        // Out of the sandbox's network namespace it would meet the host's abstract unix
        // sockets (X11, D-Bus): Landlock scopes them out (Linux 6.12+), with a ruleset of
        // its own.
        c.scopes.abstract_sockets = true;
        c.ruleset = Default::default();
    }
    launcher.network = host_network;
    let mut env = launcher.child_env();
    for (k, v) in &config.env {
        env.push((k.into(), v.into()));
    }
    for name in &config.env_pass {
        let value = std::env::var_os(name).ok_or_else(|| {
            format!("`{name}` (env_pass) is not set in the runner's environment: export it")
        })?;
        env.push((name.into(), value));
    }
    let Some(program) = config.command.first() else {
        return Err("no command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&config.command[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    launcher
        .set_up_child(&mut cmd, cwd)
        .map_err(|e| format!("cannot confine it: {e}"))?;
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", config.command.join(" ")))?;
    let pgid = child.id();
    if let (Some(g), Some(pid)) = (&launcher.groups, pgid) {
        g.add(pid);
    }
    Ok(Process {
        child: Some(child),
        pgid,
        groups: launcher.groups.clone(),
    })
}

/// What the mission offers an agent in `initialize`: files through `fs/*` (written only
/// by a role that may write), no terminals.
fn initialize_params(may_write: bool) -> serde_json::Value {
    serde_json::json!({
        "protocolVersion": 1,
        "clientCapabilities": {
            "fs": {"readTextFile": true, "writeTextFile": may_write},
            "terminal": false
        },
        "clientInfo": {"name": "mission", "version": env!("CARGO_PKG_VERSION")}
    })
}

/// The last lines an agent wrote on stderr, and when the last came.
#[derive(Default)]
pub struct Tail {
    pub lines: std::collections::VecDeque<String>,
    pub last: Option<std::time::Instant>,
}

pub type StderrTail = std::sync::Arc<std::sync::Mutex<Tail>>;

/// Reads the agent's stderr to its end, keeping its last lines with the values of its
/// keys (`env_pass`) blotted out: they may reach the log and the console in an error.
fn keep_tail(stderr: Option<tokio::process::ChildStderr>, config: &AgentConfig) -> StderrTail {
    let tail = StderrTail::default();
    let Some(stderr) = stderr else {
        return tail;
    };
    let secrets: Vec<String> = config
        .env_pass
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .filter(|v| v.len() >= 4)
        .collect();
    let kept = tail.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(mut l)) = lines.next_line().await {
            for s in &secrets {
                l = l.replace(s.as_str(), "[key]");
            }
            tracing::debug!("agent: {l}");
            let mut t = kept.lock().unwrap_or_else(|p| p.into_inner());
            if t.lines.len() == STDERR_TAIL {
                t.lines.pop_front();
            }
            t.lines.push_back(l.chars().take(300).collect());
            t.last = Some(std::time::Instant::now());
        }
    });
    tail
}

/// Runs one session of the external agent to its ending call.
pub async fn run<T: Sync>(
    run: &AgentRun<'_>,
    ext: &External,
    parse: impl Fn(&Value) -> Result<T, String>,
    vet: &dyn Vet<T>,
) -> Result<AgentResult<T>, AgentError> {
    // An external agent's own spending is not known: the budget is checked only here,
    // between runs.
    run.may_go_on().await?;
    let mut process = spawn(run, ext)?;
    let Some(mut child) = process.child.take() else {
        return Err(unavailable(&ext.name, "no process".into()));
    };
    let (Some(stdin), Some(stdout), stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(unavailable(&ext.name, "no stdio".into()));
    };
    // Its exit, which closes nothing when a child of its own holds its output open.
    let (exited_tx, exited) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = exited_tx.send(Some(match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        }));
    });
    let tail = keep_tail(stderr, &ext.config);
    let (conn, incoming) = Connection::start(stdin, stdout);
    let mut session = session::Session {
        run,
        ext,
        conn: std::sync::Arc::new(conn),
        incoming,
        id: String::new(),
        seen: Default::default(),
        stderr: tail,
        exited,
        cancelled: false,
        confined: run
            .toolbox
            .commands
            .as_ref()
            .is_some_and(|l| l.confine.is_some()),
    };
    let result = session.drive(parse, vet).await;
    drop(process);
    result
}
