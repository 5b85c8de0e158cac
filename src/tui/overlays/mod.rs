//! Popups drawn over the console; the top one gets keys first (see `App::on_key`).

mod gate;
mod help;
mod input;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};

use super::app::{App, Overlay};
use super::theme::Theme;

/// Draws every overlay, bottom first; returns where the text cursor goes, if anywhere.
pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let mut cursor = None;
    for o in &app.overlays {
        cursor = match o {
            Overlay::Help => {
                help::render(&app.keys, app.help_scroll, theme, area, buf);
                None
            }
            Overlay::Gate => {
                gate::render(app, theme, area, buf);
                None
            }
            Overlay::Input(b) => Some(input::render(b.kind, &b.input, theme, area, buf)),
            Overlay::ConfirmQuit => {
                input::confirm_quit(theme, area, buf);
                None
            }
        };
    }
    cursor
}

/// A text box over `area` (for consoles other than the mission's: the fleet); returns
/// where the text cursor goes.
pub fn render_text_box(
    b: &super::app::TextBox,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Position {
    input::render(b.kind, &b.input, theme, area, buf)
}

/// A rectangle of `w`×`h` centred in `area`, clipped to it.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
