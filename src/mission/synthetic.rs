//! Synthetic missions shaped like real ones, for `mission bench`, `cargo bench` and the
//! tests of every layer that reads a long log (domain types only).

use super::event::Gate;
use super::{
    Assertion, AssertionKind, DiffStat, Event, EventRecord, FeaturePlan, HandoffStatus,
    MilestonePlan, Plan, Role, Usage, WorkerReport,
};

/// A mission log shaped like a real one: `features` features of ~12 events each.
pub fn synthetic_log(features: usize) -> Vec<Event> {
    synthetic_mission(features, 3)
}

/// `features` features of `turns` worker turns each (7 + 2 × `turns` events a feature):
/// long missions are long because agents take many turns, not because plans are huge.
pub fn synthetic_mission(features: usize, turns: usize) -> Vec<Event> {
    let per_m = 10;
    let milestones = features.div_ceil(per_m);
    let plan = Plan {
        milestones: (0..milestones)
            .map(|m| MilestonePlan {
                id: format!("m{m}"),
                title: format!("milestone {m}"),
                features: (0..per_m.min(features - m * per_m))
                    .map(|f| FeaturePlan {
                        id: format!("m{m}-f{f}"),
                        title: format!("feature {f}"),
                        description: "do the thing well".into(),
                        expected_behavior: None,
                        fulfills: vec![format!("a{m}")],
                    })
                    .collect(),
            })
            .collect(),
        assertions: (0..milestones)
            .map(|m| Assertion {
                id: format!("a{m}"),
                text: "works".into(),
                kind: AssertionKind::Command,
                command: Some("true".into()),
            })
            .collect(),
    };
    let mut ev = vec![
        Event::MissionStarted {
            goal: "g".into(),
            slug: "g".into(),
            branch: "mission/g".into(),
            base_commit: "0".repeat(40),
            worktree: None,
        },
        Event::PlanSubmitted { plan: plan.clone() },
        Event::GateApproved {
            gate: Gate::Plan,
            auto: true,
        },
        Event::ContractFrozen {
            assertions: milestones,
        },
    ];
    for m in &plan.milestones {
        for f in &m.features {
            let run = format!("worker-{}", f.id);
            ev.push(Event::FeatureStarted {
                feature_id: f.id.clone(),
                attempt: 1,
                base_commit: "0".repeat(40),
            });
            ev.push(Event::AgentStarted {
                run_id: run.clone(),
                role: Role::Worker,
                model: "scripted/w".into(),
                task: f.title.clone(),
                feature_id: Some(f.id.clone()),
                external: false,
            });
            for i in 0..turns {
                ev.push(Event::AgentTurn {
                    run_id: run.clone(),
                    role: Role::Worker,
                    usage: Usage {
                        tokens_in: 3000,
                        tokens_out: 200,
                        cost_usd: 0.01,
                        ..Default::default()
                    },
                    tools: vec!["read_file".into()],
                    text: Some("Reading the module before changing it.".into()),
                });
                ev.push(Event::ToolUsed {
                    run_id: run.clone(),
                    tool: "read_file".into(),
                    summary: format!("read_file src/{i}.rs"),
                    ok: true,
                });
            }
            ev.push(Event::CommandRan {
                run_id: run.clone(),
                command: "cargo test -q".into(),
                exit_code: Some(0),
                duration_ms: 900,
                timed_out: false,
                restored: vec![],
            });
            ev.push(Event::HandoffSubmitted {
                feature_id: f.id.clone(),
                attempt: 1,
                report: WorkerReport {
                    status: HandoffStatus::Done,
                    summary: "did it".into(),
                    issues: vec![],
                    deviations: vec![],
                },
            });
            ev.push(Event::FeatureCommitted {
                feature_id: f.id.clone(),
                attempt: 1,
                commit: "1".repeat(40),
                diff_stat: DiffStat {
                    files_changed: 2,
                    insertions: 40,
                    deletions: 3,
                },
                files_changed: vec!["src/a.rs".into(), "src/b.rs".into()],
            });
            ev.push(Event::AgentFinished {
                run_id: run,
                role: Role::Worker,
                ok: true,
                error: None,
            });
        }
        ev.push(Event::ValidationStarted {
            milestone: m.id.clone(),
            round: 0,
        });
        ev.push(Event::ValidationFinished {
            milestone: m.id.clone(),
            round: 0,
            passed: true,
            failures: vec![],
            checked: vec![],
        });
        ev.push(Event::MilestonePassed {
            milestone: m.id.clone(),
            overridden: false,
        });
    }
    ev
}

/// Numbered and timestamped, as the log stores them.
pub fn records(events: Vec<Event>) -> Vec<EventRecord> {
    let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default();
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| EventRecord {
            seq: i as u64 + 1,
            ts: t0 + jiff::SignedDuration::from_secs(i as i64),
            event,
        })
        .collect()
}
