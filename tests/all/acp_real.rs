//! The real adapters — `@zed-industries/codex-acp` as the worker, `@zed-industries/
//! claude-code-acp` as the reviewer — through a whole mission, against loopback fake
//! models (`tests/fixtures/real_adapters/`). Ignored by default: it needs them installed
//! from npm, which a fresh machine lacks.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fake model server, ended on drop.
struct Server(std::process::Child);

impl Server {
    fn start(script: &str, port: u16, log: &Path) -> Server {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real_adapters");
        let child = std::process::Command::new("python3")
            .arg(dir.join(script))
            .arg(port.to_string())
            .arg(log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{script} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs the real adapters: npm i --prefix DIR @zed-industries/codex-acp@0.16.0 @zed-industries/claude-code-acp@0.16.2, then MISSION_ACP_ADAPTERS=DIR cargo test --test all acp_real -- --ignored"]
fn codex_works_and_claude_code_reviews_with_the_real_adapters() {
    let adapters = std::env::var("MISSION_ACP_ADAPTERS")
        .expect("MISSION_ACP_ADAPTERS names the npm prefix holding the adapters");
    let modules = Path::new(&adapters).join("node_modules");
    let codex = modules.join("@zed-industries/codex-acp-linux-x64/bin/codex-acp");
    let claude = modules.join("@zed-industries/claude-code-acp/dist/index.js");
    assert!(
        codex.exists() && claude.exists(),
        "no adapters in {adapters}"
    );

    let sb = Sandbox::new();
    let (oa, an) = (free_port(), free_port());
    let _openai = Server::start("fake_openai.py", oa, &sb.tmp.path().join("openai.log"));
    let _anthropic = Server::start(
        "fake_anthropic.py",
        an,
        &sb.tmp.path().join("anthropic.log"),
    );
    let codex_home = sb.tmp.path().join("codex-home");
    let claude_dir = sb.tmp.path().join("claude-config");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::create_dir_all(&claude_dir).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        format!(
            "model = \"gpt-5-fake\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake\"\nbase_url = \"http://127.0.0.1:{oa}/v1\"\nwire_api = \"responses\"\nenv_key = \"FAKE_OPENAI_KEY\"\n"
        ),
    )
    .unwrap();
    let plan = serde_json::json!({
        "milestones": [{"id": "m1", "title": "Greeting", "features": [
            {"id": "m1-f1", "title": "Write hello.txt", "description": "write hello.txt", "fulfills": ["a1"]}
        ]}],
        "assertions": [{"id": "a1", "kind": "command", "text": "hello.txt exists", "command": "test -f hello.txt"}]
    });
    mini_repo(
        &sb,
        serde_json::json!({"entries": [entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", plan)])])]}),
        "",
    );
    std::fs::write(
        sb.repo().join(".mission/mission.toml"),
        format!(
            r#"[roles.orchestrator]
provider = "scripted"
model = "o"

[roles.worker]
agent = "codex"

[roles.reviewer]
agent = "claude"

[agents.codex]
command = ["{codex}"]
env = {{ CODEX_HOME = "{codex_home}", FAKE_OPENAI_KEY = "sk-fake" }}

[agents.claude]
command = ["node", "{claude}"]
env = {{ ANTHROPIC_BASE_URL = "http://127.0.0.1:{an}", ANTHROPIC_API_KEY = "sk-fake", CLAUDE_CONFIG_DIR = "{claude_dir}", IS_SANDBOX = "1", DISABLE_AUTOUPDATER = "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1" }}

[sandbox]
writable = ["{codex_home}", "{claude_dir}"]
"#,
            codex = codex.display(),
            claude = claude.display(),
            codex_home = codex_home.display(),
            claude_dir = claude_dir.display(),
        ),
    )
    .unwrap();

    let doctor = text(&sb.run(&["doctor"]));
    assert!(
        doctor.contains("✔ agent codex: codex-acp")
            && doctor.contains("✔ agent claude: @zed-industries/claude-code-acp"),
        "{doctor}"
    );
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("worker (acp/codex)"), "{said}");
    assert!(said.contains("reviewer (acp/claude)"), "{said}");
    assert!(said.contains("✔ review passed"), "{said}");
    let h: serde_json::Value =
        serde_json::from_slice(&sb.run(&["handoff", "m1-f1", "--json"]).stdout).unwrap();
    assert_eq!(h["agent"], "codex", "{h:#}");
    assert_eq!(
        h["commands"][0]["exit_code"], 0,
        "Codex's command, with its exit code: {h:#}"
    );
    // Nothing of either agent is left running.
    let start = Instant::now();
    let alive = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                std::fs::read(e.path().join("environ"))
                    .unwrap_or_default()
                    .windows(codex_home.as_os_str().len())
                    .any(|w| w == codex_home.as_os_str().as_encoded_bytes())
            })
            .count()
    };
    while alive() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "an adapter outlived its run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
