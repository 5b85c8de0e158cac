//! Drawing the console: a pure function of `App` and `Theme`.

mod activity;
mod budget;
mod detail;
mod header;
pub use header::clock;
mod tree;

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
    // The plan grows with the terminal (titles cut less), the detail keeps the most;
    // on a narrow one the plan gives way first.
    let tree_width = if area.width < 80 {
        area.width * 2 / 5
    } else {
        (area.width * 3 / 10).clamp(30, 64)
    };
    let [tree_area, detail_area] =
        Layout::horizontal([Constraint::Length(tree_width), Constraint::Min(20)]).areas(body);
    let budget_width = if area.width >= 120 { 44 } else { 30 };
    let [feed_area, budget_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(budget_width)]).areas(bottom);

    app.panes.set(super::app::Panes {
        tree: tree_area,
        tree_offset: tree::offset(app, tree_area),
        detail: detail_area,
        activity: feed_area,
    });
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

pub use super::text::{duration, fit_line, short_sha, tokens};
