//! The MCP server an external agent is offered in `session/new`: one tool, the role's
//! ending tool (`submit_handoff`, `submit_review`…), whose arguments are checked against
//! its schema — every problem with its path, as built-in roles get them — and, when
//! they hold, written for the runner to pick up. It is `mission acp-ending`, started by
//! the agent itself (inside the mission's sandbox) and spoken to on stdio, one JSON-RPC
//! message per line.

use std::io::{BufRead, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::llm::ToolSpec;

/// Serves until stdin closes. `spec` holds the tool (JSON); `out` receives the
/// arguments of the last well-formed call.
pub fn serve(spec: &Path, out: &Path) -> std::io::Result<()> {
    let tool: ToolSpec = serde_json::from_str(&std::fs::read_to_string(spec)?)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", spec.display())))?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id").cloned() else {
            continue; // a notification (`notifications/initialized`)
        };
        let reply = match msg["method"].as_str().unwrap_or("") {
            "initialize" => Ok(json!({
                // The client's version when it is one we know, else ours.
                "protocolVersion": msg["params"]["protocolVersion"]
                    .as_str()
                    .filter(|v| ["2024-11-05", "2025-03-26", "2025-06-18"].contains(v))
                    .unwrap_or("2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mission", "version": env!("CARGO_PKG_VERSION")},
            })),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({"tools": [{
                "name": tool.name,
                "description": tool.description,
                "inputSchema": tool.parameters,
            }]})),
            "tools/call" => Ok(call(&tool, &msg["params"], out)),
            other => Err(json!({"code": -32601, "message": format!("method not found: {other}")})),
        };
        let msg = match reply {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        writeln!(stdout, "{msg}")?;
        stdout.flush()?;
    }
    Ok(())
}

fn call(tool: &ToolSpec, params: &Value, out: &Path) -> Value {
    let text = |t: String, is_error: bool| json!({"content": [{"type": "text", "text": t}], "isError": is_error});
    if params["name"].as_str() != Some(&tool.name) {
        return text(
            format!("unknown tool; this server has only `{}`", tool.name),
            true,
        );
    }
    let args = params.get("arguments").cloned().unwrap_or(json!({}));
    let mut problems = crate::agent::tools::args_check::check(&tool.parameters, &args);
    problems.extend(crate::agent::tools::args_check::unknown_fields(
        &tool.parameters,
        &args,
    ));
    if !problems.is_empty() {
        return text(
            crate::mission::plan_check::report_for("call", &tool.name, &problems),
            true,
        );
    }
    // Whole or not at all: the runner may read it the moment the agent's turn ends.
    let tmp = out.with_extension("tmp");
    let written = std::fs::write(&tmp, args.to_string()).and_then(|()| std::fs::rename(&tmp, out));
    match written {
        Ok(()) => text(
            "Received. The mission checks your work now: end your turn.".into(),
            false,
        ),
        Err(e) => text(format!("the mission could not keep it: {e}"), true),
    }
}
