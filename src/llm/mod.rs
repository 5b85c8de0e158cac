//! Language-model clients behind one trait: messages and tool specs in, text, tool calls
//! and usage out. `scripted` replays a JSON script (demo and tests).

pub mod anthropic;
pub mod http;
pub mod openai;
pub mod pricing;
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
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
