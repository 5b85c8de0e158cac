//! Where commands may write: the worktree, its temp dir and caches, never anything that
//! holds or lies inside the human's checkout; and the build dirs the judging roles may use.

use std::path::{Path, PathBuf};

/// Top-level directories of `repo` that git ignores (build output: `target/`,
/// `node_modules/`…), `.git` and `.mission` excepted.
pub fn ignored_dirs(repo: &Path) -> Vec<PathBuf> {
    let kept: std::collections::HashSet<PathBuf> = ignore::WalkBuilder::new(repo)
        .max_depth(Some(1))
        .hidden(false)
        .parents(true)
        .require_git(false)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .collect();
    let Ok(entries) = std::fs::read_dir(repo) else {
        return vec![];
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| !kept.contains(p))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != ".git" && n != ".mission")
        })
        .collect();
    dirs.sort();
    dirs
}

/// The places a command may write by default: the worktree, its private temp dir (which
/// also holds its `XDG_CACHE_HOME`), `/dev` (null, ttys) and cargo's download caches,
/// plus `extra` (a leading `~/` is the home directory). Not `~/.cargo/bin`, `~/.rustup` or
/// the shared `~/.cache`: a program or an environment planted there would run unconfined
/// in the user's next shell or build. Never anything that holds, or lies inside, a
/// `protected` place (the human's checkout, its git dir): compared after resolving
/// symlinks and `..`.
pub fn writable_dirs(
    work: &Path,
    tmp: &Path,
    extra: &[String],
    protected: &[PathBuf],
) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let from_env = |var: &str, fallback: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(fallback)))
    };
    let mut dirs = vec![work.to_path_buf(), tmp.to_path_buf(), PathBuf::from("/dev")];
    if let Some(cargo) = from_env("CARGO_HOME", ".cargo") {
        for cache in [cargo.join("registry"), cargo.join("git")] {
            // A rule needs the directory to exist; its parent is not writable.
            if cargo.is_dir() {
                let _ = std::fs::create_dir_all(&cache);
            }
            dirs.push(cache);
        }
    }
    for e in extra {
        match (e.strip_prefix("~/"), &home) {
            (Some(rest), Some(h)) => dirs.push(h.join(rest)),
            _ => dirs.push(PathBuf::from(e)),
        }
    }
    let protected: Vec<PathBuf> = protected.iter().map(|p| resolved(p)).collect();
    dirs.retain(|d| {
        let d = resolved(d);
        !protected
            .iter()
            .any(|p| p.starts_with(&d) || d.starts_with(p))
    });
    dirs.dedup();
    dirs
}

/// `path` with symlinks and `..` resolved as far as it exists; the rest normalised.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    match (out.parent(), out.file_name()) {
        (Some(parent), Some(name)) if parent != out => resolved(parent).join(name),
        _ => out,
    }
}
