//! Watches the working tree for the activity feed: debounced, gitignore-aware, with
//! `.git` and `.mission` left out.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

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

/// A live watch on a working tree; changes stop arriving when it is dropped.
pub struct Watcher {
    _debouncer: Arc<Mutex<Debouncer<notify::RecommendedWatcher, RecommendedCache>>>,
}

/// The directories to watch below `dir` (itself included): every one git would not ignore,
/// minus `.git` and `.mission`. One non-recursive watch each keeps `target/` and
/// `node_modules/` from eating the user's inotify watches.
pub fn watched_dirs(dir: &Path) -> Vec<PathBuf> {
    walk(dir, |t| t.is_dir())
}

/// Files under `dir` that git would not ignore: what a directory created between two
/// debounced batches already holds by the time its watch is added.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walk(dir, |t| t.is_file())
}

fn walk(dir: &Path, keep: fn(&std::fs::FileType) -> bool) -> Vec<PathBuf> {
    ignore::WalkBuilder::new(dir)
        .hidden(false)
        .parents(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".mission")
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| keep(&t)))
        .map(|e| e.into_path())
        .collect()
}

/// Starts watching `root`; `on_change` gets each debounced batch of changed paths.
/// Keep the returned watcher alive for as long as changes should arrive.
pub fn watch(
    root: &Path,
    on_change: impl Fn(Vec<String>) + Send + 'static,
) -> notify::Result<Watcher> {
    let filter = Filter::new(root);
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let debouncer = new_debouncer(Duration::from_millis(300), None, tx)?;
    let debouncer = Arc::new(Mutex::new(debouncer));
    {
        let mut d = debouncer.lock().unwrap_or_else(|e| e.into_inner());
        d.watch(root, RecursiveMode::NonRecursive)?;
        // A directory gone since the walk, or unreadable, costs only its own changes.
        for dir in watched_dirs(root).iter().filter(|d| *d != root) {
            let _ = d.watch(dir, RecursiveMode::NonRecursive);
        }
    }
    // Weak: dropping the `Watcher` drops the debouncer, which closes the channel and ends
    // this thread.
    let weak = Arc::downgrade(&debouncer);
    std::thread::Builder::new()
        .name("mission-watch".into())
        .spawn(move || {
            for res in rx {
                let Ok(events) = res else { continue };
                let mut changed: Vec<PathBuf> = Vec::new();
                for e in &events {
                    let kind = e.event.kind;
                    if !(kind.is_create() || kind.is_modify() || kind.is_remove()) {
                        continue;
                    }
                    for p in &e.event.paths {
                        changed.push(p.clone());
                        // Made here or moved in from elsewhere: either way, watch it.
                        let arrived = kind.is_create()
                            || matches!(
                                kind,
                                notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
                            );
                        if arrived && p.is_dir() && filter.relevant(p).is_some() {
                            let Some(d) = weak.upgrade() else { return };
                            let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
                            for dir in watched_dirs(p) {
                                let _ = d.watch(&dir, RecursiveMode::NonRecursive);
                            }
                            changed.extend(files_under(p));
                        }
                    }
                }
                let mut paths: Vec<String> =
                    changed.iter().filter_map(|p| filter.relevant(p)).collect();
                paths.sort();
                paths.dedup();
                if !paths.is_empty() {
                    on_change(paths);
                }
            }
        })
        .map_err(notify::Error::io)?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
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

        // A directory made after the watch started is watched too, and what it already
        // held when its watch was added is reported.
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("src/deep/early.rs"), "//").unwrap();
        wait_to_see(&rx, &mut seen, "src/deep/early.rs");
        // Give the new watch time to be added, then change a file inside it.
        std::thread::sleep(Duration::from_millis(200));
        std::fs::write(root.join("src/deep/late.rs"), "//").unwrap();
        wait_to_see(&rx, &mut seen, "src/deep/late.rs");
    }

    /// Collects batches into `seen` until `path` is among them (10 s at most).
    fn wait_to_see(
        rx: &std::sync::mpsc::Receiver<Vec<String>>,
        seen: &mut Vec<String>,
        path: &str,
    ) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !seen.iter().any(|p| p == path) && std::time::Instant::now() < deadline {
            if let Ok(batch) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.extend(batch);
            }
        }
        assert!(seen.iter().any(|p| p == path), "never saw {path}: {seen:?}");
    }

    #[test]
    fn ignored_directories_get_no_watch() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::write(root.join(".gitignore"), "/target\n").unwrap();
        for dir in [
            "src/a",
            "target/debug/deps",
            ".git/objects",
            ".mission/handoffs",
            ".github",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let mut dirs: Vec<String> = watched_dirs(&root)
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        dirs.sort();
        assert_eq!(dirs, ["", ".github", "src", "src/a"]);
    }
}
