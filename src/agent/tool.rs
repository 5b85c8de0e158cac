//! What every tool gives back, built-in or MCP: shared by `tools` and `mcp` (which must not
//! import each other).

use serde_json::Value;

use crate::llm::ToolSpec;
use crate::mission::CommandRecord;

/// A tool call's answer, as the model will read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub content: String,
    pub is_error: bool,
    /// One line for the activity feed.
    pub summary: String,
    /// Set for run_command.
    pub command: Option<CommandRecord>,
    /// Set for a tool of an MCP server.
    pub mcp: Option<crate::mission::McpCallRecord>,
}

pub fn spec(name: &str, description: &str, parameters: Value) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters,
    }
}
