//! Anthropic Messages API, streamed: text and tool use, prompt caching on the system
//! prompt, the tools and the conversation prefix.

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::http::{self, Failure, HttpSettings};
use super::{LlmClient, LlmError, Message, Request, Response, ToolCall, parse_arguments};
use crate::mission::Usage;

pub const DEFAULT_BASE: &str = "https://api.anthropic.com";

pub struct AnthropicClient {
    settings: HttpSettings,
    client: reqwest::Client,
}

impl AnthropicClient {
    pub fn new(settings: HttpSettings) -> Result<Self, LlmError> {
        let client = http::client(settings.idle_timeout)?;
        Ok(AnthropicClient { settings, client })
    }
}

/// The request body. Cache breakpoints: system, last tool, last message.
pub fn body(model: &str, max_tokens: u32, req: &Request<'_>) -> Value {
    body_thinking(model, max_tokens, None, req)
}

/// The request body with extended thinking on (`thinking` = its token budget): the
/// thinking blocks of earlier answers go back unchanged, first in their message, as the
/// API requires in a tool loop; `max_tokens` stays above the budget.
pub fn body_thinking(
    model: &str,
    max_tokens: u32,
    thinking: Option<u32>,
    req: &Request<'_>,
) -> Value {
    let cache = json!({"type": "ephemeral"});
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(
            |t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}),
        )
        .collect();
    if let Some(last) = tools.last_mut() {
        last["cache_control"] = cache.clone();
    }
    let mut messages: Vec<Value> = vec![];
    for m in req.messages {
        let (role, blocks) = match m {
            Message::User { text } => ("user", vec![json!({"type": "text", "text": text})]),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                let mut b: Vec<Value> = reasoning.clone();
                if let Some(t) = text.as_ref().filter(|t| !t.is_empty()) {
                    b.push(json!({"type": "text", "text": t}));
                }
                for c in tool_calls {
                    // Arguments that were not a JSON object went back as an error; the
                    // API still wants an object here.
                    let input = if c.arguments.is_object() {
                        c.arguments.clone()
                    } else {
                        json!({})
                    };
                    b.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
                }
                if b.is_empty() {
                    b.push(json!({"type": "text", "text": "(no content)"}));
                }
                ("assistant", b)
            }
            Message::Tool {
                call_id,
                content,
                is_error,
                ..
            } => (
                "user",
                vec![
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}),
                ],
            ),
        };
        // Consecutive same-role turns (tool results, a nudge) merge into one message.
        match messages.last_mut() {
            Some(prev) if prev["role"] == role => {
                if let Some(arr) = prev["content"].as_array_mut() {
                    arr.extend(blocks);
                }
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    if let Some(block) = messages
        .last_mut()
        .and_then(|m| m["content"].as_array_mut())
        .and_then(|c| c.last_mut())
    {
        block["cache_control"] = cache.clone();
    }
    let max_tokens = match thinking {
        Some(budget) => max_tokens.max(budget.saturating_add(4096)),
        None => max_tokens,
    };
    let mut b = json!({
        "model": model,
        "max_tokens": max_tokens,
        "stream": true,
        "system": [{"type": "text", "text": req.system, "cache_control": cache}],
        "messages": messages,
        "tools": tools,
    });
    match thinking {
        Some(budget) => {
            b["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
            // A forced tool is refused with thinking on: the harness writes the handoff
            // itself if the model does not call it.
        }
        None => {
            if let Some(name) = req.tool_choice {
                b["tool_choice"] = json!({"type": "tool", "name": name});
            }
        }
    }
    b
}

#[derive(Default)]
struct Acc {
    text: String,
    /// Thinking blocks by content-block index, as they will be sent back.
    thinking: Vec<(usize, Value)>,
    /// Tool uses by content-block index: id, name, JSON text so far.
    tools: Vec<(usize, String, String, String)>,
    usage: Usage,
    done: bool,
    stop_reason: Option<String>,
}

impl Acc {
    fn on(&mut self, kind: &str, data: &str, s: &HttpSettings) -> Result<(), Failure> {
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(_) if kind == "ping" => return Ok(()),
            Err(e) => return Err(s.retry(format!("unreadable stream event {kind}: {e}"))),
        };
        let u64_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                let input = u64_at(&v, "/message/usage/input_tokens");
                self.usage.cache_read_tokens = u64_at(&v, "/message/usage/cache_read_input_tokens");
                self.usage.cache_write_tokens =
                    u64_at(&v, "/message/usage/cache_creation_input_tokens");
                self.usage.tokens_in =
                    input + self.usage.cache_read_tokens + self.usage.cache_write_tokens;
                self.usage.tokens_out = u64_at(&v, "/message/usage/output_tokens");
            }
            "content_block_start" => {
                let index = u64_at(&v, "/index") as usize;
                match v.pointer("/content_block/type").and_then(Value::as_str) {
                    Some("thinking") => self.thinking.push((
                        index,
                        json!({"type": "thinking", "thinking": "", "signature": ""}),
                    )),
                    Some("redacted_thinking") => {
                        self.thinking.push((index, v["content_block"].clone()));
                    }
                    _ => {}
                }
                if v.pointer("/content_block/type").and_then(Value::as_str) == Some("tool_use") {
                    let s = |p: &str| {
                        v.pointer(p)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    self.tools.push((
                        index,
                        s("/content_block/id"),
                        s("/content_block/name"),
                        String::new(),
                    ));
                }
            }
            "content_block_delta" => {
                let index = u64_at(&v, "/index") as usize;
                match v.pointer("/delta/type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        self.text.push_str(
                            v.pointer("/delta/text")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        );
                    }
                    Some(kind @ ("thinking_delta" | "signature_delta")) => {
                        let field = if kind == "thinking_delta" {
                            "thinking"
                        } else {
                            "signature"
                        };
                        if let Some((_, block)) = self.thinking.iter_mut().find(|t| t.0 == index) {
                            let add = v
                                .pointer(&format!("/delta/{field}"))
                                .and_then(Value::as_str)
                                .unwrap_or("");
                            let now = block[field].as_str().unwrap_or("").to_string();
                            block[field] = Value::String(now + add);
                        }
                    }
                    Some("input_json_delta") => {
                        if let Some(t) = self.tools.iter_mut().find(|t| t.0 == index) {
                            t.3.push_str(
                                v.pointer("/delta/partial_json")
                                    .and_then(Value::as_str)
                                    .unwrap_or(""),
                            );
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(r.to_string());
                }
                let out = u64_at(&v, "/usage/output_tokens");
                if out > 0 {
                    self.usage.tokens_out = out;
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let msg = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("error event");
                return Err(s.retry(format!("the stream reported an error: {msg}")));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Response {
        let tool_calls = self
            .tools
            .into_iter()
            .map(|(_, id, name, json)| ToolCall {
                id,
                name,
                arguments: parse_arguments(&json),
            })
            .collect();
        Response {
            reasoning: self.thinking.into_iter().map(|(_, b)| b).collect(),
            text: (!self.text.is_empty()).then_some(self.text),
            tool_calls,
            usage: self.usage,
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for AnthropicClient {
    fn label(&self) -> String {
        format!("{}/{}", self.settings.provider, self.settings.model)
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let s = &self.settings;
        // Raised when `max_tokens` cuts a tool call: the retry gets more room.
        let room = http::Room::new(Some(s.max_output_tokens));
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        if let Some(key) = &s.api_key {
            let mut v = HeaderValue::from_str(key).map_err(|_| {
                LlmError::Unavailable("the API key holds characters a header cannot".into())
            })?;
            v.set_sensitive(true);
            headers.insert("x-api-key", v);
        }
        http::with_retries(s, req.on_retry, req.on_spent, || async {
            let max_tokens = room.now().unwrap_or(s.max_output_tokens);
            let body = body_thinking(&s.model, max_tokens, s.thinking_budget, &req);
            let mut stream = match http::post_sse(&self.client, s, headers.clone(), &body).await {
                Ok(st) => st,
                Err(Failure::Fatal(e)) if room.refused() => {
                    return Err(s.retry(format!("{e}; retrying with the usual max_tokens")));
                }
                Err(f) => return Err(f),
            };
            let mut acc = Acc::default();
            let streamed = async {
                while let Some(ev) = http::next_event(&mut stream, s).await? {
                    acc.on(&ev.event, &ev.data, s)?;
                    if acc.done {
                        return Ok(());
                    }
                }
                Err(s.retry("the stream ended before message_stop"))
            }
            .await;
            // Half a tool input: the output limit, or a gateway that lost the upstream
            // and ended the message as if all was well. (An empty input is `{}`: a tool
            // without arguments streams none.)
            let broken = acc
                .tools
                .iter()
                .any(|t| !t.3.trim().is_empty() && !parse_arguments(&t.3).is_object());
            let cut = acc.stop_reason.as_deref() == Some("max_tokens") && broken;
            let papered =
                broken && !matches!(acc.stop_reason.as_deref(), Some("tool_use" | "max_tokens"));
            match streamed {
                Ok(()) if cut && room.grow(max_tokens) => Err(s
                    .retry("max_tokens cut the answer mid-tool-call; retrying with more room")
                    .with_spent(acc.usage)),
                Ok(()) if papered => Err(s
                    .retry(format!(
                        "the stream was cut mid-tool-call (it ended with stop_reason {:?})",
                        acc.stop_reason.as_deref().unwrap_or("none")
                    ))
                    .with_spent(acc.usage)),
                Ok(()) => Ok(acc.finish()),
                // `message_start` already reported the input tokens of this attempt.
                Err(f) => Err(f.with_spent(acc.usage)),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolSpec;

    #[test]
    fn tool_results_merge_and_cache_breakpoints_are_set() {
        let msgs = vec![
            Message::User {
                text: "task".into(),
            },
            Message::Assistant {
                reasoning: vec![],
                text: Some("looking".into()),
                tool_calls: vec![ToolCall {
                    id: "t1".into(),
                    name: "read_file".into(),
                    arguments: json!({"path": "a"}),
                }],
            },
            Message::Tool {
                call_id: "t1".into(),
                name: "read_file".into(),
                content: "x".into(),
                is_error: false,
            },
            Message::User {
                text: "finish with submit".into(),
            },
        ];
        let tools = vec![ToolSpec {
            name: "read_file".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }];
        let b = body(
            "claude-x",
            1000,
            &Request {
                system: "sys",
                messages: &msgs,
                tools: &tools,
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            },
        );
        let m = b["messages"].as_array().unwrap();
        assert_eq!(
            m.len(),
            3,
            "the tool result and the nudge share one user turn: {m:#?}"
        );
        assert_eq!(m[1]["content"][1]["type"], "tool_use");
        assert_eq!(m[2]["content"][0]["type"], "tool_result");
        assert_eq!(m[2]["content"][1]["cache_control"]["type"], "ephemeral");
        assert_eq!(b["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(b["tools"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(b["stream"], true);
    }
}
