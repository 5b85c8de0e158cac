//! The fleet console: every mission a person runs, those that need them first. State is
//! here, rendering reads it; keys turn into `FleetCommand`s for the host (`cli/fleet.rs`),
//! which finds the missions, attaches and sends ops.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, List, ListItem, ListState, Paragraph, StatefulWidget, Widget,
};

use super::app::{BoxKey, InputKind, TextBox};
use super::theme::Theme;
use crate::keys::{Action, Keymap};
use crate::mission::Op;
use crate::mission::fleet::{Fleet, FleetMission};

/// What the fleet console asks its host to do.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetCommand {
    /// Open the mission's own console; the list comes back when it is left.
    Attach(FleetMission),
    /// Send an op to the mission.
    Send(FleetMission, Op),
    Quit,
}

pub struct FleetView {
    pub fleet: Fleet,
    /// The selected mission, by host and repository (the list reorders as needs change).
    selected: Option<(String, String)>,
    pub keys: Keymap,
    pub status: Option<(String, bool)>,
    /// A message to the selected mission's orchestrator, being typed.
    pub message: Option<TextBox>,
    /// Missions that needed the human at the last refresh: a new one rings.
    needed: Vec<(String, String)>,
}

fn key_of(m: &FleetMission) -> (String, String) {
    (m.host.clone(), m.repo.clone())
}

impl FleetView {
    pub fn new(keys: Keymap) -> Self {
        FleetView {
            fleet: Fleet {
                missions: vec![],
                hosts: vec![],
            },
            selected: None,
            keys,
            status: None,
            message: None,
            needed: vec![],
        }
    }

    /// A fresh listing. Returns what newly needs the human (to ring for), if anything.
    pub fn refresh(&mut self, fleet: Fleet) -> Option<String> {
        self.fleet = fleet;
        if self.selected.is_none() || self.index().is_none() {
            self.selected = self.fleet.missions.first().map(key_of);
        }
        let needing: Vec<&FleetMission> =
            self.fleet.missions.iter().filter(|m| m.needs_you).collect();
        let new = needing
            .iter()
            .find(|m| !self.needed.contains(&key_of(m)))
            .map(|m| format!("{} ({}): {}", m.goal, m.host, m.reason));
        self.needed = needing.into_iter().map(key_of).collect();
        new
    }

    fn index(&self) -> Option<usize> {
        let sel = self.selected.as_ref()?;
        self.fleet.missions.iter().position(|m| &key_of(m) == sel)
    }

    pub fn selected(&self) -> Option<&FleetMission> {
        self.index().map(|i| &self.fleet.missions[i])
    }

    pub fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> Vec<FleetCommand> {
        if let Some(b) = &mut self.message {
            match b.on_key(key) {
                BoxKey::Typed => {}
                BoxKey::Empty => self.status = Some(("write something first".into(), false)),
                BoxKey::Cancelled => self.message = None,
                BoxKey::Submitted(text) => {
                    self.message = None;
                    if let Some(m) = self.selected().cloned() {
                        return vec![FleetCommand::Send(m, Op::Say { text })];
                    }
                }
            }
            return vec![];
        }
        let Some(action) = self.keys.action(key) else {
            return vec![];
        };
        let n = self.fleet.missions.len();
        let at = self.index().unwrap_or(0);
        let move_to = |i: usize| self.fleet.missions.get(i).map(key_of);
        match action {
            Action::Up => self.selected = move_to(at.saturating_sub(1)).or(self.selected.take()),
            Action::Down => {
                self.selected = move_to((at + 1).min(n.saturating_sub(1))).or(self.selected.take())
            }
            Action::Top => self.selected = move_to(0),
            Action::Bottom => self.selected = move_to(n.saturating_sub(1)),
            Action::Quit | Action::Back => return vec![FleetCommand::Quit],
            _ => {
                let Some(m) = self.selected().cloned() else {
                    self.status = Some(("no mission selected".into(), false));
                    return vec![];
                };
                match action {
                    Action::Open => return vec![FleetCommand::Attach(m)],
                    Action::Approve if m.gate_id.is_some() => {
                        let gate = m.gate_id;
                        return vec![FleetCommand::Send(m, Op::Approve { gate })];
                    }
                    Action::Approve => {
                        self.status = Some(("nothing of it waits for approval".into(), false))
                    }
                    Action::TogglePause => {
                        let op = if m.state == "paused" {
                            Op::Unpause
                        } else {
                            Op::Pause
                        };
                        return vec![FleetCommand::Send(m, op)];
                    }
                    Action::Message => self.message = Some(TextBox::new(InputKind::Message)),
                    _ => {}
                }
            }
        }
        vec![]
    }
}

/// Draws the fleet; returns where the text cursor goes (a message being typed).
pub fn render(
    v: &FleetView,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Option<ratatui::layout::Position> {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let need = v.fleet.missions.iter().filter(|m| m.needs_you).count();
    let mut spans = vec![
        Span::styled(" mission fleet", theme.title),
        Span::styled(
            format!("  {} mission(s), ", v.fleet.missions.len()),
            theme.text,
        ),
        Span::styled(
            format!("{need} need you"),
            if need > 0 { theme.warn } else { theme.dim },
        ),
    ];
    for h in v.fleet.hosts.iter().filter(|h| h.host != "local") {
        spans.push(Span::styled(
            format!("  {} {}", h.host, if h.reachable { "✓" } else { "✗" }),
            if h.reachable { theme.dim } else { theme.danger },
        ));
    }
    Paragraph::new(super::text::fit_line(spans, head.width)).render(head, buf);

    let width = body.width.saturating_sub(2) as usize;
    let items: Vec<ListItem> = v
        .fleet
        .missions
        .iter()
        .map(|m| {
            let (mark, style) = match (m.needs_you, m.state.as_str()) {
                (true, _) => ("⚑", theme.warn),
                (_, "completed") => ("✔", theme.done),
                (_, "failed" | "gone" | "unreadable") => ("✘", theme.failed),
                _ => ("▶", theme.running),
            };
            let cost = match m.budget_usd {
                Some(b) => format!("${:.2}/${b:.2}", m.cost_usd),
                None => format!("${:.2}", m.cost_usd),
            };
            let first = Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(format!("{:<17} ", m.state.replace('_', " ")), style),
                Span::styled(format!("{:<8} ", m.host), theme.dim),
                Span::styled(format!("{}/{} ", m.milestones.0, m.milestones.1), theme.dim),
                Span::styled(format!("{cost:<12} "), theme.dim),
                Span::styled(m.goal.clone(), theme.text),
            ]);
            let second = Line::from(vec![
                Span::raw("  "),
                Span::styled(
                    format!("{} · {}", m.reason, m.repo),
                    if m.needs_you { theme.warn } else { theme.dim },
                ),
            ]);
            ListItem::new(vec![
                super::text::fit_line(first.spans, width as u16),
                super::text::fit_line(second.spans, width as u16),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(" Missions, who needs you first ", theme.title));
    if items.is_empty() {
        Paragraph::new(Line::styled(
            "no missions yet: `mission start \"<goal>\"` in a repository lists one here",
            theme.dim,
        ))
        .block(block)
        .render(body, buf);
    } else {
        let list = List::new(items)
            .block(block)
            .highlight_style(theme.selected);
        let mut state = ListState::default().with_selected(v.index());
        StatefulWidget::render(list, body, buf, &mut state);
    }

    let k = |a: Action| v.keys.hint(a);
    let mut spans = vec![];
    let keys: Vec<(String, &str)> = if v.message.is_some() {
        vec![("⏎".into(), "send"), ("Esc".into(), "cancel")]
    } else {
        vec![
            (format!("{}{}", k(Action::Up), k(Action::Down)), "move"),
            (k(Action::Open), "attach"),
            (k(Action::Approve), "approve"),
            (k(Action::TogglePause), "pause"),
            (k(Action::Message), "msg"),
            (k(Action::Quit), "quit"),
        ]
    };
    for (key, what) in keys {
        spans.push(Span::styled(format!(" {key}"), theme.key));
        spans.push(Span::styled(format!(" {what}"), theme.dim));
    }
    if let Some((msg, ok)) = &v.status {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            msg.clone(),
            if *ok { theme.ok } else { theme.danger },
        ));
    }
    Paragraph::new(super::text::fit_line(spans, foot.width)).render(foot, buf);
    v.message
        .as_ref()
        .map(|b| super::overlays::render_text_box(b, theme, area, buf))
}
