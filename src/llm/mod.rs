//! Language-model clients behind one trait: messages and tool specs in, text, tool calls
//! and usage out. `scripted` replays a JSON script (demo and tests).

pub mod anthropic;
pub mod factory;
pub mod http;
pub mod openai;
pub mod recording;
pub mod reset;
pub mod responses;
pub mod scripted;

use serde::{Deserialize, Serialize};

use crate::mission::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        text: String,
    },
    Assistant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// The provider's reasoning as it sent it (Anthropic thinking blocks with their
        /// signatures, OpenAI encrypted reasoning items): sent back unchanged in the tool
        /// loop, which both APIs require.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasoning: Vec<serde_json::Value>,
    },
    Tool {
        call_id: String,
        name: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub system: &'a str,
    pub messages: &'a [Message],
    pub tools: &'a [ToolSpec],
    /// Told about each failed attempt that will be retried.
    pub on_retry: http::RetryObserver<'a>,
    pub on_spent: http::SpentObserver<'a>,
    /// The one tool the model must call this turn (a worker's last turn: its handoff).
    pub tool_choice: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// Reasoning blocks or items to send back with this answer (see `Message`).
    pub reasoning: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("{provider} ({model}) answered HTTP {status}: {message}")]
    Http {
        provider: String,
        model: String,
        status: u16,
        message: String,
    },
    #[error("{provider} ({model}): {message}")]
    Transport {
        provider: String,
        model: String,
        message: String,
    },
    /// The request does not fit the model's context window (an HTTP 400 that says so).
    #[error("{provider} ({model}): the conversation does not fit the context window: {message}")]
    ContextOverflow {
        provider: String,
        model: String,
        tokens: Option<u32>,
        limit: Option<u32>,
        message: String,
    },
    /// A rate or usage limit that holds longer than the retries would wait.
    #[error("{provider} ({model}) is rate-limited until {until}: {message}")]
    RateLimited {
        provider: String,
        model: String,
        until: jiff::Timestamp,
        message: String,
    },
    #[error("script: {0}")]
    Script(String),
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait LlmClient: Send + Sync {
    /// `provider/model`, for the activity feed and errors.
    fn label(&self) -> String;
    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError>;
}

/// The client of a role played by an external agent over ACP (`src/agent/acp/`), which
/// runs whole sessions rather than model calls: it names the agent and answers no call.
pub struct ExternalAgent(pub String);

#[async_trait::async_trait]
impl LlmClient for ExternalAgent {
    fn label(&self) -> String {
        format!("acp/{}", self.0)
    }

    async fn complete(&self, _: Request<'_>) -> Result<Response, LlmError> {
        Err(LlmError::Unavailable(format!(
            "external agent `{}` is driven over ACP, not called turn by turn",
            self.0
        )))
    }
}

/// Tool arguments as JSON; text that does not parse is kept as a string, which the agent
/// loop hands back to the model as an error.
pub fn parse_arguments(json: &str) -> serde_json::Value {
    if json.trim().is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(json).unwrap_or_else(|_| serde_json::Value::String(json.to_string()))
}

/// The provider said the request does not fit the model's context window: `tokens` sent,
/// `limit` allowed, when its message says.
pub fn context_overflow(status: u16, message: &str) -> Option<(Option<u32>, Option<u32>)> {
    static NUMBERS: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(\d[\d,]*)").expect("a valid pattern"));
    let m = message.to_ascii_lowercase();
    let overflow = matches!(status, 400 | 413 | 422)
        && (m.contains("context_length_exceeded")
            || m.contains("maximum context length")
            || m.contains("prompt is too long")
            || m.contains("context window")
            || m.contains("too many tokens")
            || m.contains("input is too long"));
    if !overflow {
        return None;
    }
    let nums: Vec<u32> = NUMBERS
        .find_iter(message)
        .filter_map(|n| n.as_str().replace(',', "").parse().ok())
        .filter(|n| *n >= 1000)
        .collect();
    // OpenAI: "maximum context length is M tokens. However, you requested N tokens";
    // Anthropic: "prompt is too long: N tokens > M maximum".
    Some(if m.contains("prompt is too long") {
        (nums.first().copied(), nums.get(1).copied())
    } else {
        (nums.get(1).copied(), nums.first().copied())
    })
}

/// A rough token count for providers that report none (about four bytes a token).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

pub fn estimate_request_tokens(req: &Request<'_>) -> u64 {
    let mut n = estimate_tokens(req.system);
    for m in req.messages {
        n += estimate_tokens(&serde_json::to_string(m).unwrap_or_default());
    }
    for t in req.tools {
        n += estimate_tokens(&t.parameters.to_string()) + estimate_tokens(&t.description);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_errors_are_read_with_their_numbers() {
        let openai = "This model's maximum context length is 16385 tokens. However, you requested 21,017 tokens (20017 in the messages, 1000 in the completion). Please reduce the length of the messages. (context_length_exceeded)";
        assert_eq!(
            context_overflow(400, openai),
            Some((Some(21017), Some(16385)))
        );
        let anthropic = "prompt is too long: 215012 tokens > 200000 maximum";
        assert_eq!(
            context_overflow(400, anthropic),
            Some((Some(215012), Some(200000)))
        );
        assert_eq!(context_overflow(400, "invalid tool schema"), None);
        assert_eq!(context_overflow(500, anthropic), None);
    }
}
