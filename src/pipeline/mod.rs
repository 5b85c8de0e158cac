//! The mission loop: ask the domain what comes next (`MissionState::next_step`), do it
//! with the right role, record what happened. Roles live in their own files.

mod baseline;
mod launcher;
mod notifier;
mod orchestrator;
pub use launcher::command_launcher;
pub mod prompts;
mod report;
pub mod setup;
pub mod validate;
mod worker;

use std::sync::{Arc, Mutex};

use crate::agent::mcp::{McpServers, McpTools};
use crate::agent::tools::{Access, Toolbox};
use crate::config::Config;
use crate::git::{Git, GitError};
use crate::hub::Hub;
use crate::layout::Layout;
use crate::llm::LlmClient;
use crate::mission::{Event, Gate, Limits, Policy, Role, Step};
use crate::sandbox::Launcher;
use crate::store::StoreError;

pub use crate::llm::factory::Clients;
pub use prompts::Prompts;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Git(#[from] GitError),
    /// A harness file (contract, handoff, report, patch) could not be written.
    #[error("{path}: {source}; free space or fix the permissions")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

pub use crate::mission::Outcome;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Gates pass by themselves; anything else that needs a human ends the run (exit 3).
    pub auto_approve: bool,
}

/// Paths listed in one `files_changed` event; the rest are counted.
const MAX_PATHS_PER_EVENT: usize = 100;

pub struct Runner {
    pub hub: Hub,
    pub layout: Layout,
    pub config: Config,
    pub mode: Mode,
    git: Arc<Mutex<Git>>,
    pub(crate) clients: Clients,
    prompts: Prompts,
    policy: Policy,
    limits: Limits,
    /// How every agent and contract command starts.
    pub(crate) launcher: Launcher,
    /// Why commands run unconfined although the config asks for the sandbox.
    pub sandbox_problem: Option<String>,
    /// Context windows of the models, learned ones included: shared by every agent.
    windows: crate::agent::context::Windows,
    /// The configured MCP servers, started on first use.
    pub mcp: Arc<McpServers>,
}

impl Runner {
    pub fn new(
        hub: Hub,
        layout: Layout,
        config: Config,
        git: Git,
        clients: Clients,
        mode: Mode,
    ) -> Self {
        let windows = crate::agent::context::Windows::new(
            config
                .models
                .iter()
                .filter_map(|(m, c)| Some((m.clone(), c.context_window?)))
                .collect(),
        );
        let prompts = Prompts::load(&layout.prompts());
        let policy = config.policy();
        let limits = config.limits();
        let (launcher, sandbox_problem) = command_launcher(&layout, &config, &git);
        tracing::info!(
            sandbox = %launcher.describe(),
            problem = sandbox_problem.as_deref().unwrap_or(""),
            "sandbox set up"
        );
        let mcp = Arc::new(McpServers::new(
            &config.mcp.servers,
            launcher.clone(),
            layout.work.clone(),
            config.limits.output_cap_bytes,
        ));
        Runner {
            mcp,
            hub,
            layout,
            config,
            mode,
            git: Arc::new(Mutex::new(git)),
            clients,
            prompts,
            policy,
            limits,
            launcher,
            sandbox_problem,
            windows,
        }
    }

    /// One line on how commands are confined, for the start of a run.
    pub fn sandbox_note(&self) -> String {
        match &self.sandbox_problem {
            Some(p) if self.launcher.confine.is_none() => format!(
                "sandbox: {p}; {}; instead, .git and .mission/ are checked after every command and restored",
                self.launcher.describe()
            ),
            Some(p) => format!("sandbox: {}; {p}", self.launcher.describe()),
            None => format!("sandbox: {}", self.launcher.describe()),
        }
    }

    /// Ends every command and MCP server still running (the runner is stopping), and
    /// with the sandbox's namespaces whatever they started in the background.
    pub fn end_commands(&self) {
        if let Some(g) = &self.launcher.groups {
            g.kill_all();
        }
        if let Some(iso) = &self.launcher.isolation {
            iso.end();
        }
    }

    /// Runs git work; never held across an await.
    fn git<R>(&self, f: impl FnOnce(&Git) -> R) -> R {
        let g = self.git.lock().unwrap_or_else(|p| p.into_inner());
        f(&g)
    }

    fn client(&self, role: Role) -> Result<&dyn LlmClient, RunError> {
        self.clients
            .get(&role)
            .map(|c| c.as_ref())
            .ok_or_else(|| RunError::Other(format!("no model configured for the {role}")))
    }

    /// The tools of an agent of `role`: the built-in ones `access` allows, and those of
    /// the MCP servers the role has (started now if not yet; a failure is recorded).
    async fn toolbox(&self, role: Role, access: Access) -> Toolbox {
        let mcp = if self.mcp.is_empty() {
            None
        } else {
            let offer = self.mcp.offer(role).await;
            for (server, error) in offer.failed {
                if let Err(e) = self.hub.emit(Event::McpServerFailed { server, error }) {
                    tracing::warn!(error = %e, "could not record an MCP failure");
                }
            }
            Some(McpTools {
                servers: self.mcp.clone(),
                specs: offer.specs,
            })
        };
        // Roles that judge or plan may run commands only where nothing they run can
        // change the repository; their scratch space is their own TMPDIR.
        let read_only = matches!(access, Access::ReadAndRun | Access::Test)
            .then(|| {
                let scratch = self.layout.work_tmp();
                std::fs::create_dir_all(&scratch)
                    .ok()
                    .and_then(|()| self.launcher.read_only(&self.layout.work, &scratch))
            })
            .flatten();
        let commands = match access {
            Access::Write => Some(self.launcher.clone()),
            _ => read_only.clone(),
        };
        Toolbox {
            root: self.layout.work.clone(),
            access,
            commands,
            default_timeout: std::time::Duration::from_secs(
                self.config.validation.command_timeout_secs,
            ),
            output_cap: self.config.limits.output_cap_bytes,
            sessions: (access == Access::Test).then(|| {
                // The program under test is confined like the tester's commands; only
                // where the kernel cannot confine does it run as the user would run it.
                crate::agent::tools::pty::Sessions::new(
                    self.layout.work.clone(),
                    read_only.clone().unwrap_or_else(|| self.launcher.clone()),
                )
            }),
            mcp,
        }
    }

    /// An agent run of `role` with the role's prompt `system` and the runner's limits;
    /// callers set `feature_id` or `step_tool` when they need them.
    fn agent<'a>(
        &'a self,
        role: Role,
        run_id: &str,
        system: &str,
        task: String,
        toolbox: &'a Toolbox,
        ending: crate::llm::ToolSpec,
    ) -> Result<crate::agent::AgentRun<'a>, RunError> {
        Ok(crate::agent::AgentRun {
            hub: &self.hub,
            llm: self.client(role)?,
            role,
            run_id: run_id.to_string(),
            system: self.prompts.get(system).to_string(),
            task,
            feature_id: None,
            toolbox,
            ending,
            max_turns: self.config.limits.max_turns,
            limits: &self.limits,
            transcript: self.layout.transcript(run_id),
            step_tool: None,
            windows: &self.windows,
            external: self.external(role),
        })
    }

    /// The external agent that plays `role`, when its config names one.
    fn external(&self, role: Role) -> Option<crate::agent::acp::External> {
        let name = self.config.role(role)?.agent.clone()?;
        Some(crate::agent::acp::External {
            config: self.config.agents.get(&name).cloned()?,
            name,
            exe: std::env::current_exe().ok()?,
            scratch: self.layout.work_tmp(),
        })
    }

    fn run_id(&self, role: Role, what: &str) -> String {
        let seq = self.hub.read(|s| s.last_seq) + 1;
        format!("{}-{what}-{seq}", role.as_str())
    }

    /// Runs the mission until it is done or needs a human who is not there, recording
    /// changes to the working tree as they happen.
    pub async fn run(&self) -> Result<Outcome, RunError> {
        let hub = self.hub.clone();
        // Best effort: a tree the watcher cannot watch still gets its mission run.
        let watch = |on: &std::path::Path| {
            crate::watch::watch(on, move |mut paths| {
                // A batch arriving as the mission ends belongs to no step.
                if hub.read(|s| s.completed.is_some() || s.failed.is_some()) {
                    return;
                }
                // One event stays one readable line, whatever was generated.
                let more = paths.len().saturating_sub(MAX_PATHS_PER_EVENT);
                paths.truncate(MAX_PATHS_PER_EVENT);
                let _ = hub.emit(Event::FilesChanged { paths, more });
            })
        };
        let _watcher = (!crate::failpoint::watcher_off())
            .then(|| watch(&self.layout.work).ok())
            .flatten();
        let notifier = self.notifier();
        let result = self.steps().await;
        if let Some((stop, task)) = notifier {
            let _ = stop.send(());
            // Long enough for the last notices (each command has 10 s).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(25), task).await;
        }
        result
    }

    async fn steps(&self) -> Result<Outcome, RunError> {
        loop {
            let step = self.hub.read(|s| s.next_step(&self.policy));
            match step {
                Step::Done => return Ok(self.outcome()),
                Step::WaitForHuman => {
                    if let Some(outcome) = self.wait_for_human().await {
                        return Ok(outcome);
                    }
                }
                Step::Plan => {
                    if let Some(o) = self.pause_on(orchestrator::plan(self).await)? {
                        return Ok(o);
                    }
                }
                Step::AskPlanApproval => {
                    if !self.config.gates.approve_plan || self.mode.auto_approve {
                        self.hub.emit(Event::GateApproved {
                            gate: Gate::Plan,
                            auto: true,
                        })?;
                    } else {
                        report::write_proposal(self)?;
                        // What approving lets the agents do: the network is the one wall
                        // a human may want to know about before saying yes.
                        let network = match (&self.launcher.isolation, self.launcher.network) {
                            (_, true) => "commands may use the network ([sandbox] network = true)",
                            (Some(_), false) => {
                                "commands get no network, loopback only ([sandbox] network = true turns it on)"
                            }
                            (None, false) => {
                                "commands get loopback only ([sandbox] network = false)"
                            }
                        };
                        let passing = self.hub.read(|s| s.already_passing().join(", "));
                        let passing = match passing.is_empty() {
                            true => String::new(),
                            false => format!("; already passing before any work: {passing}"),
                        };
                        self.hub.emit(Event::GateOpened {
                            gate: Gate::Plan,
                            reason: format!(
                                "the plan and its contract await approval; {network}{passing}"
                            ),
                        })?;
                    }
                }
                Step::AskAmendment { milestone } => {
                    let gate = Gate::Amendment { milestone };
                    if self.mode.auto_approve {
                        self.hub.emit(Event::GateApproved { gate, auto: true })?;
                    } else {
                        let reason = "the orchestrator proposes to amend the contract".to_string();
                        self.hub.emit(Event::GateOpened { gate, reason })?;
                    }
                }
                Step::FreezeContract => {
                    let n = report::write_contract(self)?;
                    self.hub.emit(Event::ContractFrozen { assertions: n })?;
                }
                Step::RunFeature { milestone, feature } => {
                    if let Some(o) = self.pause_on(worker::run(self, &milestone, &feature).await)? {
                        return Ok(o);
                    }
                }
                Step::Validate { milestone, round } => {
                    if let Some(o) = self.pause_on(validate::run(self, &milestone, round).await)? {
                        return Ok(o);
                    }
                }
                Step::Fix { milestone, round } => {
                    if let Some(o) =
                        self.pause_on(orchestrator::fix(self, &milestone, round).await)?
                    {
                        return Ok(o);
                    }
                }
                Step::AskMilestoneApproval { milestone } => {
                    let gate = Gate::Milestone { milestone };
                    if self.mode.auto_approve {
                        self.hub.emit(Event::GateApproved { gate, auto: true })?;
                    } else {
                        self.hub.emit(Event::GateOpened {
                            gate,
                            reason: "the milestone passed validation and awaits approval".into(),
                        })?;
                    }
                }
                Step::PassMilestone { milestone } => {
                    self.hub.emit(Event::MilestonePassed {
                        milestone,
                        overridden: false,
                    })?;
                }
                Step::Escalate { gate, reason } => {
                    self.hub.emit(Event::GateOpened { gate, reason })?;
                }
                Step::Finish => {
                    let path = report::write_report(self)?;
                    self.hub.emit(Event::MissionCompleted { report: path })?;
                }
            }
        }
    }

    fn outcome(&self) -> Outcome {
        self.hub.read(|s| match (&s.completed, &s.failed) {
            (Some(report), _) => Outcome::Completed {
                report: report.clone(),
            },
            (_, Some(reason)) => Outcome::Failed {
                reason: reason.clone(),
            },
            _ => Outcome::NeedsHuman {
                reason: "unknown".into(),
            },
        })
    }

    /// With nobody to ask (`--auto-approve`), a gate or a pause ends the run; otherwise
    /// wait for `mission approve` / `reject` / `unpause` over the control socket.
    async fn wait_for_human(&self) -> Option<Outcome> {
        let (gate, paused) = self.hub.read(|s| (s.gate.clone(), s.paused.clone()));
        if self.mode.auto_approve {
            if let Some((gate, reason)) = gate {
                return Some(Outcome::NeedsHuman {
                    reason: format!("{gate}: {reason}"),
                });
            }
            // A human's own pause is theirs to end (`mission unpause`), whoever started
            // the run: wait for it instead of exiting.
            if let Some(reason) = paused.filter(|r| r != crate::mission::op::HUMAN_PAUSE) {
                return Some(Outcome::NeedsHuman { reason });
            }
        }
        self.hub
            .wait_until(|s| {
                s.gate.is_none() && s.paused.is_none()
                    || s.completed.is_some()
                    || s.failed.is_some()
            })
            .await;
        None
    }

    /// Turns a step's stop (budget, provider down) into a pause instead of a crash.
    fn pause_on(&self, r: Result<(), StepStop>) -> Result<Option<Outcome>, RunError> {
        match r {
            Ok(()) => Ok(None),
            Err(StepStop::Fatal(e)) => Err(e),
            // Abandoned meanwhile: nothing to pause, the loop ends the run.
            Err(StepStop::Pause(_)) if self.hub.read(|s| s.failed.is_some()) => Ok(None),
            Err(StepStop::Pause(reason)) => {
                self.hub.emit(Event::Paused {
                    reason: reason.clone(),
                })?;
                if self.mode.auto_approve {
                    Ok(Some(Outcome::NeedsHuman { reason }))
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// Why a step stopped early.
#[derive(Debug)]
pub(crate) enum StepStop {
    /// The mission should pause and tell the human (budget reached, provider failing).
    Pause(String),
    Fatal(RunError),
}

impl From<StoreError> for StepStop {
    fn from(e: StoreError) -> Self {
        StepStop::Fatal(e.into())
    }
}

impl From<GitError> for StepStop {
    fn from(e: GitError) -> Self {
        StepStop::Fatal(e.into())
    }
}

impl From<RunError> for StepStop {
    fn from(e: RunError) -> Self {
        StepStop::Fatal(e)
    }
}

impl From<crate::agent::AgentError> for StepStop {
    fn from(e: crate::agent::AgentError) -> Self {
        use crate::agent::AgentError;
        match e {
            AgentError::Store(s) => StepStop::Fatal(s.into()),
            AgentError::Budget(r) => StepStop::Pause(r),
            AgentError::Abandoned => StepStop::Pause("the mission was abandoned".into()),
            AgentError::Llm(l) => StepStop::Pause(format!(
                "model call failed: {l}; fix the cause, then `mission resume`"
            )),
            AgentError::External { .. } => StepStop::Pause(format!(
                "{e}; fix the cause (`mission doctor` starts each agent), then `mission resume`"
            )),
            AgentError::Stuck { .. } => StepStop::Pause(format!(
                "an agent got {e}; steer it with `mission say`, then `mission resume`"
            )),
            AgentError::MaxTurns { turns: n, .. } => StepStop::Pause(format!(
                "an agent made {n} model calls without finishing; raise [limits] max_turns or steer it, then `mission resume`"
            )),
        }
    }
}

/// AGENTS.md of the repository, given to every agent.
pub(crate) fn agents_md(layout: &Layout) -> String {
    match std::fs::read_to_string(layout.work.join("AGENTS.md")) {
        Ok(t) => format!("## AGENTS.md (the repository's instructions for agents)\n{t}\n\n"),
        Err(_) => String::new(),
    }
}
