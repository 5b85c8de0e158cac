//! `[agents.<name>]`: an external coding agent (Codex, Claude Code, Gemini CLI…) that a
//! role may use instead of a provider and model, spoken to over the Agent Client Protocol
//! on its stdin and stdout.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// The program and its arguments, e.g. `["npx", "@zed-industries/codex-acp"]`.
    pub command: Vec<String>,
    /// Settings that are not secret, set as written (`CODEX_HOME`, `ANTHROPIC_BASE_URL`).
    pub env: BTreeMap<String, String>,
    /// Variables passed through by name from the runner's environment (API keys): their
    /// values are never written down.
    pub env_pass: Vec<String>,
    /// The answer to the agent's permission requests: `allow` (default; the mission's
    /// sandbox is the boundary) or `deny`.
    pub permissions: Permissions,
    /// The host's network for the agent (default true: it must reach its provider; the
    /// commands it runs share it). `false` keeps it to loopback, for a local model.
    pub network: Option<bool>,
    /// The agent's own session mode (`session/set_mode`); default: its most permissive
    /// (`full-access`, `bypassPermissions`), since the mission's sandbox is the boundary.
    pub mode: Option<String>,
    /// The longest one prompt turn may take, in seconds (default 3600).
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permissions {
    #[default]
    Allow,
    Deny,
}
