//! The mouse, when `[console] mouse` is on: the wheel scrolls the pane under the pointer,
//! a click focuses a pane (and in the plan selects the row clicked).

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::*;

/// Rows a wheel notch scrolls a text pane.
const WHEEL_ROWS: isize = 3;

impl App {
    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        // Overlays take no mouse; the pointer must not act behind them.
        if !self.mouse || !self.overlays.is_empty() {
            return vec![];
        }
        let at = Position::new(m.column, m.row);
        let panes = self.panes.get();
        let inside = |r: Rect| r.contains(at);
        let pane = if inside(panes.tree) {
            Focus::Tree
        } else if inside(panes.detail) {
            Focus::Detail
        } else if inside(panes.activity) {
            Focus::Activity
        } else {
            return vec![];
        };
        let step = match m.kind {
            MouseEventKind::ScrollUp => -1,
            MouseEventKind::ScrollDown => 1,
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                // A row of the plan: inside the border, below the rows scrolled away.
                let row =
                    (m.row as usize + panes.tree_offset).checked_sub(panes.tree.y as usize + 1);
                if pane == Focus::Tree
                    && let Some(row) = row
                    && m.row + 1 < panes.tree.bottom()
                    && row < self.rows().len()
                {
                    let by = row as isize - self.selected_index() as isize;
                    return self.move_selection(by);
                }
                return vec![];
            }
            _ => return vec![],
        };
        match pane {
            Focus::Tree => self.move_selection(step),
            Focus::Detail => {
                self.scroll_by(step * WHEEL_ROWS);
                vec![]
            }
            Focus::Activity => {
                self.activity.read_back(-step * WHEEL_ROWS);
                vec![]
            }
        }
    }
}
