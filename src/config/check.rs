//! Values that parse but cannot work: each refused with the file, line, column and key.

use super::*;

impl Config {
    /// `keys`: whether the providers' keys must be in this environment.
    pub(super) fn check(&self, sources: &[Source], keys: bool) -> Result<(), ConfigError> {
        let err = |table: &str, key: &str, message: String| locate(sources, table, key, message);
        for role in Role::ALL {
            if let Some(rc) = self.role(role) {
                if let Some(name) = &rc.agent {
                    let table = format!("roles.{role}");
                    if !rc.provider.is_empty() || !rc.model.is_empty() {
                        return Err(err(
                            &table,
                            "agent",
                            "names an external agent: leave out provider and model, which the agent chooses itself".into(),
                        ));
                    }
                    match self.agents.get(name) {
                        None => {
                            return Err(err(
                                &table,
                                "agent",
                                format!(
                                    "`{name}` is not defined: add [agents.{name}] with `command` (see `mission init`)"
                                ),
                            ));
                        }
                        Some(a) if a.command.is_empty() => {
                            return Err(err(
                                &format!("agents.{name}"),
                                "command",
                                "must name the agent's program, e.g. [\"npx\", \"@zed-industries/codex-acp\"]".into(),
                            ));
                        }
                        Some(a) if a.timeout_secs == Some(0) => {
                            return Err(err(
                                &format!("agents.{name}"),
                                "timeout_secs",
                                "must be at least 1: it is the longest one prompt turn may take"
                                    .into(),
                            ));
                        }
                        Some(_) => continue,
                    }
                }
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
                let kind = self.provider_kind(&rc.provider);
                if let Some(e) = &rc.reasoning_effort {
                    if !matches!(e.as_str(), "minimal" | "low" | "medium" | "high") {
                        return Err(err(
                            &format!("roles.{role}"),
                            "reasoning_effort",
                            format!("`{e}`: use \"minimal\", \"low\", \"medium\" or \"high\""),
                        ));
                    }
                    if !matches!(
                        kind,
                        Some(
                            ProviderKind::Openai
                                | ProviderKind::OpenaiResponses
                                | ProviderKind::Replay
                        )
                    ) {
                        return Err(err(
                            &format!("roles.{role}"),
                            "reasoning_effort",
                            "is for OpenAI providers (kind openai or openai_responses); Anthropic takes thinking_budget_tokens".into(),
                        ));
                    }
                }
                if let Some(n) = rc.thinking_budget_tokens {
                    if n < 1024 {
                        return Err(err(
                            &format!("roles.{role}"),
                            "thinking_budget_tokens",
                            format!("{n}: Anthropic's thinking budget is at least 1024 tokens"),
                        ));
                    }
                    if !matches!(kind, Some(ProviderKind::Anthropic | ProviderKind::Replay)) {
                        return Err(err(
                            &format!("roles.{role}"),
                            "thinking_budget_tokens",
                            "is for Anthropic providers; OpenAI takes reasoning_effort".into(),
                        ));
                    }
                }
            }
        }
        if let Err(e) = crate::keys::Keymap::with_overrides(&self.keys) {
            // The message names the action; point at its line when there is one.
            let key = self
                .keys
                .keys()
                .find(|k| e.starts_with(&format!("[keys] {k}:")))
                .cloned()
                .unwrap_or_default();
            return Err(err("keys", &key, e));
        }
        for (name, m) in &self.mcp.servers {
            let table = format!("mcp.servers.{name}");
            let bad_name = name.is_empty()
                || name.contains("__")
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bad_name {
                return Err(err(
                    "mcp.servers",
                    name,
                    format!(
                        "server name `{name}`: use letters, digits, `-` and single `_` (its tools are named mcp__<server>__<tool>)"
                    ),
                ));
            }
            match (&m.url, m.command.is_empty()) {
                (Some(_), false) => {
                    return Err(err(
                        &table,
                        "url",
                        "give either `command` (stdio) or `url` (streamable HTTP), not both".into(),
                    ));
                }
                (None, true) => {
                    return Err(err(
                        &table,
                        "command",
                        "needs `command = [\"program\", \"arg\"…]` (stdio) or `url = \"http://…\"`"
                            .into(),
                    ));
                }
                (Some(url), true)
                    if !(url.starts_with("http://") || url.starts_with("https://")) =>
                {
                    return Err(err(&table, "url", format!("`{url}` is not an http(s) URL")));
                }
                _ => {}
            }
            if m.url.is_some() && !m.env.is_empty() {
                return Err(err(
                    &table,
                    "env",
                    "`env` is for stdio servers (`command`); an HTTP server keeps its own".into(),
                ));
            }
            if m.timeout_secs.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
                return Err(err(
                    &table,
                    "timeout_secs",
                    "must be a positive number".into(),
                ));
            }
        }
        for (name, p) in &self.providers {
            if self.provider_kind(name).is_none() {
                return Err(err(
                    &format!("providers.{name}"),
                    "kind",
                    format!(
                        "provider `{name}` needs `kind = \"anthropic\" | \"openai\" | \"openai_responses\" | \"scripted\"`"
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
                    Some(h) if url.starts_with("http://") && !is_loopback_host(h) => {
                        return Err(err(
                            &format!("providers.{name}"),
                            "base_url",
                            format!(
                                "`{url}` would send the API key unencrypted: use https://, or plain http only to loopback (127.0.0.1, ::1, localhost)"
                            ),
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
                && keys
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
        self.check_sandbox(&err)?;
        let commands = std::iter::once(("notify", "command", self.notify.command.as_slice()))
            .chain(
                HooksConfig::KINDS
                    .iter()
                    .map(|k| ("hooks", *k, self.hooks.command(k))),
            );
        for (table, key, command) in commands {
            let Some(cmd) = command.first() else {
                continue;
            };
            if cmd.trim().is_empty() {
                return Err(err(
                    table,
                    key,
                    "the program is empty: e.g. [\"notify-send\", \"mission\"]".into(),
                ));
            }
            if !program_exists(cmd) {
                return Err(err(
                    table,
                    key,
                    format!("`{cmd}` is not an executable file nor a program on PATH"),
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

impl Config {
    fn check_sandbox(
        &self,
        err: &impl Fn(&str, &str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        for w in &self.sandbox.writable {
            let path = Path::new(w.strip_prefix('~').unwrap_or(w));
            let normal: Vec<_> = path
                .components()
                .filter(|c| {
                    !matches!(
                        c,
                        std::path::Component::RootDir | std::path::Component::CurDir
                    )
                })
                .collect();
            if normal.is_empty() {
                return Err(err(
                    "sandbox",
                    "writable",
                    format!(
                        "`{w}` would let commands write everywhere: name the cache directories they need"
                    ),
                ));
            }
            if normal.iter().any(|c| {
                c.as_os_str() == ".git" || c.as_os_str() == ".mission" || c.as_os_str() == ".."
            }) {
                return Err(err(
                    "sandbox",
                    "writable",
                    format!(
                        "`{w}`: a git dir, `.mission/` or `..` may never be writable (git and the runner act on them later, unconfined)"
                    ),
                ));
            }
            let first = normal[0].as_os_str().to_string_lossy();
            if !w.starts_with('~')
                && SYSTEM_DIRS.contains(&first.as_ref())
                && !std::env::var_os("HOME").is_some_and(|h| Path::new(w).starts_with(h))
            {
                return Err(err(
                    "sandbox",
                    "writable",
                    format!("`{w}` is a system directory (/{first}): commands may not write there"),
                ));
            }
        }
        for name in &self.sandbox.env_pass {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(err(
                    "sandbox",
                    "env_pass",
                    format!(
                        "`{name}`: name each variable exactly (letters, digits, `_`); no wildcards"
                    ),
                ));
            }
            if self.secret_env_names().contains(name) {
                return Err(err(
                    "sandbox",
                    "env_pass",
                    format!(
                        "`{name}` holds a provider key, which never reaches an agent's command"
                    ),
                ));
            }
        }
        if self.sandbox.max_processes.is_some_and(|n| n < 16) {
            return Err(err(
                "sandbox",
                "max_processes",
                "must be at least 16 (a shell, a build and its compilers need that many)".into(),
            ));
        }
        if self.sandbox.max_memory_mb.is_some_and(|n| n < 64) {
            return Err(err(
                "sandbox",
                "max_memory_mb",
                "must be at least 64".into(),
            ));
        }
        Ok(())
    }
}

/// Top-level directories no command may be given to write in.
const SYSTEM_DIRS: &[&str] = &[
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys",
    "usr", "var",
];

fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .rsplit_once(':')
        .filter(|(h, port)| !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    matches!(bare, "localhost" | "127.0.0.1" | "[::1]" | "::1") || bare.starts_with("127.")
}

/// An executable path, or a program found on PATH.
fn program_exists(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return runnable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| runnable(&d.join(program))))
}
