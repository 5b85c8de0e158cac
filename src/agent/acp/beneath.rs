//! Files opened beneath the worktree with the kernel resolving the path (`openat2` with
//! `RESOLVE_BENEATH`): the agent runs while its `fs/*` requests are served, so a path
//! checked first and opened after could have become a symlink out of the worktree in
//! between. Here no step of the path may leave the root, whatever it is by then.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

fn openat2(dir: &OwnedFd, rel: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let c = CString::new(rel.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: a valid directory descriptor, a NUL-terminated path and a filled `open_how`
    // of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EXDEV) => io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it leads outside the worktree",
            ),
            Some(libc::ENOSYS) => io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel cannot open files beneath a directory safely (openat2, Linux 5.6+)",
            ),
            _ => e,
        });
    }
    // SAFETY: a descriptor the kernel just gave us, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn root(root: &Path) -> io::Result<OwnedFd> {
    Ok(File::open(root)?.into())
}

/// The relative path, refused when it is absolute or climbs (`..`).
fn relative(rel: &Path) -> io::Result<&Path> {
    if rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        Ok(rel)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "it leads outside the worktree",
        ))
    }
}

pub fn read(root_dir: &Path, rel: &Path) -> io::Result<String> {
    let dir = root(root_dir)?;
    let fd = openat2(&dir, relative(rel)?, libc::O_RDONLY, 0)?;
    let mut text = String::new();
    File::from(fd).read_to_string(&mut text)?;
    Ok(text)
}

/// Writes `content` to `rel`, making its directories, every step beneath `root_dir`.
pub fn write(root_dir: &Path, rel: &Path, content: &[u8]) -> io::Result<()> {
    let rel = relative(rel)?;
    let mut dir = root(root_dir)?;
    if let Some(parent) = rel.parent() {
        for part in parent.components() {
            let part = Path::new(part.as_os_str());
            dir = match openat2(&dir, part, libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let c = CString::new(part.as_os_str().as_bytes()).map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path")
                    })?;
                    // SAFETY: a directory descriptor and a NUL-terminated name.
                    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
                        let e = io::Error::last_os_error();
                        if e.kind() != io::ErrorKind::AlreadyExists {
                            return Err(e);
                        }
                    }
                    openat2(&dir, part, libc::O_PATH | libc::O_DIRECTORY, 0)?
                }
                Err(e) => return Err(e),
            };
        }
    }
    let name = rel
        .file_name()
        .map(Path::new)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let fd = openat2(
        &dir,
        name,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        0o644,
    )?;
    File::from(fd).write_all(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_leaves_the_root_even_through_a_symlink_made_meanwhile() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        write(&root, Path::new("a/b/c.txt"), b"in").unwrap();
        assert_eq!(read(&root, Path::new("a/b/c.txt")).unwrap(), "in");
        // A directory swapped for a symlink out of the root, as a racing agent would.
        std::fs::remove_dir_all(root.join("a")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("a")).unwrap();
        let e = write(&root, Path::new("a/x.txt"), b"escaped").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert!(!outside.join("x.txt").exists());
        std::fs::write(outside.join("secret"), "s").unwrap();
        assert!(read(&root, Path::new("a/secret")).is_err());
        assert!(read(&root, Path::new("../outside/secret")).is_err());
        // A symlink that stays inside is followed.
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("alias")).unwrap();
        write(&root, Path::new("alias/y.txt"), b"ok").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("real/y.txt")).unwrap(),
            "ok"
        );
    }
}
