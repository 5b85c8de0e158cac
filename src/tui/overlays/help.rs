//! Every key, from the keymap table; scrolls when the terminal is shorter than the list.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::super::theme::Theme;
use super::centered;
use crate::keys::Keymap;

/// Columns of the keys, right-aligned, and the gap after them.
const KEYS: usize = 15;
const GAP: usize = 2;

pub fn render(keys: &Keymap, scroll: u16, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let help = keys.help();
    let box_width = area.width.min(76);
    let width = box_width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = vec![];
    for (keys, what) in help {
        // A description too long for the box goes on under itself, not at the margin.
        let text = Line::raw(format!("{}{what}", " ".repeat(KEYS + GAP)));
        for (i, mut row) in crate::tui::wrap::keep_indent(text, width)
            .into_iter()
            .enumerate()
        {
            for s in &mut row.spans {
                s.style = theme.text;
            }
            if i == 0 {
                let rest: String = row.to_string().chars().skip(KEYS + GAP).collect();
                row = Line::from(vec![
                    Span::styled(format!("{keys:>KEYS$}{}", " ".repeat(GAP)), theme.key),
                    Span::styled(rest, theme.text),
                ]);
            }
            lines.push(row);
        }
    }
    lines.push(Line::styled(
        format!("{}Esc or ? closes this help", " ".repeat(KEYS + GAP)),
        theme.dim,
    ));
    let rect = centered(area, box_width, lines.len() as u16 + 2);
    Clear.render(rect, buf);
    let inner_height = rect.height.saturating_sub(2) as usize;
    let last = lines.len().saturating_sub(inner_height) as u16;
    let scroll = scroll.min(last);
    let title = match (scroll, last) {
        (_, 0) => " Keys ",
        (s, l) if s < l => " Keys (↓ for more) ",
        _ => " Keys (↑ for more) ",
    };
    Paragraph::new(lines)
        .scroll((scroll, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border_focus)
                .title(Span::styled(title, theme.title)),
        )
        .style(theme.overlay)
        .render(rect, buf);
}
