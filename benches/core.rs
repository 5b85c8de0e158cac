//! Hot paths: appending an event (with fsync), loading and folding a long log, folding
//! events into the console, drawing a frame, starting a command with and without the
//! sandbox; reading a 100k-event mission back with and without its checkpoint.
//! `cargo bench`; numbers in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mission::agent::tools::command::run_shell;
use mission::bench::{records, synthetic_log};
use mission::mission::{Event, Limits, MissionState};
use mission::sandbox::{Confinement, Launcher};
use mission::store::{self, EventLog};
use mission::tui::app::{App, Hosting};
use mission::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn bench(c: &mut Criterion) {
    let big = records(synthetic_log(1000)); // ~15k events: a long mission
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
        for r in &records(synthetic_log(features)) {
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

    // What the sandbox costs each command: the Landlock ruleset is built in the runner
    // and entered between fork and exec (no extra exec); `sandbox-exec` is the path of
    // PTY launches, whose spawner has no pre_exec.
    let mut g = c.benchmark_group("command");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plain = Launcher::default();
    let confined = Launcher {
        confine: Some(Confinement::new(
            env!("CARGO_BIN_EXE_mission").into(),
            vec![dir.path().to_path_buf()],
        )),
        ..Launcher::default()
    };
    let offline = Launcher {
        network: false,
        ..confined.clone()
    };
    // The default: Landlock inside the mission's namespaces (joined with setns, then one
    // more fork into the pid namespace).
    let (confine, isolation, problem) = mission::sandbox::isolate(
        Some(confined.confine.clone().expect("confined")),
        mission::sandbox::IsolationRequest {
            network: false,
            limits: mission::sandbox::limits::Limits::default_for_host(),
            read: vec![],
            hide: vec![],
        },
    );
    assert!(problem.is_none(), "{problem:?}");
    let namespaced = Launcher {
        confine,
        isolation,
        network: false,
        ..Launcher::default()
    };
    for (name, launcher) in [
        ("sh_true_plain", &plain),
        ("sh_true_confined", &confined),
        ("sh_true_confined_loopback_only", &offline),
        ("sh_true_in_namespaces", &namespaced),
    ] {
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
    g.bench_function("sh_true_via_sandbox_exec", |b| {
        let (program, args) = confined.argv("true").expect("confined");
        b.iter(|| {
            let st = std::process::Command::new(&program)
                .args(&args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    g.finish();
}

/// A 100k-event mission read back as `status` does: from the checkpoint and the tail, and
/// by a full replay (the checkpoint gone).
fn long_mission(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (events, count) = mission::bench::long_mission(dir.path(), 100_000).unwrap();
    let cp = dir.path().join("checkpoint");
    let none = dir.path().join("no-checkpoint");
    let mut g = c.benchmark_group("long");
    g.sample_size(10);
    g.throughput(Throughput::Elements(count as u64));
    g.bench_function("status_100k_events_checkpoint", |b| {
        b.iter(|| mission::checkpoint::load(black_box(&events), &cp).unwrap())
    });
    g.bench_function("replay_100k_events", |b| {
        b.iter(|| mission::checkpoint::load(black_box(&events), &none).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench, long_mission);
criterion_main!(benches);
