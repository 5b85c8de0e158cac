//! Gates and steering over the control socket: a headless mission waits for
//! `mission approve`, re-plans on `reject --note`, holds on `pause`, reads `say`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;

/// The flag mission: the orchestrator plans it, one worker writes the flag.
fn flag_script() -> serde_json::Value {
    json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt"),
        ])]),
    ]})
}

#[test]
fn plan_gate_waits_for_a_human_over_the_socket() {
    let sb = Sandbox::new();
    let script = flag_script();
    mini_repo(&sb, script, "");
    let mut child = sb.spawn(&["start", "Create a flag", "--headless"]);

    let st = sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    // What the plan will likely cost is there before anyone approves it.
    assert!(st["estimate"]["tokens"].as_u64().unwrap() > 0, "{st:#}");
    assert_eq!(
        st["estimate"]["cost_usd_high"], 0.0,
        "scripted models cost nothing"
    );
    let sock = sb.repo().join(".mission/control.sock");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(sb.repo().join(".mission/proposal.md"))
            .unwrap()
            .contains("test -f flag.txt"),
        "the proposed contract is there to read"
    );
    assert!(
        !sb.repo().join(".mission/contract.json").exists(),
        "no contract before it is approved and frozen"
    );

    let out = sb.run(&["reject", "--note", "  "]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an empty note is refused: {}",
        text(&out)
    );
    let out = sb.run(&["reject", "--note", "name the file FLAG instead"]);
    assert!(out.status.success(), "{}", text(&out));
    // The orchestrator plans again, with the note in its task.
    sb.wait_for_status("the second plan", |st| {
        st["state"] == "awaiting_approval" && st["events"].as_u64().unwrap() > 8
    });
    assert_eq!(
        transcripts_containing(
            &sb,
            "The human rejected an earlier plan: name the file FLAG instead"
        )
        .len(),
        1
    );

    let out = sb.run(&["pause"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("approved: plan approval"));
    std::thread::sleep(Duration::from_millis(300));
    let st = sb.status();
    assert_eq!(
        st["state"], "paused",
        "approved but paused: no worker starts"
    );
    assert_eq!(st["milestones"][0]["features"][0]["state"], "pending");
    let out = sb.run(&["say", "keep it small"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = sb.run(&["approve"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing left to approve: {}",
        text(&out)
    );

    let out = sb.run(&["unpause"]);
    assert!(out.status.success(), "{}", text(&out));
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("plan approval: approved by a human"),
        "{stdout}"
    );
    assert!(stdout.contains("message      keep it small"), "{stdout}");
    assert_eq!(sb.status()["state"], "completed");
    assert!(!sock.exists(), "the socket is removed when the runner ends");

    let out = sb.run(&["pause"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a finished mission cannot be paused: {}",
        text(&out)
    );
}

#[test]
fn a_detached_mission_runs_in_the_background() {
    let sb = Sandbox::new();
    let script = flag_script();
    mini_repo(&sb, script, "[providers.scripted]\npace_ms = 300\n");
    let t = Instant::now();
    let out = sb.run(&["start", "Create a flag", "--detach"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("running in the background"),
        "{}",
        text(&out)
    );
    // Without --detach it would wait at the plan gate forever; any bound proves the point.
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "--detach returns at once"
    );
    // The background runner waits at the plan gate for a human, like any runner.
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    // It leads a session of its own: the terminal that started it can close.
    let pid = std::fs::read_to_string(sb.repo().join(".mission/lock")).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let session = after_name.split(' ').nth(3).unwrap();
    assert_eq!(session, pid.trim(), "{stat}");
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("no runner"),
        "went to the live runner: {}",
        text(&out)
    );
    sb.wait_for_status("completion", |st| st["state"] == "completed");
    // The runner prints its last line just after it logs the final event.
    let log_path = sb.repo().join(".mission/runner.log");
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap();
        if log.contains("Mission completed.") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the background runner never finished its output: {log}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn an_abandoned_mission_ends_as_failed_and_a_new_one_can_start() {
    let sb = Sandbox::new();
    let script = flag_script();
    mini_repo(&sb, script, "");
    let mut child = sb.spawn(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let out = sb.run(&["abort", "--note", "  "]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a note is required: {}",
        text(&out)
    );
    let out = sb.run(&["abort", "--note", "wrong goal"]);
    assert!(out.status.success(), "{}", text(&out));
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Mission failed: abandoned by a human: wrong goal"),
        "{stdout}"
    );
    let st = sb.status();
    assert_eq!(st["state"], "failed", "{st:#}");
    assert!(
        st.get("waiting_for").is_none(),
        "an ended mission waits for nothing: {st:#}"
    );
    // Its worktree went with it: `status` says so instead of naming it as if it were there.
    let said = text(&sb.run(&["status"]));
    assert!(
        said.contains("(removed; the work is on branch mission/create-a-flag)"),
        "{said}"
    );
    let out = sb.run(&["approve"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an ended mission takes no decisions"
    );

    // The next mission archives the abandoned one instead of refusing to start.
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("archived the previous mission"), "{log}");
    assert_eq!(sb.status()["state"], "completed");
}

#[test]
fn the_notify_command_hears_of_a_gate_and_of_the_end() {
    let sb = Sandbox::new();
    let heard = sb.tmp.path().join("heard.jsonl");
    let hooked = sb.tmp.path().join("hooked.jsonl");
    let append = |file: &std::path::Path| {
        format!(
            "[\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$1\\\" >> {}\", \"hook\"]",
            file.display()
        )
    };
    let config = format!(
        "[notify]\ncommand = {}\n\n[hooks]\ngate = {}\ncompleted = {}\n",
        append(&heard),
        append(&hooked),
        append(&hooked)
    );
    mini_repo(&sb, flag_script(), &config);
    let mut child = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let start = Instant::now();
    while !std::fs::read_to_string(&heard)
        .unwrap_or_default()
        .contains("needs_human")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no notice for the gate"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(sb.run(&["approve"]).status.success());
    assert!(child.wait().unwrap().success());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&heard)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["type"], "needs_human");
    assert!(
        lines[0]["reason"].as_str().unwrap().contains("plan"),
        "{lines:?}"
    );
    assert_eq!(lines[1]["type"], "completed");
    for l in &lines {
        assert_eq!(l["goal"], "Create a flag");
        assert!(l["branch"].as_str().unwrap().starts_with("mission/"));
        assert_eq!(
            l["repo"],
            sb.repo().canonicalize().unwrap().display().to_string()
        );
        assert!(l["worktree"].as_str().unwrap().contains("create-a-flag"));
    }
    // `[hooks]`: one command per kind, each given the event as the log has it.
    let hooks: Vec<serde_json::Value> = std::fs::read_to_string(&hooked)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(hooks[0]["type"], "gate");
    assert_eq!(hooks[0]["event"]["type"], "gate_opened");
    assert!(hooks[0]["event"]["seq"].as_u64().unwrap() > 0);
    assert_eq!(hooks[1]["type"], "completed");
    assert_eq!(hooks[1]["event"]["type"], "mission_completed");
    assert_eq!(hooks[1]["goal"], "Create a flag");
}

#[test]
fn a_human_pause_holds_even_an_auto_approved_headless_run() {
    let sb = Sandbox::new();
    // The worker's first turn waits for the test, so the pause lands before its second.
    let (gate, wait) = sb.gate();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("run_command", json!({"command": wait}))]),
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let mut child = sb.spawn_quiet(&["start", "Create a flag", "--headless", "--auto-approve"]);
    sb.wait_for_status("the worker", |st| st["state"] == "running");
    assert!(sb.run(&["pause"]).status.success());
    std::fs::write(&gate, "").unwrap();
    sb.wait_for_status("the pause", |st| st["state"] == "paused");
    // The run waits for the human who paused it instead of ending.
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(2) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the runner exited on a human's pause"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = sb.run(&["unpause"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(child.wait().unwrap().success());
    assert_eq!(sb.status()["state"], "completed");
}

#[test]
fn log_follow_prints_events_as_they_come_and_ends_with_the_mission() {
    let sb = Sandbox::new();
    mini_repo(&sb, flag_script(), "");
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let mut follower = sb.spawn(&["log", "--follow"]);
    assert!(sb.run(&["approve"]).status.success());
    assert!(runner.wait().unwrap().success());
    // The follower keeps following: read until the end shows, then stop it.
    let mut out = follower.stdout.take().unwrap();
    let mut seen = String::new();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    while !seen.contains("mission completed") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "followed: {seen}"
        );
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push_str(&String::from_utf8_lossy(&b));
        }
    }
    // The mission ended, so following it ends too.
    let ended = Instant::now();
    let status = loop {
        if let Some(st) = follower.try_wait().unwrap() {
            break st;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(10),
            "still following an ended mission"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(
        seen.contains("approved") && seen.contains("m1-f1"),
        "{seen}"
    );
    // And on an ended mission it prints the history and ends at once.
    let out = sb.run(&["log", "--follow"]);
    assert!(out.status.success() && text(&out).contains("mission completed"));
}

/// After a crash: `pause` on the stopped mission says why not, a decision naming a gate
/// that is not the open one is refused, and `resume --detach` brings the runner back in
/// the background, where `approve --gate ID` (from `status --json`) goes on.
#[test]
fn a_stopped_mission_answers_pause_and_resumes_detached() {
    let sb = Sandbox::new();
    mini_repo(&sb, flag_script(), "");
    let out = sb.run(&["start", "Create a flag", "--detach"]);
    assert!(out.status.success(), "{}", text(&out));
    let st = sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let gate = st["gate_id"].as_u64().expect("status names the open gate");
    let pid = std::fs::read_to_string(sb.repo().join(".mission/lock")).unwrap();
    let pid: i32 = pid.trim().parse().unwrap();
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    sb.wait_for_status("the runner's death", |st| st["runner"]["alive"] == false);
    let out = sb.run(&["pause"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("nothing runs this mission now"),
        "{}",
        text(&out)
    );
    let out = sb.run(&["resume", "--detach"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("running in the background"),
        "{}",
        text(&out)
    );
    let st = sb.wait_for_status("the gate again", |st| {
        st["state"] == "awaiting_approval" && st["runner"]["alive"] == true
    });
    assert_eq!(
        st["gate_id"].as_u64(),
        Some(gate),
        "the same gate still waits"
    );
    let out = sb.run(&["approve", "--gate", &(gate - 1).to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is no longer open"), "{}", text(&out));
    assert_eq!(
        sb.status()["state"],
        "awaiting_approval",
        "nothing was decided"
    );
    let out = sb.run(&["approve", "--gate", &gate.to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_for_status("completion", |st| st["state"] == "completed");
}
