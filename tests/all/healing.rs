//! Escalation, guardrails and budgets on small shell-only missions.

use crate::common::*;
use serde_json::json;

fn plan_entry() -> serde_json::Value {
    entry(
        "orchestrator",
        "Plan the mission.",
        vec![turn(vec![call("submit_plan", flag_plan())])],
    )
}

#[test]
fn a_fix_that_never_works_escalates_after_max_fix_rounds_and_a_human_can_accept() {
    let sb = Sandbox::new();
    let outside = sb.tmp.path().join("escape.txt");
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("write_file", json!({"path": ".mission/contract.json", "content": "[]"})),
                call("edit_file", json!({"path": ".mission/contract.json", "old_string": "a1", "new_string": "zz"})),
                call("write_file", json!({"path": "../escape.txt", "content": "out"})),
                call("write_file", json!({"path": outside.display().to_string(), "content": "out"})),
                call("run_command", json!({"command": "cat .mission/contract.json"})),
            ]),
            turn(vec![call("write_file", json!({"path": "wrong.txt", "content": "not the flag"})), done("wrote it")]),
        ]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![call("submit_fixes", json!({
            "features": [{"id": "m1-fix1-1", "title": "Really create the flag", "description": "flag.txt", "fulfills": ["a1"]}],
            "note": "the worker wrote the wrong file"
        }))])]),
        entry("worker", "Feature m1-fix1-1:", vec![
            turn(vec![call("write_file", json!({"path": "still-wrong.txt", "content": "x"})), done("fixed, surely")]),
        ]),
    ]});
    mini_repo(&sb, script, "[validation]\nmax_fix_rounds = 1\n");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("still fails after 1 fix round(s): a1"),
        "{log}"
    );
    assert!(
        log.contains("mission approve"),
        "tells the human what to do: {log}"
    );

    let st = sb.status();
    assert_eq!(st["state"], "awaiting_approval");
    assert!(
        st["waiting_for"]
            .as_str()
            .unwrap()
            .contains("escalation on m1"),
        "{st:#}"
    );
    assert_eq!(st["milestones"][0]["fix_rounds"], 1);
    assert_eq!(st["contract"]["failed"], 1);

    // Guardrails: the contract is untouched, nothing escaped the repository, and the
    // worker was told why (the run went on).
    let contract = std::fs::read_to_string(sb.repo().join(".mission/contract.json")).unwrap();
    assert!(contract.contains("\"a1\""), "{contract}");
    assert!(!outside.exists());
    let t = transcripts_containing(&sb, "which agents may not modify");
    assert_eq!(t.len(), 1, "the refusal is in the worker's transcript");
    let worker =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&t[0])).unwrap();
    assert!(worker.contains("leads outside the repository"), "{worker}");
    assert!(worker.contains("is absolute"), "{worker}");

    // No runner is alive: approve is recorded in the log, resume acts on it.
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("mission resume"),
        "{}",
        text(&out)
    );
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let st = sb.status();
    assert_eq!(st["state"], "completed");
    assert_eq!(st["milestones"][0]["state"], "passed");
    let report = std::fs::read_to_string(sb.repo().join(".mission/report.md")).unwrap();
    assert!(report.contains("✘ fail — **a1**"), "{report}");
}

#[test]
fn an_empty_fix_list_escalates_with_the_orchestrators_note() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![turn(vec![done("did nothing")])]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![
            call("submit_fixes", json!({"features": [{"id": "m1-f1", "title": "dup", "description": "", "fulfills": []}]})),
        ]), turn(vec![
            call("submit_fixes", json!({"features": [], "note": "the contract asks for a file nobody wants"})),
        ])]),
    ]});
    mini_repo(&sb, script, "");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("the contract asks for a file nobody wants"),
        "{log}"
    );
    // The duplicate id went back to the orchestrator as a tool error first.
    assert_eq!(
        transcripts_containing(&sb, "id `m1-f1` is already used").len(),
        1
    );
}

#[test]
fn a_blocked_worker_is_retried_then_escalated_and_a_note_reaches_the_next_attempt() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "half.txt", "content": "half done"})),
            call("submit_handoff", json!({"status": "blocked", "summary": "I need a decision about the flag format"})),
        ])]),
    ]});
    mini_repo(&sb, script, "");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("attempt 1 failed: the worker is blocked"),
        "{log}"
    );
    assert!(log.contains("attempt 2 failed"), "{log}");
    assert!(log.contains("escalation on m1/m1-f1"), "{log}");
    assert!(
        !sb.repo().join("half.txt").exists(),
        "failed attempts are reset"
    );
    let patches = std::fs::read_dir(sb.repo().join(".mission/patches"))
        .unwrap()
        .count();
    assert_eq!(patches, 2, "each discarded attempt is kept as a patch");

    let out = sb.run(&["reject", "--note", "use plain text"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("attempt 3 failed"));
    assert_eq!(
        transcripts_containing(&sb, "human note: use plain text").len(),
        1
    );
}

#[test]
fn a_spent_budget_pauses_between_turns_and_resume_continues_after_raising_it() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![
            turn(vec![call("read_file", json!({"path": "README.md"}))]),
            turn(vec![call("submit_plan", flag_plan())]),
        ]),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt"),
        ])]),
    ]});
    mini_repo(&sb, script, "[budget]\nmax_tokens = 100\n");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(log.contains("budget reached"), "{log}");
    let st = sb.status();
    assert_eq!(st["state"], "paused");
    assert!(st["budget"]["tokens_in"].as_u64().unwrap() > 100);

    sb.set_config("max_tokens = 100", "max_tokens = 1000000");
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.status()["contract"]["passed"], 1);
}

#[test]
fn a_hanging_validation_command_is_killed_and_reported() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "flag.txt", "content": "ok"})), done("wrote flag.txt"),
        ])]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![
            call("submit_fixes", json!({"features": [], "note": "the check hangs"})),
        ])]),
    ]});
    mini_repo(
        &sb,
        script,
        "[validation]\ncommands = [\"sleep 60\"]\ncommand_timeout_secs = 1\n",
    );
    let t = std::time::Instant::now();
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(t.elapsed() < std::time::Duration::from_secs(30));
    assert!(log.contains("sleep 60 → timed out"), "{log}");
}

#[test]
fn a_handoff_that_claims_success_over_a_failing_command_fails_validation() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "flag.txt", "content": "ok"})),
            call("run_command", json!({"command": "cargo test -q"})),
            done("All good, wrote flag.txt and src/extra.rs"),
        ])]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![
            call("submit_fixes", json!({"features": [], "note": "the worker ignored a failing command"})),
        ])]),
    ]});
    mini_repo(&sb, script, "");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(log.contains("m1-f1        ✘ handoff check failed — high: the handoff says done, but `cargo test -q` last exited with 101"), "{log}");
    assert!(
        log.contains("✘ validation failed: 1 check(s) — review of m1-f1"),
        "{log}"
    );
    // The orchestrator was told, with the evidence.
    assert_eq!(transcripts_containing(&sb, "last exited with 101").len(), 1);
    let st = sb.status();
    assert_eq!(
        st["contract"]["passed"], 1,
        "the command assertion itself passed: {st:#}"
    );
}

#[test]
fn a_contract_amendment_waits_for_a_human_and_then_changes_the_contract() {
    let sb = Sandbox::new();
    let script = json!({"entries": [
        plan_entry(),
        entry("worker", "Feature m1-f1:", vec![turn(vec![
            call("write_file", json!({"path": "FLAG", "content": "ok"})), done("wrote FLAG as the README asks"),
        ])]),
        entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![
            call("submit_fixes", json!({
                "features": [],
                "note": "the README names the flag file FLAG; a1 checks the wrong name",
                "amendments": [{"id": "a1", "kind": "command", "text": "the flag file exists", "command": "test -f FLAG"}]
            })),
        ])]),
    ]});
    mini_repo(&sb, script, "");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let t = std::fs::read_dir(sb.repo().join(".mission/transcripts"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "--auto-approve approves amendments too: {}\n{t}",
        text(&out)
    );

    // Without --auto-approve the amendment waits for a human.
    let sb = Sandbox::new();
    mini_repo(
        &sb,
        json!({"entries": [
            plan_entry(),
            entry("worker", "Feature m1-f1:", vec![turn(vec![
                call("write_file", json!({"path": "FLAG", "content": "ok"})), done("wrote FLAG"),
            ])]),
            entry("orchestrator", "Fix round 1 for milestone m1", vec![turn(vec![
                call("submit_fixes", json!({
                    "features": [],
                    "note": "a1 checks the wrong name",
                    "amendments": [{"id": "a1", "kind": "command", "text": "the flag file exists", "command": "test -f FLAG"}]
                })),
            ])]),
        ]}),
        "[gates]\napprove_plan = false\n",
    );
    let mut child = sb.spawn_quiet(&["start", "Create a flag", "--headless"]);
    sb.wait_for_status("the amendment gate", |st| {
        st["waiting_for"]
            .as_str()
            .is_some_and(|w| w.contains("contract amendment from m1"))
    });
    let before = std::fs::read_to_string(sb.repo().join(".mission/contract.json")).unwrap();
    assert!(
        before.contains("test -f flag.txt"),
        "unchanged until approved: {before}"
    );
    let out = sb.run(&["approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let after = std::fs::read_to_string(sb.repo().join(".mission/contract.json")).unwrap();
    assert!(
        after.contains("test -f FLAG") && !after.contains("flag.txt"),
        "{after}"
    );
    let st = sb.status();
    assert_eq!(st["state"], "completed");
    assert_eq!(st["contract"]["passed"], 1);
    let log = String::from_utf8_lossy(&sb.run(&["log"]).stdout).into_owned();
    assert!(log.contains("contract amendment proposed: a1"), "{log}");
    assert!(
        log.contains("contract amendment from m1: approved by a human"),
        "{log}"
    );
}
