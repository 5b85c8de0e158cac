//! `mission fleet`: three missions in three repositories, one waiting at its gate, one
//! done, one running; who needs the human first; a registry that outlives a killed
//! runner; SSH hosts asked through a stand-in `ssh` (no sshd needed), one of them down
//! and one that never answers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;

fn fleet(sb: &Sandbox, args: &[&str], path: Option<&Path>) -> serde_json::Value {
    let mut c = mission(&sb.config_home());
    c.arg("fleet").args(args);
    if let Some(bin) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{old}", bin.display()));
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn start(sb: &Sandbox, repo: &Path, args: &[&str]) -> std::process::Output {
    mission(&sb.config_home())
        .args(["start", "Create a flag"])
        .args(args)
        .arg("--dir")
        .arg(repo)
        .output()
        .unwrap()
}

/// A stand-in `ssh` that runs the remote command here: `down` refuses, `slow` hangs.
fn fake_ssh(sb: &Sandbox) -> PathBuf {
    let bin = sb.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(crate::common::bin(), bin.join("mission")).unwrap();
    let script = r#"#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    -o) shift 2 ;;
    -t) shift ;;
    *) break ;;
  esac
done
host="$1"; shift
case "$host" in
  down) echo "ssh: connect to host down port 22: Connection refused" >&2; exit 255 ;;
  slow) exec sleep 30 ;;
esac
exec "$@"
"#;
    let ssh = bin.join("ssh");
    std::fs::write(&ssh, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn the_fleet_lists_every_mission_who_needs_you_first_here_and_over_ssh() {
    let sb = Sandbox::new();
    let flag = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt")]),
        ]),
    ]});
    let (_go, wait) = sb.gate();
    let busy = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![turn(vec![call("run_command", json!({"command": wait}))])]),
    ]});
    let (gated, done_repo, running) = (
        sb.tmp.path().join("gated"),
        sb.tmp.path().join("done"),
        sb.tmp.path().join("running"),
    );
    mini_repo_at(&gated, flag.clone(), "");
    mini_repo_at(&done_repo, flag, "");
    mini_repo_at(&running, busy, "");
    let out = start(&sb, &done_repo, &["--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = start(&sb, &gated, &["--detach"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = start(&sb, &running, &["--detach", "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));

    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let f = fleet(&sb, &["--json", "--local"], None);
        let states: Vec<&str> = f["missions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap())
            .collect();
        if states == ["awaiting_approval", "running", "completed"] {
            break f;
        }
        assert!(Instant::now() < deadline, "{f:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let m = listed["missions"].as_array().unwrap();
    assert_eq!(m[0]["needs_you"], true);
    assert!(
        m[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("plan approval"),
        "{listed:#}"
    );
    assert!(m[0]["repo"].as_str().unwrap().ends_with("/gated"));
    assert_eq!(m[1]["needs_you"], false);
    assert_eq!(m[1]["runner_alive"], true);
    assert_eq!(m[2]["needs_you"], false);
    assert_eq!(m[2]["milestones"], json!([1, 1]));
    for x in m {
        assert_eq!(x["host"], "local");
        assert_eq!(x["goal"], "Create a flag");
        assert!(x["worktree"].as_str().unwrap().contains("create-a-flag"));
    }
    assert_eq!(
        listed["hosts"],
        json!([{"host": "local", "reachable": true, "error": null}])
    );

    // The registry outlives a killed runner: the mission stays listed, needing you.
    let pid: i32 = std::fs::read_to_string(running.join(".mission/lock"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let f = fleet(&sb, &["--json", "--local"], None);
        let stopped = f["missions"].as_array().unwrap().iter().find(|x| {
            x["repo"].as_str().unwrap().ends_with("/running")
                && x["runner_alive"] == false
                && x["needs_you"] == true
        });
        if let Some(x) = stopped {
            assert!(
                x["reason"].as_str().unwrap().contains("runner stopped"),
                "{x:#}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{f:#}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Over SSH: one host answers (here, the same registry), one refuses, one hangs.
    let bin = fake_ssh(&sb);
    let user = sb.config_home().join("mission");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("config.toml"),
        "[fleet]\nhosts = [\"box1\", \"down\", \"slow\"]\ntimeout_secs = 2\n",
    )
    .unwrap();
    let t = Instant::now();
    let all = fleet(&sb, &["--json"], Some(&bin));
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "a host that hangs does not hang the list"
    );
    let hosts = &all["hosts"];
    assert_eq!(
        hosts[1],
        json!({"host": "box1", "reachable": true, "error": null})
    );
    assert_eq!(hosts[2]["reachable"], false);
    assert!(
        hosts[2]["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{hosts:#}"
    );
    assert_eq!(hosts[3]["reachable"], false);
    assert_eq!(hosts[3]["error"], "no answer within 2 s");
    let missions = all["missions"].as_array().unwrap();
    assert_eq!(missions.len(), 6, "{all:#}");
    assert_eq!(missions.iter().filter(|x| x["host"] == "box1").count(), 3);
    assert_eq!(missions[0]["needs_you"], true, "who needs you comes first");
    // No runner is left waiting at its gate after the test.
    let out = mission(&sb.config_home())
        .args(["abort", "--note", "the test is over", "--dir"])
        .arg(&gated)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
