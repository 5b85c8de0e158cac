//! External agents as roles over the Agent Client Protocol, with a fake agent
//! (`tests/fixtures/fake_acp_agent.py`) that speaks it on stdio as Codex's and Claude
//! Code's adapters do: a worker whose files are committed, confined to the worktree,
//! whose permission requests are answered and whose process group ends with its
//! feature; a worker that never hands off; a reviewer whose verdict fails a feature; and
//! a session cancelled when the mission is aborted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// The tests that judge the sandbox (a write outside refused, the network out of reach,
/// nothing left after a crash) fail here, naming why, where its namespaces cannot be made:
/// they must not pass having tested nothing.
fn sandbox_here() {
    if let Err(e) = mission::sandbox::namespaces::available(&bin()) {
        panic!(
            "the sandbox's namespaces cannot be made here, so an agent's confinement cannot be tested: {e}"
        );
    }
}

fn fake_agent() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_acp_agent.py")
}

/// A repository whose scripted orchestrator plans one feature (hello.txt), and whose
/// roles are `roles` (TOML), with the fake agent defined as `fake` in `mode`.
fn repo(sb: &Sandbox, mode: &str, roles: &str, extra_script: Vec<serde_json::Value>) {
    repo_with(sb, mode, roles, extra_script, "")
}

fn repo_with(
    sb: &Sandbox,
    mode: &str,
    roles: &str,
    extra_script: Vec<serde_json::Value>,
    agent_extra: &str,
) {
    let plan = serde_json::json!({
        "milestones": [{"id": "m1", "title": "Greeting", "features": [
            {"id": "m1-f1", "title": "Write hello.txt", "description": "write hello.txt", "fulfills": ["a1"]}
        ]}],
        "assertions": [{"id": "a1", "kind": "command", "text": "hello.txt exists", "command": "test -f hello.txt"}]
    });
    let mut entries = vec![entry(
        "orchestrator",
        "Plan the mission.",
        vec![turn(vec![call("submit_plan", plan)])],
    )];
    entries.extend(extra_script);
    mini_repo(sb, serde_json::json!({ "entries": entries }), "");
    let outside = sb.tmp.path().join("outside.txt");
    std::fs::write(
        sb.repo().join(".mission/mission.toml"),
        format!(
            "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n\n{roles}\n\n[agents.fake]\ncommand = [\"python3\", \"{}\"]\n{agent_extra}\nenv = {{ FAKE_ACP_MODE = \"{mode}\", FAKE_ACP_OUTSIDE = \"{}\" }}\n",
            fake_agent().display(),
            outside.display()
        ),
    )
    .unwrap();
}

fn transcripts(sb: &Sandbox, role: &str) -> String {
    let dir = sb.repo().join(".mission/transcripts");
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with(role) {
            out.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    out
}

/// Live processes of this test's fake agent — itself and its helper child — found by
/// the environment they carry (the sandbox gives them pids of their own namespace, so
/// the pids they report mean nothing out here).
fn agent_processes(sb: &Sandbox) -> Vec<String> {
    let mark = format!(
        "FAKE_ACP_OUTSIDE={}",
        sb.tmp.path().join("outside.txt").display()
    );
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            // A zombie has ended: it waits only for its parent to reap it.
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|v| v == mark.as_bytes())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn wait_gone(sb: &Sandbox) {
    let start = Instant::now();
    loop {
        let left = agent_processes(sb);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the agent's processes {left:?} outlived their run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_acp_worker_builds_a_feature_in_the_worktree_and_is_gone_after_it() {
    sandbox_here();
    let sb = Sandbox::new();
    repo_with(
        &sb,
        "worker",
        "[roles.worker]\nagent = \"fake\"",
        vec![],
        "env_pass = [\"FAKE_ACP_PORT\", \"FAKE_ACP_ABSTRACT\"]",
    );
    // A listener on the host's loopback: the agent reaches its provider through the
    // host's network, which the sandbox's own commands do not share.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // An abstract unix socket of the host (as X11's or D-Bus's): out of reach all the same.
    let name = format!("mission-test-{}", std::process::id());
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .unwrap();
    let _abstract = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    let out = sb.run_env(
        &["start", "Greet", "--headless", "--auto-approve"],
        &[
            ("FAKE_ACP_PORT", std::ffi::OsStr::new(&port)),
            ("FAKE_ACP_ABSTRACT", std::ffi::OsStr::new(&name)),
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");

    let t = transcripts(&sb, "worker");
    let work = sb.worktree();
    // The session's cwd is the mission's worktree, and the mission's tool was offered.
    assert!(
        t.contains(&format!(
            "in {}; mission tools ['submit_handoff']",
            work.display()
        )),
        "{t}"
    );
    assert!(t.contains("host network reachable"), "{t}");
    assert!(t.contains("abstract socket unreachable"), "{t}");
    // Its own sandbox cannot nest in ours: its most permissive mode was chosen.
    assert!(t.contains("mode full-access"), "{t}");
    assert!(t.contains("\"acp\":\"session/set_mode\""), "{t}");
    // Permission asked and answered by the policy (allow).
    assert!(t.contains("permission answer yes"), "{t}");
    // A write outside the worktree is stopped by the sandbox, and fs/* refuses it too.
    assert!(t.contains("outside write denied"), "{t}");
    assert!(
        t.contains("fs outside: error") && t.contains("fs inside: ok"),
        "{t}"
    );
    assert!(!sb.tmp.path().join("outside.txt").exists());
    // The handoff call was checked and taken.
    assert!(t.contains("handoff answer: Received."), "{t}");

    // Both files, the agent's own write and the one through fs/write_text_file, are the
    // feature's commit.
    let commits = sb.mission_commits();
    assert!(
        commits.iter().any(|(m, _)| m.contains("m1-f1")),
        "{commits:?}"
    );
    let repo = git2::Repository::open(&work).unwrap();
    let head = repo.head().unwrap().peel_to_tree().unwrap();
    for f in ["hello.txt", "via.txt"] {
        assert!(head.get_name(f).is_some(), "{f} is committed");
    }
    let handoff = sb.run(&["handoff", "m1-f1", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&handoff.stdout).unwrap();
    assert_eq!(h["summary"], "wrote hello.txt and via.txt", "{h:#}");
    assert_eq!(h["agent"], "fake", "{h:#}");
    let said = text(&sb.run(&["handoff", "m1-f1"]));
    assert!(
        said.contains("Cost   unknown (external agent `fake` reports no usage)"),
        "{said}"
    );

    // The activity shows the agent's tool call and the permission decision.
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(
        log.contains("\"model\":\"acp/fake\""),
        "the run names its agent"
    );
    assert!(log.contains("allowed: Write hello.txt"), "{log}");
    // Its words reach the activity feed as a model's do.
    assert!(
        log.lines()
            .any(|l| l.contains("\"type\":\"agent_turn\"")
                && l.contains("\"text\":\"fake agent pid")),
        "{log}"
    );

    // It reported no usage: its cost is unknown, not $0.
    assert_eq!(sb.status()["budget"]["cost_unknown_runs"], 1);
    let said = text(&sb.run(&["status"]));
    assert!(
        said.contains("+ cost unknown (external agent, 1 run(s))"),
        "{said}"
    );

    // Its whole process group ended with the feature, the helper child too.
    wait_gone(&sb);
}

#[test]
fn an_acp_worker_that_never_hands_off_gets_a_handoff_written_by_the_harness() {
    let sb = Sandbox::new();
    repo(
        &sb,
        "silent-worker",
        "[roles.worker]\nagent = \"fake\"",
        vec![],
    );
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = transcripts(&sb, "worker");
    // Asked once for the handoff, in a second prompt.
    assert!(t.contains("without a call to `submit_handoff`"), "{t}");
    let handoff = sb.run(&["handoff", "m1-f1", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&handoff.stdout).unwrap();
    assert_eq!(h["status"], "partial", "{h:#}");
    assert!(
        h["summary"]
            .as_str()
            .unwrap()
            .contains("All done, hello.txt is written."),
        "{h:#}"
    );
    assert!(
        h["deviations"][0]
            .as_str()
            .unwrap()
            .contains("the harness wrote this handoff from its last message"),
        "{h:#}"
    );
}

#[test]
fn an_acp_reviewer_fails_a_feature_with_its_finding() {
    sandbox_here();
    let sb = Sandbox::new();
    let worker = entry(
        "worker",
        "Feature m1-f1:",
        vec![
            turn(vec![call(
                "write_file",
                serde_json::json!({"path": "hello.txt", "content": "hello\n"}),
            )]),
            turn(vec![done("wrote hello.txt")]),
        ],
    );
    // The orchestrator cannot fix a review it disagrees with: it escalates.
    let fixes = entry(
        "orchestrator",
        "Fix round 1",
        vec![turn(vec![call(
            "submit_fixes",
            serde_json::json!({"features": [], "note": "a human must judge the review"}),
        )])],
    );
    repo_with(
        &sb,
        "reviewer",
        "[roles.worker]\nprovider = \"scripted\"\nmodel = \"w\"\n\n[roles.reviewer]\nagent = \"fake\"",
        vec![worker, fixes],
        "env_pass = [\"FAKE_ACP_PORT\"]\nnetwork = false",
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = sb.run_env(
        &["start", "Greet", "--headless", "--auto-approve"],
        &[("FAKE_ACP_PORT", std::ffi::OsStr::new(&port))],
    );
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    // `network = false`: the reviewer stays on the sandbox's loopback.
    let t = transcripts(&sb, "reviewer");
    assert!(t.contains("host network unreachable"), "{t}");
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    let review = log
        .lines()
        .find(|l| {
            l.contains("\"type\":\"review_submitted\"") && !l.contains("\"reviewer\":\"harness\"")
        })
        .unwrap_or_else(|| panic!("no review: {log}"));
    assert!(review.contains("the greeting lacks a name"), "{review}");
    assert!(review.contains("\"pass\":false"), "{review}");
    assert!(
        log.contains("\"type\":\"validation_finished\"") && log.contains("escalation"),
        "{log}"
    );
}

#[test]
fn aborting_the_mission_cancels_the_acp_session_and_ends_the_agent() {
    let sb = Sandbox::new();
    repo(&sb, "hang", "[roles.worker]\nagent = \"fake\"", vec![]);
    let mut child = sb.spawn_quiet(&["start", "Greet", "--headless", "--auto-approve"]);
    wait_for_words(&sb, "waiting for cancel");
    let out = sb.run(&["abort", "--note", "enough"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let t = transcripts(&sb, "worker");
    assert!(t.contains("\"acp\":\"cancel\""), "{t}");
    assert!(t.contains("got session/cancel"), "{t}");
    wait_gone(&sb);
}

fn transcripts_exist(sb: &Sandbox) -> bool {
    sb.repo().join(".mission/transcripts").is_dir()
}

/// Waits until the worker's transcript holds `words` (a minute at most).
fn wait_for_words(sb: &Sandbox, words: &str) {
    let start = Instant::now();
    while !transcripts_exist(sb) || !transcripts(sb, "worker").contains(words) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the worker's transcript never said {words:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn doctor_asks_each_agent_who_it_is_and_a_role_naming_no_agent_is_refused() {
    let sb = Sandbox::new();
    repo(&sb, "worker", "[roles.worker]\nagent = \"fake\"", vec![]);
    let out = sb.run(&["doctor"]);
    let said = text(&out);
    assert!(
        said.contains("✔ worker: the external agent `fake`")
            && said.contains("✔ agent fake: fake-acp 0.1.0 (ACP protocol 1) answered and opened a session in the sandbox in")
            && said.contains("modes: read-only, auto, full-access"),
        "{said}"
    );
    // The agent does not exit when its input closes: doctor ends its group.
    wait_gone(&sb);

    // One that dies opening a session is named with its last words.
    sb.set_config("FAKE_ACP_MODE = \"worker\"", "FAKE_ACP_MODE = \"crash\"");
    let out = sb.run(&["doctor"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("✘ agent fake: the agent exited (exit status: 1); its stderr: Error: ENOENT"),
        "{said}"
    );

    sb.set_config("agent = \"fake\"", "agent = \"codex\"");
    let out = sb.run(&["doctor"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("`codex` is not defined: add [agents.codex] with `command`"),
        "{said}"
    );
    sb.set_config(
        "agent = \"codex\"",
        "agent = \"fake\"\nprovider = \"openai\"",
    );
    let said = text(&sb.run(&["doctor"]));
    assert!(
        said.contains("names an external agent: leave out provider and model"),
        "{said}"
    );
}

#[test]
fn a_pause_cancels_the_acp_turn_and_the_unpause_prompts_it_to_go_on() {
    let sb = Sandbox::new();
    repo(&sb, "hang", "[roles.worker]\nagent = \"fake\"", vec![]);
    let mut child = sb.spawn_quiet(&["start", "Greet", "--headless", "--auto-approve"]);
    wait_for_words(&sb, "waiting for cancel");
    assert!(sb.run(&["pause"]).status.success());
    wait_for_words(&sb, "got session/cancel");
    assert!(sb.run(&["unpause"]).status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let t = transcripts(&sb, "worker");
    assert!(t.contains("\"paused\":true"), "{t}");
    assert!(t.contains("continue where you were"), "{t}");
    assert!(t.contains("handoff answer: Received."), "{t}");
    wait_gone(&sb);
}

#[test]
fn a_deny_policy_refuses_the_agents_tools_but_never_its_handoff() {
    let sb = Sandbox::new();
    repo_with(
        &sb,
        "worker",
        "[roles.worker]\nagent = \"fake\"",
        vec![],
        "permissions = \"deny\"",
    );
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = transcripts(&sb, "worker");
    assert!(t.contains("permission answer no"), "{t}");
    assert!(t.contains("handoff permission yes"), "{t}");
    assert!(t.contains("handoff answer: Received."), "{t}");
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(log.contains("denied: Write hello.txt"), "{log}");
}

#[test]
fn an_agent_that_dies_is_named_with_its_last_words_on_stderr() {
    let sb = Sandbox::new();
    repo(&sb, "crash", "[roles.worker]\nagent = \"fake\"", vec![]);
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(
        log.contains("external agent `fake`: session/new: the agent exited (exit status: 1); its last words on stderr:")
            && log.contains("ENOENT: no such file or directory, open '/root/.fake/debug.txt'"),
        "{said}\n{log}"
    );
}

/// An agent installed under /tmp (which the sandbox empties) still starts: its directory
/// comes back read-only.
#[test]
fn an_agent_installed_under_tmp_is_found_inside_the_sandbox() {
    sandbox_here();
    let sb = Sandbox::new();
    repo(&sb, "worker", "[roles.worker]\nagent = \"fake\"", vec![]);
    // Under /tmp itself, whatever TMPDIR says: /tmp is what the sandbox empties.
    let tools = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    let copy = tools.path().join("fake_acp_agent.py");
    std::fs::copy(fake_agent(), &copy).unwrap();
    sb.set_config(
        &fake_agent().display().to_string(),
        &copy.display().to_string(),
    );
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(transcripts(&sb, "worker").contains("handoff answer: Received."));
}

/// The orchestrator too may be an external agent: its plan comes through the same MCP
/// server, checked and baselined as a built-in orchestrator's.
#[test]
fn an_acp_orchestrator_plans_for_an_acp_worker() {
    let sb = Sandbox::new();
    repo(&sb, "worker", "[roles.worker]\nagent = \"fake\"", vec![]);
    let agent = |mode: &str| {
        format!(
            "command = [\"python3\", \"{}\"]\nenv = {{ FAKE_ACP_MODE = \"{mode}\", FAKE_ACP_OUTSIDE = \"{}\" }}\n",
            fake_agent().display(),
            sb.tmp.path().join("outside.txt").display()
        )
    };
    std::fs::write(
        sb.repo().join(".mission/mission.toml"),
        format!(
            "[roles.orchestrator]\nagent = \"planner\"\n\n[roles.worker]\nagent = \"fake\"\n\n[agents.planner]\n{}\n[agents.fake]\n{}",
            agent("planner"),
            agent("worker")
        ),
    )
    .unwrap();
    let out = sb.run(&["start", "Greet", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = transcripts(&sb, "orchestrator");
    assert!(t.contains("mission tools ['submit_plan']"), "{t}");
    assert!(t.contains("plan answer: Received."), "{t}");
    // The reviewer borrowed the orchestrator's agent, as it borrows a model.
    assert!(transcripts(&sb, "reviewer").contains("review answer: Received."));
    assert_eq!(sb.status()["budget"]["cost_unknown_runs"], 3);
    wait_gone(&sb);
}

/// A runner killed outright mid-turn leaves no agent behind (the agent ran in the
/// mission's namespaces and its group is recorded), and `mission resume` runs the feature
/// again with a fresh session.
#[test]
fn a_runner_killed_mid_turn_leaves_no_agent_and_resumes_the_feature() {
    sandbox_here();
    let sb = Sandbox::new();
    repo(&sb, "hang", "[roles.worker]\nagent = \"fake\"", vec![]);
    let mut child = sb.spawn_quiet(&["start", "Greet", "--headless", "--auto-approve"]);
    wait_for_words(&sb, "waiting for cancel");
    assert!(!agent_processes(&sb).is_empty(), "the agent runs");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_gone(&sb);
    sb.set_config("FAKE_ACP_MODE = \"hang\"", "FAKE_ACP_MODE = \"worker\"");
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let h: serde_json::Value =
        serde_json::from_slice(&sb.run(&["handoff", "m1-f1", "--json"]).stdout).unwrap();
    assert_eq!(h["summary"], "wrote hello.txt and via.txt", "{h:#}");
    assert_eq!(h["attempt"], 2, "a fresh attempt after the crash: {h:#}");
    wait_gone(&sb);
}

/// An agent that ignores `session/cancel` does not hold an abort: its process group is
/// ended after a grace (15 s; 1 s here).
#[test]
fn an_agent_deaf_to_cancel_is_ended_after_a_grace() {
    let sb = Sandbox::new();
    repo(&sb, "deaf", "[roles.worker]\nagent = \"fake\"", vec![]);
    let mut child = mission(&sb.config_home())
        .args(["start", "Greet", "--headless", "--auto-approve", "--dir"])
        .arg(sb.repo())
        .env("MISSION_ACP_CANCEL_GRACE_SECS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_words(&sb, "deaf to it");
    assert!(sb.run(&["abort", "--note", "enough"]).status.success());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let t = transcripts(&sb, "worker");
    assert!(t.contains("\"acp\":\"cancel ignored\""), "{t}");
    wait_gone(&sb);
}
