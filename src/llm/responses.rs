//! The OpenAI Responses API (`POST {base_url}/responses`), streamed, for reasoning models:
//! function tools, `store: false` with the encrypted reasoning items of each answer
//! carried forward in `input` (the API keeps nothing between calls), `reasoning.effort`,
//! and usage with cached and reasoning tokens.

use serde_json::{Value, json};

use super::http::{self, Failure, HttpSettings};
use super::{LlmClient, LlmError, Message, Request, Response, ToolCall, parse_arguments};
use crate::mission::Usage;

pub struct ResponsesClient {
    settings: HttpSettings,
    client: reqwest::Client,
}

impl ResponsesClient {
    pub fn new(settings: HttpSettings) -> Result<Self, LlmError> {
        let client = http::client(settings.idle_timeout)?;
        Ok(ResponsesClient { settings, client })
    }
}

/// The request body: the conversation as input items.
pub fn body(model: &str, cap: Option<u32>, effort: Option<&str>, req: &Request<'_>) -> Value {
    let mut input: Vec<Value> = vec![];
    for m in req.messages {
        match m {
            Message::User { text } => input.push(json!({
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            })),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                // Reasoning items first, exactly as they came, then what they led to.
                input.extend(reasoning.iter().cloned());
                if let Some(t) = text.as_ref().filter(|t| !t.is_empty()) {
                    input.push(json!({
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": t}],
                    }));
                }
                for c in tool_calls {
                    input.push(json!({
                        "type": "function_call",
                        "call_id": c.id,
                        "name": c.name,
                        "arguments": c.arguments.to_string(),
                    }));
                }
            }
            Message::Tool {
                call_id, content, ..
            } => input.push(json!({
                "type": "function_call_output",
                "call_id": call_id,
                "output": content,
            })),
        }
    }
    let tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters})
        })
        .collect();
    let mut b = json!({
        "model": model,
        "instructions": req.system,
        "input": input,
        "stream": true,
        "store": false,
        "include": ["reasoning.encrypted_content"],
    });
    if !tools.is_empty() {
        b["tools"] = tools.into();
        if let Some(name) = req.tool_choice {
            b["tool_choice"] = json!({"type": "function", "name": name});
        }
    }
    if let Some(e) = effort {
        b["reasoning"] = json!({"effort": e});
    }
    if let Some(n) = cap {
        b["max_output_tokens"] = json!(n);
    }
    b
}

#[derive(Default)]
struct Acc {
    /// Finished output items, in order (`response.output_item.done`).
    items: Vec<Value>,
    usage: Option<Usage>,
    /// `completed`, `incomplete` (with its reason) or `failed`.
    status: Option<String>,
    incomplete_reason: Option<String>,
}

impl Acc {
    fn on(&mut self, kind: &str, data: &str, s: &HttpSettings) -> Result<(), Failure> {
        let v: Value = serde_json::from_str(data)
            .map_err(|e| s.retry(format!("unreadable stream event {kind}: {e}")))?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(kind);
        match kind {
            "response.output_item.done" => self.items.push(v["item"].clone()),
            "response.completed" | "response.incomplete" => {
                let r = &v["response"];
                let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap_or(0);
                self.usage = Some(Usage {
                    tokens_in: n("/usage/input_tokens"),
                    // Reasoning tokens are part of the output tokens, and priced so.
                    tokens_out: n("/usage/output_tokens"),
                    cache_read_tokens: n("/usage/input_tokens_details/cached_tokens"),
                    ..Default::default()
                });
                self.status = Some(if kind == "response.completed" {
                    "completed".into()
                } else {
                    "incomplete".into()
                });
                self.incomplete_reason = r
                    .pointer("/incomplete_details/reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                // Some servers send the whole output only here.
                if self.items.is_empty()
                    && let Some(out) = r.get("output").and_then(Value::as_array)
                {
                    self.items = out.clone();
                }
            }
            "response.failed" | "error" => {
                let msg = v
                    .pointer("/response/error/message")
                    .or_else(|| v.pointer("/error/message"))
                    .or_else(|| v.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the response failed");
                return Err(s.retry(format!("the stream reported an error: {msg}")));
            }
            _ => {}
        }
        Ok(())
    }

    fn calls(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().filter(|i| i["type"] == "function_call")
    }

    fn finish(self) -> Response {
        let mut text = String::new();
        let mut tool_calls = vec![];
        let mut reasoning = vec![];
        for item in &self.items {
            match item["type"].as_str() {
                Some("reasoning") => reasoning.push(item.clone()),
                Some("message") => {
                    for part in item["content"].as_array().into_iter().flatten() {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            text.push_str(t);
                        }
                    }
                }
                Some("function_call") => tool_calls.push(ToolCall {
                    id: item["call_id"].as_str().unwrap_or("").to_string(),
                    name: item["name"].as_str().unwrap_or("").to_string(),
                    arguments: parse_arguments(item["arguments"].as_str().unwrap_or("")),
                }),
                _ => {}
            }
        }
        Response {
            text: (!text.is_empty()).then_some(text),
            tool_calls,
            usage: self.usage.unwrap_or_default(),
            reasoning,
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for ResponsesClient {
    fn label(&self) -> String {
        format!("{}/{}", self.settings.provider, self.settings.model)
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let s = &self.settings;
        let room = http::Room::new(s.output_cap_configured.then_some(s.max_output_tokens));
        let headers = http::bearer(s.api_key.as_deref())?;
        http::with_retries(s, req.on_retry, req.on_spent, || async {
            let body = body(&s.model, room.now(), s.reasoning_effort.as_deref(), &req);
            let mut stream = http::post_sse(&self.client, s, headers.clone(), &body).await?;
            let mut acc = Acc::default();
            while let Some(ev) = http::next_event(&mut stream, s).await? {
                acc.on(&ev.event, &ev.data, s)?;
                if acc.status.is_some() {
                    break;
                }
            }
            let spent = acc.usage.clone().unwrap_or_default();
            let broken = acc.calls().any(|c| {
                let args = c["arguments"].as_str().unwrap_or("");
                args.trim().is_empty() || !parse_arguments(args).is_object()
            });
            match acc.status.as_deref() {
                None => {
                    Err(s.retry("the stream ended before response.completed (cut by a proxy?)"))
                }
                Some("incomplete")
                    if acc.incomplete_reason.as_deref() == Some("max_output_tokens")
                        && room.grow(16_384) =>
                {
                    Err(s
                        .retry("max_output_tokens cut the answer; retrying with more room")
                        .with_spent(spent))
                }
                _ if broken => Err(s
                    .retry("the answer holds a tool call with cut arguments")
                    .with_spent(spent)),
                _ => Ok(acc.finish()),
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
    fn the_conversation_becomes_input_items_with_reasoning_carried_forward() {
        let reasoning =
            json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAA…", "summary": []});
        let msgs = vec![
            Message::User {
                text: "task".into(),
            },
            Message::Assistant {
                text: None,
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "read_file".into(),
                    arguments: json!({"path": "a"}),
                }],
                reasoning: vec![reasoning.clone()],
            },
            Message::Tool {
                call_id: "call_1".into(),
                name: "read_file".into(),
                content: "x".into(),
                is_error: false,
            },
        ];
        let tools = [ToolSpec {
            name: "read_file".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }];
        let b = body(
            "o4",
            Some(900),
            Some("high"),
            &Request {
                system: "sys",
                messages: &msgs,
                tools: &tools,
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            },
        );
        assert_eq!(b["store"], false);
        assert_eq!(b["include"][0], "reasoning.encrypted_content");
        assert_eq!(b["reasoning"]["effort"], "high");
        assert_eq!(b["instructions"], "sys");
        assert_eq!(b["max_output_tokens"], 900);
        let input = b["input"].as_array().unwrap();
        assert_eq!(
            input[1], reasoning,
            "the reasoning item goes back unchanged"
        );
        assert_eq!(input[2]["type"], "function_call");
        assert_eq!(input[2]["arguments"], r#"{"path":"a"}"#);
        assert_eq!(input[3]["type"], "function_call_output");
        assert_eq!(input[3]["call_id"], "call_1");
        assert_eq!(b["tools"][0]["name"], "read_file");
    }
}
