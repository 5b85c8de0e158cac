//! Keys as data: the handler and the help overlay read the same table.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Open,
    NextTab,
    PrevTab,
    TogglePause,
    Approve,
    Reject,
    Message,
    Help,
    Back,
    Quit,
}

pub struct Binding {
    pub keys: &'static str,
    pub action: Action,
    pub help: &'static str,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "↑ k",
        action: Action::Up,
        help: "move up (scroll in the detail pane)",
    },
    Binding {
        keys: "↓ j",
        action: Action::Down,
        help: "move down (scroll in the detail pane)",
    },
    Binding {
        keys: "PgUp PgDn",
        action: Action::PageDown,
        help: "scroll the detail pane by a page",
    },
    Binding {
        keys: "Enter",
        action: Action::Open,
        help: "open the selection: focus its detail (again: back)",
    },
    Binding {
        keys: "Tab ⇧Tab",
        action: Action::NextTab,
        help: "next / previous tab: Summary Commands Issues Diff Transcript",
    },
    Binding {
        keys: "p",
        action: Action::TogglePause,
        help: "pause (no new agent turn starts) / unpause",
    },
    Binding {
        keys: "a",
        action: Action::Approve,
        help: "approve what the mission waits for (plan, milestone, escalation)",
    },
    Binding {
        keys: "r",
        action: Action::Reject,
        help: "reject it with a note for the orchestrator",
    },
    Binding {
        keys: "m",
        action: Action::Message,
        help: "message the orchestrator (read before its next decision)",
    },
    Binding {
        keys: "?",
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: "Esc",
        action: Action::Back,
        help: "close an overlay, leave the detail pane",
    },
    Binding {
        keys: "q Ctrl-C",
        action: Action::Quit,
        help: "quit (a mission started here stops; resume it later)",
    },
];

pub fn action(key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Enter => Action::Open,
        KeyCode::Tab => Action::NextTab,
        KeyCode::BackTab => Action::PrevTab,
        KeyCode::Char('p') => Action::TogglePause,
        KeyCode::Char('a') => Action::Approve,
        KeyCode::Char('r') => Action::Reject,
        KeyCode::Char('m') => Action::Message,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}
