//! The fold, `next_step` and `decide`, as tables and as stories.

use super::*;
use crate::mission::plan::{AssertionKind, MilestonePlan};

fn rec(seq: u64, event: Event) -> EventRecord {
    EventRecord {
        seq,
        ts: jiff::Timestamp::from_second(1_800_000_000 + seq as i64).unwrap(),
        event,
    }
}

fn fold(events: Vec<Event>) -> MissionState {
    let recs: Vec<_> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64 + 1, e))
        .collect();
    MissionState::from_events(&recs)
}

fn planned() -> Vec<Event> {
    vec![
        Event::MissionStarted {
            goal: "g".into(),
            slug: "g".into(),
            branch: "mission/g".into(),
            base_commit: "base".into(),
            worktree: None,
        },
        Event::PlanSubmitted {
            plan: Plan {
                milestones: vec![MilestonePlan {
                    id: "m1".into(),
                    title: "m".into(),
                    features: vec![
                        FeaturePlan {
                            id: "f1".into(),
                            title: "f1".into(),
                            description: String::new(),
                            expected_behavior: None,
                            fulfills: vec!["a1".into()],
                        },
                        FeaturePlan {
                            id: "f2".into(),
                            title: "f2".into(),
                            description: String::new(),
                            expected_behavior: None,
                            fulfills: vec![],
                        },
                    ],
                }],
                assertions: vec![Assertion {
                    id: "a1".into(),
                    text: "t".into(),
                    kind: AssertionKind::Command,
                    command: Some("true".into()),
                }],
            },
        },
        Event::GateOpened {
            gate: Gate::Plan,
            reason: "r".into(),
        },
    ]
}

fn failed(attempt: u32) -> [Event; 2] {
    [
        Event::FeatureStarted {
            feature_id: "f1".into(),
            attempt,
            base_commit: "base".into(),
        },
        Event::FeatureFailed {
            feature_id: "f1".into(),
            attempt,
            reason: "blocked".into(),
            patch: None,
        },
    ]
}

#[test]
fn the_loop_goes_plan_gate_freeze_features_validate() {
    let p = Policy::default();
    assert_eq!(fold(vec![]).next_step(&p), Step::Plan);
    let mut ev = planned();
    assert_eq!(fold(ev.clone()).next_step(&p), Step::WaitForHuman);
    ev.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    assert_eq!(fold(ev.clone()).next_step(&p), Step::FreezeContract);
    ev.push(Event::ContractFrozen { assertions: 1 });
    assert_eq!(
        fold(ev.clone()).next_step(&p),
        Step::RunFeature {
            milestone: "m1".into(),
            feature: "f1".into()
        }
    );
}

fn committed(id: &str) -> [Event; 2] {
    [
        Event::FeatureStarted {
            feature_id: id.into(),
            attempt: 1,
            base_commit: "base".into(),
        },
        Event::FeatureCommitted {
            feature_id: id.into(),
            attempt: 1,
            commit: format!("c-{id}"),
            diff_stat: Default::default(),
            files_changed: vec![],
        },
    ]
}

fn validated(round: u32, passed: bool) -> [Event; 2] {
    [
        Event::ValidationStarted {
            milestone: "m1".into(),
            round,
        },
        Event::ValidationFinished {
            milestone: "m1".into(),
            round,
            passed,
            failures: if passed {
                vec![]
            } else {
                vec![Failure {
                    assertion_id: Some("a1".into()),
                    check: "true".into(),
                    evidence: "exit 1".into(),
                }]
            },
            checked: vec![],
        },
    ]
}

/// `next_step` as a table: each row adds events to the mission so far and names the
/// step that must come next.
#[test]
fn next_step_table() {
    let p = Policy {
        max_fix_rounds: 1,
        ..Policy::default()
    };
    let approved = Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    };
    let run = |f: &str| Step::RunFeature {
        milestone: "m1".into(),
        feature: f.into(),
    };
    let rows: Vec<(&str, Vec<Event>, Step)> = vec![
        ("nothing yet", vec![], Step::Plan),
        ("plan at its gate", planned(), Step::WaitForHuman),
        ("approved", vec![approved], Step::FreezeContract),
        (
            "frozen",
            vec![Event::ContractFrozen { assertions: 1 }],
            run("f1"),
        ),
        (
            "f1 started, then a crash",
            vec![committed("f1")[0].clone()],
            run("f1"),
        ),
        ("f1 committed", vec![committed("f1")[1].clone()], run("f2")),
        (
            "all committed",
            committed("f2").to_vec(),
            Step::Validate {
                milestone: "m1".into(),
                round: 0,
            },
        ),
        (
            "validation failed",
            validated(0, false).to_vec(),
            Step::Fix {
                milestone: "m1".into(),
                round: 1,
            },
        ),
        (
            "a fix planned and built",
            [
                vec![Event::FixesSubmitted {
                    milestone: "m1".into(),
                    features: vec![FeaturePlan {
                        id: "fix1".into(),
                        title: "fix".into(),
                        description: String::new(),
                        expected_behavior: None,
                        fulfills: vec!["a1".into()],
                    }],
                    note: String::new(),
                    round: 1,
                }],
                committed("fix1").to_vec(),
            ]
            .concat(),
            Step::Validate {
                milestone: "m1".into(),
                round: 1,
            },
        ),
        (
            "passed after the fix",
            validated(1, true).to_vec(),
            Step::PassMilestone {
                milestone: "m1".into(),
            },
        ),
        (
            "milestone passed",
            vec![Event::MilestonePassed {
                milestone: "m1".into(),
                overridden: false,
            }],
            Step::Finish,
        ),
        (
            "completed",
            vec![Event::MissionCompleted { report: "r".into() }],
            Step::Done,
        ),
    ];
    let mut events = vec![];
    for (what, more, want) in rows {
        events.extend(more);
        assert_eq!(fold(events.clone()).next_step(&p), want, "after: {what}");
    }
}

/// A fix round that still fails once `max_fix_rounds` is spent asks a human.
#[test]
fn fix_rounds_spent_escalate() {
    let p = Policy {
        max_fix_rounds: 0,
        ..Policy::default()
    };
    let mut ev = planned();
    ev.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    ev.push(Event::ContractFrozen { assertions: 1 });
    ev.extend(committed("f1"));
    ev.extend(committed("f2"));
    ev.extend(validated(0, false));
    assert!(
        matches!(fold(ev).next_step(&p), Step::Escalate { .. }),
        "no fix round left"
    );
}

/// `decide` as a table: an op on a state gives an event (or none) or a refusal.
#[test]
fn decide_table() {
    use crate::mission::{Op, decide};
    let at_gate = fold(planned());
    let mut approved = planned();
    approved.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    let running = fold(approved);
    let mut paused_ev = planned();
    paused_ev.push(Event::Paused {
        reason: "paused by a human".into(),
    });
    let paused = fold(paused_ev);
    let empty = MissionState::default();
    let long = "x".repeat(9000);
    type Check = fn(&Result<(Option<Event>, String), String>) -> bool;
    let rows: Vec<(&str, &MissionState, Op, Check)> = vec![
        (
            "approve at a gate",
            &at_gate,
            Op::Approve { gate: None },
            |r| matches!(r, Ok((Some(Event::GateApproved { .. }), _))),
        ),
        (
            "approve naming the open gate",
            &at_gate,
            Op::Approve {
                gate: Some(at_gate.gate_id),
            },
            |r| matches!(r, Ok((Some(Event::GateApproved { .. }), _))),
        ),
        (
            "approve naming a gate that is no longer open",
            &at_gate,
            Op::Approve {
                gate: Some(at_gate.gate_id - 1),
            },
            |r| {
                r.as_ref().is_err_and(|e| {
                    e.contains("is no longer open") && e.contains("plan approval (#")
                })
            },
        ),
        (
            "reject naming a gate when none is open",
            &running,
            Op::Reject {
                note: "n".into(),
                gate: Some(at_gate.gate_id),
            },
            |r| r.as_ref().is_err_and(|e| e.contains("nothing was decided")),
        ),
        (
            "approve with no gate",
            &running,
            Op::Approve { gate: None },
            |r| r.is_err(),
        ),
        (
            "reject with a note",
            &at_gate,
            Op::Reject {
                note: "split m1".into(),
                gate: None,
            },
            |r| matches!(r, Ok((Some(Event::GateRejected { .. }), _))),
        ),
        (
            "reject without a note",
            &at_gate,
            Op::Reject {
                note: " ".into(),
                gate: None,
            },
            |r| r.is_err(),
        ),
        ("pause", &running, Op::Pause, |r| {
            matches!(r, Ok((Some(Event::Paused { .. }), _)))
        }),
        ("pause twice", &paused, Op::Pause, |r| {
            matches!(r, Ok((None, _)))
        }),
        ("unpause", &paused, Op::Unpause, |r| {
            matches!(r, Ok((Some(Event::Unpaused), _)))
        }),
        (
            "unpause when running",
            &running,
            Op::Unpause,
            |r| matches!(r, Ok((None, m)) if m.contains("not paused")),
        ),
        ("say", &running, Op::Say { text: "hi".into() }, |r| {
            matches!(r, Ok((Some(Event::MessageSaid { .. }), _)))
        }),
        (
            "a say too long",
            &running,
            Op::Say { text: long.clone() },
            |r| r.as_ref().is_err_and(|e| e.contains("at most 8192")),
        ),
        ("no mission", &empty, Op::Approve { gate: None }, |r| {
            r.is_err()
        }),
    ];
    for (what, st, op, check) in rows {
        let r = decide(st, &op);
        assert!(check(&r), "{what}: {r:?}");
    }
}

#[test]
fn a_second_decision_on_a_closed_gate_changes_nothing() {
    let mut ev = planned();
    ev.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    ev.push(Event::GateRejected {
        gate: Gate::Plan,
        note: "late".into(),
    });
    let st = fold(ev);
    assert!(st.plan_approved);
    assert!(
        st.plan.is_some(),
        "the racing rejection did not wipe the approved plan"
    );
    assert!(st.plan_rejections.is_empty());
}

#[test]
fn only_failures_count_towards_escalation_and_approval_skips_the_feature() {
    let p = Policy {
        feature_attempts: 2,
        ..Policy::default()
    };
    let mut ev = planned();
    ev.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    ev.push(Event::ContractFrozen { assertions: 1 });
    // Attempt 1 is interrupted by a crash: it does not count.
    ev.push(Event::FeatureStarted {
        feature_id: "f1".into(),
        attempt: 1,
        base_commit: "base".into(),
    });
    ev.push(Event::MissionResumed {
        reset_to: "base".into(),
        discarded_patch: None,
    });
    ev.extend(failed(2));
    assert!(
        matches!(fold(ev.clone()).next_step(&p), Step::RunFeature { .. }),
        "one real failure so far"
    );
    ev.extend(failed(3));
    let st = fold(ev.clone());
    let Step::Escalate { gate, .. } = st.next_step(&p) else {
        panic!("{:?}", st.next_step(&p))
    };
    ev.push(Event::GateOpened {
        gate: gate.clone(),
        reason: "r".into(),
    });
    ev.push(Event::GateApproved { gate, auto: false });
    let st = fold(ev);
    assert_eq!(
        st.next_step(&p),
        Step::RunFeature {
            milestone: "m1".into(),
            feature: "f2".into()
        },
        "approving accepts f1 as failed and the mission goes on"
    );
    assert!(st.feature("f1").unwrap().1.skipped);
}

#[test]
fn messages_stay_unread_until_an_orchestrator_run_succeeds() {
    let mut ev = planned();
    ev.push(Event::MessageSaid {
        text: "hello".into(),
    });
    let started = |n: &str| Event::AgentStarted {
        run_id: n.into(),
        role: Role::Orchestrator,
        model: "m".into(),
        task: "t".into(),
        feature_id: None,
        external: false,
    };
    ev.push(started("o1"));
    ev.push(Event::AgentFinished {
        run_id: "o1".into(),
        role: Role::Orchestrator,
        ok: false,
        error: None,
    });
    assert_eq!(
        fold(ev.clone()).unread_messages(),
        vec!["hello".to_string()]
    );
    ev.push(started("o2"));
    ev.push(Event::AgentFinished {
        run_id: "o2".into(),
        role: Role::Orchestrator,
        ok: true,
        error: None,
    });
    assert!(fold(ev).unread_messages().is_empty());
}

#[test]
fn ops_on_the_wire_keep_their_older_form() {
    use crate::mission::op::{Op, Request};
    let old: Request = serde_json::from_str(r#"{"op":"approve"}"#).unwrap();
    assert_eq!(
        old,
        Request {
            id: None,
            op: Op::Approve { gate: None }
        }
    );
    let new: Request =
        serde_json::from_str(r#"{"id":7,"op":"reject","note":"n","gate":3}"#).unwrap();
    assert_eq!(
        new,
        Request {
            id: Some(7),
            op: Op::Reject {
                note: "n".into(),
                gate: Some(3)
            }
        }
    );
    assert_eq!(
        serde_json::to_string(&Request {
            id: Some(1),
            op: Op::Pause
        })
        .unwrap(),
        r#"{"id":1,"op":"pause"}"#
    );
}
