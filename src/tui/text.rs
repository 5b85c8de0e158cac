//! Text helpers every view and overlay shares: durations, token counts, lines cut to a
//! width with a visible `…`.

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
