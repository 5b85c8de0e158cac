//! The activity feed as a component: its lines (newest last, capped) and how far back
//! the human reads. Reading back, the lines in view stay in view as new ones arrive; it
//! never reads past its oldest line at the top of the pane.

use std::cell::Cell;
use std::collections::VecDeque;

use super::ActivityLine;

/// Lines the feed keeps.
const CAP: usize = 500;

#[derive(Debug, Default)]
pub struct ActivityFeed {
    lines: VecDeque<ActivityLine>,
    /// Lines scrolled back from the newest (0: follows the newest).
    back: usize,
    /// Rows the pane showed in the last frame (how far back it can go).
    rows: Cell<usize>,
}

impl ActivityFeed {
    pub fn push(&mut self, line: ActivityLine) {
        self.lines.push_back(line);
        while self.lines.len() > CAP {
            self.lines.pop_front();
        }
        if self.back > 0 {
            self.back = (self.back + 1).min(self.max_back());
        }
    }

    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &ActivityLine> + ExactSizeIterator {
        self.lines.iter()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How far back it reads now, within what the last frame could show.
    pub fn back(&self) -> usize {
        self.back.min(self.max_back())
    }

    /// How far back it can read: to its oldest line at the top of the pane.
    pub fn max_back(&self) -> usize {
        self.lines.len().saturating_sub(self.rows.get())
    }

    /// Reads back (`by` > 0) or forward, within what it holds.
    pub fn read_back(&mut self, by: isize) {
        let back = self.back as isize + by;
        self.back = back.clamp(0, self.max_back() as isize) as usize;
    }

    /// To the oldest line (`true`) or back to following the newest.
    pub fn jump(&mut self, oldest: bool) {
        self.back = if oldest { self.max_back() } else { 0 };
    }

    /// The rows the pane has, as the frame being drawn lays it out.
    pub fn set_rows(&self, rows: usize) {
        self.rows.set(rows);
    }
}
