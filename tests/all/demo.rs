//! The real binary runs the whole demo: plan, real cargo runs, a real failure caught by a
//! real check, a corrective feature, commits, report.

use crate::common::*;

#[test]
fn demo_runs_to_completion_and_heals_itself() {
    let sb = Sandbox::new();
    let out = sb.run(&["demo", "--headless", "--fast"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_demo_completed(&sb);

    // The failure was real: the check for a2 failed with a non-zero exit, then passed.
    assert!(log.contains("✘ a2:"), "{log}");
    // The corrective feature's worker got the failed check itself (its command and output),
    // and every worker its turn budget.
    let fix = transcripts_containing(&sb, "## The failed checks this fix is for");
    assert!(fix.iter().any(|t| t.contains("m1-fix1-1")), "{fix:?}");
    assert!(!transcripts_containing(&sb, "You have 60 turns (model calls)").is_empty());
    assert!(log.contains("fix round 1: m1-fix1-1"), "{log}");
    // A reviewer's finding became a corrective feature.
    assert!(
        log.contains("m2-f1        ✘ review failed — high: only the first argument"),
        "{log}"
    );
    assert!(
        log.contains("fix round 1: m2-fix1-1 \"Refuse every unknown argument\""),
        "{log}"
    );
    // The runner's watcher recorded the tree changing under the workers.
    let events = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(
        events
            .lines()
            .any(|l| l.contains(r#""type":"files_changed""#) && l.contains("src/stats.rs")),
        "no files_changed event naming src/stats.rs"
    );
    // The user tester drove the built program in a real terminal, and its screen is kept.
    assert!(log.contains("user test: a7 ✔"), "{log}");
    let tester = std::fs::read_dir(sb.repo().join(".mission/transcripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("user_tester")
        })
        .unwrap();
    let screen = std::fs::read_to_string(tester).unwrap();
    assert!(
        // Whether the program had exited by the time the tester looked is up to the
        // scheduler; what it printed is not.
        screen.contains(r"]\n3 1 2\ncount: 3\nmean: 2\nmedian: 2"),
        "{screen}"
    );
    assert!(log.contains("Mission completed."), "{log}");
    assert!(
        log.contains(&sb.repo().join(".mission/report.md").display().to_string()),
        "{log}"
    );

    let repo = sb.repo();
    // The work happened in the mission's worktree, beside the demo repository; the
    // human's checkout still holds the crate as it was.
    let work = sb.worktree();
    assert!(work.starts_with(sb.tmp.path()), "{work:?}");
    assert!(!repo.join("src/stats.rs").exists());
    assert!(
        log.contains(&format!("worktree    {}", work.display())),
        "{log}"
    );
    let stats = std::fs::read_to_string(work.join("src/stats.rs")).unwrap();
    assert!(
        stats.contains("sort_by(f64::total_cmp)"),
        "the fix is in the tree"
    );
    // The built program really works.
    let built = std::process::Command::new("cargo")
        .args(["run", "-q", "--", "--json"])
        .current_dir(&work)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    built
        .stdin
        .as_ref()
        .unwrap()
        .write_all(b"9 1 5 2\n")
        .unwrap();
    let o = built.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        r#"{"count":4,"mean":4.25,"median":3.5}"#
    );

    // Handoffs record what the harness saw, exit codes included.
    let h: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join(".mission/handoffs/m2-f2.json")).unwrap(),
    )
    .unwrap();
    let codes: Vec<i64> = h["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![1, 0, 0], "{h:#}");
    assert_eq!(h["files_changed"], serde_json::json!(["src/main.rs"]));
    assert_eq!(h["status"], "done");

    // .mission is excluded from git and both trees are clean.
    let exclude = std::fs::read_to_string(repo.join(".git/info/exclude")).unwrap();
    assert!(exclude.lines().any(|l| l == ".mission/"));
    for tree in [&repo, &work] {
        let g = git2::Repository::open(tree).unwrap();
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).include_ignored(false);
        let dirty: Vec<String> = g
            .statuses(Some(&mut opts))
            .unwrap()
            .iter()
            .map(|e| e.path().unwrap().to_string())
            .collect();
        assert!(dirty.is_empty(), "{dirty:?}");
    }

    // The log is gap-free.
    let events = std::fs::read_to_string(repo.join(".mission/events.jsonl")).unwrap();
    for (i, line) in events.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seq"].as_u64().unwrap(), i as u64 + 1);
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
        assert!(
            v["type"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        );
    }
    let report = std::fs::read_to_string(repo.join(".mission/report.md")).unwrap();
    assert!(
        report.contains("m1-fix1-1 Sort before taking the median *(corrective)*"),
        "{report}"
    );
    // The plan's estimate, as approved, beside what each role used.
    assert!(
        report.contains("## Estimate and actual")
            && report.contains("| worker | ")
            && report.contains("| **all** | "),
        "{report}"
    );

    // Printing commands work on the finished mission.
    let out = sb.run(&["handoff", "m1-fix1-1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("exit 0"));
    let out = sb.run(&["handoff", "nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("m1-f1"),
        "{}",
        text(&out)
    );
    let out = sb.run(&["log"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("✔ milestone passed"));
}

#[test]
fn demo_refuses_a_directory_that_is_not_empty() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.repo()).unwrap();
    std::fs::write(sb.repo().join("x"), "").unwrap();
    let out = sb.run(&["demo", "--headless", "--fast"]);
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(sb.repo().join("x")).unwrap(),
        "",
        "nothing touched"
    );
}
