//! The tool-using loop every role runs: ask the model, run the tools it calls, feed the
//! results back, until it calls its ending tool with arguments that parse.

pub mod tools;

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use crate::hub::Hub;
use crate::llm::{LlmClient, LlmError, Message, Request, ToolSpec};
use crate::mission::{CommandRecord, Event, Limits, Role, Usage};
use crate::store::StoreError;
use tools::Toolbox;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the agent made {0} model calls without finishing")]
    MaxTurns(u32),
    #[error("{0}")]
    Budget(String),
    /// A human abandoned the mission while this agent waited to go on.
    #[error("the mission was abandoned")]
    Abandoned,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A tool that belongs to one step rather than to the toolbox (the orchestrator's
/// `explore`, which starts agents of its own).
#[async_trait::async_trait]
pub trait StepTool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    /// The content for the model, and whether it is an error.
    async fn call(&self, args: &Value) -> (String, bool);
}

pub struct AgentRun<'a> {
    pub hub: &'a Hub,
    pub llm: &'a dyn LlmClient,
    pub role: Role,
    pub run_id: String,
    pub system: String,
    pub task: String,
    pub feature_id: Option<String>,
    pub toolbox: &'a Toolbox,
    pub ending: ToolSpec,
    pub max_turns: u32,
    pub limits: &'a Limits,
    pub transcript: PathBuf,
    pub step_tool: Option<&'a dyn StepTool>,
}

#[derive(Debug)]
pub struct AgentResult<T> {
    pub value: T,
    pub commands: Vec<CommandRecord>,
    pub usage: Usage,
}

impl AgentRun<'_> {
    pub async fn run<T>(
        self,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<AgentResult<T>, AgentError> {
        self.hub.emit(Event::AgentStarted {
            run_id: self.run_id.clone(),
            role: self.role,
            model: self.llm.label(),
            task: first_line(&self.task),
            feature_id: self.feature_id.clone(),
        })?;
        let result = self.turns(parse).await;
        self.hub.emit(Event::AgentFinished {
            run_id: self.run_id.clone(),
            role: self.role,
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        })?;
        result
    }

    async fn turns<T>(
        &self,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<AgentResult<T>, AgentError> {
        let mut tools = self.toolbox.specs();
        tools.extend(self.step_tool.map(|t| t.spec()));
        tools.push(self.ending.clone());
        let mut messages = vec![Message::User {
            text: self.task.clone(),
        }];
        self.record(&serde_json::json!({"system": self.system, "tools": tools.iter().map(|t| &t.name).collect::<Vec<_>>()}));
        self.record(&messages[0]);
        let mut commands = vec![];
        let mut usage = Usage::default();
        for _ in 0..self.max_turns {
            // A paused mission starts no new turn; a spent budget stops the run.
            self.hub
                .wait_until(|s| s.paused.is_none() || s.failed.is_some())
                .await;
            if self.hub.read(|s| s.failed.is_some()) {
                return Err(AgentError::Abandoned);
            }
            if let Some(reason) = self.hub.read(|s| self.limits.exceeded(s, self.role)) {
                return Err(AgentError::Budget(reason));
            }
            let retried = |message: String| {
                let _ = self.hub.emit(Event::ModelRetried {
                    run_id: self.run_id.clone(),
                    message,
                });
            };
            // Tokens of attempts that broke mid-answer are billed: a turn that produced
            // nothing, so budgets and the handoff count them.
            let lost = std::sync::Mutex::new(Usage::default());
            let spent = |u: &Usage| {
                lost.lock().unwrap_or_else(|p| p.into_inner()).add(u);
                let _ = self.hub.emit(Event::AgentTurn {
                    run_id: self.run_id.clone(),
                    role: self.role,
                    usage: u.clone(),
                    tools: vec![],
                    text: None,
                });
            };
            let resp = self
                .llm
                .complete(Request {
                    system: &self.system,
                    messages: &messages,
                    tools: &tools,
                    on_retry: Some(&retried),
                    on_spent: Some(&spent),
                })
                .await;
            usage.add(&lost.into_inner().unwrap_or_else(|p| p.into_inner()));
            let resp = resp?;
            usage.add(&resp.usage);
            self.hub.emit(Event::AgentTurn {
                run_id: self.run_id.clone(),
                role: self.role,
                usage: resp.usage.clone(),
                tools: resp.tool_calls.iter().map(|c| c.name.clone()).collect(),
                text: resp
                    .text
                    .as_deref()
                    .map(|t| shorten(t, 400))
                    .filter(|t| !t.is_empty()),
            })?;
            let calls = resp.tool_calls.clone();
            let assistant = Message::Assistant {
                text: resp.text,
                tool_calls: resp.tool_calls,
            };
            self.record(&assistant);
            messages.push(assistant);
            if calls.is_empty() {
                let nudge = Message::User {
                    text: format!(
                        "Use the tools to work, and finish by calling `{}`.",
                        self.ending.name
                    ),
                };
                self.record(&nudge);
                messages.push(nudge);
                continue;
            }
            let mut ended = None;
            for call in calls {
                let (content, is_error) = if ended.is_some() {
                    ("ignored: the run already ended".to_string(), true)
                } else if !call.arguments.is_object() {
                    // Malformed JSON from the model goes back to it, not into a crash.
                    let raw: String = call.arguments.to_string().chars().take(200).collect();
                    (
                        format!(
                            "the arguments for {} were not a JSON object: {raw}. Call it again with valid JSON.",
                            call.name
                        ),
                        true,
                    )
                } else if call.name == self.ending.name {
                    match parse(&call.arguments) {
                        Ok(v) => {
                            ended = Some(v);
                            ("accepted".to_string(), false)
                        }
                        Err(e) => (
                            format!(
                                "{e}. Fix the arguments and call {} again.",
                                self.ending.name
                            ),
                            true,
                        ),
                    }
                } else if let Some(tool) = self.step_tool.filter(|t| t.spec().name == call.name) {
                    let (content, is_error) = tool.call(&call.arguments).await;
                    self.hub.emit(Event::ToolUsed {
                        run_id: self.run_id.clone(),
                        tool: call.name.clone(),
                        summary: format!("{} done", call.name),
                        ok: !is_error,
                    })?;
                    (content, is_error)
                } else {
                    let r = self.toolbox.call(&call.name, &call.arguments).await;
                    match &r.command {
                        Some(c) => {
                            commands.push(c.clone());
                            self.hub.emit(Event::CommandRan {
                                run_id: self.run_id.clone(),
                                command: c.command.clone(),
                                exit_code: c.exit_code,
                                duration_ms: c.duration_ms,
                                timed_out: c.timed_out,
                                restored: c.restored.clone(),
                            })?;
                        }
                        None => {
                            self.hub.emit(Event::ToolUsed {
                                run_id: self.run_id.clone(),
                                tool: call.name.clone(),
                                summary: r.summary.clone(),
                                ok: !r.is_error,
                            })?;
                        }
                    }
                    (r.content, r.is_error)
                };
                let msg = Message::Tool {
                    call_id: call.id,
                    name: call.name,
                    content,
                    is_error,
                };
                self.record(&msg);
                messages.push(msg);
            }
            if let Some(value) = ended {
                return Ok(AgentResult {
                    value,
                    commands,
                    usage,
                });
            }
        }
        Err(AgentError::MaxTurns(self.max_turns))
    }

    /// Appends to the run's transcript. Best effort: a full disk must not stop the run,
    /// the event log is what resume relies on.
    fn record(&self, value: &impl serde::Serialize) {
        let Ok(line) = serde_json::to_string(value) else {
            return;
        };
        if let Ok(mut f) = std::os::unix::fs::OpenOptionsExt::mode(
            std::fs::OpenOptions::new().create(true).append(true),
            0o600,
        )
        .open(&self.transcript)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    format!("{}…", s.chars().take(max).collect::<String>())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(120).collect()
}
