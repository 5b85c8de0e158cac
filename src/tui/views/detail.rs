//! The detail of the selection: a feature's handoff in tabs, or a milestone's contract
//! and validation results.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Tabs, Widget, Wrap};

use super::super::app::{App, Focus, Row, Tab};
use super::super::theme::Theme;
use super::{short_sha, tokens};

mod milestone;
use crate::mission::CommandRecord;
use crate::mission::state::{FeaturePhase, FeatureState};
use milestone::milestone;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let border = if app.focus == Focus::Detail {
        theme.border_focus
    } else {
        theme.border
    };
    let (title, lines, tabs) = match app.selected_row() {
        Some(Row::Milestone { index }) => {
            let m = &app.state.milestones[index];
            (
                format!(" {} {} ", m.id, m.title),
                milestone(app, theme, m),
                false,
            )
        }
        Some(Row::Feature { milestone, index }) => {
            let f = &app.state.milestones[milestone].features[index];
            (
                format!(" {} {} ", f.plan.id, f.plan.title),
                // The content: inside the borders, under the tabs.
                feature(
                    app,
                    theme,
                    f,
                    area.width.saturating_sub(2),
                    area.height.saturating_sub(3),
                ),
                true,
            )
        }
        None => (
            " Detail ".into(),
            vec![Line::styled("nothing selected yet", theme.dim)],
            false,
        ),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.title));
    if let Some(q) = &app.detail.search {
        block = block.title_top(Line::styled(format!(" /{q} "), theme.key).right_aligned());
    }
    let inner = block.inner(area);
    block.render(area, buf);
    let content = if tabs {
        let [tab_area, content] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
        let selected = Tab::ALL
            .iter()
            .position(|t| *t == app.detail.tab)
            .unwrap_or(0);
        // Titles, a space each side, a divider between: when that does not fit, short
        // titles without padding, so the active tab always shows.
        // (The last tab's trailing space may be cut.)
        let full: usize = Tab::ALL.iter().map(|t| t.title().len() + 3).sum::<usize>() - 2;
        let tabs = if full <= tab_area.width as usize {
            Tabs::new(Tab::ALL.iter().map(|t| t.title()))
        } else {
            Tabs::new(Tab::ALL.iter().map(|t| t.short())).padding("", "")
        };
        tabs.select(selected)
            .style(theme.dim)
            .highlight_style(theme.tab_active)
            .divider("│")
            .render(tab_area, buf);
        content
    } else {
        inner
    };
    // Never scrolled past the end: a blank pane says nothing.
    let width = content.width.max(1) as usize;
    // A diff line cut by the pane's width keeps its +/- on every row it takes.
    let lines: Vec<Line> = if tabs && app.detail.tab == Tab::Diff {
        lines
            .into_iter()
            .flat_map(|l| hard_wrap_marked(l, width))
            .collect()
    } else {
        lines
            .into_iter()
            .flat_map(|l| crate::tui::wrap::keep_indent(l, width))
            .collect()
    };
    // The rows as laid out, for `/` to search; then what the search finds, marked.
    let laid_out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let lines: Vec<Line> = match app.detail.search.as_deref() {
        Some(q) => lines
            .into_iter()
            .map(|l| crate::tui::search::highlight(l, q))
            .collect(),
        None => lines,
    };
    let rows: usize = lines.iter().map(|l| wrapped_rows(l, width)).sum();
    let last = rows.saturating_sub(content.height as usize);
    let scroll = (app.detail.scroll as usize).min(last) as u16;
    // Remembered, so that scrolling back up from an overshoot moves at once.
    app.detail
        .laid_out(laid_out, last.min(u16::MAX as usize) as u16);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(content, buf);
}

/// Rows a line takes when wrapped at word boundaries into `width` columns (as the
/// paragraph wraps it), so that scrolling stops at the real end.
fn wrapped_rows(line: &Line, width: usize) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let (mut rows, mut used) = (1, 0);
    for word in text.split_inclusive(' ') {
        let mut n = word.chars().count();
        if used + n > width && used > 0 {
            rows += 1;
            used = 0;
        }
        while n > width {
            rows += 1;
            n -= width;
        }
        used += n;
    }
    rows
}

fn kv<'a>(theme: &Theme, key: &'a str, value: impl Into<Span<'a>>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:<11}"), theme.dim),
        value.into(),
    ])
}

fn exit_span(theme: &Theme, code: Option<i32>, timed_out: bool) -> Span<'static> {
    match (timed_out, code) {
        (true, _) => Span::styled("timeout ", theme.danger),
        (false, Some(0)) => Span::styled("exit   0", theme.ok),
        (false, Some(c)) => Span::styled(format!("exit {c:>3}"), theme.danger),
        (false, None) => Span::styled("killed  ", theme.danger),
    }
}

fn command_line(theme: &Theme, c: &CommandRecord) -> Line<'static> {
    Line::from(vec![
        exit_span(theme, c.exit_code, c.timed_out),
        Span::styled(
            format!(" {:>6.1}s  ", c.duration_ms as f64 / 1000.0),
            theme.dim,
        ),
        Span::styled(
            c.command.clone(),
            if c.exit_code == Some(0) {
                theme.text
            } else {
                theme.failed
            },
        ),
    ])
}

/// The fewest transcript lines the Summary of a running feature shows; it shows as many
/// as fit (the Transcript tab has them all).
const LIVE_LINES: usize = 3;

fn feature<'a>(
    app: &'a App,
    theme: &Theme,
    f: &'a FeatureState,
    width: u16,
    height: u16,
) -> Vec<Line<'a>> {
    let id = &f.plan.id;
    let handoff = app
        .handoffs
        .get(id)
        .filter(|h| Some(&h.commit) == f.commit.as_ref());
    match app.detail.tab {
        Tab::Summary => {
            let (g, label, style) = super::tree::feature_look(app, f, theme);
            let mut state = format!("{g} {label}");
            if f.attempts > 0 {
                state.push_str(&format!(" · attempt {}", f.attempts));
            }
            if f.corrective {
                state.push_str(" · corrective");
            }
            let mut lines = vec![kv(theme, "State", Span::styled(state, style))];
            if let Some(c) = &f.commit {
                lines.push(kv(
                    theme,
                    "Commit",
                    Span::styled(short_sha(c).to_string(), theme.text),
                ));
            }
            if !f.plan.fulfills.is_empty() {
                lines.push(kv(
                    theme,
                    "Fulfills",
                    Span::styled(f.plan.fulfills.join(", "), theme.text),
                ));
            }
            if handoff.is_none() && f.phase == FeaturePhase::Running {
                live(app, theme, id, width, height, &mut lines);
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(f.plan.description.clone(), theme.text));
            if let Some(h) = handoff {
                lines.push(Line::raw(""));
                lines.push(kv(
                    theme,
                    "Handoff",
                    Span::styled(h.report.status.as_str(), theme.ok),
                ));
                lines.push(Line::styled(h.report.summary.clone(), theme.text));
                lines.push(Line::raw(""));
                lines.push(kv(
                    theme,
                    "Changed",
                    Span::styled(
                        format!(
                            "{} file(s), +{} −{}: {}",
                            h.diff_stat.files_changed,
                            h.diff_stat.insertions,
                            h.diff_stat.deletions,
                            h.files_changed.join(", ")
                        ),
                        theme.text,
                    ),
                ));
                let failed = h.commands.iter().filter(|c| c.exit_code != Some(0)).count();
                lines.push(kv(
                    theme,
                    "Commands",
                    Span::styled(
                        format!("{} run, {failed} failed", h.commands.len()),
                        if failed > 0 { theme.warn } else { theme.text },
                    ),
                ));
                lines.push(match &h.agent {
                    Some(a) => kv(
                        theme,
                        "Cost",
                        Span::styled(format!("unknown (external agent {a})"), theme.warn),
                    ),
                    None => kv(
                        theme,
                        "Tokens",
                        Span::styled(
                            format!(
                                "{} in · {} out",
                                tokens(h.usage.tokens_in),
                                tokens(h.usage.tokens_out)
                            ),
                            theme.text,
                        ),
                    ),
                });
            }
            if let Some(why) = &f.last_failure {
                lines.push(Line::raw(""));
                lines.push(kv(theme, "Failed", Span::styled(why.clone(), theme.danger)));
            }
            lines
        }
        Tab::Commands => {
            let cmds = handoff
                .map(|h| &h.commands)
                .or_else(|| app.commands.get(id));
            let mut lines: Vec<Line> = match cmds {
                Some(c) if !c.is_empty() => c.iter().map(|c| command_line(theme, c)).collect(),
                _ => vec![Line::styled("no commands yet", theme.dim)],
            };
            if let Some(h) = handoff.filter(|h| !h.mcp_calls.is_empty()) {
                lines.push(Line::raw(""));
                lines.push(Line::styled("MCP calls", theme.title));
                for m in &h.mcp_calls {
                    lines.push(Line::from(vec![
                        Span::styled(
                            if m.ok { "  ✔" } else { "  ✘" },
                            if m.ok { theme.ok } else { theme.failed },
                        ),
                        Span::styled(
                            format!(" {:>6.1}s  ", m.duration_ms as f64 / 1000.0),
                            theme.dim,
                        ),
                        Span::styled(
                            format!("{}/{} {}", m.server, m.tool, m.arguments),
                            theme.text,
                        ),
                        Span::styled(format!(" → {}", m.result), theme.dim),
                    ]));
                }
            }
            lines
        }
        Tab::Issues => {
            let mut lines = vec![];
            if let Some(h) = handoff {
                for (title, items) in [
                    ("Issues", &h.report.issues),
                    ("Deviations", &h.report.deviations),
                ] {
                    lines.push(Line::styled(title, theme.title));
                    if items.is_empty() {
                        lines.push(Line::styled("  none reported", theme.dim));
                    }
                    for i in items {
                        lines.push(Line::from(vec![
                            Span::styled("  • ", theme.warn),
                            Span::styled(i.clone(), theme.text),
                        ]));
                    }
                }
            } else {
                lines.push(Line::styled("no handoff yet", theme.dim));
            }
            if !f.reviews.is_empty() {
                lines.push(Line::styled("Reviews", theme.title));
            }
            for rv in &f.reviews {
                let who = if rv.reviewer.is_harness() {
                    "handoff check".to_string()
                } else {
                    format!("review {}", rv.reviewer)
                };
                lines.push(Line::from(vec![
                    Span::styled(
                        if rv.pass { "  ✔ " } else { "  ✘ " },
                        if rv.pass { theme.ok } else { theme.danger },
                    ),
                    Span::styled(
                        if rv.round == 0 {
                            who
                        } else {
                            format!("{who}, after fix round {}", rv.round)
                        },
                        theme.text,
                    ),
                ]));
                for x in &rv.findings {
                    let style = match x.severity {
                        crate::mission::Severity::High => theme.danger,
                        crate::mission::Severity::Medium => theme.warn,
                        _ => theme.dim,
                    };
                    let at = x.path.as_ref().map(|p| match x.line {
                        Some(l) => format!("{p}:{l} "),
                        None => format!("{p} "),
                    });
                    lines.push(Line::from(vec![
                        Span::styled(format!("      {} ", x.severity), style),
                        Span::styled(at.unwrap_or_default(), theme.dim),
                        Span::styled(x.message.clone(), theme.text),
                    ]));
                }
            }
            if let Some(why) = &f.last_failure {
                lines.push(Line::styled("Last failure", theme.title));
                lines.push(Line::styled(format!("  {why}"), theme.danger));
            }
            lines
        }
        Tab::Diff => match app.diffs.get(id) {
            Some(d) if !d.is_empty() => d.lines().map(|l| diff_line(theme, l)).collect(),
            Some(_) => vec![Line::styled("no changes", theme.dim)],
            None if f.commit.is_none() => vec![Line::styled("not committed yet", theme.dim)],
            None => vec![Line::styled("loading…", theme.dim)],
        },
        Tab::Transcript => match app.transcripts.get(id) {
            Some(t) => t.iter().map(|l| transcript_line(theme, l)).collect(),
            None => vec![Line::styled("no transcript yet", theme.dim)],
        },
    }
}

/// The agent at work on a running feature: the newest lines of its transcript, as many
/// as fit above the feature's description (at least `LIVE_LINES`).
fn live(app: &App, theme: &Theme, id: &str, width: u16, height: u16, lines: &mut Vec<Line>) {
    lines.push(Line::raw(""));
    let run = app.feature_runs.get(id).map_or("", String::as_str);
    lines.push(crate::tui::text::fit_line(
        vec![
            Span::styled("Live ", theme.title),
            Span::styled(format!(" {run}"), theme.dim),
        ],
        width,
    ));
    let used: usize = lines
        .iter()
        .map(|l| wrapped_rows(l, width.max(1) as usize))
        .sum();
    let room = (height as usize).saturating_sub(used).max(LIVE_LINES);
    let live = app
        .transcripts
        .get(id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if live.is_empty() {
        let said = app.agent_said.get(id).map(|s| format!("“{s}”"));
        lines.push(Line::styled(
            said.unwrap_or_else(|| "starting…".into()),
            theme.dim,
        ));
    }
    for l in &live[live.len().saturating_sub(room)..] {
        let style = transcript_line(theme, l).style;
        lines.push(crate::tui::text::fit_line(
            vec![Span::styled(l.clone(), style)],
            width,
        ));
    }
}

/// Cuts a one-span line into rows of `width` characters; rows after the first start with
/// the line's marker (`+`, `-` or a space), so a wrapped diff line still says what it is.
fn hard_wrap_marked(line: Line<'_>, width: usize) -> Vec<Line<'_>> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let style = line.spans.first().map(|s| s.style).unwrap_or(line.style);
    if text.chars().count() <= width || width < 4 {
        return vec![line];
    }
    let marker = match text.chars().next() {
        Some(c @ ('+' | '-')) if !text.starts_with("+++") && !text.starts_with("---") => c,
        _ => ' ',
    };
    let chars: Vec<char> = text.chars().collect();
    let mut rows = vec![Line::styled(
        chars[..width].iter().collect::<String>(),
        style,
    )];
    for chunk in chars[width..].chunks(width - 1) {
        let mut row = String::with_capacity(width);
        row.push(marker);
        row.extend(chunk);
        rows.push(Line::styled(row, style));
    }
    rows
}

fn diff_line<'a>(theme: &Theme, l: &'a str) -> Line<'a> {
    let style: Style = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("diff ") {
        theme.title
    } else if l.starts_with('+') {
        theme.diff_add
    } else if l.starts_with('-') {
        theme.diff_del
    } else if l.starts_with("@@") {
        theme.diff_hunk
    } else {
        theme.text
    };
    Line::styled(l, style)
}

fn transcript_line<'a>(theme: &Theme, l: &'a str) -> Line<'a> {
    let style = match l.chars().next() {
        Some('▸') => theme.key,
        Some('◂') => theme.text,
        Some('✘') => theme.danger,
        _ => theme.dim,
    };
    Line::styled(l, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_diff_line_keeps_its_marker_on_every_row() {
        let l = Line::raw(format!("+{}", "x".repeat(25)));
        let rows = hard_wrap_marked(l, 10);
        let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(text, ["+xxxxxxxxx", "+xxxxxxxxx", "+xxxxxxx"]);
        assert_eq!(hard_wrap_marked(Line::raw("short"), 10).len(), 1);
    }
}
