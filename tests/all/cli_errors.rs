//! Bad input gets a clear error naming the problem and what to do, with exit code 2.

use crate::common::*;
use serde_json::json;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn minimal(sb: &Sandbox) {
    mini_repo(sb, json!({"entries": []}), "");
}

#[test]
fn an_unknown_key_names_file_line_and_key() {
    let sb = Sandbox::new();
    minimal(&sb);
    let cfg = sb.repo().join(".mission/mission.toml");
    let mut t = std::fs::read_to_string(&cfg).unwrap();
    t.push_str("[validation]\nmax_fix_round = 2\n");
    std::fs::write(&cfg, t).unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let e = stderr(&out);
    assert!(e.contains("mission.toml:11:"), "{e}");
    assert!(e.contains("key `max_fix_round`"), "{e}");
    assert!(e.contains("unknown field"), "{e}");
}

#[test]
fn a_bad_value_in_the_user_config_names_that_file() {
    let sb = Sandbox::new();
    minimal(&sb);
    let user = sb.config_home().join("mission/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "[budget]\nmax_cost_usd = \"lots\"\n").unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let e = stderr(&out);
    assert!(e.contains(&format!("{}:2:", user.display())), "{e}");
    assert!(e.contains("max_cost_usd"), "{e}");
}

#[test]
fn missing_roles_and_real_providers_say_what_to_do() {
    let sb = Sandbox::new();
    minimal(&sb);
    std::fs::write(sb.repo().join(".mission/mission.toml"), "").unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("[roles.orchestrator]"),
        "{}",
        text(&out)
    );
    assert!(stderr(&out).contains("mission init"), "{}", text(&out));
}

#[test]
fn not_a_repository_is_refused_and_a_dirty_checkout_is_left_out() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.repo()).unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        text(&out)
    );

    let sb = Sandbox::new();
    minimal(&sb);
    std::fs::write(sb.repo().join("README.md"), "changed\n").unwrap();
    // The mission starts from the last commit, in a worktree of its own, and says so.
    let out = sb.run(&["start", "x", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        stdout(&out).contains("uncommitted changes: they are not part of the mission"),
        "{}",
        text(&out)
    );
    let work = sb.worktree();
    assert_ne!(work, sb.repo());
    assert_eq!(
        std::fs::read_to_string(work.join("README.md")).unwrap(),
        "# mini\n"
    );
    assert_eq!(
        std::fs::read_to_string(sb.repo().join("README.md")).unwrap(),
        "changed\n"
    );
}

#[test]
fn a_script_that_runs_out_pauses_with_the_reason_and_a_second_start_is_refused() {
    let sb = Sandbox::new();
    minimal(&sb);
    let out = sb.run(&["start", "x", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("model call failed: script: no orchestrator entry matches"),
        "{}",
        text(&out)
    );
    let out = sb.run(&["start", "y", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("already in progress"),
        "{}",
        text(&out)
    );
    assert!(stderr(&out).contains("mission resume"), "{}", text(&out));
}

#[test]
fn status_without_a_mission_and_help() {
    let sb = Sandbox::new();
    minimal(&sb);
    let out = sb.run(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mission demo"), "{}", text(&out));
    let out = mission(&sb.config_home()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "demo",
        "init",
        "start",
        "resume",
        "attach",
        "status",
        "pause",
        "unpause",
        "approve",
        "reject",
        "say",
        "handoff",
        "log",
        "doctor",
        "completions",
    ] {
        assert!(help.contains(cmd), "--help lists {cmd}: {help}");
    }
    let out = mission(&sb.config_home()).args(["start"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing goal is a usage error");
    // `--theme` is an option of the commands that open the console, and only of them;
    // given before the command, as it once was, it is still taken.
    let help = |args: &[&str]| {
        let out = mission(&sb.config_home()).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for cmd in ["demo", "start", "resume", "attach"] {
        assert!(help(&[cmd, "--help"]).contains("--theme"), "{cmd} --help");
    }
    for cmd in ["status", "log", "approve", "doctor"] {
        assert!(!help(&[cmd, "--help"]).contains("--theme"), "{cmd} --help");
    }
    let out = sb.run(&["--theme", "light", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!stderr(&out).contains("--theme"), "{}", text(&out));
}

#[test]
fn init_writes_a_config_that_loads() {
    let sb = Sandbox::new();
    minimal(&sb);
    std::fs::remove_file(sb.repo().join(".mission/mission.toml")).unwrap();
    let out = sb.run(&["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let again = sb.run(&["init"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "does not overwrite: {}",
        text(&again)
    );
    let out = sb.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(2), "no roles yet: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("✔ config is valid"),
        "{}",
        text(&out)
    );
}

/// A repository so deep that its control socket path would not fit a Unix socket: a usage
/// error before anything is written, with what to do.
#[test]
fn a_repository_too_deep_for_its_socket_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let deep = sb.tmp.path().join("d".repeat(90));
    let repo = deep.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("README.md"), "# deep\n").unwrap();
    mission::git::Git::init(&repo)
        .unwrap()
        .commit_all("initial")
        .unwrap();
    let out = mission(&sb.config_home())
        .args(["start", "Anything", "--headless", "--dir"])
        .arg(&repo)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shorter path") && err.contains("control.sock"),
        "{err}"
    );
    assert!(!repo.join(".mission/events.jsonl").exists());
}
