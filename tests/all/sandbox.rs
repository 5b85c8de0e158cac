//! Landlock write confinement of agent commands: `mission sandbox-exec` itself, and a
//! worker whose command tries to write outside the repository and the temp directory.

use std::path::Path;

use crate::common::*;
use serde_json::json;

/// Landlock needs Linux 6.2+ with it enabled. Where it is missing these tests fail, naming
/// why: they must not pass having tested nothing.
fn landlock_here() -> bool {
    if let Err(e) = mission::sandbox::available() {
        panic!("this kernel cannot confine commands, so the sandbox cannot be tested here: {e}");
    }
    true
}

#[test]
fn sandbox_exec_lets_a_command_write_only_beneath_its_dirs() {
    if !landlock_here() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (inside, outside) = (tmp.path().join("in"), tmp.path().join("out"));
    std::fs::create_dir_all(inside.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep"), "precious").unwrap();
    let script = format!(
        "touch {i}/sub/made; rm {o}/keep; echo x > {o}/new; cat {o}/keep",
        i = inside.display(),
        o = outside.display()
    );
    let out = std::process::Command::new(bin())
        .args(["sandbox-exec", "--write"])
        .arg(&inside)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(inside.join("sub/made").exists(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(outside.join("keep")).unwrap(),
        "precious",
        "{stderr}"
    );
    assert!(!outside.join("new").exists(), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "precious",
        "reads stay free"
    );
}

/// A mission whose worker tries to write outside; returns the sandbox and the outside dir.
fn escape_attempt(config_extra: &str) -> (Sandbox, std::path::PathBuf, String) {
    let sb = Sandbox::new();
    let outside = sb.tmp.path().join("outside");
    let tmpdir = sb.tmp.path().join("tmp");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&tmpdir).unwrap();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("run_command", json!({"command": format!("touch {}/escaped", outside.display())})),
                call("run_command", json!({"command": "touch \"$TMPDIR/scratch\" && touch flag.txt"})),
            ]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, config_extra);
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[("TMPDIR", tmpdir.as_os_str())],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let work = sb.worktree();
    assert!(
        mission::worktree::temp_dir(&work).join("scratch").exists(),
        "the private temp dir is writable and is the command's TMPDIR: {log}"
    );
    assert!(!tmpdir.join("scratch").exists(), "{log}");
    assert!(
        work.join("flag.txt").exists(),
        "the worktree is writable: {log}"
    );
    (sb, outside, log)
}

#[test]
fn a_worker_command_cannot_write_outside_the_repo_and_temp_dir() {
    if !landlock_here() {
        return;
    }
    let (sb, outside, log) = escape_attempt("");
    assert!(
        log.contains("sandbox: commands may write only in"),
        "the run says how commands are confined: {log}"
    );
    assert!(!outside.join("escaped").exists(), "{log}");
    // Outside the worktree the host is read-only in the sandbox, and its /tmp empty (and
    // Landlock would refuse the write in any case).
    assert_eq!(
        transcripts_containing(&sb, "touch: cannot touch").len(),
        1,
        "the worker saw why its command failed"
    );
    assert_eq!(sb.status()["state"], "completed");
}

#[test]
fn the_sandbox_can_be_turned_off() {
    let (_sb, outside, log) = escape_attempt("[sandbox]\nenabled = false\n");
    assert!(log.contains("sandbox: commands are not confined"), "{log}");
    assert!(Path::new(&outside.join("escaped")).exists(), "{log}");
}

#[test]
fn a_reviewer_may_run_commands_but_not_change_the_repository() {
    if !landlock_here() {
        return;
    }
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("write_file", json!({"path": "flag.txt", "content": "ok"})),
                call("write_file", json!({"path": ".gitignore", "content": "/build\n"})),
                call("run_command", json!({"command": "mkdir -p build"})),
            ]),
            turn(vec![done("wrote flag.txt")]),
        ]),
        entry("reviewer", "Review m1-f1", vec![
            turn(vec![
                call("run_command", json!({"command": "touch reviewer-was-here.txt"})),
                call("run_command", json!({"command": "test -f flag.txt && touch build/out.o \"$TMPDIR/scratch\""})),
            ]),
            turn(vec![call("submit_review", json!({"verdict": "pass", "findings": []}))]),
        ]),
    ]});
    mini_repo(
        &sb,
        script,
        "[roles.reviewer]\nprovider = \"scripted\"\nmodel = \"r\"\n",
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let work = sb.worktree();
    assert!(
        !work.join("reviewer-was-here.txt").exists(),
        "a reviewer cannot write the worktree: {log}"
    );
    assert!(
        work.join("build/out.o").exists(),
        "it may write the ignored build directory: {log}"
    );
    assert!(
        mission::worktree::temp_dir(&work).join("scratch").exists(),
        "{log}"
    );
    let denied = transcripts_containing(&sb, "Permission denied");
    assert!(
        denied.len() == 1 && denied[0].starts_with("reviewer"),
        "{denied:?}"
    );
    assert_eq!(sb.status()["state"], "completed");
}

#[test]
fn a_program_the_user_tester_launches_cannot_change_the_repository() {
    if !landlock_here() {
        return;
    }
    let sb = Sandbox::new();
    let plan = json!({
        "milestones": [{"id": "m1", "title": "Flag", "features": [
            {"id": "m1-f1", "title": "Create the flag", "description": "write flag.txt", "fulfills": ["a1", "a2"]}
        ]}],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "flag.txt exists", "command": "test -f flag.txt"},
            {"id": "a2", "kind": "user_test", "text": "the flag can be shown"}
        ]
    });
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", plan)])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
        entry("user_tester", "User test of milestone m1", vec![
            turn(vec![call("launch", json!({"command": "touch tester-was-here.txt; echo launched-$?; cat flag.txt"}))]),
            turn(vec![call("wait_for", json!({"id": "t1", "text": "launched-", "timeout_secs": 30}))]),
            turn(vec![call("submit_report", json!({"results": [
                {"assertion_id": "a2", "pass": true, "evidence": "the program printed the flag"}
            ]}))]),
        ]),
    ]});
    mini_repo(
        &sb,
        script,
        "[roles.user_tester]\nprovider = \"scripted\"\nmodel = \"t\"\n",
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        !sb.worktree().join("tester-was-here.txt").exists(),
        "the launched program wrote into the repository: {log}"
    );
    assert_eq!(
        transcripts_containing(&sb, "launched-1").len(),
        1,
        "the tester saw the refused write (touch exited 1)"
    );
}

/// The program's own directory comes back read-only inside the sandbox (it may lie under
/// an emptied /tmp). A worktree inside it — a build tree holding the data directory —
/// must stay writable: the directories come back outer first.
#[test]
fn a_worktree_inside_the_programs_own_directory_stays_writable() {
    let sb = Sandbox::new();
    let script = serde_json::json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("run_command", serde_json::json!({"command": "echo ok > flag.txt"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let tree = sb.tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let exe = tree.join("mission");
    std::fs::copy(bin(), &exe).unwrap();
    let out = std::process::Command::new(&exe)
        .args([
            "start",
            "Create a flag",
            "--headless",
            "--auto-approve",
            "--dir",
        ])
        .arg(sb.repo())
        .env("XDG_CONFIG_HOME", sb.config_home())
        .env("XDG_DATA_HOME", tree.join("share"))
        .env("XDG_STATE_HOME", sb.tmp.path().join("state"))
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let work = std::path::PathBuf::from(sb.status()["worktree"].as_str().unwrap());
    assert!(work.starts_with(&tree), "{}", work.display());
    assert_eq!(
        std::fs::read_to_string(work.join("flag.txt")).unwrap(),
        "ok\n"
    );
}
