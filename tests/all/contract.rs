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
