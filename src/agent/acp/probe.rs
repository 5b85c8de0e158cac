//! `mission doctor`'s question to each configured agent: who are you, what can you do.

use std::path::Path;

use serde_json::json;

use super::START_TIMEOUT;
use super::rpc::Connection;
use crate::config::agents::AgentConfig;

/// `mission doctor`: starts the agent as a mission would (through `launcher`, in `cwd`),
/// asks `initialize` and opens a session, and says who answered with what; the agent's
/// process group ends after.
pub async fn probe(
    config: &AgentConfig,
    launcher: &crate::sandbox::Launcher,
    cwd: &Path,
) -> Result<String, String> {
    let mut process = super::start(launcher, cwd, config)?;
    let Some(mut child) = process.child.take() else {
        return Err("no process".into());
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no stdio".into());
    };
    // Drained all along (a chatty adapter would fill the pipe), its end kept.
    let tail = super::keep_tail(child.stderr.take(), config);
    let (conn, _incoming) = Connection::start(stdin, stdout);
    let started = std::time::Instant::now();
    let ask = async {
        let init = conn
            .request("initialize", super::initialize_params(true))
            .await
            .map_err(|e| format!("initialize: {e}"))?;
        // A session, as a feature would open one: where most adapters fail (a config
        // directory they cannot write, a missing login).
        let new = conn
            .request("session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await
            .map_err(|e| format!("session/new: {e}"))?;
        Ok::<_, String>((init, new))
    };
    let answer = tokio::select! {
        a = tokio::time::timeout(START_TIMEOUT, ask) => a,
        status = child.wait() => Ok(Err(format!(
            "the agent exited ({})",
            status.map_or_else(|e| e.to_string(), |s| s.to_string())
        ))),
    };
    drop(process);
    let _ = child.start_kill();
    let (init, new) = match answer {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            // Its last words say why, more often than not.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let said = tail
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .lines
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" / ");
            return Err(if said.is_empty() {
                e
            } else {
                format!("{e}; its stderr: {said}")
            });
        }
        Err(_) => {
            return Err(format!(
                "no answer to initialize and session/new within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
    };
    let modes: Vec<&str> = new["modes"]["availableModes"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    let info = &init["agentInfo"];
    let caps = &init["agentCapabilities"];
    let mut can = vec![];
    if caps["loadSession"].as_bool() == Some(true) {
        can.push("load sessions".to_string());
    }
    if caps["promptCapabilities"]["image"].as_bool() == Some(true) {
        can.push("images".into());
    }
    let mcp = &caps["mcpCapabilities"];
    can.push(format!(
        "MCP over stdio{}{}",
        if mcp["http"].as_bool() == Some(true) {
            ", http"
        } else {
            ""
        },
        if mcp["sse"].as_bool() == Some(true) {
            ", sse"
        } else {
            ""
        }
    ));
    let auth: Vec<&str> = init["authMethods"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    Ok(format!(
        "{} {} (ACP protocol {}) answered and opened a session in the sandbox in {:.1}s; can: {}{}{}",
        info["name"].as_str().unwrap_or("an unnamed agent"),
        info["version"].as_str().unwrap_or(""),
        init["protocolVersion"],
        started.elapsed().as_secs_f64(),
        can.join(", "),
        if modes.is_empty() {
            String::new()
        } else {
            format!("; modes: {}", modes.join(", "))
        },
        if auth.is_empty() {
            String::new()
        } else {
            format!("; sign-in methods: {}", auth.join(", "))
        }
    ))
}
