//! The header (goal, state, elapsed, active agent) and the footer (keys, status).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::super::app::{App, InputKind, Overlay};
use super::super::theme::Theme;
use crate::keys::Action;
use crate::mission::Phase;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let st = &app.state;
    let goal = if st.goal.is_empty() {
        "starting…".to_string()
    } else {
        st.goal.clone()
    };
    let title = Line::from(vec![
        Span::styled(" mission ", theme.title),
        Span::styled(goal, theme.text),
    ]);
    let phase = st.phase();
    let finished = st.completed.is_some() || st.failed.is_some();
    let stopped = app.runner_stopped && !finished;
    let (word, style) = match phase {
        _ if stopped => ("STOPPED", theme.danger),
        Phase::Planning => ("PLANNING", theme.running),
        Phase::AwaitingApproval => ("WAITING FOR YOU", theme.warn),
        Phase::Running => ("RUNNING", theme.running),
        Phase::Validating => ("VALIDATING", theme.validating),
        Phase::Paused => ("PAUSED", theme.warn),
        Phase::Completed => ("COMPLETED", theme.ok),
        Phase::Failed => ("FAILED", theme.danger),
    };
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(word, style),
        Span::styled(format!("  {}", clock(app)), theme.dim),
    ];
    if stopped {
        spans.push(Span::styled(
            "  nothing runs this mission: `mission resume` continues it",
            theme.warn,
        ));
    } else if let Some(a) = &st.active {
        spans.push(Span::styled("  ▸ ", theme.dim));
        spans.push(Span::styled(a.role.as_str(), theme.text));
        spans.push(Span::styled(format!(" {}", a.model), theme.dim));
        if let Some(f) = &a.feature_id {
            spans.push(Span::styled(format!(" on {f}"), theme.text));
        }
    }
    if let Some(reason) = &st.paused {
        spans.push(Span::styled(format!("  {reason}"), theme.warn));
    }
    if let Some((gate, _)) = &st.gate {
        spans.push(Span::styled(
            format!(
                "  {gate}: {} approve · {} reject",
                app.keys.hint(Action::Approve),
                app.keys.hint(Action::Reject)
            ),
            theme.warn,
        ));
    }
    if let Some(e) = &app.runner_error {
        spans.push(Span::styled(format!("  runner stopped: {e}"), theme.danger));
    }
    Paragraph::new(vec![
        super::fit_line(title.spans, area.width),
        super::fit_line(spans, area.width),
    ])
    .render(area, buf);
}

/// The header's clock: how long the mission has run, stopped at its last event once it
/// ended or its runner died. Seconds for the first minute, then minutes: an idle console
/// redraws only when this text changes, once a minute on a long mission (a ticking
/// seconds counter cost every idle SSH link a frame a second).
pub fn clock(app: &App) -> String {
    let st = &app.state;
    let finished = st.completed.is_some() || st.failed.is_some();
    let end = if finished || app.runner_stopped {
        st.last_event_at.unwrap_or(app.now)
    } else {
        app.now
    };
    let secs = st
        .started_at
        .map_or(0, |s| (end.as_second() - s.as_second()).max(0));
    if finished || app.runner_stopped {
        // It no longer moves: the exact time costs no redraw.
        return super::duration(secs);
    }
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub fn render_footer(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = vec![];
    let k = |a: Action| app.keys.hint(a);
    let gate_shown = app.overlays.iter().any(|o| matches!(o, Overlay::Gate));
    // Only what works now: while a box has the keys, only its own; no pause or message
    // once the mission is over.
    let keys: Vec<(String, &str)> = if let Some(Overlay::Input(b)) = app.overlays.last() {
        let enter = match b.kind {
            InputKind::Search => "search",
            InputKind::Reject | InputKind::Message => "send",
        };
        vec![("⏎".to_string(), enter), ("Esc".to_string(), "cancel")]
    } else if app.state.gate.is_some() {
        let mut v = vec![
            (k(Action::Approve), "approve"),
            (k(Action::Reject), "reject"),
        ];
        if !gate_shown {
            v.push((k(Action::Waiting), "show it"));
        }
        v.extend([
            (k(Action::Open), "open"),
            (k(Action::NextTab), "tab"),
            (k(Action::Message), "msg"),
            (k(Action::Help), "help"),
            (k(Action::Quit), "quit"),
        ]);
        v
    } else {
        let mut v = vec![
            (format!("{}{}", k(Action::Up), k(Action::Down)), "move"),
            (k(Action::Open), "open"),
            (k(Action::NextTab), "tab"),
        ];
        if app.mission_running() {
            let pause = if app.state.paused.is_some() {
                "unpause"
            } else {
                "pause"
            };
            v.push((k(Action::TogglePause), pause));
            v.push((k(Action::Message), "msg"));
        }
        v.extend([(k(Action::Help), "help"), (k(Action::Quit), "quit")]);
        v
    };
    // A warning leads the line (a narrow terminal must not cut it off behind the keys);
    // good news follows them.
    if let Some((msg, false)) = &app.status {
        spans.push(Span::styled(format!(" {msg} "), theme.danger));
    }
    for (k, what) in keys {
        spans.push(Span::styled(format!(" {k}"), theme.key));
        spans.push(Span::styled(format!(" {what}"), theme.dim));
    }
    if let Some((msg, true)) = &app.status {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(msg.clone(), theme.ok));
    }
    Paragraph::new(super::fit_line(spans, area.width)).render(area, buf);
}
