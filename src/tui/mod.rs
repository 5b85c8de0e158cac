//! The console: ratatui + crossterm. It folds the same events as everyone else and talks
//! to the runner only through `Op`s — in this process (a hub) or in another one (the
//! control socket, with the event log tailed).

pub mod app;
pub mod keymap;
mod overlays;
pub mod theme;
pub mod transcript;
pub mod views;

use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event as TermEvent, KeyEventKind};
use tokio::sync::mpsc;

use crate::git::Git;
use crate::hub::Hub;
use crate::layout::Layout;
use crate::mission::{EventRecord, Handoff, Op, OpReply};
use crate::pipeline::{Outcome, RunError};
use crate::store;
use app::{App, Command};
use theme::Theme;

/// Where events come from and where ops go.
pub enum Link {
    /// The runner is in this process.
    InProcess {
        hub: Hub,
        runner: tokio::task::JoinHandle<Result<Outcome, RunError>>,
    },
    /// Another process runs the mission: tail its log, talk over its socket.
    Attached,
}

enum Msg {
    Event(EventRecord),
    Reply(OpReply),
    RunnerDone(Result<Outcome, String>),
}

/// Runs the console until the human quits. Returns how the in-process runner ended, if
/// it did.
pub async fn run(
    mut app: App,
    theme: Theme,
    layout: Layout,
    link: Link,
) -> anyhow::Result<Option<Outcome>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (hub, runner) = match link {
        Link::InProcess { hub, runner } => (Some(hub), Some(runner)),
        Link::Attached => (None, None),
    };
    // Subscribe before reading the history, so nothing falls in between.
    let live = hub.as_ref().map(Hub::subscribe);
    let history = store::load(&layout.events())?;
    let mut last_seq = 0;
    for rec in &history.events {
        last_seq = rec.seq;
        let cmds = app.on_event(rec);
        perform_loads(&mut app, &layout, &cmds);
    }
    let mut tasks = vec![];
    match live {
        Some(mut live) => {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match live.recv().await {
                        Ok(rec) if rec.seq > last_seq => {
                            if tx.send(Msg::Event(rec)).is_err() {
                                break;
                            }
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    }
                }
            }));
        }
        None => tasks.push(tokio::spawn(tail(
            layout.events(),
            history.valid_len,
            tx.clone(),
        ))),
    }
    let mut runner = runner;

    // `init` sets up raw mode, the alternate screen and the restoring panic hook; the
    // terminal we draw on buffers a whole frame so it leaves in one write (no half-drawn
    // screens over a slow SSH link).
    drop(ratatui::init());
    let backend = ratatui::backend::CrosstermBackend::new(std::io::BufWriter::with_capacity(
        1 << 18,
        std::io::stdout(),
    ));
    let mut terminal = match ratatui::Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            tasks.iter().for_each(|t| t.abort());
            if let Some(r) = runner {
                r.abort();
            }
            return Err(e.into());
        }
    };
    let mut input = ratatui::crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let mut outcome = None;
    // `kill` or a closed SSH session: leave the terminal as it was and stop cleanly.
    let mut killed = std::pin::pin!(crate::control::termination());
    // Rung once each time the mission comes to need a human (on attach too).
    let mut alerted: Option<String> = None;
    let in_tmux = std::env::var_os("TMUX").is_some();
    let result = loop {
        let needs = app.needs_human();
        if needs != alerted {
            if let (true, Some(why)) = (app.bell, &needs) {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(&crate::notify::terminal_alert(why, in_tmux));
                let _ = out.flush();
            }
            alerted = needs;
        }
        if dirty {
            if let Err(e) = terminal.draw(|f| views::draw(f, &app, &theme)) {
                break Err(e.into());
            }
            dirty = false;
        }
        let mut commands = vec![];
        tokio::select! {
            _ = &mut killed => break Ok(()),
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => {
                    commands = app.on_key(key);
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            msg = rx.recv() => {
                let mut next = msg;
                // Drain everything queued, then draw once.
                while let Some(m) = next {
                    match m {
                        Msg::Event(rec) => commands.extend(app.on_event(&rec)),
                        Msg::Reply(r) => app.op_reply(r.ok, r.message),
                        Msg::RunnerDone(r) => match r {
                            Ok(o) => outcome = Some(o),
                            Err(e) => app.runner_error = Some(e),
                        },
                    }
                    next = rx.try_recv().ok();
                }
                dirty = true;
            }
            done = async { runner.as_mut().expect("guarded").await }, if runner.is_some() => {
                runner = None;
                let r = match done {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("the runner task ended: {e}")),
                };
                let _ = tx.send(Msg::RunnerDone(r));
            }
            _ = tick.tick() => {
                app.now = jiff::Timestamp::now();
                if runner.is_none() && hub.is_none() {
                    let stopped = store::live_runner(&layout.lock()).is_none();
                    if stopped != app.runner_stopped {
                        app.runner_stopped = stopped;
                    }
                }
                // Only the elapsed clock moves while idle; redraw it once a second.
                dirty = app.state.completed.is_none() && app.state.failed.is_none();
            }
        }
        let mut quit = false;
        for c in commands {
            match c {
                Command::Quit => quit = true,
                Command::Load { .. } => perform_loads(&mut app, &layout, std::slice::from_ref(&c)),
                Command::Send(op) => {
                    let tx = tx.clone();
                    let hub = hub.clone();
                    let layout = layout.clone();
                    tokio::spawn(async move {
                        let reply = send(hub.as_ref(), &layout, &op).await;
                        let _ = tx.send(Msg::Reply(reply));
                    });
                }
            }
        }
        if quit {
            break Ok(());
        }
    };
    ratatui::restore();
    for t in tasks {
        t.abort();
    }
    if let Some(r) = runner {
        r.abort();
        let _ = r.await;
    }
    result.map(|()| outcome)
}

async fn send(hub: Option<&Hub>, layout: &Layout, op: &Op) -> OpReply {
    match hub {
        Some(h) => crate::control::apply(h, op),
        None => crate::control::send(layout, op)
            .await
            .unwrap_or_else(|e| OpReply::refused(e.to_string())),
    }
}

/// Follows `events.jsonl` written by another process.
async fn tail(path: std::path::PathBuf, mut offset: u64, tx: mpsc::UnboundedSender<Msg>) {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut pending = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(mut f) = tokio::fs::File::open(&path).await else {
            continue;
        };
        let Ok(meta) = f.metadata().await else {
            continue;
        };
        if meta.len() < offset {
            offset = 0; // the log was replaced (a new mission): read it again
            pending.clear();
        }
        if meta.len() == offset {
            continue;
        }
        if f.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
            continue;
        }
        let mut buf = Vec::new();
        let Ok(n) = f.read_to_end(&mut buf).await else {
            continue;
        };
        offset += n as u64;
        pending.extend_from_slice(&buf);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            if let Ok(rec) = serde_json::from_slice::<EventRecord>(&line)
                && tx.send(Msg::Event(rec)).is_err()
            {
                return;
            }
        }
    }
}

/// Reads what the detail pane shows for a feature: handoff, diff, transcript. Local
/// files and git only, done between frames, never while drawing.
fn perform_loads(app: &mut App, layout: &Layout, cmds: &[Command]) {
    for c in cmds {
        let Command::Load { feature } = c else {
            continue;
        };
        if let Ok(text) = std::fs::read_to_string(layout.handoff(feature))
            && let Ok(h) = serde_json::from_str::<Handoff>(&text)
        {
            if !app.diffs.contains_key(feature)
                && let Ok(git) = Git::open(&layout.repo)
                && let Some(parent) = git.parent_of(&h.commit)
                && let Ok(d) = git.diff_text(&parent, &h.commit)
            {
                app.diffs.insert(feature.clone(), d);
            }
            app.handoffs.insert(feature.clone(), h);
        }
        if let Some(run) = app.feature_runs.get(feature)
            && let Ok(text) = std::fs::read_to_string(layout.transcript(run))
        {
            app.transcripts
                .insert(feature.clone(), transcript::lines(&text));
        }
    }
}
