//! Keys: the top overlay gets a key first, then the keymap's action moves the view or
//! becomes an `Op` for the runner.

use super::*;

impl App {
    /// Pasted text (bracketed paste) goes into the open text box, newlines as spaces;
    /// anywhere else it is dropped, so that no pasted letter acts as a key.
    pub fn on_paste(&mut self, text: &str) {
        if let Some(Overlay::Input(b)) = self.overlays.last_mut() {
            b.paste(text);
        } else {
            self.status = Some((
                "pasting is for the message, note and search boxes (m, r, /)".into(),
                false,
            ));
        }
    }

    /// Handles a key; the top overlay gets it first, and some keys fall through.
    pub fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> Vec<Command> {
        use ratatui::crossterm::event::KeyCode;
        let action = self.keys.action(key);
        match self.overlays.last_mut() {
            Some(Overlay::Input(b)) => {
                let kind = b.kind;
                match b.on_key(key) {
                    BoxKey::Typed => {}
                    BoxKey::Empty => {
                        self.status = Some(("write something first (Esc cancels)".into(), false));
                    }
                    BoxKey::Cancelled => {
                        self.overlays.pop();
                        self.box_closed();
                    }
                    BoxKey::Submitted(text) => {
                        self.overlays.pop();
                        self.box_closed();
                        let op = match kind {
                            InputKind::Search => {
                                self.start_search(text);
                                return vec![];
                            }
                            InputKind::Reject => Op::Reject {
                                note: text,
                                gate: Some(self.state.gate_id),
                            },
                            InputKind::Message => Op::Say { text },
                        };
                        return vec![Command::Send(op)];
                    }
                }
                return vec![];
            }
            Some(Overlay::ConfirmQuit) => {
                self.overlays.pop();
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => vec![Command::Quit],
                    _ => vec![],
                };
            }
            Some(Overlay::Help) => {
                let step: i32 = match action {
                    Some(Action::Back | Action::Help | Action::Quit) => {
                        self.overlays.pop();
                        0
                    }
                    Some(Action::Up) => -1,
                    Some(Action::Down) => 1,
                    Some(Action::PageUp) => -10,
                    Some(Action::PageDown) => 10,
                    Some(Action::Top) => -(self.help_scroll as i32),
                    Some(Action::Bottom) => i32::MAX / 2,
                    _ => 0,
                };
                let rows = self.keys.help().len() as i32;
                self.help_scroll = (self.help_scroll as i32 + step).clamp(0, rows) as u16;
                return vec![];
            }
            Some(Overlay::Gate) => match self.gate_view.on_action(action) {
                GateKey::Close => {
                    self.overlays.pop();
                    return vec![];
                }
                GateKey::Consumed => return vec![],
                GateKey::Passed => {}
            },
            None => {}
        }
        match action {
            Some(a) => self.on_action(a),
            None => vec![],
        }
    }

    fn on_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let step: isize = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    _ => 10,
                };
                if self.focus == Focus::Activity {
                    // Up reads back; down comes forward to the newest.
                    self.activity.read_back(-step);
                    return vec![];
                }
                if self.focus == Focus::Detail
                    || matches!(action, Action::PageUp | Action::PageDown)
                {
                    self.scroll_by(step);
                    return vec![];
                }
                self.move_selection(step)
            }
            Action::Top | Action::Bottom => {
                let top = action == Action::Top;
                if self.focus == Focus::Activity {
                    self.activity.jump(top);
                    return vec![];
                }
                if self.focus == Focus::Detail {
                    self.detail.jump(top);
                    return vec![];
                }
                let rows = self.rows().len() as isize;
                self.move_selection(if top { -rows } else { rows })
            }
            Action::Open => {
                self.focus = if self.focus == Focus::Tree {
                    Focus::Detail
                } else {
                    Focus::Tree
                };
                self.load_selected()
            }
            Action::PaneLeft | Action::PaneRight => {
                self.focus = self
                    .focus
                    .shift(if action == Action::PaneRight { 1 } else { -1 });
                self.load_selected()
            }
            Action::NextTab | Action::PrevTab => {
                self.leave_search_match();
                // Each tab keeps its place while the selection stays.
                let running = self.selected_running().is_some();
                self.detail
                    .switch_tab(if action == Action::NextTab { 1 } else { -1 }, |tab| {
                        first_scroll(tab, running)
                    });
                self.load_selected()
            }
            Action::TogglePause => {
                if !self.mission_running() {
                    self.status = Some(("the mission is over: nothing to pause".into(), false));
                    return vec![];
                }
                vec![Command::Send(if self.state.paused.is_some() {
                    Op::Unpause
                } else {
                    Op::Pause
                })]
            }
            Action::Approve => {
                if self.state.gate.is_some() {
                    if !self.gate_keys_ready() {
                        return vec![];
                    }
                    self.overlays.retain(|o| !matches!(o, Overlay::Gate));
                    vec![Command::Send(Op::Approve {
                        gate: Some(self.state.gate_id),
                    })]
                } else {
                    self.status = Some(("nothing is waiting for approval".into(), false));
                    vec![]
                }
            }
            Action::Reject => {
                if self.state.gate.is_some() {
                    if !self.gate_keys_ready() {
                        return vec![];
                    }
                    self.overlays
                        .push(Overlay::Input(TextBox::new(InputKind::Reject)));
                } else {
                    self.status = Some(("nothing is waiting for approval".into(), false));
                }
                vec![]
            }
            Action::Message => {
                if self.mission_running() {
                    self.overlays
                        .push(Overlay::Input(TextBox::new(InputKind::Message)));
                } else {
                    self.status = Some((
                        "the mission is over: no orchestrator reads messages now".into(),
                        false,
                    ));
                }
                vec![]
            }
            Action::Waiting => {
                if self.state.gate.is_some() {
                    if !self.overlays.iter().any(|o| matches!(o, Overlay::Gate)) {
                        self.overlays.push(Overlay::Gate);
                        self.gate_view.decided();
                    }
                } else {
                    self.status = Some(("nothing is waiting for you".into(), true));
                }
                vec![]
            }
            Action::Search => {
                let b = TextBox::new(InputKind::Search)
                    .with_value(self.detail.search.clone().unwrap_or_default());
                self.overlays.push(Overlay::Input(b));
                vec![]
            }
            Action::SearchNext | Action::SearchPrev => {
                if self.detail.search.is_some() {
                    self.find(if action == Action::SearchNext { 1 } else { -1 });
                } else {
                    self.status = Some(("no search yet: / searches the detail pane".into(), false));
                }
                vec![]
            }
            Action::Help => {
                self.help_scroll = 0;
                self.overlays.push(Overlay::Help);
                vec![]
            }
            Action::Back => {
                if self.detail.end_search() {
                    // Its "match i of n" is stale now.
                    self.status = None;
                } else {
                    self.focus = Focus::Tree;
                }
                vec![]
            }
            Action::Quit => {
                if self.hosting == Hosting::InProcess
                    && self.mission_running()
                    && self.runner_error.is_none()
                {
                    self.overlays.push(Overlay::ConfirmQuit);
                    vec![]
                } else {
                    vec![Command::Quit]
                }
            }
        }
    }

    /// A text box closed: a gate it hid comes into view and waits out the grace.
    fn box_closed(&mut self) {
        if self.state.gate.is_some() && !self.typing() {
            self.gate_view.arm();
        }
    }

    /// Whether the gate's keys act now; if not, says why (the key is dropped).
    fn gate_keys_ready(&mut self) -> bool {
        let ready = self.gate_view.keys_ready();
        const EARLY: &str = "the gate has just come into view: read it, then press the key again";
        if !ready {
            self.status = Some((EARLY.into(), false));
        } else if self.status.as_ref().is_some_and(|(s, _)| s == EARLY) {
            self.status = None;
        }
        ready
    }

    /// Searches the detail pane for `query` from where it is; an empty one ends the search.
    fn start_search(&mut self, query: String) {
        self.detail.end_search();
        if !query.is_empty() {
            self.detail.search = Some(query);
            self.focus = Focus::Detail;
            self.find(1);
        }
    }

    /// Another view: the search goes on in it from its top, and "match i of n" (of the
    /// last view) is gone.
    fn leave_search_match(&mut self) {
        if self.detail.leave_match() {
            self.status = None;
        }
    }

    /// The next (`dir` 1) or previous (-1) match in the detail pane, and where it is.
    fn find(&mut self, dir: isize) {
        let query = self.detail.search.clone().unwrap_or_default();
        self.status = Some(match self.detail.find(dir) {
            Found::Nowhere => (format!("“{query}” is not in this view"), false),
            Found::Match { i, n } => (format!("“{query}”: match {i} of {n}"), true),
        });
    }

    pub(super) fn scroll_by(&mut self, by: isize) {
        self.detail.scroll_by(by);
    }

    pub(super) fn move_selection(&mut self, by: isize) -> Vec<Command> {
        let rows = self.rows();
        if rows.is_empty() {
            return vec![];
        }
        let i = (self.selected_index() as isize + by).clamp(0, rows.len() as isize - 1) as usize;
        self.selected = Some(self.row_id(&rows[i]));
        self.follow = false;
        self.leave_search_match();
        let first = first_scroll(self.detail.tab, self.selected_running().is_some());
        self.detail.fresh(first);
        self.load_selected()
    }

    pub(super) fn load_selected(&self) -> Vec<Command> {
        if let (Tab::Summary, Some(f)) = (self.detail.tab, self.selected_running()) {
            return vec![Command::Tail {
                feature: f.to_string(),
            }];
        }
        match self.selected_row() {
            Some(Row::Feature { milestone, index })
                if matches!(self.detail.tab, Tab::Diff | Tab::Transcript) =>
            {
                vec![Command::Load {
                    feature: self.state.milestones[milestone].features[index]
                        .plan
                        .id
                        .clone(),
                }]
            }
            _ => vec![],
        }
    }
}

/// Where a newly shown detail starts: the top, but a running agent's log at its newest
/// line, following it (its summary shows the newest lines at the top).
fn first_scroll(tab: Tab, running: bool) -> u16 {
    if tab == Tab::Transcript && running {
        u16::MAX
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn home_and_end_go_to_the_first_and_last_row_and_the_detail_ends() {
        let mut app = App::new(Hosting::Attached, Limits::default());
        for r in &crate::mission::synthetic::records(crate::mission::synthetic::synthetic_log(12)) {
            app.on_event(r);
        }
        let press = |app: &mut App, code| app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        press(&mut app, KeyCode::End);
        let rows = app.rows();
        assert_eq!(app.selected_index(), rows.len() - 1);
        press(&mut app, KeyCode::Char('g'));
        assert_eq!(app.selected_index(), 0);
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.focus, Focus::Detail);
        app.on_key(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(
            app.detail.scroll,
            u16::MAX,
            "the view clamps it to the last line"
        );
        // As drawn, the detail ends at line 7: PgUp from the end moves at once.
        app.detail.laid_out(vec![], 7);
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.detail.scroll, 0, "7 - 10, not u16::MAX - 10");
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Home);
        assert_eq!(app.detail.scroll, 0);
    }

    #[test]
    fn h_and_l_move_the_focus_and_the_activity_feed_reads_back() {
        let mut app = App::new(Hosting::Attached, Limits::default());
        let recs = crate::mission::synthetic::records(crate::mission::synthetic::synthetic_log(12));
        for r in &recs[..40] {
            app.on_event(r);
        }
        let press = |app: &mut App, code| app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        press(&mut app, KeyCode::Char('l'));
        assert_eq!(app.focus, Focus::Detail);
        press(&mut app, KeyCode::Char('l'));
        assert_eq!(app.focus, Focus::Activity);
        press(&mut app, KeyCode::Up);
        press(&mut app, KeyCode::Up);
        assert_eq!(app.activity.back(), 2);
        // New lines keep the view where the reader is.
        app.on_event(&recs[40]);
        assert_eq!(app.activity.back(), 3);
        press(&mut app, KeyCode::End);
        assert_eq!(app.activity.back(), 0, "back to the newest");
        // Home goes back to the oldest line at the top of the pane, not past it.
        app.activity.set_rows(5);
        press(&mut app, KeyCode::Home);
        assert_eq!(app.activity.back(), app.activity.len() - 5);
        press(&mut app, KeyCode::Up);
        assert_eq!(app.activity.back(), app.activity.len() - 5);
        press(&mut app, KeyCode::Down);
        assert_eq!(
            app.activity.back(),
            app.activity.len() - 6,
            "one down moves at once"
        );
        press(&mut app, KeyCode::End);
        press(&mut app, KeyCode::Char('h'));
        press(&mut app, KeyCode::Char('h'));
        assert_eq!(app.focus, Focus::Tree);
    }
}
