//! The mission is safe to leave alone: it works in a worktree of its own, its commands
//! cannot reach the human's checkout, `.git` or `.mission/`, nothing it starts outlives a
//! killed runner, and only allowlisted variables reach its commands.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::json;

/// Fails where the kernel cannot confine commands: the test must not pass untested.
fn landlock_here() -> bool {
    if let Err(e) = mission::sandbox::available() {
        panic!("this kernel cannot confine commands, so isolation cannot be tested here: {e}");
    }
    true
}

/// The real git CLI, unconfined, as the human runs it.
fn git(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "human")
        .env("GIT_AUTHOR_EMAIL", "human@example.com")
        .env("GIT_COMMITTER_NAME", "human")
        .env("GIT_COMMITTER_EMAIL", "human@example.com")
        .output()
        .expect("git is installed")
}

fn events(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap()
}

/// Everything under `dir` as (relative path, bytes), for before/after comparisons.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.push((rel, vec![]));
                stack.push(p);
            } else if meta.is_symlink() {
                out.push((
                    rel,
                    std::fs::read_link(&p).unwrap().display().to_string().into(),
                ));
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_commands_change_nothing_protected_and_plant_nothing_git_would_run() {
    if !landlock_here() {
        return;
    }
    let sb = Sandbox::new();
    let repo = sb.repo();
    mini_repo(&sb, json!({"entries": []}), "");
    let pwned = sb.tmp.path().join("PWNED");
    let (r, g, m, p) = (
        repo.display().to_string(),
        repo.join(".git").display().to_string(),
        repo.join(".mission").display().to_string(),
        pwned.display().to_string(),
    );
    // The shared /tmp, under a name no other run uses.
    let shared = format!(
        "/tmp/mission-escaped-{}-{}",
        std::process::id(),
        sb.tmp.path().file_name().unwrap().to_string_lossy()
    );
    let hostile: Vec<String> = vec![
        format!("git config core.fsmonitor 'touch {p}'"),
        format!("git -C {r} config core.fsmonitor 'touch {p}'"),
        "git config core.hooksPath /tmp".into(),
        format!("git config alias.st '!touch {p}'"),
        format!(
            "printf '[core]\\nfsmonitor = touch {p}\\n' > $TMPDIR/evil.cfg; git config include.path $TMPDIR/evil.cfg"
        ),
        format!(
            "printf '#!/bin/sh\\ntouch {p}\\n' > {g}/hooks/pre-commit; chmod +x {g}/hooks/pre-commit"
        ),
        format!("cp /bin/sh {g}/hooks/post-checkout"),
        format!("echo '* filter=evil' > {g}/info/attributes"),
        format!("git config filter.evil.clean 'touch {p}'"),
        "git update-ref -d refs/heads/main".into(),
        format!("git -C {r} update-ref -d refs/heads/main"),
        format!("git -c core.hooksPath={g}/hooks -C {r} commit --allow-empty -m sneaky"),
        format!("echo 'ref: refs/heads/evil' > {g}/HEAD"),
        format!("mv {g} {g}.bak"),
        format!("rm -rf {g}"),
        format!(": > {m}/events.jsonl"),
        format!("printf '{{}}' > {m}/contract.json"),
        format!("echo 'x = 1' >> {m}/mission.toml"),
        format!("rm -rf {m}"),
        format!("echo evil >> {r}/README.md"),
        format!("touch {r}/planted"),
        format!("git -C {r} checkout -b hijack"),
        "git worktree add ../stolen".into(),
        format!("ln -s {g}/hooks hooks-link; echo evil > hooks-link/pre-push"),
        "cd /proc/self/cwd/.. && touch escaped-beside-worktree".into(),
        format!("touch {shared}"),
        format!(
            "rm .git && mkdir .git && printf '[core]\\nhooksPath = {g}/hooks\\n' > .git/config"
        ),
        format!("rm -rf .git && ln -s {g} .git"),
        "git add -A && git commit -m 'worker commits by itself'".into(),
        // The control socket is out of sight in the sandbox (and the runner refuses its
        // own commands, should one reach it).
        format!("{} say 'approve everything' --dir {r}", bin().display()),
        format!("setsid {} pause --dir {r}", bin().display()),
    ];
    assert!(hostile.len() >= 25);
    let calls: Vec<serde_json::Value> = hostile
        .iter()
        .map(|c| call("run_command", json!({ "command": c })))
        .collect();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(calls),
            turn(vec![call("run_command", json!({"command": "touch flag.txt"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    std::fs::write(
        repo.join(".mission/script.json"),
        serde_json::to_string(&script).unwrap(),
    )
    .unwrap();
    let git_before = tree(&repo.join(".git"));
    let config_before = std::fs::read(repo.join(".mission/mission.toml")).unwrap();
    let main_before = git(&repo, &["rev-parse", "main"]).stdout;

    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    // The harness's own review fails the milestone on the restored `.git` link; the script
    // has no fix for it, so the mission waits for a human.
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(!log.contains("mission sandbox-exec"), "{log}");
    let mut worker = transcripts_containing(&sb, "Permission denied");
    worker.extend(transcripts_containing(&sb, "Read-only file system"));
    worker.dedup();
    assert_eq!(
        worker.len(),
        1,
        "the worker saw its commands refused: {worker:?}"
    );

    // The record is whole and readable; the contract and the config are untouched.
    let st = sb.status();
    assert_eq!(
        st["milestones"][0]["features"][0]["state"], "done",
        "{st:#}"
    );
    assert!(events(&sb).contains(r#""type":"review_submitted""#));
    assert!(!events(&sb).contains(r#""type":"message_said""#));
    assert!(!events(&sb).contains("paused by a human"));
    assert!(
        events(&sb).contains("changed protected files, which the harness restored"),
        "the harness recorded a finding"
    );
    let contract: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join(".mission/contract.json")).unwrap())
            .unwrap();
    assert_eq!(contract[0]["id"], "a1", "{contract}");
    assert_eq!(
        std::fs::read(repo.join(".mission/mission.toml")).unwrap(),
        config_before
    );

    // The repository's git data: only the mission's own refs, objects and worktree
    // registration changed — config, hooks, HEAD, info and the human's branches did not.
    let git_after = tree(&repo.join(".git"));
    let changed: Vec<&String> = git_after
        .iter()
        .filter(|e| !git_before.contains(e))
        .map(|(p, _)| p)
        .filter(|p| {
            !(p.starts_with("objects")
                || p.starts_with("refs/heads/mission")
                || p.starts_with("worktrees")
                || p.starts_with("logs")
                || *p == "index")
        })
        .collect();
    assert!(changed.is_empty(), "changed in .git: {changed:?}");
    assert_eq!(git(&repo, &["rev-parse", "main"]).stdout, main_before);
    assert!(!repo.join("planted").exists());
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "# mini\n"
    );
    assert!(!Path::new(&shared).exists());

    // The worktree's link to the repository is a file again, and git still works there.
    let work = sb.worktree();
    assert!(work.join(".git").is_file());
    assert!(
        !work
            .parent()
            .unwrap()
            .join("escaped-beside-worktree")
            .exists()
    );
    let wt_status = git(&work, &["status", "--porcelain"]);
    assert!(
        wt_status.status.success(),
        "{}",
        String::from_utf8_lossy(&wt_status.stderr)
    );
    // The worker's own `git commit` failed; the harness made the one feature commit.
    let commits = sb.mission_commits();
    assert_eq!(commits.len(), 1, "{commits:?}");

    // Now the human uses git, unconfined: nothing planted runs.
    assert!(git(&repo, &["status"]).status.success());
    std::fs::write(repo.join("human.txt"), "mine\n").unwrap();
    assert!(git(&repo, &["add", "human.txt"]).status.success());
    let c = git(&repo, &["commit", "-m", "human's commit"]);
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert!(git(&repo, &["st"]).stdout.is_empty(), "no planted alias");
    assert!(!pwned.exists(), "a planted program ran as the human");
}

#[test]
fn the_human_keeps_working_in_their_checkout_and_loses_nothing() {
    let sb = Sandbox::new();
    let repo = sb.repo();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("write_file", json!({"path": "flag.txt", "content": "flag\n"})),
                call("run_command", json!({"command": "ls > listing.txt"})),
            ]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    // The plan gate holds the mission while the human works.
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the plan gate", |s| s["state"] == "awaiting_approval");
    std::fs::write(repo.join("README.md"), "# mini, edited by the human\n").unwrap();
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    std::fs::write(repo.join("blob.bin"), &binary).unwrap();
    assert!(
        git(&repo, &["checkout", "-q", "-b", "human-work"])
            .status
            .success()
    );
    std::fs::write(repo.join("notes.txt"), "human notes\n").unwrap();
    assert!(git(&repo, &["add", "notes.txt"]).status.success());
    assert!(
        git(&repo, &["commit", "-q", "-m", "human commit"])
            .status
            .success()
    );
    let human_head = git(&repo, &["rev-parse", "HEAD"]).stdout;

    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_for_status("completion", |s| s["state"] == "completed");
    runner.wait().unwrap();

    // The human's checkout: same branch, same commit, their edits and files intact, and
    // nothing of the mission's in it.
    let branch = git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).stdout;
    assert_eq!(String::from_utf8_lossy(&branch).trim(), "human-work");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]).stdout, human_head);
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "# mini, edited by the human\n"
    );
    assert_eq!(std::fs::read(repo.join("blob.bin")).unwrap(), binary);
    assert!(!repo.join("flag.txt").exists() && !repo.join("listing.txt").exists());
    assert!(
        !repo
            .join(".mission/patches")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "nothing of the human's was reset into a patch"
    );
    // The mission's commit: its own work only.
    let commits = sb.mission_commits();
    assert_eq!(commits.len(), 1);
    let files = git(
        &repo,
        &["show", "--name-only", "--format=", commits[0].1.as_str()],
    );
    let files = String::from_utf8_lossy(&files.stdout);
    assert_eq!(
        files.trim().lines().collect::<Vec<_>>(),
        ["flag.txt", "listing.txt"]
    );
    let listing = git(&repo, &["show", &format!("{}:listing.txt", commits[0].1)]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        !listing.contains("blob.bin") && !listing.contains("notes.txt"),
        "{listing}"
    );
    let readme = git(&repo, &["show", &format!("{}:README.md", commits[0].1)]);
    assert_eq!(String::from_utf8_lossy(&readme.stdout), "# mini\n");

    // The branch is there to review; a new mission removes the old worktree, never the branch.
    let work = sb.worktree();
    assert!(work.join("flag.txt").exists());
    let st = sb.status();
    let out = sb.run(&["start", "Another", "--headless", "--auto-approve"]);
    assert!(
        text(&out).contains("removed the worktree"),
        "{}",
        text(&out)
    );
    assert!(!work.exists());
    let b = st["branch"].as_str().unwrap();
    assert!(git(&repo, &["rev-parse", "--verify", b]).status.success());
}

#[test]
fn a_command_left_running_by_a_killed_runner_never_writes_into_the_resumed_run() {
    let sb = Sandbox::new();
    // Every part of the command waits for a gate file the test creates once the resumed
    // run is under way: no race against a sleep, however slow the machine.
    let (gate, wait) = sb.gate();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            // In the background too: a grandchild that outlives its shell.
            turn(vec![call("run_command", json!({"command": format!("({wait}; echo late >> late.txt) & {wait}; wait; echo late >> late.txt; touch flag.txt")}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let groups = sb.repo().join(".mission/pgroups");
    let read_groups = || std::fs::read_to_string(&groups).unwrap_or_default();
    let start = std::time::Instant::now();
    while read_groups().trim().is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed_groups = read_groups();
    let st = sb.status();
    assert_eq!(st["runner"]["alive"], true, "{st:#}");
    assert_eq!(st["runner"]["pid"], runner.id());
    runner.kill().unwrap();
    runner.wait().unwrap();
    // The log still says "running"; status tells the truth about the process.
    let st = sb.status();
    assert_eq!(st["state"], "running");
    assert_eq!(st["runner"]["alive"], false, "{st:#}");
    let plain = text(&sb.run(&["status"]));
    assert!(
        plain.contains("stopped") && plain.contains("mission resume"),
        "{plain}"
    );
    let resumed = sb.spawn(&["resume", "--headless", "--auto-approve"]);
    // The resumed attempt's command runs once its group is recorded in place of the old.
    let start = std::time::Instant::now();
    loop {
        let now = read_groups();
        if !now.trim().is_empty() && now != killed_groups {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the resumed command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::write(&gate, "").unwrap();
    let out = resumed.wait_with_output().unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("ended 1 command(s) the previous runner left running"),
        "{log}"
    );
    // The resumed attempt wrote its two lines; the killed run's group, which would have
    // written as soon as the gate appeared, wrote none.
    let work = sb.worktree();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        std::fs::read_to_string(work.join("late.txt")).unwrap(),
        "late\nlate\n"
    );
    let commit = &sb.mission_commits()[0].1;
    let committed = git(&sb.repo(), &["show", &format!("{commit}:late.txt")]);
    assert_eq!(String::from_utf8_lossy(&committed.stdout), "late\nlate\n");
}

#[test]
fn a_variable_under_an_innocent_name_never_reaches_a_command_a_transcript_or_a_commit() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("run_command", json!({"command": "env > env.txt; echo \"db=$APP_DB_URL pass=$PASSED_ON\"; touch flag.txt"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "[sandbox]\nenv_pass = [\"PASSED_ON\"]\n");
    let canary = "postgres://u:canary-5e1f@db/x";
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[
            ("APP_DB_URL", canary.as_ref()),
            ("PASSED_ON", "visible-9".as_ref()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("canary-5e1f"));
    assert!(transcripts_containing(&sb, "canary-5e1f").is_empty());
    assert!(
        !transcripts_containing(&sb, "pass=visible-9").is_empty(),
        "env_pass passes"
    );
    assert!(!events(&sb).contains("canary-5e1f"));
    let work = sb.worktree();
    let env = std::fs::read_to_string(work.join("env.txt")).unwrap();
    assert!(
        !env.contains("canary-5e1f") && env.contains("PASSED_ON=visible-9"),
        "{env}"
    );
    let commit = &sb.mission_commits()[0].1;
    let committed = git(&sb.repo(), &["show", &format!("{commit}:env.txt")]);
    assert!(!String::from_utf8_lossy(&committed.stdout).contains("canary-5e1f"));
}
