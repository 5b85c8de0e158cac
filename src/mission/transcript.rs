//! A transcript line as anyone may read it: what an agent run recorded in
//! `.mission/transcripts/<run>.jsonl`, without the providers' types (the console reads
//! transcripts; it must not depend on the model clients).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum TranscriptEntry {
    User {
        text: String,
    },
    Assistant {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        tool_calls: Vec<TranscriptCall>,
    },
    Tool {
        name: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TranscriptCall {
    pub name: String,
    pub arguments: serde_json::Value,
}
