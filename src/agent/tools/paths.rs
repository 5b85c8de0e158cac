//! Confines every path a tool touches to the repository: no absolute paths, no `..`
//! out of it, no symlink leading out, and never a write into `.git` or `.mission`.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` is absolute; give a path relative to the repository root")]
    Absolute(String),
    #[error("`{0}` leads outside the repository; paths must stay inside it")]
    Escapes(String),
    #[error("`{0}` goes through a symlink that leads outside the repository")]
    SymlinkEscape(String),
    #[error("`{0}` is inside {1}, which agents may not modify")]
    Protected(String, &'static str),
}

/// Resolves `rel` against `root` (which must be canonical). `write` also refuses the
/// harness's own directories.
pub fn confine(root: &Path, rel: &str, write: bool) -> Result<PathBuf, PathError> {
    let p = Path::new(rel);
    if p.is_absolute() || rel.starts_with('~') {
        return Err(PathError::Absolute(rel.into()));
    }
    let mut parts: Vec<&std::ffi::OsStr> = vec![];
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes(rel.into()));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::Absolute(rel.into()));
            }
        }
    }
    if let Some(first) = parts.first() {
        for (name, what) in [
            (".mission", ".mission/ (the mission's own state)"),
            (".git", ".git/"),
        ] {
            if *first == name && write {
                return Err(PathError::Protected(rel.into(), what));
            }
        }
    }
    let mut full = root.to_path_buf();
    full.extend(&parts);
    // Walk up to the deepest part that exists and make sure its real location is inside.
    let mut probe = full.clone();
    loop {
        match probe.canonicalize() {
            Ok(real) => {
                if !real.starts_with(root) {
                    return Err(PathError::SymlinkEscape(rel.into()));
                }
                if write {
                    let inner = real.strip_prefix(root).unwrap_or(&real);
                    if let Some(Component::Normal(first)) = inner.components().next()
                        && (first == ".mission" || first == ".git")
                    {
                        return Err(PathError::Protected(rel.into(), "a protected directory"));
                    }
                }
                break;
            }
            Err(_) => {
                // A dangling symlink is refused: it could be created pointing anywhere.
                if probe.symlink_metadata().is_ok() {
                    return Err(PathError::SymlinkEscape(rel.into()));
                }
                if !probe.pop() {
                    break;
                }
            }
        }
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(r.join("src")).unwrap();
        std::fs::create_dir_all(r.join(".mission")).unwrap();
        (d, r)
    }

    #[test]
    fn plain_paths_resolve_inside() {
        let (_d, r) = root();
        assert_eq!(
            confine(&r, "src/lib.rs", true).unwrap(),
            r.join("src/lib.rs")
        );
        assert_eq!(
            confine(&r, "./src/../README.md", true).unwrap(),
            r.join("README.md")
        );
        assert_eq!(
            confine(&r, "new/dir/file.rs", true).unwrap(),
            r.join("new/dir/file.rs")
        );
    }

    #[test]
    fn escapes_are_refused() {
        let (_d, r) = root();
        assert!(matches!(
            confine(&r, "/etc/passwd", false),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            confine(&r, "../x", false),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(
            confine(&r, "src/../../x", true),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(
            confine(&r, "~/x", true),
            Err(PathError::Absolute(_))
        ));
    }

    #[test]
    fn symlinks_out_are_refused() {
        let (_d, r) = root();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("out")).unwrap();
        assert!(matches!(
            confine(&r, "out/f", true),
            Err(PathError::SymlinkEscape(_))
        ));
        assert!(matches!(
            confine(&r, "out", false),
            Err(PathError::SymlinkEscape(_))
        ));
        std::os::unix::fs::symlink("/nonexistent/zz", r.join("dangling")).unwrap();
        assert!(matches!(
            confine(&r, "dangling", true),
            Err(PathError::SymlinkEscape(_))
        ));
        // A symlink into .mission is protected for writes.
        std::os::unix::fs::symlink(r.join(".mission"), r.join("m")).unwrap();
        assert!(matches!(
            confine(&r, "m/contract.json", true),
            Err(PathError::Protected(..))
        ));
    }

    #[test]
    fn harness_dirs_are_read_only() {
        let (_d, r) = root();
        assert!(matches!(
            confine(&r, ".mission/contract.json", true),
            Err(PathError::Protected(..))
        ));
        assert!(matches!(
            confine(&r, "./.git/config", true),
            Err(PathError::Protected(..))
        ));
        assert!(confine(&r, ".mission/contract.json", false).is_ok());
    }
}
