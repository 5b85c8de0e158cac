//! Watches the working tree for the activity feed: debounced, gitignore-aware, with
//! `.git` and `.mission` left out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

pub type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// Which changed paths are worth showing.
pub struct Filter {
    root: PathBuf,
    ignore: Gitignore,
}

impl Filter {
    pub fn new(root: &Path) -> Self {
        let mut b = GitignoreBuilder::new(root);
        for f in [".gitignore", ".git/info/exclude"] {
            let _ = b.add(root.join(f));
        }
        Filter {
            root: root.to_path_buf(),
            ignore: b.build().unwrap_or_else(|_| Gitignore::empty()),
        }
    }

    /// The path relative to the repository, or `None` if it is not worth showing.
    pub fn relevant(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let first = rel.components().next()?.as_os_str();
        if first == ".git" || first == ".mission" {
            return None;
        }
        if self
            .ignore
            .matched_path_or_any_parents(rel, path.is_dir())
            .is_ignore()
        {
            return None;
        }
        Some(rel.display().to_string())
    }
}

/// Starts watching `root`; `on_change` gets each debounced batch of changed paths.
/// Keep the returned watcher alive for as long as changes should arrive.
pub fn watch(
    root: &Path,
    on_change: impl Fn(Vec<String>) + Send + 'static,
) -> notify::Result<Watcher> {
    let filter = Filter::new(root);
    let mut debouncer = new_debouncer(
        Duration::from_millis(300),
        None,
        move |res: DebounceEventResult| {
            let Ok(events) = res else { return };
            let mut paths: Vec<String> = events
                .iter()
                .filter(|e| {
                    e.event.kind.is_create() || e.event.kind.is_modify() || e.event.kind.is_remove()
                })
                .flat_map(|e| e.event.paths.iter())
                .filter_map(|p| filter.relevant(p))
                .collect();
            paths.sort();
            paths.dedup();
            if !paths.is_empty() {
                on_change(paths);
            }
        },
    )?;
    debouncer.watch(root, RecursiveMode::Recursive)?;
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_and_harness_paths_are_filtered() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::write(root.join(".gitignore"), "/target\n*.log\n").unwrap();
        let f = Filter::new(&root);
        assert_eq!(
            f.relevant(&root.join("src/lib.rs")).as_deref(),
            Some("src/lib.rs")
        );
        assert_eq!(f.relevant(&root.join("target/debug/x")), None);
        assert_eq!(f.relevant(&root.join("build.log")), None);
        assert_eq!(f.relevant(&root.join(".git/index")), None);
        assert_eq!(f.relevant(&root.join(".mission/events.jsonl")), None);
    }

    #[test]
    fn real_changes_arrive_debounced() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::write(root.join(".gitignore"), "/target\n").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(&root, move |p| {
            let _ = tx.send(p);
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("target/junk"), "x").unwrap();
        std::fs::write(root.join("hello.txt"), "hi").unwrap();
        let mut seen = vec![];
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(&"hello.txt".to_string()) && std::time::Instant::now() < deadline {
            if let Ok(batch) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.extend(batch);
            }
        }
        assert!(seen.contains(&"hello.txt".to_string()), "{seen:?}");
        assert!(!seen.iter().any(|p| p.starts_with("target")), "{seen:?}");
    }
}
