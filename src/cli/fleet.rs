//! `mission fleet`: every mission this person runs, here and on their SSH hosts, who
//! needs them first.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use crate::config::Config;
use crate::fleet::{self, Fleet, HostStatus};
use crate::mission::Op;

pub(super) async fn fleet(json: bool, local_only: bool, theme: &str) -> Result<i32> {
    let console = !json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if console {
        return fleet_console(theme).await;
    }
    let all = collect(local_only).await?;
    print(&all, json)
}

/// This machine's missions (read on a blocking thread) and, unless `local_only`, those
/// of `[fleet] hosts`, asked at once; who needs the human first.
async fn collect(local_only: bool) -> Result<Fleet> {
    let mut missions = tokio::task::spawn_blocking(fleet::local).await?;
    let mut hosts = vec![HostStatus {
        host: "local".into(),
        reachable: true,
        error: None,
    }];
    if !local_only {
        // The user's own config: which hosts are theirs is not about one repository. A
        // config that does not load hides no local mission: it is listed as the problem.
        let config = match Config::load_user() {
            Ok(c) => c,
            Err(e) => {
                hosts.push(HostStatus {
                    host: "config".into(),
                    reachable: false,
                    error: Some(format!("the hosts are unknown: {e}")),
                });
                fleet::sort(&mut missions);
                return Ok(Fleet { missions, hosts });
            }
        };
        let timeout = Duration::from_secs(config.fleet.timeout_secs.max(1));
        let asked = futures_util::future::join_all(
            config
                .fleet
                .hosts
                .iter()
                .map(|h| async move { (h.clone(), fleet::hosts::ask(h, timeout).await) }),
        )
        .await;
        for (host, answer) in asked {
            match answer {
                Ok(found) => {
                    missions.extend(found);
                    hosts.push(HostStatus {
                        host,
                        reachable: true,
                        error: None,
                    });
                }
                Err(e) => hosts.push(HostStatus {
                    host,
                    reachable: false,
                    error: Some(e),
                }),
            }
        }
    }
    fleet::sort(&mut missions);
    Ok(Fleet { missions, hosts })
}

fn print(all: &Fleet, json: bool) -> Result<i32> {
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    if all.missions.is_empty() {
        println!("no missions yet: `mission start \"<goal>\"` in a repository lists one here");
    }
    for m in &all.missions {
        let mark = if m.needs_you { "!" } else { " " };
        let budget = m
            .budget_usd
            .map(|b| format!("/${b:.2}"))
            .unwrap_or_default();
        println!(
            "{mark} {:<18} {:<10} {}/{} milestones  ${:.2}{budget}  {}  ({}:{})",
            m.state.replace('_', " "),
            m.host,
            m.milestones.0,
            m.milestones.1,
            m.cost_usd,
            m.goal,
            m.host,
            m.repo
        );
        if !m.reason.is_empty() {
            println!("  {:<18} {}", "", m.reason);
        }
    }
    for h in all.hosts.iter().filter(|h| !h.reachable) {
        println!(
            "unreachable: {} — {}",
            h.host,
            h.error.as_deref().unwrap_or("no answer")
        );
    }
    Ok(0)
}

/// The fleet console: the list, refreshed in the background every few seconds; Enter
/// opens a mission's own console (over SSH for another host) and comes back to the list.
async fn fleet_console(theme_name: &str) -> Result<i32> {
    use futures_util::StreamExt;
    use ratatui::crossterm::event::{Event as TermEvent, KeyEventKind};

    use crate::tui::fleet::{FleetCommand, FleetView, render};

    let config = Config::load_user().unwrap_or_default();
    let keys = crate::keys::Keymap::with_overrides(&config.keys).map_err(|e| anyhow::anyhow!(e))?;
    let theme = super::console_theme(false, theme_name)?
        .ok_or_else(|| anyhow::anyhow!("the fleet console needs a terminal; use --json"))?;
    let mut view = FleetView::new(keys);
    let in_tmux = std::env::var_os("TMUX").is_some();
    let (tx, mut fresh) = tokio::sync::mpsc::channel::<Result<Fleet, String>>(1);
    let refresher = tokio::spawn(async move {
        loop {
            let got = collect(false).await.map_err(|e| e.to_string());
            if tx.send(got).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    });
    // Answers to ops arrive here: an op over SSH may take seconds, the list must not.
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel::<(String, bool)>();
    let mut killed = std::pin::pin!(crate::link::termination());
    let code = 'console: loop {
        let mut terminal = ratatui::init();
        let mut input = ratatui::crossterm::event::EventStream::new();
        let mut dirty = true;
        let next = loop {
            if dirty {
                terminal.draw(|f| {
                    if let Some(p) = render(&view, &theme, f.area(), f.buffer_mut()) {
                        f.set_cursor_position(p);
                    }
                })?;
                dirty = false;
            }
            let commands = tokio::select! {
                _ = &mut killed => break None,
                Some(answer) = answers.recv() => {
                    view.status = Some(answer);
                    dirty = true;
                    vec![]
                }
                got = fresh.recv() => {
                    dirty = true;
                    match got {
                        Some(Ok(f)) => {
                            if let (Some(why), true) = (view.refresh(f), config.notify.bell) {
                                use std::io::Write;
                                let mut out = std::io::stdout();
                                let _ = out.write_all(&crate::tui::alert::terminal_alert(&why, in_tmux));
                                let _ = out.flush();
                            }
                        }
                        Some(Err(e)) => view.status = Some((e, false)),
                        None => {}
                    }
                    vec![]
                }
                ev = input.next() => match ev {
                    Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                        dirty = true;
                        view.on_key(k)
                    }
                    Some(Ok(TermEvent::Resize(..))) => {
                        dirty = true;
                        vec![]
                    }
                    Some(Ok(_)) => vec![],
                    Some(Err(_)) | None => break None,
                },
            };
            let mut attach = None;
            for c in commands {
                match c {
                    FleetCommand::Quit => break 'console 0,
                    FleetCommand::Attach(m) => attach = Some(m),
                    FleetCommand::Send(m, op) => {
                        view.status = Some((format!("sending to {}…", m.goal), true));
                        let answered = answered.clone();
                        tokio::spawn(async move {
                            let _ = answered.send(send(&m, &op).await);
                        });
                    }
                }
            }
            if attach.is_some() {
                break attach;
            }
        };
        drop(input);
        ratatui::restore();
        let Some(m) = next else {
            break 0;
        };
        // The mission's own console, then back to the list.
        let left = if m.host == "local" {
            super::attach(std::path::Path::new(&m.repo), theme_name)
                .await
                .map(drop)
        } else {
            let argv = fleet::hosts::attach_command(&m.host, &m.repo);
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(&argv[0])
                    .args(&argv[1..])
                    .status()
            })
            .await?
            .map(drop)
            .map_err(anyhow::Error::from)
        };
        if let Err(e) = left {
            view.status = Some((format!("could not attach: {e}"), false));
        }
    };
    ratatui::restore();
    refresher.abort();
    Ok(code)
}

/// Sends `op` to the mission: over its control socket here, through `ssh HOST mission …`
/// on another host. The answer is a status line.
async fn send(m: &fleet::FleetMission, op: &Op) -> (String, bool) {
    if m.host == "local" {
        let layout = crate::layout::Layout::new(std::path::Path::new(&m.repo));
        return match crate::control::send(&layout, op).await {
            Ok(r) => (r.message, r.ok),
            Err(e) => (e.to_string(), false),
        };
    }
    let mut args: Vec<String> = match op {
        Op::Approve { gate } => {
            let mut v = vec!["approve".to_string()];
            if let Some(g) = gate {
                v.extend(["--gate".into(), g.to_string()]);
            }
            v
        }
        Op::Pause => vec!["pause".into()],
        Op::Unpause => vec!["unpause".into()],
        Op::Say { text } => vec!["say".into(), fleet::hosts::shell_quote(text)],
        _ => return ("not from the fleet".into(), false),
    };
    args.extend(["--dir".into(), fleet::hosts::shell_quote(&m.repo)]);
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.args(fleet::hosts::ssh_options())
        .arg(&m.host)
        .arg("mission")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(15), cmd.output()).await {
        Ok(Ok(o)) => {
            let said = String::from_utf8_lossy(if o.status.success() {
                &o.stdout
            } else {
                &o.stderr
            })
            .trim()
            .to_string();
            (format!("{}: {said}", m.host), o.status.success())
        }
        Ok(Err(e)) => (format!("ssh could not start: {e}"), false),
        Err(_) => (format!("{} did not answer", m.host), false),
    }
}
