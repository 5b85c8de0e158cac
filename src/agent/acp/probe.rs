//! `mission doctor`'s question to each configured agent: who are you, what can you do.

use std::path::Path;

use serde_json::json;

use super::START_TIMEOUT;
use super::rpc::Connection;
use crate::config::agents::AgentConfig;

/// `mission doctor`: starts the agent as configured, asks `initialize`, and says who
/// answered with what; the agent's process group ends after.
pub async fn probe(config: &AgentConfig, cwd: &Path) -> Result<String, String> {
    let Some(program) = config.command.first() else {
        return Err("no command".into());
    };
    // As in a mission: the allowlisted variables, the agent's settings, its keys by name.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| crate::sandbox::env::env_allowed(k, &[]))
        .collect();
    env.extend(config.env.clone());
    for name in &config.env_pass {
        let v = std::env::var(name).map_err(|_| {
            format!("`{name}` (env_pass) is not set in this environment: export it")
        })?;
        env.push((name.clone(), v));
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&config.command[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .process_group(0)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", config.command.join(" ")))?;
    let pgid = child.id();
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no stdio".into());
    };
    let (conn, _incoming) = Connection::start(stdin, stdout);
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        START_TIMEOUT,
        conn.request(
            "initialize",
            json!({"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": false}}),
        ),
    )
    .await;
    if let Some(pgid) = pgid {
        crate::sandbox::groups::kill_process_group(pgid);
    }
    let _ = child.start_kill();
    let init = match answer {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Err(format!("initialize failed: {e}")),
        Err(_) => {
            return Err(format!(
                "no answer to initialize within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
    };
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
        "{} {} (ACP protocol {}) answered in {:.1}s; can: {}{}",
        info["name"].as_str().unwrap_or("an unnamed agent"),
        info["version"].as_str().unwrap_or(""),
        init["protocolVersion"],
        started.elapsed().as_secs_f64(),
        can.join(", "),
        if auth.is_empty() {
            String::new()
        } else {
            format!("; sign-in methods: {}", auth.join(", "))
        }
    ))
}
