//! `mission.toml`: the repo's `.mission/mission.toml` merged over the user's
//! `$XDG_CONFIG_HOME/mission/config.toml`. Unknown keys and bad values are errors that
//! name the file, line and key.

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
    /// USD per million tokens by model name, over the built-in table.
    pub prices: BTreeMap<String, crate::llm::pricing::Price>,
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
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Anthropic,
    Openai,
    Scripted,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    pub kind: Option<ProviderKind>,
    pub api_key_env: Option<String>,
    pub base_url: Option<String>,
    /// Scripted provider: the JSON script, relative to `.mission/`.
    pub script: Option<PathBuf>,
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
    /// `false`: commands get a network namespace of their own with only loopback.
    pub network: bool,
    /// More directories commands may write in; `~/` is the home directory.
    pub writable: Vec<String>,
    /// Environment variables passed to commands besides the built-in allowlist.
    pub env_pass: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: true,
            network: true,
            writable: vec![],
            env_pass: vec![],
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

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            bell: true,
            command: vec![],
        }
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
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            commands: vec![],
            max_fix_rounds: 3,
            command_timeout_secs: 600,
            review_concurrency: 4,
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
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_turns: 60,
            feature_attempts: 2,
            output_cap_bytes: 16 * 1024,
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
        let mut sources = vec![];
        if let Some(user) = user_config_path()
            && let Some(s) = read_source(&user)?
        {
            sources.push(s);
        }
        if let Some(s) = read_source(repo_file)? {
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
        config.check(&sources)?;
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
        config.check(std::slice::from_ref(&s))?;
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
        self.roles
            .orchestrator
            .as_ref()
            .filter(|o| self.provider_kind(&o.provider) != Some(ProviderKind::Scripted))
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
        names.sort();
        names.dedup();
        names
    }

    pub fn limits(&self) -> Limits {
        Limits {
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

    fn check(&self, sources: &[Source]) -> Result<(), ConfigError> {
        let err = |table: &str, key: &str, message: String| locate(sources, table, key, message);
        for role in Role::ALL {
            if let Some(rc) = self.role(role) {
                if self.provider_kind(&rc.provider).is_none() {
                    return Err(err(
                        &format!("roles.{role}"),
                        "provider",
                        format!(
                            "unknown provider `{}`: add a [providers.{}] table with `kind`, or use anthropic, openai or scripted",
                            rc.provider, rc.provider
                        ),
                    ));
                }
                if rc.model.trim().is_empty() {
                    return Err(err(
                        &format!("roles.{role}"),
                        "model",
                        "must not be empty".into(),
                    ));
                }
            }
        }
        for (name, p) in &self.providers {
            if self.provider_kind(name).is_none() {
                return Err(err(
                    &format!("providers.{name}"),
                    "kind",
                    format!(
                        "provider `{name}` needs `kind = \"anthropic\" | \"openai\" | \"scripted\"`"
                    ),
                ));
            }
            if let Some(url) = &p.base_url {
                let host = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"))
                    .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
                match host {
                    None => {
                        return Err(err(
                            &format!("providers.{name}"),
                            "base_url",
                            format!("`{url}` is not an http(s) URL"),
                        ));
                    }
                    Some(h) if h.is_empty() || h.starts_with(':') => {
                        return Err(err(
                            &format!("providers.{name}"),
                            "base_url",
                            format!("`{url}` names no host, e.g. http://127.0.0.1:11434/v1"),
                        ));
                    }
                    _ => {}
                }
            }
            let table = format!("providers.{name}");
            if p.timeout_secs == Some(0) {
                return Err(err(&table, "timeout_secs", "must be at least 1".into()));
            }
            if p.request_timeout_secs == Some(0) {
                return Err(err(
                    &table,
                    "request_timeout_secs",
                    "must be at least 1".into(),
                ));
            }
            if p.max_output_tokens == Some(0) {
                return Err(err(
                    &table,
                    "max_output_tokens",
                    "must be at least 1".into(),
                ));
            }
            if p.max_retries.is_some_and(|r| r > 20) {
                return Err(err(&table, "max_retries", "at most 20".into()));
            }
            let used = Role::ALL
                .iter()
                .any(|r| self.role(*r).is_some_and(|rc| rc.provider == *name));
            if used
                && let Some(var) = &p.api_key_env
                && std::env::var_os(var).is_none_or(|v| v.is_empty())
            {
                return Err(err(
                    &table,
                    "api_key_env",
                    format!(
                        "the environment variable `{var}` is not set; export it (keys are read from the environment only), or remove api_key_env for a server that needs no key"
                    ),
                ));
            }
        }
        for (model, price) in &self.prices {
            let all = [
                Some(price.input_per_mtok),
                Some(price.output_per_mtok),
                price.cache_read_per_mtok,
                price.cache_write_per_mtok,
            ];
            if all.iter().flatten().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(err(
                    &format!("prices.\"{model}\""),
                    "input_per_mtok",
                    format!("prices of `{model}` must be zero or positive numbers"),
                ));
            }
        }
        for (model, m) in &self.models {
            if m.context_window.is_some_and(|w| w < 1024) {
                return Err(err(
                    &format!("models.\"{model}\""),
                    "context_window",
                    "must be at least 1024 tokens".into(),
                ));
            }
        }
        if self.budget.max_tokens == Some(0) {
            return Err(err("budget", "max_tokens", "must be at least 1".into()));
        }
        if self.validation.max_fix_rounds > 100 {
            return Err(err(
                "validation",
                "max_fix_rounds",
                format!(
                    "{} is not a sensible number of fix rounds; at most 100",
                    self.validation.max_fix_rounds
                ),
            ));
        }
        if self.validation.review_concurrency == 0 {
            return Err(err(
                "validation",
                "review_concurrency",
                "must be at least 1".into(),
            ));
        }
        if self.limits.output_cap_bytes < 256 {
            return Err(err(
                "limits",
                "output_cap_bytes",
                "must be at least 256 (agents read command output through it)".into(),
            ));
        }
        if let Some(c) = self.budget.max_cost_usd
            && !(c.is_finite() && c > 0.0)
        {
            return Err(err(
                "budget",
                "max_cost_usd",
                format!("must be a positive number, got {c}"),
            ));
        }
        for (role, usd) in &self.budget.per_role_usd {
            if !Role::ALL.iter().any(|r| r.as_str() == role) {
                return Err(err(
                    "budget",
                    "per_role_usd",
                    format!("unknown role `{role}` (orchestrator, worker, reviewer, user_tester)"),
                ));
            }
            if !(usd.is_finite() && *usd > 0.0) {
                return Err(err(
                    "budget",
                    "per_role_usd",
                    format!("{role}: must be positive, got {usd}"),
                ));
            }
        }
        if self.validation.command_timeout_secs == 0 {
            return Err(err(
                "validation",
                "command_timeout_secs",
                "must be at least 1".into(),
            ));
        }
        for w in &self.sandbox.writable {
            if !(w.starts_with('/') || w.starts_with("~/")) {
                return Err(err(
                    "sandbox",
                    "writable",
                    format!("`{w}` must be an absolute path or start with `~/`"),
                ));
            }
            let path = match (w.strip_prefix("~/"), std::env::var_os("HOME")) {
                (Some(rest), Some(h)) => PathBuf::from(h).join(rest),
                _ => PathBuf::from(w),
            };
            if !path.is_dir() {
                return Err(err(
                    "sandbox",
                    "writable",
                    format!("`{w}` is not an existing directory; create it or remove it"),
                ));
            }
        }
        if let Some(d) = &self.worktree.dir
            && !(d.starts_with('/') || d.starts_with("~/"))
        {
            return Err(err(
                "worktree",
                "dir",
                format!("`{d}` must be an absolute path or start with `~/`"),
            ));
        }
        if self.limits.max_turns == 0 {
            return Err(err("limits", "max_turns", "must be at least 1".into()));
        }
        if self.limits.feature_attempts == 0 {
            return Err(err(
                "limits",
                "feature_attempts",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

pub fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("mission").join("config.toml"))
}

fn read_source(path: &Path) -> Result<Option<Source>, ConfigError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError {
                file: path.into(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            });
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()])
                .unwrap_or_default();
            let (line, column, key) = position(valid, valid.len());
            return Err(ConfigError {
                file: path.into(),
                line,
                column,
                key,
                message: "not UTF-8 text (is this a TOML file?)".into(),
            });
        }
    };
    parse_source(path, &text).map(Some)
}

fn parse_source(path: &Path, text: &str) -> Result<Source, ConfigError> {
    let spanned = |e: toml::de::Error| {
        let (line, column, key) = match e.span() {
            Some(span) => position(text, span.start),
            None => (0, 0, String::new()),
        };
        ConfigError {
            file: path.into(),
            line,
            column,
            key,
            message: e.message().trim().to_string(),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(spanned)?;
    // Checked per file so an error points into the file that holds it.
    let _: Config = toml::from_str(text).map_err(spanned)?;
    Ok(Source {
        path: path.into(),
        text: text.to_string(),
        table,
    })
}

/// 1-based line and column of a byte offset, and the key written on that line.
fn position(text: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = match line_text.split_once('=') {
        Some((k, _)) => k.trim().to_string(),
        None => line_text.trim().trim_matches(['[', ']']).to_string(),
    };
    (line, column, key)
}

/// Finds `key` inside `[table]` in the last source that sets it.
fn locate(sources: &[Source], table: &str, key: &str, message: String) -> ConfigError {
    for s in sources.iter().rev() {
        let mut current = String::new();
        for (i, l) in s.text.lines().enumerate() {
            let t = l.trim();
            if t.starts_with('[') {
                current = t.trim_matches(['[', ']']).trim().to_string();
                continue;
            }
            let hit = current == table
                && t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='));
            if hit {
                return ConfigError {
                    file: s.path.clone(),
                    line: i + 1,
                    column: l.len() - l.trim_start().len() + 1,
                    key: format!("{table}.{key}"),
                    message,
                };
            }
        }
    }
    // A key that is missing: point at its table's header.
    for s in sources.iter().rev() {
        for (i, l) in s.text.lines().enumerate() {
            let t = l.trim();
            if t.starts_with('[') && t.trim_matches(['[', ']']).trim() == table {
                return ConfigError {
                    file: s.path.clone(),
                    line: i + 1,
                    column: l.len() - t.len() + 1,
                    key: format!("{table}.{key}"),
                    message,
                };
            }
        }
    }
    ConfigError {
        file: sources.last().map(|s| s.path.clone()).unwrap_or_default(),
        line: 0,
        column: 0,
        key: format!("{table}.{key}"),
        message,
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// The commented file `mission init` writes.
pub const TEMPLATE: &str = include_str!("../prompts/mission.toml.example");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_str(Path::new("m.toml"), text)
    }

    #[test]
    fn validators_borrow_a_real_orchestrator_model_but_not_a_script() {
        let real = parse(
            "[roles.orchestrator]\nprovider = \"anthropic\"\nmodel = \"big\"\n\
             [roles.worker]\nprovider = \"openai\"\nmodel = \"small\"\n\
             [roles.user_tester]\nprovider = \"openai\"\nmodel = \"qa\"\n",
        )
        .unwrap();
        assert_eq!(real.role(Role::Reviewer).unwrap().model, "big");
        assert_eq!(real.role(Role::UserTester).unwrap().model, "qa");
        assert!(!real.role_is_configured(Role::Reviewer));
        assert!(real.role_is_configured(Role::UserTester));
        let scripted = parse(
            "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n\
             [roles.worker]\nprovider = \"scripted\"\nmodel = \"w\"\n",
        )
        .unwrap();
        assert!(scripted.role(Role::Reviewer).is_none());
        assert!(scripted.role(Role::UserTester).is_none());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("[validation]\ncommands = []\nmax_fix_round = 2\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "max_fix_round"), "{e}");
        assert!(e.to_string().starts_with("m.toml:3:"), "{e}");
    }

    #[test]
    fn bad_value_names_the_key() {
        let e = parse("[validation]\nmax_fix_rounds = \"three\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "max_fix_rounds"), "{e}");
    }

    #[test]
    fn unknown_provider_is_located() {
        let e = parse("[roles.worker]\nprovider = \"nope\"\nmodel = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("unknown provider `nope`"), "{e}");
    }

    #[test]
    fn negative_budget_is_refused() {
        let e = parse("[budget]\nmax_cost_usd = -1.0\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "budget.max_cost_usd"), "{e}");
    }

    #[test]
    fn defaults_and_merge() {
        let c = parse("").unwrap();
        assert_eq!(c.validation.max_fix_rounds, 3);
        assert!(c.gates.approve_plan);
        let mut a: toml::Table =
            toml::from_str("[validation]\nmax_fix_rounds = 1\ncommands = [\"a\"]").unwrap();
        let b: toml::Table = toml::from_str("[validation]\nmax_fix_rounds = 5").unwrap();
        merge(&mut a, b);
        let c: Config = a.try_into().unwrap();
        assert_eq!(c.validation.max_fix_rounds, 5);
        assert_eq!(c.validation.commands, vec!["a".to_string()]);
    }

    #[test]
    fn the_init_template_parses() {
        parse(TEMPLATE).unwrap();
    }
}
