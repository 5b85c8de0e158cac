//! The record survives anything (RELIABILITY.md): a crash after every single event, a
//! full disk, a hostile client on the control socket, bad configs, corrupt logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;

use crate::common::*;
use serde_json::json;

/// Two features, a command check and a reviewer-free validation: ~40 events, shell only.
fn two_feature_mission(sb: &Sandbox, extra: &str) {
    let plan = json!({
        "milestones": [{"id": "m1", "title": "Flags", "features": [
            {"id": "m1-f1", "title": "First flag", "description": "write a.txt", "fulfills": ["a1"]},
            {"id": "m1-f2", "title": "Second flag", "description": "write b.txt", "fulfills": ["a2"]}
        ]}],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "a.txt exists", "command": "test -f a.txt"},
            {"id": "a2", "kind": "command", "text": "b.txt exists", "command": "test -f b.txt"}
        ]
    });
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", plan)])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "a.txt", "content": "a\n"}))]),
            turn(vec![call("run_command", json!({"command": "cat a.txt"}))]),
            turn(vec![done("wrote a.txt")]),
        ]),
        entry("worker", "Feature m1-f2:", vec![
            turn(vec![call("run_command", json!({"command": "echo b > b.txt"}))]),
            turn(vec![done("wrote b.txt")]),
        ]),
    ]});
    mini_repo(sb, script, extra);
}

fn event_count(sb: &Sandbox) -> usize {
    std::fs::read_to_string(sb.repo().join(".mission/events.jsonl"))
        .unwrap()
        .lines()
        .count()
}

fn assert_two_features_once(sb: &Sandbox, what: &str) {
    let st = sb.status();
    assert_eq!(st["state"], "completed", "{what}: {st:#}");
    let commits: Vec<String> = sb.mission_commits().into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        commits,
        ["m1-f1", "m1-f2"],
        "{what}: one commit per feature"
    );
    let work = sb.worktree();
    assert_eq!(
        std::fs::read_to_string(work.join("a.txt")).unwrap(),
        "a\n",
        "{what}"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("b.txt")).unwrap(),
        "b\n",
        "{what}"
    );
}

/// SQLite-style crash testing: the runner aborts right after event N is durable, for
/// every N of the mission; `resume` must finish it with nothing lost or done twice.
#[test]
fn a_crash_after_any_event_resumes_to_the_same_result() {
    // Without the watcher, whose batches land when they land, a run has the same events
    // however loaded the machine is: event N is the same step in every run.
    let quiet = ("MISSION_FAILPOINT", "no_watcher=1".as_ref());
    let reference = Sandbox::new();
    two_feature_mission(&reference, "");
    let out = reference.run_env(
        &["start", "Two flags", "--headless", "--auto-approve"],
        &[quiet],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_two_features_once(&reference, "reference");
    let total = event_count(&reference);
    assert!(total > 20, "{total} events");
    let mut crashed = 0;
    for n in 1..total {
        let sb = Sandbox::new();
        two_feature_mission(&sb, "");
        let spec = format!("abort_after_event={n},no_watcher=1");
        let out = sb.run_env(
            &["start", "Two flags", "--headless", "--auto-approve"],
            &[("MISSION_FAILPOINT", spec.as_ref())],
        );
        if out.status.code().is_none() {
            crashed += 1;
        }
        assert_eq!(
            event_count(&sb),
            n,
            "aborted right after event {n}: {}",
            text(&out)
        );
        let out = sb.run_env(&["resume", "--headless", "--auto-approve"], &[quiet]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "crash after event {n}: {}",
            text(&out)
        );
        assert_two_features_once(&sb, &format!("crash after event {n}"));
    }
    assert_eq!(crashed, total - 1, "every run was really killed");
    eprintln!("crash matrix: {crashed} crash points of a {total}-event mission, all resumed");
}

#[test]
fn handed_off_work_left_uncommitted_by_a_crash_is_committed_not_redone() {
    let quiet = ("MISSION_FAILPOINT", "no_watcher=1".as_ref());
    let reference = Sandbox::new();
    two_feature_mission(&reference, "");
    let out = reference.run_env(
        &["start", "Two flags", "--headless", "--auto-approve"],
        &[quiet],
    );
    assert!(out.status.success());
    let log = std::fs::read_to_string(reference.repo().join(".mission/events.jsonl")).unwrap();
    let handoff = log
        .lines()
        .position(|l| l.contains(r#""type":"handoff_submitted""#))
        .unwrap()
        + 1;
    let sb = Sandbox::new();
    two_feature_mission(&sb, "");
    let spec = format!("abort_after_event={handoff},no_watcher=1");
    sb.run_env(
        &["start", "Two flags", "--headless", "--auto-approve"],
        &[("MISSION_FAILPOINT", spec.as_ref())],
    );
    let out = sb.run_env(&["resume", "--headless", "--auto-approve"], &[quiet]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("committed the work m1-f1 handed off before the stop"),
        "{text}"
    );
    assert_eq!(sb.status()["milestones"][0]["features"][0]["attempts"], 1);
    assert_two_features_once(&sb, "handed off, then crashed");
}

#[test]
fn a_full_disk_stops_the_run_with_nothing_torn_and_resume_finishes() {
    for from in [3, 12, 25] {
        let sb = Sandbox::new();
        two_feature_mission(&sb, "");
        let spec = format!("disk_full_from_append={from}");
        let out = sb.run_env(
            &["start", "Two flags", "--headless", "--auto-approve"],
            &[("MISSION_FAILPOINT", spec.as_ref())],
        );
        let log = text(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "disk full from append {from}: {log}"
        );
        assert!(log.contains("The disk is full: free some space"), "{log}");
        assert!(log.contains("`mission resume`"), "{log}");
        assert!(!log.contains("completed"), "{log}");
        let raw = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
        assert!(raw.ends_with('\n'), "no partial line: {raw}");
        assert_eq!(raw.lines().count(), from - 1, "exactly the events that fit");
        let out = sb.run(&["resume", "--headless", "--auto-approve"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_two_features_once(&sb, &format!("disk full from append {from}"));
    }
}

/// A real full filesystem: a 2 MiB tmpfs holds `.mission/`; root only.
#[test]
fn a_really_full_filesystem_is_survived() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "");
    let dir = sb.repo().join(".mission");
    let keep = sb.tmp.path().join("keep");
    std::fs::rename(&dir, &keep).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&dir)
        .output();
    match mount {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "cannot mount a tmpfs here (the test needs root, as CI has): {other:?}; skip it by name where you are not root"
        ),
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(dir.clone());
    for e in std::fs::read_dir(&keep).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    // The plan gate holds the runner while the disk fills up.
    sb.set_config(
        "[roles.worker]",
        "[gates]\napprove_plan = true\n\n[roles.worker]",
    );
    let mut runner = Reaped(sb.spawn_quiet(&["start", "Two flags", "--headless"]));
    sb.wait_for_status("the plan gate", |s| s["state"] == "awaiting_approval");
    let mut ballast = std::fs::File::create(dir.join("ballast")).unwrap();
    let chunk = vec![0u8; 4096];
    while ballast.write_all(&chunk).is_ok() {}
    let _ = ballast.sync_all();
    let out = sb.run(&["approve"]);
    // Recording the approval itself may be what fails: the log stays whole either way.
    let status = runner.0.wait().unwrap();
    let approved = out.status.success();
    drop(ballast);
    std::fs::remove_file(dir.join("ballast")).unwrap();
    if approved {
        assert_eq!(
            status.code(),
            Some(3),
            "the runner stops resumably: {status:?}"
        );
    }
    let raw = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(raw.ends_with('\n'), "no partial line");
    let out = sb.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    if !approved {
        assert!(sb.run(&["approve"]).status.success());
    }
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_two_features_once(&sb, "tmpfs full");
}

fn exchange(sock: &std::path::Path, payload: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.write_all(payload).unwrap();
    let mut reply = String::new();
    BufReader::new(&s).read_line(&mut reply).unwrap();
    reply
}

#[test]
fn the_control_socket_survives_hostile_clients() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "[gates]\napprove_plan = true\n");
    let mut runner = Reaped(sb.spawn_quiet(&["start", "Two flags", "--headless"]));
    sb.wait_for_status("the plan gate", |s| s["state"] == "awaiting_approval");
    let sock = sb.repo().join(".mission/control.sock");

    // An unterminated 1 MiB line: answered, connection closed, not buffered.
    let mut s = UnixStream::connect(&sock).unwrap();
    let big = vec![b'x'; 1 << 20];
    let _ = s.write_all(&big);
    let mut reply = String::new();
    let _ = BufReader::new(&s).read_line(&mut reply);
    assert!(reply.contains("request longer than 65536 bytes"), "{reply}");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);

    // Garbage, half JSON, wrong types, NUL bytes: each refused, the runner keeps serving.
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..200 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let len = (rng % 300) as usize;
        let mut junk: Vec<u8> = (0..len)
            .map(|j| (rng.rotate_left(j as u32) % 256) as u8)
            .filter(|b| *b != b'\n')
            .collect();
        if i % 3 == 0 {
            junk = format!("{{\"op\":\"say\",\"text\":{}}}", i).into_bytes();
        }
        junk.push(b'\n');
        let reply = exchange(&sock, &junk);
        assert!(reply.contains(r#""ok":false"#), "{i}: {reply}");
    }
    // A message too long to become an event and a prompt.
    let long = json!({"op": "say", "text": "y".repeat(10_000)});
    let reply = exchange(&sock, format!("{long}\n").as_bytes());
    assert!(reply.contains("at most 8192"), "{reply}");
    let out = sb.run(&["say", &"z".repeat(9000)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Still serving: the approval goes through and the mission completes.
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(runner.0.wait().unwrap().success());
    assert_two_features_once(&sb, "after the fuzz");
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(!log.contains("yyyy") && !log.contains("zzzz"));
}

#[test]
fn mission_files_are_private() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "");
    let out = sb.run(&["start", "Two flags", "--headless", "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = sb.repo().join(".mission");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for sub in ["handoffs", "transcripts", "patches"] {
        assert_eq!(mode(&dir.join(sub)), 0o700, "{sub}");
    }
    assert_eq!(mode(&dir.join("events.jsonl")), 0o600);
    assert_eq!(mode(&dir.join("handoffs/m1-f1.json")), 0o600);
    for t in std::fs::read_dir(dir.join("transcripts")).unwrap() {
        assert_eq!(mode(&t.unwrap().path()), 0o600);
    }
}

#[test]
fn corrupt_logs_are_named_by_line_and_never_folded() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "");
    assert!(
        sb.run(&["start", "Two flags", "--headless", "--auto-approve"])
            .status
            .success()
    );
    let path = sb.repo().join(".mission/events.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let committed = lines
        .iter()
        .position(|l| l.contains(r#""type":"feature_committed""#))
        .unwrap();
    let mut dup = lines.clone();
    dup.insert(committed + 1, lines[committed]);
    let mut dropped = lines.clone();
    dropped.remove(5);
    let mut backwards = lines.clone();
    backwards.swap(7, 8);
    let mut nul = lines.clone();
    nul[3] = "\0\0\0\0";
    for (name, body, line) in [
        ("a duplicated feature_committed", dup, committed + 2),
        ("a dropped line", dropped, 6),
        ("a seq going backwards", backwards, 8),
        ("NUL bytes", nul, 4),
    ] {
        std::fs::write(&path, body.join("\n") + "\n").unwrap();
        for cmd in [&["status"][..], &["resume", "--headless"][..]] {
            let out = sb.run(cmd);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(4),
                "a damaged record has its own exit code: {name}: {cmd:?} {err}"
            );
            assert!(
                err.contains(&format!("events.jsonl:{line}: corrupt event")),
                "{name}: {cmd:?} {err}"
            );
            assert!(err.contains("then run `mission resume`"), "{name}: {err}");
        }
    }
}

/// Each bad config: exit 2, the file, line, column and key named, nothing left behind.
#[test]
fn bad_configs_are_refused_with_file_line_and_key() {
    let corpus: &[(&str, &str, &str)] = &[
        ("[validation]\nmax_fix_round = 2\n", "2:1", "max_fix_round"),
        (
            "[validation]\nmax_fix_rounds = \"three\"\n",
            "2:",
            "max_fix_rounds",
        ),
        (
            "[validation]\nmax_fix_rounds = 4294967295\n",
            "2:",
            "max_fix_rounds",
        ),
        (
            "[validation]\nmax_fix_rounds = -1\n",
            "2:",
            "max_fix_rounds",
        ),
        (
            "[validation]\ncommand_timeout_secs = 0\n",
            "2:",
            "command_timeout_secs",
        ),
        (
            "[validation]\nreview_concurrency = 0\n",
            "2:",
            "review_concurrency",
        ),
        (
            "[validation]\ncommands = \"cargo test\"\n",
            "2:",
            "commands",
        ),
        ("[budget]\nmax_cost_usd = -1.0\n", "2:", "max_cost_usd"),
        ("[budget]\nmax_cost_usd = nan\n", "2:", "max_cost_usd"),
        ("[budget]\nmax_tokens = 0\n", "2:", "max_tokens"),
        (
            "[budget]\nper_role_usd = { janitor = 1.0 }\n",
            "2:",
            "per_role_usd",
        ),
        (
            "[budget]\nper_role_usd = { worker = 0.0 }\n",
            "2:",
            "per_role_usd",
        ),
        ("[limits]\nmax_turns = 0\n", "2:", "max_turns"),
        ("[limits]\nfeature_attempts = 0\n", "2:", "feature_attempts"),
        ("[limits]\noutput_cap_bytes = 0\n", "2:", "output_cap_bytes"),
        (
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://\"\n",
            "3:",
            "base_url",
        ),
        (
            "[providers.local]\nkind = \"openai\"\nbase_url = \"ftp://x\"\n",
            "3:",
            "base_url",
        ),
        (
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9\"\ntimeout_secs = 0\n",
            "4:",
            "timeout_secs",
        ),
        (
            "[providers.local]\nkind = \"openai\"\nmax_output_tokens = 0\n",
            "3:",
            "max_output_tokens",
        ),
        ("[providers.local]\nkind = \"gemini\"\n", "2:", "kind"),
        ("[providers.local]\nbase_url = \"http://x\"\n", "1:", "kind"),
        (
            "[prices.\"m\"]\ninput_per_mtok = -3.0\noutput_per_mtok = 1.0\n",
            "",
            "input_per_mtok",
        ),
        (
            "[sandbox]\nwritable = [\"relative/dir\"]\n",
            "2:",
            "writable",
        ),
        (
            "[sandbox]\nwritable = [\"/no/such/dir/anywhere\"]\n",
            "2:",
            "writable",
        ),
        ("[sandbox]\nenabled = \"yes\"\n", "2:", "enabled"),
        ("[sandbox]\nwritable = [\"/\"]\n", "2:", "writable"),
        (
            "[roles.reviewer]\nprovider = \"scripted\"\nmodel = \"x\"\nreasoning_effort = \"max\"\n",
            "4:",
            "reasoning_effort",
        ),
        (
            "[roles.reviewer]\nprovider = \"scripted\"\nmodel = \"x\"\nthinking_budget_tokens = 100\n",
            "4:",
            "thinking_budget_tokens",
        ),
        ("[sandbox]\nwritable = [\"/etc\"]\n", "2:", "writable"),
        (
            "[sandbox]\nwritable = [\"/opt/../etc\"]\n",
            "2:",
            "writable",
        ),
        ("[sandbox]\nenv_pass = [\"AWS_*\"]\n", "2:", "env_pass"),
        (
            "[sandbox]\nenv_pass = [\"OPENAI_API_KEY\"]\n",
            "2:",
            "env_pass",
        ),
        ("[sandbox]\nmax_processes = 0\n", "2:", "max_processes"),
        ("[sandbox]\nmax_memory_mb = 1\n", "2:", "max_memory_mb"),
        ("[notify]\ncommand = [\"\"]\n", "2:", "command"),
        (
            "[notify]\ncommand = [\"no-such-notifier-xyz\"]\n",
            "2:",
            "command",
        ),
        (
            "[providers.remote]\nkind = \"openai\"\nbase_url = \"http://api.example.com/v1\"\n",
            "3:",
            "base_url",
        ),
        ("[worktree]\ndir = \"relative\"\n", "2:", "dir"),
        ("[gates]\napprove_plan = 1\n", "2:", "approve_plan"),
        (
            "[roles.reviewer]\nprovider = \"nowhere\"\nmodel = \"x\"\n",
            "2:",
            "provider",
        ),
        (
            "[roles.reviewer]\nprovider = \"scripted\"\nmodel = \"\"\n",
            "3:",
            "model",
        ),
        ("[roles.reviewer]\nprovider = \"openai\"\n", "1:", "model"),
        ("[unknown_table]\nx = 1\n", "1:", "unknown_table"),
        ("this is not toml\n", "1:", "this is not toml"),
    ];
    assert!(corpus.len() >= 25);
    for (i, (toml, at, key)) in corpus.iter().enumerate() {
        let sb = Sandbox::new();
        mini_repo(&sb, json!({"entries": []}), "");
        std::fs::remove_dir_all(sb.repo().join(".mission")).unwrap();
        std::fs::create_dir_all(sb.repo().join(".mission")).unwrap();
        let cfg = sb.repo().join(".mission/mission.toml");
        std::fs::write(&cfg, toml).unwrap();
        let out = sb.run(&["start", "x", "--headless"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "#{i} {toml:?}: {}", text(&out));
        let located = format!("mission.toml:{at}");
        assert!(
            err.contains(&located),
            "#{i} {toml:?}: wanted {located}: {err}"
        );
        assert!(err.contains(key), "#{i} {toml:?}: wanted key {key}: {err}");
        let left: Vec<String> = std::fs::read_dir(sb.repo().join(".mission"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            ["mission.toml"],
            "#{i}: a refused config leaves nothing behind"
        );
    }
    // Not UTF-8: located at the first bad byte.
    let sb = Sandbox::new();
    mini_repo(&sb, json!({"entries": []}), "");
    std::fs::write(
        sb.repo().join(".mission/mission.toml"),
        b"[validation]\nmax_fix_rounds = \xff\xfe\n",
    )
    .unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("mission.toml:2:18") && err.contains("not UTF-8"),
        "{err}"
    );
}

#[test]
fn a_stale_git_lock_pauses_the_mission_and_costs_no_work() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "[gates]\napprove_plan = true\n");
    let mut runner = Reaped(
        mission(&sb.config_home())
            .args(["start", "Two flags", "--headless", "--dir"])
            .arg(sb.repo())
            .env("MISSION_GIT_LOCK_WAIT_SECS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    sb.wait_for_status("the plan gate", |s| s["state"] == "awaiting_approval");
    // A git that crashed in the worktree left its index lock behind.
    let registrations = sb.repo().join(".git/worktrees");
    let name = std::fs::read_dir(&registrations)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let lock = name.path().join("index.lock");
    std::fs::write(&lock, "").unwrap();
    assert!(sb.run(&["approve"]).status.success());
    let st = sb.wait_for_status("the pause", |s| s["state"] == "paused");
    let reason = st["paused_reason"].as_str().unwrap();
    assert!(
        reason.contains("index.lock") && reason.contains("delete it"),
        "{reason}"
    );
    std::fs::remove_file(&lock).unwrap();
    assert!(sb.run(&["unpause"]).status.success());
    assert!(runner.0.wait().unwrap().success());
    assert_two_features_once(&sb, "after the lock went");
    assert_eq!(sb.status()["milestones"][0]["features"][0]["attempts"], 1);
}

/// A runner that a failing test must not leave behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The long matrix: the demo killed right after each of its events, then resumed
/// (`cargo test --test all the_demo_resumes -- --ignored`; `MISSION_MATRIX_STRIDE=k` takes
/// every k-th event). Figures in RELIABILITY.md.
#[test]
#[ignore = "a long matrix (minutes): cargo test --test all the_demo_resumes -- --ignored"]
fn the_demo_resumes_from_a_crash_after_any_event() {
    let stride: usize = std::env::var("MISSION_MATRIX_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let quiet = ("MISSION_FAILPOINT", "no_watcher=1".as_ref());
    let reference = Sandbox::new();
    let out = reference.run_env(&["demo", "--headless", "--fast"], &[quiet]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let total = event_count(&reference);
    let started = std::time::Instant::now();
    let mut runs = 0;
    for n in (1..total).step_by(stride) {
        let sb = Sandbox::new();
        let spec = format!("abort_after_event={n},no_watcher=1");
        let out = sb.run_env(
            &["demo", "--headless", "--fast"],
            &[("MISSION_FAILPOINT", spec.as_ref())],
        );
        assert_eq!(
            out.status.code(),
            None,
            "killed after event {n}: {}",
            text(&out)
        );
        assert_eq!(event_count(&sb), n);
        let out = sb.run_env(&["resume", "--headless", "--auto-approve"], &[quiet]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "crash after event {n}: {}",
            text(&out)
        );
        assert_demo_completed(&sb);
        runs += 1;
    }
    eprintln!(
        "demo crash matrix: {runs} crash points of {total} events, all resumed to the same result, in {:.0}s",
        started.elapsed().as_secs_f64()
    );
}

/// The state checkpoint is a cache: status reads the same with it, without it, and with
/// a checkpoint that is garbage or belongs to another log.
#[test]
fn the_checkpoint_is_a_cache_that_changes_nothing() {
    let sb = Sandbox::new();
    two_feature_mission(&sb, "");
    assert!(
        sb.run(&["start", "Two flags", "--headless", "--auto-approve"])
            .status
            .success()
    );
    let cp = sb.repo().join(".mission/checkpoint");
    assert!(cp.exists(), "the runner left a checkpoint at its end");
    let with = sb.status();
    let saved = std::fs::read(&cp).unwrap();
    std::fs::remove_file(&cp).unwrap();
    assert_eq!(sb.status(), with, "deleted");
    std::fs::write(&cp, b"0000000000000000\n{not json").unwrap();
    assert_eq!(sb.status(), with, "garbage");
    // A log cut back under the checkpoint: the checkpoint no longer matches it.
    std::fs::write(&cp, &saved).unwrap();
    let events = sb.repo().join(".mission/events.jsonl");
    let log = std::fs::read_to_string(&events).unwrap();
    let cut: Vec<&str> = log.lines().collect();
    std::fs::write(&events, cut[..cut.len() - 1].join("\n") + "\n").unwrap();
    let st = sb.status();
    assert_ne!(
        st["state"], "completed",
        "the cut log is what counts: {st:#}"
    );
}
