//! MCP servers as tool sources: a stdio server (the `fake_mcp_server` example, run in
//! the sandbox) and a loopback streamable-HTTP one, used by a scripted worker; servers
//! that crash, hang or never start; secrets in `env` that go nowhere else.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::common::fake_llm::{FakeLlm, script_responder};
use crate::common::*;

/// Built by `cargo test` with the other examples, beside the binary under test.
fn fake_server() -> PathBuf {
    let p = bin()
        .parent()
        .unwrap()
        .join("examples")
        .join("fake_mcp_server");
    assert!(p.exists(), "{} is built by `cargo test`", p.display());
    p
}

/// The HTTP flavour, killed when dropped.
struct HttpServer(std::process::Child, u16);

impl HttpServer {
    fn start() -> Self {
        let mut child = std::process::Command::new(fake_server())
            .arg("--http")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        HttpServer(child, line.trim().parse().unwrap())
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker_script(calls: Vec<serde_json::Value>) -> serde_json::Value {
    let mut first = calls;
    first.push(call(
        "write_file",
        json!({"path": "flag.txt", "content": "ok"}),
    ));
    first.push(done("wrote flag.txt"));
    json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![turn(first)]),
    ]})
}

fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(files_containing(&p, needle));
        } else if std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).contains(needle))
            .unwrap_or(false)
        {
            hits.push(p);
        }
    }
    hits
}

const SECRET: &str = "mcp-secret-value-5f0c1e";

#[test]
fn a_worker_uses_tools_of_a_stdio_and_an_http_server_and_the_secret_goes_nowhere() {
    let sb = Sandbox::new();
    let http = HttpServer::start();
    let config = format!(
        "[mcp.servers.codes]\ncommand = [\"{}\"]\nenv = {{ FAKE_MCP_TOKEN = \"MY_MCP_TOKEN\" }}\nroles = [\"worker\"]\n\n[mcp.servers.web]\nurl = \"http://127.0.0.1:{}/mcp\"\ntools = [\"lookup\"]\n",
        fake_server().display(),
        http.1
    );
    mini_repo(
        &sb,
        worker_script(vec![
            call("mcp__codes__lookup", json!({"key": "alpha"})),
            call("mcp__codes__secret_check", json!({})),
            call("mcp__web__lookup", json!({"key": "beta"})),
            call("mcp__web__crash", json!({})),
        ]),
        &config,
    );
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[("MY_MCP_TOKEN", SECRET.as_ref())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let transcript = transcripts_containing(&sb, "the code for alpha is ALPHA-42");
    assert_eq!(
        transcript.len(),
        1,
        "the worker read the stdio server's answer"
    );
    let worker =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&transcript[0]))
            .unwrap();
    assert!(
        worker.contains("token present"),
        "the configured env reached the server"
    );
    assert!(
        worker.contains("the code for beta is BETA-42"),
        "the HTTP server answered"
    );
    assert!(
        worker.contains("unknown tool `mcp__web__crash`"),
        "a tool outside the allowlist is not offered: {worker}"
    );
    // The secret was in the runner's environment and the server's, nowhere else.
    assert!(files_containing(&sb.repo().join(".mission"), SECRET).is_empty());
    assert!(files_containing(&sb.worktree(), SECRET).is_empty());
    let log = std::fs::read_to_string(sb.repo().join(".mission/logs/runner.log")).unwrap();
    assert!(log.contains("mcp server started"), "{log}");
    assert!(log.contains("mcp call"), "{log}");
    // The stdio server ended with the runner.
    let groups = std::fs::read_to_string(sb.repo().join(".mission/pgroups")).unwrap_or_default();
    assert!(groups.trim().is_empty(), "left running: {groups}");

    let handoff = text(&sb.run(&["handoff", "m1-f1"]));
    assert!(
        handoff.contains("MCP calls")
            && handoff.contains(r#"codes/lookup {"key":"alpha"} → the code for alpha is ALPHA-42"#),
        "the handoff records MCP calls: {handoff}"
    );
    let doctor = sb.run_env(&["doctor"], &[("MY_MCP_TOKEN", SECRET.as_ref())]);
    let said = text(&doctor);
    assert!(
        said.contains("✔ mcp codes: 5 tool(s): mcp__codes__lookup, mcp__codes__secret_check, mcp__codes__crash, mcp__codes__hang, mcp__codes__roots"),
        "{said}"
    );
    assert!(
        said.contains("✔ mcp web: 1 tool(s): mcp__web__lookup"),
        "{said}"
    );
}

#[test]
fn servers_that_crash_hang_or_never_start_do_not_stop_the_mission() {
    let sb = Sandbox::new();
    let config = format!(
        "[mcp.servers.codes]\ncommand = [\"{}\"]\ntimeout_secs = 1\n\n[mcp.servers.broken]\ncommand = [\"/nonexistent/mcp-server\"]\n",
        fake_server().display()
    );
    mini_repo(
        &sb,
        worker_script(vec![
            call("mcp__codes__crash", json!({})),
            call("mcp__codes__hang", json!({})),
            call("mcp__codes__lookup", json!({"key": "gamma"})),
            call("mcp__broken__anything", json!({})),
        ]),
        &config,
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sb.status()["state"], "completed");
    let said = text(&out);
    assert!(
        said.contains("✘ server `broken`: could not start `/nonexistent/mcp-server`"),
        "a server that cannot start is named in the run's lines: {said}"
    );
    let hits = transcripts_containing(&sb, "the code for gamma is GAMMA-42");
    assert_eq!(
        hits.len(),
        1,
        "after a crash and a hang the server was restarted and answered"
    );
    let worker =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&hits[0])).unwrap();
    assert!(
        worker.contains("MCP server `codes` stopped answering"),
        "{worker}"
    );
    assert!(worker.contains("did not answer hang within 1s"), "{worker}");
    assert!(
        worker.contains("unknown tool `mcp__broken__anything`"),
        "{worker}"
    );
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(log.contains(r#""type":"mcp_server_failed""#), "{log}");
}

/// What a real model would see: the MCP tools of the servers its role has are in the tool
/// list of every request the provider receives, with their descriptions and schemas; a
/// role without the server is offered none of them.
#[test]
fn the_model_is_offered_the_mcp_tools_of_its_role() {
    let fake = FakeLlm::start(script_responder(
        crate::providers::mission_script(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        false,
    ));
    let extra = format!(
        "[mcp.servers.codes]\ncommand = [\"{}\"]\nroles = [\"worker\"]\n",
        fake_server().display()
    );
    let _sb = crate::providers::run_mission_over_with("openai", &fake, &extra);
    let offered = |model: &str| -> Vec<Vec<serde_json::Value>> {
        fake.all()
            .iter()
            .filter(|r| r.body["model"] == model)
            .map(|r| r.body["tools"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let worker = offered("work-model");
    assert!(!worker.is_empty());
    for tools in &worker {
        let lookup = tools
            .iter()
            .find(|t| t["function"]["name"] == "mcp__codes__lookup")
            .unwrap_or_else(|| panic!("no MCP tool offered: {tools:#?}"));
        assert!(
            lookup["function"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{lookup:#}"
        );
        assert_eq!(
            lookup["function"]["parameters"]["type"], "object",
            "{lookup:#}"
        );
    }
    for tools in offered("orch-model") {
        assert!(
            tools.iter().all(|t| !t["function"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("mcp__")),
            "the orchestrator has no MCP server: {tools:#?}"
        );
    }
}

/// A server that asks where it works (`roots/list`) is told the mission's worktree, not
/// the checkout.
#[test]
fn servers_are_given_the_worktree_as_their_root() {
    let sb = Sandbox::new();
    let config = format!(
        "[mcp.servers.codes]\ncommand = [\"{}\"]\nroles = [\"worker\"]\n",
        fake_server().display()
    );
    mini_repo(
        &sb,
        worker_script(vec![call("mcp__codes__roots", json!({}))]),
        &config,
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    let uri = format!("file://{}", sb.worktree().display());
    assert_eq!(
        transcripts_containing(&sb, &uri).len(),
        1,
        "the server was told its root: {uri}"
    );
}
