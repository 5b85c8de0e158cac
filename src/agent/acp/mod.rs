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

pub mod ending;
mod rpc;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::{AgentError, AgentResult, AgentRun, Vet, first_line};
use crate::config::agents::{AgentConfig, Permissions};
use crate::llm::LlmError;
use crate::mission::{Event, Role, Usage};
use rpc::{Connection, Incoming};

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

fn unavailable(name: &str, what: String) -> AgentError {
    AgentError::Llm(LlmError::Unavailable(format!(
        "external agent `{name}`: {what}"
    )))
}

/// The agent's process, its group ended on drop.
struct Process {
    child: tokio::process::Child,
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
        let _ = self.child.start_kill();
    }
}

fn spawn(run: &AgentRun<'_>, ext: &External) -> Result<Process, AgentError> {
    let mut launcher = run.toolbox.commands.clone().unwrap_or_default();
    launcher.network = ext.config.network.unwrap_or(true);
    let mut env = launcher.child_env();
    for (k, v) in &ext.config.env {
        env.push((k.into(), v.into()));
    }
    for name in &ext.config.env_pass {
        let value = std::env::var_os(name).ok_or_else(|| {
            unavailable(
                &ext.name,
                format!("`{name}` (env_pass) is not set in the runner's environment: export it"),
            )
        })?;
        env.push((name.into(), value));
    }
    let root = &run.toolbox.root;
    let mut cmd = tokio::process::Command::new(&ext.config.command[0]);
    cmd.args(&ext.config.command[1..])
        .current_dir(root)
        .env_clear()
        .envs(env)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    launcher
        .set_up_child(&mut cmd, root)
        .map_err(|e| unavailable(&ext.name, format!("cannot confine it: {e}")))?;
    let child = cmd.spawn().map_err(|e| {
        unavailable(
            &ext.name,
            format!("cannot start `{}`: {e}", ext.config.command.join(" ")),
        )
    })?;
    let pgid = child.id();
    if let (Some(g), Some(pid)) = (&launcher.groups, pgid) {
        g.add(pid);
    }
    Ok(Process {
        child,
        pgid,
        groups: launcher.groups.clone(),
    })
}

/// `mission doctor`: starts the agent as configured, asks `initialize`, and says who
/// answered with what; the agent's process group ends after.
pub async fn probe(config: &AgentConfig, cwd: &Path) -> Result<String, String> {
    let Some(program) = config.command.first() else {
        return Err("no command".into());
    };
    // As in a mission: the allowlisted variables, the agent's settings, its keys by name.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| crate::sandbox::env::env_allowed(k, &[]))
        .collect();
    env.extend(config.env.clone());
    for name in &config.env_pass {
        let v = std::env::var(name).map_err(|_| {
            format!("`{name}` (env_pass) is not set in this environment: export it")
        })?;
        env.push((name.clone(), v));
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&config.command[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .process_group(0)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", config.command.join(" ")))?;
    let pgid = child.id();
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no stdio".into());
    };
    let (conn, _incoming) = Connection::start(stdin, stdout);
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        START_TIMEOUT,
        conn.request(
            "initialize",
            json!({"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": false}}),
        ),
    )
    .await;
    if let Some(pgid) = pgid {
        crate::sandbox::groups::kill_process_group(pgid);
    }
    let _ = child.start_kill();
    let init = match answer {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Err(format!("initialize failed: {e}")),
        Err(_) => {
            return Err(format!(
                "no answer to initialize within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
    };
    let info = &init["agentInfo"];
    let caps = &init["agentCapabilities"];
    let mut can = vec![];
    if caps["loadSession"].as_bool() == Some(true) {
        can.push("load sessions".to_string());
    }
    if caps["promptCapabilities"]["image"].as_bool() == Some(true) {
        can.push("images".into());
    }
    let mcp = &caps["mcpCapabilities"];
    can.push(format!(
        "MCP over stdio{}{}",
        if mcp["http"].as_bool() == Some(true) {
            ", http"
        } else {
            ""
        },
        if mcp["sse"].as_bool() == Some(true) {
            ", sse"
        } else {
            ""
        }
    ));
    let auth: Vec<&str> = init["authMethods"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    Ok(format!(
        "{} {} (ACP protocol {}) answered in {:.1}s; can: {}{}",
        info["name"].as_str().unwrap_or("an unnamed agent"),
        info["version"].as_str().unwrap_or(""),
        init["protocolVersion"],
        started.elapsed().as_secs_f64(),
        can.join(", "),
        if auth.is_empty() {
            String::new()
        } else {
            format!("; sign-in methods: {}", auth.join(", "))
        }
    ))
}

/// Runs one session of the external agent to its ending call.
pub async fn run<T: Sync>(
    run: &AgentRun<'_>,
    ext: &External,
    parse: impl Fn(&Value) -> Result<T, String>,
    vet: &dyn Vet<T>,
) -> Result<AgentResult<T>, AgentError> {
    let mut process = spawn(run, ext)?;
    let (Some(stdin), Some(stdout)) = (process.child.stdin.take(), process.child.stdout.take())
    else {
        return Err(unavailable(&ext.name, "no stdio".into()));
    };
    if let Some(stderr) = process.child.stderr.take() {
        let name = ext.name.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                tracing::debug!(agent = %name, "{l}");
            }
        });
    }
    let (conn, incoming) = Connection::start(stdin, stdout);
    let mut session = Session {
        run,
        ext,
        conn: std::sync::Arc::new(conn),
        incoming,
        id: String::new(),
        last_message: String::new(),
        tool_calls: 0,
    };
    let result = session.drive(parse, vet).await;
    drop(process);
    result
}

struct Session<'r, 'a> {
    run: &'r AgentRun<'a>,
    ext: &'r External,
    conn: std::sync::Arc<Connection>,
    incoming: tokio::sync::mpsc::UnboundedReceiver<Incoming>,
    id: String,
    /// The agent's text since the last prompt.
    last_message: String,
    tool_calls: usize,
}

enum Turn {
    Ended(String),
    /// Paused by the human: cancelled, to be prompted again once unpaused.
    Paused,
}

impl Session<'_, '_> {
    async fn drive<T: Sync>(
        &mut self,
        parse: impl Fn(&Value) -> Result<T, String>,
        vet: &dyn Vet<T>,
    ) -> Result<AgentResult<T>, AgentError> {
        let run = self.run;
        let name = self.ext.name.clone();
        let ending = &run.ending.name;
        let init = self
            .timed(
                "initialize",
                json!({
                    "protocolVersion": 1,
                    "clientCapabilities": {
                        "fs": {"readTextFile": true, "writeTextFile": run.toolbox.access == crate::agent::tools::Access::Write},
                        "terminal": false
                    },
                    "clientInfo": {"name": "mission", "version": env!("CARGO_PKG_VERSION")}
                }),
            )
            .await?;
        run.record(&json!({"acp": "initialize", "agent": name, "answer": init}));
        let dir = self.ext.scratch.join(format!("acp-{}", run.run_id));
        std::fs::create_dir_all(&dir)
            .map_err(|e| unavailable(&name, format!("{}: {e}", dir.display())))?;
        let spec = dir.join("ending.json");
        let out = dir.join("call.json");
        let _ = std::fs::remove_file(&out);
        std::fs::write(
            &spec,
            serde_json::to_string(&run.ending).unwrap_or_default(),
        )
        .map_err(|e| unavailable(&name, format!("{}: {e}", spec.display())))?;
        let new = self
            .timed(
                "session/new",
                json!({
                    "cwd": run.toolbox.root,
                    "mcpServers": [{
                        "name": "mission",
                        "command": self.ext.exe,
                        "args": ["acp-ending", "--spec", spec, "--out", out],
                        "env": []
                    }]
                }),
            )
            .await?;
        self.id = new["sessionId"].as_str().unwrap_or_default().to_string();
        if self.id.is_empty() {
            return Err(unavailable(
                &name,
                format!("session/new gave no sessionId: {new}"),
            ));
        }
        let mut prompt = format!(
            "{}\n\n---\n\n{}\n\n[mission: your work is handed over only by calling the `{ending}` tool of the `mission` MCP server. Call it when you are done, then end your turn.]",
            run.system, run.task
        );
        let mut asked_for_ending = false;
        let mut refused = false;
        loop {
            let stop = match self.prompt(&prompt).await? {
                Turn::Paused => {
                    run.hub
                        .wait_until(|s| s.paused.is_none() || s.failed.is_some())
                        .await;
                    if run.hub.read(|s| s.failed.is_some()) {
                        return Err(AgentError::Abandoned);
                    }
                    prompt = "[mission: the mission was paused and goes on now: continue where you were.]".into();
                    continue;
                }
                Turn::Ended(stop) => stop,
            };
            let call = std::fs::read_to_string(&out)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let _ = std::fs::remove_file(&out);
            let args = match call {
                Some(args) => args,
                None if !asked_for_ending => {
                    asked_for_ending = true;
                    prompt = format!(
                        "[mission: your turn ended ({stop}) without a call to `{ending}` of the `mission` MCP server. Call it now with what you did; the work is not handed over otherwise.]"
                    );
                    continue;
                }
                None if run.role == Role::Worker => self.written_handoff(),
                None => {
                    return Err(unavailable(
                        &name,
                        format!("ended twice without calling `{ending}`"),
                    ));
                }
            };
            let checked = match parse(&args) {
                Ok(v) => vet.vet(&v).await.map(|()| v),
                Err(e) => Err(e),
            };
            match checked {
                Ok(value) => {
                    return Ok(AgentResult {
                        value,
                        commands: vec![],
                        mcp_calls: vec![],
                        // The agent reports no usage over ACP: the cost is unknown, not 0.
                        usage: Usage::default(),
                        out_of_turns: false,
                    });
                }
                Err(e) if !refused => {
                    refused = true;
                    let _ = run.hub.emit(Event::ToolUsed {
                        run_id: run.run_id.clone(),
                        tool: ending.clone(),
                        summary: format!("{ending} refused: {}", first_line(&e)),
                        ok: false,
                    });
                    prompt = format!(
                        "[mission: `{ending}` was refused: {e}\nFix it and call `{ending}` again.]"
                    );
                }
                Err(e) => return Err(unavailable(&name, format!("`{ending}` refused twice: {e}"))),
            }
        }
    }

    /// A worker that never called `submit_handoff`: its handoff from its last words and
    /// what the harness saw, marked as written by the harness.
    fn written_handoff(&self) -> Value {
        let said = self.last_message.trim();
        json!({
            "status": "partial",
            "summary": if said.is_empty() { "(the agent said nothing at the end)".to_string() } else { said.chars().take(2000).collect() },
            "deviations": [format!(
                "the external agent `{}` ended without calling submit_handoff, even when asked: the harness wrote this handoff from its last message ({} tool calls seen; the files changed are in the commit)",
                self.ext.name, self.tool_calls
            )]
        })
    }

    async fn timed(&mut self, method: &str, params: Value) -> Result<Value, AgentError> {
        let name = self.ext.name.clone();
        let conn = self.conn.clone();
        let ask = conn.request(method, params);
        let answer = tokio::time::timeout(START_TIMEOUT, async {
            tokio::pin!(ask);
            loop {
                tokio::select! {
                    a = &mut ask => {
                        while let Ok(m) = self.incoming.try_recv() {
                            self.handle(m);
                        }
                        break a;
                    }
                    Some(m) = self.incoming.recv() => self.handle(m),
                }
            }
        })
        .await;
        match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(unavailable(&name, format!("{method}: {e}"))),
            Err(_) => Err(unavailable(
                &name,
                format!(
                    "{method} had no answer within {} s",
                    START_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    /// One prompt turn, serving the agent's requests meanwhile; cancelled on pause or
    /// abort, and after `timeout_secs`.
    async fn prompt(&mut self, text: &str) -> Result<Turn, AgentError> {
        let run = self.run;
        self.last_message.clear();
        run.record(&json!({"role": "user", "text": text}));
        let limit = Duration::from_secs(self.ext.config.timeout_secs.unwrap_or(3600));
        let started = tokio::time::Instant::now();
        let conn = self.conn.clone();
        let ask = conn.request(
            "session/prompt",
            json!({"sessionId": self.id, "prompt": [{"type": "text", "text": text}]}),
        );
        tokio::pin!(ask);
        let mut cancelled: Option<bool> = None; // Some(paused?) once session/cancel is sent
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                answer = &mut ask => {
                    // What the agent sent before its answer is in the channel already:
                    // its last words belong to this turn.
                    while let Ok(m) = self.incoming.try_recv() {
                        self.handle(m);
                    }
                    let name = &self.ext.name;
                    let answer = answer.map_err(|e| unavailable(name, format!("session/prompt: {e}")))?;
                    let stop = answer["stopReason"].as_str().unwrap_or("end_turn").to_string();
                    run.record(&json!({"acp": "stop", "stopReason": stop}));
                    return match cancelled {
                        Some(true) => Ok(Turn::Paused),
                        Some(false) => Err(AgentError::Abandoned),
                        None => Ok(Turn::Ended(stop)),
                    };
                }
                Some(m) = self.incoming.recv() => self.handle(m),
                _ = tick.tick() => {
                    if cancelled.is_some() {
                        continue;
                    }
                    let (paused, failed) = run.hub.read(|s| (s.paused.is_some(), s.failed.is_some()));
                    let late = started.elapsed() > limit;
                    if paused || failed || late {
                        self.conn.notify("session/cancel", json!({"sessionId": self.id}));
                        run.record(&json!({"acp": "cancel", "paused": paused, "aborted": failed, "timed_out": late}));
                        if late && !paused && !failed {
                            return Err(unavailable(&self.ext.name, format!("its turn ran over {} s (timeout_secs)", limit.as_secs())));
                        }
                        cancelled = Some(paused && !failed);
                    }
                }
            }
        }
    }

    fn handle(&mut self, m: Incoming) {
        match m {
            Incoming::Notification { method, params } if method == "session/update" => {
                self.update(&params["update"]);
            }
            Incoming::Notification { .. } => {}
            Incoming::Request { id, method, params } => {
                let answer = match method.as_str() {
                    "session/request_permission" => Ok(self.permission(&params)),
                    "fs/read_text_file" => self.read(&params),
                    "fs/write_text_file" => self.write(&params),
                    other => Err((-32601, format!("method not found: {other}"))),
                };
                self.conn.respond(id, answer);
            }
        }
    }

    fn update(&mut self, u: &Value) {
        let run = self.run;
        let kind = u["sessionUpdate"].as_str().unwrap_or("");
        match kind {
            "agent_message_chunk" => {
                if let Some(t) = u["content"]["text"].as_str() {
                    self.last_message.push_str(t);
                }
            }
            "tool_call" => {
                self.tool_calls += 1;
                let title = u["title"].as_str().unwrap_or("a tool");
                let _ = run.hub.emit(Event::ToolUsed {
                    run_id: run.run_id.clone(),
                    tool: u["kind"].as_str().unwrap_or("tool").to_string(),
                    summary: first_line(title),
                    ok: u["status"].as_str() != Some("failed"),
                });
            }
            "tool_call_update" if u["status"].as_str() == Some("failed") => {
                let _ = run.hub.emit(Event::ToolUsed {
                    run_id: run.run_id.clone(),
                    tool: "tool".into(),
                    summary: format!("{} failed", u["title"].as_str().unwrap_or("a tool call")),
                    ok: false,
                });
            }
            _ => {}
        }
        run.record(&json!({"acp": "update", "update": u}));
    }

    /// Answered by policy, inside the sandbox that is the real boundary.
    fn permission(&self, params: &Value) -> Value {
        let run = self.run;
        let allow = self.ext.config.permissions == Permissions::Allow;
        let wanted: &[&str] = if allow {
            &["allow_once", "allow_always"]
        } else {
            &["reject_once", "reject_always"]
        };
        let options = params["options"].as_array().cloned().unwrap_or_default();
        let chosen = wanted.iter().find_map(|k| {
            options
                .iter()
                .find(|o| o["kind"].as_str() == Some(k))
                .and_then(|o| o["optionId"].as_str())
        });
        let title = params["toolCall"]["title"]
            .as_str()
            .unwrap_or("a tool call");
        let _ = run.hub.emit(Event::ToolUsed {
            run_id: run.run_id.clone(),
            tool: "permission".into(),
            summary: format!(
                "{} {}",
                if chosen.is_some() && allow {
                    "allowed:"
                } else {
                    "denied:"
                },
                first_line(title)
            ),
            ok: true,
        });
        match chosen {
            Some(id) => json!({"outcome": {"outcome": "selected", "optionId": id}}),
            None => json!({"outcome": {"outcome": "cancelled"}}),
        }
    }

    fn inside(&self, params: &Value, write: bool) -> Result<PathBuf, (i64, String)> {
        let root = &self.run.toolbox.root;
        let path = Path::new(params["path"].as_str().unwrap_or(""));
        let rel = path.strip_prefix(root).unwrap_or(path);
        crate::agent::tools::paths::confine(root, &rel.to_string_lossy(), write)
            .map_err(|e| (-32602, e.to_string()))
    }

    fn read(&self, params: &Value) -> Result<Value, (i64, String)> {
        let p = self.inside(params, false)?;
        let text =
            std::fs::read_to_string(&p).map_err(|e| (-32603, format!("{}: {e}", p.display())))?;
        let from = params["line"].as_u64().unwrap_or(1).max(1) as usize - 1;
        let content = match params["limit"].as_u64() {
            Some(n) => text
                .lines()
                .skip(from)
                .take(n as usize)
                .collect::<Vec<_>>()
                .join("\n"),
            None if from > 0 => text.lines().skip(from).collect::<Vec<_>>().join("\n"),
            None => text,
        };
        Ok(json!({"content": content}))
    }

    fn write(&self, params: &Value) -> Result<Value, (i64, String)> {
        if self.run.toolbox.access != crate::agent::tools::Access::Write {
            return Err((-32603, format!("the {} may not write files", self.run.role)));
        }
        let p = self.inside(params, true)?;
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| (-32603, e.to_string()))?;
        }
        std::fs::write(&p, params["content"].as_str().unwrap_or(""))
            .map_err(|e| (-32603, format!("{}: {e}", p.display())))?;
        let _ = self.run.hub.emit(Event::ToolUsed {
            run_id: self.run.run_id.clone(),
            tool: "write_file".into(),
            summary: format!(
                "wrote {}",
                p.strip_prefix(&self.run.toolbox.root)
                    .unwrap_or(&p)
                    .display()
            ),
            ok: true,
        });
        Ok(Value::Null)
    }
}
