//! `mission.toml`: the repo's `.mission/mission.toml` merged over the user's
//! `$XDG_CONFIG_HOME/mission/config.toml`. Unknown keys and bad values are errors that
//! name the file, line and key.

pub mod agents;
mod check;
mod source;

use source::{locate, merge, parse_source, read_source};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mission::{Limits, Policy, Role};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub roles: Roles,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub budget: BudgetConfig,
    pub validation: ValidationConfig,
    pub gates: GatesConfig,
    pub limits: LimitsConfig,
    pub sandbox: SandboxConfig,
    pub worktree: WorktreeConfig,
    pub notify: NotifyConfig,
    pub hooks: HooksConfig,
    pub fleet: FleetConfig,
    pub console: ConsoleConfig,
    pub mcp: McpConfig,
    /// External coding agents spoken to over the Agent Client Protocol, by name; a role
    /// names one with `agent = "<name>"`.
    pub agents: BTreeMap<String, crate::config::agents::AgentConfig>,
    /// Console key overrides: action → keys (`approve = "A"`).
    pub keys: BTreeMap<String, String>,
    /// USD per million tokens by model name, over the built-in table.
    pub prices: BTreeMap<String, crate::mission::pricing::Price>,
    /// Facts about models the harness cannot ask for, by model name.
    pub models: BTreeMap<String, ModelConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Tokens the model reads at most (also learned from a provider's "too long" error).
    pub context_window: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Roles {
    pub orchestrator: Option<RoleConfig>,
    pub worker: Option<RoleConfig>,
    pub reviewer: Option<RoleConfig>,
    pub user_tester: Option<RoleConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Empty for a role played by an external agent.
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub model: String,
    /// An external agent of `[agents]` plays this role, instead of provider and model.
    #[serde(default)]
    pub agent: Option<String>,
    /// OpenAI reasoning models: "minimal", "low", "medium" or "high".
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Anthropic extended thinking: the thinking budget in tokens (at least 1024).
    #[serde(default)]
    pub thinking_budget_tokens: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Anthropic,
    Openai,
    /// The OpenAI Responses API (`POST {base_url}/responses`).
    OpenaiResponses,
    Scripted,
    /// Answers from a recording of an earlier run (`mission eval replay`).
    Replay,
}

impl ProviderKind {
    /// Answers without a network or a key (scripted, replay).
    pub fn is_offline(self) -> bool {
        matches!(self, ProviderKind::Scripted | ProviderKind::Replay)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    pub kind: Option<ProviderKind>,
    pub api_key_env: Option<String>,
    pub base_url: Option<String>,
    /// Scripted provider: the JSON script, relative to `.mission/`.
    pub script: Option<PathBuf>,
    /// Replay provider: the recording (JSON lines of exchanges), relative to `.mission/`.
    pub recording: Option<PathBuf>,
    /// Scripted provider: pretend latency per model call.
    pub pace_ms: Option<u64>,
    /// The longest wait for a response to start or for its next byte (default 120).
    pub timeout_secs: Option<u64>,
    /// The longest one request may stream in all (default 900).
    pub request_timeout_secs: Option<u64>,
    /// Retries after a 429, a 5xx, a timeout or a cut stream (default 5).
    pub max_retries: Option<u32>,
    /// The first backoff; it doubles each retry, with jitter (default 1000).
    pub retry_base_ms: Option<u64>,
    /// The most tokens one answer may have (Anthropic: default 8192; OpenAI-compatible
    /// servers get a cap only when this is set — `max_completion_tokens` for
    /// api.openai.com, `max_tokens` elsewhere).
    pub max_output_tokens: Option<u32>,
}

/// Landlock confinement of the commands agents and the contract run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Commands may write only in the mission's worktree, its private temp dir, /dev,
    /// toolchain caches and `writable` (default true; where the kernel lacks Landlock the
    /// harness checks the protected places after each command instead).
    pub enabled: bool,
    /// `false` (the default): commands share a network namespace of the sandbox's own
    /// with only loopback.
    pub network: bool,
    /// More directories commands may write in; `~/` is the home directory.
    pub writable: Vec<String>,
    /// Environment variables passed to commands besides the built-in allowlist.
    pub env_pass: Vec<String>,
    /// At most this many processes in the sandbox at once (default 512).
    pub max_processes: Option<u64>,
    /// At most this much memory, in MiB (default: half the machine's).
    pub max_memory_mb: Option<u64>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: true,
            network: false,
            writable: vec![],
            env_pass: vec![],
            max_processes: None,
            max_memory_mb: None,
        }
    }
}

impl SandboxConfig {
    /// The limits in force: the configured ones, else the defaults for this machine.
    pub fn limits(&self) -> crate::sandbox::limits::Limits {
        let d = crate::sandbox::limits::Limits::default_for_host();
        crate::sandbox::limits::Limits {
            max_processes: self.max_processes.unwrap_or(d.max_processes),
            max_memory_mb: self.max_memory_mb.unwrap_or(d.max_memory_mb),
        }
    }
}

/// How a human is told the mission needs them or has ended.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Attached consoles ring and send OSC 9 / OSC 777 notifications.
    pub bell: bool,
    /// Run by the runner with one JSON argument (`type`, `reason`, `repo`, `goal`,
    /// `branch`, `worktree`), e.g. `["notify-send", "mission"]`.
    pub command: Vec<String>,
}

/// `[fleet]` (in the user's own config): the SSH hosts whose missions `mission fleet`
/// lists beside this machine's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// `ssh` destinations: `box1`, `user@box2`, a `Host` of `~/.ssh/config`.
    pub hosts: Vec<String>,
    /// How long a host may take to answer before it is listed as unreachable.
    pub timeout_secs: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            hosts: vec![],
            timeout_secs: 10,
        }
    }
}

/// `[hooks]`: a command per kind of moment, run with the moment as one JSON argument
/// (`{"type", "event", "repo", "goal", "branch", "worktree"}`), for scripts and chat bots.
/// `runner_stopped` is run by an attached console, the others by the runner.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    pub gate: Vec<String>,
    pub escalation: Vec<String>,
    pub budget: Vec<String>,
    pub completed: Vec<String>,
    pub failed: Vec<String>,
    pub runner_stopped: Vec<String>,
}

impl HooksConfig {
    pub const KINDS: [&str; 6] = [
        "gate",
        "escalation",
        "budget",
        "completed",
        "failed",
        "runner_stopped",
    ];

    /// The command for `kind` (empty when none is set).
    pub fn command(&self, kind: &str) -> &[String] {
        match kind {
            "gate" => &self.gate,
            "escalation" => &self.escalation,
            "budget" => &self.budget,
            "completed" => &self.completed,
            "failed" => &self.failed,
            "runner_stopped" => &self.runner_stopped,
            _ => &[],
        }
    }

    pub fn is_empty(&self) -> bool {
        Self::KINDS.iter().all(|k| self.command(k).is_empty())
    }
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            bell: true,
            command: vec![],
        }
    }
}

/// The console's manners.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The mouse wheel scrolls the pane under the pointer and a click focuses a pane or
    /// selects a row. Off by default: while the console holds the mouse, the terminal's
    /// own text selection needs Shift.
    pub mouse: bool,
}

/// MCP servers whose tools agents may call (`mcp__<server>__<tool>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    pub servers: BTreeMap<String, McpServerConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpServerConfig {
    /// A program and its arguments, spoken to over stdio (run in the sandbox).
    pub command: Vec<String>,
    /// Or a streamable-HTTP endpoint.
    pub url: Option<String>,
    /// Variables the server gets: its name → the name of the variable of this
    /// environment that holds the value. Values are never written anywhere.
    pub env: BTreeMap<String, String>,
    /// The roles whose agents get its tools (default: every role).
    pub roles: Option<Vec<Role>>,
    /// Only these of its tools (default: all it lists).
    pub tools: Option<Vec<String>>,
    /// Seconds one call may take (default 60); a server that takes longer is restarted.
    pub timeout_secs: Option<f64>,
}

impl McpServerConfig {
    pub fn serves(&self, role: Role) -> bool {
        self.roles.as_ref().is_none_or(|r| r.contains(&role))
    }
}

/// Where the mission's git worktree goes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorktreeConfig {
    /// A directory for worktrees (default `$XDG_DATA_HOME/mission/worktrees`); `~/` is the
    /// home directory. Not inside the repository.
    pub dir: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    pub max_cost_usd: Option<f64>,
    pub max_tokens: Option<u64>,
    pub per_role_usd: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    pub commands: Vec<String>,
    pub max_fix_rounds: u32,
    pub command_timeout_secs: u64,
    /// Review agents running at once at a milestone boundary.
    pub review_concurrency: usize,
    /// Run each command assertion once on the untouched tree while the plan is made, to
    /// find those that already pass (they prove nothing) or cannot run at all.
    pub baseline: bool,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            commands: vec![],
            max_fix_rounds: 3,
            command_timeout_secs: 600,
            review_concurrency: 4,
            baseline: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesConfig {
    pub approve_plan: bool,
    pub approve_milestones: bool,
}

impl Default for GatesConfig {
    fn default() -> Self {
        GatesConfig {
            approve_plan: true,
            approve_milestones: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Model calls one agent run may make before it is stopped.
    pub max_turns: u32,
    /// Attempts per feature before the mission escalates to a human.
    pub feature_attempts: u32,
    /// Bytes of command output an agent sees (head and tail are kept).
    pub output_cap_bytes: usize,
    /// A pause for a provider's rate or usage limit ends by itself at its reset time.
    pub auto_resume: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_turns: 60,
            feature_attempts: 2,
            output_cap_bytes: 16 * 1024,
            auto_resume: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: key `{key}`: {message}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

/// A config file that was read, kept for locating keys in error messages.
struct Source {
    path: PathBuf,
    text: String,
    table: toml::Table,
}

impl Config {
    /// Loads the user's file (if any) and the repo's (if any), the repo's winning.
    pub fn load(repo_file: &Path) -> Result<Config, ConfigError> {
        Self::load_checked(repo_file, true)
    }

    /// `load` for a console or a report, which call no model: a key missing from this
    /// shell (a fresh SSH login) is no error, so the repo's `[notify]`, `[keys]` and
    /// `[console]` still apply.
    pub fn load_for_console(repo_file: &Path) -> Result<Config, ConfigError> {
        Self::load_checked(repo_file, false)
    }

    /// The user's own file only (`$XDG_CONFIG_HOME/mission/config.toml`), for what is
    /// not about one repository: the fleet's hosts.
    pub fn load_user() -> Result<Config, ConfigError> {
        Self::load_sources(None, false)
    }

    fn load_checked(repo_file: &Path, keys: bool) -> Result<Config, ConfigError> {
        Self::load_sources(Some(repo_file), keys)
    }

    fn load_sources(repo_file: Option<&Path>, keys: bool) -> Result<Config, ConfigError> {
        let mut sources = vec![];
        if let Some(user) = user_config_path()
            && let Some(s) = read_source(&user)?
        {
            sources.push(s);
        }
        if let Some(file) = repo_file
            && let Some(s) = read_source(file)?
        {
            sources.push(s);
        }
        let mut merged = toml::Table::new();
        for s in &sources {
            merge(&mut merged, s.table.clone());
        }
        let config: Config = merged
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError {
                file: sources.last().map(|s| s.path.clone()).unwrap_or_default(),
                line: 0,
                column: 0,
                key: String::new(),
                message: e.message().to_string(),
            })?;
        config.check(&sources, keys)?;
        Ok(config)
    }

    pub fn parse_str(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let s = parse_source(path, text)?;
        let config: Config =
            s.table
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError {
                    file: path.into(),
                    line: 0,
                    column: 0,
                    key: String::new(),
                    message: e.message().to_string(),
                })?;
        config.check(std::slice::from_ref(&s), true)?;
        Ok(config)
    }

    pub fn role(&self, role: Role) -> Option<&RoleConfig> {
        match role {
            Role::Orchestrator => self.roles.orchestrator.as_ref(),
            Role::Worker => self.roles.worker.as_ref(),
            Role::Reviewer => self.roles.reviewer.as_ref().or(self.stand_in()),
            Role::UserTester => self.roles.user_tester.as_ref().or(self.stand_in()),
            // Explorers research for the orchestrator, with its model.
            Role::Explorer => self.roles.orchestrator.as_ref(),
        }
    }

    /// Whether `role` runs on a model of its own rather than the orchestrator's.
    pub fn role_is_configured(&self, role: Role) -> bool {
        match role {
            Role::Orchestrator => self.roles.orchestrator.is_some(),
            Role::Worker => self.roles.worker.is_some(),
            Role::Reviewer => self.roles.reviewer.is_some(),
            Role::UserTester => self.roles.user_tester.is_some(),
            Role::Explorer => false,
        }
    }

    /// A validator without a model of its own borrows the orchestrator's: skipping reviews
    /// or failing at the first user test, hours into a mission, would surprise anyone. A
    /// scripted orchestrator lends nothing — its script says exactly which roles speak.
    fn stand_in(&self) -> Option<&RoleConfig> {
        self.roles.orchestrator.as_ref().filter(|o| {
            !self
                .provider_kind(&o.provider)
                .is_some_and(ProviderKind::is_offline)
        })
    }

    /// The provider's kind: explicit `kind`, else implied by the well-known names.
    pub fn provider_kind(&self, name: &str) -> Option<ProviderKind> {
        self.providers
            .get(name)
            .and_then(|p| p.kind)
            .or(match name {
                "anthropic" => Some(ProviderKind::Anthropic),
                "openai" => Some(ProviderKind::Openai),
                "scripted" => Some(ProviderKind::Scripted),
                _ => None,
            })
    }

    /// Environment variables holding secrets, stripped from every child process.
    pub fn secret_env_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .providers
            .values()
            .filter_map(|p| p.api_key_env.clone())
            .collect();
        names.extend(["ANTHROPIC_API_KEY".into(), "OPENAI_API_KEY".into()]);
        // What an external agent gets by name is its alone, never a command's.
        names.extend(self.agents.values().flat_map(|a| a.env_pass.clone()));
        names.sort();
        names.dedup();
        names
    }

    pub fn limits(&self) -> Limits {
        Limits {
            auto_resume: self.limits.auto_resume,
            max_cost_usd: self.budget.max_cost_usd,
            max_tokens: self.budget.max_tokens,
            per_role_usd: self
                .budget
                .per_role_usd
                .iter()
                .filter_map(|(k, v)| {
                    Role::ALL
                        .into_iter()
                        .find(|r| r.as_str() == k)
                        .map(|r| (r, *v))
                })
                .collect(),
        }
    }

    pub fn policy(&self) -> Policy {
        Policy {
            max_fix_rounds: self.validation.max_fix_rounds,
            feature_attempts: self.limits.feature_attempts,
            approve_milestones: self.gates.approve_milestones,
        }
    }
}

pub fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("mission").join("config.toml"))
}

/// The commented file `mission init` writes.
pub const TEMPLATE: &str = include_str!("../../prompts/mission.toml.example");

#[cfg(test)]
mod tests;
