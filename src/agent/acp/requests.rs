//! What an agent asks of the mission mid-turn: permission for a tool call (answered by
//! policy), and files of the worktree (`fs/*`, served beneath it only).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::session::Session;
use crate::agent::first_line;
use crate::config::agents::Permissions;
use crate::mission::Event;

impl Session<'_, '_> {
    /// Answered by policy, inside the sandbox that is the real boundary.
    pub(super) fn permission(&self, params: &Value) -> Value {
        let run = self.run;
        // ACP: once the turn is cancelled, every pending permission is answered so.
        if self.cancelled {
            return json!({"outcome": {"outcome": "cancelled"}});
        }
        // The mission's own ending tool is always allowed: refusing it would refuse the
        // handoff itself (and Claude Code takes any refusal as the end of its turn).
        let own = is_own_tool(params, &run.ending.name);
        let allow = own || self.ext.config.permissions == Permissions::Allow;
        let wanted: &[&str] = if allow {
            &["allow_once", "allow_always"]
        } else {
            &["reject_once", "reject_always"]
        };
        let options = params["options"].as_array().cloned().unwrap_or_default();
        let chosen = wanted.iter().find_map(|k| {
            options
                .iter()
                .find(|o| o["kind"].as_str() == Some(k))
                .and_then(|o| o["optionId"].as_str())
        });
        let title = params["toolCall"]["title"]
            .as_str()
            .unwrap_or("a tool call");
        let _ = run.hub.emit(Event::ToolUsed {
            run_id: run.run_id.clone(),
            tool: "permission".into(),
            summary: format!(
                "{} {}",
                if chosen.is_some() && allow {
                    "allowed:"
                } else {
                    "denied:"
                },
                first_line(title)
            ),
            ok: true,
        });
        let answer = match chosen {
            Some(id) => json!({"outcome": {"outcome": "selected", "optionId": id}}),
            None => json!({"outcome": {"outcome": "cancelled"}}),
        };
        run.record(&json!({"acp": "permission", "toolCall": params["toolCall"], "options": params["options"], "answer": answer}));
        answer
    }

    fn inside(&self, params: &Value, write: bool) -> Result<PathBuf, (i64, String)> {
        let root = &self.run.toolbox.root;
        let path = Path::new(params["path"].as_str().unwrap_or(""));
        let rel = path.strip_prefix(root).unwrap_or(path);
        crate::agent::tools::paths::confine(root, &rel.to_string_lossy(), write)
            .map_err(|e| (-32602, e.to_string()))
    }

    pub(super) fn read(&self, params: &Value) -> Result<Value, (i64, String)> {
        let p = self.inside(params, false)?;
        let root = &self.run.toolbox.root;
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let text = super::beneath::read(root, rel)
            .map_err(|e| (-32603, format!("{}: {e}", rel.display())))?;
        let from = params["line"].as_u64().unwrap_or(1).max(1) as usize - 1;
        let content = match params["limit"].as_u64() {
            Some(n) => text
                .lines()
                .skip(from)
                .take(n as usize)
                .collect::<Vec<_>>()
                .join("\n"),
            None if from > 0 => text.lines().skip(from).collect::<Vec<_>>().join("\n"),
            None => text,
        };
        Ok(json!({"content": content}))
    }

    pub(super) fn write(&self, params: &Value) -> Result<Value, (i64, String)> {
        if self.run.toolbox.access != crate::agent::tools::Access::Write {
            return Err((-32603, format!("the {} may not write files", self.run.role)));
        }
        let p = self.inside(params, true)?;
        let root = &self.run.toolbox.root;
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let content = params["content"].as_str().unwrap_or("");
        super::beneath::write(root, rel, content.as_bytes())
            .map_err(|e| (-32603, format!("{}: {e}", rel.display())))?;
        let _ = self.run.hub.emit(Event::ToolUsed {
            run_id: self.run.run_id.clone(),
            tool: "write_file".into(),
            summary: format!(
                "wrote {}",
                p.strip_prefix(&self.run.toolbox.root)
                    .unwrap_or(&p)
                    .display()
            ),
            ok: true,
        });
        Ok(json!({}))
    }
}

/// Whether a permission request is for the mission's own ending tool, by the tool's exact
/// name (Claude Code: `mcp__mission__<tool>` in its title or `_meta`; others: the MCP
/// server and tool in the call's input) — never by a mention in a command line.
fn is_own_tool(params: &Value, ending: &str) -> bool {
    let full = format!("mcp__mission__{ending}");
    let call = &params["toolCall"];
    call["title"].as_str() == Some(full.as_str())
        || params["_meta"]["claudeCode"]["toolName"].as_str() == Some(full.as_str())
        || call["_meta"]["claudeCode"]["toolName"].as_str() == Some(full.as_str())
        || (call["rawInput"]["server"].as_str() == Some("mission")
            && call["rawInput"]["tool"].as_str() == Some(ending))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ending_tool_itself_is_always_allowed() {
        let ask = |call: Value| json!({"toolCall": call});
        assert!(is_own_tool(
            &ask(json!({"title": "mcp__mission__submit_handoff"})),
            "submit_handoff"
        ));
        assert!(is_own_tool(
            &ask(
                json!({"title": "Approve MCP tool call", "rawInput": {"server": "mission", "tool": "submit_handoff"}})
            ),
            "submit_handoff"
        ));
        assert!(!is_own_tool(
            &ask(json!({"title": "rm -rf x # mcp__mission__submit_handoff"})),
            "submit_handoff"
        ));
        assert!(!is_own_tool(
            &ask(json!({"title": "mcp__mission__submit_review"})),
            "submit_handoff"
        ));
    }
}
