//! A one-line text box (a rejection note, a message to the orchestrator, a search): it
//! owns its text and every key while it is open — no letter typed here is ever a
//! command — and says what the human did with it.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Reject,
    Message,
    /// A search of the detail pane.
    Search,
}

#[derive(Debug, Clone)]
pub struct TextBox {
    pub kind: InputKind,
    pub input: Input,
}

/// What a key did to the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoxKey {
    /// Typed into it (or moved its cursor).
    Typed,
    /// Esc: closed, nothing sent.
    Cancelled,
    /// Enter with this text (trimmed; empty for a search that clears).
    Submitted(String),
    /// Enter on an empty note or message: nothing to send, the box stays.
    Empty,
}

impl TextBox {
    pub fn new(kind: InputKind) -> Self {
        TextBox {
            kind,
            input: Input::default(),
        }
    }

    pub fn with_value(mut self, value: String) -> Self {
        self.input = self.input.with_value(value);
        self
    }

    pub fn on_key(&mut self, key: KeyEvent) -> BoxKey {
        match key.code {
            KeyCode::Esc => BoxKey::Cancelled,
            KeyCode::Enter => {
                let text = self.input.value().trim().to_string();
                if text.is_empty() && self.kind != InputKind::Search {
                    BoxKey::Empty
                } else {
                    BoxKey::Submitted(text)
                }
            }
            _ => {
                use tui_input::backend::crossterm::EventHandler;
                self.input
                    .handle_event(&ratatui::crossterm::event::Event::Key(key));
                BoxKey::Typed
            }
        }
    }

    /// Pasted text goes in whole, newlines as spaces.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars() {
            let c = if c.is_control() { ' ' } else { c };
            self.input.handle(tui_input::InputRequest::InsertChar(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    #[test]
    fn every_key_is_the_boxs_until_enter_or_esc() {
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let mut b = TextBox::new(InputKind::Message);
        assert_eq!(b.on_key(key(KeyCode::Enter)), BoxKey::Empty);
        for c in "a r q".chars() {
            assert_eq!(b.on_key(key(KeyCode::Char(c))), BoxKey::Typed);
        }
        b.paste("\nand more");
        assert_eq!(
            b.on_key(key(KeyCode::Enter)),
            BoxKey::Submitted("a r q and more".into())
        );
        let mut s = TextBox::new(InputKind::Search);
        assert_eq!(
            s.on_key(key(KeyCode::Enter)),
            BoxKey::Submitted(String::new())
        );
        assert_eq!(s.on_key(key(KeyCode::Esc)), BoxKey::Cancelled);
    }
}
