//! File tools: read_file, write_file, edit_file, list_files, search.

use std::path::Path;

use serde::Deserialize;

use super::paths::confine;

const MAX_READ_LINES: usize = 2000;
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
}

pub fn read_file(root: &Path, a: ReadArgs) -> Result<String, String> {
    let p = confine(root, &a.path, false).map_err(|e| e.to_string())?;
    let text = std::fs::read(&p).map_err(|e| format!("cannot read `{}`: {e}", a.path))?;
    if text.contains(&0) {
        return Err(format!(
            "`{}` is a binary file ({} bytes)",
            a.path,
            text.len()
        ));
    }
    let text = String::from_utf8_lossy(&text);
    let total = text.lines().count();
    let start = a.offset.unwrap_or(1).clamp(1, total.max(1));
    let limit = a.limit.unwrap_or(MAX_READ_LINES).clamp(1, MAX_READ_LINES);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate().skip(start - 1).take(limit) {
        out.push_str(&format!("{:>5}\t{line}\n", i + 1));
    }
    let shown_end = (start - 1 + limit).min(total);
    if shown_end < total {
        out.push_str(&format!(
            "[lines {start}-{shown_end} of {total}; pass offset={} to read on]\n",
            shown_end + 1
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
    match text.matches(&a.old_string).count() {
        0 => Err(format!(
            "old_string was not found in `{}`; read the file again and copy the text exactly",
            a.path
        )),
        1 => {
            let new = text.replacen(&a.old_string, &a.new_string, 1);
            std::fs::write(&p, new).map_err(|e| format!("cannot write `{}`: {e}", a.path))?;
            Ok(format!("edited {}", a.path))
        }
        n => Err(format!(
            "old_string occurs {n} times in `{}`; include more context so it is unique",
            a.path
        )),
    }
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
    let re = regex::Regex::new(&a.pattern).map_err(|e| format!("bad pattern: {e}"))?;
    let rel = a.path.as_deref().unwrap_or(".");
    let base = confine(root, rel, false).map_err(|e| e.to_string())?;
    let mut out = vec![];
    let mut more = 0;
    for entry in walker(root, &base).build().flatten() {
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
        for (i, line) in text.lines().enumerate() {
            if re.is_match(line) {
                if out.len() < MAX_MATCHES {
                    let line: String = line.chars().take(300).collect();
                    out.push(format!("{p}:{}:{line}", i + 1));
                } else {
                    more += 1;
                }
            }
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
    fn edit_requires_a_unique_match() {
        let (_d, r) = repo();
        let e = |old: &str| {
            edit_file(
                &r,
                EditArgs {
                    path: "src/lib.rs".into(),
                    old_string: old.into(),
                    new_string: "X".into(),
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
            },
        )
        .unwrap();
        assert_eq!(s, "src/lib.rs:2:fn b() {}");
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
