//! One ACP session, from `initialize` to the role's ending call: the prompt turns, the
//! agent's requests (permissions, `fs/*`) and its updates.

use std::time::Duration;

use serde_json::{Value, json};

use super::observed::Observed;
use super::rpc::{Connection, Incoming};
use super::{External, START_TIMEOUT, unavailable};
use crate::agent::{AgentError, AgentResult, AgentRun, Vet, first_line};
use crate::mission::{Event, Role, Usage};

pub(super) struct Session<'r, 'a> {
    pub run: &'r AgentRun<'a>,
    pub ext: &'r External,
    pub conn: std::sync::Arc<Connection>,
    pub incoming: tokio::sync::mpsc::UnboundedReceiver<Incoming>,
    pub id: String,
    pub seen: Observed,
    /// The agent's last lines on stderr.
    pub stderr: super::StderrTail,
    /// How its process ended, once it has.
    pub exited: tokio::sync::watch::Receiver<Option<String>>,
    /// The current turn was cancelled.
    pub cancelled: bool,
    /// Whether the agent runs confined (the sandbox in force): only then is it put in its
    /// most permissive mode.
    pub confined: bool,
}

enum Turn {
    Ended(String),
    /// Paused by the human: cancelled, to be prompted again once unpaused.
    Paused,
}

impl Session<'_, '_> {
    pub async fn drive<T: Sync>(
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
                super::initialize_params(run.toolbox.access == crate::agent::tools::Access::Write),
            )
            .await?;
        run.record(&json!({"acp": "initialize", "agent": name, "answer": init}));
        if let Some(v) = init["protocolVersion"].as_u64().filter(|v| *v != 1) {
            return Err(self.gone(format!(
                "it speaks ACP protocol version {v}; the mission speaks version 1"
            )));
        }
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
        run.record(&json!({"acp": "session/new", "answer": new}));
        self.id = new["sessionId"].as_str().unwrap_or_default().to_string();
        if self.id.is_empty() {
            return Err(self.gone(format!("session/new gave no sessionId: {new}")));
        }
        self.set_mode(&new["modes"]).await?;
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
                        commands: std::mem::take(&mut self.seen.commands),
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

    /// The agent's own approval and sandbox mode: the one `[agents] mode` names, else its
    /// most permissive (Codex `full-access`, Claude Code `bypassPermissions`) — its own
    /// sandbox cannot nest in ours, and ours is the boundary. An agent without modes keeps
    /// its default.
    async fn set_mode(&mut self, modes: &Value) -> Result<(), AgentError> {
        let available: Vec<String> = modes["availableModes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        let has = |m: &str| available.iter().any(|a| a == m);
        let wanted = match &self.ext.config.mode {
            Some(m) if has(m) => m.clone(),
            Some(m) => {
                return Err(self.gone(format!(
                    "mode `{m}` is not one of its modes: {}",
                    available.join(", ")
                )));
            }
            // Unconfined (the sandbox switched off), its own guard is all there is.
            None if !self.confined => return Ok(()),
            None => match ["full-access", "bypassPermissions"]
                .into_iter()
                .find(|m| has(m))
            {
                Some(m) => m.to_string(),
                None => return Ok(()),
            },
        };
        if modes["currentModeId"].as_str() == Some(wanted.as_str()) {
            return Ok(());
        }
        let id = self.id.clone();
        self.timed(
            "session/set_mode",
            json!({"sessionId": id, "modeId": wanted}),
        )
        .await?;
        self.run
            .record(&json!({"acp": "session/set_mode", "modeId": wanted}));
        Ok(())
    }

    /// An agent whose output closed has usually exited, or is about to: then say how,
    /// with its last words, rather than only that its output closed.
    async fn why_closed(&mut self, e: String) -> String {
        if !e.contains("closed its output") {
            return e;
        }
        let exited = tokio::time::timeout(Duration::from_secs(1), async {
            while self.exited.borrow().is_none() {
                if self.exited.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        if exited.is_ok() && self.exited.borrow().is_some() {
            self.died().await
        } else {
            e
        }
    }

    /// What to say of an agent whose process ended.
    async fn died(&self) -> String {
        // Its last lines on stderr may still be on their way: wait for them to stop
        // coming (200 ms of quiet), two seconds at most.
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            let quiet = self
                .stderr
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .last
                .is_none_or(|t| t.elapsed() > Duration::from_millis(200));
            if quiet && start.elapsed() > Duration::from_millis(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let how = self.exited.borrow().clone().unwrap_or_default();
        format!("the agent exited ({how})")
    }

    /// An error that ends the run, with the agent's last lines on stderr, where the cause
    /// of a crash usually is.
    fn gone(&self, what: String) -> AgentError {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        if tail.lines.is_empty() {
            return unavailable(&self.ext.name, what);
        }
        let said: Vec<&str> = tail.lines.iter().map(String::as_str).collect();
        unavailable(
            &self.ext.name,
            format!("{what}; its last words on stderr:\n  {}", said.join("\n  ")),
        )
    }

    /// A worker that never called `submit_handoff`: its handoff from its last words and
    /// what the harness saw, marked as written by the harness.
    fn written_handoff(&self) -> Value {
        let said = self.seen.last_message.trim();
        json!({
            "status": "partial",
            "summary": if said.is_empty() { "(the agent said nothing at the end)".to_string() } else { said.chars().take(2000).collect() },
            "deviations": [format!(
                "the external agent `{}` ended without calling submit_handoff, even when asked: the harness wrote this handoff from its last message ({} tool calls seen; the files changed are in the commit)",
                self.ext.name, self.seen.tool_calls
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
                    Ok(()) = self.exited.changed() => break Err(self.died().await),
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
            Ok(Err(e)) => {
                let e = self.why_closed(e).await;
                Err(self.gone(format!("{method}: {e}")))
            }
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
        self.seen.new_turn();
        run.record(&json!({"role": "user", "text": text}));
        let limit = Duration::from_secs(self.ext.config.timeout_secs.unwrap_or(3600));
        let started = tokio::time::Instant::now();
        let conn = self.conn.clone();
        let ask = conn.request(
            "session/prompt",
            json!({"sessionId": self.id, "prompt": [{"type": "text", "text": text}]}),
        );
        tokio::pin!(ask);
        // Once session/cancel is sent: whether for a pause, and when.
        let mut cancelled: Option<(bool, std::time::Instant)> = None;
        self.cancelled = false;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                Ok(()) = self.exited.changed() => {
                    let why = self.died().await;
                    return Err(self.gone(format!("session/prompt: {why}")));
                }
                answer = &mut ask => {
                    // What the agent sent before its answer is in the channel already:
                    // its last words belong to this turn.
                    while let Ok(m) = self.incoming.try_recv() {
                        self.handle(m);
                    }
                    let answer = match answer {
                        Ok(a) => a,
                        Err(e) => {
                            let e = self.why_closed(e).await;
                            return Err(self.gone(format!("session/prompt: {e}")));
                        }
                    };
                    let stop = answer["stopReason"].as_str().unwrap_or("end_turn").to_string();
                    let lines = self.seen.flush();
                    self.transcribe(lines);
                    run.record(&json!({"acp": "stop", "stopReason": stop}));
                    return match cancelled {
                        Some((true, _)) => Ok(Turn::Paused),
                        Some((false, _)) => Err(AgentError::Abandoned),
                        None => Ok(Turn::Ended(stop)),
                    };
                }
                Some(m) = self.incoming.recv() => self.handle(m),
                _ = tick.tick() => {
                    let lines = self.seen.flush_idle(Duration::from_millis(500));
                    self.transcribe(lines);
                    let late = started.elapsed() > limit;
                    if let Some((paused, at)) = cancelled {
                        // An agent that does not stop when told is stopped: its process
                        // group ends with the run (an abort's within seconds; a pause's
                        // at the turn's own limit).
                        let grace = crate::failpoint::acp_cancel_grace_secs();
                        if !paused && at.elapsed() > Duration::from_secs(grace) {
                            run.record(&json!({"acp": "cancel ignored", "after_s": grace}));
                            return Err(AgentError::Abandoned);
                        }
                        if late {
                            return Err(self.gone(format!("its turn ran over {} s (timeout_secs), and it did not stop when cancelled", limit.as_secs())));
                        }
                        continue;
                    }
                    let (paused, failed) = run.hub.read(|s| (s.paused.is_some(), s.failed.is_some()));
                    if paused || failed || late {
                        self.conn.notify("session/cancel", json!({"sessionId": self.id}));
                        self.cancelled = true;
                        run.record(&json!({"acp": "cancel", "paused": paused, "aborted": failed, "timed_out": late}));
                        if late && !paused && !failed {
                            return Err(self.gone(format!("its turn ran over {} s (timeout_secs)", limit.as_secs())));
                        }
                        cancelled = Some((paused && !failed, std::time::Instant::now()));
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
                if method.starts_with("fs/") || answer.is_err() {
                    self.run.record(&json!({
                        "acp": method,
                        "path": params["path"],
                        "error": answer.as_ref().err().map(|(_, m)| m),
                    }));
                }
                self.conn.respond(id, answer);
            }
        }
    }

    fn update(&mut self, u: &Value) {
        let run = self.run;
        let (lines, activity) = self.seen.update(u);
        self.transcribe(lines);
        for (tool, summary, ok) in activity {
            let _ = run.hub.emit(Event::ToolUsed {
                run_id: run.run_id.clone(),
                tool,
                summary,
                ok,
            });
        }
    }

    /// Transcript lines, and the agent's words in the activity feed as a model's are.
    fn transcribe(&self, lines: Vec<Value>) {
        let run = self.run;
        for line in lines {
            run.record(&line);
            let said = line["text"].as_str().filter(|t| {
                line["role"] == "assistant"
                    && !t.starts_with("(thinking)")
                    && !t.starts_with("plan:")
            });
            if let Some(t) = said {
                let _ = run.hub.emit(Event::AgentTurn {
                    run_id: run.run_id.clone(),
                    role: run.role,
                    usage: Usage::default(),
                    tools: vec![],
                    text: Some(first_line(t)),
                });
            }
        }
    }
}
