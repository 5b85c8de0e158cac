//! The real binary in pseudo-terminals (portable-pty + a vt100 screen): the demo's
//! console waits at the plan gate, a second terminal attaches, pauses and approves,
//! the first unpauses, the tree fills (both consoles following the running agent live),
//! and a handoff shows real commands and a diff.

use std::time::Duration;

use crate::common::pty::Term;
use crate::common::*;

#[test]
fn demo_console_gate_attach_pause_approve_and_handoff() {
    let sb = Sandbox::new();
    let mut main = Term::spawn(&sb, &["demo", "--fast"], 80, 24);
    // The gate dialog shows the plan and the key that approves it.
    main.wait_for_all(&["Approve the plan?", "m1-f1 Parse numbers", "a approve"]);
    // It rang and sent a desktop notification when the gate opened.
    assert!(
        main.wrote(b"\x07\x1b]9;mission: plan"),
        "no bell / OSC 9 at the gate"
    );
    assert!(main.wrote(b"\x1b]777;notify;mission;plan"));

    // A second terminal attaches to the same mission.
    let mut side = Term::spawn(&sb, &["attach"], 100, 30);
    side.wait_for("Approve the plan?");
    // Attaching to a mission that already waits rings too.
    assert!(side.wrote(b"\x1b]9;mission: plan"));
    side.keys("p");
    side.wait_for("paused: no new agent turn");
    // A gate's keys act once it has been in view a moment.
    std::thread::sleep(Duration::from_millis(600));
    side.keys("a");
    side.wait_for("approved: plan approval");
    main.wait_for("PAUSED");
    std::thread::sleep(Duration::from_millis(500));
    let st = sb.status();
    assert_eq!(st["state"], "paused", "{st:#}");
    assert_eq!(
        st["milestones"][0]["features"][0]["state"], "pending",
        "paused: nothing ran"
    );

    // Unpause from the first console; the mission runs to the end and the tree fills.
    main.keys("p");
    // The tree fills, the corrective feature included.
    main.wait_for_all(&["COMPLETED", "✔ m2 ", "↻ m1-fix1-1"]);
    side.wait_for("COMPLETED");
    // The end rings too, in both consoles.
    for term in [&main, &side] {
        let start = std::time::Instant::now();
        while !term.wrote(b"\x1b]9;mission: the mission completed") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no notification at the end"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // While features ran, both consoles followed the running agent live: its tool calls,
    // read from its transcript as it grew (by the attached one from another process).
    // (Raw output: a frame writes only the cells that changed, so no trailing spaces.)
    for term in [&main, &side] {
        assert!(term.wrote("Live".as_bytes()), "no live agent view");
        assert!(term.wrote("⚙".as_bytes()), "no tool call in the live view");
    }

    // Open m1-f2's handoff: its real commands with exit codes, then its diff.
    main.keys("kkkkkkkkkk");
    main.keys("jj");
    main.keys("\r");
    main.keys("\t");
    main.wait_for_all(&["cargo test -q", "m1-f2 Mean and median", "exit   0"]);
    main.keys("\t\t");
    main.wait_for_all(&["+pub mod stats;", "src/stats.rs"]);

    side.keys("q");
    assert_eq!(side.exit_code(), 0, "detaching is a clean exit");
    main.keys("q");
    assert_eq!(main.exit_code(), 0, "the mission completed");
    assert_demo_completed(&sb);
}

/// Over a real terminal: a human types a message to the orchestrator while the plan gate
/// opens; the sentence's letters (`a`, `r`) stay in the box and decide nothing. The gate
/// rings, waits under the box, and after Esc and a moment, `a` approves it.
#[test]
fn typing_while_a_gate_opens_decides_nothing() {
    let sb = Sandbox::new();
    let (go, wait) = sb.gate();
    let script = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![
            turn(vec![call("run_command", serde_json::json!({"command": wait}))]),
            turn(vec![call("submit_plan", flag_plan())]),
        ]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", serde_json::json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the orchestrator", |st| st["state"] == "planning");
    let mut term = Term::spawn(&sb, &["attach"], 80, 24);
    term.wait_for("attached");
    term.keys("m");
    term.keys("I am ");
    std::fs::write(&go, "").unwrap();
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    term.wait_for("waits for you: finish or Esc the box");
    term.keys("approving a rewrite");
    term.wait_for("I am approving a rewrite");
    assert!(term.wrote(b"\x07"), "the gate rang");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        sb.status()["state"],
        "awaiting_approval",
        "a letter typed in the box decided nothing"
    );
    term.keys("\x1b");
    // A key in the gate's first moments in view is dropped, and says so.
    term.keys("a");
    term.wait_for("the gate has just come into view");
    assert_eq!(
        sb.status()["state"],
        "awaiting_approval",
        "the early key decided nothing"
    );
    term.wait_for("Approve the plan?");
    std::thread::sleep(Duration::from_millis(600));
    term.keys("a");
    term.wait_for("approved: plan approval");
    sb.wait_for_status("completion", |st| st["state"] == "completed");
    assert!(runner.wait().unwrap().success());
}

/// `kill -9` of the runner, left unreaped (a pid check would still see it): the attached
/// console finds it dead within seconds by the mission's lock, rings, shows the running
/// feature as stopped, and runs `[notify] command` and `[hooks] runner_stopped` itself —
/// the runner cannot. The console needs no provider key for any of it.
#[test]
fn a_killed_runner_rings_the_attached_console_and_runs_its_commands() {
    let sb = Sandbox::new();
    let (_go, wait) = sb.gate();
    let script = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("run_command", serde_json::json!({"command": wait}))]),
        ]),
    ]});
    let heard = sb.tmp.path().join("heard.jsonl");
    let hooked = sb.tmp.path().join("hooked.jsonl");
    let append = |file: &std::path::Path| {
        format!(
            "[\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$1\\\" >> {}\", \"hook\"]",
            file.display()
        )
    };
    mini_repo(
        &sb,
        script,
        &format!(
            "[notify]\ncommand = {}\n\n[hooks]\nrunner_stopped = {}\n",
            append(&heard),
            append(&hooked)
        ),
    );
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless", "--auto-approve"]);
    sb.wait_for_status("the worker", |st| {
        st["milestones"][0]["features"][0]["state"] == "running"
    });
    let mut term = Term::spawn(&sb, &["attach"], 100, 30);
    term.wait_for("attached");
    runner.kill().unwrap(); // SIGKILL, and not reaped until the end of the test
    term.wait_for_all(&["STOPPED", "■ m1-f1 Create", "■ stopped"]);
    assert!(
        term.wrote(b"\x07\x1b]9;mission: the runner stopped"),
        "no bell / OSC 9 for the dead runner"
    );
    let start = std::time::Instant::now();
    let read = |f: &std::path::Path| std::fs::read_to_string(f).unwrap_or_default();
    while !(read(&heard).contains("runner_stopped") && read(&hooked).contains("runner_stopped")) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "notify: {}\nhook: {}",
            read(&heard),
            read(&hooked)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let hook: serde_json::Value =
        serde_json::from_str(read(&hooked).lines().last().unwrap()).unwrap();
    assert_eq!(hook["type"], "runner_stopped");
    assert_eq!(hook["goal"], "Create a flag");
    assert!(hook["event"].is_null());
    term.keys("q");
    assert_eq!(term.exit_code(), 0);
    runner.wait().unwrap();
}

/// Inside tmux (`$TMUX` set), the desktop notifications are wrapped for tmux's
/// passthrough (`set -g allow-passthrough on`), or tmux would swallow them.
#[test]
fn inside_tmux_the_notifications_are_wrapped() {
    let sb = Sandbox::new();
    mini_repo(
        &sb,
        serde_json::json!({"entries": [
            entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        ]}),
        "",
    );
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let mut term = Term::spawn_env(
        &sb,
        &["attach"],
        80,
        24,
        &[("TMUX", "/tmp/tmux-0/default,1,0")],
    );
    term.wait_for("Approve the plan?");
    let start = std::time::Instant::now();
    while !term.wrote(b"\x1bPtmux;\x1b\x1b]9;mission: plan") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no tmux-wrapped OSC 9"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(term.wrote(b"\x1bPtmux;\x1b\x1b]777;notify;mission;plan"));
    assert!(!term.wrote(b"\x07\x1b]9;"), "no bare OSC inside tmux");
    term.keys("q");
    assert_eq!(term.exit_code(), 0);
    runner.kill().unwrap();
    runner.wait().unwrap();
}

/// The fleet console over a real terminal: the mission that needs you is listed first;
/// Enter opens its own console, `q` comes back to the list, and `a` from the list
/// approves the gate it shows.
#[test]
fn the_fleet_console_attaches_comes_back_and_approves() {
    let sb = Sandbox::new();
    let flag = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", serde_json::json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt")]),
        ]),
    ]});
    let (gated, finished) = (sb.tmp.path().join("gated"), sb.tmp.path().join("finished"));
    mini_repo_at(&gated, flag.clone(), "");
    mini_repo_at(&finished, flag, "");
    for (repo, args) in [
        (&finished, vec!["--headless", "--auto-approve"]),
        (&gated, vec!["--detach"]),
    ] {
        let out = mission(&sb.config_home())
            .args(["start", "Create a flag"])
            .args(args)
            .arg("--dir")
            .arg(repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let mut term = Term::spawn(&sb, &["fleet"], 100, 30);
    term.wait_for_all(&[
        "mission fleet",
        "1 need you",
        "⚑ awaiting approval",
        "✔ completed",
    ]);
    term.keys("\r");
    term.wait_for("Approve the plan?");
    term.keys("\x1b");
    term.keys("q");
    term.wait_for("Missions, who needs you first");
    term.keys("a");
    term.wait_for("approved: plan approval");
    let status = mission(&sb.config_home())
        .args(["status", "--json", "--dir"])
        .arg(&gated)
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_ne!(st["state"], "awaiting_approval", "{st:#}");
    term.wait_for("0 need you");
    term.keys("q");
    assert_eq!(term.exit_code(), 0);
}
