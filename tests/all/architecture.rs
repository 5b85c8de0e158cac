//! House rules, checked by parsing: every file under `src/` is read with `syn`, every
//! path it names (`use` trees with their groups, `super::` chains, paths in expressions
//! and types) is resolved to the top-level module it points at, and the module graph must
//! (a) point only downward through the floors below, (b) have no cycles, and (c) keep the
//! console and the domain free of what they must not know. Strings and comments are not
//! code, so they never count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Each top-level module's floor: a module may use only modules on lower floors
/// (DESIGN.md, Architecture). The domain is at the bottom; the CLI on top.
const FLOORS: &[(&str, u8)] = &[
    ("mission", 0),
    ("keys", 0),
    ("failpoint", 0),
    ("logging", 0),
    ("layout", 0),
    ("watch", 0),
    ("sandbox", 0),
    ("config", 1),
    ("git", 1),
    ("notify", 1),
    ("store", 1),
    ("checkpoint", 2),
    ("llm", 2),
    ("worktree", 2),
    ("hub", 3),
    ("fleet", 3),
    ("agent", 4),
    ("control", 4),
    ("link", 5),
    ("demo", 5),
    ("pipeline", 6),
    ("tui", 6),
    ("bench", 7),
    ("eval", 7),
    ("cli", 8),
];

/// One arrow: `from` (a top-level module) names `to` at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Arrow {
    from: String,
    to: String,
    file: String,
    line: usize,
}

/// What one file names: crate modules (resolved to their top level) and outer crates.
#[derive(Debug, Default)]
struct Names {
    modules: Vec<(String, usize)>,
    crates: Vec<(String, usize)>,
}

/// The module path of a file under `src/` (`agent/tools/mod.rs` is `agent::tools`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

struct Collector {
    /// The module the visitor is in: the file's, plus inline `mod` blocks.
    module: Vec<String>,
    names: Names,
}

impl Collector {
    /// Resolves `segments` (a path as written) from the current module; records it.
    fn record(&mut self, segments: &[String], line: usize) {
        let Some(first) = segments.first() else {
            return;
        };
        let resolved: Option<Vec<String>> = match first.as_str() {
            "crate" => Some(segments[1..].to_vec()),
            "self" => Some(
                self.module
                    .iter()
                    .cloned()
                    .chain(segments[1..].iter().cloned())
                    .collect(),
            ),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let keep = self.module.len().saturating_sub(ups);
                Some(
                    self.module[..keep]
                        .iter()
                        .cloned()
                        .chain(segments[ups..].iter().cloned())
                        .collect(),
                )
            }
            _ => None,
        };
        match resolved {
            Some(path) => {
                if let Some(top) = path.first() {
                    self.names.modules.push((top.clone(), line));
                }
            }
            None if segments.len() > 1 => self.names.crates.push((first.clone(), line)),
            None => {}
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let line = n.ident.span().start().line;
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.record(&full, line);
            }
            syn::UseTree::Rename(r) => {
                let line = r.ident.span().start().line;
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.record(&full, line);
            }
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                let mut full = prefix.clone();
                full.push("*".into());
                self.record(&full, line);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut prefix = vec![];
        if u.leading_colon.is_some() {
            prefix.push(String::new());
        }
        self.use_tree(&mut prefix, &u.tree);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(s) = p.segments.first() {
            self.record(&segments, s.ident.span().start().line);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Paths inside macro calls (`format!`, `assert!`, `json!`…) are code too: read
        // the arguments as expressions where they parse as such.
        syn::visit::visit_macro(self, m);
        if let Ok(args) = m.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        ) {
            for e in &args {
                self.visit_expr(e);
            }
        }
    }
}

/// Everything `source` (the file at `rel` under src/) names.
fn names_in(rel: &Path, source: &str) -> Names {
    let file = syn::parse_file(source)
        .unwrap_or_else(|e| panic!("src/{}: does not parse: {e}", rel.display()));
    let mut c = Collector {
        module: module_of(rel),
        names: Names::default(),
    };
    c.visit_file(&file);
    c.names
}

/// Every `.rs` file under `src/`, relative to it.
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = vec![];
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p.strip_prefix(&root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Per top-level module: the outer crates it names, with file and line.
type OuterCrates = BTreeMap<String, Vec<(String, String, usize)>>;

/// The arrows between top-level modules, and what each module takes from outer crates.
fn graph() -> (Vec<Arrow>, OuterCrates) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut arrows = vec![];
    let mut crates: OuterCrates = BTreeMap::new();
    for rel in sources() {
        let module = module_of(&rel);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs and main.rs declare the modules
        };
        let source = std::fs::read_to_string(root.join(&rel)).unwrap();
        let names = names_in(&rel, &source);
        for (to, line) in names.modules {
            if to != from && to != "*" {
                arrows.push(Arrow {
                    from: from.clone(),
                    to,
                    file: format!("src/{}", rel.display()),
                    line,
                });
            }
        }
        for (krate, line) in names.crates {
            crates.entry(from.clone()).or_default().push((
                krate,
                format!("src/{}", rel.display()),
                line,
            ));
        }
    }
    arrows.sort();
    (arrows, crates)
}

fn floor(module: &str) -> u8 {
    FLOORS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| {
            panic!("module `{module}` has no floor: add it to FLOORS in tests/all/architecture.rs")
        })
}

#[test]
fn every_module_has_a_floor_and_every_arrow_points_down() {
    let (arrows, _) = graph();
    assert!(
        arrows.len() > 50,
        "the parser found only {} arrows",
        arrows.len()
    );
    let modules: BTreeSet<&str> = arrows.iter().map(|a| a.from.as_str()).collect();
    for m in &modules {
        floor(m);
    }
    let up: Vec<String> = arrows
        .iter()
        .filter(|a| FLOORS.iter().any(|(m, _)| *m == a.to))
        .filter(|a| floor(&a.to) >= floor(&a.from))
        .map(|a| {
            format!(
                "{}:{}: `{}` (floor {}) uses `{}` (floor {})",
                a.file,
                a.line,
                a.from,
                floor(&a.from),
                a.to,
                floor(&a.to)
            )
        })
        .collect();
    assert!(
        up.is_empty(),
        "arrows that do not point down:\n{}",
        up.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_cycles() {
    let (arrows, _) = graph();
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in &arrows {
        next.entry(&a.from).or_default().insert(&a.to);
    }
    // Depth-first search with colours; a grey node reached again closes a cycle.
    fn visit<'a>(
        n: &'a str,
        next: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        colour: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        colour.insert(n, 1);
        stack.push(n);
        for m in next.get(n).into_iter().flatten() {
            match colour.get(m).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m);
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, next, colour, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(n, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for n in next.keys() {
        if colour.get(n).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(n, &next, &mut colour, &mut vec![])
        {
            let proof: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let a = arrows
                        .iter()
                        .find(|a| a.from == w[0] && a.to == w[1])
                        .unwrap();
                    format!("{} → {} ({}:{})", a.from, a.to, a.file, a.line)
                })
                .collect();
            panic!("a cycle: {}", proof.join(", "));
        }
    }
}

#[test]
fn the_console_talks_only_to_the_domain_its_keys_and_its_link() {
    let (arrows, crates) = graph();
    let allowed = ["mission", "keys", "link"];
    let bad: Vec<String> = arrows
        .iter()
        .filter(|a| a.from == "tui" && !allowed.contains(&a.to.as_str()))
        .map(|a| format!("{}:{}: the console uses `{}`", a.file, a.line, a.to))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let outer: Vec<String> = crates["tui"]
        .iter()
        .filter(|(c, _, _)| ["git2", "reqwest", "portable_pty", "landlock"].contains(&c.as_str()))
        .map(|(c, f, l)| format!("{f}:{l}: the console uses `{c}`"))
        .collect();
    assert!(outer.is_empty(), "{}", outer.join("\n"));
}

#[test]
fn the_domain_imports_no_outer_crate() {
    let (_, crates) = graph();
    let forbidden = [
        "ratatui",
        "crossterm",
        "reqwest",
        "git2",
        "tokio",
        "portable_pty",
        "notify",
        "rmcp",
        "landlock",
    ];
    let bad: Vec<String> = crates
        .get("mission")
        .into_iter()
        .flatten()
        .filter(|(c, _, _)| forbidden.contains(&c.as_str()))
        .map(|(c, f, l)| format!("{f}:{l}: the domain uses `{c}`"))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The parser itself, on snippets it must catch and one it must not.
#[test]
fn the_parser_sees_every_form_of_arrow_and_no_string() {
    let tops = |rel: &str, src: &str| -> Vec<String> {
        let mut v: Vec<String> = names_in(Path::new(rel), src)
            .modules
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| m != "mission")
            .collect();
        v.sort();
        v.dedup();
        v
    };
    // A grouped `use`.
    assert_eq!(
        tops(
            "mission/x.rs",
            "use crate::{tui::App, git::{Git, GitError}};"
        ),
        ["git", "tui"]
    );
    // `super::super` out of a nested file.
    assert_eq!(
        tops(
            "mission/state/fold.rs",
            "use super::super::super::tui::App;"
        ),
        ["tui"]
    );
    assert_eq!(
        tops("mission/state/fold.rs", "use super::super::plan::Plan;"),
        Vec::<String>::new()
    );
    // A path in an expression, a type, and inside a macro call.
    assert_eq!(
        tops(
            "mission/x.rs",
            "fn f() { let a: crate::llm::Message = crate::git::open(); }"
        ),
        ["git", "llm"]
    );
    assert_eq!(
        tops(
            "mission/x.rs",
            "fn f() { println!(\"{}\", crate::store::scan()); }"
        ),
        ["store"]
    );
    // `super` inside an inline module is the file's module, not its parent.
    assert_eq!(
        tops(
            "mission/x.rs",
            "mod tests { use super::*; fn f() { crate::bench::run(); } }"
        ),
        ["bench"]
    );
    // Strings, comments and URLs are not arrows.
    assert!(
        tops(
            "mission/x.rs",
            "// crate::tui::App\nconst S: &str = \"crate::tui::App https://crate::git\";"
        )
        .is_empty()
    );
    // Outer crates, grouped or in expressions.
    let crates: Vec<String> = names_in(
        Path::new("mission/x.rs"),
        "use ratatui::{Frame, widgets::Block}; fn f() { tokio::spawn(async {}); }",
    )
    .crates
    .into_iter()
    .map(|(c, _)| c)
    .collect();
    assert!(crates.contains(&"ratatui".to_string()) && crates.contains(&"tokio".to_string()));
}
