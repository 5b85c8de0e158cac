//! The tools agents call. Names and arguments are a stable interface (DESIGN.md).

pub mod command;
pub mod fs;
pub mod paths;
pub mod submit;

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
    /// Also run_command (for reviewers and testers whose prompt allows it).
    ReadAndRun,
    /// Everything: the single writer.
    Write,
}

/// A tool call's answer, as the model will read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub content: String,
    pub is_error: bool,
    /// One line for the activity feed.
    pub summary: String,
    /// Set for run_command.
    pub command: Option<CommandRecord>,
}

pub struct Toolbox {
    pub root: PathBuf,
    pub access: Access,
    pub secret_env: Vec<String>,
    pub default_timeout: Duration,
    pub output_cap: usize,
}

fn parse<T: DeserializeOwned>(tool: &str, args: &Value) -> Result<T, String> {
    serde_json::from_value(args.clone()).map_err(|e| format!("invalid arguments for {tool}: {e}"))
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
                        "limit": {"type": "integer", "description": "number of lines"}
                    },
                    "required": ["path"]
                }),
            ),
            spec(
                "list_files",
                "List files (gitignore-aware), optionally under a path and matching a glob.",
                json!({
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "glob": {"type": "string"}}
                }),
            ),
            spec(
                "search",
                "Search file contents with a regular expression (gitignore-aware).",
                json!({
                    "type": "object",
                    "properties": {"pattern": {"type": "string"}, "path": {"type": "string"}},
                    "required": ["pattern"]
                }),
            ),
        ];
        if self.access != Access::ReadOnly {
            v.push(spec("run_command", "Run a shell command at the repository root. Output is capped; API keys are not in its environment.", json!({
                "type": "object",
                "properties": {"command": {"type": "string"}, "timeout_secs": {"type": "integer"}},
                "required": ["command"]
            })));
        }
        if self.access == Access::Write {
            v.push(spec(
                "write_file",
                "Create or overwrite a file.",
                json!({
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                    "required": ["path", "content"]
                }),
            ));
            v.push(spec("edit_file", "Replace one unique occurrence of old_string with new_string.", json!({
                "type": "object",
                "properties": {"path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"}},
                "required": ["path", "old_string", "new_string"]
            })));
        }
        v
    }

    pub async fn call(&self, name: &str, args: &Value) -> ToolResult {
        let allowed = match name {
            "read_file" | "list_files" | "search" => true,
            "run_command" => self.access != Access::ReadOnly,
            "write_file" | "edit_file" => self.access == Access::Write,
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
            _ => return self.run_command(args).await,
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
            },
            Err(e) => failure(e.clone(), format!("{name} {target}: {e}")),
        }
    }

    async fn run_command(&self, args: &Value) -> ToolResult {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            command: String,
            timeout_secs: Option<u64>,
        }
        let a: Args = match parse("run_command", args) {
            Ok(a) => a,
            Err(e) => return failure(e.clone(), format!("run_command: {e}")),
        };
        // An agent may ask for less time than the configured limit, never more.
        let timeout = a
            .timeout_secs
            .map(Duration::from_secs)
            .map_or(self.default_timeout, |t| t.min(self.default_timeout))
            .max(Duration::from_secs(1));
        let out = command::run_shell(
            &a.command,
            &self.root,
            timeout,
            &self.secret_env,
            self.output_cap,
        )
        .await;
        let record = CommandRecord {
            command: a.command.clone(),
            exit_code: out.exit_code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
        };
        ToolResult {
            content: out.render(&a.command),
            is_error: !out.success(),
            summary: format!("run_command `{}`", a.command),
            command: Some(record),
        }
    }
}

fn failure(content: String, summary: String) -> ToolResult {
    ToolResult {
        content,
        is_error: true,
        summary,
        command: None,
    }
}

pub fn spec(name: &str, description: &str, parameters: Value) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters,
    }
}
