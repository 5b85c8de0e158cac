//! Word wrap that keeps a line's indentation on the rows it wraps onto (ratatui's wrap
//! starts them at the margin, which breaks nested lists and indented descriptions).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// `line` as rows of at most `width` columns, cut at spaces where possible; rows after the
/// first start with the line's own leading spaces. Styles are kept span by span.
pub fn keep_indent(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| {
            let style = line.style.patch(s.style);
            s.content.chars().map(move |c| (c, style))
        })
        .collect();
    if cells.len() <= width || width < 8 {
        return vec![owned(&cells)];
    }
    let indent = cells
        .iter()
        .take_while(|(c, _)| *c == ' ')
        .count()
        .min(width / 2);
    let mut rows = vec![];
    let mut rest: &[(char, Style)] = &cells;
    let mut first = true;
    while !rest.is_empty() {
        let room = if first { width } else { width - indent };
        if rest.len() <= room {
            rows.push(row(rest, if first { 0 } else { indent }));
            break;
        }
        // The last space within the room, unless that leaves the row nearly empty.
        let cut = rest[..=room]
            .iter()
            .rposition(|(c, _)| *c == ' ')
            .filter(|&i| i > room / 3)
            .unwrap_or(room);
        rows.push(row(&rest[..cut], if first { 0 } else { indent }));
        rest = &rest[cut..];
        while rest.first().is_some_and(|(c, _)| *c == ' ') {
            rest = &rest[1..];
        }
        first = false;
    }
    rows
}

fn row(cells: &[(char, Style)], indent: usize) -> Line<'static> {
    let mut line = owned(cells);
    if indent > 0 {
        line.spans.insert(0, Span::raw(" ".repeat(indent)));
    }
    line
}

fn owned(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = vec![];
    for (c, style) in cells {
        match spans.last_mut() {
            Some(s) if s.style == *style => s.content.to_mut().push(*c),
            _ => spans.push(Span::styled(c.to_string(), *style)),
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_rows_keep_the_indent_and_break_at_spaces() {
        let l =
            Line::raw("      Add src/parse.rs with parse_numbers: whitespace-separated numbers");
        let rows: Vec<String> = keep_indent(l, 30).iter().map(|r| r.to_string()).collect();
        assert_eq!(
            rows,
            [
                "      Add src/parse.rs with",
                "      parse_numbers:",
                "      whitespace-separated",
                "      numbers"
            ]
        );
        assert!(rows.iter().all(|r| r.chars().count() <= 30));
        assert_eq!(keep_indent(Line::raw("short"), 30).len(), 1);
    }
}
