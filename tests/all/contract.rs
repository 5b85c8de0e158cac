//! The contract as a model meets it: a plan with several problems is answered once, with
//! every problem at its path; an assertion no feature fulfils is refused.

use crate::common::*;
use serde_json::json;

#[test]
fn a_plan_with_four_problems_is_answered_once_with_every_path() {
    let sb = Sandbox::new();
    let broken = json!({
        "milestones": [{"id": "m1", "title": "Flag", "features": [
            {"id": "m1-f1", "title": "Create the flag", "fulfills": ["a1", "a7"]}
        ]}],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "flag.txt exists"},
            {"id": "a2", "kind": "review", "text": "nobody checks this"}
        ]
    });
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![
            turn(vec![call("submit_plan", broken)]),
            turn(vec![call("submit_plan", flag_plan())]),
        ]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let names = transcripts_containing(&sb, "the plan has 4 problems");
    assert_eq!(names.len(), 1, "one answer named them all");
    let t =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&names[0])).unwrap();
    for path in [
        "assertions[0].command",
        "milestones[0].features[0].description: is missing",
        "milestones[0].features[0].fulfills[1]: `a7` is not an assertion id",
        "assertions[1]: `a2` is fulfilled by no feature",
    ] {
        assert!(t.contains(path), "{path} not in {t}");
    }
    assert_eq!(
        t.matches("\"role\":\"assistant\"").count(),
        2,
        "fixed in one round"
    );
}

/// A worker that changes a test which existed before its feature is flagged in its handoff
/// (which the reviewer reads); a test it adds is not.
#[test]
fn a_worker_editing_a_pre_existing_test_is_flagged_in_its_handoff() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("write_file", json!({"path": "flag.txt", "content": "ok"})),
                call("write_file", json!({"path": "tests/check.sh", "content": "exit 0\n"})),
                call("write_file", json!({"path": "tests/new_test.sh", "content": "true\n"})),
            ]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    std::fs::create_dir_all(sb.repo().join("tests")).unwrap();
    std::fs::write(sb.repo().join("tests/check.sh"), "test -f flag.txt\n").unwrap();
    mission::git::Git::open(&sb.repo())
        .unwrap()
        .commit_all("a test")
        .unwrap();
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let handoff = std::fs::read_to_string(sb.repo().join(".mission/handoffs/m1-f1.json")).unwrap();
    assert!(
        handoff.contains("changed pre-existing test files: tests/check.sh —"),
        "{handoff}"
    );
    assert!(
        !handoff.contains("files: tests/check.sh, tests/new_test.sh"),
        "{handoff}"
    );
}

#[test]
fn plan_check_names_every_problem_offline() {
    let sb = Sandbox::new();
    let bad = sb.tmp.path().join("plan.json");
    std::fs::write(
        &bad,
        r#"{"milestones": [{"id": "m1", "title": "T", "features": [{"id": "f1", "title": "F", "description": "d", "fulfills": ["a2"]}]}],
            "assertions": [{"id": "a1", "text": "t", "kind": "review"}]}"#,
    )
    .unwrap();
    let out = mission(&sb.config_home())
        .args(["plan", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("milestones[0].features[0].fulfills[0]: `a2` is not an assertion id"),
        "{said}"
    );
    assert!(
        said.contains("assertions[0]: `a1` is fulfilled by no feature"),
        "{said}"
    );
    let good = sb.tmp.path().join("good.json");
    std::fs::write(&good, flag_plan().to_string()).unwrap();
    let out = mission(&sb.config_home())
        .args(["plan", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// The contract runs once on the untouched tree while the plan is made: a command that
/// cannot run is an error the orchestrator must fix, one that already passes is flagged
/// (kept on a second submission, it is marked at the plan gate), and the tree is left as
/// it was found.
#[test]
fn an_already_passing_assertion_is_flagged_to_the_orchestrator_and_at_the_gate() {
    let sb = Sandbox::new();
    let plan = |a3: &str| {
        json!({
            "milestones": [{"id": "m1", "title": "Flag", "features": [
                {"id": "m1-f1", "title": "Create the flag", "description": "write flag.txt", "fulfills": ["a1", "a2", "a3"]}
            ]}],
            "assertions": [
                {"id": "a1", "kind": "command", "text": "flag.txt exists", "command": "test -f flag.txt"},
                {"id": "a2", "kind": "command", "text": "the README stays", "command": "touch left-behind.txt; test -f README.md"},
                {"id": "a3", "kind": "command", "text": "flag.txt says ok", "command": a3}
            ]
        })
    };
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![
            turn(vec![call("submit_plan", plan("pytset -q flag.txt"))]),
            turn(vec![call("submit_plan", plan("grep -q ok flag.txt"))]),
        ]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "");
    let mut child = sb.spawn(&["start", "Create a flag", "--headless"]);
    let st = sb.wait_for_status("the plan gate", |st| st["state"] == "awaiting_approval");
    let said = st.to_string();
    assert!(
        said.contains("already passing before any work: a2"),
        "the gate names it: {st:#}"
    );
    assert!(
        std::fs::read_to_string(sb.repo().join(".mission/proposal.md"))
            .unwrap()
            .contains("**a2** [command] the README stays — `touch left-behind.txt; test -f README.md` (fulfilled by m1-f1) — passed already"),
        "the proposal marks it"
    );
    assert!(
        !sb.worktree().join("left-behind.txt").exists(),
        "the baseline left the tree untouched"
    );
    let names = transcripts_containing(&sb, "its contract was run once on today");
    assert_eq!(names.len(), 1);
    let t =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&names[0])).unwrap();
    for want in [
        "assertions[2].command (a3): `pytset -q flag.txt` cannot run on this machine: `pytset` is not installed",
        "assertions[1] (a2): `touch left-behind.txt; test -f README.md` already passes (exit 0)",
    ] {
        assert!(t.contains(want), "{want} not in {t}");
    }
    assert!(
        !t.contains("assertions[0] (a1)"),
        "a1 fails today, as it should"
    );
    let log = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("baseline_ran") && l.contains(r#""command":"test -f flag.txt""#))
            .count(),
        1,
        "an unchanged command is not run again for the second submission"
    );
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_for_status("completion", |st| st["state"] == "completed");
    child.wait().unwrap();
}

/// What the models read: the worker's task states its turn budget, and a corrective
/// feature carries the failing assertion, its command, its exit code and its output, to
/// the orchestrator and to the worker that fixes it.
#[test]
fn tasks_state_the_turn_budget_and_fixes_carry_the_failing_check() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "wrong.txt", "content": "x"})), done("wrote it")]),
        ]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![call("submit_fixes", json!({
            "features": [{"id": "m1-fix1-1", "title": "Create the flag", "description": "flag.txt", "fulfills": ["a1"]}],
            "note": "the worker wrote the wrong file"
        }))])]),
        entry("worker", "Feature m1-fix1-1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(&sb, script, "[limits]\nmax_turns = 9\n");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let read = |needle: &str| -> String {
        let names = transcripts_containing(&sb, needle);
        assert!(!names.is_empty(), "no transcript has {needle}");
        names
            .iter()
            .map(|n| {
                std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(n)).unwrap()
            })
            .collect()
    };
    assert!(read("Feature m1-f1:").contains("You have 9 turns"));
    for t in [
        read("Fix round 1 for milestone m1"),
        read("Feature m1-fix1-1:"),
    ] {
        for want in ["a1", "test -f flag.txt", "exit 1"] {
            assert!(t.contains(want), "{want} not in {t}");
        }
    }
}
