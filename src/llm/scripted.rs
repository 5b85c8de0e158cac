//! A model that replays a JSON script. Stateless on purpose: the reply is chosen from the
//! conversation itself (which entry matches the task, how many assistant turns so far),
//! so a resumed mission gets the same answers as the run that crashed.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    LlmClient, LlmError, Message, Request, Response, ToolCall, estimate_request_tokens,
    estimate_tokens,
};
use crate::mission::{Role, Usage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub entries: Vec<ScriptEntry>,
}

/// The turns one agent run plays, chosen when `role` matches and `task_contains` is found
/// in the run's task (its first user message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptEntry {
    pub role: Role,
    pub task_contains: String,
    pub turns: Vec<ScriptTurn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ScriptCall>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptCall {
    pub name: String,
    pub arguments: serde_json::Value,
}

impl Script {
    pub fn load(path: &Path) -> Result<Script, LlmError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LlmError::Script(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| LlmError::Script(format!("{}: {e}", path.display())))
    }
}

pub struct ScriptedClient {
    script: std::sync::Arc<Script>,
    role: Role,
    model: String,
    pace: Duration,
}

impl ScriptedClient {
    pub fn new(script: std::sync::Arc<Script>, role: Role, model: &str, pace: Duration) -> Self {
        ScriptedClient {
            script,
            role,
            model: model.to_string(),
            pace,
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for ScriptedClient {
    fn label(&self) -> String {
        format!("scripted/{}", self.model)
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let task = req
            .messages
            .iter()
            .find_map(|m| match m {
                Message::User { text } => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or("");
        let entry = self
            .script
            .entries
            .iter()
            .find(|e| e.role == self.role && task.contains(&e.task_contains))
            .ok_or_else(|| {
                LlmError::Script(format!(
                    "no {} entry matches the task starting {:?}",
                    self.role,
                    task.chars().take(80).collect::<String>()
                ))
            })?;
        let turn_no = req
            .messages
            .iter()
            .filter(|m| matches!(m, Message::Assistant { .. }))
            .count();
        let turn = entry.turns.get(turn_no).ok_or_else(|| {
            LlmError::Script(format!(
                "entry `{}` has {} turns; turn {} was asked for",
                entry.task_contains,
                entry.turns.len(),
                turn_no + 1
            ))
        })?;
        if !self.pace.is_zero() {
            tokio::time::sleep(self.pace).await;
        }
        let tool_calls: Vec<ToolCall> = turn
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: format!("call_{turn_no}_{i}"),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect();
        let out_text = serde_json::to_string(&turn).unwrap_or_default();
        Ok(Response {
            reasoning: vec![],
            text: turn.text.clone(),
            tool_calls,
            usage: Usage {
                tokens_in: estimate_request_tokens(&req),
                tokens_out: estimate_tokens(&out_text),
                cost_usd: 0.0,
                ..Default::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> std::sync::Arc<Script> {
        std::sync::Arc::new(
            serde_json::from_value(serde_json::json!({"entries": [
                {"role": "worker", "task_contains": "feature a", "turns": [
                    {"text": "one", "tool_calls": [{"name": "read_file", "arguments": {"path": "x"}}]},
                    {"tool_calls": [{"name": "submit_handoff", "arguments": {}}]}
                ]},
                {"role": "orchestrator", "task_contains": "feature a", "turns": [{"text": "orch"}]}
            ]}))
            .unwrap(),
        )
    }

    #[tokio::test]
    async fn replies_follow_the_conversation() {
        let c = ScriptedClient::new(script(), Role::Worker, "w", Duration::ZERO);
        let mut msgs = vec![Message::User {
            text: "do feature a".into(),
        }];
        let req = Request {
            system: "s",
            messages: &msgs,
            tools: &[],
            on_retry: None,
            on_spent: None,
            tool_choice: None,
        };
        let r = c.complete(req).await.unwrap();
        assert_eq!(r.text.as_deref(), Some("one"));
        assert_eq!(r.tool_calls[0].name, "read_file");
        assert!(r.usage.tokens_in > 0);
        msgs.push(Message::Assistant {
            reasoning: vec![],
            text: r.text,
            tool_calls: r.tool_calls,
        });
        let r = c
            .complete(Request {
                system: "s",
                messages: &msgs,
                tools: &[],
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            })
            .await
            .unwrap();
        assert_eq!(r.tool_calls[0].name, "submit_handoff");
        msgs.push(Message::Assistant {
            reasoning: vec![],
            text: None,
            tool_calls: vec![],
        });
        let e = c
            .complete(Request {
                system: "s",
                messages: &msgs,
                tools: &[],
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("turn 3"), "{e}");
    }

    #[tokio::test]
    async fn role_and_task_select_the_entry() {
        let c = ScriptedClient::new(script(), Role::Orchestrator, "o", Duration::ZERO);
        let msgs = vec![Message::User {
            text: "feature a".into(),
        }];
        let r = c
            .complete(Request {
                system: "",
                messages: &msgs,
                tools: &[],
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            })
            .await
            .unwrap();
        assert_eq!(r.text.as_deref(), Some("orch"));
        let c = ScriptedClient::new(script(), Role::Reviewer, "r", Duration::ZERO);
        assert!(
            c.complete(Request {
                system: "",
                messages: &msgs,
                tools: &[],
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            })
            .await
            .is_err()
        );
    }
}
