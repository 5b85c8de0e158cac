//! File tools: read_file, write_file, edit_file, list_files, search.

use std::path::Path;

use serde::Deserialize;

use super::paths::confine;

const MAX_READ_LINES: usize = 2000;
/// Longer lines are cut (a minified file is one line): the rest is said, not shown.
const MAX_LINE_CHARS: usize = 2000;
/// A read_file result stops here; the model is told the offset to go on from.
const MAX_READ_BYTES: usize = 32 * 1024;
const MAX_LIST: usize = 1000;
const MAX_MATCHES: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    pub path: String,
    /// 1-based first line.
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteArgs {
    pub path: String,
    pub content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditArgs {
    pub path: String,
    pub old_string: String,
    pub new_string: String,
    #[serde(default)]
    pub replace_all: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    pub path: Option<String>,
    pub glob: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    pub pattern: String,
    pub path: Option<String>,
    /// Only files matching this glob (e.g. `*.rs`, `src/**/*.ts`).
    #[serde(default)]
    pub glob: Option<String>,
    #[serde(default)]
    pub case_insensitive: bool,
    /// Lines of context before and after each match.
    #[serde(default)]
    pub context: Option<usize>,
}

pub fn read_file(root: &Path, a: ReadArgs) -> Result<String, String> {
    let p = confine(root, &a.path, false).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&p).map_err(|e| format!("cannot read `{}`: {e}", a.path))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) if !bytes.contains(&0) => t,
        _ => {
            return Err(format!(
                "`{}` is a binary file, {} bytes: not shown (run_command with `file`, `xxd | head` or the format's own tool to inspect it)",
                a.path,
                bytes.len()
            ));
        }
    };
    let total = text.lines().count();
    let start = a.offset.unwrap_or(1).clamp(1, total.max(1));
    let limit = a.limit.unwrap_or(MAX_READ_LINES).clamp(1, MAX_READ_LINES);
    let mut out = String::new();
    let mut shown_end = start - 1;
    let mut cut_lines = 0;
    for (i, line) in text.lines().enumerate().skip(start - 1).take(limit) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let row = match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((at, _)) => {
                cut_lines += 1;
                format!(
                    "{:>5}\t{}[… line cut: {} more characters]\n",
                    i + 1,
                    &line[..at],
                    line[at..].chars().count()
                )
            }
            None => format!("{:>5}\t{line}\n", i + 1),
        };
        if out.len() + row.len() > MAX_READ_BYTES && shown_end >= start {
            break;
        }
        out.push_str(&row);
        shown_end = i + 1;
    }
    if shown_end < total {
        out.push_str(&format!(
            "[lines {start}-{shown_end} of {total} shown ({} KiB at most per read); pass offset={} to read on]\n",
            MAX_READ_BYTES / 1024,
            shown_end + 1
        ));
    }
    if cut_lines > 0 {
        out.push_str(&format!(
            "[{cut_lines} line(s) longer than {MAX_LINE_CHARS} characters were cut; use search or run_command (e.g. `cut -c`) to see the rest]\n"
        ));
    }
    if total == 0 {
        out.push_str("[empty file]\n");
    }
    Ok(out)
}

pub fn write_file(root: &Path, a: WriteArgs) -> Result<String, String> {
    let p = confine(root, &a.path, true).map_err(|e| e.to_string())?;
    if p.is_dir() {
        return Err(format!("`{}` is a directory", a.path));
    }
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create directories for `{}`: {e}", a.path))?;
    }
    std::fs::write(&p, a.content.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", a.path))?;
    Ok(format!(
        "wrote {} ({} lines)",
        a.path,
        a.content.lines().count()
    ))
}

pub fn edit_file(root: &Path, a: EditArgs) -> Result<String, String> {
    let p = confine(root, &a.path, true).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read `{}`: {e}", a.path))?;
    if a.old_string.is_empty() {
        return Err("old_string is empty; use write_file to create a file".into());
    }
    let (new, n) = super::edit::apply(&text, &a.old_string, &a.new_string, a.replace_all)
        .map_err(|e| format!("{}: {e}", a.path))?;
    std::fs::write(&p, new).map_err(|e| format!("cannot write `{}`: {e}", a.path))?;
    Ok(if n == 1 {
        format!("edited {}", a.path)
    } else {
        format!("edited {} ({n} places)", a.path)
    })
}

fn walker(root: &Path, base: &Path) -> ignore::WalkBuilder {
    let mut w = ignore::WalkBuilder::new(base);
    w.hidden(false)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b));
    let root = root.to_path_buf();
    w.filter_entry(move |e| {
        let rel = e.path().strip_prefix(&root).unwrap_or(e.path());
        !matches!(rel.components().next(), Some(std::path::Component::Normal(n)) if n == ".git" || n == ".mission")
    });
    w
}

pub fn list_files(root: &Path, a: ListArgs) -> Result<String, String> {
    let rel = a.path.as_deref().unwrap_or(".");
    let base = confine(root, rel, false).map_err(|e| e.to_string())?;
    let mut walk = walker(root, &base);
    if let Some(g) = &a.glob {
        let mut o = ignore::overrides::OverrideBuilder::new(&base);
        o.add(g).map_err(|e| format!("bad glob `{g}`: {e}"))?;
        walk.overrides(o.build().map_err(|e| format!("bad glob `{g}`: {e}"))?);
    }
    let mut out = vec![];
    let mut more = 0;
    for entry in walk.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let p = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if out.len() < MAX_LIST {
            out.push(p.display().to_string());
        } else {
            more += 1;
        }
    }
    if out.is_empty() {
        return Ok("[no files]".into());
    }
    let mut s = out.join("\n");
    if more > 0 {
        s.push_str(&format!(
            "\n[… {more} more files; narrow with path or glob]"
        ));
    }
    Ok(s)
}

pub fn search(root: &Path, a: SearchArgs) -> Result<String, String> {
    let re = regex::RegexBuilder::new(&a.pattern)
        .case_insensitive(a.case_insensitive)
        .build()
        .map_err(|e| format!("bad pattern: {e}"))?;
    let rel = a.path.as_deref().unwrap_or(".");
    let base = confine(root, rel, false).map_err(|e| e.to_string())?;
    let context = a.context.unwrap_or(0).min(10);
    let mut out = vec![];
    let mut more = 0;
    let mut walk = walker(root, &base);
    if let Some(g) = &a.glob {
        let mut o = ignore::overrides::OverrideBuilder::new(&base);
        o.add(g).map_err(|e| format!("bad glob `{g}`: {e}"))?;
        walk.overrides(o.build().map_err(|e| format!("bad glob `{g}`: {e}"))?);
    }
    for entry in walk.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if bytes.iter().take(8192).any(|&b| b == 0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let p = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .display()
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        let mut shown_to = 0; // lines before this one were already printed as context
        for (i, line) in lines.iter().enumerate() {
            if !re.is_match(line) {
                continue;
            }
            if out.len() >= MAX_MATCHES {
                more += 1;
                continue;
            }
            let cut = |l: &str| l.chars().take(300).collect::<String>();
            if context == 0 {
                out.push(format!("{p}:{}:{}", i + 1, cut(line)));
                continue;
            }
            let from = i.saturating_sub(context).max(shown_to);
            let to = (i + context + 1).min(lines.len());
            if from > shown_to && shown_to > 0 {
                out.push("--".into());
            }
            for (k, l) in lines.iter().enumerate().take(to).skip(from) {
                let sep = if k == i { ':' } else { '-' };
                out.push(format!("{p}{sep}{}{sep}{}", k + 1, cut(l)));
            }
            shown_to = to;
        }
    }
    if out.is_empty() {
        return Ok("[no matches]".into());
    }
    let mut s = out.join("\n");
    if more > 0 {
        s.push_str(&format!(
            "\n[… {more} more matches; narrow the pattern or path]"
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(r.join("src")).unwrap();
        std::fs::create_dir_all(r.join(".mission")).unwrap();
        std::fs::create_dir_all(r.join("target")).unwrap();
        std::fs::write(r.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(r.join("src/lib.rs"), "fn a() {}\nfn b() {}\n").unwrap();
        std::fs::write(r.join("target/junk.rs"), "fn a() {}\n").unwrap();
        std::fs::write(r.join(".mission/contract.json"), "{}").unwrap();
        (d, r)
    }

    #[test]
    fn reads_are_capped_per_line_and_per_result_and_binary_is_named() {
        let (_d, r) = repo();
        let long = "x".repeat(5000);
        std::fs::write(r.join("min.js"), format!("{long}\nshort\n")).unwrap();
        let read = |path: &str, offset: Option<usize>| {
            read_file(
                &r,
                ReadArgs {
                    path: path.into(),
                    offset,
                    limit: None,
                },
            )
        };
        let out = read("min.js", None).unwrap();
        assert!(out.contains("[… line cut: 3000 more characters]"), "{out}");
        assert!(out.contains("    2\tshort"), "{out}");
        assert!(out.len() < 2200, "{}", out.len());
        let many: String = (0..3000)
            .map(|i| format!("line {i} {}\n", "y".repeat(40)))
            .collect();
        std::fs::write(r.join("big.txt"), &many).unwrap();
        let out = read("big.txt", None).unwrap();
        assert!(out.len() <= 33 * 1024, "{}", out.len());
        let next = out
            .lines()
            .last()
            .and_then(|l| l.split("offset=").nth(1))
            .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("says how to read on: {}", out.lines().last().unwrap()));
        let more = read("big.txt", Some(next)).unwrap();
        assert!(
            more.starts_with(&format!("{next:>5}\tline {}", next - 1)),
            "{}",
            &more[..80]
        );
        std::fs::write(r.join("crlf.txt"), "a\r\nb\r\n").unwrap();
        assert_eq!(read("crlf.txt", None).unwrap(), "    1\ta\n    2\tb\n");
        std::fs::write(r.join("img.bin"), [0x89, b'P', b'N', b'G', 0xff, 0xfe]).unwrap();
        let e = read("img.bin", None).unwrap_err();
        assert!(e.contains("binary file, 6 bytes"), "{e}");
    }

    #[test]
    fn edit_requires_a_unique_match() {
        let (_d, r) = repo();
        let e = |old: &str| {
            edit_file(
                &r,
                EditArgs {
                    path: "src/lib.rs".into(),
                    old_string: old.into(),
                    new_string: "X".into(),
                    replace_all: false,
                },
            )
        };
        assert!(e("fn ").unwrap_err().contains("2 times"));
        assert!(e("nope").unwrap_err().contains("not found"));
        e("fn a").unwrap();
        assert!(
            std::fs::read_to_string(r.join("src/lib.rs"))
                .unwrap()
                .starts_with("X() {}")
        );
    }

    #[test]
    fn list_and_search_skip_ignored_and_harness_dirs() {
        let (_d, r) = repo();
        let l = list_files(
            &r,
            ListArgs {
                path: None,
                glob: None,
            },
        )
        .unwrap();
        assert!(l.contains("src/lib.rs"));
        assert!(!l.contains("target/") && !l.contains(".mission"), "{l}");
        let s = search(
            &r,
            SearchArgs {
                pattern: "fn b".into(),
                path: None,
                glob: None,
                case_insensitive: false,
                context: None,
            },
        )
        .unwrap();
        assert_eq!(s, "src/lib.rs:2:fn b() {}");
        let find = |pattern: &str, glob: Option<&str>, ci: bool, context: Option<usize>| {
            search(
                &r,
                SearchArgs {
                    pattern: pattern.into(),
                    path: None,
                    glob: glob.map(Into::into),
                    case_insensitive: ci,
                    context,
                },
            )
            .unwrap()
        };
        assert_eq!(find("FN B", None, false, None), "[no matches]");
        assert_eq!(find("FN B", None, true, None), "src/lib.rs:2:fn b() {}");
        assert_eq!(find("fn b", Some("*.md"), false, None), "[no matches]");
        assert_eq!(
            find("fn b", Some("*.rs"), false, None),
            "src/lib.rs:2:fn b() {}"
        );
        let c = find("fn b", None, false, Some(1));
        assert!(
            c.contains("src/lib.rs-1-") && c.contains("src/lib.rs:2:fn b() {}"),
            "{c}"
        );
        let g = list_files(
            &r,
            ListArgs {
                path: None,
                glob: Some("*.toml".into()),
            },
        )
        .unwrap();
        assert_eq!(g, "[no files]");
    }

    #[test]
    fn read_pages_with_offset_and_limit() {
        let (_d, r) = repo();
        let out = read_file(
            &r,
            ReadArgs {
                path: "src/lib.rs".into(),
                offset: Some(2),
                limit: Some(1),
            },
        )
        .unwrap();
        assert_eq!(out, "    2\tfn b() {}\n");
        let out = read_file(
            &r,
            ReadArgs {
                path: "src/lib.rs".into(),
                offset: None,
                limit: Some(1),
            },
        )
        .unwrap();
        assert!(out.contains("offset=2"), "{out}");
    }

    #[test]
    fn writing_the_contract_is_refused() {
        let (_d, r) = repo();
        let e = write_file(
            &r,
            WriteArgs {
                path: ".mission/contract.json".into(),
                content: "x".into(),
            },
        )
        .unwrap_err();
        assert!(e.contains("may not modify"), "{e}");
        assert_eq!(
            std::fs::read_to_string(r.join(".mission/contract.json")).unwrap(),
            "{}"
        );
    }
}
