//! How `edit_file` finds what a model meant: it copies text from `read_file`, which shows
//! lines without their `\r` and with its own indentation habits. Matching is done on LF
//! text (the file's CRLF endings are put back on write), exactly first, then line by line
//! ignoring leading and trailing whitespace (only when that finds exactly one place); a
//! miss quotes the lines nearest to what was asked, with their numbers.

/// The new text of `text` with `old` replaced by `new`, or why not.
pub fn apply(
    text: &str,
    old: &str,
    new: &str,
    replace_all: bool,
) -> Result<(String, usize), String> {
    // CRLF only when every line ending is (a mixed file is matched as it is).
    let crlf = text.contains("\r\n") && text.matches('\n').count() == text.matches("\r\n").count();
    let lf = |s: &str| {
        if crlf {
            s.replace("\r\n", "\n")
        } else {
            s.to_string()
        }
    };
    let (body, old, new) = (lf(text), lf(old), lf(new));
    let count = body.matches(&old).count();
    let replaced = match count {
        0 => {
            let Some((start, end)) = loose_match(&body, &old)? else {
                return Err(nearest(&body, &old));
            };
            let mut out = String::with_capacity(body.len() + new.len());
            out.push_str(&body[..start]);
            out.push_str(&new);
            out.push_str(&body[end..]);
            (out, 1)
        }
        1 => (body.replacen(&old, &new, 1), 1),
        n if replace_all => (body.replace(&old, &new), n),
        n => {
            return Err(format!(
                "old_string occurs {n} times; include more surrounding lines so it is unique, or pass replace_all: true"
            ));
        }
    };
    let (out, n) = replaced;
    Ok((if crlf { out.replace('\n', "\r\n") } else { out }, n))
}

/// Byte range of the one place where `old`'s lines equal the text's lines, whitespace at
/// either end of each line ignored. `Err` when it matches in several places.
fn loose_match(body: &str, old: &str) -> Result<Option<(usize, usize)>, String> {
    let want: Vec<&str> = old.trim_matches('\n').lines().map(str::trim).collect();
    if want.is_empty() || want.iter().all(|l| l.is_empty()) {
        return Ok(None);
    }
    // Line starts, so a match can be turned back into bytes.
    let mut starts = vec![0usize];
    starts.extend(body.match_indices('\n').map(|(i, _)| i + 1));
    let lines: Vec<&str> = body.split('\n').collect();
    let mut found = vec![];
    for i in 0..lines.len().saturating_sub(want.len() - 1) {
        if (0..want.len()).all(|k| lines[i + k].trim() == want[k]) {
            found.push(i);
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [i] => {
            let last = i + want.len() - 1;
            let end = starts[last] + lines[last].len();
            Ok(Some((starts[*i], end)))
        }
        many => Err(format!(
            "old_string was not found exactly, and matches {} places when whitespace is ignored (lines {}); include more surrounding lines",
            many.len(),
            many.iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The not-found message: the lines of `body` most like `old`'s first line, with numbers.
fn nearest(body: &str, old: &str) -> String {
    let first = old
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let lines: Vec<&str> = body.lines().collect();
    let best = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (similarity(l.trim(), first), i))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut msg =
        "old_string was not found (not even ignoring whitespace at line ends); read the file again and copy the text exactly".to_string();
    if let Some((score, i)) = best
        && score > 0.3
    {
        let from = i.saturating_sub(2);
        let to = (i + 3).min(lines.len());
        msg.push_str(&format!(
            "\nThe nearest lines (line {} is most like your first line):",
            i + 1
        ));
        for (n, l) in lines.iter().enumerate().take(to).skip(from) {
            msg.push_str(&format!("\n{:>5}\t{l}", n + 1));
        }
    }
    msg
}

/// How alike two lines are, 0 to 1 (character bigrams, Dice's coefficient).
fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = s.chars().collect();
        c.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (ga, mut gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let total = ga.len() + gb.len();
    let mut common = 0;
    for g in ga {
        if let Some(p) = gb.iter().position(|x| *x == g) {
            gb.swap_remove(p);
            common += 1;
        }
    }
    2.0 * common as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_match_what_read_file_showed_and_keep_their_endings() {
        let text = "fn a() {\r\n    1\r\n}\r\n";
        let (out, n) = apply(text, "fn a() {\n    1\n}", "fn a() {\n    2\n}", false).unwrap();
        assert_eq!((out.as_str(), n), ("fn a() {\r\n    2\r\n}\r\n", 1));
        let (out, _) = apply("x = 1\n", "x = 1", "x = 2", false).unwrap();
        assert_eq!(out, "x = 2\n", "LF files stay LF");
        let (out, _) = apply("a\r\nb\nc\n", "b", "B", false).unwrap();
        assert_eq!(out, "a\r\nB\nc\n", "a mixed file keeps each line's ending");
    }

    #[test]
    fn whitespace_is_forgiven_only_where_the_match_is_unique() {
        let text = "if x {\n\tcall();\n}\n";
        let (out, _) = apply(
            text,
            "if x {\n    call();\n}",
            "if y {\n\tcall();\n}",
            false,
        )
        .unwrap();
        assert_eq!(out, "if y {\n\tcall();\n}\n");
        let twice = "  a\nb\n  a\n";
        let e = apply(twice, "a  ", "z", false).unwrap_err();
        assert!(e.contains("2 places") && e.contains("lines 1, 3"), "{e}");
    }

    #[test]
    fn replace_all_and_ambiguity() {
        let e = apply("a a a", "a", "b", false).unwrap_err();
        assert!(e.contains("3 times") && e.contains("replace_all"), "{e}");
        assert_eq!(apply("a a a", "a", "b", true).unwrap(), ("b b b".into(), 3));
    }

    #[test]
    fn a_miss_quotes_the_nearest_lines() {
        let text = "fn main() {\n    let total = sum(&xs);\n    println!(\"{total}\");\n}\n";
        let e = apply(text, "let totl = sum(xs);", "x", false).unwrap_err();
        assert!(e.contains("line 2 is most like"), "{e}");
        assert!(e.contains("    2\t    let total = sum(&xs);"), "{e}");
    }
}
