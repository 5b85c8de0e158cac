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
