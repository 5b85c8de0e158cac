//! The detail pane as a component: which tab, how far it is scrolled (and where each tab
//! was, for coming back to it), the search in it, and what the last frame laid out —
//! its rows, for the search, and its last scroll position, so that an overshoot to the
//! end does not swallow the next move.

use std::cell::{Cell, RefCell};

use super::Tab;

#[derive(Debug)]
pub struct DetailView {
    pub tab: Tab,
    pub scroll: u16,
    tab_scroll: [u16; Tab::ALL.len()],
    /// What `/` searches for (highlighted; `n`/`N` go from match to match).
    pub search: Option<String>,
    /// The row of the match `n`/`N` last went to.
    pub search_at: Option<usize>,
    rows: RefCell<Vec<String>>,
    end: Cell<u16>,
}

impl Default for DetailView {
    fn default() -> Self {
        DetailView {
            tab: Tab::Summary,
            scroll: 0,
            tab_scroll: Default::default(),
            search: None,
            search_at: None,
            rows: Default::default(),
            // Before the first frame nothing is known to end: no move is clamped yet.
            end: Cell::new(u16::MAX),
        }
    }
}

/// Where a search went.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    Nowhere,
    /// Match `i` (from 1) of `n`.
    Match {
        i: usize,
        n: usize,
    },
}

impl DetailView {
    /// What the frame being drawn laid out: its rows and the last scroll position.
    pub fn laid_out(&self, rows: Vec<String>, end: u16) {
        *self.rows.borrow_mut() = rows;
        self.end.set(end);
    }

    /// The last scroll position the last frame had.
    pub fn end(&self) -> u16 {
        self.end.get()
    }

    /// From where the last frame stopped.
    pub fn scroll_by(&mut self, by: isize) {
        let end = self.end.get();
        self.scroll = (self.scroll.min(end) as isize + by).clamp(0, end as isize) as u16;
    }

    /// To the top, or the end (the view clamps the overshoot to its last line).
    pub fn jump(&mut self, top: bool) {
        self.scroll = if top { 0 } else { u16::MAX };
    }

    /// Another selection: every tab from `first`.
    pub fn fresh(&mut self, first: u16) {
        self.tab_scroll = Default::default();
        self.scroll = first;
    }

    /// The next (`by` 1) or previous tab, where it was left, or from `first(tab)`.
    pub fn switch_tab(&mut self, by: isize, first: impl Fn(Tab) -> u16) {
        self.tab_scroll[self.tab.index()] = self.scroll.min(self.end.get());
        self.tab = self.tab.shift(by);
        self.scroll = first(self.tab).max(self.tab_scroll[self.tab.index()]);
    }

    /// Ends the search; whether there was one.
    pub fn end_search(&mut self) -> bool {
        self.search_at = None;
        self.search.take().is_some()
    }

    /// Another view: the search goes on from its top. Whether there is a search.
    pub fn leave_match(&mut self) -> bool {
        self.search_at = None;
        self.search.is_some()
    }

    /// Goes to the next (`dir` 1) or previous (-1) row that holds the search, wrapping
    /// around, from the match last gone to (or from the top of the view).
    pub fn find(&mut self, dir: isize) -> Found {
        let Some(query) = self.search.as_deref() else {
            return Found::Nowhere;
        };
        let hits: Vec<usize> = self
            .rows
            .borrow()
            .iter()
            .enumerate()
            .filter(|(_, row)| crate::tui::search::find_in(row, query).next().is_some())
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            self.search_at = None;
            return Found::Nowhere;
        }
        let top = self.scroll.min(self.end.get()) as usize;
        let i = match (self.search_at, dir > 0) {
            (Some(at), true) => hits.iter().position(|&h| h > at).unwrap_or(0),
            (Some(at), false) => hits.iter().rposition(|&h| h < at).unwrap_or(hits.len() - 1),
            (None, true) => hits.iter().position(|&h| h >= top).unwrap_or(0),
            (None, false) => hits
                .iter()
                .rposition(|&h| h < top)
                .unwrap_or(hits.len() - 1),
        };
        self.search_at = Some(hits[i]);
        // The match's row a few rows below the top, so what leads to it shows too.
        self.scroll = hits[i].saturating_sub(2).min(u16::MAX as usize) as u16;
        Found::Match {
            i: i + 1,
            n: hits.len(),
        }
    }
}
