//! Drawing the console: a pure function of `App` and `Theme`.

mod activity;
mod budget;
mod detail;
mod header;
mod tree;
pub mod wrap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::app::App;
use super::overlays;
use super::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let feed_height = if area.height >= 40 { 12 } else { 6 };
    let [header_area, body, bottom, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(feed_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let tree_width = if area.width >= 120 { 44 } else { 30 };
    let [tree_area, detail_area] =
        Layout::horizontal([Constraint::Length(tree_width), Constraint::Min(20)]).areas(body);
    let budget_width = if area.width >= 120 { 44 } else { 30 };
    let [feed_area, budget_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(budget_width)]).areas(bottom);

    let buf = frame.buffer_mut();
    header::render(app, theme, header_area, buf);
    tree::render(app, theme, tree_area, buf);
    detail::render(app, theme, detail_area, buf);
    activity::render(app, theme, feed_area, buf);
    budget::render(app, theme, budget_area, buf);
    header::render_footer(app, theme, footer, buf);
    if let Some(cursor) = overlays::render(app, theme, area, frame.buffer_mut()) {
        frame.set_cursor_position(cursor);
    }
}

/// `1h02m`, `3m05s`, `12s`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Short for thousands and millions of tokens.
pub fn tokens(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

pub use crate::mission::narrate::short as short_sha;

/// `spans` cut to `width` columns, the cut marked with `…` (never a word silently
/// sheared off at the edge of an 80-column terminal).
pub fn fit_line(
    spans: Vec<ratatui::text::Span<'static>>,
    width: u16,
) -> ratatui::text::Line<'static> {
    let width = width as usize;
    let total: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width || width == 0 {
        return ratatui::text::Line::from(spans);
    }
    let mut left = width.saturating_sub(1);
    let mut out = vec![];
    let mut last_style = ratatui::style::Style::default();
    for s in spans {
        if left == 0 {
            break;
        }
        let n = s.content.chars().count();
        last_style = s.style;
        if n <= left {
            left -= n;
            out.push(s);
        } else {
            let cut: String = s.content.chars().take(left).collect();
            out.push(ratatui::text::Span::styled(cut, s.style));
            left = 0;
        }
    }
    out.push(ratatui::text::Span::styled("…", last_style));
    ratatui::text::Line::from(out)
}
