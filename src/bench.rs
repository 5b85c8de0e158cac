//! `mission bench`: the hot paths measured on this machine, this build and the filesystem
//! the mission log lives on — appending to the log, loading and folding a long mission,
//! drawing the console, starting a command with and without the sandbox. The same
//! synthetic mission feeds `cargo bench` (benches/core.rs).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::agent::tools::command::run_shell;
use crate::mission::{Event, Limits, MissionState};
use crate::sandbox::{self, Launcher};
use crate::store::{self, EventLog};
use crate::tui::app::{App, Hosting};
use crate::tui::theme::Theme;

pub use crate::mission::synthetic::{records, synthetic_log, synthetic_mission};

/// The median time of `f`, run until `budget` is spent (at least 3 times).
fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut times = vec![];
    while times.len() < 3 || (start.elapsed() < budget && times.len() < 10_000) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// Measures and prints; `scratch` is where the throwaway log goes (its filesystem is the
/// one whose fsync is measured). `quick` spends less time per measurement.
/// Writes a synthetic mission of about `events` events to `dir/events.jsonl`, with a
/// checkpoint where a runner would have left its last one (up to `checkpoint::EVERY`
/// events before the end). Returns the log's path and its event count.
pub fn long_mission(dir: &Path, events: usize) -> Result<(std::path::PathBuf, usize)> {
    use std::io::Write;
    let features = 200;
    let turns = (events / features).saturating_sub(7).div_ceil(2).max(1);
    let recs = records(synthetic_mission(features, turns));
    let path = dir.join("events.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let at = recs.len() as u64 / crate::checkpoint::EVERY * crate::checkpoint::EVERY;
    let mut state = MissionState::default();
    let mut len = 0u64;
    let mut mark = None;
    for r in &recs {
        let line = serde_json::to_string(r)? + "\n";
        out.write_all(line.as_bytes())?;
        len += line.len() as u64;
        if r.seq <= at {
            state.apply(r);
        }
        if r.seq == at {
            mark = Some((r.seq, len));
        }
    }
    out.flush()?;
    drop(out);
    if let Some((seq, log_len)) = mark {
        let prefix_hash = crate::checkpoint::prefix_hash(&path, log_len)
            .ok_or_else(|| anyhow::anyhow!("the log was cut while it was measured"))?;
        let m = crate::checkpoint::Mark {
            seq,
            log_len,
            lines: seq,
            prefix_hash,
        };
        crate::checkpoint::write(&dir.join("checkpoint"), m, &state)?;
    }
    Ok((path, recs.len()))
}

/// Reading a long mission back, as `status` and a console that attaches do.
fn long_missions(dir: &Path, sizes: &[usize], budget: Duration, theme: &Theme) -> Result<()> {
    for &n in sizes {
        let sub = dir.join(format!("long-{n}"));
        std::fs::create_dir_all(&sub)?;
        let (events, count) = long_mission(&sub, n)?;
        let cp = sub.join("checkpoint");
        let size = std::fs::metadata(&events)?.len() as f64 / (1 << 20) as f64;
        let status = median(budget, || {
            let _ = crate::checkpoint::load(&events, &cp);
        });
        let attach = median(budget, || {
            let _ = first_frame(&events, &cp, theme);
        });
        let hidden = sub.join("checkpoint.off");
        std::fs::rename(&cp, &hidden)?;
        let replay = median(budget, || {
            let _ = crate::checkpoint::load(&events, &cp);
        });
        std::fs::rename(&hidden, &cp)?;
        println!(
            "{:<34}{:>9}  (full replay {}, ×{:.0})",
            format!("long       status, {:.0}k events", count as f64 / 1000.0),
            show(status),
            show(replay),
            replay.as_secs_f64() / status.as_secs_f64()
        );
        println!(
            "{:<34}{:>9}  ({size:.0} MiB log)",
            "           attach, first frame",
            show(attach)
        );
    }
    Ok(())
}

/// What an attaching console does before its first frame: the state from the checkpoint
/// and the tail, its recent events read back, one 80×24 frame drawn.
fn first_frame(events: &Path, cp: &Path, theme: &Theme) -> Result<()> {
    let folded = crate::checkpoint::load(events, cp)?;
    let from = store::lines_before(events, folded.valid_len, 2000)?;
    let mut recent = vec![];
    store::scan(events, from, 0, None, |r| recent.push(r))?;
    let mut app = App::new(Hosting::Attached, Limits::default());
    app.restore(folded.state, &recent);
    let mut t = Terminal::new(TestBackend::new(80, 24))?;
    t.draw(|f| crate::tui::views::draw(f, &app, theme))?;
    Ok(())
}

pub async fn run(scratch: &Path, quick: bool, long_sizes: &[usize]) -> Result<()> {
    let budget = Duration::from_millis(if quick { 150 } else { 1000 });
    let build = if cfg!(debug_assertions) {
        "debug build: expect several times slower than release"
    } else {
        "release build"
    };
    println!("mission bench — {build}; medians");
    let dir = tempfile::tempdir_in(scratch)?;

    let p = dir.path().join("events.jsonl");
    let mut log = EventLog::open(&p, &store::load(&p)?)?;
    let append = median(budget, || {
        let _ = log.append(Event::MessageSaid {
            text: "steer".into(),
        });
    });
    println!(
        "{:<34}{:>9}  ({:.1}k events/s, on {})",
        "event log  append + fsync",
        show(append),
        1.0 / append.as_secs_f64() / 1000.0,
        scratch.display()
    );

    let big = records(synthetic_log(1000));
    let text: String = big
        .iter()
        .map(|r| serde_json::to_string(r).map(|l| l + "\n"))
        .collect::<Result<_, _>>()?;
    let long = dir.path().join("long.jsonl");
    std::fs::write(&long, text)?;
    let load = median(budget, || {
        let _ = store::load(&long);
    });
    let fold = median(budget, || {
        let _ = MissionState::from_events(&big);
    });
    let console = median(budget, || {
        let mut app = App::new(Hosting::Attached, Limits::default());
        for r in &big {
            app.on_event(r);
        }
    });
    println!(
        "{:<34}{:>9}",
        format!("           load {:.1}k events", big.len() as f64 / 1000.0),
        show(load)
    );
    println!("{:<34}{:>9}", "           fold them", show(fold));
    println!(
        "{:<34}{:>9}  (attaching to this mission: {} in all)",
        "console    fold them + activity",
        show(console),
        show(load + console)
    );

    let theme = Theme::load("dark", true).map_err(|e| anyhow::anyhow!(e))?;
    for (name, features) in [("demo-sized", 7), ("1000 features", 1000)] {
        let mut app = App::new(Hosting::Attached, Limits::default());
        for r in &records(synthetic_log(features)) {
            app.on_event(r);
        }
        let mut cells = vec![];
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let mut t = Terminal::new(TestBackend::new(w, h))?;
            let frame = median(budget, || {
                let _ = t.draw(|f| crate::tui::views::draw(f, &app, &theme));
            });
            cells.push(format!("{w}×{h} {}", show(frame)));
        }
        println!(
            "{:<34}{}",
            format!("           frame, {name}"),
            cells.join(", ")
        );
    }

    long_missions(dir.path(), long_sizes, budget, &theme)?;

    let start_true = |launcher: &Launcher| {
        median(budget, || {
            let _ = futures_block(run_shell(
                "true",
                dir.path(),
                Duration::from_secs(10),
                launcher,
                4096,
            ));
        })
    };
    let t_plain = start_true(&Launcher::default());
    print!("{:<34}{:>9}", "commands   sh -c true", show(t_plain));
    let tmp = dir.path().join("tmp");
    let _ = std::fs::create_dir_all(&tmp);
    match sandbox::confinement(dir.path(), &tmp, &[], &[]) {
        Ok(c) => {
            let confined = Launcher {
                confine: Some(c),
                ..Launcher::default()
            };
            let t_conf = start_true(&confined);
            println!(
                ", {} confined by Landlock (×{:.2})",
                show(t_conf),
                t_conf.as_secs_f64() / t_plain.as_secs_f64()
            );
        }
        Err(e) => println!(" (sandbox not measured: {e})"),
    }
    Ok(())
}

/// Runs a future to completion from synchronous measuring code inside the runtime.
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}
