//! Keys as data: one table of actions, their default keys and their help. The handler,
//! the help overlay and the footer read the same `Keymap`, and `[keys]` in the config
//! replaces an action's keys (`approve = "A"`, `quit = "q C-c"`).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    PaneLeft,
    PaneRight,
    NextTab,
    PrevTab,
    TogglePause,
    Approve,
    Reject,
    Waiting,
    Message,
    Search,
    SearchNext,
    SearchPrev,
    Help,
    Back,
    Quit,
}

impl Action {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Each action, its default keys (space-separated, as `[keys]` writes them) and its help.
///
/// An action with an empty help shares the row above it in the help ("↑ k / ↓ j").
pub const DEFAULTS: &[(Action, &str, &str)] = &[
    (
        Action::Up,
        "Up k",
        "move up / down (in the plan; scroll a focused pane)",
    ),
    (Action::Down, "Down j", ""),
    (
        Action::PageUp,
        "PgUp",
        "scroll the detail pane a page up / down",
    ),
    (Action::PageDown, "PgDn", ""),
    (
        Action::Top,
        "Home g",
        "to the top / bottom (of the plan, or of a focused pane)",
    ),
    (Action::Bottom, "End G", ""),
    (
        Action::Open,
        "Enter",
        "open the selection: focus its detail (again: back)",
    ),
    (
        Action::PaneLeft,
        "h Left",
        "focus the pane left / right (plan, detail, activity)",
    ),
    (Action::PaneRight, "l Right", ""),
    (
        Action::NextTab,
        "Tab",
        "next / previous tab (Summary … Transcript)",
    ),
    (Action::PrevTab, "BackTab", ""),
    (
        Action::Search,
        "/",
        "search the detail pane (Esc in the pane clears it)",
    ),
    (Action::SearchNext, "n", "next / previous match"),
    (Action::SearchPrev, "N", ""),
    (
        Action::TogglePause,
        "p",
        "pause (no new agent turn starts) / unpause",
    ),
    (
        Action::Approve,
        "a",
        "approve what waits: the plan, a milestone, an escalation",
    ),
    (
        Action::Reject,
        "r",
        "reject it with a note for the orchestrator",
    ),
    (
        Action::Waiting,
        "w",
        "show what waits for you again (after Esc)",
    ),
    (
        Action::Message,
        "m",
        "message the orchestrator (read before its next decision)",
    ),
    (Action::Help, "?", "this help"),
    (
        Action::Back,
        "Esc",
        "close an overlay, clear a search, leave the detail pane",
    ),
    (
        Action::Quit,
        "q C-c",
        "quit (a mission started here stops; resume it later)",
    ),
];

/// One key with its modifiers, as a binding names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Chord {
    /// `a`, `A`, `?`, `Enter`, `Esc`, `Tab`, `BackTab`, `Up`, `PgUp`, `Home`, `F2`,
    /// `Space`, `C-x` (Ctrl), `M-x` (Alt).
    pub fn parse(spec: &str) -> Result<Chord, String> {
        let (mut ctrl, mut alt, mut rest) = (false, false, spec);
        loop {
            if let Some(r) = rest
                .strip_prefix("C-")
                .or_else(|| rest.strip_prefix("Ctrl-"))
            {
                (ctrl, rest) = (true, r);
            } else if let Some(r) = rest
                .strip_prefix("M-")
                .or_else(|| rest.strip_prefix("Alt-"))
            {
                (alt, rest) = (true, r);
            } else {
                break;
            }
        }
        let named = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => Some(KeyCode::Enter),
            "esc" | "escape" => Some(KeyCode::Esc),
            "tab" => Some(KeyCode::Tab),
            "backtab" | "s-tab" => Some(KeyCode::BackTab),
            "up" => Some(KeyCode::Up),
            "down" => Some(KeyCode::Down),
            "left" => Some(KeyCode::Left),
            "right" => Some(KeyCode::Right),
            "pgup" | "pageup" => Some(KeyCode::PageUp),
            "pgdn" | "pagedown" => Some(KeyCode::PageDown),
            "home" => Some(KeyCode::Home),
            "end" => Some(KeyCode::End),
            "space" => Some(KeyCode::Char(' ')),
            "backspace" | "bs" => Some(KeyCode::Backspace),
            f if f.len() > 1 && f.starts_with('f') => f[1..]
                .parse()
                .ok()
                .filter(|n| (1..=12).contains(n))
                .map(KeyCode::F),
            _ => None,
        };
        let mut chars = rest.chars();
        let code = match (named, chars.next(), chars.next()) {
            (Some(code), _, _) => code,
            (None, Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => {
                return Err(format!(
                    "`{spec}` is not a key: use a character (a, A, ?), a name (Enter, Esc, Tab, BackTab, Up, Down, PgUp, PgDn, Home, End, Space, F1…F12), C-x or M-x"
                ));
            }
        };
        Ok(Chord { code, ctrl, alt })
    }

    fn matches(&self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        code == self.code && ctrl == self.ctrl && alt == self.alt
    }

    /// How the help and the footer show it.
    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Enter => "⏎".to_string(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "⇥".into(),
            KeyCode::BackTab => "⇧⇥".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Backspace => "⌫".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("Ctrl-{key}"),
            (_, true) => format!("Alt-{key}"),
            _ => key,
        }
    }
}

/// Which keys do what in this console.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<Chord>, &'static str)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: DEFAULTS
                .iter()
                .map(|(action, keys, help)| {
                    let chords = keys
                        .split_whitespace()
                        .map(|k| Chord::parse(k).expect("the default keys parse"))
                        .collect();
                    (*action, chords, *help)
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `[keys]` applied: each entry names an action and replaces its
    /// keys. A key given to two actions is refused (one of them could never be reached).
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let action: Action = name.parse().map_err(|_| {
                format!(
                    "[keys] {name}: no such action; the actions are {}",
                    DEFAULTS
                        .iter()
                        .map(|(a, _, _)| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let chords = keys
                .split_whitespace()
                .map(Chord::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("[keys] {name}: {e}"))?;
            if chords.is_empty() {
                return Err(format!("[keys] {name}: give at least one key"));
            }
            if let Some(b) = map.bindings.iter_mut().find(|b| b.0 == action) {
                b.1 = chords;
            }
        }
        for (i, (a, chords, _)) in map.bindings.iter().enumerate() {
            for (b, others, _) in &map.bindings[i + 1..] {
                if let Some(c) = chords.iter().find(|c| others.contains(c)) {
                    return Err(format!(
                        "[keys]: {} is bound to both {} and {}",
                        c.label(),
                        a.name(),
                        b.name()
                    ));
                }
            }
        }
        Ok(map)
    }

    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(_, chords, _)| chords.iter().any(|c| c.matches(&key)))
            .map(|(a, _, _)| *a)
    }

    /// The keys of `action`, as shown ("a", "↑ k").
    pub fn keys(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.0 == action)
            .map(|(_, chords, _)| {
                chords
                    .iter()
                    .map(Chord::label)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// Every binding for the help overlay: keys and what they do, a pair of opposite
    /// actions on one row.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(String, &'static str)> = vec![];
        for (a, _, help) in &self.bindings {
            match rows.last_mut() {
                Some((keys, _)) if help.is_empty() => {
                    keys.push_str(" / ");
                    keys.push_str(&self.keys(*a));
                }
                _ => rows.push((self.keys(*a), *help)),
            }
        }
        rows
    }

    /// The first key of `action`, for the footer's short hints.
    pub fn hint(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.0 == action)
            .and_then(|(_, chords, _)| chords.first())
            .map(Chord::label)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn the_defaults_drive_the_handler() {
        let k = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(k.action(key(KeyCode::Char('j'), none)), Some(Action::Down));
        assert_eq!(
            k.action(key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            k.action(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(k.action(key(KeyCode::Char('x'), none)), None);
        assert_eq!(k.keys(Action::Up), "↑ k");
    }

    #[test]
    fn overrides_replace_an_actions_keys_and_bad_ones_are_named() {
        let over = |pairs: &[(&str, &str)]| {
            let m: BTreeMap<String, String> = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            Keymap::with_overrides(&m)
        };
        let k = over(&[("approve", "A"), ("quit", "C-q")]).unwrap();
        let none = KeyModifiers::NONE;
        assert_eq!(
            k.action(key(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Action::Approve)
        );
        assert_eq!(k.action(key(KeyCode::Char('a'), none)), None);
        assert_eq!(
            k.action(key(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(k.hint(Action::Approve), "A");
        assert!(
            over(&[("launch", "x")])
                .unwrap_err()
                .contains("no such action")
        );
        assert!(
            over(&[("approve", "Hyper-x")])
                .unwrap_err()
                .contains("is not a key")
        );
        assert!(
            over(&[("approve", "p")])
                .unwrap_err()
                .contains("bound to both")
        );
    }
}
