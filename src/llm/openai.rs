//! OpenAI Chat Completions, streamed, with tools and usage in the stream. Any
//! compatible server works through `base_url` (Ollama, vLLM, llama.cpp, OpenRouter…).

use serde_json::{Value, json};

use super::http::{self, Failure, HttpSettings};
use super::{
    LlmClient, LlmError, Message, Request, Response, ToolCall, estimate_request_tokens,
    estimate_tokens, parse_arguments,
};
use crate::mission::Usage;

pub const DEFAULT_BASE: &str = "https://api.openai.com/v1";

pub struct OpenAiClient {
    settings: HttpSettings,
    client: reqwest::Client,
}

impl OpenAiClient {
    pub fn new(settings: HttpSettings) -> Result<Self, LlmError> {
        let client = http::client(settings.idle_timeout)?;
        Ok(OpenAiClient { settings, client })
    }
}

/// The request body. `cap` is the configured output cap and the URL it goes to: OpenAI
/// itself wants `max_completion_tokens` (its reasoning models refuse `max_tokens`), while
/// compatible servers (Ollama, llama.cpp, vLLM…) all know `max_tokens`.
pub fn body(model: &str, cap: Option<(u32, &str)>, req: &Request<'_>) -> Value {
    body_effort(model, cap, None, req)
}

/// The body with `reasoning_effort` for reasoning models (when set).
pub fn body_effort(
    model: &str,
    cap: Option<(u32, &str)>,
    effort: Option<&str>,
    req: &Request<'_>,
) -> Value {
    let mut messages = vec![json!({"role": "system", "content": req.system})];
    for m in req.messages {
        messages.push(match m {
            Message::User { text } => json!({"role": "user", "content": text}),
            Message::Assistant {
                text, tool_calls, ..
            } => {
                // `null` content is only accepted alongside tool calls.
                let content = match (text, tool_calls.is_empty()) {
                    (Some(t), _) => json!(t),
                    (None, false) => Value::Null,
                    (None, true) => json!(""),
                };
                let mut v = json!({"role": "assistant", "content": content});
                if !tool_calls.is_empty() {
                    v["tool_calls"] = tool_calls
                        .iter()
                        .map(|c| {
                            let args = match &c.arguments {
                                Value::String(raw) => raw.clone(),
                                other => other.to_string(),
                            };
                            json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": args}})
                        })
                        .collect();
                }
                v
            }
            Message::Tool { call_id, content, .. } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
        });
    }
    let tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let mut b = json!({
        "model": model,
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": messages,
    });
    if let Some(e) = effort {
        b["reasoning_effort"] = json!(e);
    }
    if !tools.is_empty() {
        b["tools"] = tools.into();
        if let Some(name) = req.tool_choice {
            b["tool_choice"] = json!({"type": "function", "function": {"name": name}});
        }
    }
    if let Some((n, url)) = cap {
        let field = if url.contains("://api.openai.com/") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        b[field] = n.into();
    }
    b
}

#[derive(Default)]
struct Acc {
    text: String,
    /// Tool calls by stream index: id, name, arguments so far.
    tools: Vec<(u64, String, String, String)>,
    usage: Option<Usage>,
    finished: bool,
    finish_reason: Option<String>,
}

impl Acc {
    fn on(&mut self, data: &str, s: &HttpSettings) -> Result<bool, Failure> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| s.retry(format!("unreadable stream chunk: {e}")))?;
        if let Some(msg) = v.pointer("/error/message").and_then(Value::as_str) {
            return Err(s.retry(format!("the stream reported an error: {msg}")));
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(Usage {
                tokens_in: n("/prompt_tokens"),
                tokens_out: n("/completion_tokens"),
                cache_read_tokens: n("/prompt_tokens_details/cached_tokens"),
                ..Default::default()
            });
        }
        for choice in v
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = choice.pointer("/delta/content").and_then(Value::as_str) {
                self.text.push_str(t);
            }
            for tc in choice
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
                let str_at = |p: &str| tc.pointer(p).and_then(Value::as_str).unwrap_or("");
                let pos = match self.tools.iter().position(|t| t.0 == index) {
                    Some(p) => p,
                    None => {
                        self.tools
                            .push((index, String::new(), String::new(), String::new()));
                        self.tools.len() - 1
                    }
                };
                let t = &mut self.tools[pos];
                // The id and name come once (OpenAI) or in every delta (some servers).
                if t.1.is_empty() {
                    t.1 = str_at("/id").to_string();
                }
                if t.2.is_empty() {
                    t.2 = str_at("/function/name").to_string();
                }
                t.3.push_str(str_at("/function/arguments"));
            }
            if let Some(reason) = choice.get("finish_reason").filter(|f| !f.is_null()) {
                self.finished = true;
                self.finish_reason = reason.as_str().map(str::to_owned);
            }
        }
        Ok(false)
    }

    /// Why a stream that ended is not a whole answer: gateways (LiteLLM…) paper over a cut
    /// upstream with `finish_reason: "stop"` and `[DONE]` after half the tool arguments.
    /// `Err(true)` when the output limit cut it (retry with more room).
    fn whole(&self) -> Result<(), (bool, String)> {
        // Empty arguments count as cut too: `{}` is what a tool without parameters gets
        // as `"{}"`, never as nothing, and a gateway that lost the upstream sends nothing.
        let broken = self
            .tools
            .iter()
            .any(|t| t.3.trim().is_empty() || !parse_arguments(&t.3).is_object());
        match self.finish_reason.as_deref() {
            None => Err((
                false,
                "the stream ended without a finish reason (cut by a proxy?)".into(),
            )),
            Some("length") if broken => {
                Err((true, "the output limit cut the answer mid-tool-call".into()))
            }
            Some(r) if broken && r != "tool_calls" => Err((
                false,
                format!("the stream was cut mid-tool-call (it ended with finish_reason {r:?})"),
            )),
            _ => Ok(()),
        }
    }

    fn finish(self, req: &Request<'_>) -> Response {
        let tool_calls: Vec<ToolCall> = self
            .tools
            .into_iter()
            .enumerate()
            .map(|(i, (_, id, name, args))| ToolCall {
                id: if id.is_empty() {
                    format!("call_{i}")
                } else {
                    id
                },
                name,
                arguments: parse_arguments(&args),
            })
            .collect();
        // Servers that send no usage get an estimate, so budgets still move.
        let usage = self.usage.unwrap_or_else(|| Usage {
            tokens_in: estimate_request_tokens(req),
            tokens_out: estimate_tokens(&self.text)
                + tool_calls
                    .iter()
                    .map(|c| estimate_tokens(&c.arguments.to_string()))
                    .sum::<u64>(),
            ..Default::default()
        });
        Response {
            reasoning: vec![],
            text: (!self.text.is_empty()).then_some(self.text),
            tool_calls,
            usage,
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for OpenAiClient {
    fn label(&self) -> String {
        format!("{}/{}", self.settings.provider, self.settings.model)
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let s = &self.settings;
        // Raised when the output limit cuts a tool call: the retry gets more room.
        let room = http::Room::new(s.output_cap_configured.then_some(s.max_output_tokens));
        let headers = http::bearer(s.api_key.as_deref())?;
        http::with_retries(s, req.on_retry, req.on_spent, || async {
            let body = body_effort(
                &s.model,
                room.now().map(|n| (n, s.url.as_str())),
                s.reasoning_effort.as_deref(),
                &req,
            );
            let mut stream = match http::post_sse(&self.client, s, headers.clone(), &body).await {
                Ok(st) => st,
                Err(Failure::Fatal(e)) if room.refused() => {
                    return Err(s.retry(format!("{e}; retrying with the usual output limit")));
                }
                Err(f) => return Err(f),
            };
            let mut acc = Acc::default();
            let mut done = false;
            while let Some(ev) = http::next_event(&mut stream, s).await? {
                if acc.on(&ev.data, s)? {
                    done = true;
                    break;
                }
            }
            // Some servers close after the last chunk without [DONE].
            if !done && !acc.finished {
                return Err(s.retry("the stream ended before the response was complete"));
            }
            match acc.whole() {
                Ok(()) => Ok(acc.finish(&req)),
                Err((true, _)) if !room.grow(16_384) => Ok(acc.finish(&req)),
                Err((_, why)) => {
                    // What the broken answer used is billed all the same.
                    let spent = acc.usage.clone().unwrap_or_default();
                    Err(s.retry(why).with_spent(spent))
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assistant_tool_calls_and_results_map_to_chat_messages() {
        let msgs = vec![
            Message::User {
                text: "task".into(),
            },
            Message::Assistant {
                reasoning: vec![],
                text: None,
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "search".into(),
                    arguments: json!({"pattern": "x"}),
                }],
            },
            Message::Tool {
                call_id: "c1".into(),
                name: "search".into(),
                content: "none".into(),
                is_error: false,
            },
        ];
        let b = body(
            "gpt-x",
            None,
            &Request {
                system: "sys",
                messages: &msgs,
                tools: &[],
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            },
        );
        let m = b["messages"].as_array().unwrap();
        assert_eq!(m[0]["role"], "system");
        assert_eq!(
            m[2]["tool_calls"][0]["function"]["arguments"],
            r#"{"pattern":"x"}"#
        );
        assert_eq!(m[3]["role"], "tool");
        assert_eq!(m[3]["tool_call_id"], "c1");
        assert!(
            b.get("tools").is_none(),
            "no empty tools array for servers that reject it"
        );
        assert!(
            b.get("max_tokens").is_none() && b.get("max_completion_tokens").is_none(),
            "no cap unless configured: the server's default stands"
        );
    }

    #[test]
    fn a_configured_cap_uses_the_field_the_server_knows() {
        let msgs = [Message::User { text: "hi".into() }];
        let req = Request {
            system: "sys",
            messages: &msgs,
            tools: &[],
            on_retry: None,
            on_spent: None,
            tool_choice: None,
        };
        let openai = body(
            "gpt-5",
            Some((500, "https://api.openai.com/v1/chat/completions")),
            &req,
        );
        assert_eq!(openai["max_completion_tokens"], 500);
        assert!(openai.get("max_tokens").is_none());
        let local = body(
            "llama",
            Some((500, "http://127.0.0.1:11434/v1/chat/completions")),
            &req,
        );
        assert_eq!(local["max_tokens"], 500);
    }
}
