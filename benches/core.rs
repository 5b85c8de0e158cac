//! Hot paths: appending an event (with fsync), loading and folding a long log, folding
//! events into the console, drawing a frame, starting a command with and without the
//! sandbox. `cargo bench`; numbers in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mission::mission::event::Gate;
use mission::mission::{
    Assertion, AssertionKind, DiffStat, Event, EventRecord, FeaturePlan, HandoffStatus, Limits,
    MilestonePlan, MissionState, Plan, Role, Usage, WorkerReport,
};
use mission::agent::tools::command::run_shell;
use mission::agent::tools::sandbox::{Confinement, Launcher};
use mission::store::{self, EventLog};
use mission::tui::app::{App, Hosting};
use mission::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A mission log shaped like a real one: `features` features of ~12 events each.
fn log(features: usize) -> Vec<Event> {
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
            });
            for i in 0..3 {
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

fn records(events: Vec<Event>) -> Vec<EventRecord> {
    let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
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

fn bench(c: &mut Criterion) {
    let big = records(log(1000)); // ~15k events: a long mission
    let mut g = c.benchmark_group("log");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_one_event_fsync", |b| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &store::load(&p).unwrap()).unwrap();
        b.iter(|| {
            log.append(black_box(Event::MessageSaid {
                text: "steer".into(),
            }))
            .unwrap()
        });
    });
    g.throughput(Throughput::Elements(big.len() as u64));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("events.jsonl");
    let text: String = big
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    std::fs::write(&p, text).unwrap();
    g.bench_function("load_15k_events", |b| {
        b.iter(|| store::load(black_box(&p)).unwrap())
    });
    g.bench_function("fold_15k_events", |b| {
        b.iter(|| MissionState::from_events(black_box(&big)))
    });
    g.bench_function("console_fold_15k_events", |b| {
        b.iter_batched(
            || App::new(Hosting::Attached, Limits::default()),
            |mut app| {
                for r in &big {
                    app.on_event(r);
                }
                app
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("render");
    let theme = Theme::load("dark", true).unwrap();
    for (name, features) in [("demo_size", 7), ("1000_features", 1000)] {
        let mut app = App::new(Hosting::Attached, Limits::default());
        for r in &records(log(features)) {
            app.on_event(r);
        }
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            g.bench_function(format!("frame_{name}_{w}x{h}"), |b| {
                b.iter(|| {
                    t.draw(|f| mission::tui::views::draw(f, black_box(&app), &theme))
                        .unwrap();
                })
            });
        }
    }
    g.finish();

    // What the Landlock sandbox costs each command: one extra exec of this binary.
    let mut g = c.benchmark_group("command");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plain = Launcher::default();
    let confined = Launcher {
        secret_env: vec![],
        confine: Some(Confinement {
            exe: env!("CARGO_BIN_EXE_mission").into(),
            writable: vec![dir.path().to_path_buf()],
        }),
    };
    for (name, launcher) in [("sh_true_plain", &plain), ("sh_true_confined", &confined)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = rt.block_on(run_shell(
                    "true",
                    dir.path(),
                    Duration::from_secs(10),
                    launcher,
                    4096,
                ));
                assert_eq!(out.exit_code, Some(0), "{}", out.output);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
