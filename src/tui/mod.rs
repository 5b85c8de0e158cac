//! The console: ratatui + crossterm. It folds the same events as everyone else and talks
//! to the runner only through `Op`s — in this process (a hub) or in another one (the
//! control socket, with the event log tailed).

pub mod alert;
pub mod app;
pub mod fleet;
mod overlays;
mod search;
pub mod text;
pub mod theme;
pub mod transcript;
pub mod views;
pub mod wrap;

use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event as TermEvent, KeyEventKind};

use crate::link::{Inbound, MissionLink};
use crate::mission::Outcome;
use app::{App, Command};
use theme::Theme;

/// Events a console reads back on start for its activity feed and views; older ones are
/// in the state (and their handoffs on disk).
pub const RECENT_EVENTS: usize = 2000;

/// How long a status line stays.
const STATUS_FOR: Duration = Duration::from_secs(10);

/// Runs the console from `start` (see `MissionLink::start`) until the human quits. Returns how the in-process runner ended, if
/// it did.
pub async fn run(
    mut app: App,
    theme: Theme,
    mut link: MissionLink,
    start: crate::link::Start,
) -> anyhow::Result<Option<Outcome>> {
    let cmds = app.restore(start.state, &start.recent);
    app.last_estimate = link.last_estimate_outcome();
    perform_loads(&mut app, &link, &cmds);
    if let Some(alive) = link.runner_alive() {
        app.runner_stopped = !alive;
    }

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
            link.close().await;
            return Err(e.into());
        }
    };
    // After a dropped SSH session the old shell's text must not show through blank cells.
    let _ = terminal.clear();
    let mouse = app.mouse;
    if mouse {
        mouse_capture(true);
    }
    // Pasted text arrives whole (not as keys that would approve, pause or quit).
    use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    let mut input = ratatui::crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let mut outcome = None;
    let mut link_open = true;
    // `kill` or a closed SSH session: leave the terminal as it was and stop cleanly.
    let mut killed = std::pin::pin!(crate::link::termination());
    // Rung once each time the mission comes to need a human (on attach too) or ends; a
    // mission that had ended before the console came rings for nothing.
    let mut alerted: Option<String> = (!app.mission_running())
        .then(|| app.alert_reason())
        .flatten();
    // Seen dead on one tick, confirmed on the next: by then the log's last events (a
    // clean end) have been read, so a finished mission is not taken for a dead runner.
    let mut seen_dead = false;
    let in_tmux = std::env::var_os("TMUX").is_some();
    // A status line says what just happened; after a while it is old news.
    let mut status_since: Option<((String, bool), std::time::Instant)> = None;
    let result = loop {
        let needs = app.alert_reason();
        if needs != alerted {
            if let (true, Some(why)) = (app.bell, &needs) {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(&alert::terminal_alert(why, in_tmux));
                let _ = out.flush();
            }
            alerted = needs;
        }
        if dirty {
            // Synchronized output (DECSET 2026): terminals that know it show the frame
            // whole; the rest ignore the two sequences.
            use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
            let _ = ratatui::crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate);
            if let Err(e) = terminal.draw(|f| views::draw(f, &app, &theme)) {
                break Err(e.into());
            }
            let _ = ratatui::crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate);
            dirty = false;
        }
        let mut commands = vec![];
        tokio::select! {
            _ = &mut killed => break Ok(()),
            // One event a frame. (Draining what else is ready with `now_or_never` loses
            // crossterm's wake-up: keys then waited for the next tick, up to a second.)
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => {
                    commands = app.on_key(key);
                    dirty = true;
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    app.on_paste(&text);
                    dirty = true;
                }
                Some(Ok(TermEvent::Mouse(m))) => {
                    commands = app.on_mouse(m);
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(..))) => {
                    let _ = terminal.clear();
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            msg = link.next(), if link_open => {
                let mut next = msg;
                if next.is_none() {
                    link_open = false;
                }
                // Drain everything queued, then draw once.
                while let Some(m) = next {
                    match m {
                        Inbound::Event(rec) => commands.extend(app.on_event(&rec)),
                        Inbound::Reply(r) => app.op_reply(r.ok, r.message),
                        Inbound::RunnerEnded(Ok(o)) => outcome = Some(o),
                        Inbound::RunnerEnded(Err(e)) => app.runner_error = Some(e),
                        Inbound::Feature { feature, records } => {
                            if let Some(d) = records.diff {
                                app.diffs.insert(feature.clone(), d);
                            }
                            if let Some(h) = records.handoff {
                                // A feature older than the events the console read: its
                                // handoff names the run.
                                app.feature_runs
                                    .entry(feature.clone())
                                    .or_insert_with(|| h.run_id.clone());
                                app.handoffs.insert(feature.clone(), h);
                            }
                            request_tail(&mut app, &link, &feature);
                        }
                        Inbound::Transcript { feature, run, from, text, end } => {
                            // An answer to an older request (read on since, or of an
                            // earlier run): ask again from where it stands now.
                            let current = app.feature_runs.get(&feature) == Some(&run);
                            if current && app.transcript_offset(&feature, &run) == from {
                                app.add_transcript(&feature, &run, transcript::lines(&text), end);
                            } else {
                                request_tail(&mut app, &link, &feature);
                            }
                        }
                    }
                    next = link.try_next();
                }
                dirty = true;
            }
            _ = tick.tick() => {
                // Only the clock moves while idle: redraw when its text changes.
                let shown = views::clock(&app);
                app.now = jiff::Timestamp::now();
                dirty |= views::clock(&app) != shown;
                match (&app.status, &status_since) {
                    (Some(s), Some((seen, at))) if s == seen => {
                        if at.elapsed() >= STATUS_FOR {
                            app.status = None;
                            status_since = None;
                            dirty = true;
                        }
                    }
                    (Some(s), _) => status_since = Some((s.clone(), std::time::Instant::now())),
                    (None, _) => status_since = None,
                }
                if let Some(alive) = link.runner_alive() {
                    if alive || !app.mission_running() {
                        seen_dead = false;
                        app.runner_stopped = !alive;
                    } else if !app.runner_stopped {
                        if seen_dead {
                            app.runner_stopped = true;
                            dirty = true;
                            link.runner_stopped(&app.state, app::RUNNER_STOPPED);
                        }
                        seen_dead = true;
                    }
                }
            }
        }
        let mut quit = false;
        perform_loads(&mut app, &link, &commands);
        for c in commands {
            match c {
                Command::Quit => quit = true,
                Command::Send(op) => link.send(op),
                Command::Load { .. } | Command::Tail { .. } => {}
            }
        }
        if quit {
            break Ok(());
        }
    };
    if mouse {
        mouse_capture(false);
    }
    let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    link.close().await;
    result.map(|()| outcome)
}

/// Takes the mouse (and gives it back, also when the console panics: a terminal left
/// reporting the mouse prints escape codes on every move).
fn mouse_capture(on: bool) {
    use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    if on {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableMouseCapture);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
            previous(info);
        }));
    } else {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
}

/// Asks the link for what the detail pane shows of a feature — handoff, diff, the
/// transcript as it grows. The answers come back as messages: the console never waits
/// on git or the disk, and never reads while drawing.
fn perform_loads(app: &mut App, link: &MissionLink, cmds: &[Command]) {
    let mut tailed: Vec<&str> = vec![];
    for c in cmds {
        match c {
            Command::Load { feature } => {
                link.load_feature(feature, !app.diffs.contains_key(feature));
            }
            Command::Tail { feature } if !tailed.contains(&feature.as_str()) => {
                tailed.push(feature);
                request_tail(app, link, feature);
            }
            _ => {}
        }
    }
}

/// Asks for what `feature`'s latest run added to its transcript since the last read.
fn request_tail(app: &mut App, link: &MissionLink, feature: &str) {
    let Some(run) = app.feature_runs.get(feature).cloned() else {
        return;
    };
    let from = app.transcript_offset(feature, &run);
    link.load_transcript(feature, &run, from);
}
