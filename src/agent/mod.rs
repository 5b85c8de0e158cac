//! The tool-using loop every role runs: ask the model, run the tools it calls, feed the
//! results back, until it calls its ending tool with arguments that parse.

pub mod acp;
mod cap;
mod limit;
mod vet;
use vet::AcceptAll;
pub use vet::Vet;
pub mod context;
pub mod mcp;
pub mod tool;
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
    #[error("the agent made {turns} model calls without finishing")]
    MaxTurns {
        turns: u32,
        /// The commands it ran meanwhile, for a handoff the harness writes.
        commands: Vec<CommandRecord>,
    },
    #[error("{0}")]
    Budget(String),
    /// A human abandoned the mission while this agent waited to go on.
    #[error("the mission was abandoned")]
    Abandoned,
    /// The model kept making the same failing call.
    #[error("stuck repeating {tool} ({repeats}× the same failing call): {error}")]
    Stuck {
        tool: String,
        repeats: u32,
        error: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An external agent (ACP) that could not start, broke its session or died.
    #[error("external agent `{agent}`: {message}")]
    External { agent: String, message: String },
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
    /// Context windows by model, shared by the runner's agents (learned ones included).
    pub windows: &'a context::Windows,
    /// An external agent plays this run over ACP, instead of `llm` turn by turn.
    pub external: Option<acp::External>,
}

/// A failing call made this many times the same way gets a note from the harness…
const REPEAT_NOTE: u32 = 2;
/// …and this many times ends the run.
const REPEAT_STOP: u32 = 4;
/// Replies without a tool call in a row that end the run as stuck.
const PLAIN_STOP: u32 = 3;
/// Compaction starts above this share of the window and aims below the second.
const FILL_HIGH: f64 = 0.8;
const FILL_TARGET: f64 = 0.5;

#[derive(Debug)]
pub struct AgentResult<T> {
    pub value: T,
    pub commands: Vec<CommandRecord>,
    pub mcp_calls: Vec<crate::mission::McpCallRecord>,
    pub usage: Usage,
    /// It handed off in the forced last turn, after `max_turns`.
    pub out_of_turns: bool,
}

impl AgentRun<'_> {
    pub async fn run<T: Sync>(
        self,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<AgentResult<T>, AgentError> {
        self.run_vetted(parse, &AcceptAll).await
    }

    /// As `run`, and arguments that parse are then put to `vet` (which may run commands,
    /// as the plan's baseline does): its `Err` goes back to the model as the tool result,
    /// word for word, and the run goes on.
    pub async fn run_vetted<T: Sync>(
        self,
        parse: impl Fn(&Value) -> Result<T, String>,
        vet: &dyn Vet<T>,
    ) -> Result<AgentResult<T>, AgentError> {
        self.hub.emit(Event::AgentStarted {
            run_id: self.run_id.clone(),
            role: self.role,
            model: self.llm.label(),
            task: first_line(&self.task),
            feature_id: self.feature_id.clone(),
            external: self.external.is_some(),
        })?;
        let result = match &self.external {
            Some(ext) => acp::run(&self, ext, parse, vet).await,
            None => self.turns(parse, vet).await,
        };
        self.hub.emit(Event::AgentFinished {
            run_id: self.run_id.clone(),
            role: self.role,
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        })?;
        result
    }

    /// Before each model call (and each external agent's session): a paused mission
    /// starts nothing until unpaused, an abandoned or over-budget one stops the run.
    async fn may_go_on(&self) -> Result<(), AgentError> {
        self.hub
            .wait_until(|s| s.paused.is_none() || s.failed.is_some())
            .await;
        if self.hub.read(|s| s.failed.is_some()) {
            return Err(AgentError::Abandoned);
        }
        if let Some(reason) = self.hub.read(|s| self.limits.exceeded(s, self.role)) {
            return Err(AgentError::Budget(reason));
        }
        Ok(())
    }

    async fn turns<T: Sync>(
        &self,
        parse: impl Fn(&Value) -> Result<T, String>,
        vet: &dyn Vet<T>,
    ) -> Result<AgentResult<T>, AgentError> {
        let mut tools = self.toolbox.specs();
        tools.extend(self.step_tool.map(|t| t.spec()));
        tools.push(self.ending.clone());
        for t in &mut tools {
            if let Some(to) = crate::failpoint::offered_name(&t.name) {
                t.name = to.into();
            }
        }
        let mut messages = vec![Message::User {
            text: self.task.clone(),
        }];
        self.record(&serde_json::json!({"system": self.system, "tools": tools.iter().map(|t| &t.name).collect::<Vec<_>>()}));
        self.record(&messages[0]);
        let mut commands = vec![];
        let mut mcp_calls = vec![];
        let mut usage = Usage::default();
        let label = self.llm.label();
        let model = label.split_once('/').map_or(label.as_str(), |(_, m)| m);
        // Reported input tokens ÷ our estimate, from the last answer: estimates are rough.
        // Never below 1: a gateway reporting too few tokens must not make us overfill.
        let mut calibration = 1.0f64;
        let fixed = crate::llm::estimate_tokens(&self.system)
            + tools
                .iter()
                .map(|t| {
                    crate::llm::estimate_tokens(&t.parameters.to_string())
                        + crate::llm::estimate_tokens(&t.description)
                })
                .sum::<u64>();
        let mut failing: std::collections::HashMap<(String, String), (String, u32)> =
            std::collections::HashMap::new();
        // Replies in a row without a tool call (a model writing its calls as text).
        let mut plain_replies = 0u32;
        // Near the end the model is told how many turns it has left; after the last one
        // it gets one more, offered only its ending tool (forced), so the work it did is
        // handed off, not lost.
        let warn_at = self.max_turns * 4 / 5;
        let ending_only = [self.ending.clone()];
        for turn in 0..=self.max_turns {
            let last = turn == self.max_turns;
            if self.max_turns >= 5 && turn == warn_at {
                self.note(
                    &mut messages,
                    format!(
                        "[harness: {} of your {} turns are left. Finish what you can, then call `{}`; unfinished work is handed off as partial.]",
                        self.max_turns - turn,
                        self.max_turns,
                        self.ending.name
                    ),
                );
            }
            if last {
                self.note(
                    &mut messages,
                    format!(
                        "[harness: you have used all {} turns. Call `{}` now, and only it: say what is done, what is not and what the next attempt should do (status \"partial\" if unfinished). Your files are kept.]",
                        self.max_turns, self.ending.name
                    ),
                );
            }
            self.may_go_on().await?;
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
            let mut overflows = 0;
            let resp = loop {
                if let Some(window) = self.windows.of(model) {
                    self.fit(&mut messages, window, fixed, calibration)?;
                }
                let estimated = fixed + context::conversation_tokens(&messages);
                let r = self
                    .llm
                    .complete(Request {
                        system: &self.system,
                        messages: &messages,
                        tools: if last { &ending_only } else { &tools },
                        on_retry: Some(&retried),
                        on_spent: Some(&spent),
                        tool_choice: last.then_some(self.ending.name.as_str()),
                    })
                    .await;
                match r {
                    // Too long for the model: learn its window, compact, try again; a
                    // human hears of it only if compaction cannot make it fit.
                    // A limit that resets later than retries wait: pause until then (by
                    // itself, with auto_resume), then ask again; waiting costs nothing.
                    Err(LlmError::RateLimited {
                        model: m,
                        until,
                        message,
                        ..
                    }) => {
                        self.wait_out_limit(&m, until, &message).await?;
                    }
                    Err(LlmError::ContextOverflow { tokens, limit, .. }) if overflows < 3 => {
                        overflows += 1;
                        let (tokens, limit) = (tokens.map(u64::from), limit.map(u64::from));
                        if let Some(t) = tokens.filter(|t| *t > 0) {
                            calibration = (t as f64 / estimated.max(1) as f64).clamp(1.0, 8.0);
                        }
                        let sent = tokens.unwrap_or((estimated as f64 * calibration) as u64);
                        let limit = limit.unwrap_or(sent * 3 / 4).min(sent.saturating_sub(1));
                        self.windows.learn(model, limit.max(1));
                    }
                    Ok(resp) => {
                        if resp.usage.tokens_in > 0 {
                            calibration = (resp.usage.tokens_in as f64 / estimated.max(1) as f64)
                                .clamp(1.0, 8.0);
                        }
                        break Ok(resp);
                    }
                    Err(e) => break Err(e),
                }
            };
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
                reasoning: resp.reasoning,
                text: resp.text,
                tool_calls: resp.tool_calls,
            };
            // The transcript keeps what was said, not the providers' opaque reasoning.
            self.record(&match &assistant {
                Message::Assistant {
                    text, tool_calls, ..
                } => Message::Assistant {
                    text: text.clone(),
                    tool_calls: tool_calls.clone(),
                    reasoning: vec![],
                },
                other => other.clone(),
            });
            messages.push(assistant);
            if calls.is_empty() && last {
                break;
            }
            if calls.is_empty() {
                plain_replies += 1;
                if plain_replies >= PLAIN_STOP {
                    let error = format!(
                        "replied {plain_replies} times in a row without calling a tool (tool calls written as text are not calls)"
                    );
                    self.hub.emit(Event::AgentStuck {
                        run_id: self.run_id.clone(),
                        tool: "(no tool call)".into(),
                        repeats: plain_replies,
                        error: error.clone(),
                    })?;
                    return Err(AgentError::Stuck {
                        tool: "(no tool call)".into(),
                        repeats: plain_replies,
                        error,
                    });
                }
                let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
                let nudge = Message::User {
                    text: format!(
                        "Your reply called no tool. Tools are called through the API's tool calling, not written as text. Use one of: {}; finish by calling `{}`.",
                        names.join(", "),
                        self.ending.name
                    ),
                };
                self.record(&nudge);
                messages.push(nudge);
                continue;
            }
            plain_replies = 0;
            let mut ended = None;
            let mut stuck = None;
            for call in calls {
                let (content, is_error) = if ended.is_some() {
                    ("ignored: the run already ended".to_string(), true)
                } else if last && call.name != self.ending.name {
                    (
                        format!(
                            "refused: the turns are spent; only `{}` may be called now",
                            self.ending.name
                        ),
                        true,
                    )
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
                    // Arguments that do not parse are "refused"; ones that parse but
                    // that the vet sends back (the plan's baseline) are "sent back".
                    let (answer, how) = match parse(&call.arguments) {
                        Ok(v) => match vet.vet(&v).await {
                            Ok(()) => {
                                ended = Some(v);
                                (("accepted".to_string(), false), "")
                            }
                            Err(e) => ((e, true), "sent back"),
                        },
                        Err(e) => (
                            (
                                format!(
                                    "{e}. Fix the arguments and call {} again.",
                                    self.ending.name
                                ),
                                true,
                            ),
                            "refused",
                        ),
                    };
                    // A refused ending is a fact the human and the eval count (a plan not
                    // valid at first); an accepted one shows in the events that follow.
                    if answer.1 {
                        self.hub.emit(Event::ToolUsed {
                            run_id: self.run_id.clone(),
                            tool: call.name.clone(),
                            summary: format!("{} {how}: {}", call.name, first_line(&answer.0)),
                            ok: false,
                        })?;
                    }
                    answer
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
                    if let Some(m) = &r.mcp {
                        mcp_calls.push(m.clone());
                    }
                    // Every tool call in the runner log, as MCP calls are (`mcp call`).
                    if r.mcp.is_none() {
                        tracing::info!(run = %self.run_id, tool = %call.name, ok = !r.is_error, summary = %r.summary, "tool call");
                    }
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
                let mut content = content;
                // A change to the files is progress: earlier failures do not repeat it.
                if !is_error && matches!(call.name.as_str(), "write_file" | "edit_file") {
                    failing.clear();
                }
                if is_error {
                    let key = (call.name.clone(), call.arguments.to_string());
                    let entry = failing.entry(key).or_insert_with(|| (content.clone(), 0));
                    if entry.0 == content {
                        entry.1 += 1;
                    } else {
                        *entry = (content.clone(), 1);
                    }
                    let n = entry.1;
                    if n >= REPEAT_STOP && stuck.is_none() {
                        stuck = Some((call.name.clone(), n, content.clone()));
                    } else if n >= REPEAT_NOTE {
                        content.push_str(&format!(
                            "\n[harness: this is the {n}th identical call to {} failing the same way. Do not repeat it: change the arguments (for edit_file, read the file and copy old_string exactly), try another way, or call {} and say you are blocked.]",
                            call.name, self.ending.name
                        ));
                    }
                }
                let msg = Message::Tool {
                    call_id: call.id,
                    name: call.name,
                    content: cap::cap_result(content),
                    is_error,
                };
                self.record(&msg);
                messages.push(msg);
            }
            if let Some(value) = ended {
                return Ok(AgentResult {
                    value,
                    commands,
                    mcp_calls,
                    usage,
                    out_of_turns: last,
                });
            }
            if last {
                break;
            }
            if let Some((tool, repeats, error)) = stuck {
                let error: String = error
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect();
                self.hub.emit(Event::AgentStuck {
                    run_id: self.run_id.clone(),
                    tool: tool.clone(),
                    repeats,
                    error: error.clone(),
                })?;
                return Err(AgentError::Stuck {
                    tool,
                    repeats,
                    error,
                });
            }
        }
        Err(AgentError::MaxTurns {
            turns: self.max_turns,
            commands,
        })
    }

    /// A line from the harness to the model: on the last tool result when there is one
    /// (every provider takes that), else as a message of its own.
    fn note(&self, messages: &mut Vec<Message>, text: String) {
        self.record(&serde_json::json!({"harness": text}));
        match messages.last_mut() {
            Some(Message::Tool { content, .. }) => {
                content.push_str("\n\n");
                content.push_str(&text);
            }
            _ => messages.push(Message::User { text }),
        }
    }

    /// Compacts the conversation when it would fill more than `FILL_HIGH` of `window`.
    fn fit(
        &self,
        messages: &mut [Message],
        window: u64,
        fixed: u64,
        calibration: f64,
    ) -> Result<(), AgentError> {
        let scale = |n: u64| (n as f64 * calibration) as u64;
        let now = scale(fixed + context::conversation_tokens(messages));
        if (now as f64) < window as f64 * FILL_HIGH {
            return Ok(());
        }
        let target = ((window as f64 * FILL_TARGET) / calibration) as u64;
        let Some(c) = context::compact(messages, target.saturating_sub(fixed)) else {
            return Ok(());
        };
        let (before, after) = (
            scale(c.tokens_before + fixed),
            scale(c.tokens_after + fixed),
        );
        self.record(&serde_json::json!({"context_compacted": {
            "tokens_before": before, "tokens_after": after, "elided": c.elided, "window": window
        }}));
        self.hub.emit(Event::ContextCompacted {
            run_id: self.run_id.clone(),
            tokens_before: before,
            tokens_after: after,
            elided: c.elided,
        })?;
        Ok(())
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
