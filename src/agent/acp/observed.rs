//! What the harness makes of an agent's `session/update`s: readable transcript lines (the
//! console's transcript view reads the same shapes as for built-in roles), lines for the
//! activity feed, and the commands it saw run with their exit codes, for the handoff.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Value, json};

use crate::agent::first_line;
use crate::mission::CommandRecord;

/// An activity line: tool, summary, ok.
pub(super) type Activity = (String, String, bool);

#[derive(Default)]
pub(super) struct Observed {
    /// The agent's words since the last transcript line, and its thoughts.
    text: String,
    thought: String,
    /// Its words since the last prompt: a handoff the harness writes quotes them.
    pub last_message: String,
    pub tool_calls: usize,
    /// When the last word or thought came: gathered text is written once the agent pauses.
    last_chunk: Option<Instant>,
    calls: HashMap<String, Call>,
    /// Commands it ran whose exit code it reported.
    pub commands: Vec<CommandRecord>,
}

struct Call {
    title: String,
    command: Option<String>,
    started: Instant,
}

impl Observed {
    pub fn new_turn(&mut self) {
        self.last_message.clear();
    }

    /// Transcript lines and activity for one update.
    pub fn update(&mut self, u: &Value) -> (Vec<Value>, Vec<Activity>) {
        let mut lines = vec![];
        let mut activity = vec![];
        match u["sessionUpdate"].as_str().unwrap_or("") {
            "agent_message_chunk" => {
                if let Some(t) = u["content"]["text"].as_str() {
                    self.text.push_str(t);
                    self.last_message.push_str(t);
                    self.last_chunk = Some(Instant::now());
                }
            }
            "agent_thought_chunk" => {
                if let Some(t) = u["content"]["text"].as_str() {
                    self.thought.push_str(t);
                    self.last_chunk = Some(Instant::now());
                }
            }
            "tool_call" => {
                lines.extend(self.flush());
                let id = u["toolCallId"].as_str().unwrap_or("").to_string();
                let title = u["title"].as_str().unwrap_or("a tool").to_string();
                // Claude Code's adapter announces a call twice, the second time with its
                // input: one call, named by the fuller title.
                if let Some(c) = self.calls.get_mut(&id) {
                    c.title = title;
                    if u["kind"].as_str() == Some("execute") {
                        c.command = command_of(u).or(c.command.take());
                    }
                    return (lines, activity);
                }
                self.tool_calls += 1;
                let kind = u["kind"].as_str().unwrap_or("tool").to_string();
                let command = (kind == "execute").then(|| command_of(u).unwrap_or(title.clone()));
                lines.push(json!({"role": "assistant", "tool_calls": [{
                    "name": format!("{kind}: {title}"),
                    "arguments": u.get("rawInput").cloned().unwrap_or(json!({})),
                }]}));
                activity.push((
                    kind,
                    first_line(&title),
                    u["status"].as_str() != Some("failed"),
                ));
                self.calls.insert(
                    id,
                    Call {
                        title,
                        command,
                        started: Instant::now(),
                    },
                );
            }
            "tool_call_update" => {
                let status = u["status"].as_str().unwrap_or("");
                if !matches!(status, "completed" | "failed") {
                    return (lines, activity);
                }
                let id = u["toolCallId"].as_str().unwrap_or("");
                let call = self.calls.remove(id);
                let title = u["title"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| call.as_ref().map(|c| c.title.clone()))
                    .unwrap_or_else(|| "a tool call".into());
                let exit = exit_code(u);
                lines.push(json!({
                    "role": "tool",
                    "name": title,
                    "content": content_text(u).unwrap_or_else(|| status.to_string()),
                    "is_error": status == "failed" || exit.is_some_and(|c| c != 0),
                }));
                if status == "failed" {
                    activity.push((
                        "tool".into(),
                        format!("{} failed", first_line(&title)),
                        false,
                    ));
                }
                if let (Some(c), Some(code)) = (call, exit)
                    && let Some(command) = c.command
                {
                    self.commands.push(CommandRecord {
                        command,
                        exit_code: Some(code),
                        duration_ms: c.started.elapsed().as_millis() as u64,
                        timed_out: false,
                        restored: vec![],
                    });
                }
            }
            "plan" => {
                lines.extend(self.flush());
                let entries: Vec<String> = u["entries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        format!(
                            "- [{}] {}",
                            e["status"].as_str().unwrap_or("pending"),
                            e["content"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                lines.push(
                    json!({"role": "assistant", "text": format!("plan:\n{}", entries.join("\n"))}),
                );
            }
            _ => lines.push(json!({"acp": "update", "update": u})),
        }
        (lines, activity)
    }

    /// The words gathered, once the agent has said nothing for `quiet`: a console
    /// following the transcript sees them while the turn goes on.
    pub fn flush_idle(&mut self, quiet: std::time::Duration) -> Vec<Value> {
        match self.last_chunk {
            Some(t) if t.elapsed() >= quiet => self.flush(),
            _ => vec![],
        }
    }

    /// The words and thoughts gathered so far, as transcript lines.
    pub fn flush(&mut self) -> Vec<Value> {
        self.last_chunk = None;
        let mut out = vec![];
        if !self.thought.trim().is_empty() {
            out.push(
                json!({"role": "assistant", "text": format!("(thinking) {}", self.thought.trim())}),
            );
        }
        if !self.text.trim().is_empty() {
            out.push(json!({"role": "assistant", "text": self.text.trim()}));
        }
        self.thought.clear();
        self.text.clear();
        out
    }
}

/// The command line of an `execute` tool call, as the adapters put it in `rawInput`.
fn command_of(u: &Value) -> Option<String> {
    match &u["rawInput"]["command"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

fn exit_code(u: &Value) -> Option<i32> {
    let out = &u["rawOutput"];
    ["exit_code", "exitCode", "code"]
        .iter()
        .find_map(|k| out[k].as_i64())
        .map(|c| c as i32)
}

fn content_text(u: &Value) -> Option<String> {
    let texts: Vec<&str> = u["content"]
        .as_array()?
        .iter()
        .filter_map(|c| c["content"]["text"].as_str().or(c["text"].as_str()))
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_become_transcript_lines_activity_and_commands() {
        let mut o = Observed::default();
        for t in ["Let me ", "look."] {
            let (lines, _) = o.update(&json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": t}}));
            assert!(lines.is_empty(), "chunks gather");
        }
        let (lines, activity) = o.update(&json!({
            "sessionUpdate": "tool_call", "toolCallId": "c1", "title": "cargo test",
            "kind": "execute", "status": "pending", "rawInput": {"command": ["cargo", "test"]}
        }));
        assert_eq!(
            lines[0],
            json!({"role": "assistant", "text": "Let me look."})
        );
        assert_eq!(lines[1]["tool_calls"][0]["name"], "execute: cargo test");
        assert_eq!(
            activity,
            vec![("execute".into(), "cargo test".into(), true)]
        );
        let (lines, _) = o.update(&json!({
            "sessionUpdate": "tool_call_update", "toolCallId": "c1", "status": "completed",
            "rawOutput": {"exit_code": 101},
            "content": [{"type": "content", "content": {"type": "text", "text": "1 failed"}}]
        }));
        assert_eq!(
            lines[0],
            json!({"role": "tool", "name": "cargo test", "content": "1 failed", "is_error": true})
        );
        assert_eq!(o.commands.len(), 1);
        assert_eq!(
            (o.commands[0].command.as_str(), o.commands[0].exit_code),
            ("cargo test", Some(101))
        );
        assert_eq!(o.last_message, "Let me look.");
        // Transcript lines read as every other role's.
        for l in lines {
            serde_json::from_value::<crate::mission::transcript::TranscriptEntry>(l).unwrap();
        }
    }
}
