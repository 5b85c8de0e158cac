//! The tools agents call. Names and arguments are a stable interface (DESIGN.md).

pub mod args_check;
pub mod command;
pub mod edit;
pub mod fs;
pub mod keynames;
pub mod paths;
pub mod pty;
pub mod submit;
pub mod web;

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::llm::ToolSpec;
use crate::mission::CommandRecord;

/// What a role may do with the working tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// read_file, list_files, search.
    ReadOnly,
    /// Also run_command, confined so that it cannot change the repository (orchestrator,
    /// explorers, reviewers); without a sandbox the role gets no run_command.
    ReadAndRun,
    /// Everything: the single writer.
    Write,
    /// Read-only files plus terminals (launch, send_keys, …), loopback http and a
    /// confined run_command, as for `ReadAndRun`: the user tester.
    Test,
}

pub use super::tool::{ToolResult, spec};

pub struct Toolbox {
    pub root: PathBuf,
    pub access: Access,
    /// How run_command starts commands (without secrets, confined where the kernel
    /// allows); `None` when this role may run none.
    pub commands: Option<crate::sandbox::Launcher>,
    pub default_timeout: Duration,
    pub output_cap: usize,
    /// Terminal sessions, for `Access::Test`.
    pub sessions: Option<pty::Sessions>,
    /// Tools of the MCP servers this role has.
    pub mcp: Option<super::mcp::McpTools>,
}

fn parse<T: DeserializeOwned>(tool: &str, args: &Value) -> Result<T, String> {
    serde_json::from_value(args.clone()).map_err(|e| format!("invalid arguments for {tool}: {e}"))
}

/// Seconds given as a number (fractions allowed) or a numeric string.
fn seconds(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('s').parse().ok(),
        _ => None,
    }?;
    (n.is_finite() && n > 0.0).then_some(n)
}

fn arg_str<'a>(args: &'a Value, key: &str) -> &'a str {
    args.get(key).and_then(Value::as_str).unwrap_or("")
}

impl Toolbox {
    pub fn specs(&self) -> Vec<ToolSpec> {
        let mut v = vec![
            spec(
                "read_file",
                "Read a text file of the repository, with line numbers.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "relative to the repository root"},
                        "offset": {"type": "integer", "description": "1-based first line"},
                        "limit": {"type": "integer", "description": "number of lines (at most 2000; a result stops at 32 KiB and says where to go on)"}
                    },
                    "required": ["path"],
                    "additionalProperties": false
                }),
            ),
            spec(
                "list_files",
                "List files (gitignore-aware), optionally under a path and matching a glob.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "a directory relative to the repository root (default: the root)"},
                        "glob": {"type": "string", "description": "only paths matching this glob, e.g. \"*.rs\" or \"src/**/*.ts\""}
                    },
                    "additionalProperties": false
                }),
            ),
            spec(
                "search",
                "Search file contents with a regular expression (gitignore-aware).",
                json!({
                    "type": "object",
                    "properties": {
                        "pattern": {"type": "string", "description": "a regular expression (Rust regex syntax)"},
                        "path": {"type": "string", "description": "a directory or file to search, relative to the repository root (default: all of it)"},
                        "glob": {"type": "string", "description": "only files matching this glob, e.g. \"*.rs\" or \"src/**/*.ts\""},
                        "case_insensitive": {"type": "boolean", "description": "match regardless of case"},
                        "context": {"type": "integer", "description": "lines of context before and after each match (at most 10)"}
                    },
                    "required": ["pattern"],
                    "additionalProperties": false
                }),
            ),
        ];
        if self.access == Access::Test {
            let id = json!({"type": "string", "description": "the session id launch returned"});
            v.push(spec("launch", "Start a program in a new 100×30 terminal (cwd = repository root). Returns its session id.", json!({
                "type": "object", "properties": {"command": {"type": "string", "description": "a shell command line, e.g. \"cargo run -q\" or \"./target/debug/app --demo\""}}, "required": ["command"]
            })));
            v.push(spec("send_keys", &format!("Type into a session. Named keys (case-insensitive): {}. An unknown <Name> is refused, not typed.", pty::KEY_NAMES), json!({
                "type": "object", "properties": {"id": id, "keys": {"type": "string", "description": "text to type, with named keys in <…>, e.g. \"3 1 2<Enter><C-d>\""}}, "required": ["id", "keys"]
            })));
            v.push(spec(
                "read_screen",
                "The session's screen as text, and whether the program still runs.",
                json!({
                    "type": "object", "properties": {"id": id}, "required": ["id"]
                }),
            ));
            v.push(spec("wait_for", "Wait until text appears on the session's screen.", json!({
                "type": "object", "properties": {"id": id, "text": {"type": "string", "description": "text to wait for on the screen"}, "timeout_secs": {"type": "number", "description": "seconds (default 10, at most 120); fractions allowed"}}, "required": ["id", "text"]
            })));
            v.push(spec(
                "stop",
                "Kill the session's program.",
                json!({
                    "type": "object", "properties": {"id": id}, "required": ["id"]
                }),
            ));
            v.push(spec("http", "An HTTP request to a loopback address (127.0.0.1, ::1, localhost) only.", json!({
                "type": "object", "properties": {"method": {"type": "string", "description": "GET, POST, PUT, DELETE…"}, "url": {"type": "string", "description": "a loopback URL, e.g. http://127.0.0.1:8080/health"}, "body": {"type": "string", "description": "the request body, if any"}}, "required": ["method", "url"]
            })));
        }
        if self.commands.is_some() {
            v.push(spec("run_command", "Run a shell command at the repository root. Output is capped; API keys are not in its environment.", json!({
                "type": "object",
                "properties": {"command": {"type": "string", "description": "a shell command line (sh -c), run at the repository root"}, "timeout_secs": {"type": "number", "description": "seconds before it is killed (fractions allowed; default from the config)"}},
                "required": ["command"],
                "additionalProperties": false
            })));
        }
        if self.access == Access::Write {
            v.push(spec(
                "write_file",
                "Create or overwrite a file.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "relative to the repository root; directories are created"},
                        "content": {"type": "string", "description": "the whole new content of the file"}
                    },
                    "required": ["path", "content"],
                    "additionalProperties": false
                }),
            ));
            v.push(spec("edit_file", "Replace one unique occurrence of old_string with new_string.", json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "relative to the repository root"},
                    "old_string": {"type": "string", "description": "the text to replace, copied from read_file (without line numbers); line endings and whitespace at line ends are forgiven where the match stays unique"},
                    "new_string": {"type": "string", "description": "the replacement"},
                    "replace_all": {"type": "boolean", "description": "replace every occurrence (default: old_string must occur once)"}
                },
                "required": ["path", "old_string", "new_string"],
                "additionalProperties": false
            })));
        }
        // The MCP servers' tools this role has: a model can call only what it is offered.
        if let Some(m) = &self.mcp {
            v.extend(m.specs.iter().cloned());
        }
        v
    }

    pub async fn call(&self, name: &str, args: &Value) -> ToolResult {
        if let Some(m) = &self.mcp
            && m.specs.iter().any(|s| s.name == name)
        {
            return m.servers.call(name, args).await;
        }
        let allowed = match name {
            "read_file" | "list_files" | "search" => true,
            "run_command" => self.commands.is_some(),
            "write_file" | "edit_file" => self.access == Access::Write,
            "launch" | "send_keys" | "read_screen" | "wait_for" | "stop" | "http" => {
                self.access == Access::Test && self.sessions.is_some()
            }
            _ => {
                return failure(
                    format!("unknown tool `{name}`"),
                    format!("{name}: unknown tool"),
                );
            }
        };
        if !allowed {
            return failure(
                format!("tool `{name}` is not available to this role"),
                format!("{name}: refused (not allowed for this role)"),
            );
        }
        let root = &self.root;
        let result = match name {
            "read_file" => parse(name, args).and_then(|a| fs::read_file(root, a)),
            "list_files" => parse(name, args).and_then(|a| fs::list_files(root, a)),
            "search" => parse(name, args).and_then(|a| fs::search(root, a)),
            "write_file" => parse(name, args).and_then(|a| fs::write_file(root, a)),
            "edit_file" => parse(name, args).and_then(|a| fs::edit_file(root, a)),
            "run_command" => return self.run_command(args).await,
            _ => return self.terminal(name, args).await,
        };
        let target = match name {
            "search" => arg_str(args, "pattern").to_string(),
            "list_files" => args
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or(".")
                .to_string(),
            _ => arg_str(args, "path").to_string(),
        };
        match result {
            Ok(content) => ToolResult {
                summary: format!("{name} {target}"),
                content,
                is_error: false,
                command: None,
                mcp: None,
            },
            Err(e) => failure(e.clone(), format!("{name} {target}: {e}")),
        }
    }

    async fn terminal(&self, name: &str, args: &Value) -> ToolResult {
        let Some(sessions) = &self.sessions else {
            return failure("no terminals here".into(), format!("{name}: refused"));
        };
        let s = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("");
        let missing = |k: &str| format!("invalid arguments for {name}: `{k}` is required");
        let result = match name {
            "launch" if !s("command").is_empty() => sessions.launch(s("command")),
            "send_keys" if !s("id").is_empty() => sessions.send_keys(s("id"), s("keys")),
            "read_screen" if !s("id").is_empty() => sessions.read_screen(s("id")),
            "wait_for" if !s("id").is_empty() && !s("text").is_empty() => {
                let secs = seconds(args.get("timeout_secs"))
                    .unwrap_or(10.0)
                    .clamp(0.1, 120.0);
                sessions
                    .wait_for(s("id"), s("text"), Duration::from_secs_f64(secs))
                    .await
            }
            "stop" if !s("id").is_empty() => sessions.stop(s("id")),
            "http" if !s("url").is_empty() => {
                let method = if s("method").is_empty() {
                    "GET"
                } else {
                    s("method")
                };
                web::request_via(
                    &sessions.launcher,
                    &self.root,
                    method,
                    s("url"),
                    args.get("body").and_then(Value::as_str),
                    self.output_cap,
                )
                .await
            }
            "launch" => Err(missing("command")),
            "http" => Err(missing("url")),
            "wait_for" if s("id").is_empty() => Err(missing("id")),
            "wait_for" => Err(missing("text")),
            _ => Err(missing("id")),
        };
        let target = [s("command"), s("url"), s("keys"), s("text")]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or(s("id"));
        match result {
            Ok(content) => ToolResult {
                summary: format!("{name} {target}"),
                content,
                is_error: false,
                command: None,
                mcp: None,
            },
            Err(e) => failure(
                e.clone(),
                format!("{name} {target}: {}", e.lines().next().unwrap_or("")),
            ),
        }
    }

    async fn run_command(&self, args: &Value) -> ToolResult {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            command: String,
            timeout_secs: Option<Value>,
        }
        let a: Args = match parse("run_command", args) {
            Ok(a) => a,
            Err(e) => return failure(e.clone(), format!("run_command: {e}")),
        };
        let Some(launcher) = &self.commands else {
            return failure(
                "tool `run_command` is not available to this role".into(),
                "run_command: refused".into(),
            );
        };
        // An agent may ask for less time than the configured limit, never more.
        if a.timeout_secs.is_some() && seconds(a.timeout_secs.as_ref()).is_none() {
            return failure(
                "invalid arguments for run_command: timeout_secs must be a positive number of seconds".into(),
                "run_command: bad timeout_secs".into(),
            );
        }
        let timeout = seconds(a.timeout_secs.as_ref())
            .map(Duration::from_secs_f64)
            .map_or(self.default_timeout, |t| t.min(self.default_timeout))
            .max(Duration::from_millis(100));
        let out =
            command::run_shell(&a.command, &self.root, timeout, launcher, self.output_cap).await;
        let record = CommandRecord {
            command: a.command.clone(),
            exit_code: out.exit_code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
            restored: out.restored.clone(),
        };
        ToolResult {
            content: out.render(&a.command),
            is_error: !out.success(),
            summary: format!("run_command `{}`", a.command),
            command: Some(record),
            mcp: None,
        }
    }
}

fn failure(content: String, summary: String) -> ToolResult {
    ToolResult {
        content,
        is_error: true,
        summary,
        command: None,
        mcp: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a model reads about each argument: every field of every built-in tool says
    /// what it is, and the strictly parsed tools say that nothing else is accepted.
    #[test]
    fn every_argument_of_every_tool_is_described() {
        let root = PathBuf::from("/tmp");
        let toolbox = |access| Toolbox {
            root: root.clone(),
            access,
            commands: Some(crate::sandbox::Launcher::default()),
            default_timeout: Duration::from_secs(1),
            output_cap: 1024,
            sessions: Some(pty::Sessions::new(
                root.clone(),
                crate::sandbox::Launcher::default(),
            )),
            mcp: None,
        };
        for access in [
            Access::ReadOnly,
            Access::ReadAndRun,
            Access::Write,
            Access::Test,
        ] {
            for t in toolbox(access).specs() {
                assert!(!t.description.is_empty(), "{}", t.name);
                let props = t.parameters["properties"].as_object().unwrap();
                for (name, p) in props {
                    assert!(
                        p["description"].as_str().is_some_and(|d| d.len() > 5),
                        "{}.{name} has no description",
                        t.name
                    );
                }
                if matches!(
                    t.name.as_str(),
                    "read_file"
                        | "list_files"
                        | "search"
                        | "write_file"
                        | "edit_file"
                        | "run_command"
                ) {
                    assert_eq!(t.parameters["additionalProperties"], false, "{}", t.name);
                }
            }
        }
    }
}
