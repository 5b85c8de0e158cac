//! MCP servers as tool sources (rmcp client). Each configured server starts once per
//! runner, lazily, the first time a role that has it needs its tools; its tools join
//! that role's list as `mcp__<server>__<tool>`. A server that cannot start, dies or
//! hangs answers with a readable tool error; it never takes the mission down.
//!
//! Stdio servers run like commands: through the sandbox launcher (confined writes, the
//! allowlisted environment plus the server's configured `env`), in a process group of
//! their own recorded with the commands', so a resumed runner ends what a dead one left.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock,
    Implementation, ProtocolVersion, ResourceContents,
};
// Roots are deprecated in rmcp (SEP-2577) but are how protocol 2025-06-18, which we speak,
// tells a server its workspace.
#[allow(deprecated)]
use rmcp::model::{ListRootsResult, Root};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServiceError, ServiceExt};
use serde_json::Value;
use tokio::sync::Mutex;

use super::tool::{ToolResult, spec};
use crate::config::McpServerConfig;
use crate::llm::ToolSpec;
use crate::mission::{McpCallRecord, Role};
use crate::sandbox::Launcher;

/// Tools of MCP servers are named `mcp__<server>__<tool>`.
pub const PREFIX: &str = "mcp__";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Restarts after a crash or hang before a server is given up for this runner.
const MAX_RESTARTS: u32 = 3;

/// Every configured server of one runner.
pub struct McpServers {
    servers: BTreeMap<String, Server>,
    launcher: Launcher,
    cwd: PathBuf,
    output_cap: usize,
}

struct Server {
    config: McpServerConfig,
    slot: Mutex<Slot>,
}

enum Slot {
    Idle {
        restarts: u32,
    },
    Up(Box<Running>),
    /// Given up for this runner; the reason is what its tools answer.
    Down(String),
}

struct Running {
    service: RunningService<RoleClient, McpClient>,
    tools: Vec<rmcp::model::Tool>,
    pgid: Option<u32>,
    restarts: u32,
}

/// The MCP tools one agent run may call.
#[derive(Clone)]
pub struct McpTools {
    pub servers: Arc<McpServers>,
    pub specs: Vec<ToolSpec>,
}

/// What a role gets: the tool specs, and servers that failed just now (for the record).
#[derive(Default)]
pub struct Offer {
    pub specs: Vec<ToolSpec>,
    pub failed: Vec<(String, String)>,
}

impl McpServers {
    pub fn new(
        servers: &BTreeMap<String, McpServerConfig>,
        launcher: Launcher,
        cwd: PathBuf,
        output_cap: usize,
    ) -> Self {
        McpServers {
            servers: servers
                .iter()
                .map(|(name, config)| {
                    let server = Server {
                        config: config.clone(),
                        slot: Mutex::new(Slot::Idle { restarts: 0 }),
                    };
                    (name.clone(), server)
                })
                .collect(),
            launcher,
            cwd,
            output_cap,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The tools of every server `role` has, starting servers not yet started.
    pub async fn offer(&self, role: Role) -> Offer {
        let mut offer = Offer::default();
        for (name, server) in &self.servers {
            if !server.config.serves(role) {
                continue;
            }
            let mut slot = server.slot.lock().await;
            let newly_failed = self.ensure(name, server, &mut slot).await;
            if let Some(e) = newly_failed {
                offer.failed.push((name.clone(), e));
            }
            if let Slot::Up(r) = &*slot {
                for t in &r.tools {
                    if !allowed(&server.config, &t.name) {
                        continue;
                    }
                    let description = format!(
                        "[MCP server {name}] {}",
                        t.description.as_deref().unwrap_or("")
                    );
                    let schema = Value::Object((*t.input_schema).clone());
                    offer.specs.push(spec(
                        &format!("{PREFIX}{name}__{}", t.name),
                        description.trim_end(),
                        schema,
                    ));
                }
            }
        }
        offer
    }

    /// Calls `mcp__<server>__<tool>`; every failure is a tool error the model can read.
    pub async fn call(&self, full_name: &str, args: &Value) -> ToolResult {
        let start = Instant::now();
        let Some((name, tool)) = full_name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once("__"))
        else {
            return failure(full_name, format!("unknown tool `{full_name}`"));
        };
        let Some(server) = self.servers.get(name) else {
            return failure(full_name, format!("unknown tool `{full_name}`"));
        };
        if !allowed(&server.config, tool) {
            return failure(
                full_name,
                format!("tool `{tool}` of MCP server `{name}` is not allowed by the config"),
            );
        }
        let arguments = match args {
            Value::Object(m) => m.clone(),
            Value::Null => Default::default(),
            other => {
                return failure(
                    full_name,
                    format!("arguments for {full_name} must be a JSON object, not {other}"),
                );
            }
        };
        let peer: Peer<RoleClient> = {
            let mut slot = server.slot.lock().await;
            self.ensure(name, server, &mut slot).await;
            match &*slot {
                Slot::Up(r) => r.service.peer().clone(),
                Slot::Down(why) => return failure(full_name, why.clone()),
                Slot::Idle { .. } => {
                    return failure(full_name, format!("MCP server `{name}` is not running"));
                }
            }
        };
        let timeout = server
            .config
            .timeout_secs
            .map_or(CALL_TIMEOUT, Duration::from_secs_f64);
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        let answer = tokio::time::timeout(timeout, peer.call_tool(params)).await;
        let took = start.elapsed();
        let record = |ok: bool, result: &str| McpCallRecord {
            server: name.to_string(),
            tool: tool.to_string(),
            arguments: shorten(&args.to_string(), 200),
            ok,
            result: shorten(result.lines().next().unwrap_or(""), 200),
            duration_ms: took.as_millis() as u64,
        };
        tracing::info!(
            server = name,
            tool,
            ms = took.as_millis() as u64,
            // A result the server marks `isError` is a failure, like a transport error.
            ok = matches!(&answer, Ok(Ok(r)) if r.is_error != Some(true)),
            "mcp call"
        );
        match answer {
            Ok(Ok(result)) => {
                let content = render(&result, self.output_cap);
                let is_error = result.is_error == Some(true);
                let mcp = Some(record(!is_error, &content));
                ToolResult {
                    summary: format!(
                        "{full_name} ({:.1}s){}",
                        took.as_secs_f64(),
                        if is_error { ": error" } else { "" }
                    ),
                    content,
                    is_error,
                    command: None,
                    mcp,
                }
            }
            Ok(Err(ServiceError::McpError(e))) => {
                let why = format!("MCP server `{name}` refused the call: {}", e.message);
                ToolResult {
                    mcp: Some(record(false, &why)),
                    ..failure(full_name, why)
                }
            }
            Ok(Err(e)) => {
                let why = format!(
                    "MCP server `{name}` stopped answering ({e}); it is restarted on the next call"
                );
                self.restart_later(server).await;
                ToolResult {
                    mcp: Some(record(false, &why)),
                    ..failure(full_name, why)
                }
            }
            Err(_) => {
                let why = format!(
                    "MCP server `{name}` did not answer {tool} within {:.0}s; it was stopped and is restarted on the next call",
                    timeout.as_secs_f64()
                );
                self.restart_later(server).await;
                ToolResult {
                    mcp: Some(record(false, &why)),
                    ..failure(full_name, why)
                }
            }
        }
    }

    /// Stops every running server (the runner is ending).
    pub async fn stop_all(&self) {
        for server in self.servers.values() {
            let mut slot = server.slot.lock().await;
            if let Slot::Up(r) = std::mem::replace(&mut *slot, Slot::Idle { restarts: 0 }) {
                self.stop(*r).await;
            }
        }
    }

    /// Starts the server unless it runs or was given up. Returns the error of a start
    /// that failed now.
    async fn ensure(&self, name: &str, server: &Server, slot: &mut Slot) -> Option<String> {
        let Slot::Idle { restarts } = *slot else {
            return None;
        };
        match self.start(name, &server.config).await {
            Ok(mut r) => {
                r.restarts = restarts;
                tracing::info!(server = name, tools = r.tools.len(), "mcp server started");
                *slot = Slot::Up(Box::new(r));
                None
            }
            Err(e) => {
                tracing::warn!(server = name, error = %e, "mcp server failed to start");
                *slot = Slot::Down(e.clone());
                Some(e)
            }
        }
    }

    /// After a crash or hang: stop what is left, and start afresh on the next call —
    /// up to `MAX_RESTARTS` times.
    async fn restart_later(&self, server: &Server) {
        let mut slot = server.slot.lock().await;
        if let Slot::Up(r) = std::mem::replace(&mut *slot, Slot::Idle { restarts: 0 }) {
            let restarts = r.restarts + 1;
            self.stop(*r).await;
            *slot = if restarts > MAX_RESTARTS {
                Slot::Down(format!(
                    "the MCP server failed {restarts} times and is not restarted again in this run"
                ))
            } else {
                Slot::Idle { restarts }
            };
        }
    }

    async fn stop(&self, r: Running) {
        // A hung server would not close on its own: end its whole group.
        self.end_group(r.pgid);
        let _ = tokio::time::timeout(Duration::from_secs(2), r.service.cancel()).await;
    }

    /// Ends a stdio server's process group and forgets it.
    fn end_group(&self, pgid: Option<u32>) {
        if let Some(pgid) = pgid {
            crate::sandbox::groups::kill_process_group(pgid);
            if let Some(groups) = &self.launcher.groups {
                groups.remove(pgid);
            }
        }
    }

    async fn start(&self, name: &str, config: &McpServerConfig) -> Result<Running, String> {
        let client = McpClient {
            info: ClientConfig::new(
                // `roots` (deprecated by a later spec, still the 2025-06-18 protocol's
                // way to say where a server works); the builder needs rmcp's server side.
                serde_json::from_value::<ClientCapabilities>(serde_json::json!({"roots": {}}))
                    .unwrap_or_default(),
                Implementation::new("mission", env!("CARGO_PKG_VERSION")),
            )
            .with_protocol_version(ProtocolVersion::V_2025_06_18),
            root: self.cwd.clone(),
        };
        let (service, pgid) = match &config.url {
            Some(url) => {
                let transport = StreamableHttpClientTransport::from_uri(url.clone());
                let service = tokio::time::timeout(START_TIMEOUT, client.serve(transport))
                    .await
                    .map_err(|_| format!("{url} did not answer `initialize` within 30s"))?
                    .map_err(|e| format!("{url}: {e}"))?;
                (service, None)
            }
            None => {
                let cmd = self.command(name, config)?;
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("could not start `{}`: {e}", config.command[0]))?;
                let pgid = transport.id();
                if let (Some(groups), Some(pid)) = (&self.launcher.groups, pgid) {
                    groups.add(pid);
                }
                if let Some(stderr) = stderr {
                    tokio::spawn(log_stderr(name.to_string(), stderr));
                }
                let served = tokio::time::timeout(START_TIMEOUT, client.serve(transport)).await;
                let service = match served {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        self.end_group(pgid);
                        return Err(format!(
                            "`{}` did not complete the MCP handshake: {e}",
                            config.command.join(" ")
                        ));
                    }
                    Err(_) => {
                        self.end_group(pgid);
                        return Err(format!(
                            "`{}` did not answer `initialize` within 30s",
                            config.command.join(" ")
                        ));
                    }
                };
                (service, pgid)
            }
        };
        let tools = match tokio::time::timeout(START_TIMEOUT, service.list_all_tools()).await {
            Ok(Ok(t)) => t,
            failed => {
                // Not left running (nor recorded as running) for a server that is given up.
                self.end_group(pgid);
                return Err(match failed {
                    Ok(Err(e)) => format!("tools/list failed: {e}"),
                    _ => "tools/list did not answer within 30s".into(),
                });
            }
        };
        Ok(Running {
            service,
            tools,
            pgid,
            restarts: 0,
        })
    }

    /// The server's process, set up as commands are: allowlisted environment plus the
    /// configured variables, own process group, dies with the runner, confined.
    fn command(
        &self,
        name: &str,
        config: &McpServerConfig,
    ) -> Result<tokio::process::Command, String> {
        let mut env = self.launcher.child_env();
        for (var, from) in &config.env {
            let value = std::env::var_os(from).ok_or_else(|| {
                format!("`env.{var}` names `{from}`, which is not set in the runner's environment: export it, or remove it from [mcp.servers.{name}]")
            })?;
            env.push((var.into(), value));
        }
        let mut cmd = tokio::process::Command::new(&config.command[0]);
        cmd.args(&config.command[1..])
            .current_dir(&self.cwd)
            .kill_on_drop(true)
            .env_clear()
            .envs(env);
        self.launcher
            .set_up_child(&mut cmd, &self.cwd)
            .map_err(|e| format!("cannot confine the server: {e}"))?;
        Ok(cmd)
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

fn allowed(config: &McpServerConfig, tool: &str) -> bool {
    config
        .tools
        .as_ref()
        .is_none_or(|t| t.iter().any(|x| x == tool))
}

fn failure(name: &str, why: String) -> ToolResult {
    ToolResult {
        summary: format!("{name}: {}", why.lines().next().unwrap_or("")),
        content: why,
        is_error: true,
        command: None,
        mcp: None,
    }
}

/// What the model reads of a result: text as it is, other content described, capped.
fn render(result: &CallToolResult, cap: usize) -> String {
    let mut out = String::new();
    for block in &result.content {
        if !out.is_empty() {
            out.push('\n');
        }
        match block {
            ContentBlock::Text(t) => out.push_str(&t.text),
            ContentBlock::Image(i) => out.push_str(&format!(
                "[image {}, {} bytes of base64 not shown]",
                i.mime_type,
                i.data.len()
            )),
            ContentBlock::Audio(a) => out.push_str(&format!("[audio {}, not shown]", a.mime_type)),
            ContentBlock::Resource(e) => match &e.resource {
                ResourceContents::TextResourceContents { uri, text, .. } => {
                    out.push_str(&format!("[resource {uri}]\n{text}"))
                }
                ResourceContents::BlobResourceContents { uri, .. } => {
                    out.push_str(&format!("[binary resource {uri}, not shown]"))
                }
                _ => out.push_str("[a resource of a kind not shown]"),
            },
            ContentBlock::ResourceLink(l) => out.push_str(&format!("[link {} {}]", l.name, l.uri)),
            _ => out.push_str("[content of a kind not shown]"),
        }
    }
    if out.is_empty()
        && let Some(v) = &result.structured_content
    {
        out = v.to_string();
    }
    if out.len() > cap {
        let mut cut = cap;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n[output capped]");
    }
    out
}

/// A server's stderr goes to the runner's log, line by line.
async fn log_stderr(name: String, stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(server = %name, "mcp stderr: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_rendered_and_capped() {
        let r: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///x", "text": "inside"}},
            ],
            "isError": false
        }))
        .unwrap();
        let text = render(&r, 10_000);
        assert!(
            text.starts_with("hello\n[image image/png, 4 bytes"),
            "{text}"
        );
        assert!(text.ends_with("[resource file:///x]\ninside"), "{text}");
        let capped = render(&r, 8);
        assert!(capped.starts_with("hello\n[i") && capped.ends_with("[output capped]"));
    }

    #[test]
    fn roles_and_allowlists_choose_the_tools() {
        let c = McpServerConfig {
            roles: Some(vec![Role::Worker]),
            tools: Some(vec!["lookup".into()]),
            ..Default::default()
        };
        assert!(c.serves(Role::Worker) && !c.serves(Role::Reviewer));
        assert!(allowed(&c, "lookup") && !allowed(&c, "delete"));
    }
}

/// The client side a server sees: our name, and one root, the mission's worktree (a
/// filesystem server resolves paths there, not in the checkout or its own cwd).
#[derive(Clone)]
struct McpClient {
    info: ClientConfig,
    root: PathBuf,
}

#[allow(deprecated)]
impl McpClient {
    fn roots(&self) -> ListRootsResult {
        ListRootsResult::new(vec![
            Root::new(format!("file://{}", self.root.display())).with_name("worktree"),
        ])
    }
}

#[allow(deprecated)]
impl rmcp::ClientHandler for McpClient {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn list_roots(
        &self,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, rmcp::ErrorData> {
        Ok(self.roots())
    }
}
