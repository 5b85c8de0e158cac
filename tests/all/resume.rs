//! A mission survives `kill -9` at any moment: `mission resume` replays the log, resets
//! the tree to the last committed feature, redoes only the interrupted step, and never
//! commits a feature twice.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::*;

fn events(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap_or_default()
}

#[test]
fn kill_9_mid_feature_then_resume_finishes_without_duplicate_commits() {
    let sb = Sandbox::new();
    // Paced, so the kill lands while a worker is busy.
    let mut child = mission(&sb.config_home())
        .args(["demo", "--headless", "--dir"])
        .arg(sb.repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let log = events(&sb);
        // Killed after m1-f2's worker wrote files but before its handoff.
        if log.contains(r#""summary":"write_file src/stats.rs""#) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "demo never reached m1-f2:\n{log}"
        );
        assert!(child.try_wait().unwrap().is_none(), "demo ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
    child.wait().unwrap();
    assert!(
        !events(&sb)
            .lines()
            .any(|l| l.contains("handoff_submitted") && l.contains(r#""m1-f2""#)),
        "the kill landed too late (m1-f2 had already handed off); the test proves nothing"
    );
    assert!(
        sb.worktree().join("src/stats.rs").exists(),
        "the killed worker left work in the tree"
    );

    sb.set_config("pace_ms = 700", "pace_ms = 0");
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("took over the lock left by runner pid"),
        "{log}"
    );
    assert!(log.contains("saved the interrupted work to"), "{log}");
    assert_demo_completed(&sb);
    let patches: Vec<_> = std::fs::read_dir(sb.repo().join(".mission/patches"))
        .unwrap()
        .collect();
    assert_eq!(
        patches.len(),
        1,
        "the interrupted attempt's work is kept as a patch"
    );
    let st = sb.status();
    assert_eq!(
        st["milestones"][0]["features"][1]["attempts"], 2,
        "m1-f2 was redone once"
    );
    assert_eq!(
        st["milestones"][0]["features"][0]["attempts"], 1,
        "m1-f1 was not redone"
    );
}

/// Crash at many points of the log: cut `events.jsonl` after N events (what a crash right
/// after event N leaves) and resume from the tree as it was at the end.
#[test]
fn resume_from_any_point_of_the_log_completes_the_mission_once() {
    let template = Sandbox::new();
    let out = template.run(&["demo", "--headless", "--fast"]);
    assert!(out.status.success(), "{}", text(&out));
    let full = events(&template);
    let lines: Vec<&str> = full.lines().collect();
    let find = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    let m2f3_committed = lines
        .iter()
        .position(|l| {
            l.contains(r#""type":"feature_committed""#) && l.contains(r#""feature_id":"m2-f3""#)
        })
        .unwrap();
    let cuts = [
        1,                                          // just started: nothing planned
        find(r#""type":"plan_submitted""#) + 1,     // plan waiting for approval
        find(r#""type":"validation_started""#) + 2, // mid-validation of m1
        find(r#""type":"fixes_submitted""#) + 1,    // corrective feature not started
        // m2's harness checks are in; its review agents have not run yet.
        find(r#""feature_id":"m2-f3","reviewer":"harness""#) + 1,
        m2f3_committed,  // committed in git, not in the log
        lines.len() - 1, // only mission_completed missing
    ];
    for cut in cuts {
        let sb = Sandbox::new();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(template.repo())
            .arg(sb.repo())
            .status()
            .unwrap();
        assert!(status.success());
        if cut == m2f3_committed {
            // What a crash right after m2-f3's commit leaves: the branch at that commit.
            let sha = &template.mission_commits()[6].1;
            let branch = template.status()["branch"].as_str().unwrap().to_string();
            let repo = git2::Repository::open(sb.repo()).unwrap();
            repo.reference(
                &format!("refs/heads/{branch}"),
                git2::Oid::from_str(sha).unwrap(),
                true,
                "a crash right after the commit",
            )
            .unwrap();
        }
        let kept: String = lines[..cut].iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(sb.repo().join(".mission/events.jsonl"), kept).unwrap();
        let out = sb.run(&["resume", "--headless", "--auto-approve"]);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(0), "cut at {cut}: {log}");
        assert_demo_completed(&sb);
        if cut == m2f3_committed {
            assert!(log.contains("adopted commit"), "cut at {cut}: {log}");
            let original = template.mission_commits();
            assert_eq!(
                sb.mission_commits()[..7],
                original[..7],
                "nothing committed was redone"
            );
        }
    }
}

#[test]
fn a_torn_last_line_is_skipped_and_kept_aside() {
    let template = Sandbox::new();
    let out = template.run(&["demo", "--headless", "--fast"]);
    assert!(out.status.success(), "{}", text(&out));
    let full = events(&template);
    let lines: Vec<&str> = full.lines().collect();
    let cut = lines
        .iter()
        .position(|l| l.contains(r#""type":"milestone_passed""#))
        .unwrap();
    let mut kept: String = lines[..cut].iter().map(|l| format!("{l}\n")).collect();
    let half = &lines[cut][..lines[cut].len() / 2];
    kept.push_str(half); // the write a crash cut short
    let sb = Sandbox::new();
    assert!(
        std::process::Command::new("cp")
            .arg("-a")
            .arg(template.repo())
            .arg(sb.repo())
            .status()
            .unwrap()
            .success()
    );
    let mut f = std::fs::File::create(sb.repo().join(".mission/events.jsonl")).unwrap();
    f.write_all(kept.as_bytes()).unwrap();
    drop(f);

    let out = sb.run(&["status", "--json"]);
    assert!(
        out.status.success(),
        "status works on a torn log: {}",
        text(&out)
    );
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("ignored a torn last line"), "{log}");
    assert_demo_completed(&sb);
    let torn = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl.torn")).unwrap();
    assert_eq!(
        torn.trim_end(),
        half,
        "the torn bytes are kept beside the log"
    );
}

#[test]
fn a_second_runner_is_refused_while_the_first_lives() {
    let sb = Sandbox::new();
    let mut child = sb.spawn_quiet(&["demo", "--headless"]);
    let start = Instant::now();
    while !events(&sb).contains("plan_submitted") {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = sb.run(&["resume", "--headless"]);
    // Deleting the pid file lets nobody in: the lock is held on the log itself.
    std::fs::remove_file(sb.repo().join(".mission/lock")).unwrap();
    let again = sb.run(&["resume", "--headless"]);
    child.kill().unwrap();
    child.wait().unwrap();
    // Resumable once the other runner is gone: exit 3, not "failed".
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another mission runner (pid"), "{err}");
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!(
        text(&again).contains("another mission runner"),
        "{}",
        text(&again)
    );
}

#[test]
fn sigterm_stops_the_runner_cleanly_and_resume_continues() {
    let sb = Sandbox::new();
    let script = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", serde_json::json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(
        &sb,
        script,
        "[providers.scripted]\npace_ms = 400\n\n[gates]\napprove_plan = false\n",
    );
    let mut child = sb.spawn(&["start", "Create a flag", "--headless"]);
    let start = Instant::now();
    while !events(&sb).contains("feature_started") {
        assert!(start.elapsed() < Duration::from_secs(60), "{}", events(&sb));
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(out.contains("stopped; `mission resume` continues"), "{out}");
    assert!(
        !sb.repo().join(".mission/control.sock").exists(),
        "the socket is removed"
    );

    sb.set_config("pace_ms = 400", "pace_ms = 0");
    let out = sb.run(&["resume", "--headless"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        !log.contains("took over the lock"),
        "a clean stop leaves no stale lock: {log}"
    );
    assert_eq!(sb.status()["state"], "completed");
}

/// `resume` from another shell, whose `XDG_DATA_HOME` differs from the one that started the
/// mission, goes on in the worktree recorded at start; it makes no second one.
#[test]
fn resume_uses_the_worktree_recorded_at_start_whatever_the_shell() {
    let sb = Sandbox::new();
    let script = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", serde_json::json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    // Crashes right after the plan is approved (event 4), before any feature.
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[(
            "MISSION_FAILPOINT",
            "abort_after_event=4,no_watcher=1".as_ref(),
        )],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let recorded = sb.worktree();
    assert!(recorded.is_dir());
    let elsewhere = sb.tmp.path().join("other-data-home");
    let out = mission(&sb.config_home())
        .env("XDG_DATA_HOME", &elsewhere)
        .args(["resume", "--headless", "--auto-approve", "--dir"])
        .arg(sb.repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        recorded.join("flag.txt").exists(),
        "the work went on in the recorded worktree"
    );
    assert!(
        !elsewhere.exists(),
        "no second worktree was made under the other data home"
    );
}
