//! The gate as the human meets it — the one place for the rules of deciding from the
//! console: a gate opens its overlay once, takes no key in its first moments (nor while a
//! text box has the keys, which `App` knows), and scrolls within its own pane.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::keys::Action;

/// How long a gate shows before its keys act.
pub const GATE_GRACE: Duration = Duration::from_millis(500);

/// What the gate's overlay did with a key (gitui's `EventState`, with a close).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKey {
    /// It was the overlay's own (a scroll), or nothing may act behind the gate.
    Consumed,
    /// Close the overlay (the gate still waits; `w` shows it again).
    Close,
    /// A decision or a global key: the keymap's action goes on.
    Passed,
}

#[derive(Debug)]
pub struct GateView {
    /// The seq of the last `gate_opened` seen: a gate opens its overlay once.
    seen: u64,
    /// Keys act from this moment on.
    keys_from: Option<Instant>,
    /// How far the overlay is scrolled (the detail pane under it keeps its place).
    pub scroll: u16,
    /// The last scroll position, as the last frame laid the overlay out.
    pub end: Cell<u16>,
}

impl Default for GateView {
    fn default() -> Self {
        GateView {
            seen: 0,
            keys_from: None,
            scroll: 0,
            end: Cell::new(u16::MAX),
        }
    }
}

impl GateView {
    /// A `gate_opened` with `seq` arrived: whether it is news (its overlay should open).
    /// Either way its keys wait out the grace from now.
    pub fn opened(&mut self, seq: u64) -> bool {
        let news = seq > self.seen;
        self.seen = self.seen.max(seq);
        self.arm();
        news
    }

    /// A console started on a mission whose events up to `last_seq` are known.
    pub fn restored(&mut self, last_seq: u64) {
        self.seen = self.seen.max(last_seq);
    }

    /// The gate was decided: the next one starts at its top.
    pub fn decided(&mut self) {
        self.scroll = 0;
    }

    /// The gate has just come into view (it opened, or a box over it closed).
    pub fn arm(&mut self) {
        self.keys_from = Some(Instant::now() + GATE_GRACE);
    }

    /// Whether a decision key may act now.
    pub fn keys_ready(&self) -> bool {
        self.keys_from.is_none_or(|from| Instant::now() >= from)
    }

    /// A key while the overlay is on top.
    pub fn on_action(&mut self, action: Option<Action>) -> GateKey {
        let end = self.end.get();
        match action {
            Some(Action::Back) => GateKey::Close,
            Some(Action::Up) => self.scroll_by(-1, end),
            Some(Action::Down) => self.scroll_by(1, end),
            Some(Action::PageUp) => self.scroll_by(-10, end),
            Some(Action::PageDown) => self.scroll_by(10, end),
            Some(Action::Top) => {
                self.scroll = 0;
                GateKey::Consumed
            }
            Some(Action::Bottom) => {
                self.scroll = end;
                GateKey::Consumed
            }
            // Decisions, and the keys that make sense over a gate; anything else would
            // act unseen behind it.
            Some(
                Action::Approve
                | Action::Reject
                | Action::Message
                | Action::TogglePause
                | Action::Help
                | Action::Quit,
            ) => GateKey::Passed,
            _ => GateKey::Consumed,
        }
    }

    fn scroll_by(&mut self, by: isize, end: u16) -> GateKey {
        self.scroll = (self.scroll as isize + by).clamp(0, end as isize) as u16;
        GateKey::Consumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_opens_once_and_its_keys_wait_out_the_grace() {
        let mut g = GateView::default();
        assert!(g.keys_ready(), "no gate yet, nothing to wait for");
        assert!(g.opened(7));
        assert!(!g.keys_ready());
        assert!(!g.opened(7), "the same gate, seen again");
        std::thread::sleep(GATE_GRACE);
        assert!(g.keys_ready());
        g.end.set(20);
        assert_eq!(g.on_action(Some(Action::PageDown)), GateKey::Consumed);
        assert_eq!(g.on_action(Some(Action::Bottom)), GateKey::Consumed);
        assert_eq!(g.scroll, 20);
        assert_eq!(g.on_action(Some(Action::Approve)), GateKey::Passed);
        assert_eq!(g.on_action(Some(Action::NextTab)), GateKey::Consumed);
        assert_eq!(g.on_action(Some(Action::Back)), GateKey::Close);
    }
}
